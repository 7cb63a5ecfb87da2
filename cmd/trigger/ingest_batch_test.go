//go:build linux

package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/internal/mixedmail"
	"github.com/csp/trigger/mailin"
)

const ingestChildEnv = "TRIGGER_TEST_INGEST_ARGS"

// TestIngestChild is not a test of its own: it is `trigger ingest` in a
// child process, for TestIngestKilledMidway to kill. Run without its
// environment it skips.
func TestIngestChild(t *testing.T) {
	args := os.Getenv(ingestChildEnv)
	if args == "" {
		t.Skip("the child process of TestIngestKilledMidway; runs only when it starts it")
	}
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	if code := m.Run(context.Background(), strings.Split(args, "\n")); code != 0 {
		os.Exit(code)
	}
}

// writeMixedMbox writes a mixed mailbox of n messages (internal/mixedmail:
// applications, follow-ups, automatic replies, bounces, list mail, mail
// delivered twice …) as an mbox file.
func writeMixedMbox(tb testing.TB, path string, n int) *mixedmail.Mailbox {
	tb.Helper()
	mb := mixedmail.Generate(mixedmail.Options{Messages: n, Seed: 11, Year: casefile.DateOf(time.Now()).Year})
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := mixedmail.WriteMbox(f, mb.Inbox); err != nil {
		tb.Fatal(err)
	}
	return mb
}

// caseFile is what a case file holds, to compare two: every message with
// its case, every case, every outbox job, every quarantined message.
func caseFile(tb testing.TB, db string) map[string][]string {
	tb.Helper()
	d, err := sql.Open("sqlite", "file:"+db+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer d.Close()
	out := map[string][]string{}
	for name, q := range map[string]string{
		"messages":    `SELECT m.message_id || ' ' || COALESCE(c.ref, '-') || ' ' || m.kind || ' ' || m.verified FROM messages m LEFT JOIN cases c ON c.id = m.case_id`,
		"cases":       `SELECT ref || ' ' || status || ' ' || intake_sender FROM cases`,
		"outbox":      `SELECT dedupe_key FROM outbox`,
		"quarantine":  `SELECT message_key || ' ' || attempts FROM quarantine`,
		"attachments": `SELECT sha256 FROM attachments`,
	} {
		rows, err := d.Query(q)
		if err != nil {
			tb.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				tb.Fatal(err)
			}
			out[name] = append(out[name], s)
		}
		rows.Close()
		slices.Sort(out[name])
	}
	return out
}

