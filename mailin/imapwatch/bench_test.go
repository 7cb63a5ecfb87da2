package imapwatch_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/mailin"
)

// TestDovecotDrainBenchmark measures `mail fetch --once` against mbsync:
// Dovecot holds N application emails; mbsync (isync) merely downloads the
// mailbox into a local maildir, then FetchOnce ingests every message into a
// case file and moves it to Processed. scripts/bench-imap.sh runs it:
//
//	IMAPWATCH_BENCH_MESSAGES=10000 go test -run TestDovecotDrainBenchmark -v ./mailin/imapwatch/
//
// IMAPWATCH_BENCH_INGEST=store swaps mail intake's parser for the tests'
// stand-in, which files each message without reading the application.
func TestDovecotDrainBenchmark(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("IMAPWATCH_BENCH_MESSAGES"))
	if n <= 0 {
		t.Skip("set IMAPWATCH_BENCH_MESSAGES=10000 to run the benchmark (scripts/bench-imap.sh)")
	}
	d := startDovecot(t)
	var bytes int64
	for i := range n {
		raw := benchMessage(i)
		bytes += int64(len(raw))
		name := fmt.Sprintf("%d.M%dP1.bench,S=%d", 1772445600+i, i, len(raw))
		must(t, os.MkdirAll(filepath.Join(d.Maildir, "new"), 0o755))
		must(t, os.WriteFile(filepath.Join(d.Maildir, "new", name), raw, 0o644))
	}
	for _, sub := range []string{"cur", "tmp"} {
		must(t, os.MkdirAll(filepath.Join(d.Maildir, sub), 0o755))
	}
	must(t, d.Own(filepath.Join(d.Dir, "mail")))
	// Let Dovecot index the mailbox first, so neither side pays for it.
	c := d.client(t)
	if got := d.count(t, c, "INBOX"); got != n {
		t.Fatalf("INBOX holds %d, want %d", got, n)
	}
	t.Logf("mailbox: %d messages, %.1f MB", n, float64(bytes)/1e6)

	mbsync := time.Duration(0)
	if path, err := exec.LookPath("mbsync"); err != nil {
		t.Logf("mbsync not installed (apt-get install isync): no comparison")
	} else {
		mbsync = runMbsync(t, path, d, n)
		t.Logf("mbsync (download only):            %v", mbsync.Round(time.Millisecond))
	}

	// FetchOnce as `trigger mail fetch --once` runs it: mail intake's
	// parser, a real case file (a case each, in its own transaction), and
	// every message moved.
	s := MustOpenStore(t)
	intake := &mailin.Intake{Store: s}
	ingest, how := intake.IngestRaw, "mailin.Intake"
	if os.Getenv("IMAPWATCH_BENCH_INGEST") == "store" {
		// The tests' stand-in: Message-ID and subject only, so no
		// applicant address and no acknowledgement job.
		ingest, how = StoreIngest(s), "stand-in"
	}
	w := newWatcher(t, d.Addr, s, ingest, nil)
	if how == "mailin.Intake" {
		w.IngestBatch = intake.IngestBatch // as the command runs it
	}
	start := time.Now()
	st, err := w.FetchOnce(context.Background())
	fetch := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if st.Outcomes[casefile.OutcomeCreated] != n || d.count(t, c, "INBOX") != 0 {
		t.Fatalf("FetchOnce handled %+v, want %d created and an empty INBOX", st, n)
	}
	t.Logf("trigger mail fetch --once (%s): %v (%.0f messages/s)", how, fetch.Round(time.Millisecond), float64(n)/fetch.Seconds())

	// The same with an ingest that does nothing: the IMAP side alone.
	if _, err := c.Select("Processed", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, "INBOX").Wait(); err != nil {
		t.Fatal(err)
	}
	c.Unselect().Wait()
	nop := func(ctx context.Context, raw []byte, _ time.Time) (casefile.IngestResult, error) {
		return casefile.IngestResult{Outcome: casefile.OutcomeDuplicate}, nil
	}
	w2 := newWatcher(t, d.Addr, s, nop, nil)
	start = time.Now()
	if _, err := w2.FetchOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	imapOnly := time.Since(start)
	t.Logf("fetch --once, no-op ingest (IMAP):  %v", imapOnly.Round(time.Millisecond))

	if mbsync > 0 {
		ratio := fetch.Seconds() / mbsync.Seconds()
		verdict := "within"
		if ratio > 2 {
			verdict = "NOT within"
		}
		t.Logf("ratio fetch/mbsync = %.2f: %s the 2x target (IMAP-only ratio %.2f)", ratio, verdict, imapOnly.Seconds()/mbsync.Seconds())
		fmt.Printf("BENCH messages=%d ingest=%s mbsync=%.3fs fetch_once=%.3fs fetch_once_nop_ingest=%.3fs ratio=%.2f\n",
			n, how, mbsync.Seconds(), fetch.Seconds(), imapOnly.Seconds(), ratio)
	}
}

