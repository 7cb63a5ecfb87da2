package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/config"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "trigger.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv(string) string { return "" }

func TestConfigDefaults(t *testing.T) {
	cfg, err := config.Load("", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range cfg.Agencies {
		ids = append(ids, a.ID)
	}
	if strings.Join(ids, ",") != "police,council,housing" || cfg.Threshold.Complaints != 3 || cfg.Slack.ChannelPrefix != "ct-" || cfg.Timescales.FurtherReview != 20 ||
		cfg.Intake.AcksPerSenderHour != 5 || cfg.IMAP.TrustedAuthServID != "" {
		t.Errorf("defaults: %v %+v", ids, cfg)
	}
}

func TestConfigFile(t *testing.T) {
	p := writeConfig(t, `
[slack]
channel_prefix = "asb-"
[roles]
coordinator = "U01"
approvers = ["U02", "U03"]
[[agency]]
id = "police"
name = "Leicestershire Police"
aliases = ["police", "leicestershire police"]
[[agency]]
id = "fire"
name = "Fire and Rescue"
[calendar]
extra_holidays = ["2026-12-24"]
[imap]
poll_interval = "30s"
`)
	cfg, err := config.Load(p, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Slack.ChannelPrefix != "asb-" || !cfg.Roles.Coordinator.Has("U01") || !cfg.Roles.Approvers.Has("U03") || len(cfg.Agencies) != 2 || cfg.IMAP.PollInterval.Seconds() != 30 {
		t.Errorf("%+v", cfg)
	}
	if !cfg.WorkingCalendar().IsHoliday(casefile.MustDate("2026-12-24")) {
		t.Error("extra holiday not applied")
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"[[agency]]\nid = \"police\"\nname = \"A\"\n[[agency]]\nid = \"council\"\nname = \"B\"\n[[agency]]\nid = \"police\"\nname = \"C\"\n", `agency[2].id: duplicate "police"`},
		{"[imap]\nadress = \"x\"\n", "imap.adress: unknown key"},
		{"[threshold]\ncomplaints = 5\n", "threshold.complaints: 5: the law allows 1 to 3"},
		{"[threshold]\ncomplaints = \"three\"\n", "threshold.complaints"},
		{"[imap]\ntls = \"maybe\"\n", `imap.tls: "maybe" is not one of implicit, starttls, none`},
		{"[imap]\npoll_interval = \"soon\"\n", "poll_interval"},
		{"[timescales]\nresponse = 0\n", "timescales.response"},
		{"[calendar]\nextra_holidays = [\"24/12/2026\"]\n", "calendar.extra_holidays[0]"},
		{"[slack]\nchannel_prefix = \"CT \"\n", "slack.channel_prefix"},
		{"[smtp\n", "line 2"},
		{"[imap]\nauth = \"token\"\n", `imap.auth: "token" is not one of password, oauth2`},
		{"[smtp]\nauth = \"xoauth2\"\n", `smtp.auth: "xoauth2" is not one of password, oauth2`},
		{"[smtp]\naddress = \"smtp.office365.com:587\"\nauth = \"oauth2\"\n", `smtp.username: required when smtp.auth = "oauth2"`},
		{"[imap]\nauth = \"oauth2\"\n[oauth2]\nprovider = \"\"\n", `oauth2.provider: required when imap.auth = "oauth2"`},
		{"[smtp]\nauth = \"oauth2\"\n[oauth2]\nprovider = \"\"\n", `oauth2.provider: required when smtp.auth = "oauth2"`},
		{"[imap]\nauth = \"oauth2\"\n[oauth2]\nprovider = \"yahoo\"\n", `oauth2.provider: "yahoo" is not one of microsoft, google, custom`},
		{"[oauth2]\ntennant = \"contoso\"\n", "oauth2.tennant: unknown key"},
		{"[oauth2]\nclient_secret = \"Qx8Q~abc\"\n", "oauth2.client_secret: a secret is never read from the file: set TRIGGER_OAUTH2_CLIENT_SECRET"},
		{"[imap]\npassword = \"hunter2\"\n", "imap.password: a secret is never read from the file: set TRIGGER_IMAP_PASSWORD"},
		{"[imap]\ntrusted_authserv_id = \"mx.example; dmarc=pass\"\n", "imap.trusted_authserv_id"},
		{"[intake]\nacks_per_sender_hour = -1\n", "intake.acks_per_sender_hour: must be 0 or more"},
		{"[intake]\nform_senders = [\"Council Forms <forms@example.org>\"]\n", "intake.form_senders[0]"},
	} {
		_, err := config.Load(writeConfig(t, tc.body), noEnv)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %q: error %v, want it to say %q", tc.body, err, tc.want)
		}
	}
}

func TestConfigSecrets(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "imap")
	os.WriteFile(secretFile, []byte("hunter2\n"), 0o600)
	env := map[string]string{"TRIGGER_SLACK_BOT_TOKEN": "xoxb-1", "TRIGGER_IMAP_PASSWORD_FILE": secretFile}
	cfg, err := config.Load("", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Secrets.SlackBotToken != "xoxb-1" || cfg.Secrets.IMAPPassword != "hunter2" {
		t.Errorf("secrets %+v", cfg.Secrets)
	}
	env["TRIGGER_SMTP_PASSWORD_FILE"] = "/nonexistent/secret"
	if _, err := config.Load("", func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "TRIGGER_SMTP_PASSWORD_FILE") {
		t.Errorf("unreadable secret file: %v", err)
	}
}

