// Package graph is the service's Microsoft Graph mail client, for tenants
// where IMAP and SMTP AUTH are switched off: it reads a folder with delta
// queries, downloads raw MIME, moves messages, creates folders and sends
// MIME messages with sendMail, with an app-only token (client credentials,
// scope https://graph.microsoft.com/.default) limited to the one mailbox
// by RBAC for Applications.
//
// Wiring:
//
//	c := &graph.Client{Tokens: tokenSource} // an oauth2.TokenSource
//	inbox, _ := c.FolderID(ctx, mailbox, "inbox")
//	processed, _ := c.EnsureFolder(ctx, mailbox, "Processed")
//	changes, deltaLink, err := c.Delta(ctx, mailbox, inbox, storedDeltaLink)
//	if errors.Is(err, graph.ErrResync) { /* start again from "" and dedupe */ }
//	raw, err := c.Raw(ctx, mailbox, ch.ID, maxBytes)
//	// … store raw, commit, then:
//	_, err = c.Move(ctx, mailbox, ch.ID, processed)
//	err = c.SendMIME(ctx, mailbox, rawMessage)
//
// # Behaviour
//
//   - Ids are immutable (Prefer: IdType="ImmutableId") unless MutableIDs
//     is set, so a message keeps its id when it moves to Processed and a
//     replayed delta entry is recognised by id.
//   - At most 4 requests per mailbox are in flight (Outlook's limit per
//     app per mailbox); 429 and 503 are retried after Retry-After, other
//     transient failures with capped exponential backoff, up to
//     MaxAttempts. sendMail is retried only after 429, so a message is
//     never sent twice by the client.
//   - A 401 gets one retry with a new token (see Invalidator).
//   - Errors are *Error for Graph's answers; IsPermanent tells a refusal
//     that retrying cannot fix (403 names the missing role) from a
//     temporary failure, matching the outbox's permanent/temporary
//     convention; Refused tells a sendMail Graph refused from one in doubt.
//   - Logs carry the operation, status, code and wait, never a message's
//     content or a resident's address; Graph's error messages are kept
//     with addresses removed.
package graph
