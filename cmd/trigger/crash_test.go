//go:build linux

package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
)

// The crash tests run `trigger serve` as a child process — this test binary
// again, running TestServeChild, which calls Main.Run as main does — against
// a world hosted by the test process, and kill it. They are Linux-only for
// Pdeathsig: a child outlives no test process.

const childConfigEnv = "TRIGGER_TEST_SERVE_CONFIG"

// TestServeChild is not a test of its own: it is the child process of the
// crash tests, `trigger --config FILE serve` with main's signal handling.
// Run without the crash tests' environment it skips.
func TestServeChild(t *testing.T) {
	path := os.Getenv(childConfigEnv)
	if path == "" {
		t.Skip("the child process of the crash tests; runs only when they start it")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, oauthBaseURL: os.Getenv(oauthBaseURLEnv)}
	if code := m.Run(ctx, []string{"--config", path, "serve"}); code != 0 {
		os.Exit(code) // os.Exit(0) is not allowed in a test; returning is exit 0
	}
}

// child is one run of `trigger serve` in a child process.
type child struct {
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
	err    error // once exited is closed
}

// startChild starts `trigger serve` with the world's configuration file and
// secrets; its log goes to a file in the world's directory.
func startChild(t *testing.T, w *world, cfgPath string, n int) *child {
	t.Helper()
	c := &child{log: filepath.Join(w.dir, fmt.Sprintf("serve-%02d.log", n)), exited: make(chan struct{})}
	f, err := os.Create(c.log)
	if err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command(os.Args[0], "-test.run=^TestServeChild$", "-test.count=1")
	c.cmd.Env = append(os.Environ(), childConfigEnv+"="+cfgPath)
	c.cmd.Env = append(c.cmd.Env, w.env()...)
	c.cmd.Stdout, c.cmd.Stderr = f, f
	// Should the test process die first (a timeout's panic), the child
	// goes with it rather than running on against a world that is gone.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		f.Close()
		t.Fatal(err)
	}
	go func() {
		c.err = c.cmd.Wait()
		f.Close()
		close(c.exited)
	}()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		<-c.exited
	})
	return c
}

// kill9 kills the child with SIGKILL and waits for it to be gone.
func (c *child) kill9(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	<-c.exited
}

// term sends SIGTERM and returns the exit status, failing the test if the
// child does not exit within timeout.
func (c *child) term(t *testing.T, timeout time.Duration) int {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.exited:
	case <-time.After(timeout):
		t.Fatalf("serve did not exit within %s of SIGTERM; log:\n%s", timeout, c.tail(4<<10))
	}
	return c.cmd.ProcessState.ExitCode()
}

// running reports an early exit of the child as an error.
func (c *child) running() error {
	select {
	case <-c.exited:
		return fmt.Errorf("serve exited on its own (%v); log:\n%s", c.err, c.tail(4<<10))
	default:
		return nil
	}
}

func (c *child) tail(n int) string {
	b, _ := os.ReadFile(c.log)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// waitReady waits for the child's /readyz to answer 200.
func waitReady(t *testing.T, w *world, c *child, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, "serve to be ready", func() bool {
		if err := c.running(); err != nil {
			t.Fatal(err)
		}
		code, _ := httpGet(t, "http://"+w.http+"/readyz")
		return code == http.StatusOK
	})
}