// runMbsync downloads the INBOX into a fresh local maildir and times it.
func runMbsync(tb testing.TB, path string, d *dovecotServer, n int) time.Duration {
	tb.Helper()
	local := filepath.Join(tb.TempDir(), "local")
	must(tb, os.MkdirAll(local, 0o700))
	host, port, _ := strings.Cut(d.Addr, ":")
	rc := fmt.Sprintf(`IMAPAccount bench
Host %s
Port %s
User ct
Pass secret
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account bench

MaildirStore local
Path %[3]s/
Inbox %[3]s/INBOX

Channel bench
Far :remote:
Near :local:
Patterns INBOX
Sync Pull
Create Near
SyncState *
`, host, port, local)
	rcPath := filepath.Join(local, "mbsyncrc")
	must(tb, os.WriteFile(rcPath, []byte(rc), 0o600))
	cmd := exec.Command(path, "-c", rcPath, "-q", "bench")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		tb.Fatalf("mbsync: %v\n%s", err, out)
	}
	got := 0
	for _, sub := range []string{"cur", "new"} {
		entries, _ := os.ReadDir(filepath.Join(local, "INBOX", sub))
		got += len(entries)
	}
	if got != n {
		tb.Fatalf("mbsync downloaded %d messages, want %d\n%s", got, n, out)
	}
	return took
}

// benchMessage is a council web-form application of about 2 KB.
func benchMessage(i int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Return-Path: <noreply@forms.example-council.gov.uk>\r\n")
	fmt.Fprintf(&b, "From: Council Forms <noreply@forms.example-council.gov.uk>\r\n")
	fmt.Fprintf(&b, "To: communitytrigger@example-council.gov.uk\r\n")
	fmt.Fprintf(&b, "Subject: Community Trigger application form submission %d\r\n", i)
	fmt.Fprintf(&b, "Message-ID: <form-%d-%d@forms.example-council.gov.uk>\r\n", i, 20260302)
	fmt.Fprintf(&b, "Date: Mon, 2 Mar 2026 10:%02d:%02d +0000\r\n", i/60%60, i%60)
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	fmt.Fprintf(&b, "Applicant name: Resident %d\r\nEmail: resident%d@example.org\r\nPhone: 07700 900%03d\r\n", i, i, i%1000)
	fmt.Fprintf(&b, "Address: %d Example Street, Exampleton\r\nPostcode: LE67 3FJ\r\n", i%200+1)
	b.WriteString("Applying on behalf of someone else: No\r\n")
	b.WriteString("Description of the behaviour: Loud music and shouting late at night, most nights of the week, and\r\n")
	b.WriteString("rubbish left outside the flats. Neighbours have been threatened when they asked for it to stop.\r\n")
	for k := 1; k <= 3; k++ {
		fmt.Fprintf(&b, "Incident %d date: 2026-0%d-1%d\r\nReported to: police\r\nReference: PC-%d-%d\r\n", k, k, k, i, k)
		b.WriteString("What happened: music until 3am, bottles thrown into the garden, the police were called and attended.\r\n")
	}
	b.WriteString(strings.Repeat("Further information: the resident has kept a diary of every incident since January.\r\n", 6))
	return []byte(b.String())
}
