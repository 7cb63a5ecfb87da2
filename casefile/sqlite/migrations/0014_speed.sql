-- Speed (issue 17): every query intake runs for a message finds its rows
-- through an index, and the reports read only the rows they need, so
-- neither slows down as the case file grows (TestIntakeQueriesUseIndexes,
-- BenchmarkIntakeAtScale).

-- Whether a case had a further review: asked for every further-review
-- request by email.
CREATE INDEX further_reviews_case ON further_reviews (case_id);

-- trigger report --year: the applications of a year, and each one's
-- recommendations.
CREATE INDEX cases_received ON cases (received_at);
CREATE INDEX recommendations_case ON recommendations (case_id);

-- A case's outbox jobs: when one ends, whether others of its kind ended
-- before (a bounce of our email ends its job); `case show` lists them.
-- Without it SQLite went through every ended job of every case.
CREATE INDEX outbox_case ON outbox (case_id, kind);

-- trigger case list, with 100,000 cases: the columns it shows come from an
-- index in the order it lists them, not from each case's row (which holds
-- the application and crosses several pages); each case's next deadline
-- is the first entry of an index, not a sort of its deadlines.
CREATE INDEX cases_list ON cases (year, seq, ref, status, route, received_at, assessment);
CREATE INDEX deadlines_case_open ON deadlines (case_id, done_at, due_on, name);

-- trigger retention run: the cases closed and not yet purged, oldest
-- closure first, without reading every case.
CREATE INDEX cases_closed ON cases (closed_at) WHERE purged_at IS NULL AND closed_at IS NOT NULL;
