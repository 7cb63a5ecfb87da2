package graphwatch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/internal/graphemu"
	"github.com/csp/trigger/mailin"
)

// TestFetchOnce: the messages in the Inbox are filed (applications become
// cases received when Graph received them, an automatic reply is stored)
// and moved to Processed, created beside the Inbox; the checkpoint is kept,
// and the next round asks Graph only for what changed.
func TestFetchOnce(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	w.deliver(t, application("a1"), outOfOffice("ooo1"), application("a2"), application("a3"))
	wt := w.watcher(t)
	st, err := wt.FetchOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Outcomes[casefile.OutcomeCreated] != 3 || st.Outcomes[casefile.OutcomeAutoReply] != 1 || st.Moved != 4 {
		t.Errorf("stats %+v", st)
	}
	if got := w.folders(); got != "Inbox 0, Processed 4, Quarantine 0" {
		t.Errorf("folders: %s", got)
	}
	cases, err := w.store.Cases(t.Context(), "")
	if err != nil || len(cases) != 3 {
		t.Fatalf("cases %+v %v", cases, err)
	}
	// Numbered in the order received; received when Graph received them.
	received := map[string]time.Time{}
	for _, m := range w.e.Messages(mbox, "Processed") {
		received[strings.Trim(m.InternetMessageID, "<>")] = m.Received.Truncate(time.Second) // Graph gives seconds
	}
	for i, id := range []string{"a1", "a2", "a3"} {
		c, err := w.store.Case(t.Context(), fmt.Sprintf("CT-2026-%04d", i+1))
		if err != nil {
			t.Fatal(err)
		}
		if c.Messages[0].MessageID != id+"@example.net" || !c.ReceivedAt.Equal(received[id+"@example.net"]) {
			t.Errorf("%s: message %s received %s, want %s received %s", c.Ref, c.Messages[0].MessageID, c.ReceivedAt, id, received[id+"@example.net"])
		}
	}
	if n := w.dbCount(t, `SELECT count(*) FROM graph_delta WHERE mailbox = ? AND delta_link LIKE '%$deltatoken=%'`, mbox); n != 1 {
		t.Errorf("%d checkpoints kept, want the Inbox's", n)
	}

	// Again: nothing new, nothing twice, nothing downloaded.
	before := len(w.e.Calls())
	st, err = wt.FetchOnce(t.Context())
	if err != nil || st.Handled() != 0 {
		t.Errorf("second FetchOnce: %+v %v", st, err)
	}
	for _, c := range w.e.Calls()[before:] {
		if c.Op != "delta" {
			t.Errorf("a round with nothing new called %s %s", c.Op, c.Path)
		}
	}
	w.deliver(t, application("a4"))
	if st, err = wt.FetchOnce(t.Context()); err != nil || st.Outcomes[casefile.OutcomeCreated] != 1 || st.Handled() != 1 {
		t.Errorf("a new message: %+v %v", st, err)
	}
}

