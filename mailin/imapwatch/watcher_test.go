package imapwatch_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/internal/testcert"
	"github.com/csp/trigger/mailin/imapwatch"
	"github.com/csp/trigger/mailin/memimap"
)

// memServer is the project's in-memory IMAP server (mailin/memimap).
type memServer struct {
	*memimap.Server
}

type memOptions struct {
	caps      imap.CapSet
	tls       string      // "", implicit, starttls
	serverTLS *tls.Config // for tls
	wrap      func(n int32, c net.Conn) net.Conn
}

func startMemServer(tb testing.TB, o memOptions) *memServer {
	tb.Helper()
	u, err := memimap.NewUser("ct", "secret")
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := memimap.ServeWith("127.0.0.1:0", u, memimap.Options{Caps: o.caps, TLS: o.tls, TLSConfig: o.serverTLS, Wrap: o.wrap})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	return &memServer{srv}
}

func (ms *memServer) append(tb testing.TB, mailbox string, raw []byte) {
	tb.Helper()
	if _, err := ms.User.Append(mailbox, newLiteral(raw), &imap.AppendOptions{Time: mailDate}); err != nil {
		tb.Fatal(err)
	}
}

func (ms *memServer) count(tb testing.TB, mailbox string) int {
	tb.Helper()
	st, err := ms.User.Status(mailbox, &imap.StatusOptions{NumMessages: true})
	if err != nil {
		if strings.Contains(err.Error(), "No such mailbox") {
			return 0
		}
		tb.Fatal(err)
	}
	return int(*st.NumMessages)
}

func newWatcher(tb testing.TB, addr string, s *sqlite.Store, ingest imapwatch.IngestFunc, o *outcomes) *imapwatch.Watcher {
	cfg := casefile.DefaultConfig().IMAP
	cfg.Address = addr
	cfg.TLS = "none"
	cfg.Username = "ct"
	cfg.PollInterval = casefile.Duration{Duration: time.Hour}
	w := &imapwatch.Watcher{
		Config: cfg, Password: "secret", Store: s, Ingest: ingest, Logger: testLogger(tb),
		RetryDelay: 10 * time.Millisecond, ReconnectMin: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond,
	}
	if o != nil {
		w.OnOutcome = o.record
	}
	return w
}

// runWatcher runs w.Run in the background until the test ends.
func runWatcher(tb testing.TB, w *imapwatch.Watcher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				tb.Errorf("Run: %v", err)
			}
		})
	}
	tb.Cleanup(stop)
	return stop
}

