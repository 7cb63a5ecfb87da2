package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run runs the trigger command with its database in dir and returns the
// exit status, standard output and standard error.
func run(t *testing.T, dir, stdin string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	code := m.Run(context.Background(), append([]string{"--db", filepath.Join(dir, "trigger.db")}, args...))
	return code, out.String(), errb.String()
}

func TestCaseCommands(t *testing.T) {
	dir := t.TempDir()
	app, err := os.ReadFile("../../examples/application.json")
	if err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t, dir, string(app), nil, "case", "add", "--json", "-")
	if code != 0 || strings.TrimSpace(out) != "CT-2026-0001" {
		t.Fatalf("case add: %d %q %q", code, out, stderr)
	}
	code, out, _ = run(t, dir, "", nil, "case", "list")
	if code != 0 || !strings.Contains(out, "CT-2026-0001  received") {
		t.Errorf("case list: %d\n%s", code, out)
	}

	code, out, _ = run(t, dir, "", nil, "case", "show", "CT-2026-0001", "--json")
	var c map[string]any
	if err := json.Unmarshal([]byte(out), &c); code != 0 || err != nil {
		t.Fatalf("case show --json: %d %v\n%s", code, err, out)
	}
	for _, key := range []string{"ref", "status", "route", "received_at", "applicant", "on_behalf_of", "location", "description",
		"vulnerable", "consent_to_share", "incidents", "agencies", "references", "threshold", "deadlines", "messages", "attachments"} {
		if _, ok := c[key]; !ok {
			t.Errorf("case show --json lacks %q", key)
		}
	}
	if c["applicant"].(map[string]any)["postcode"] != "DE12 7HS" || c["on_behalf_of"] != nil {
		t.Errorf("applicant %v, on_behalf_of %v", c["applicant"], c["on_behalf_of"])
	}
	th := c["threshold"].(map[string]any)
	if th["assessment"] != "met" || th["qualifying_complaints"] != float64(3) || th["decision"] != nil {
		t.Errorf("threshold %v", th)
	}

	code, out, _ = run(t, dir, "", nil, "case", "decide", "CT-2026-0001", "met", "--by", "Sam Patel", "--reason", "three complaints")
	if code != 0 || !strings.Contains(out, "threshold met, recorded") {
		t.Errorf("decide: %d %q", code, out)
	}
	code, out, _ = run(t, dir, "", nil, "case", "decide", "CT-2026-0001", "met", "--by", "Sam Patel")
	if code != 0 || !strings.Contains(out, "already decided") {
		t.Errorf("second decide: %d %q", code, out)
	}
	code, out, _ = run(t, dir, "", nil, "case", "events", "CT-2026-0001")
	if code != 0 || !strings.Contains(out, "case.created") || !strings.Contains(out, "threshold.decided") || !strings.Contains(out, "Sam Patel") {
		t.Errorf("events: %d\n%s", code, out)
	}

	code, out, _ = run(t, dir, string(app), nil, "case", "add", "--json", "-")
	second := strings.TrimSpace(out)
	code, out, _ = run(t, dir, "", nil, "case", "withdraw", second, "--by", "Sam Patel", "--reason", "the neighbours moved away")
	if code != 0 || !strings.Contains(out, "withdrawn, recorded") {
		t.Errorf("withdraw: %d %q", code, out)
	}
	code, out, _ = run(t, dir, "", nil, "case", "withdraw", second, "--by", "Sam Patel")
	if code != 0 || !strings.Contains(out, "already withdrawn") {
		t.Errorf("second withdraw: %d %q", code, out)
	}
	if code, out, _ = run(t, dir, "", nil, "case", "list", "--status", "withdrawn"); code != 0 || !strings.Contains(out, second) {
		t.Errorf("list --status withdrawn: %d\n%s", code, out)
	}

	// Errors: the status and the message DESIGN.md gives.
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"", []string{"case", "show", "CT-2026-0099"}, 1, "no case CT-2026-0099"},
		{`{"route": 5}`, []string{"case", "add", "--json", "-"}, 2, "route: expected string"},
		{`{"incidents": [{"occurred_on": "14/09/2026"}]}`, []string{"case", "add", "--json", "-"}, 2, "incidents[0].occurred_on"},
		{`{"aplicant": {}}`, []string{"case", "add", "--json", "-"}, 2, `unknown field "aplicant"`},
		{"", []string{"case", "decide", "CT-2026-0001", "not-met", "--by", "X", "--reason", "changed mind"}, 1, "already decided"},
		{"", []string{"case", "decide", "CT-2026-0001", "not-met", "--by", "X"}, 2, "reason: a decision that the threshold is not met needs its reason"},
		{"", []string{"case", "decide", "CT-2026-0001", "met"}, 2, "--by NAME is required"},
		{"", []string{"case", "frobnicate"}, 2, "unknown command"},
		{"", []string{"case", "show"}, 2, "a case reference like CT-2026-0001 is required"},
	} {
		code, _, stderr := run(t, dir, tc.stdin, nil, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d %q, want %d and %q", tc.args, code, stderr, tc.code, tc.msg)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"TRIGGER_SLACK_BOT_TOKEN": "xoxb-very-secret-token-value"}
	code, out, _ := run(t, dir, "", env, "config", "check")
	if code != 0 || strings.Contains(out, "very-secret") || !strings.Contains(out, "TRIGGER_SLACK_BOT_TOKEN = (set, 28 characters)") {
		t.Errorf("config check: %d\n%s", code, out)
	}
	proxied := filepath.Join(dir, "proxied.toml")
	os.WriteFile(proxied, []byte("[slack]\napi_url = \"https://trigger:proxy-password@proxy.example-council.gov.uk/slack/api/\"\n"), 0o600)
	code, out, _ = run(t, dir, "", nil, "--config", proxied, "config", "check")
	if code != 0 || strings.Contains(out, "proxy-password") || !strings.Contains(out, "proxy.example-council.gov.uk/slack/api/") {
		t.Errorf("config check shows a credential inside a URL: %d\n%s", code, out)
	}
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[[agency]]\nid = \"police\"\nname = \"P\"\n[[agency]]\nid = \"police\"\nname = \"Q\"\n"), 0o600)
	code, _, stderr := run(t, dir, "", nil, "--config", bad, "config", "check")
	if code != 1 || !strings.Contains(stderr, `agency[1].id: duplicate "police"`) {
		t.Errorf("bad config: %d %q", code, stderr)
	}
}
