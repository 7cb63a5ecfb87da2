package mailauth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csp/trigger/internal/mailauth"
	"github.com/csp/trigger/internal/oauthemu"
)

func TestClientCredentials(t *testing.T) {
	t.Run("SecretCachedThenRenewedBeforeExpiry", func(t *testing.T) {
		e := startEmulator(t)
		e.microsoftApp(oauthemu.App{Secret: secret})
		clk := &clock{}
		src := mustSource(t, e.microsoftConfig(), mailauth.Options{Now: clk.Now, Margin: 5 * time.Minute})
		ctx := context.Background()
		first, err := src.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if user, active := e.TokenUser(first.AccessToken); !active || user != mailbox {
			t.Fatalf("the token is for %q (active %v); want the app's mailbox", user, active)
		}
		if got := first.Expiry.Sub(first.RenewAt); got != 5*time.Minute {
			t.Errorf("renews %v before expiry, want the 5m margin", got)
		}
		again, err := src.Token(ctx)
		if err != nil || again.AccessToken != first.AccessToken || e.Issued() != 1 {
			t.Fatalf("second Token = new token %v (issued %d), %v; want the cached one", again.AccessToken != first.AccessToken, e.Issued(), err)
		}
		req := e.Requests()[0]
		if req.Form.Get("scope") != mailauth.MicrosoftAppScope || req.Form.Get("client_secret") != secret || req.Grant != "client_credentials" {
			t.Errorf("request form = %v", req.Form)
		}
		// Still valid, but within the margin of its expiry: renewed.
		clk.Advance(first.RenewAt.Sub(clk.Now()) + time.Second)
		renewed, err := src.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if renewed.AccessToken == first.AccessToken || e.Issued() != 2 || src.Renewals() != 2 {
			t.Errorf("after the renewal time: same token %v, issued %d, renewals %d; want a new one", renewed.AccessToken == first.AccessToken, e.Issued(), src.Renewals())
		}
	})

	t.Run("MarginAtMostHalfTheLifetime", func(t *testing.T) {
		e := startEmulator(t)
		e.TokenLifetime = 10 * time.Minute
		e.microsoftApp(oauthemu.App{Secret: secret})
		src := mustSource(t, e.microsoftConfig(), mailauth.Options{Margin: time.Hour})
		tok, err := src.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.Expiry.Sub(tok.RenewAt); got != 5*time.Minute {
			t.Errorf("renews %v before expiry; want half the 10m lifetime", got)
		}
	})

	t.Run("ConcurrentCallersShareOneRenewal", func(t *testing.T) {
		e := startEmulator(t)
		e.microsoftApp(oauthemu.App{Secret: secret})
		src := mustSource(t, e.microsoftConfig(), mailauth.Options{})
		var wg sync.WaitGroup
		tokens := make([]string, 8)
		for i := range tokens {
			wg.Go(func() {
				tok, err := src.Token(context.Background())
				if err != nil {
					t.Error(err)
				}
				tokens[i] = tok.AccessToken
			})
		}
		wg.Wait()
		for _, tok := range tokens {
			if tok != tokens[0] {
				t.Fatal("callers got different tokens")
			}
		}
		if e.Issued() != 1 {
			t.Errorf("%d tokens issued; want 1", e.Issued())
		}
	})

	t.Run("InvalidateAndRetryOnce", func(t *testing.T) {
		e := startEmulator(t)
		e.microsoftApp(oauthemu.App{Secret: secret})
		src := mustSource(t, e.microsoftConfig(), mailauth.Options{})
		ctx := context.Background()
		first, _ := src.Token(ctx)
		e.RevokeToken(first.AccessToken) // the server knows before the expiry
		var tried []string
		signIn := func(tok mailauth.Token) error {
			tried = append(tried, tok.AccessToken)
			if _, active := e.TokenUser(tok.AccessToken); !active {
				return mailauth.Refused(errors.New("NO [AUTHENTICATIONFAILED] AUTHENTICATE failed"))
			}
			return nil
		}
		if err := src.SignIn(ctx, signIn); err != nil {
			t.Fatalf("SignIn = %v; want success with a fresh token", err)
		}
		if len(tried) != 2 || tried[0] != first.AccessToken || tried[1] == first.AccessToken {
			t.Errorf("tried %d tokens; want the refused one, then a fresh one", len(tried))
		}
		if src.Renewals() != 2 || src.Refusals() != 1 {
			t.Errorf("renewals %d, refusals %d; want 2 and 1", src.Renewals(), src.Refusals())
		}
		// Once only: a server refusing every token is not asked a third time.
		tried = nil
		refuseAll := func(tok mailauth.Token) error {
			tried = append(tried, tok.AccessToken)
			return mailauth.Refused(errors.New("535 5.7.3 Authentication unsuccessful"))
		}
		if err := src.SignIn(ctx, refuseAll); !mailauth.IsRefused(err) || len(tried) != 2 {
			t.Errorf("SignIn = %v after %d tries; want the refusal after 2", err, len(tried))
		}
		// A network failure is not a refusal: no new token for it.
		before := e.Issued()
		tried = nil
		netErr := func(tok mailauth.Token) error {
			tried = append(tried, tok.AccessToken)
			return errors.New("connection reset")
		}
		if err := src.SignIn(ctx, netErr); err == nil || len(tried) != 1 || e.Issued() != before {
			t.Errorf("SignIn = %v after %d tries, %d new tokens; want 1 try and none", err, len(tried), e.Issued()-before)
		}
	})

	t.Run("InvalidateOfAnOlderTokenKeepsTheNewer", func(t *testing.T) {
		e := startEmulator(t)
		e.microsoftApp(oauthemu.App{Secret: secret})
		src := mustSource(t, e.microsoftConfig(), mailauth.Options{})
		ctx := context.Background()
		old, _ := src.Token(ctx)
		src.Invalidate(old.AccessToken) // the IMAP connection's refusal
		fresh, _ := src.Token(ctx)
		src.Invalidate(old.AccessToken) // the SMTP connection's, a moment later
		again, _ := src.Token(ctx)
		if again.AccessToken != fresh.AccessToken || e.Issued() != 2 {
			t.Errorf("a late Invalidate of the old token dropped the new one (%d issued)", e.Issued())
		}
	})

	t.Run("Certificate", func(t *testing.T) {
		e := startEmulator(t)
		pemText, cert, err := oauthemu.NewCertificate(365 * 24 * time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		e.microsoftApp(oauthemu.App{Cert: cert})
		cfg := e.microsoftConfig()
		cfg.ClientSecret, cfg.CertificatePEM = "", pemText
		src := mustSource(t, cfg, mailauth.Options{})
		tok, err := src.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, active := e.TokenUser(tok.AccessToken); !active {
			t.Fatal("the token is not active")
		}
		f := e.Requests()[0].Form
		if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || f.Get("client_assertion") == "" || f.Has("client_secret") {
			t.Errorf("form = %v; want a client assertion and no secret", f)
		}
		if !src.CredentialExpiry().Equal(cert.NotAfter) {
			t.Errorf("CredentialExpiry = %v; want the certificate's NotAfter %v", src.CredentialExpiry(), cert.NotAfter)
		}

		// A certificate the app registration does not have.
		other, _, err := oauthemu.NewCertificate(time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		cfg.CertificatePEM = other
		_, err = mustSource(t, cfg, mailauth.Options{}).Token(context.Background())
		wantCode(t, err, mailauth.CodeCertificateRefused)

		// An assertion signed with a clock 20 minutes slow has expired.
		cfg.CertificatePEM = pemText
		_, err = mustSource(t, cfg, mailauth.Options{Now: func() time.Time { return time.Now().Add(-20 * time.Minute) }}).Token(context.Background())
		wantCode(t, err, mailauth.CodeCertificateRefused)
	})

	t.Run("CustomWithoutScopes", func(t *testing.T) {
		e := startEmulator(t)
		e.AddApp(oauthemu.App{ClientID: "trigger", Secret: "s3cret", Mailbox: "ct"})
		cfg := mailauth.Config{Provider: mailauth.Custom, TokenURL: e.URL + "/token", ClientID: "trigger", ClientSecret: "s3cret"}
		if _, err := mustSource(t, cfg, mailauth.Options{}).Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		cfg.Scopes = []string{"mail", "smtp"}
		if _, err := mustSource(t, cfg, mailauth.Options{}).Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		var withScope []bool
		for _, r := range e.Requests() {
			if r.Status == 200 {
				withScope = append(withScope, r.Form.Has("scope"))
			}
		}
		if fmt.Sprint(withScope) != "[false true]" {
			t.Errorf("scope parameter sent: %v; want none without scopes, then one", withScope)
		}
		if got := e.Requests(); got[len(got)-1].Form.Get("scope") != "mail smtp" {
			t.Errorf("scope = %q", got[len(got)-1].Form.Get("scope"))
		}
	})

	t.Run("Unreachable", func(t *testing.T) {
		cfg := mailauth.Config{Provider: mailauth.Microsoft, Tenant: tenant, ClientID: clientID, ClientSecret: secret, BaseURL: "http://127.0.0.1:1"}
		src := mustSource(t, cfg, mailauth.Options{})
		_, err := src.Token(context.Background())
		if e := wantCode(t, err, mailauth.CodeUnreachable); !e.Temporary {
			t.Error("a network failure is not temporary")
		}
		if src.Failures() != 1 || src.Renewals() != 0 {
			t.Errorf("failures %d, renewals %d; want 1 and 0", src.Failures(), src.Renewals())
		}
	})
}

// TestMicrosoftErrors: each of Entra ID's refusals comes back as a coded
// error whose advice says what to do, without the secret.
func TestMicrosoftErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(e *emulator, cfg *mailauth.Config)
		code   string
		advice string
	}{
		{"InvalidSecret", func(e *emulator, cfg *mailauth.Config) { cfg.ClientSecret = "the-secret-id-by-mistake" }, mailauth.CodeInvalidSecret, "Value, not its Secret ID"},
		{"SecretExpired", func(e *emulator, cfg *mailauth.Config) { e.ExpireSecret(clientID) }, mailauth.CodeSecretExpired, "new client secret"},
		{"AppNotFound", func(e *emulator, cfg *mailauth.Config) {
			e.RemoveApp(clientID)
			e.microsoftApp(oauthemu.App{ClientID: "another"})
		}, mailauth.CodeAppNotFound, "oauth2.client_id"},
		{"TenantNotFound", func(e *emulator, cfg *mailauth.Config) { cfg.Tenant = "fabrikam.onmicrosoft.com" }, mailauth.CodeTenantNotFound, "oauth2.tenant"},
		{"ScopeNotDefault", func(e *emulator, cfg *mailauth.Config) { cfg.Scopes = []string{mailauth.MicrosoftIMAPScope} }, mailauth.CodeInvalidScope, "oauth2.scopes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEmulator(t)
			e.microsoftApp(oauthemu.App{Secret: secret})
			cfg := e.microsoftConfig()
			tc.setup(e, &cfg)
			_, err := mustSource(t, cfg, mailauth.Options{}).Token(context.Background())
			me := wantCode(t, err, tc.code)
			if !strings.Contains(me.Advice, tc.advice) {
				t.Errorf("advice %q does not say %q", me.Advice, tc.advice)
			}
			if !strings.HasPrefix(me.ProviderCode, "AADSTS") || !strings.Contains(err.Error(), me.ProviderCode) {
				t.Errorf("error %q, provider code %q; want the AADSTS code in it", err, me.ProviderCode)
			}
			if strings.Contains(err.Error(), "Trace ID") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q carries Microsoft's trace lines", err)
			}
			if strings.Contains(err.Error()+me.Advice, cfg.ClientSecret) {
				t.Errorf("error or advice shows the secret: %q", err)
			}
			if me.Temporary {
				t.Error("a configuration error is marked temporary")
			}
		})
	}
}
