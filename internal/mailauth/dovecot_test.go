package mailauth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"github.com/csp/trigger/internal/dovecot"
	"github.com/csp/trigger/internal/mailauth"
	"github.com/csp/trigger/internal/oauthemu"
	"github.com/csp/trigger/mailout/mailsink"
)

// startDovecot starts a real Dovecot whose oauth2 passdb asks the
// emulator's introspection endpoint, or skips where Dovecot is absent.
func startDovecot(t *testing.T, e *emulator, o dovecot.Options) *dovecot.Server {
	t.Helper()
	o.IntrospectionURL = e.URL + "/introspect"
	d, err := dovecot.StartWith(t.TempDir(), o)
	if errors.Is(err, dovecot.ErrNotInstalled) || errors.Is(err, dovecot.ErrNoSubmission) {
		t.Skip(err.Error() + " to run this test")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Close()
		if t.Failed() {
			t.Logf("dovecot log:\n%s", d.Log())
		}
	})
	return d
}

// dovecotToken gets a token for Dovecot's user from the emulator (an
// app-only token for the mailbox "ct").
func dovecotToken(t *testing.T, e *emulator) (*mailauth.Source, mailauth.Token) {
	t.Helper()
	e.microsoftApp(oauthemu.App{Secret: secret, Mailbox: dovecot.User})
	src := mustSource(t, e.microsoftConfig(), mailauthOptions(t))
	tok, err := src.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return src, tok
}

// imapSignIn signs in to Dovecot with mech and token as the caller does:
// on failure the connection is closed. It returns the sign-in's error and
// whether a command then works (it must not after a failure).
func imapSignIn(t *testing.T, addr, mech, user, token string) error {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WaitGreeting(); err != nil {
		t.Fatal(err)
	}
	if !c.Caps().Has(imap.AuthCap(mech)) {
		t.Fatalf("Dovecot does not offer AUTH=%s: %v", mech, c.Caps())
	}
	done := make(chan error, 1)
	go func() { done <- c.Authenticate(mailauth.NewSASLClient(mailauth.IMAP, mech, user, token)) }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second): // only keeps a broken test from hanging
		t.Fatalf("%s sign-in hangs", mech)
	}
	if err != nil {
		c.Close()
		return err
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("after signing in, SELECT: %v", err)
	}
	return nil
}