// TestConfigOAuth2 reads the [oauth2] section as issue 12 writes it, and its
// three secrets from the environment or the files it names.
func TestConfigOAuth2(t *testing.T) {
	p := writeConfig(t, `
[imap]
address = "outlook.office365.com:993"
username = "communitytrigger@example-council.gov.uk"
auth = "oauth2"
[smtp]
address = "smtp.office365.com:587"
username = "communitytrigger@example-council.gov.uk"
auth = "oauth2"
[oauth2]
provider = "microsoft"
flow = "client_credentials"
tenant = "example-council.gov.uk"
client_id = "00000000-1111-2222-3333-444444444444"
token_url = ""
scopes = []
subject = ""
`)
	dir := t.TempDir()
	pem := filepath.Join(dir, "cert.pem")
	os.WriteFile(pem, []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), 0o600)
	env := map[string]string{
		"TRIGGER_OAUTH2_CLIENT_SECRET":    "Qx8Q~value",
		"TRIGGER_OAUTH2_CERTIFICATE_FILE": pem,
		"TRIGGER_OAUTH2_SERVICE_ACCOUNT":  `{"type": "service_account"}`,
	}
	cfg, err := config.Load(p, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.UsesOAuth2() || cfg.IMAP.Auth != casefile.AuthOAuth2 || cfg.SMTP.Auth != casefile.AuthOAuth2 {
		t.Errorf("auth: imap %q smtp %q", cfg.IMAP.Auth, cfg.SMTP.Auth)
	}
	o := cfg.OAuth2
	if o.Provider != "microsoft" || o.Flow != "client_credentials" || o.Tenant != "example-council.gov.uk" || o.ClientID != "00000000-1111-2222-3333-444444444444" || len(o.Scopes) != 0 {
		t.Errorf("[oauth2] %+v", o)
	}
	s := cfg.Secrets
	if s.OAuth2ClientSecret != "Qx8Q~value" || !strings.HasPrefix(s.OAuth2Certificate, "-----BEGIN CERTIFICATE-----") || !strings.HasSuffix(s.OAuth2Certificate, "-----END CERTIFICATE-----") || s.OAuth2ServiceAccount != `{"type": "service_account"}` {
		t.Errorf("secrets %+v", s)
	}

	t.Run("Defaults", func(t *testing.T) {
		cfg, err := config.Load("", noEnv)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.UsesOAuth2() || cfg.IMAP.Auth != casefile.AuthPassword || cfg.SMTP.Auth != casefile.AuthPassword || cfg.OAuth2.Provider != "microsoft" || cfg.OAuth2.Flow != "client_credentials" {
			t.Errorf("defaults: imap %q smtp %q oauth2 %+v", cfg.IMAP.Auth, cfg.SMTP.Auth, cfg.OAuth2)
		}
	})
	t.Run("ErrUnreadableFile", func(t *testing.T) {
		env := map[string]string{"TRIGGER_OAUTH2_SERVICE_ACCOUNT_FILE": filepath.Join(dir, "missing.json")}
		_, err := config.Load("", func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), "TRIGGER_OAUTH2_SERVICE_ACCOUNT_FILE") {
			t.Errorf("unreadable key file: %v", err)
		}
	})
}

// TestExampleConfig: the example a partnership starts from loads as it is.
func TestExampleConfig(t *testing.T) {
	cfg, err := config.Load("../../examples/trigger.toml", func(string) string { return "" })
	if err != nil {
		t.Fatalf("examples/trigger.toml: %v", err)
	}
	if len(cfg.Agencies) != 3 || cfg.Agencies[2].Email == "" || cfg.IMAP.Address == "" || len(cfg.Roles.Coordinator) != 1 ||
		cfg.IMAP.TrustedAuthServID == "" || !cfg.Intake.IsFormSender("noreply@forms.example-council.gov.uk") {
		t.Fatalf("examples/trigger.toml read as %+v", cfg)
	}
}

// TestConfigTransport: mail and the Slack token never cross a network in
// clear; a loopback address is the one exception (a local relay, tests).
func TestConfigTransport(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"[imap]\naddress = \"mail.example-council.gov.uk:143\"\ntls = \"none\"\nusername = \"ct\"\n", "imap.tls"},
		{"[smtp]\naddress = \"10.0.0.5:25\"\ntls = \"none\"\n", "smtp.tls"},
		{"[slack]\napi_url = \"http://proxy.example-council.gov.uk/api/\"\n", "slack.api_url"},
		{"[slack]\napi_url = \"http://user:secret@proxy.example/api/\"\n", "slack.api_url"},
		{"[imap]\naddress = \"127.0.0.1:1143\"\ntls = \"none\"\nusername = \"ct\"\n[smtp]\naddress = \"localhost:2525\"\ntls = \"none\"\n[slack]\napi_url = \"http://[::1]:9000/api/\"\n", ""},
	} {
		_, err := config.Load(writeConfig(t, tc.body), noEnv)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q refused: %v", tc.body, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: %v, want an error naming %s", tc.body, err, tc.want)
		}
	}
}

func TestConfigOutbox(t *testing.T) {
	p := writeConfig(t, `
[roles]
coordinator = "U01"
coordinator_email = "sam.patel@example-council.gov.uk"
[outbox]
give_up_after = "72h"
`)
	cfg, err := config.Load(p, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Outbox.GiveUpAfter.Hours() != 72 || strings.Join(cfg.CoordinatorEmails(), ",") != "sam.patel@example-council.gov.uk" {
		t.Errorf("outbox %+v, coordinator emails %v", cfg.Outbox, cfg.CoordinatorEmails())
	}
	_, err = config.Load(writeConfig(t, "[outbox]\ngive_up_after = \"10m\"\n"), noEnv)
	if err == nil || !strings.Contains(err.Error(), "outbox.give_up_after: 10m0s: must be at least 1h") {
		t.Errorf("give_up_after 10m: %v", err)
	}
}
