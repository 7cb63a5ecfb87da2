package mailauth_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/internal/mailauth"
	"github.com/csp/trigger/internal/oauthemu"
)

func TestConfigValidate(t *testing.T) {
	pemText, _, err := oauthemu.NewCertificate(24 * time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := oauthemu.NewServiceAccountKey(serviceAccount, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  mailauth.Config
		want string // "" for valid
	}{
		{"MicrosoftSecret", mailauth.Config{Provider: "microsoft", Tenant: tenant, ClientID: clientID, ClientSecret: secret}, ""},
		{"MicrosoftCertificate", mailauth.Config{Provider: "microsoft", Tenant: tenant, ClientID: clientID, CertificatePEM: pemText}, ""},
		{"MicrosoftDevice", mailauth.Config{Provider: "microsoft", Flow: "device_code", Tenant: tenant, ClientID: clientID}, ""},
		{"Google", mailauth.Config{Provider: "google", Subject: mailbox, ServiceAccountJSON: key}, ""},
		{"Custom", mailauth.Config{Provider: "custom", TokenURL: "https://idp.example/token", ClientID: "c", ClientSecret: "s"}, ""},
		{"NoProvider", mailauth.Config{}, `oauth2.provider: required`},
		{"UnknownProvider", mailauth.Config{Provider: "yahoo"}, `oauth2.provider: "yahoo" is not one of microsoft, google, custom`},
		{"NoTenant", mailauth.Config{Provider: "microsoft", ClientID: clientID, ClientSecret: secret}, `oauth2.tenant: required for provider "microsoft"`},
		{"NoClientID", mailauth.Config{Provider: "microsoft", Tenant: tenant, ClientSecret: secret}, `oauth2.client_id: required for provider "microsoft"`},
		{"NoSecret", mailauth.Config{Provider: "microsoft", Tenant: tenant, ClientID: clientID}, "TRIGGER_OAUTH2_CLIENT_SECRET or TRIGGER_OAUTH2_CERTIFICATE"},
		{"BadCertificate", mailauth.Config{Provider: "microsoft", Tenant: tenant, ClientID: clientID, CertificatePEM: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, "TRIGGER_OAUTH2_CERTIFICATE"},
		{"CertificateWithoutKey", mailauth.Config{Provider: "microsoft", Tenant: tenant, ClientID: clientID, CertificatePEM: pemText[:strings.Index(pemText, "-----BEGIN PRIVATE KEY")]}, "no PRIVATE KEY block"},
		{"UnknownFlow", mailauth.Config{Provider: "microsoft", Flow: "password", Tenant: tenant, ClientID: clientID, ClientSecret: secret}, `oauth2.flow: "password" is not one of`},
		{"GoogleNoSubject", mailauth.Config{Provider: "google", ServiceAccountJSON: key}, `oauth2.subject: required for provider "google"`},
		{"GoogleNoKey", mailauth.Config{Provider: "google", Subject: mailbox}, "TRIGGER_OAUTH2_SERVICE_ACCOUNT"},
		{"GoogleBadKey", mailauth.Config{Provider: "google", Subject: mailbox, ServiceAccountJSON: `{"type":"authorized_user"}`}, `not "service_account"`},
		{"CustomNoTokenURL", mailauth.Config{Provider: "custom", ClientID: "c", ClientSecret: "s"}, `oauth2.token_url: required for provider "custom"`},
		{"CustomBadTokenURL", mailauth.Config{Provider: "custom", TokenURL: "idp.example/token", ClientID: "c", ClientSecret: "s"}, `oauth2.token_url: "idp.example/token" is not an http(s) URL`},
		{"TokenURLNotForMicrosoft", mailauth.Config{Provider: "microsoft", Tenant: tenant, ClientID: clientID, ClientSecret: secret, TokenURL: "https://x/token"}, "oauth2.token_url: only for provider"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate = %v; want valid", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate = %v; want %q", err, tc.want)
			}
			if err != nil && (strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "PRIVATE KEY-----")) {
				t.Errorf("Validate's error shows a secret: %v", err)
			}
		})
	}
}

func TestConfigMasksSecrets(t *testing.T) {
	pemText, _, err := oauthemu.NewCertificate(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cfg := mailauth.Config{Provider: "microsoft", Tenant: tenant, ClientID: clientID, ClientSecret: secret, CertificatePEM: pemText, ServiceAccountJSON: `{"private_key":"k"}`}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "oauth2", cfg)
	for name, text := range map[string]string{
		"%v": fmt.Sprintf("%v", cfg), "%+v": fmt.Sprintf("%+v", cfg), "%#v": fmt.Sprintf("%#v", cfg),
		"%s": fmt.Sprintf("%s", cfg), "String": cfg.String(), "slog": logged.String(),
	} {
		for _, s := range []string{secret, "PRIVATE KEY", "private_key"} {
			if strings.Contains(text, s) {
				t.Errorf("%s shows a secret: %s", name, text)
			}
		}
		if !strings.Contains(text, clientID) || !strings.Contains(text, "(set)") {
			t.Errorf("%s does not show the client id and that the secret is set: %s", name, text)
		}
	}
}

func TestDefaultScopes(t *testing.T) {
	for _, tc := range []struct {
		cfg       mailauth.Config
		protocols []mailauth.Protocol
		want      string
	}{
		{mailauth.Config{Provider: "microsoft"}, nil, "https://outlook.office365.com/.default"},
		{mailauth.Config{Provider: "microsoft", Flow: "client_credentials"}, []mailauth.Protocol{mailauth.SMTP}, "https://outlook.office365.com/.default"},
		{mailauth.Config{Provider: "microsoft", Flow: "device_code"}, nil, "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access"},
		{mailauth.Config{Provider: "microsoft", Flow: "device_code"}, []mailauth.Protocol{mailauth.SMTP}, "https://outlook.office.com/SMTP.Send offline_access"},
		{mailauth.Config{Provider: "google"}, nil, "https://mail.google.com/"},
		{mailauth.Config{Provider: "custom"}, nil, ""},
	} {
		if got := strings.Join(tc.cfg.DefaultScopes(tc.protocols...), " "); got != tc.want {
			t.Errorf("%s/%s %v: %q; want %q", tc.cfg.Provider, tc.cfg.Flow, tc.protocols, got, tc.want)
		}
	}
	tokenURL, deviceURL := mailauth.Config{Provider: "microsoft", Tenant: tenant}.Endpoint()
	if tokenURL != "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token" || deviceURL != "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode" {
		t.Errorf("Microsoft endpoints %s, %s", tokenURL, deviceURL)
	}
	if tokenURL, _ := (mailauth.Config{Provider: "google"}).Endpoint(); tokenURL != "https://oauth2.googleapis.com/token" {
		t.Errorf("Google endpoint %s", tokenURL)
	}
}
