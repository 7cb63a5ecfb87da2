package mailout_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/internal/mailauth"
	"github.com/csp/trigger/internal/oauthemu"
	"github.com/csp/trigger/mailout"
	"github.com/csp/trigger/mailout/mailsink"
)

const serviceMailbox = "communitytrigger@example-council.gov.uk"

// oauthSender is a Sender signing in with tokens from an OAuth emulator to
// a go-smtp server that checks them (XOAUTH2 as Gmail and Exchange run it).
func oauthSender(t *testing.T, tokenSize int) (*mailout.Sender, *oauthemu.Server, *mailsink.Sink) {
	t.Helper()
	emu := oauthemu.New()
	emu.TokenSize = tokenSize
	emu.AddApp(oauthemu.App{Tenant: "contoso.onmicrosoft.com", ClientID: "app", Secret: "s3cret", Mailbox: serviceMailbox})
	hs := httptest.NewServer(emu)
	t.Cleanup(hs.Close)
	sink, err := mailsink.Start(mailsink.Options{VerifyToken: emu.Verify, Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	src, err := mailauth.NewSource(mailauth.Config{
		Provider: mailauth.Microsoft, Tenant: "contoso.onmicrosoft.com", ClientID: "app", ClientSecret: "s3cret", BaseURL: hs.URL,
	}, mailauth.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	cfg := casefile.DefaultConfig().SMTP
	cfg.Address, cfg.TLS, cfg.Username = sink.Addr(), "none", serviceMailbox
	cfg.From = "Community Trigger <" + serviceMailbox + ">"
	return &mailout.Sender{Config: cfg, OAuth: src, Logger: log}, emu, sink
}

var oauthMessage = []byte("From: <" + serviceMailbox + ">\r\nTo: <resident@example.org>\r\nSubject: test\r\n\r\nhello\r\n")

func TestSendWithToken(t *testing.T) {
	t.Run("TokenOver4KB", func(t *testing.T) {
		snd, _, sink := oauthSender(t, 5000)
		if err := snd.SendRaw(context.Background(), serviceMailbox, []string{"resident@example.org"}, oauthMessage); err != nil {
			t.Fatalf("SendRaw with a 5 KB token: %v", err)
		}
		if n := len(sink.Messages()); n != 1 {
			t.Errorf("%d messages delivered; want 1", n)
		}
	})

	t.Run("RevokedTokenRenewedOnce", func(t *testing.T) {
		snd, emu, sink := oauthSender(t, 0)
		tok, err := snd.OAuth.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		emu.RevokeToken(tok.AccessToken)
		if err := snd.SendRaw(context.Background(), serviceMailbox, []string{"resident@example.org"}, oauthMessage); err != nil {
			t.Fatalf("SendRaw = %v; want a sign-in with a fresh token", err)
		}
		if snd.OAuth.Refusals() != 1 || len(sink.Messages()) != 1 {
			t.Errorf("refusals %d, delivered %d; want 1 and 1", snd.OAuth.Refusals(), len(sink.Messages()))
		}
	})

	t.Run("RefusedIsAnErrorNotASuccess", func(t *testing.T) {
		snd, _, sink := oauthSender(t, 0)
		snd.Config.Username = "another.mailbox@example-council.gov.uk" // the token is not for it
		err := snd.SendRaw(context.Background(), serviceMailbox, []string{"resident@example.org"}, oauthMessage)
		if !mailauth.IsRefused(err) || len(sink.Messages()) != 0 {
			t.Fatalf("SendRaw = %v, delivered %d; want the refusal and nothing sent", err, len(sink.Messages()))
		}
		var perm *casefile.PermanentError
		if errors.As(err, &perm) {
			t.Error("a sign-in refusal is permanent: the outbox would give the email up")
		}
		if p, ok := mailauth.ExplainSignIn(err, true); !ok || p.Code != mailauth.CodeMailboxPermission {
			t.Errorf("explained as %+v", p)
		}
		if strings.Contains(err.Error(), "another.mailbox@") {
			t.Errorf("the error shows an address: %v", err)
		}
	})

	t.Run("NoToken", func(t *testing.T) {
		snd, emu, sink := oauthSender(t, 0)
		emu.ExpireSecret("app")
		err := snd.SendRaw(context.Background(), serviceMailbox, []string{"resident@example.org"}, oauthMessage)
		if mailauth.ErrorCode(err) != mailauth.CodeSecretExpired || len(sink.Messages()) != 0 {
			t.Errorf("SendRaw = %v; want the expired secret and nothing sent", err)
		}
	})

	t.Run("ServerWithoutTokenSignIn", func(t *testing.T) {
		snd, _, _ := oauthSender(t, 0)
		plain, err := mailsink.Start(mailsink.Options{Username: "u", Password: "p", Quiet: true})
		if err != nil {
			t.Fatal(err)
		}
		defer plain.Close()
		snd.Config.Address = plain.Addr()
		err = snd.SendRaw(context.Background(), serviceMailbox, []string{"resident@example.org"}, oauthMessage)
		if err == nil || !strings.Contains(err.Error(), "neither XOAUTH2 nor OAUTHBEARER") {
			t.Errorf("SendRaw = %v; want it to say the server offers no token sign-in", err)
		}
	})
}
