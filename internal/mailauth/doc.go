// Package mailauth signs the service in to its mailbox's IMAP and SMTP
// servers with OAuth 2.0, as Microsoft 365 and Google Workspace require: it
// gets access tokens (Source: Microsoft app-only with a client secret or a
// certificate, Microsoft delegated with the device code flow and a rotating
// refresh token, Google's service account with domain-wide delegation, or
// any token endpoint with client credentials) and carries them in the SASL
// mechanisms XOAUTH2 and OAUTHBEARER (SASLClient), one implementation for
// both protocols.
//
// Failures come back translated into what a person should do: *Error for
// the token endpoints (AADSTS codes, Google's errors) and ExplainSignIn for
// the mail servers' refusals.
//
// It imports neither go-imap nor go-smtp: the IMAP reader and the SMTP
// sender, which may not import each other, both use it.
package mailauth