// TestCrashAtEveryRequest stops the watcher at each of the requests a
// clean run makes to Graph — as a kill would: the request may still be
// carried out — and starts a new one on the same database. Whatever the
// moment, every message is filed exactly once and ends in its folder,
// though no two downloads of a message give the same bytes (Exchange
// writes MIME afresh) and the case file alone would file a second download
// as another message.
func TestCrashAtEveryRequest(t *testing.T) {
	msgs := [][]byte{application("c1"), outOfOffice("c-ooo"), unreadable(), application("c2"),
		append(application("c-big"), bytes.Repeat([]byte("an attachment nobody downloads\r\n"), 200)...), application("c3")}
	run := func(t *testing.T, crashAt int) (*world, int) {
		w := newWorld(t, graphemu.Options{MIMEVaries: true})
		w.deliver(t, msgs...)
		ctx, crash := context.WithCancel(t.Context())
		var n atomic.Int32
		w.e.OnRequest(func(graphemu.Call) {
			if int(n.Add(1)) == crashAt {
				crash()
			}
		})
		wt := w.watcher(t)
		wt.MaxMessageSize = 4096
		wt.BatchSize = 2
		_, err := wt.FetchOnce(ctx)
		w.e.OnRequest(nil)
		if crashAt > 0 && err == nil && int(n.Load()) >= crashAt {
			t.Fatalf("crash at request %d: FetchOnce returned no error", crashAt)
		}
		return w, int(n.Load())
	}
	_, requests := run(t, 0)
	t.Logf("a clean run makes %d requests", requests)
	for at := 1; at <= requests; at++ {
		t.Run(fmt.Sprintf("Request%02d", at), func(t *testing.T) {
			w, _ := run(t, at)
			restarted := w.watcher(t)
			restarted.MaxMessageSize = 4096
			if _, err := restarted.FetchOnce(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := w.folders(); got != "Inbox 0, Processed 4, Quarantine 2" {
				t.Errorf("folders: %s", got)
			}
			if n := w.dbCount(t, `SELECT count(*) FROM messages WHERE direction = 'in'`); n != 4 {
				t.Errorf("%d messages stored, want 4 (3 applications, 1 automatic reply)", n)
			}
			if n := w.dbCount(t, `SELECT count(*) FROM cases`); n != 3 {
				t.Errorf("%d cases, want 3", n)
			}
			if n := w.dbCount(t, `SELECT count(*) FROM quarantine`); n != 2 {
				t.Errorf("%d quarantined, want 2 (the unreadable one, the oversize one)", n)
			}
		})
	}
}

// TestResync: when Graph has dropped the delta state (410 Gone:
// syncStateNotFound, or resyncRequired after maintenance), the whole Inbox
// is read again: what was filed is only moved, and a message that arrives
// while the resync pages through the Inbox is filed by the next round.
func TestResync(t *testing.T) {
	for _, tc := range []struct {
		name string
		drop func(e *graphemu.Emulator)
	}{
		{"SyncStateNotFound", (*graphemu.Emulator).ExpireDeltaTokens},
		{"ResyncRequired", (*graphemu.Emulator).ResetDeltaTokens},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, graphemu.Options{MIMEVaries: true})
			w.deliver(t, application("r1"), application("r2"))
			wt := w.watcher(t)
			if _, err := wt.FetchOnce(t.Context()); err != nil {
				t.Fatal(err)
			}
			// Two messages filed but still in the Inbox, as after a crash
			// before they were moved (a person put them back, here).
			for _, m := range w.e.Messages(mbox, "Processed") {
				if _, err := w.client().Move(t.Context(), mbox, m.ID, "inbox"); err != nil {
					t.Fatal(err)
				}
			}
			w.deliver(t, application("r3"), application("r4"), application("r5"), application("r6"), application("r7"))
			tc.drop(w.e)
			// The resync's first page: a message arrives.
			var deltas atomic.Int32
			var once sync.Once
			w.e.OnRequest(func(c graphemu.Call) {
				if c.Op == "delta" && deltas.Add(1) == 2 {
					once.Do(func() { w.deliver(t, application("during")) })
				}
			})
			st, err := wt.FetchOnce(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if st.Resyncs != 1 || st.Outcomes[casefile.OutcomeCreated] != 6 || st.Outcomes[casefile.OutcomeDuplicate] != 2 {
				t.Errorf("stats %+v: want one resync, 6 created (5, then the one that came during it) and 2 duplicates", st)
			}
			if got := w.folders(); got != "Inbox 0, Processed 8, Quarantine 0" {
				t.Errorf("folders: %s", got)
			}
			if n := w.dbCount(t, `SELECT count(*) FROM messages`); n != 8 {
				t.Errorf("%d messages stored, want 8", n)
			}
		})
	}
}

