package mailauth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/csp/trigger/internal/mailauth"
	"github.com/csp/trigger/internal/oauthemu"
	"github.com/csp/trigger/mailout/mailsink"
)

func TestSASLMessages(t *testing.T) {
	for _, tc := range []struct {
		mech, user, want string
	}{
		{mailauth.XOAUTH2, mailbox, "user=" + mailbox + "\x01auth=Bearer tok\x01\x01"},
		{mailauth.OAUTHBEARER, mailbox, "n,a=" + mailbox + ",\x01auth=Bearer tok\x01\x01"},
		{mailauth.OAUTHBEARER, "odd,name=x@example.org", "n,a=odd=2Cname=3Dx@example.org,\x01auth=Bearer tok\x01\x01"},
	} {
		// IMAP: the message is the initial response.
		mech, ir, err := mailauth.NewSASLClient(mailauth.IMAP, tc.mech, tc.user, "tok").Start()
		if err != nil || mech != tc.mech || string(ir) != tc.want {
			t.Errorf("IMAP %s Start = %q, %q, %v; want %q", tc.mech, mech, ir, err, tc.want)
		}
		// SMTP: no initial response; the message answers the empty 334.
		c := mailauth.NewSASLClient(mailauth.SMTP, tc.mech, tc.user, "tok")
		mech, ir, err = c.Start()
		if err != nil || mech != tc.mech || ir != nil {
			t.Errorf("SMTP %s Start = %q, %q, %v; want no initial response", tc.mech, mech, ir, err)
		}
		if resp, err := c.Next([]byte{}); err != nil || string(resp) != tc.want {
			t.Errorf("SMTP %s Next(334) = %q, %v; want %q", tc.mech, resp, err, tc.want)
		}
	}
	for _, bad := range []*mailauth.SASLClient{
		mailauth.NewSASLClient(mailauth.IMAP, "PLAIN", mailbox, "tok"),
		mailauth.NewSASLClient(mailauth.IMAP, mailauth.XOAUTH2, "", "tok"),
		mailauth.NewSASLClient(mailauth.IMAP, mailauth.XOAUTH2, mailbox, ""),
		mailauth.NewSASLClient(mailauth.IMAP, mailauth.XOAUTH2, "a\x01b", "tok"),
		mailauth.NewSASLClient("pop3", mailauth.XOAUTH2, mailbox, "tok"),
	} {
		if _, _, err := bad.Start(); err == nil {
			t.Errorf("Start of %+v succeeded", bad)
		}
	}
}

