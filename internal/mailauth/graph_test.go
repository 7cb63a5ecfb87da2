package mailauth_test

import (
	"testing"

	"github.com/csp/trigger/internal/mailauth"
	"github.com/csp/trigger/internal/oauthemu"
)

// TestOAuth2TokenSource: the Source as Graph's client takes it — an
// app-only token for Microsoft Graph's scope, kept until Graph refuses it,
// then renewed, the refusal counted.
func TestOAuth2TokenSource(t *testing.T) {
	e := startEmulator(t)
	e.microsoftApp(oauthemu.App{Secret: secret})
	cfg := e.microsoftConfig()
	cfg.Scopes = []string{mailauth.MicrosoftGraphScope}
	src := mustSource(t, cfg, mailauth.Options{})
	ts := src.OAuth2()
	first, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if id, scope, ok := e.AppToken(first.AccessToken); !ok || id != clientID || scope != "https://graph.microsoft.com/.default" {
		t.Fatalf("token for %q with scope %q (active %v): want the app's, for Graph", id, scope, ok)
	}
	if !first.Valid() || first.TokenType != "Bearer" {
		t.Errorf("token %+v is not a valid bearer token", first)
	}
	again, _ := ts.Token()
	if again.AccessToken != first.AccessToken || e.Issued() != 1 {
		t.Errorf("a second Token fetched a new one (%d issued): the Source's cache is not used", e.Issued())
	}
	ts.(interface{ Invalidate(string) }).Invalidate(first.AccessToken)
	renewed, err := ts.Token()
	if err != nil || renewed.AccessToken == first.AccessToken || src.Refusals() != 1 {
		t.Errorf("after Graph refused the token: %v, same token %v, refusals %d", err, renewed != nil && renewed.AccessToken == first.AccessToken, src.Refusals())
	}
}