// TestPoisonMessages: nothing blocks the Inbox. A message intake cannot
// read is quarantined, as is one that makes filing panic — alone, not the
// good messages filed with it; one the database keeps failing to file is
// never quarantined for it: it stays in the Inbox, the checkpoint waits for
// it, and it is filed once the database is back.
func TestPoisonMessages(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	w.deliver(t, application("good1"), unreadable(), application("fails"), application("panics"), application("good2"))
	var dbDown atomic.Bool
	dbDown.Store(true)
	var failed atomic.Int32
	wt := w.watcher(t)
	wt.Ingest = failing(w, &dbDown, &failed)
	st, err := wt.FetchOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Outcomes[casefile.OutcomeCreated] != 2 || st.Outcomes[casefile.OutcomeQuarantined] != 2 {
		t.Errorf("outcomes %v, want 2 created and 2 quarantined", st.Outcomes)
	}
	if n := failed.Load(); n != 3 {
		t.Errorf("the failing message was tried %d times, want 3 (MaxAttempts)", n)
	}
	if got := w.folders(); got != "Inbox 1, Processed 2, Quarantine 2" {
		t.Errorf("folders: %s", got)
	}
	list, err := w.store.QuarantineList(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	var causes []string
	for _, r := range list {
		causes = append(causes, r.Error)
	}
	all := strings.Join(causes, "\n")
	if !strings.Contains(all, "ingest panicked: index out of range") || strings.Contains(all, "database is locked") || len(list) != 2 {
		t.Errorf("quarantined: %q; want the unreadable one and the one that panicked, nothing for the database", causes)
	}
	link, _ := w.store.GraphDeltaLink(t.Context(), mbox, w.e.Folders(mbox)[1].ID)
	if link != "" {
		t.Errorf("the checkpoint moved on (%q) past a message not yet filed", link)
	}

	dbDown.Store(false)
	st, err = wt.FetchOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Outcomes[casefile.OutcomeCreated] != 1 {
		t.Errorf("after the database came back: %v, want 1 created", st.Outcomes)
	}
	if got := w.folders(); got != "Inbox 0, Processed 3, Quarantine 2" {
		t.Errorf("folders: %s", got)
	}
}

// failing is intake, but the message "fails" fails as a database would
// while dbDown (counting the attempts), and "panics" makes it panic.
func failing(w *world, dbDown *atomic.Bool, failed *atomic.Int32) func(context.Context, []mailin.Fetched) ([]casefile.IngestResult, []error) {
	return func(ctx context.Context, msgs []mailin.Fetched) ([]casefile.IngestResult, []error) {
		for _, m := range msgs {
			if bytes.Contains(m.Raw, []byte("<panics@")) {
				panic("index out of range")
			}
		}
		var pass []mailin.Fetched
		var at []int
		res, errs := make([]casefile.IngestResult, len(msgs)), make([]error, len(msgs))
		for i, m := range msgs {
			if bytes.Contains(m.Raw, []byte("<fails@")) && dbDown.Load() {
				failed.Add(1)
				errs[i] = errors.New("database is locked")
				continue
			}
			pass, at = append(pass, m), append(at, i)
		}
		r, e := w.intake.IngestFetched(ctx, pass)
		for j, i := range at {
			res[i], errs[i] = r[j], e[j]
		}
		return res, errs
	}
}

// TestOversizeQuarantined: a message over the size limit is never
// downloaded whole: its header (from internetMessageHeaders) is
// quarantined with the limit, and it is moved to Quarantine.
func TestOversizeQuarantined(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	big := append(application("big"), bytes.Repeat([]byte("an attachment nobody should download\r\n"), 200000)...)
	w.deliver(t, application("small"), big)
	wt := w.watcher(t)
	wt.MaxMessageSize = 8192
	st, err := wt.FetchOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Oversize != 1 || st.Outcomes[casefile.OutcomeQuarantined] != 1 || st.Outcomes[casefile.OutcomeCreated] != 1 {
		t.Errorf("stats %+v", st)
	}
	if got := w.folders(); got != "Inbox 0, Processed 1, Quarantine 1" {
		t.Errorf("folders: %s", got)
	}
	w.e.WaitIdle(t.Context().Done())
	var read int64
	for _, c := range w.e.Calls() {
		if c.Op == "value" {
			read += c.Written
		}
	}
	if read >= int64(len(big)) {
		t.Errorf("%d bytes of MIME were read: the big message was downloaded", read)
	}
	list, err := w.store.QuarantineList(t.Context(), false)
	if err != nil || len(list) != 1 {
		t.Fatalf("quarantine %+v %v", list, err)
	}
	rec, err := w.store.QuarantineItem(t.Context(), list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.MessageKey != "big@example.net" || !strings.Contains(rec.Error, "8192 bytes") ||
		!bytes.Contains(rec.Raw, []byte("Subject: Please review my complaints")) || bytes.Contains(rec.Raw, []byte("attachment nobody")) {
		t.Errorf("quarantined %q (%s):\n%s", rec.MessageKey, rec.Error, rec.Raw)
	}
}

// TestMutableIDs: with ids that change when a message moves, a message
// filed before that comes back to the Inbox under a new id is known by its
// Message-ID and the instant it was received, and only moved.
func TestMutableIDs(t *testing.T) {
	w := newWorld(t, graphemu.Options{MIMEVaries: true})
	w.deliver(t, application("m1"))
	wt := w.watcher(t)
	wt.Client.MutableIDs = true
	if _, err := wt.FetchOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	// A person moves it to Archive and back: a new id each time.
	c := w.client()
	c.MutableIDs = true
	id := w.e.Messages(mbox, "Processed")[0].ID
	id, err := c.Move(t.Context(), mbox, id, "archive")
	if err != nil {
		t.Fatal(err)
	}
	back, err := c.Move(t.Context(), mbox, id, "inbox")
	if err != nil || back == id {
		t.Fatalf("moved back as %q (%v): want a new id", back, err)
	}
	st, err := wt.FetchOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Outcomes[casefile.OutcomeDuplicate] != 1 || st.Handled() != 1 || w.folders() != "Inbox 0, Processed 1, Quarantine 0" {
		t.Errorf("%+v, %s: want it known and moved", st, w.folders())
	}
	if n := w.dbCount(t, `SELECT count(*) FROM messages`); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
}

// TestThrottledAndFailing: Graph throttles (429 with Retry-After) and
// fails (503, 504) on the way; the client waits as asked and the watcher
// files everything once.
func TestThrottledAndFailing(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	for i := range 10 {
		w.deliver(t, application(fmt.Sprintf("t%d", i)))
	}
	w.e.Throttle(3, 2*time.Second)
	for _, op := range []string{"delta", "value", "move", "value"} {
		w.e.InjectFault(graphemu.Fault{Op: op, Status: 503, RetryAfter: time.Second})
	}
	w.e.InjectFault(graphemu.Fault{Op: "move", Status: 504})
	st, err := w.watcher(t).FetchOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Outcomes[casefile.OutcomeCreated] != 10 || w.folders() != "Inbox 0, Processed 10, Quarantine 0" {
		t.Errorf("%+v, %s", st, w.folders())
	}
	by := map[int]int{}
	for _, c := range w.e.Calls() {
		by[c.Status]++
	}
	if by[429] < 3 || by[503] != 4 || by[504] != 1 {
		t.Errorf("calls by status %v: the faults were not met", by)
	}
}

// TestRun: the daemon's loop polls, files what arrives, says it is
// connected, and reports a refusal (the app's role on the mailbox removed)
// without stopping; once the role is back it works again.
func TestRun(t *testing.T) {
	w := newWorld(t, graphemu.Options{})
	o := newOutcomes()
	wt := w.watcher(t)
	wt.Config.PollInterval = casefile.Duration{Duration: 10 * time.Millisecond}
	wt.ReconnectMin, wt.ReconnectMax = time.Millisecond, 10*time.Millisecond
	wt.OnOutcome = o.record
	connected := make(chan bool, 100)
	wt.OnConnected = func(up bool) { connected <- up }
	errs := make(chan error, 100)
	wt.OnError = func(err error) { errs <- err }
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- wt.Run(ctx) }()
	if up := <-connected; !up {
		t.Fatal("first report: not connected")
	}
	w.deliver(t, application("run1"))
	if got := o.waitFor(t, 1); got[0] != casefile.OutcomeCreated {
		t.Errorf("outcome %v", got)
	}

	w.e.Revoke(appID, mbox, graphemu.MailReadWrite)
	err := <-errs
	if !strings.Contains(err.Error(), "403 ErrorAccessDenied") || !strings.Contains(err.Error(), "Mail.ReadWrite") {
		t.Errorf("the refusal reported as %v", err)
	}
	if up := <-connected; up {
		t.Error("still connected after a refusal")
	}
	w.e.Grant(appID, mbox, graphemu.MailReadWrite)
	if up := <-connected; !up {
		t.Error("not connected again once the role is back")
	}
	w.deliver(t, application("run2"))
	o.waitFor(t, 1)
	for deadline := time.Now().Add(60 * time.Second); w.count("Processed") < 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond) // filed, then moved
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("Run returned %v", err)
	}
	if got := w.folders(); got != "Inbox 0, Processed 2, Quarantine 0" {
		t.Errorf("folders: %s", got)
	}
}
