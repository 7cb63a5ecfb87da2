package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/internal/graph"
	"github.com/csp/trigger/internal/mailauth"
)

// oauthConfig is the [oauth2] section with its secrets, as internal/mailauth
// takes it. baseURL replaces Microsoft's login host or Google's token
// endpoint: tests point it at oauthemu; "" in production.
func oauthConfig(cfg *casefile.Config, baseURL string) mailauth.Config {
	o := cfg.OAuth2
	return mailauth.Config{
		Provider: o.Provider, Flow: o.Flow, Tenant: o.Tenant, ClientID: o.ClientID,
		TokenURL: o.TokenURL, Scopes: o.Scopes, Subject: o.Subject,
		ClientSecret:       cfg.Secrets.OAuth2ClientSecret,
		CertificatePEM:     cfg.Secrets.OAuth2Certificate,
		ServiceAccountJSON: cfg.Secrets.OAuth2ServiceAccount,
		BaseURL:            baseURL,
	}
}

// checkOAuth checks the [oauth2] section with its secrets when IMAP or SMTP
// signs in with a token, or Graph reads or sends the mail: the combination, a missing piece by its key, a
// certificate or key file that does not parse. Every command runs it when
// it loads the configuration.
func checkOAuth(cfg *casefile.Config) error {
	if !cfg.UsesOAuth2() && !cfg.UsesGraph() {
		return nil
	}
	if err := oauthConfig(cfg, "").Validate(); err != nil {
		return casefile.Errorf(casefile.EINVALID, "%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return nil
}

// oauthProtocols are the protocols that sign in with a token, which decide
// the delegated scopes: `mail login` and every Source of one configuration
// must ask for the same.
func oauthProtocols(cfg *casefile.Config) []mailauth.Protocol {
	var ps []mailauth.Protocol
	if cfg.IMAP.Auth == casefile.AuthOAuth2 {
		ps = append(ps, mailauth.IMAP)
	}
	if cfg.SMTP.Auth == casefile.AuthOAuth2 {
		ps = append(ps, mailauth.SMTP)
	}
	return ps
}

// tokenStoreName names a device code sign-in in the database: a refresh
// token is only ever tried with the app registration that issued it.
func tokenStoreName(o mailauth.Config) string {
	return o.Provider + "/" + o.Tenant + "/" + o.ClientID
}

// needsTokenStore reports whether the sign-in keeps a refresh token in the
// database (the device code flow).
func needsTokenStore(cfg *casefile.Config) bool {
	return cfg.UsesOAuth2() && cfg.OAuth2.Provider == mailauth.Microsoft && cfg.OAuth2.Flow == mailauth.DeviceCode
}

// newMailSource returns the one token Source of a process (IMAP and SMTP
// share it and its renewals), or nil when neither signs in with a token.
// The device code flow's refresh token lives in the database, store (which
// may be nil for the other flows).
func newMailSource(cfg *casefile.Config, store *sqlite.Store, baseURL string, logger *slog.Logger) (*mailauth.Source, error) {
	if !cfg.UsesOAuth2() {
		return nil, nil
	}
	oc := oauthConfig(cfg, baseURL)
	o := mailauth.Options{Protocols: oauthProtocols(cfg), Logger: logger.With("part", "oauth2")}
	if store != nil {
		o.Store = store.MailTokens(tokenStoreName(oc))
	}
	src, err := mailauth.NewSource(oc, o)
	if err != nil {
		return nil, fmt.Errorf("oauth2: %w", err)
	}
	return src, nil
}

// newGraphSource returns the token Source of Microsoft Graph ([mail] source
// or sender = "graph"), nil when neither is: the app's own credentials of
// [oauth2], for Graph's app-only scope whatever oauth2.scopes says (the
// scopes of IMAP and SMTP are another resource's).
func newGraphSource(cfg *casefile.Config, baseURL string, logger *slog.Logger) (*mailauth.Source, error) {
	if !cfg.UsesGraph() {
		return nil, nil
	}
	oc := oauthConfig(cfg, baseURL)
	oc.Scopes = []string{mailauth.MicrosoftGraphScope}
	src, err := mailauth.NewSource(oc, mailauth.Options{Logger: logger.With("part", "oauth2")})
	if err != nil {
		return nil, fmt.Errorf("oauth2: %w", err)
	}
	return src, nil
}

// newGraphClient is the process's one Graph client: reading and sending
// share it, and with it Graph's limit of 4 requests at once per mailbox.
func newGraphClient(cfg *casefile.Config, src *mailauth.Source, logger *slog.Logger) *graph.Client {
	return &graph.Client{BaseURL: cfg.Graph.APIURL, Tokens: src.OAuth2(), Logger: logger.With("part", "graph")}
}