// inHand returns the outbox jobs a killed process had claimed (their
// lease not run out), each with the time its lease would run out. The
// next serve reclaims them at start rather than waiting for that.
func inHand(t *testing.T, path string) map[int64]time.Time {
	t.Helper()
	db := openDB(t, path)
	defer db.Close()
	rows, err := db.Query(`SELECT id, locked_until FROM outbox WHERE state = 'pending' AND locked_until > ?`, time.Now().UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	jobs := map[int64]time.Time{}
	for rows.Next() {
		var id, until int64
		if err := rows.Scan(&id, &until); err != nil {
			t.Fatal(err)
		}
		jobs[id] = time.UnixMilli(until)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return jobs
}

// doneBeforeLease checks that every job a killed process had in hand was
// done before its lease would have run out: the next serve reclaimed it at
// start instead of waiting two minutes. It returns how many there were.
func doneBeforeLease(t *testing.T, path string, leases map[int64]time.Time) int {
	t.Helper()
	db := openDB(t, path)
	defer db.Close()
	late := 0
	for id, until := range leases {
		var state, kind string
		var done sql.NullInt64
		if err := db.QueryRow(`SELECT state, kind, done_at FROM outbox WHERE id = ?`, id).Scan(&state, &kind, &done); err != nil {
			t.Fatal(err)
		}
		switch {
		case state != "done" || !done.Valid:
			t.Errorf("job %d (%s), in hand at a kill, is %s", id, kind, state)
		case !time.UnixMilli(done.Int64).Before(until):
			late++
			t.Errorf("job %d (%s), in hand at a kill, was done at %s, after its lease ran out (%s): it waited for the lease instead of being reclaimed",
				id, kind, time.UnixMilli(done.Int64).Format("15:04:05.000"), until.Format("15:04:05.000"))
		}
	}
	return len(leases) - late
}

// lateJobs counts the channel and acknowledgement jobs done more than a
// minute after they were queued.
func lateJobs(t *testing.T, path string) (channels, acks int) {
	t.Helper()
	db := openDB(t, path)
	defer db.Close()
	channels = queryInt(t, db, `SELECT count(*) FROM outbox WHERE kind = 'slack.create_channel' AND done_at - created_at > 60000`)
	acks = queryInt(t, db, `SELECT count(*) FROM outbox WHERE kind = 'email.ack' AND done_at - created_at > 60000`)
	return channels, acks
}

// TestCrashKill9 kills `trigger serve` with SIGKILL at random moments, ten
// times, while 500 applications (and a few out-of-office replies) are
// ingested and their Slack channels and acknowledgements are in flight
// (each kill falls at a random point of its own tenth of the work, so all
// ten land in the middle of it however fast the machine is), restarting it
// each time; a last run drains everything. Then every
// application is in exactly one case, every case has exactly one channel
// with one card and the applicant exactly one acknowledgement (one
// Message-ID; raw duplicate deliveries, possible when a kill falls between
// the SMTP server's 250 and the commit, are counted and logged), the audit
// trails have no gaps, the outbox is empty and the database is intact.
//
// A killed process's outbox leases (two minutes) are reclaimed by the next
// serve as it starts: every job in hand at a kill is done before its lease
// would have run out (doneBeforeLease). Set CT_TEST_SEED to repeat a run.
func TestCrashKill9(t *testing.T) { crashKill9(t, worldOptions{}) }

// TestCrashKill9Graph is TestCrashKill9 with the mailbox read and the mail
// sent through Microsoft Graph: delta rounds cut short, messages filed but
// not yet moved, sendMail calls whose answer never came — and every
// download of a message gives other bytes, so a message filed twice would
// be two messages.
func TestCrashKill9Graph(t *testing.T) { crashKill9(t, worldOptions{mail: casefile.MailGraph}) }

func crashKill9(t *testing.T, o worldOptions) {
	if testing.Short() {
		t.Skip("slow: -short")
	}
	const n, nAuto, kills = 500, 10, 10
	began := time.Now()
	seed := uint64(time.Now().UnixNano())
	if s := envSeed(); s != 0 {
		seed = s
	}
	t.Logf("seed %d (CT_TEST_SEED=%d repeats the kill moments)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 9))

	w := newWorld(t, o)
	cfgPath := w.toml()
	apps, autos := applications("crash", n), autoReplies("crash", nAuto)
	for i, a := range apps {
		w.deliver(a)
		if i%50 == 25 {
			w.deliver(autos[i/50])
		}
	}
	t.Logf("%.1fs: %d messages in INBOX", time.Since(began).Seconds(), w.count("INBOX"))

	var children []*child
	defer func() {
		if t.Failed() && len(children) > 0 {
			t.Logf("last serve log:\n%s", children[len(children)-1].tail(6<<10))
		}
	}()
	// The kill moments are random points of the work, not of the clock
	// (which would let a fast run finish before the last kills): the work
	// is a case, a card and an acknowledgement per application, and kill i
	// falls at a random point of the i-th of kills+1 equal stretches of it,
	// a few milliseconds (at random) after the service got there.
	work := func(p progress) int { return p.cases + p.cards + p.acksSent }
	total := 3 * n
	leases := map[int64]time.Time{} // the jobs in hand at the kills
	for i := range kills {
		at := int(float64(total) * (float64(i) + 0.1 + 0.8*rng.Float64()) / float64(kills+1))
		c := startChild(t, w, cfgPath, i)
		children = append(children, c)
		started := time.Now()
		waitFor(t, 2*time.Minute, fmt.Sprintf("the work to reach %d of %d", at, total), func() bool {
			if err := c.running(); err != nil {
				t.Fatal(err)
			}
			return work(w.progress(time.Now())) >= at
		})
		time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
		c.kill9(t)
		p := w.progress(time.Now())
		held := inHand(t, w.db)
		for id, until := range held {
			leases[id] = until // a job in hand at several kills: its last lease
		}
		t.Logf("%.1fs: kill %d, %s after start, at %d/%d of the work: %s; %d jobs were in hand",
			time.Since(began).Seconds(), i+1, time.Since(started).Round(time.Millisecond), work(p), total, p, len(held))
	}

	c := startChild(t, w, cfgPath, kills)
	children = append(children, c)
	waitFor(t, 3*time.Minute, "everything to be drained", func() bool {
		if err := c.running(); err != nil {
			t.Fatal(err)
		}
		p := w.progress(time.Now())
		return p.drained(n) && p.processed == n+nAuto
	})
	t.Logf("%.1fs: drained: %s", time.Since(began).Seconds(), w.progress(time.Now()))
	if code := c.term(t, 60*time.Second); code != 0 {
		t.Errorf("serve exited %d after SIGTERM, want 0; log:\n%s", code, c.tail(4<<10))
	}

	out := w.checkWorld(t, apps, autos)
	t.Logf("acknowledgements delivered %d for %d cases: %d duplicate deliveries, %d left in doubt by a kill while handing over (not sent again; the coordinator is asked to check)",
		out.acks, n, out.duplicateAcks, out.inDoubt)
	reclaimed := doneBeforeLease(t, w.db, leases)
	lateChannels, lateAcks := lateJobs(t, w.db)
	t.Logf("%d jobs in hand at the kills, all done before their leases ran out; %d channels and %d acknowledgements done more than a minute after they were queued",
		reclaimed, lateChannels, lateAcks)
	// A resident is never emailed twice by mistake; one mail worker hands
	// over one email at a time, so a kill leaves at most one in doubt.
	if out.duplicateAcks != 0 {
		t.Errorf("%d acknowledgements delivered twice after kill -9", out.duplicateAcks)
	}
	if out.inDoubt > kills {
		t.Errorf("%d acknowledgements in doubt after %d kills: more than the one in hand at each", out.inDoubt, kills)
	}
	for _, c := range children {
		if strings.Contains(c.tail(1<<30), "DATA RACE") {
			t.Errorf("the race detector reported a data race in %s", c.log)
		}
	}
	t.Logf("wall time %.1fs", time.Since(began).Seconds())
}

// TestCrashReclaimLeases kills `trigger serve` with SIGKILL while it holds
// outbox jobs and starts another at once, measuring from outside: the new
// serve logs that it reclaimed exactly the jobs the dead one held, and each
// of them is done before its lease (two minutes) would have run out. While
// it runs, a third serve on the same database refuses to start, naming the
// second's pid.
func TestCrashReclaimLeases(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: -short")
	}
	const n = 60
	w := newWorld(t, worldOptions{})
	cfgPath := w.toml()
	apps := applications("reclaim", n)
	w.deliver(apps...)

	c := startChild(t, w, cfgPath, 0)
	var held map[int64]time.Time
	waitFor(t, 60*time.Second, "serve to hold outbox jobs", func() bool {
		if err := c.running(); err != nil {
			t.Fatal(err)
		}
		return w.progress(time.Now()).inFlight > 0
	})
	c.kill9(t)
	held = inHand(t, w.db)
	if len(held) == 0 {
		// The jobs in flight finished between the look and the kill:
		// rare, and nothing to measure.
		t.Skip("the killed serve held no job at the kill")
	}
	t.Logf("killed with %d jobs in hand: %s", len(held), w.progress(time.Now()))

	c2 := startChild(t, w, cfgPath, 1)
	waitReady(t, w, c2, 30*time.Second)
	if log := c2.tail(1 << 20); !strings.Contains(log, fmt.Sprintf("reclaimed=%d", len(held))) {
		t.Errorf("the new serve does not say it reclaimed the %d jobs; log:\n%s", len(held), c2.tail(4<<10))
	}

	// One serve per database: a third refuses while the second runs.
	c3 := startChild(t, w, cfgPath, 2)
	select {
	case <-c3.exited:
		log := c3.tail(4 << 10)
		if code := c3.cmd.ProcessState.ExitCode(); code != exitFail || !strings.Contains(log, fmt.Sprintf("is in use by another 'trigger serve' (pid %d)", c2.cmd.Process.Pid)) {
			t.Errorf("a second serve on the database: exit %d; log:\n%s", code, log)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a second serve on the same database kept running")
	}

	waitFor(t, 2*time.Minute, "everything to be drained", func() bool {
		if err := c2.running(); err != nil {
			t.Fatal(err)
		}
		return w.progress(time.Now()).drained(n)
	})
	if code := c2.term(t, 60*time.Second); code != 0 {
		t.Errorf("serve exited %d after SIGTERM, want 0", code)
	}
	w.checkWorld(t, apps, nil)
	doneBeforeLease(t, w.db, held)
}

// TestCrashSIGTERM stops `trigger serve` with SIGTERM while work is in
// flight: it exits 0 after finishing the jobs in hand (no outbox job is
// left leased), the database passes PRAGMA integrity_check, and a restart
// completes everything exactly once.
func TestCrashSIGTERM(t *testing.T) { crashSIGTERM(t, worldOptions{}) }

// TestCrashSIGTERMGraph is TestCrashSIGTERM through Microsoft Graph.
func TestCrashSIGTERMGraph(t *testing.T) { crashSIGTERM(t, worldOptions{mail: casefile.MailGraph}) }

func crashSIGTERM(t *testing.T, o worldOptions) {
	if testing.Short() {
		t.Skip("slow: -short")
	}
	const n = 100
	began := time.Now()
	w := newWorld(t, o)
	cfgPath := w.toml()
	apps := applications("term", n)
	w.deliver(apps...)

	c := startChild(t, w, cfgPath, 0)
	var p progress
	waitFor(t, 60*time.Second, "work in flight", func() bool {
		if err := c.running(); err != nil {
			t.Fatal(err)
		}
		p = w.progress(time.Now())
		return p.cases >= n/4 && (p.inFlight > 0 || p.pending > 0)
	})
	code := c.term(t, 60*time.Second)
	stopped := time.Now()
	t.Logf("%.1fs: SIGTERM with %s", time.Since(began).Seconds(), p)
	if code != 0 {
		t.Errorf("serve exited %d after SIGTERM, want 0", code)
	}
	log := c.tail(1 << 20)
	for _, want := range []string{"stopping: finishing the work in flight", "msg=stopped"} {
		if !strings.Contains(log, want) {
			t.Errorf("serve's log lacks %q:\n%s", want, c.tail(4<<10))
		}
	}
	db := openDB(t, w.db)
	if v := queryString(t, db, `PRAGMA integrity_check`); v != "ok" {
		t.Errorf("integrity_check after SIGTERM: %s", v)
	}
	if left := queryInt(t, db, `SELECT count(*) FROM outbox WHERE state = 'pending' AND locked_until > ?`, stopped.UnixMilli()); left != 0 {
		t.Errorf("%d outbox jobs are still leased after a clean stop: they were abandoned in flight", left)
	}
	db.Close()
	after := w.progress(stopped)
	t.Logf("after the stop: %s", after)

	// A restart finishes the rest, once.
	c = startChild(t, w, cfgPath, 1)
	waitReady(t, w, c, 30*time.Second)
	waitFor(t, 2*time.Minute, "everything to be drained", func() bool {
		if err := c.running(); err != nil {
			t.Fatal(err)
		}
		return w.progress(time.Now()).drained(n)
	})
	if code := c.term(t, 60*time.Second); code != 0 {
		t.Errorf("second serve exited %d after SIGTERM, want 0", code)
	}
	out := w.checkWorld(t, apps, nil)
	if out.duplicateAcks != 0 {
		t.Errorf("%d acknowledgements delivered twice after a clean stop", out.duplicateAcks)
	}
	t.Logf("wall time %.1fs", time.Since(began).Seconds())
}