func TestDovecotIMAP(t *testing.T) {
	e := startEmulator(t)
	d := startDovecot(t, e, dovecot.Options{})
	_, good := dovecotToken(t, e)
	for _, mech := range []string{mailauth.XOAUTH2, mailauth.OAUTHBEARER} {
		t.Run(mech, func(t *testing.T) {
			if err := imapSignIn(t, d.Addr, mech, dovecot.User, good.AccessToken); err != nil {
				t.Fatalf("a good token: %v", err)
			}
			if asked := e.Introspected(); len(asked) == 0 || asked[len(asked)-1] != good.AccessToken {
				t.Fatal("Dovecot did not ask the emulator about the token")
			}

			bad := "eyJ0eXAiOiJKV1QifQ.not-a-token-the-emulator-issued"
			err := imapSignIn(t, d.Addr, mech, dovecot.User, bad)
			var ce *mailauth.ChallengeError
			if !errors.As(err, &ce) || !mailauth.IsRefused(err) {
				t.Fatalf("a bad token: %v (%T); want the server's refusal", err, err)
			}
			if p, ok := mailauth.ExplainSignIn(err, true); !ok || p.Code != mailauth.CodeTokenRefused {
				t.Errorf("explained as %+v", p)
			}

			// Another user's token: Dovecot compares the introspected
			// username with the login.
			e.AddApp(oauthemu.App{Tenant: tenant, ClientID: "other-app", Secret: "other", Mailbox: "someone"})
			cfg := e.microsoftConfig()
			cfg.ClientID, cfg.ClientSecret = "other-app", "other"
			other, err := mustSource(t, cfg, mailauthOptions(t)).Token(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if err := imapSignIn(t, d.Addr, mech, dovecot.User, other.AccessToken); !mailauth.IsRefused(err) {
				t.Errorf("another user's token: %v; want a refusal", err)
			}
		})
	}

	t.Run("TheEqualsTrap", func(t *testing.T) {
		// Why the IMAP client stops at the error challenge: go-imap sends
		// an empty answer as "=", which Dovecot 2.3 does not take, so the
		// refusal would come back as a protocol error instead.
		c, err := imapclient.DialInsecure(d.Addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		sc := &emptyOnRefusal{mailauth.NewSASLClient(mailauth.IMAP, mailauth.XOAUTH2, dovecot.User, "not-a-token")}
		err = c.Authenticate(sc)
		if err == nil {
			t.Fatal("a bad token signed in")
		}
		t.Logf("answering the error challenge with an empty response: %v", err)
		if !strings.Contains(err.Error(), "base64") {
			t.Skipf("Dovecot took go-imap's empty response (%v): the trap is gone", err)
		}
	})

	t.Run("Expired", func(t *testing.T) {
		_, tok := dovecotToken(t, e)
		e.Advance(2 * time.Hour)
		defer e.Advance(-2 * time.Hour)
		if err := imapSignIn(t, d.Addr, mailauth.XOAUTH2, dovecot.User, tok.AccessToken); !mailauth.IsRefused(err) {
			t.Errorf("an expired token: %v; want a refusal", err)
		}
	})

	t.Run("PasswordStillWorks", func(t *testing.T) {
		c, err := imapclient.DialInsecure(d.Addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Login(dovecot.User, dovecot.Password).Wait(); err != nil {
			t.Errorf("LOGIN with the password beside the oauth2 passdb: %v", err)
		}
	})
}

// TestDovecotSubmission signs in to Dovecot's SMTP submission service with
// tokens, the long one after the 334, and sends through it.
func TestDovecotSubmission(t *testing.T) {
	e := startEmulator(t)
	e.TokenSize = 5000
	relay, err := mailsink.Start(mailsink.Options{Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	d := startDovecot(t, e, dovecot.Options{SubmissionRelay: relay.Addr()})
	_, tok := dovecotToken(t, e)

	for _, mech := range []string{mailauth.XOAUTH2, mailauth.OAUTHBEARER} {
		c := dialSMTP(t, d.SubmissionAddr)
		if ok, mechs := c.Extension("AUTH"); !ok || !strings.Contains(mechs, mech) {
			t.Fatalf("submission offers AUTH %q; want %s", mechs, mech)
		}
		if err := c.Auth(mailauth.NewSASLClient(mailauth.SMTP, mech, dovecot.User, tok.AccessToken)); err != nil {
			t.Fatalf("%s with a %d-byte token: %v", mech, len(tok.AccessToken), err)
		}
		if err := c.SendMail("ct@localhost", []string{"resident@example.org"}, strings.NewReader("Subject: t\r\n\r\nhello\r\n")); err != nil {
			t.Fatalf("%s: send: %v", mech, err)
		}
	}
	if n := len(relay.Messages()); n != 2 {
		t.Errorf("%d messages relayed; want 2", n)
	}

	// Dovecot refuses the long token on the AUTH line: why SMTP sends it after the 334.
	c := dialSMTP(t, d.SubmissionAddr)
	if err := c.Auth(mailauth.NewSASLClient(mailauth.IMAP, mailauth.XOAUTH2, dovecot.User, tok.AccessToken)); err == nil {
		t.Error("a 5 KB initial response was accepted")
	} else {
		t.Logf("a 5 KB initial response: %v", err)
	}

	// A refused token is an error, not a success.
	e.RevokeToken(tok.AccessToken)
	for _, mech := range []string{mailauth.XOAUTH2, mailauth.OAUTHBEARER} {
		c := dialSMTP(t, d.SubmissionAddr)
		err := c.Auth(mailauth.NewSASLClient(mailauth.SMTP, mech, dovecot.User, tok.AccessToken))
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code/100 != 5 {
			t.Errorf("%s with a revoked token: %v; want a 5xx", mech, err)
		}
	}
}

// emptyOnRefusal is the naive IMAP client: an empty answer to the error
// challenge, as RFC 7628 and Google describe it.
type emptyOnRefusal struct{ *mailauth.SASLClient }

func (c *emptyOnRefusal) Next(ch []byte) ([]byte, error) {
	if _, err := c.SASLClient.Next(ch); err != nil {
		return []byte{}, nil
	}
	return nil, errors.New("unexpected challenge")
}
