package mailauth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
)

// Providers.
const (
	Microsoft = "microsoft"
	Google    = "google"
	Custom    = "custom"
)

// Flows.
const (
	ClientCredentials = "client_credentials" // app-only: the service's own credentials
	DeviceCode        = "device_code"        // delegated: a person signs in once (Microsoft)
)

// The default endpoints and scopes.
const (
	MicrosoftBaseURL = "https://login.microsoftonline.com"
	GoogleTokenURL   = "https://oauth2.googleapis.com/token"

	// MicrosoftAppScope is the app-only scope for IMAP and SMTP
	// (IMAP.AccessAsApp, SMTP.SendAsApp granted to the app).
	MicrosoftAppScope = "https://outlook.office365.com/.default"
	// MicrosoftGraphScope is the app-only scope for Microsoft Graph's mail
	// ([mail] source or sender = "graph"): the app's roles on the mailbox
	// come from Exchange's RBAC for Applications, not from consent.
	MicrosoftGraphScope = "https://graph.microsoft.com/.default"
	// The delegated scopes; offline_access brings a refresh token.
	MicrosoftIMAPScope    = "https://outlook.office.com/IMAP.AccessAsUser.All"
	MicrosoftSMTPScope    = "https://outlook.office.com/SMTP.Send"
	MicrosoftOfflineScope = "offline_access"
	GoogleMailScope       = "https://mail.google.com/"
)

// Config says how to get tokens: the [oauth2] section of the configuration
// and its secrets. One Config (and one Source) serves IMAP and SMTP: the
// default scopes cover both.
type Config struct {
	Provider string   `toml:"provider"` // microsoft, google, custom
	Flow     string   `toml:"flow"`     // client_credentials (default), device_code (microsoft)
	Tenant   string   `toml:"tenant"`   // microsoft: the tenant id or domain
	ClientID string   `toml:"client_id"`
	TokenURL string   `toml:"token_url"` // custom: the token endpoint
	Scopes   []string `toml:"scopes"`    // default per provider and flow
	Subject  string   `toml:"subject"`   // google: the mailbox the service account acts for

	// Secrets (TRIGGER_OAUTH2_CLIENT_SECRET, _CERTIFICATE, _SERVICE_ACCOUNT):
	// never printed. CertificatePEM holds the certificate and its private
	// key; ServiceAccountJSON is Google's key file.
	ClientSecret       string `toml:"-"`
	CertificatePEM     string `toml:"-"`
	ServiceAccountJSON string `toml:"-"`

	// BaseURL replaces https://login.microsoftonline.com (microsoft) or the
	// service account's token endpoint (google): tests point it at
	// oauthemu.
	BaseURL string `toml:"-"`
}

// String shows the configuration with its secrets masked.
func (c Config) String() string {
	return fmt.Sprintf("oauth2{provider=%s flow=%s tenant=%s client_id=%s token_url=%s scopes=%v subject=%s client_secret=%s certificate=%s service_account=%s}",
		c.Provider, c.flow(), c.Tenant, c.ClientID, c.TokenURL, c.Scopes, c.Subject,
		mask(c.ClientSecret), mask(c.CertificatePEM), mask(c.ServiceAccountJSON))
}

// GoString is String, so %#v masks the secrets too.
func (c Config) GoString() string { return c.String() }

// LogValue logs the configuration with its secrets masked.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("provider", c.Provider), slog.String("flow", c.flow()),
		slog.String("tenant", c.Tenant), slog.String("client_id", c.ClientID),
		slog.String("token_url", c.TokenURL), slog.Any("scopes", c.Scopes),
		slog.String("subject", c.Subject),
		slog.String("client_secret", mask(c.ClientSecret)),
		slog.String("certificate", mask(c.CertificatePEM)),
		slog.String("service_account", mask(c.ServiceAccountJSON)),
	)
}

func mask(secret string) string {
	if secret == "" {
		return "(not set)"
	}
	return "(set)"
}

func (c Config) flow() string {
	if c.Flow == "" {
		return ClientCredentials
	}
	return c.Flow
}