// TestIngestKilledMidway: `trigger ingest` of an mbox, killed (SIGKILL)
// part-way and run again, leaves the case file exactly as one run
// uninterrupted does: every message filed once, every case opened once,
// every acknowledgement queued once, nothing lost.
func TestIngestKilledMidway(t *testing.T) {
	dir := t.TempDir()
	mbox := filepath.Join(dir, "inbox.mbox")
	mb := writeMixedMbox(t, mbox, 3000)

	// The reference: one run, start to end.
	ref := filepath.Join(dir, "ref.db")
	var out, errb bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	if code := m.Run(context.Background(), []string{"--db", ref, "ingest", "--json", mbox}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if n := strings.Count(out.String(), "\n"); n != len(mb.Inbox) {
		t.Fatalf("%d lines of output for %d messages", n, len(mb.Inbox))
	}

	// Killed part-way.
	db := filepath.Join(dir, "trigger.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestIngestChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), ingestChildEnv+"="+strings.Join([]string{"--db", db, "ingest", "--json", mbox}, "\n"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	filed := 0
	for filed < 200 {
		select {
		case err := <-exited:
			t.Fatalf("the child ended (%v) after %d messages, before it could be killed", err, filed)
		case <-time.After(2 * time.Millisecond):
		}
		filed = countRows(t, db, `SELECT count(*) FROM messages`)
	}
	cmd.Process.Kill()
	<-exited
	killedAt := countRows(t, db, `SELECT count(*) FROM messages`)
	if killedAt >= len(mb.Inbox)-mb.Expect()[casefile.OutcomeDuplicate] {
		t.Fatalf("killed after all %d messages were filed: the test proves nothing", killedAt)
	}

	// Run again: what was committed comes back as duplicates, the rest is
	// filed.
	out.Reset()
	if code := m.Run(context.Background(), []string{"--db", db, "ingest", "--json", mbox}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	want, got := caseFile(t, ref), caseFile(t, db)
	for _, table := range []string{"messages", "cases", "outbox", "quarantine", "attachments"} {
		if !slices.Equal(got[table], want[table]) {
			t.Errorf("%s: %d rows after the kill and a second run, %d after one run; they differ", table, len(got[table]), len(want[table]))
		}
	}
	t.Logf("killed with %d of %d messages filed; after the second run the case file is the same as after one run (%d cases, %d messages)",
		killedAt, len(mb.Inbox), len(want["cases"]), len(want["messages"]))
}

func countRows(tb testing.TB, db, q string) int {
	tb.Helper()
	if _, err := os.Stat(db); err != nil {
		return 0
	}
	d, err := sql.Open("sqlite", "file:"+db+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer d.Close()
	var n int
	if err := d.QueryRow(q).Scan(&n); err != nil {
		return 0 // not made yet
	}
	return n
}

// BenchmarkIngestMbox is `trigger ingest` of a 10,000-message mixed mbox
// (internal/mixedmail) into a case file holding its history (1,000 cases,
// acknowledged, some answered): messages/s is the figure, the goal 1,500.
//
//	go test ./cmd/trigger -run '^$' -bench IngestMbox -benchtime 1x
func BenchmarkIngestMbox(b *testing.B) {
	dir := b.TempDir()
	mbox := filepath.Join(dir, "inbox.mbox")
	n := 10000
	cfgPath := filepath.Join(dir, "trigger.toml")
	if err := os.WriteFile(cfgPath, []byte(mixedConfigTOML), 0o600); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		db := filepath.Join(dir, fmt.Sprintf("trigger-%d.db", time.Now().UnixNano()))
		cfg := mixedmail.Config()
		s, err := sqlite.Open(db, &cfg)
		if err != nil {
			b.Fatal(err)
		}
		mb := mixedmail.Generate(mixedmail.Options{Messages: n, Seed: 1, Year: casefile.DateOf(s.Now()).Year})
		if err := mb.Seed(context.Background(), s, (&mailin.Intake{Store: s, Config: &cfg}).IngestBatch); err != nil {
			b.Fatal(err)
		}
		s.Close()
		f, err := os.Create(mbox)
		if err != nil {
			b.Fatal(err)
		}
		if err := mixedmail.WriteMbox(f, mb.Inbox); err != nil {
			b.Fatal(err)
		}
		f.Close()
		// The command runs with what it needs in memory, as in a process
		// of its own: not the generated mailbox.
		want, size := mb.Expect(), mb.Bytes()
		mb = nil
		runtime.GC()
		var out, errb bytes.Buffer
		m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
		b.StartTimer()
		start := time.Now()
		if code := m.Run(context.Background(), []string{"--config", cfgPath, "--db", db, "ingest", "--json", mbox}); code != 0 {
			b.Fatalf("exit %d: %s", code, errb.String())
		}
		took := time.Since(start)
		b.StopTimer()
		for outcome, want := range want {
			if got := strings.Count(out.String(), `"outcome":"`+outcome+`"`); got != want {
				b.Errorf("%d %s, want %d", got, outcome, want)
			}
		}
		b.ReportMetric(float64(n)/took.Seconds(), "messages/s")
		b.ReportMetric(float64(size)/1e6/took.Seconds(), "MB/s")
		b.StartTimer()
	}
}

// mixedConfigTOML is mixedmail.Config as a configuration file.
const mixedConfigTOML = `[intake]
form_senders = ["noreply@forms.example-council.gov.uk", "do-not-reply@forms.nwleics.example.gov.uk", "no-reply@web.example-district.gov.uk"]

[[agency]]
id = "police"
name = "Police"
aliases = ["police", "constabulary", "pcso", "101", "officer"]
email = "asb@police.example.uk"
slack_users = ["mark.ellis@police.example.uk", "sarah.khan@police.example.uk"]

[[agency]]
id = "council"
name = "District Council"
aliases = ["council", "district council", "asb team", "environmental health", "community safety"]
email = "asb@example-council.gov.uk"

[[agency]]
id = "housing"
name = "Housing provider"
aliases = ["housing", "housing association", "landlord", "housing officer"]
email = "tenancy@example-housing.org"
slack_users = ["j.price@example-housing.org"]
`
