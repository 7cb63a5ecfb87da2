package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/internal/graphemu"
)

// TestFaultsGraph runs the real serve wiring in process, reading and sending
// through Microsoft Graph while Graph throttles and fails: first every delta
// round fails (503 serviceNotAvailable with Retry-After) while the mail
// arrives, then a storm of 429 ApplicationThrottled with Retry-After and of
// 503 and 504 falls on downloads, moves and sendMail at random. Once it
// passes, all the work completes, once: one case per application, one
// channel and card per case, one acknowledgement per applicant (never two:
// one whose sendMail got no answer is in doubt, and the coordinator is
// asked), audit trails without gaps. /readyz says what is down and why,
// then 200; /metrics counts by outcome, without personal data.
func TestFaultsGraph(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: -short")
	}
	const n, nAuto = 150, 5
	began := time.Now()
	seed := uint64(time.Now().UnixNano())
	if s := envSeed(); s != 0 {
		seed = s
	}
	t.Logf("seed %d (CT_TEST_SEED=%d repeats this run)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 18))

	// One emulated second is a tenth of a real one (Retry-After is sent
	// in real seconds, at least 1).
	w := newWorld(t, worldOptions{mail: casefile.MailGraph, timeScale: 10})
	g := w.tenant.graph
	cfg := w.config()
	store, err := sqlite.Open(w.db, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	clock := newTestClock()
	store.Clock = clock.Now
	var logs syncBuffer
	w.reconnectMax = 2 * time.Second // rounds that fail are tried again soon
	srv, stop := w.serveInProcess(&cfg, store, &logs)
	defer func() {
		if t.Failed() {
			t.Logf("service log (last 8 KB):\n%s", logs.tail(8<<10))
		}
	}()
	base := "http://" + srv.HTTPAddr()
	waitFor(t, 20*time.Second, "/readyz to answer 200", func() bool {
		code, _ := httpGet(t, base+"/readyz")
		return code == http.StatusOK
	})

	// Graph fails every delta round for a while; the mail arrives
	// meanwhile and waits in the Inbox.
	for range 10 {
		g.InjectFault(graphemu.Fault{Op: "delta", Status: http.StatusServiceUnavailable, RetryAfter: time.Second})
	}
	apps, autos := applications("graphfaults", n), autoReplies("graphfaults", nAuto)
	w.deliver(apps[:n/2]...)
	w.deliver(autos...)
	w.deliver(apps[n/2:]...)
	var downBody string
	waitFor(t, 60*time.Second, "/readyz to say what is down", func() bool {
		code, body := httpGet(t, base+"/readyz")
		downBody = body
		return code == http.StatusServiceUnavailable && strings.Contains(body, "graph_read: not answering (graph 503 serviceNotAvailable)")
	})
	t.Logf("%.1fs: delta failing; /readyz 503: %q", time.Since(began).Seconds(), strings.TrimSpace(downBody))

	// Then the storm: throttling, and faults on downloads, moves and
	// sending, in random order.
	g.Throttle(20, 2*time.Second)
	for range 60 {
		op := []string{"value", "move", "sendMail"}[rng.IntN(3)]
		switch rng.IntN(3) {
		case 0:
			g.InjectFault(graphemu.Fault{Op: op, Status: http.StatusServiceUnavailable, RetryAfter: time.Second})
		case 1:
			g.InjectFault(graphemu.Fault{Op: op, Status: http.StatusGatewayTimeout})
		default:
			g.InjectFault(graphemu.Fault{Op: op, Status: http.StatusServiceUnavailable})
		}
	}

	waitFor(t, 120*time.Second, "the Inbox to be empty", func() bool {
		p := w.progress(clock.Now())
		return p.inbox == 0 && p.processed == n+nAuto
	})
	t.Logf("%.1fs: Inbox drained: %s", time.Since(began).Seconds(), w.progress(clock.Now()))
	jumps := drainWithClock(t, w, srv, clock, n, 120*time.Second)
	t.Logf("%.1fs: outbox drained; the store's clock was moved forward %d times", time.Since(began).Seconds(), jumps)
	waitFor(t, 30*time.Second, "/readyz to answer 200 again", func() bool {
		code, _ := httpGet(t, base+"/readyz")
		return code == http.StatusOK
	})
	_, metricsText := httpGet(t, base+"/metrics")
	if err := stop(); err != nil {
		t.Errorf("serve returned %v", err)
	}

	by := map[string]int{}
	for _, c := range g.Calls() {
		by[fmt.Sprintf("%s %d", c.Op, c.Status)]++
	}
	t.Logf("Graph calls by operation and status: %v", by)
	if by["delta 503"] < 10 || by["sendMail 429"]+by["value 429"]+by["move 429"]+by["delta 429"] < 20 {
		t.Errorf("the storm did not fall as armed: %v", by)
	}
	out := w.checkWorld(t, apps, autos)
	t.Logf("acknowledgements delivered %d, duplicates %d, in doubt %d", out.acks, out.duplicateAcks, out.inDoubt)
	if out.duplicateAcks != 0 {
		t.Errorf("%d acknowledgements were sent twice", out.duplicateAcks)
	}
	if sent503 := by["sendMail 503"] + by["sendMail 504"]; out.inDoubt > sent503 {
		t.Errorf("%d acknowledgements in doubt, but sendMail went unanswered only %d times", out.inDoubt, sent503)
	}
	checkMetrics(t, metricsText, map[string]float64{
		`trigger_messages_ingested_total{outcome="created"}`:    n,
		`trigger_messages_ingested_total{outcome="auto_reply"}`: nAuto,
		`trigger_outbox_pending`:                                0,
		`trigger_outbox_dead`:                                   0,
		`trigger_graph_connected`:                               1,
	}, []string{"trigger_oauth2_token_renewals_total"}, apps)
	t.Logf("wall time %.1fs", time.Since(began).Seconds())
}