func TestFetchOnce(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		ms := startMemServer(t, memOptions{})
		s := MustOpenStore(t)
		for _, id := range []string{"a1", "a2", "a3"} {
			ms.append(t, "INBOX", testMessage(id, ""))
		}
		w := newWatcher(t, ms.Addr, s, StoreIngest(s), nil)
		st, err := w.FetchOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Outcomes[casefile.OutcomeCreated] != 3 || st.Moved != 3 {
			t.Errorf("stats = %+v, want 3 created and moved", st)
		}
		if n := ms.count(t, "INBOX"); n != 0 {
			t.Errorf("INBOX holds %d messages, want 0", n)
		}
		if n := ms.count(t, "Processed"); n != 3 {
			t.Errorf("Processed holds %d messages, want 3", n)
		}
		if n := messagesStored(t, s); n != 3 {
			t.Errorf("%d messages stored, want 3", n)
		}
		uv, last, err := s.IMAPCheckpoint(context.Background(), "INBOX")
		if err != nil || uv == 0 || last != 3 {
			t.Errorf("checkpoint = %d/%d (%v), want the UIDVALIDITY and 3", uv, last, err)
		}
		if w.Connected() {
			t.Error("Connected after FetchOnce returned")
		}
	})

	// Without MOVE the watcher copies, flags \Deleted and expunges by UID.
	t.Run("NoMoveExtension", func(t *testing.T) {
		ms := startMemServer(t, memOptions{caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}}})
		s := MustOpenStore(t)
		ms.append(t, "INBOX", testMessage("b1", ""))
		ms.append(t, "INBOX", testMessage("b2", ""))
		w := newWatcher(t, ms.Addr, s, StoreIngest(s), nil)
		if _, err := w.FetchOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		if in, done := ms.count(t, "INBOX"), ms.count(t, "Processed"); in != 0 || done != 2 {
			t.Errorf("INBOX %d, Processed %d; want 0 and 2", in, done)
		}
	})

	t.Run("ImplicitTLS", func(t *testing.T) {
		srvTLS, cliTLS := testcert.New(t)
		ms := startMemServer(t, memOptions{tls: "implicit", serverTLS: srvTLS})
		s := MustOpenStore(t)
		ms.append(t, "INBOX", testMessage("c1", ""))
		w := newWatcher(t, ms.Addr, s, StoreIngest(s), nil)
		w.Config.TLS, w.TLSConfig = "implicit", cliTLS
		if _, err := w.FetchOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := ms.count(t, "Processed"); n != 1 {
			t.Errorf("Processed holds %d, want 1", n)
		}
	})

	t.Run("STARTTLS", func(t *testing.T) {
		srvTLS, cliTLS := testcert.New(t)
		ms := startMemServer(t, memOptions{tls: "starttls", serverTLS: srvTLS})
		s := MustOpenStore(t)
		ms.append(t, "INBOX", testMessage("d1", ""))
		w := newWatcher(t, ms.Addr, s, StoreIngest(s), nil)
		w.Config.TLS, w.TLSConfig = "starttls", cliTLS
		if _, err := w.FetchOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := ms.count(t, "Processed"); n != 1 {
			t.Errorf("Processed holds %d, want 1", n)
		}
	})

	t.Run("UntrustedCertificate", func(t *testing.T) {
		srvTLS, _ := testcert.New(t)
		ms := startMemServer(t, memOptions{tls: "implicit", serverTLS: srvTLS})
		s := MustOpenStore(t)
		w := newWatcher(t, ms.Addr, s, StoreIngest(s), nil)
		w.Config.TLS = "implicit"
		if _, err := w.FetchOnce(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("FetchOnce = %v, want a certificate error", err)
		}
	})

	t.Run("WrongPassword", func(t *testing.T) {
		ms := startMemServer(t, memOptions{})
		s := MustOpenStore(t)
		w := newWatcher(t, ms.Addr, s, StoreIngest(s), nil)
		w.Password = "wrong"
		_, err := w.FetchOnce(context.Background())
		if err == nil || !strings.Contains(err.Error(), "log in as ct") || strings.Contains(err.Error(), "wrong") {
			t.Errorf("FetchOnce = %v, want a login error without the password", err)
		}
	})
}

// IDLE wakes the watcher: with a poll interval of an hour, a message
// appended while it idles is ingested.
func TestIdleWakesWatcher(t *testing.T) {
	ms := startMemServer(t, memOptions{})
	s := MustOpenStore(t)
	o := newOutcomes()
	w := newWatcher(t, ms.Addr, s, StoreIngest(s), o)
	idling := make(chan struct{}, 10)
	imapwatch.SetIdleHook(w, func() { idling <- struct{}{} })
	runWatcher(t, w)

	<-idling
	if !w.Connected() {
		t.Error("Connected() = false while idling")
	}
	ms.append(t, "INBOX", testMessage("idle1", ""))
	if got := o.waitFor(t, 1); got[0] != casefile.OutcomeCreated {
		t.Fatalf("outcome %q, want created", got[0])
	}
	<-idling // back in IDLE after moving it
	if in, done := ms.count(t, "INBOX"), ms.count(t, "Processed"); in != 0 || done != 1 {
		t.Errorf("INBOX %d, Processed %d; want 0 and 1", in, done)
	}
	ms.append(t, "INBOX", testMessage("idle2", ""))
	o.waitFor(t, 1)
	if n := messagesStored(t, s); n != 2 {
		t.Errorf("%d messages stored, want 2", n)
	}
}

