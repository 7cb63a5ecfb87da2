package mailauth_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"

	"github.com/csp/trigger/internal/mailauth"
)

// TestExplainSignIn: the mail servers' refusals, as the protocol libraries
// report them, come back as what to do.
func TestExplainSignIn(t *testing.T) {
	smtpErr := func(code int, enh smtp.EnhancedCode, msg string) error {
		return fmt.Errorf("smtp: AUTH XOAUTH2 as %s: %w", mailbox, &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: msg})
	}
	for _, tc := range []struct {
		name      string
		err       error
		usedToken bool
		code      string
		advice    string
	}{
		{"ExchangeIMAPAfterGoodToken", fmt.Errorf("imap: log in as %s: %w", mailbox, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "AUTHENTICATE failed."}), true,
			mailauth.CodeMailboxPermission, "New-ServicePrincipal"},
		{"DovecotIMAPAfterGoodToken", &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed, Text: "Authentication failed."}, true,
			mailauth.CodeMailboxPermission, "Add-MailboxPermission"},
		{"SMTPAuthDisabled", smtpErr(535, smtp.EnhancedCode{5, 7, 139}, "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information."), true,
			mailauth.CodeSMTPAuthDisabled, "Set-CASMailbox"},
		{"SMTPSecurityDefaults", smtpErr(535, smtp.EnhancedCode{5, 7, 139}, "Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator."), false,
			mailauth.CodeSMTPAuthBlocked, "security defaults"},
		{"BasicAuthGone", smtpErr(550, smtp.EnhancedCode{5, 7, 30}, "Basic authentication is not supported for Client Submission."), false,
			mailauth.CodeBasicAuthDisabled, `auth = "oauth2"`},
		{"GoogleAppPassword", errors.New("smtp: AUTH PLAIN: 534 5.7.9 Application-specific password required."), false,
			mailauth.CodeAppPasswordRequired, `provider = "google"`},
		{"TokenExpiredBye", errors.New("imap: connection closed: * BYE Session invalidated - AccessTokenExpired"), true,
			mailauth.CodeTokenExpired, "reconnects"},
		{"ChallengeRefusal", fmt.Errorf("imap: log in: %w", &mailauth.ChallengeError{Mechanism: "XOAUTH2", Status: "401"}), true,
			mailauth.CodeTokenRefused, "expired, was revoked"},
		{"PasswordRefused", &imap.Error{Type: imap.StatusResponseTypeNo, Text: "LOGIN failed."}, false,
			mailauth.CodeSignInRefused, "no longer accept passwords"},
		{"TokenEndpoint", &mailauth.Error{Code: mailauth.CodeSecretExpired, Advice: "Add a new client secret"}, true,
			mailauth.CodeSecretExpired, "new client secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := mailauth.ExplainSignIn(tc.err, tc.usedToken)
			if !ok || p.Code != tc.code || !strings.Contains(p.Advice, tc.advice) {
				t.Errorf("ExplainSignIn(%q) = %+v, %v; want %s with %q", tc.err, p, ok, tc.code, tc.advice)
			}
		})
	}
	if p, ok := mailauth.ExplainSignIn(errors.New("dial tcp: connection refused"), true); ok {
		t.Errorf("a network error explained as %+v", p)
	}
}
