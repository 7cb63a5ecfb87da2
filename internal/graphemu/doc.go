// Package graphemu is a stateful emulator of the parts of Microsoft Graph
// the service's mail adapter uses: mailboxes with well-known and created
// folders, messages whose ids change when they move, delta queries with
// expiring state tokens, raw MIME download, move, sendMail with a MIME
// body, app-only bearer tokens with RBAC for Applications, and Outlook's
// throttling. It answers with Graph's status codes and error bodies, so a
// client that works against it has met the refusals it would meet in a
// Microsoft 365 tenant.
//
// Clients use it exactly as they use Graph, with the emulator's URL in
// place of https://graph.microsoft.com:
//
//	e := graphemu.New(graphemu.Options{})
//	defer e.Close()
//	if err := e.Start("127.0.0.1:0"); err != nil { ... }
//	e.AddMailbox("cst@council.example")
//	e.AddApp("trigger")
//	e.Grant("trigger", "cst@council.example", graphemu.MailReadWrite, graphemu.MailSend)
//	token := e.IssueToken("trigger", time.Hour)
//	// GET e.URL()+"/v1.0/users/cst@council.example/mailFolders/inbox/messages/delta"
//	// with "Authorization: Bearer "+token
//
// or, in tests, mount it on an httptest.Server (it is an http.Handler) and
// call SetBaseURL with the server's URL.
//
// # The rules it enforces, and where they come from
//
// Microsoft Graph documentation (learn.microsoft.com/graph), checked when
// this package was written:
//
//   - Errors are a JSON object {"error":{"code","message","innerError":
//     {"date","request-id","client-request-id"}}} with the HTTP status of
//     the "Microsoft Graph error responses" page (concepts/errors.md).
//   - App-only tokens: a request without a valid bearer token gets 401
//     InvalidAuthenticationToken; /me is refused for app-only tokens (400
//     BadRequest, "/me request is only valid with delegated authentication
//     flow"). RBAC for Applications in Exchange Online scopes an app to
//     the mailboxes an administrator assigned, with the roles "Application
//     Mail.Read", "Application Mail.ReadWrite" and "Application Mail.Send"
//     granted separately; a mailbox outside the app's assignments, or an
//     operation its roles do not cover, gets 403 ErrorAccessDenied ("Access
//     is denied. Check credentials and try again.").
//   - A user that does not exist gets 404 ErrorInvalidUser; a user without
//     an Exchange Online mailbox gets 404 MailboxNotEnabledForRESTAPI.
//   - Messages (message: move; "Obtain immutable identifiers for Outlook
//     resources"): move creates a copy in the destination and removes the
//     original, answering 201 with the moved message, whose id is new. With
//     the request header Prefer: IdType="ImmutableId" every id in the
//     response is the item's immutable id, which does not change when the
//     item moves within the mailbox; requests accept either form. Folder
//     ids never change. destinationId and folder path segments accept the
//     well-known names (inbox, sentitems, drafts, deleteditems, junkemail,
//     archive, outbox, msgfolderroot). Ids are case-sensitive.
//   - The message resource has no size property: $select=size is refused
//     (400, "Could not find a property named 'size' on type
//     'Microsoft.OutlookServices.Message'"), as is any other unknown name.
//   - Delta query ("Get incremental changes to messages in a folder", "Use
//     delta query"): a round is one or more GETs of
//     /users/{id}/mailFolders/{id}/messages/delta; Prefer:
//     odata.maxpagesize=N sets the page size (default 10); each page but the
//     last carries @odata.nextLink ($skiptoken), the last @odata.deltaLink
//     ($deltatoken); $select and changeType given on the first request are
//     encoded into the links. A later round from a deltaLink returns only
//     what changed: new and changed messages in full, messages deleted or
//     moved out as {"id", "@removed": {"reason": "deleted"}}. The round is
//     a snapshot: a message that arrives while it is being paged comes in
//     the next round.
//   - Delta tokens of Outlook resources have no fixed lifetime: they live
//     in a cache of limited size and the oldest are dropped
//     (Options.DeltaTokenCapacity). An expired token gets 410 Gone with code
//     syncStateNotFound ("The sync state generation is not found. The delta
//     token is expired and data must be synchronized again."); a reset
//     (maintenance, migration) gets 410 Gone with code resyncRequired and a
//     Location header holding a fresh initial delta URL. ExpireDeltaTokens
//     and ResetDeltaTokens trigger them.
//   - sendMail with a MIME body (user: sendMail): Content-Type text/plain,
//     the body the base64 of the whole RFC 5322 message; the message is
//     saved to Sent Items; 202 Accepted with no body. A body that is not
//     base64 gets 400 ErrorMimeContentInvalidBase64String ("Invalid base64
//     string for MIME content.").
//   - Throttling ("Microsoft Graph service-specific throttling limits",
//     Outlook service): per app per mailbox, 4 concurrent requests and
//     10,000 requests in 10 minutes. Over either limit: 429 with a
//     Retry-After header (seconds) and code ApplicationThrottled; the
//     concurrency refusal's message is "Application is over its
//     MailboxConcurrency limit.". A request sent before the Retry-After
//     wait has passed is refused again. 503 and 504 are the transient
//     service failures (with Retry-After on 503).
//
// # Choices where the documentation is silent
//
//   - A request body over 4 MB (the documented Graph request size limit)
//     gets 413 with code RequestEntityTooLarge.
//   - sendMail: a message with no To, Cc or Bcc recipient gets 400
//     ErrorInvalidRecipients; a From that is not the mailbox gets 403
//     ErrorSendAsDenied (as reported by Exchange Online users; the app has
//     no Send As right on other mailboxes); an unreadable message gets 400
//     ErrorMimeContentInvalid. The Message-ID and every other header we
//     set are kept; a message without a Message-ID gets one. Permission is
//     checked before the body is decoded, so a probe with a body that is not
//     base64 tells a missing Mail.Send (403) from a granted one (400)
//     without sending anything; that ordering is not documented by
//     Microsoft.
//   - The request-rate refusal says "Application is over its request rate
//     limit." (Graph does not document the wording).
//   - $filter on mail folders supports only displayName eq '…' (a quote
//     inside doubled), compared without regard to case as Exchange does;
//     another filter gets 400 ErrorInvalidUrlQueryFilter. A folder name
//     that exists under the same parent gets 409 ErrorFolderExists.
//   - Delta's $filter (receivedDateTime ge|gt …, which Graph supports) and
//     $search are refused with 400 ErrorInvalidUrlQueryFilter: the client
//     does not use them. A state token used with another folder gets 400.
//   - internetMessageHeaders comes only when named in $select ("Returned
//     only on applying a $select query option"), each field unfolded.
//   - Exchange keeps messages in its own format and writes MIME when one is
//     downloaded: two downloads of one message are not promised the same
//     bytes. Options.MIMEVaries makes each $value download differ.
//   - Hidden folders, the 150 MB per 5 minutes upload limit, JSON sendMail
//     and $batch are not emulated (JSON sendMail gets 400).
//
// # Time
//
// The emulator runs on its own clock (Options.Start, Options.TimeScale,
// Advance). Token lifetimes, receivedDateTime and throttling windows are
// emulated time; the Retry-After header holds real seconds (the emulated
// wait divided by TimeScale, rounded up, at least 1), so a client that
// honours it waits just long enough, and a test can make the client's
// sleep call Advance instead of sleeping.
package graphemu