// Without IDLE the watcher polls.
func TestPolling(t *testing.T) {
	ms := startMemServer(t, memOptions{})
	s := MustOpenStore(t)
	o := newOutcomes()
	w := newWatcher(t, ms.Addr, s, StoreIngest(s), o)
	w.Config.PollInterval.Duration = 20 * time.Millisecond
	imapwatch.DisableIdle(w)
	runWatcher(t, w)
	ms.append(t, "INBOX", testMessage("poll1", ""))
	o.waitFor(t, 1)
	ms.append(t, "INBOX", testMessage("poll2", ""))
	o.waitFor(t, 1)
	if n := messagesStored(t, s); n != 2 {
		t.Errorf("%d messages stored, want 2", n)
	}
}

// A crash after the database commit and before the MOVE leaves the message
// in the mailbox; the next run finds it a duplicate and only moves it.
func TestCrashBetweenCommitAndMove(t *testing.T) {
	ms := startMemServer(t, memOptions{})
	s := MustOpenStore(t)
	ms.append(t, "INBOX", testMessage("crash1", ""))

	ctx, kill := context.WithCancel(context.Background())
	committed := false
	crashing := func(ictx context.Context, raw []byte, date time.Time) (casefile.IngestResult, error) {
		res, err := StoreIngest(s)(ictx, raw, date)
		committed = err == nil
		kill() // the process dies here, before the MOVE
		return res, err
	}
	w := newWatcher(t, ms.Addr, s, crashing, nil)
	if _, err := w.FetchOnce(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("FetchOnce = %v, want context.Canceled", err)
	}
	if !committed {
		t.Fatal("the ingest did not commit")
	}
	if in, done := ms.count(t, "INBOX"), ms.count(t, "Processed"); in != 1 || done != 0 {
		t.Fatalf("after the crash INBOX %d, Processed %d; want 1 and 0", in, done)
	}

	// Restart: a new watcher, as after a new process.
	o := newOutcomes()
	w2 := newWatcher(t, ms.Addr, s, StoreIngest(s), o)
	if _, err := w2.FetchOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := o.get(casefile.OutcomeDuplicate); n != 1 {
		t.Errorf("duplicate outcomes = %d, want 1", n)
	}
	if n := messagesStored(t, s); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
	if cases, _ := s.Cases(context.Background(), ""); len(cases) != 1 {
		t.Errorf("%d cases, want 1", len(cases))
	}
	if in, done := ms.count(t, "INBOX"), ms.count(t, "Processed"); in != 0 || done != 1 {
		t.Errorf("after the restart INBOX %d, Processed %d; want 0 and 1", in, done)
	}
}

