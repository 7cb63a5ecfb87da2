package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// newCaseWithEndedAck opens a case with `case add` and ends its
// acknowledgement as a mail server's 550 would; it returns the database
// path and the case reference.
func newCaseWithEndedAck(t *testing.T, dir string) (string, string) {
	t.Helper()
	app, err := os.ReadFile("../../examples/application.json")
	if err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t, dir, string(app), nil, "case", "add", "--json", "-")
	if code != 0 {
		t.Fatalf("case add: %d %q", code, stderr)
	}
	ref := strings.TrimSpace(out)
	path := filepath.Join(dir, "trigger.db")
	s, err := sqlite.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	jobs, err := s.ClaimJobs(ctx, casefile.JobEmailAck, 1, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim the acknowledgement: %+v %v", jobs, err)
	}
	if err := s.EndJob(ctx, jobs[0], casefile.EndPermanent, errors.New("smtp: RCPT TO: the recipient was refused: SMTP error 550: 5.1.1 <lucy.fielding@example.net>: no such user")); err != nil {
		t.Fatal(err)
	}
	return path, ref
}

// TestOutboxCommands: `outbox list` shows what is not done, `--dead` the
// jobs that ended and why (no address in the error), `--json` the same as
// objects; `outbox retry` puts an ended job back, recorded with --by.
func TestOutboxCommands(t *testing.T) {
	dir := t.TempDir()
	_, ref := newCaseWithEndedAck(t, dir)

	code, out, stderr := run(t, dir, "", nil, "outbox", "list", "--dead", "--json")
	if code != 0 {
		t.Fatalf("outbox list --dead --json: %d %s", code, stderr)
	}
	var dead []map[string]any
	if err := json.Unmarshal([]byte(out), &dead); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(dead) != 1 {
		t.Fatalf("%d dead jobs, want the acknowledgement:\n%s", len(dead), out)
	}
	j := dead[0]
	for _, key := range []string{"id", "case", "kind", "state", "attempts", "first_error_at", "last_error", "next_run", "ended_at", "end_reason"} {
		if _, ok := j[key]; !ok {
			t.Errorf("outbox list --json lacks %q: %v", key, j)
		}
	}
	if j["case"] != ref || j["kind"] != "email.ack" || j["state"] != "dead" || j["end_reason"] != "permanent" || j["attempts"] != float64(1) ||
		j["next_run"] != nil || j["first_error_at"] == nil {
		t.Errorf("dead job %v", j)
	}
	if strings.Contains(out, "lucy.fielding") || !strings.Contains(j["last_error"].(string), "<address>") {
		t.Errorf("the error keeps the address: %v", j["last_error"])
	}
	id := fmt.Sprint(j["id"])

	// The default list: the ended acknowledgement, and the notice that
	// tells the coordinator, and the channel, both pending.
	code, out, _ = run(t, dir, "", nil, "outbox", "list")
	if code != 0 || !strings.Contains(out, "email.ack") || !strings.Contains(out, "dead (permanent)") || !strings.Contains(out, "slack.notify") ||
		!strings.Contains(out, "the mail server refused") && !strings.Contains(out, "550") {
		t.Errorf("outbox list: %d\n%s", code, out)
	}

	// Retry: pending again, now, recorded as the administrator.
	code, out, stderr = run(t, dir, "", nil, "outbox", "retry", id, "--by", "Sam Patel")
	if code != 0 || !strings.Contains(out, "job "+id+" ("+ref+", email.ack): pending, to run now") {
		t.Fatalf("outbox retry: %d %q %q", code, out, stderr)
	}
	code, out, _ = run(t, dir, "", nil, "outbox", "list", "--dead")
	if code != 0 || strings.TrimSpace(out) != "no ended jobs" {
		t.Errorf("outbox list --dead after the retry: %d %q", code, out)
	}
	code, out, _ = run(t, dir, "", nil, "case", "events", ref, "--json")
	if code != 0 || !strings.Contains(out, `"job.retried"`) || !strings.Contains(out, `"Sam Patel"`) {
		t.Errorf("case events after the retry: %d\n%s", code, out)
	}

	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"outbox", "retry"}, 2, "give the IDs"},
		{[]string{"outbox", "retry", id, "--all-dead"}, 2, "not both"},
		{[]string{"outbox", "retry", "x12"}, 2, `"x12" is not a job ID`},
		{[]string{"outbox", "retry", "9999"}, 1, "no outbox job 9999"},
		{[]string{"outbox", "retry", "--all-dead", "--by", ""}, 2, "--by NAME is required"},
		{[]string{"outbox", "list", "--stuck"}, 2, "flag provided but not defined"},
	} {
		code, _, stderr := run(t, dir, "", nil, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.err) {
			t.Errorf("%v: %d %q, want %d and %q", tc.args, code, stderr, tc.code, tc.err)
		}
	}
	code, out, _ = run(t, dir, "", nil, "outbox", "retry", "--all-dead")
	if code != 0 || !strings.Contains(out, "nothing to retry") {
		t.Errorf("outbox retry --all-dead with none: %d %q", code, out)
	}
}
