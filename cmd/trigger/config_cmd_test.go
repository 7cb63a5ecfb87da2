package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csp/trigger/internal/oauthemu"
)

func writeTOML(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "trigger.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigCheckOAuth: every combination of [imap]/[smtp] auth, [oauth2]
// and its secrets that cannot work is refused by every command, naming the
// key or the variable; a good one is printed with every secret masked.
func TestConfigCheckOAuth(t *testing.T) {
	certPEM, _, err := oauthemu.NewCertificate(24 * 60 * 60 * 1e9)
	if err != nil {
		t.Fatal(err)
	}
	keyJSON, _, err := oauthemu.NewServiceAccountKey("trigger@council.iam.gserviceaccount.com", "https://oauth2.googleapis.com/token")
	if err != nil {
		t.Fatal(err)
	}
	const imapOAuth = "[imap]\naddress = \"outlook.office365.com:993\"\nusername = \"ct@example-council.gov.uk\"\nauth = \"oauth2\"\n"
	secret := map[string]string{"TRIGGER_OAUTH2_CLIENT_SECRET": "Qx8Q~value"}
	for _, tc := range []struct {
		name, body string
		env        map[string]string
		want       string
	}{
		{"NoTenant", imapOAuth + "[oauth2]\nclient_id = \"app\"\n", secret, "oauth2.tenant: required for provider \"microsoft\""},
		{"NoClientID", imapOAuth + "[oauth2]\ntenant = \"example-council.gov.uk\"\n", secret, "oauth2.client_id: required for provider \"microsoft\""},
		{"NoSecret", imapOAuth + "[oauth2]\ntenant = \"t\"\nclient_id = \"app\"\n", nil, "needs TRIGGER_OAUTH2_CLIENT_SECRET or TRIGGER_OAUTH2_CERTIFICATE"},
		{"SecretAndCertificate", imapOAuth + "[oauth2]\ntenant = \"t\"\nclient_id = \"app\"\n",
			map[string]string{"TRIGGER_OAUTH2_CLIENT_SECRET": "x", "TRIGGER_OAUTH2_CERTIFICATE": certPEM}, "not both"},
		{"BadCertificate", imapOAuth + "[oauth2]\ntenant = \"t\"\nclient_id = \"app\"\n",
			map[string]string{"TRIGGER_OAUTH2_CERTIFICATE": "-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n"}, "TRIGGER_OAUTH2_CERTIFICATE"},
		{"BadFlow", imapOAuth + "[oauth2]\ntenant = \"t\"\nclient_id = \"app\"\nflow = \"password\"\n", secret, "oauth2.flow: \"password\" is not one of client_credentials, device_code"},
		{"DeviceCodeOnlyMicrosoft", imapOAuth + "[oauth2]\nprovider = \"google\"\nflow = \"device_code\"\nsubject = \"ct@example.org\"\n",
			map[string]string{"TRIGGER_OAUTH2_SERVICE_ACCOUNT": keyJSON}, "oauth2.flow: provider \"google\" signs in with a service account"},
		{"GoogleNoSubject", imapOAuth + "[oauth2]\nprovider = \"google\"\n", map[string]string{"TRIGGER_OAUTH2_SERVICE_ACCOUNT": keyJSON}, "oauth2.subject: required for provider \"google\""},
		{"GoogleNoKey", imapOAuth + "[oauth2]\nprovider = \"google\"\nsubject = \"ct@example.org\"\n", nil, "needs TRIGGER_OAUTH2_SERVICE_ACCOUNT"},
		{"GoogleBadKey", imapOAuth + "[oauth2]\nprovider = \"google\"\nsubject = \"ct@example.org\"\n", map[string]string{"TRIGGER_OAUTH2_SERVICE_ACCOUNT": "{\"type\": \"x\"}"}, "TRIGGER_OAUTH2_SERVICE_ACCOUNT"},
		{"CustomNoTokenURL", imapOAuth + "[oauth2]\nprovider = \"custom\"\nclient_id = \"app\"\n", secret, "oauth2.token_url: required for provider \"custom\""},
		{"CustomDeviceCode", imapOAuth + "[oauth2]\nprovider = \"custom\"\nclient_id = \"app\"\ntoken_url = \"https://idp.example/token\"\nflow = \"device_code\"\n", secret, "oauth2.flow: provider \"custom\" supports flow \"client_credentials\" only"},
		{"TokenURLNotForMicrosoft", imapOAuth + "[oauth2]\ntenant = \"t\"\nclient_id = \"app\"\ntoken_url = \"https://login.example/token\"\n", secret, "oauth2.token_url: only for provider \"custom\""},
		{"SMTPMailbox", "[smtp]\naddress = \"smtp.office365.com:587\"\nauth = \"oauth2\"\n[oauth2]\ntenant = \"t\"\nclient_id = \"app\"\n", secret, "smtp.username: required when smtp.auth = \"oauth2\""},
		{"NoProvider", imapOAuth + "[oauth2]\nprovider = \"\"\n", secret, "oauth2.provider: required when imap.auth = \"oauth2\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, cmd := range [][]string{{"config", "check"}, {"mail", "check"}, {"case", "list"}} {
				code, out, stderr := run(t, dir, "", tc.env, append([]string{"--config", writeTOML(t, tc.body)}, cmd...)...)
				if code == 0 || !strings.Contains(stderr, tc.want) {
					t.Errorf("%s: exit %d, stderr %q; want it to say %q\n%s", strings.Join(cmd, " "), code, stderr, tc.want, out)
				}
				for _, v := range tc.env {
					if len(v) > 8 && strings.Contains(out+stderr, v) {
						t.Errorf("%s printed a secret", strings.Join(cmd, " "))
					}
				}
			}
		})
	}

	t.Run("MasksSecrets", func(t *testing.T) {
		p := writeTOML(t, `[imap]
address = "outlook.office365.com:993"
username = "ct@example-council.gov.uk"
auth = "oauth2"
[oauth2]
provider = "custom"
client_id = "app"
token_url = "https://tokenuser:tokenpass@idp.example/oauth2/token"
[slack]
api_url = "https://proxyuser:proxypass@proxy.example-council.gov.uk/slack/api/"
`)
		env := map[string]string{"TRIGGER_OAUTH2_CLIENT_SECRET": "Qx8Q~the-secret-value", "TRIGGER_SLACK_BOT_TOKEN": "xoxb-the-bot-token"}
		code, out, stderr := run(t, t.TempDir(), "", env, "--config", p, "config", "check")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, secret := range []string{"Qx8Q~the-secret-value", "xoxb-the-bot-token", "tokenpass", "proxypass", "tokenuser", "proxyuser"} {
			if strings.Contains(out, secret) {
				t.Errorf("config check printed %q:\n%s", secret, out)
			}
		}
		for _, want := range []string{
			`token_url = "https://xxxxx@idp.example/oauth2/token"`,
			`api_url = "https://xxxxx@proxy.example-council.gov.uk/slack/api/"`,
			`auth = "oauth2"`, `provider = "custom"`,
			"# TRIGGER_OAUTH2_CLIENT_SECRET = (set, 21 characters)",
			"# TRIGGER_OAUTH2_CERTIFICATE = (not set)",
			"# TRIGGER_OAUTH2_SERVICE_ACCOUNT = (not set)",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("config check lacks %q:\n%s", want, out)
			}
		}
	})
}