// Poison messages never block the mailbox: one intake cannot parse (it
// quarantines it) and one that panics are quarantined; the good ones around
// them are processed. A message whose filing keeps failing for a reason
// that is not the message's (the database) is never quarantined: it stays
// in the mailbox, the checkpoint waits for it, and it is filed once the
// database is back.
func TestPoisonMessages(t *testing.T) {
	ms := startMemServer(t, memOptions{})
	s := MustOpenStore(t)
	ms.append(t, "INBOX", testMessage("good1", ""))
	ms.append(t, "INBOX", []byte("this line is not a header\r\nnor is this\r\n\r\nbody\r\n"))
	ms.append(t, "INBOX", testMessage("fails", ""))
	ms.append(t, "INBOX", testMessage("panics", ""))
	ms.append(t, "INBOX", testMessage("good2", ""))

	var failCalls atomic.Int32
	var dbDown atomic.Bool
	dbDown.Store(true)
	ingest := func(ctx context.Context, raw []byte, date time.Time) (casefile.IngestResult, error) {
		switch {
		case bytes.Contains(raw, []byte("<fails@")) && dbDown.Load():
			failCalls.Add(1)
			return casefile.IngestResult{}, errors.New("database is locked")
		case bytes.Contains(raw, []byte("<panics@")):
			panic("index out of range")
		}
		return StoreIngest(s)(ctx, raw, date)
	}
	w := newWatcher(t, ms.Addr, s, ingest, nil)
	st, err := w.FetchOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Outcomes[casefile.OutcomeCreated] != 2 || st.Outcomes[casefile.OutcomeQuarantined] != 2 {
		t.Errorf("outcomes = %v, want 2 created and 2 quarantined", st.Outcomes)
	}
	if n := failCalls.Load(); n != 3 {
		t.Errorf("the failing message was tried %d times, want 3 (MaxAttempts)", n)
	}
	if in, done, q := ms.count(t, "INBOX"), ms.count(t, "Processed"), ms.count(t, "Quarantine"); in != 1 || done != 2 || q != 2 {
		t.Errorf("INBOX %d, Processed %d, Quarantine %d; want 1, 2, 2", in, done, q)
	}
	list, err := s.QuarantineList(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	var errs []string
	for _, r := range list {
		errs = append(errs, r.Error)
	}
	all := strings.Join(errs, "\n")
	for _, want := range []string{"parse:", "ingest panicked: index out of range"} {
		if !strings.Contains(all, want) {
			t.Errorf("quarantine errors %q lack %q", errs, want)
		}
	}
	if strings.Contains(all, "database is locked") {
		t.Errorf("a message was quarantined because the database failed: %q", errs)
	}
	if _, last, _ := s.IMAPCheckpoint(context.Background(), "INBOX"); last != 2 {
		t.Errorf("checkpoint last UID = %d, want 2: it waits for the message not yet filed", last)
	}

	// The database is back: the next pass files it.
	dbDown.Store(false)
	st, err = w.FetchOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Outcomes[casefile.OutcomeCreated] != 1 {
		t.Errorf("after the database came back: outcomes = %v, want 1 created", st.Outcomes)
	}
	if in, done := ms.count(t, "INBOX"), ms.count(t, "Processed"); in != 0 || done != 3 {
		t.Errorf("INBOX %d, Processed %d; want 0 and 3", in, done)
	}
	if _, last, _ := s.IMAPCheckpoint(context.Background(), "INBOX"); last != 5 {
		t.Errorf("checkpoint last UID = %d, want 5", last)
	}
}

// A message over MaxMessageSize is not downloaded: its header is
// quarantined with the size and the limit, and it is moved to Quarantine.
func TestOversizeQuarantined(t *testing.T) {
	ms := startMemServer(t, memOptions{})
	s := MustOpenStore(t)
	big := testMessage("big", strings.Repeat("an attachment nobody should download\r\n", 200))
	ms.append(t, "INBOX", testMessage("small", ""))
	ms.append(t, "INBOX", big)
	w := newWatcher(t, ms.Addr, s, StoreIngest(s), nil)
	w.Config.MaxMessageSize = 2048
	st, err := w.FetchOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Oversize != 1 || st.Outcomes[casefile.OutcomeQuarantined] != 1 || st.Outcomes[casefile.OutcomeCreated] != 1 {
		t.Errorf("stats = %+v", st)
	}
	if st.Bytes >= int64(len(big)) {
		t.Errorf("downloaded %d bytes: the big message was downloaded", st.Bytes)
	}
	list, err := s.QuarantineList(context.Background(), false)
	if err != nil || len(list) != 1 {
		t.Fatalf("quarantine = %v, %v; want one record", list, err)
	}
	rec, err := s.QuarantineItem(context.Background(), list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2048", strconv.Itoa(len(big))} {
		if !strings.Contains(rec.Error, want) {
			t.Errorf("quarantine error %q does not name %s", rec.Error, want)
		}
	}
	if rec.MessageKey != "big@example.org" {
		t.Errorf("quarantined as %q, want its Message-ID", rec.MessageKey)
	}
	if bytes.Contains(rec.Raw, []byte("attachment nobody")) || !bytes.Contains(rec.Raw, []byte("Subject: Community Trigger")) {
		t.Errorf("quarantined raw is not the header only:\n%s", rec.Raw)
	}
	if q, done := ms.count(t, "Quarantine"), ms.count(t, "Processed"); q != 1 || done != 1 {
		t.Errorf("Quarantine %d, Processed %d; want 1 and 1", q, done)
	}
}

// A recreated mailbox (new UIDVALIDITY, UIDs from 1 again) is rescanned
// from the start; messages ingested before are duplicates, only moved.
func TestUIDValidityReset(t *testing.T) {
	ms := startMemServer(t, memOptions{})
	s := MustOpenStore(t)
	ctx := context.Background()
	ms.append(t, "INBOX", testMessage("r1", ""))
	ms.append(t, "INBOX", testMessage("r2", ""))
	w := newWatcher(t, ms.Addr, s, StoreIngest(s), nil)
	if _, err := w.FetchOnce(ctx); err != nil {
		t.Fatal(err)
	}
	uv1, last1, _ := s.IMAPCheckpoint(ctx, "INBOX")

	// The server's INBOX is recreated and refilled, say from a backup:
	// both old messages come back with UIDs 1 and 2, then a new one.
	if err := ms.User.Delete("INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := ms.User.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	ms.append(t, "INBOX", testMessage("r1", ""))
	ms.append(t, "INBOX", testMessage("r2", ""))
	ms.append(t, "INBOX", testMessage("r3", ""))

	o := newOutcomes()
	w.OnOutcome = o.record
	if _, err := w.FetchOnce(ctx); err != nil {
		t.Fatal(err)
	}
	uv2, last2, _ := s.IMAPCheckpoint(ctx, "INBOX")
	if uv2 == uv1 || last1 != 2 || last2 != 3 {
		t.Errorf("checkpoints %d/%d then %d/%d: want a new UIDVALIDITY and last UID 3", uv1, last1, uv2, last2)
	}
	if d, c := o.get(casefile.OutcomeDuplicate), o.get(casefile.OutcomeCreated); d != 2 || c != 1 {
		t.Errorf("%d duplicates, %d created; want 2 and 1", d, c)
	}
	if n := messagesStored(t, s); n != 3 {
		t.Errorf("%d messages stored, want 3", n)
	}
	if in, done := ms.count(t, "INBOX"), ms.count(t, "Processed"); in != 0 || done != 5 {
		t.Errorf("INBOX %d, Processed %d; want 0 and 5", in, done)
	}
}

// dropConn cuts the server's side of a connection in the middle of a
// FETCH: once it is about to send the marker, it sends half and closes.
type dropConn struct {
	net.Conn
	marker  []byte
	dropped *atomic.Bool
}

func (c *dropConn) Write(b []byte) (int, error) {
	if i := bytes.Index(b, c.marker); i >= 0 && !c.dropped.Swap(true) {
		c.Conn.Write(b[:i+len(c.marker)/2])
		c.Conn.Close()
		return 0, io.ErrClosedPipe
	}
	return c.Conn.Write(b)
}

// The connection drops in the middle of downloading a batch: the watcher
// reconnects, and every message is stored exactly once.
func TestConnectionDroppedMidFetch(t *testing.T) {
	var dropped atomic.Bool
	ms := startMemServer(t, memOptions{wrap: func(n int32, c net.Conn) net.Conn {
		if n == 1 {
			return &dropConn{Conn: c, marker: []byte("CUT-HERE-CUT-HERE"), dropped: &dropped}
		}
		return c
	}})
	s := MustOpenStore(t)
	const total = 7
	for i := 1; i <= total; i++ {
		body := ""
		if i == 4 {
			body = strings.Repeat("CUT-HERE-CUT-HERE\r\n", 400)
		}
		ms.append(t, "INBOX", testMessage("drop"+strconv.Itoa(i), body))
	}
	o := newOutcomes()
	var calls sync.Map
	ingest := func(ctx context.Context, raw []byte, date time.Time) (casefile.IngestResult, error) {
		n, _ := calls.LoadOrStore(string(raw[:80]), new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		return StoreIngest(s)(ctx, raw, date)
	}
	w := newWatcher(t, ms.Addr, s, ingest, o)
	w.BatchSize = 2
	idling := make(chan struct{}, 10)
	imapwatch.SetIdleHook(w, func() { idling <- struct{}{} })
	runWatcher(t, w)
	// Wait until every message was created. Messages whose MOVE was in
	// flight when the connection dropped come back as duplicates: they
	// are stored once all the same.
	for o.get(casefile.OutcomeCreated) < total {
		o.waitFor(t, 1)
	}
	if !dropped.Load() {
		t.Fatal("the connection was never dropped")
	}
	if n := ms.Accepts(); n < 2 {
		t.Errorf("%d connections, want a reconnection", n)
	}
	if n := o.get(casefile.OutcomeCreated); n != total {
		t.Errorf("%d created, want %d", n, total)
	}
	t.Logf("%d duplicates (moves lost with the connection)", o.get(casefile.OutcomeDuplicate))
	calls.Range(func(k, v any) bool {
		if n := v.(*atomic.Int32).Load(); n > 2 {
			t.Errorf("a message was ingested %d times", n)
		}
		return true
	})
	if n := messagesStored(t, s); n != total {
		t.Errorf("%d messages stored, want %d", n, total)
	}
	<-idling // the watcher idles once the mailbox is drained and moved
	if in, done := ms.count(t, "INBOX"), ms.count(t, "Processed"); in != 0 || done != total {
		t.Errorf("INBOX %d, Processed %d; want 0 and %d", in, done, total)
	}
}

// commandLog keeps what the client sends on a connection.
type commandLog struct {
	net.Conn
	mu   *sync.Mutex
	sent *bytes.Buffer
}

func (c commandLog) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	c.sent.Write(b[:n])
	c.mu.Unlock()
	return n, err
}

// A backlog leaves the mailbox in MOVEs of a tenth of the pass, not one
// per unit: 60 messages filed two at a time go in 10 MOVEs to Processed,
// and the one quarantined in the group it was filed with, to Quarantine.
// Every message is moved once, and the checkpoint passes them all.
func TestMovesInGroups(t *testing.T) {
	var mu sync.Mutex
	var sent bytes.Buffer
	ms := startMemServer(t, memOptions{wrap: func(n int32, c net.Conn) net.Conn {
		return commandLog{Conn: c, mu: &mu, sent: &sent}
	}})
	s := MustOpenStore(t)
	const total = 60
	for i := 1; i <= total; i++ {
		raw := testMessage("group"+strconv.Itoa(i), "")
		if i == 7 {
			raw = []byte("this is not an email at all")
		}
		ms.append(t, "INBOX", raw)
	}
	o := newOutcomes()
	w := newWatcher(t, ms.Addr, s, StoreIngest(s), o)
	w.BatchSize = 2
	st, err := w.FetchOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	log := sent.String()
	mu.Unlock()
	toProcessed, toQuarantine := strings.Count(log, "MOVE "), 0
	for _, line := range strings.Split(log, "\r\n") {
		if strings.Contains(line, "MOVE ") && strings.HasSuffix(strings.Trim(line, `"`), "Quarantine") {
			toQuarantine++
		}
	}
	toProcessed -= toQuarantine
	if toProcessed != 10 || toQuarantine != 1 {
		t.Errorf("%d MOVEs to Processed and %d to Quarantine, want 10 and 1:\n%s", toProcessed, toQuarantine, log)
	}
	if st.Moved != total || ms.count(t, "INBOX") != 0 || ms.count(t, "Processed") != total-1 || ms.count(t, "Quarantine") != 1 {
		t.Errorf("moved %d; INBOX %d, Processed %d, Quarantine %d; want %d moved, 0, %d, 1",
			st.Moved, ms.count(t, "INBOX"), ms.count(t, "Processed"), ms.count(t, "Quarantine"), total, total-1)
	}
	if _, last, err := s.IMAPCheckpoint(context.Background(), "INBOX"); err != nil || last != total {
		t.Errorf("checkpoint %d (%v), want %d", last, err, total)
	}
}