// googleChallenge is Gmail's error challenge for a refused token.
var googleChallenge = []byte(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`)

func TestSASLRefusal(t *testing.T) {
	t.Run("IMAPReturnsAReadableError", func(t *testing.T) {
		// go-imap would send an empty answer as "=", which Dovecot refuses:
		// the client stops with an error and the caller closes.
		c := mailauth.NewSASLClient(mailauth.IMAP, mailauth.XOAUTH2, mailbox, "tok")
		c.Start()
		resp, err := c.Next(googleChallenge)
		var ce *mailauth.ChallengeError
		if resp != nil || !errors.As(err, &ce) {
			t.Fatalf("Next = %q, %v; want a *ChallengeError", resp, err)
		}
		want := "XOAUTH2 sign-in refused: status 401 (the token is invalid, expired, or not for this mailbox); the server wants scope https://mail.google.com/"
		if err.Error() != want || !mailauth.IsRefused(err) {
			t.Errorf("error %q; want %q, a refusal", err, want)
		}
	})
	t.Run("SMTPAnswersEmptyNotNil", func(t *testing.T) {
		for mech, want := range map[string][]byte{mailauth.XOAUTH2: {}, mailauth.OAUTHBEARER: {0x01}} {
			c := mailauth.NewSASLClient(mailauth.SMTP, mech, mailbox, "tok")
			c.Start()
			c.Next([]byte{})
			resp, err := c.Next(googleChallenge)
			if err != nil || resp == nil || string(resp) != string(want) {
				t.Errorf("%s Next(error challenge) = %#v, %v; want %#v (never nil: go-smtp would call nil a success)", mech, resp, err, want)
			}
			if c.Refusal() == nil || c.Refusal().Status != "401" {
				t.Errorf("%s Refusal = %v", mech, c.Refusal())
			}
		}
	})
	t.Run("NotJSON", func(t *testing.T) {
		c := mailauth.NewSASLClient(mailauth.IMAP, mailauth.XOAUTH2, mailbox, "tok")
		c.Start()
		_, err := c.Next([]byte("bad token\x00\x07"))
		if err == nil || err.Error() != "XOAUTH2 sign-in refused: bad token??" {
			t.Errorf("error %q", err)
		}
	})
}

// smtpSink is a go-smtp server offering XOAUTH2 and OAUTHBEARER with the
// emulator's tokens, as Gmail does (mailsink).
func smtpSink(t *testing.T, e *emulator) *mailsink.Sink {
	t.Helper()
	sink, err := mailsink.Start(mailsink.Options{VerifyToken: e.Verify, Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	return sink
}

func dialSMTP(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("localhost"); err != nil {
		t.Fatal(err)
	}
	return c
}

// issue gets an emulator token for the mailbox.
func issue(t *testing.T, e *emulator) string {
	t.Helper()
	e.microsoftApp(oauthemu.App{Secret: secret})
	tok, err := mustSource(t, e.microsoftConfig(), mailauthOptions(t)).Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

func mailauthOptions(t *testing.T) mailauth.Options { return mailauth.Options{Logger: testLogger(t)} }

func TestSMTPSignIn(t *testing.T) {
	t.Run("TokenOver4KBAfterThe334", func(t *testing.T) {
		e := startEmulator(t)
		e.TokenSize = 5000
		tok := issue(t, e)
		sink := smtpSink(t, e)
		for _, mech := range []string{mailauth.XOAUTH2, mailauth.OAUTHBEARER} {
			c := dialSMTP(t, sink.Addr())
			if err := c.Auth(mailauth.NewSASLClient(mailauth.SMTP, mech, mailbox, tok)); err != nil {
				t.Errorf("%s with a %d-byte token: %v", mech, len(tok), err)
			}
			if err := c.Mail("communitytrigger@contoso.example", nil); err != nil {
				t.Errorf("%s: MAIL after sign-in: %v", mech, err)
			}
		}
		// The same token on the AUTH line is refused: why SMTP sends none.
		c := dialSMTP(t, sink.Addr())
		err := c.Auth(mailauth.NewSASLClient(mailauth.IMAP, mailauth.XOAUTH2, mailbox, tok))
		if err == nil || !strings.Contains(err.Error(), "Line too long") {
			t.Errorf("a token as initial response: %v; want Line too long", err)
		}
	})

	t.Run("RefusedTokenIsAnError", func(t *testing.T) {
		e := startEmulator(t)
		tok := issue(t, e)
		sink := smtpSink(t, e)
		e.RevokeToken(tok)
		for _, mech := range []string{mailauth.XOAUTH2, mailauth.OAUTHBEARER} {
			c := dialSMTP(t, sink.Addr())
			sc := mailauth.NewSASLClient(mailauth.SMTP, mech, mailbox, tok)
			err := c.Auth(sc)
			var se *smtp.SMTPError
			if !errors.As(err, &se) || se.Code != 535 {
				t.Errorf("%s with a revoked token: %v; want 535", mech, err)
			}
			if sc.Refusal() == nil {
				t.Errorf("%s: the error challenge was not kept", mech)
			}
		}
		// Another mailbox's token is refused too.
		c := dialSMTP(t, sink.Addr())
		if err := c.Auth(mailauth.NewSASLClient(mailauth.SMTP, mailauth.XOAUTH2, "someone.else@contoso.example", issue(t, e))); err == nil {
			t.Error("another mailbox's token signed in")
		}
	})

	t.Run("TheNilTrap", func(t *testing.T) {
		// Why Next never returns nil: go-smtp ends the exchange on a nil
		// answer and reports success, though the server refused.
		e := startEmulator(t)
		tok := issue(t, e)
		sink := smtpSink(t, e)
		e.RevokeToken(tok)
		c := dialSMTP(t, sink.Addr())
		if err := c.Auth(&nilOnRefusal{mailauth.NewSASLClient(mailauth.SMTP, mailauth.XOAUTH2, mailbox, tok)}); err != nil {
			t.Skipf("go-smtp no longer falls into the trap (%v)", err)
		}
		if err := c.Mail("communitytrigger@contoso.example", nil); err == nil {
			t.Error("the refused session could send")
		}
	})
}

// nilOnRefusal is the naive client: nil after an error challenge.
type nilOnRefusal struct{ *mailauth.SASLClient }

func (c *nilOnRefusal) Next(ch []byte) ([]byte, error) {
	resp, err := c.SASLClient.Next(ch)
	if c.Refusal() != nil {
		return nil, nil
	}
	return resp, err
}

var _ sasl.Client = (*nilOnRefusal)(nil)

func TestPickMechanism(t *testing.T) {
	offers := func(m ...string) func(string) bool {
		return func(x string) bool {
			for _, y := range m {
				if x == y {
					return true
				}
			}
			return false
		}
	}
	for _, tc := range []struct {
		offered []string
		want    string
	}{
		{[]string{"PLAIN", "XOAUTH2"}, "XOAUTH2"},
		{[]string{"OAUTHBEARER", "XOAUTH2"}, "XOAUTH2"},
		{[]string{"OAUTHBEARER"}, "OAUTHBEARER"},
		{[]string{"PLAIN", "LOGIN"}, ""},
	} {
		if got := mailauth.PickMechanism(offers(tc.offered...)); got != tc.want {
			t.Errorf("%v: %q; want %q", tc.offered, got, tc.want)
		}
	}
}
