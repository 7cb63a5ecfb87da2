package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile/sqlite"
)

// TestFaults runs the real serve wiring in process while everything around
// it fails at once: the IMAP server is stopped in the middle of a pass over
// the mailbox and started again, the Slack Web API answers 500, 503, 429
// with Retry-After, or nothing at all (a call held longer than the client's
// timeout, done by Slack after the client gave up) for an emulated minute
// with the Socket Mode connection cut, and the SMTP server answers 421 for
// a while. Once they are back, all the work completes, once: one case per
// application, one channel with one card per case, one acknowledgement per
// applicant, audit trails without gaps. /healthz, /readyz (503 naming what
// is down, then 200) and /metrics (by outcome, outbox gauges, no personal
// data) are read on the way.
//
// The outbox backs off exponentially from Store.Now (run_after is Now plus
// up to ten minutes). Rather than sleep through that, the test gives the
// store a clock of its own (testClock, set as store.Now before newServer):
// during the outage it runs with the emulator's (ten times real time), so
// the outbox sees the minute pass and backs off as it would over a real
// minute; afterwards it runs at real speed and, whenever nothing is ready
// and nothing is in flight, the test moves it forward to the earliest
// run_after and wakes the dispatchers (drainWithClock).
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: -short")
	}
	const n, nAuto = 200, 5
	began := time.Now()
	seed := uint64(time.Now().UnixNano())
	if s := envSeed(); s != 0 {
		seed = s
	}
	t.Logf("seed %d (CT_TEST_SEED=%d repeats this run)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 7))

	// One emulated minute is six real seconds.
	const timeScale = 10
	w := newWorld(t, worldOptions{timeScale: timeScale})
	cfg := w.config()
	store, err := sqlite.Open(w.db, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	clock := newTestClock()
	store.Clock = clock.Now

	// A Slack call that gets no answer within a second is given up (30s in
	// production).
	defer func(d time.Duration) { slackCallTimeout = d }(slackCallTimeout)
	slackCallTimeout = time.Second

	var logs syncBuffer
	srv, stop := w.serveInProcess(&cfg, store, &logs)
	defer func() {
		if t.Failed() {
			t.Logf("service log (last 8 KB):\n%s", logs.tail(8<<10))
		}
	}()
	base := "http://" + srv.HTTPAddr()
	if code, body := httpGet(t, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	waitFor(t, 20*time.Second, "/readyz to answer 200", func() bool {
		code, _ := httpGet(t, base+"/readyz")
		return code == http.StatusOK
	})

	apps, autos := applications("faults", n), autoReplies("faults", nAuto)

	// Everything goes wrong. SMTP first: every acknowledgement waits.
	w.sink.SetDown(true)
	w.deliver(apps[:n/2]...)
	w.deliver(autos...)
	w.deliver(apps[n/2:]...)
	t.Logf("%.1fs: %d messages delivered; SMTP down (421)", time.Since(began).Seconds(), n+nAuto)

	// Then, in the middle of the pass over the mailbox (some messages
	// ingested, none or some moved, more waiting), the IMAP server stops,
	// and Slack fails every call for an emulated minute.
	waitFor(t, 60*time.Second, "the first cases", func() bool { return w.progress(clock.Now()).cases >= n/5 })
	w.stopIMAP()
	clock.SetRate(timeScale)
	outageStart := w.emu.Now()
	w.emu.DropSockets()
	armSlackOutage(w.emu, rng, 4000)
	stoppedAt := w.progress(clock.Now())
	var downBody string
	waitFor(t, 20*time.Second, "/readyz to say what is down", func() bool {
		code, body := httpGet(t, base+"/readyz")
		downBody = body
		return code == http.StatusServiceUnavailable && strings.Contains(body, "imap: not connected")
	})
	t.Logf("%.1fs: IMAP stopped mid-pass (%s); Slack failing; /readyz 503: %q", time.Since(began).Seconds(), stoppedAt, strings.TrimSpace(downBody))
	time.Sleep(time.Second)
	w.startIMAP()
	t.Logf("%.1fs: IMAP started again on the same address, same mailbox", time.Since(began).Seconds())

	// Slack recovers after an emulated minute; SMTP after that.
	for w.emu.Now().Sub(outageStart) < time.Minute {
		time.Sleep(50 * time.Millisecond)
	}
	w.emu.ClearFaults()
	clock.SetRate(1)
	t.Logf("%.1fs: Slack answers again (one emulated minute of faults; %s)", time.Since(began).Seconds(), faultSummary(w.emu))
	time.Sleep(500 * time.Millisecond)
	w.sink.SetDown(false)
	t.Logf("%.1fs: SMTP up again", time.Since(began).Seconds())

	waitFor(t, 60*time.Second, "the mailbox to be empty", func() bool {
		p := w.progress(clock.Now())
		return p.inbox == 0 && p.processed == n+nAuto
	})
	t.Logf("%.1fs: mailbox drained: %s", time.Since(began).Seconds(), w.progress(clock.Now()))

	// The outbox: jobs wait out their backoff; move the clock instead.
	jumps := drainWithClock(t, w, srv, clock, n, 90*time.Second)
	t.Logf("%.1fs: outbox drained; the store's clock was moved forward %d times, %s in all", time.Since(began).Seconds(), jumps, clock.Advanced().Round(time.Second))

	waitFor(t, 30*time.Second, "/readyz to answer 200 again", func() bool {
		code, _ := httpGet(t, base+"/readyz")
		return code == http.StatusOK
	})
	_, metricsText := httpGet(t, base+"/metrics")
	if err := stop(); err != nil {
		t.Errorf("serve returned %v", err)
	}

	out := w.checkWorld(t, apps, autos)
	t.Logf("acknowledgements delivered %d, duplicate deliveries %d", out.acks, out.duplicateAcks)
	if out.duplicateAcks != 0 {
		t.Errorf("%d acknowledgements were delivered twice without a crash", out.duplicateAcks)
	}
	checkMetrics(t, metricsText, map[string]float64{
		`trigger_messages_ingested_total{outcome="created"}`:    n,
		`trigger_messages_ingested_total{outcome="auto_reply"}`: nAuto,
		`trigger_outbox_pending`:                                0,
		`trigger_outbox_dead`:                                   0,
		`trigger_imap_connected`:                                1,
		`trigger_slack_connected`:                               1,
	}, []string{"trigger_smtp_errors_total", "trigger_slack_errors_total"}, apps)
	t.Logf("wall time %.1fs", time.Since(began).Seconds())
}

// armSlackOutage makes the next count Web API calls fail, in random order:
// 500, 503, 429 with Retry-After 1s, or an answer held for 2s — past the
// client's timeout; Slack then does the call all the same, and its answer
// is lost.
func armSlackOutage(emu *slackemu.Emulator, rng *rand.Rand, count int) {
	for range count {
		switch rng.IntN(4) {
		case 0:
			emu.InjectFault(slackemu.Fault{Status: http.StatusInternalServerError})
		case 1:
			emu.InjectFault(slackemu.Fault{Status: http.StatusServiceUnavailable})
		case 2:
			emu.InjectFault(slackemu.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
		default:
			emu.InjectFault(slackemu.Fault{Delay: 2 * time.Second})
		}
	}
}

// faultSummary counts the Web API calls by HTTP status.
func faultSummary(emu *slackemu.Emulator) string {
	by := map[int]int{}
	for _, c := range emu.Calls() {
		by[c.Status]++
	}
	return fmt.Sprintf("calls by status: %v", by)
}

// drainWithClock waits until all the work is done. Whenever nothing is
// ready and nothing is in flight, it moves the store's clock to the
// earliest retry and wakes the dispatchers: the backoff passes without the
// test sleeping through it. It returns how often it moved the clock.
func drainWithClock(t *testing.T, w *world, srv *server, clock *testClock, cases int, timeout time.Duration) int {
	t.Helper()
	db := openDB(t, w.db)
	defer db.Close()
	jumps := 0
	waitFor(t, timeout, "the outbox to drain", func() bool {
		now := clock.Now()
		p := w.progress(now)
		if p.drained(cases) {
			return true
		}
		var ready, inFlight int
		var next *int64
		err := db.QueryRow(`SELECT
			(SELECT count(*) FROM outbox WHERE state = 'pending' AND run_after <= ?1 AND locked_until <= ?1),
			(SELECT count(*) FROM outbox WHERE state = 'pending' AND locked_until > ?1),
			(SELECT min(run_after) FROM outbox WHERE state = 'pending' AND locked_until <= ?1)`, now.UnixMilli()).
			Scan(&ready, &inFlight, &next)
		if err != nil {
			t.Fatal(err)
		}
		if ready == 0 && inFlight == 0 && next != nil {
			clock.Advance(time.UnixMilli(*next).Sub(now) + time.Millisecond)
			jumps++
			if srv.slackOut != nil {
				srv.slackOut.Wake()
			}
			if srv.mailOut != nil {
				srv.mailOut.Wake()
			}
		}
		return false
	})
	return jumps
}

var metricLine = regexp.MustCompile(`^([a-z_][a-z0-9_]*)(\{([^}]*)\})? (\S+)$`)
var labelPair = regexp.MustCompile(`([a-z_]+)="([^"]*)"`)

// labelValue is what a label may hold: a code (an outcome, a method, an
// error code), never free text.
var labelValue = regexp.MustCompile(`^[A-Za-z0-9_.]{1,40}$`)

// checkMetrics checks /metrics: the values in want, that the counters in
// present are there, and that no label carries personal data or a case
// reference (every label value is a code).
func checkMetrics(t *testing.T, text string, want map[string]float64, present []string, apps []application) {
	t.Helper()
	got := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		m := metricLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("/metrics: unreadable line %q", line)
			continue
		}
		v, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			t.Errorf("/metrics: %q: %v", line, err)
		}
		got[m[1]+m[2]] = v
		for _, lp := range labelPair.FindAllStringSubmatch(m[3], -1) {
			if !labelValue.MatchString(lp[2]) {
				t.Errorf("/metrics: label %s=%q is not a code or a status", lp[1], lp[2])
			}
		}
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("/metrics: %s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	for _, name := range present {
		found := false
		for k := range got {
			found = found || strings.HasPrefix(k, name+"{") || k == name
		}
		if !found {
			t.Errorf("/metrics: no %s", name)
		}
	}
	for _, pd := range []string{"@", "CT-", "Mill Street", "DE12", "Resident"} {
		if strings.Contains(text, pd) {
			t.Errorf("/metrics contains %q", pd)
		}
	}
	for _, a := range apps[:min(len(apps), 20)] {
		if strings.Contains(text, a.email) || strings.Contains(text, a.messageID) {
			t.Errorf("/metrics names an applicant")
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", text)
	}
}

func envSeed() uint64 {
	s, _ := strconv.ParseUint(os.Getenv("CT_TEST_SEED"), 10, 64)
	return s
}

// syncBuffer is a log sink safe for the service's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) tail(n int) string {
	s := b.String()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}
