package mailauth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/csp/trigger/internal/mailauth"
	"github.com/csp/trigger/internal/oauthemu"
)

const serviceAccount = "trigger@community-trigger.iam.gserviceaccount.com"

// googleSetup registers a service account with domain-wide delegation for
// Gmail and the mailbox as a user of the domain, and returns the config.
func googleSetup(t *testing.T, e *emulator, delegated bool) mailauth.Config {
	t.Helper()
	key, sa, err := oauthemu.NewServiceAccountKey(serviceAccount, "https://oauth2.googleapis.com/token")
	if err != nil {
		t.Fatal(err)
	}
	sa.Scopes, sa.Delegated = []string{mailauth.GoogleMailScope}, delegated
	e.AddServiceAccount(sa)
	e.AddGoogleUser(mailbox)
	return mailauth.Config{Provider: mailauth.Google, Subject: mailbox, ServiceAccountJSON: key, BaseURL: e.URL}
}

func TestGoogle(t *testing.T) {
	t.Run("JWTBearerActsForTheSubject", func(t *testing.T) {
		e := startEmulator(t)
		cfg := googleSetup(t, e, true)
		tok, err := mustSource(t, cfg, mailauth.Options{}).Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if user, ok := e.TokenUser(tok.AccessToken); !ok || user != mailbox {
			t.Errorf("token for %q (active %v); want the subject %s", user, ok, mailbox)
		}
		if !strings.HasPrefix(tok.AccessToken, "ya29.") || tok.Expiry.IsZero() {
			t.Errorf("token %.8s…, expiry %v", tok.AccessToken, tok.Expiry)
		}
		if r := e.Requests()[0]; r.Grant != "urn:ietf:params:oauth:grant-type:jwt-bearer" || r.Path != "/token" {
			t.Errorf("request %s %s", r.Path, r.Grant)
		}
	})

	t.Run("NoDelegation", func(t *testing.T) {
		e := startEmulator(t)
		cfg := googleSetup(t, e, false)
		_, err := mustSource(t, cfg, mailauth.Options{}).Token(context.Background())
		if me := wantCode(t, err, mailauth.CodeDelegationMissing); !strings.Contains(me.Advice, "Domain-wide delegation") {
			t.Errorf("advice %q", me.Advice)
		}
	})

	t.Run("SubjectNotInTheDomain", func(t *testing.T) {
		e := startEmulator(t)
		cfg := googleSetup(t, e, true)
		cfg.Subject = "nobody@elsewhere.example"
		_, err := mustSource(t, cfg, mailauth.Options{}).Token(context.Background())
		wantCode(t, err, mailauth.CodeInvalidSubject)
	})

	t.Run("KeyDeleted", func(t *testing.T) {
		e := startEmulator(t)
		cfg := googleSetup(t, e, true)
		other, _, err := oauthemu.NewServiceAccountKey(serviceAccount, "")
		if err != nil {
			t.Fatal(err)
		}
		cfg.ServiceAccountJSON = other // same account, a key Google does not have
		_, err = mustSource(t, cfg, mailauth.Options{}).Token(context.Background())
		wantCode(t, err, mailauth.CodeInvalidKey)
	})
}
