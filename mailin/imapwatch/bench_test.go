package imapwatch_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/internal/mixedmail"
	"github.com/csp/trigger/mailin"
	"github.com/csp/trigger/mailin/imapwatch"
)

// TestDovecotDrainBenchmark measures `mail fetch --once` against mbsync on
// the mailbox a partnership really receives (internal/mixedmail: web-form
// and free-text applications, follow-ups threaded by our tag or by a reply
// to our acknowledgement, further-review requests, out-of-office replies,
// bounces, list mail, HTML-only mail, attachments, mail delivered twice).
// The case file first holds the mailbox's history (a tenth as many cases,
// acknowledged, some answered); Dovecot then holds N messages; mbsync
// (isync) merely downloads them into a local maildir, then FetchOnce files
// every one and moves it to Processed. Every outcome must be the one the
// generator gave its message. scripts/bench-imap.sh runs it:
//
//	IMAPWATCH_BENCH_MESSAGES=10000 go test -run TestDovecotDrainBenchmark -v ./mailin/imapwatch/
//
// IMAPWATCH_BENCH_CPUPROFILE=FILE writes a CPU profile of FetchOnce (go
// tool pprof FILE); IMAPWATCH_BENCH_BATCH=N downloads, files and moves N
// messages a unit instead of DefaultBatchSize.
func TestDovecotDrainBenchmark(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("IMAPWATCH_BENCH_MESSAGES"))
	if n <= 0 {
		t.Skip("set IMAPWATCH_BENCH_MESSAGES=10000 to run the benchmark (scripts/bench-imap.sh)")
	}
	d := startDovecot(t)
	s, intake, mb := benchWorld(t, n, 0)

	must(t, os.MkdirAll(filepath.Join(d.Maildir, "new"), 0o755))
	for i, m := range mb.Inbox {
		name := filepath.Join(d.Maildir, "new", fmt.Sprintf("%d.M%dP1.bench,S=%d", m.Date.Unix(), i, len(m.Raw)))
		must(t, os.WriteFile(name, m.Raw, 0o644))
		must(t, os.Chtimes(name, m.Date, m.Date)) // Dovecot's INTERNALDATE
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
	kinds := mb.Counts()
	var mix []string
	for _, k := range mixedmail.Mix {
		mix = append(mix, fmt.Sprintf("%s %d", k.Kind, kinds[k.Kind]))
	}
	t.Logf("mailbox: %d messages, %.1f MB: %s", n, float64(mb.Bytes())/1e6, strings.Join(mix, ", "))

	mbsync := time.Duration(0)
	if path, err := exec.LookPath("mbsync"); err != nil {
		t.Logf("mbsync not installed (apt-get install isync): no comparison")
	} else {
		syscall.Sync()
		mbsync = runMbsync(t, path, d, n)
		t.Logf("mbsync (download only):            %v", mbsync.Round(time.Millisecond))
	}

	// FetchOnce as `trigger mail fetch --once` runs it: mail intake on
	// a real case file, every message moved once committed.
	batch, _ := strconv.Atoi(os.Getenv("IMAPWATCH_BENCH_BATCH")) // messages a unit; 0: the default
	w := &imapwatch.Watcher{Config: benchIMAP(d.Addr), Password: "secret", Store: s, Logger: quietLogger(),
		Ingest: intake.IngestRaw, ReadBatch: intake.ReadBatch, BatchSize: batch}
	load := loadAverage()
	if path := os.Getenv("IMAPWATCH_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		must(t, err)
		must(t, pprof.StartCPUProfile(f))
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	// Each side starts with nothing of the other's (or of the set-up's)
	// still to be written to disk: writing it back would otherwise fall
	// in the middle of the next one's commits, whose fsync waits for it.
	syscall.Sync()
	read0, cpu0 := diskReadMB(), cpuBusy()
	start := time.Now()
	st, err := w.FetchOnce(context.Background())
	fetch := time.Since(start)
	fetchRead, fetchCPU := diskReadMB()-read0, cpuBusy().since(cpu0)
	if err != nil {
		t.Fatal(err)
	}
	pprof.StopCPUProfile()
	if want := mb.Expect(); !maps.Equal(st.Outcomes, want) || d.count(t, c, "INBOX") != 0 {
		t.Fatalf("FetchOnce handled %v, want %v and an empty INBOX", st.Outcomes, want)
	}
	t.Logf("trigger mail fetch --once: %v (%.0f messages/s), outcomes %v", fetch.Round(time.Millisecond), float64(n)/fetch.Seconds(), sortedCounts(st.Outcomes))

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
	must(t, s.SetIMAPCheckpoint(context.Background(), "INBOX", 0, 0))
	w2 := &imapwatch.Watcher{Config: benchIMAP(d.Addr), Password: "secret", Store: s, Logger: quietLogger(), Ingest: nop, BatchSize: batch}
	syscall.Sync()
	read0 = diskReadMB()
	start = time.Now()
	if _, err := w2.FetchOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	imapOnly := time.Since(start)
	imapRead := diskReadMB() - read0
	t.Logf("fetch --once, no-op ingest (IMAP):  %v", imapOnly.Round(time.Millisecond))

	if mbsync > 0 {
		ratio := fetch.Seconds() / mbsync.Seconds()
		verdict := "within"
		if ratio > 1.5 {
			verdict = "NOT within"
		}
		t.Logf("ratio fetch/mbsync = %.2f: %s the 1.5x target (IMAP-only ratio %.2f)", ratio, verdict, imapOnly.Seconds()/mbsync.Seconds())
		fmt.Printf("BENCH messages=%d mb=%.1f mbsync=%.3fs fetch_once=%.3fs fetch_once_nop_ingest=%.3fs ratio=%.2f per_message_ms=%.3f load=%s cpus_busy=%.2f disk_read_mb=%.0f nop_disk_read_mb=%.0f\n",
			n, float64(mb.Bytes())/1e6, mbsync.Seconds(), fetch.Seconds(), imapOnly.Seconds(), ratio, fetch.Seconds()*1000/float64(n), load, fetchCPU, fetchRead, imapRead)
	}
}

// benchWorld makes a mixed mailbox of n messages (internal/mixedmail) and a
// case file holding its history (history cases; 0: a tenth of n), with
// the intake that files into it as `trigger mail fetch` does.
func benchWorld(t *testing.T, n, history int) (*sqlite.Store, *mailin.Intake, *mixedmail.Mailbox) {
	cfg := mixedmail.Config()
	s := benchStore(t, &cfg)
	intake := &mailin.Intake{Store: s, Config: &cfg}
	year := casefile.DateOf(s.Now()).Year
	mb := mixedmail.Generate(mixedmail.Options{Messages: n, History: history, Seed: 1, Year: year, Start: s.Now().Add(-time.Duration(n) * 20 * time.Second)})
	start := time.Now()
	must(t, mb.Seed(context.Background(), s, intake.IngestBatch))
	t.Logf("history: %d cases filed, acknowledged and %d answered in %v", len(mb.History), len(mb.Answered), time.Since(start).Round(time.Millisecond))
	return s, intake, mb
}

// benchStore opens a case file as `trigger` does, on the real clock.
func benchStore(tb testing.TB, cfg *casefile.Config) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(filepath.Join(tb.TempDir(), "trigger.db"), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// benchIMAP is the [imap] section of the benchmark: Dovecot at addr.
func benchIMAP(addr string) casefile.IMAPConfig {
	cfg := casefile.DefaultConfig().IMAP
	cfg.Address, cfg.TLS, cfg.Username = addr, "none", "ct"
	return cfg
}

// quietLogger logs as `trigger mail fetch` does by default (info and up),
// to nowhere.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// loadAverage is the machine's load average over the last minute, as
// uptime shows it: the figures are only comparable at a similar load.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}

// diskReadMB is how much the machine has read from its disks since it
// started, in MB (pgpgin in /proc/vmstat): what a run read from disk rather
// than from the page cache is the difference, whoever read it (Dovecot
// too); -1 where the kernel does not say.
func diskReadMB() float64 {
	b, err := os.ReadFile("/proc/vmstat")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "pgpgin "); ok {
			kb, _ := strconv.ParseFloat(v, 64)
			return kb / 1024
		}
	}
	return -1
}

// cpuTimes is the machine's CPU time so far, in clock ticks: busy (user,
// nice, system, interrupts, steal) and all. The guest times that follow
// in /proc/stat are already counted in user and nice.
type cpuTimes struct{ busy, all float64 }

func cpuBusy() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var t cpuTimes
	fields := strings.Fields(line)[1:]
	for i, f := range fields[:min(len(fields), 8)] {
		v, _ := strconv.ParseFloat(f, 64)
		t.all += v
		if i != 3 && i != 4 { // idle, iowait
			t.busy += v
		}
	}
	return t
}

// since is how many of the machine's CPUs were busy on average since t0:
// 2.00 is both cores of this machine all the time.
func (t cpuTimes) since(t0 cpuTimes) float64 {
	if t.all <= t0.all {
		return 0
	}
	return float64(runtime.NumCPU()) * (t.busy - t0.busy) / (t.all - t0.all)
}

func sortedCounts(m map[string]int) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(out, ", ")
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
