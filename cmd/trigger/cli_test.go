package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
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

// exampleApplication is examples/application.json (README's example, made
// on 12 October 2026) with its complaints moved by as many days as today is
// after that day, so that they are as recent as they were then.
func exampleApplication(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../examples/application.json")
	if err != nil {
		t.Fatal(err)
	}
	var app map[string]any
	if err := json.Unmarshal(b, &app); err != nil {
		t.Fatal(err)
	}
	days := int(math.Round(casefile.DateOf(time.Now()).Time().Sub(casefile.MustDate("2026-10-12").Time()).Hours() / 24))
	for _, in := range app["incidents"].([]any) {
		for _, k := range []string{"occurred_on", "reported_on"} {
			in.(map[string]any)[k] = casefile.MustDate(in.(map[string]any)[k].(string)).AddDays(days).String()
		}
	}
	b, err = json.Marshal(app)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCaseCommands(t *testing.T) {
	dir := t.TempDir()
	app := exampleApplication(t)
	code, out, stderr := run(t, dir, app, nil, "case", "add", "--json", "-")
	ref := strings.TrimSpace(out)
	if code != 0 || !regexp.MustCompile(`^CT-\d{4}-0001$`).MatchString(ref) {
		t.Fatalf("case add: %d %q %q", code, out, stderr)
	}
	code, out, _ = run(t, dir, "", nil, "case", "list")
	if code != 0 || !strings.Contains(out, ref+"  received") {
		t.Errorf("case list: %d\n%s", code, out)
	}

	code, out, _ = run(t, dir, "", nil, "case", "show", ref, "--json")
	var c map[string]any
	if err := json.Unmarshal([]byte(out), &c); code != 0 || err != nil {
		t.Fatalf("case show --json: %d %v\n%s", code, err, out)
	}
	// Filed now, so received now: the reference has the year it is in
	// London at that instant.
	received, err := time.Parse(time.RFC3339, c["received_at"].(string))
	if want := fmt.Sprintf("CT-%d-0001", casefile.DateOf(received).Year); err != nil || ref != want {
		t.Errorf("case received at %v (%v) is %s, want %s", c["received_at"], err, ref, want)
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

	code, out, _ = run(t, dir, "", nil, "case", "decide", ref, "met", "--by", "Sam Patel", "--reason", "three complaints")
	if code != 0 || !strings.Contains(out, "threshold met, recorded") {
		t.Errorf("decide: %d %q", code, out)
	}
	code, out, _ = run(t, dir, "", nil, "case", "decide", ref, "met", "--by", "Sam Patel")
	if code != 0 || !strings.Contains(out, "already decided") {
		t.Errorf("second decide: %d %q", code, out)
	}
	code, out, _ = run(t, dir, "", nil, "case", "events", ref)
	if code != 0 || !strings.Contains(out, "case.created") || !strings.Contains(out, "threshold.decided") || !strings.Contains(out, "Sam Patel") {
		t.Errorf("events: %d\n%s", code, out)
	}

	code, out, _ = run(t, dir, app, nil, "case", "add", "--json", "-")
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
		{"", []string{"case", "decide", ref, "not-met", "--by", "X", "--reason", "changed mind"}, 1, "already decided"},
		{"", []string{"case", "decide", ref, "not-met", "--by", "X"}, 2, "reason: a decision that the threshold is not met needs its reason"},
		{"", []string{"case", "decide", ref, "met"}, 2, "--by NAME is required"},
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
