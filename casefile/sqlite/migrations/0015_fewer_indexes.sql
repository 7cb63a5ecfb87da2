-- Filing a message writes a page of each index on what it stores; an
-- index keyed by what is random (a Message-ID, a hash, an address) writes
-- a different page for nearly every message once the case file is large,
-- and each such page is written to the log and again to the database.
-- The sha256 of a message is only ever looked for together with its
-- Message-ID (is this the same message again?), which messages_header_id
-- finds among the few with that Message-ID: its own index, of 64-character
-- keys, was the largest written for every message and was never used
-- (TestIntakeQueriesUseIndexes still finds no scan).
DROP INDEX messages_sha;