// Validate checks the combination and names the missing or wrong key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("oauth2.%s: "+format, append([]any{key}, args...)...))
	}
	flow := c.flow()
	switch flow {
	case ClientCredentials, DeviceCode:
	default:
		bad("flow", "%q is not one of %s, %s", c.Flow, ClientCredentials, DeviceCode)
	}
	switch c.Provider {
	case Microsoft:
		if c.Tenant == "" {
			bad("tenant", "required for provider %q", c.Provider)
		} else if strings.ContainsAny(c.Tenant, "/?#% ") {
			bad("tenant", "%q is not a tenant id or domain", c.Tenant)
		}
		if c.ClientID == "" {
			bad("client_id", "required for provider %q", c.Provider)
		}
		if flow == ClientCredentials {
			switch {
			case c.ClientSecret == "" && c.CertificatePEM == "":
				errs = append(errs, errors.New("oauth2: provider \"microsoft\" with flow client_credentials needs TRIGGER_OAUTH2_CLIENT_SECRET or TRIGGER_OAUTH2_CERTIFICATE"))
			case c.ClientSecret != "" && c.CertificatePEM != "":
				errs = append(errs, errors.New("oauth2: set TRIGGER_OAUTH2_CLIENT_SECRET or TRIGGER_OAUTH2_CERTIFICATE, not both"))
			case c.CertificatePEM != "":
				if _, err := parseCertificate(c.CertificatePEM); err != nil {
					errs = append(errs, fmt.Errorf("oauth2: TRIGGER_OAUTH2_CERTIFICATE: %w", err))
				}
			}
		}
		if c.TokenURL != "" {
			bad("token_url", "only for provider %q; microsoft's is derived from oauth2.tenant", Custom)
		}
	case Google:
		if flow != ClientCredentials {
			bad("flow", "provider %q signs in with a service account: flow %q", c.Provider, ClientCredentials)
		}
		if c.Subject == "" {
			bad("subject", "required for provider %q: the mailbox the service account acts for", c.Provider)
		}
		if c.ServiceAccountJSON == "" {
			errs = append(errs, errors.New("oauth2: provider \"google\" needs TRIGGER_OAUTH2_SERVICE_ACCOUNT (the service account's JSON key)"))
		} else if _, err := parseServiceAccount(c.ServiceAccountJSON); err != nil {
			errs = append(errs, fmt.Errorf("oauth2: TRIGGER_OAUTH2_SERVICE_ACCOUNT: %w", err))
		}
	case Custom:
		if flow != ClientCredentials {
			bad("flow", "provider %q supports flow %q only", c.Provider, ClientCredentials)
		}
		if c.TokenURL == "" {
			bad("token_url", "required for provider %q", c.Provider)
		} else if u, err := url.Parse(c.TokenURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("token_url", "%q is not an http(s) URL", c.TokenURL)
		}
		if c.ClientID == "" {
			bad("client_id", "required for provider %q", c.Provider)
		}
		if c.ClientSecret == "" {
			errs = append(errs, errors.New("oauth2: provider \"custom\" needs TRIGGER_OAUTH2_CLIENT_SECRET"))
		}
	case "":
		bad("provider", "required: one of %s, %s, %s", Microsoft, Google, Custom)
	default:
		bad("provider", "%q is not one of %s, %s, %s", c.Provider, Microsoft, Google, Custom)
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || u.Host == "" {
			errs = append(errs, fmt.Errorf("oauth2: base URL %q is not a URL", c.BaseURL))
		}
	}
	return errors.Join(errs...)
}

// DefaultScopes are the scopes asked for when Config.Scopes is empty, for
// signing in to the given protocols (both when none is named): Microsoft
// app-only https://outlook.office365.com/.default; Microsoft delegated
// IMAP.AccessAsUser.All and/or SMTP.Send with offline_access (one token
// serves both: they are scopes of one resource); Google
// https://mail.google.com/; custom none (no scope parameter is sent).
func (c Config) DefaultScopes(protocols ...Protocol) []string {
	switch c.Provider {
	case Microsoft:
		if c.flow() == ClientCredentials {
			return []string{MicrosoftAppScope}
		}
		if len(protocols) == 0 {
			protocols = []Protocol{IMAP, SMTP}
		}
		var s []string
		for _, p := range []Protocol{IMAP, SMTP} {
			if !slices.Contains(protocols, p) {
				continue
			}
			if p == IMAP {
				s = append(s, MicrosoftIMAPScope)
			} else {
				s = append(s, MicrosoftSMTPScope)
			}
		}
		return append(s, MicrosoftOfflineScope)
	case Google:
		return []string{GoogleMailScope}
	default:
		return nil
	}
}

func (c Config) scopes(protocols []Protocol) []string {
	if len(c.Scopes) > 0 {
		return c.Scopes
	}
	return c.DefaultScopes(protocols...)
}

// Endpoint returns the token endpoint the configuration uses, and for the
// device code flow the device authorization endpoint.
func (c Config) Endpoint() (tokenURL, deviceURL string) {
	switch c.Provider {
	case Microsoft:
		base := strings.TrimRight(c.BaseURL, "/")
		if base == "" {
			base = MicrosoftBaseURL
		}
		root := base + "/" + url.PathEscape(c.Tenant) + "/oauth2/v2.0/"
		return root + "token", root + "devicecode"
	case Google:
		if c.BaseURL != "" {
			return strings.TrimRight(c.BaseURL, "/") + "/token", ""
		}
		if sa, err := parseServiceAccount(c.ServiceAccountJSON); err == nil && sa.TokenURI != "" {
			return sa.TokenURI, ""
		}
		return GoogleTokenURL, ""
	default:
		return c.TokenURL, ""
	}
}
