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
