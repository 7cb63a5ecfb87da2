package graph_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/csp/trigger/internal/graph"
	"github.com/csp/trigger/internal/graphemu"
)

const (
	mbox  = "cst@council.example"
	appID = "trigger"
)

// emuTokens is a caching token source over the emulator's token endpoint,
// like the service's client credentials source: it keeps its token until
// told Graph refused it.
type emuTokens struct {
	e   *graphemu.Emulator
	app string

	mu     sync.Mutex
	cur    *oauth2.Token
	issued int
}

func (s *emuTokens) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		s.cur = &oauth2.Token{AccessToken: s.e.IssueToken(s.app, time.Hour), TokenType: "Bearer"}
		s.issued++
	}
	return s.cur, nil
}

func (s *emuTokens) Invalidate(rejected string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && s.cur.AccessToken == rejected {
		s.cur = nil
	}
}

func (s *emuTokens) Issued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

type world struct {
	e      *graphemu.Emulator
	c      *graph.Client
	tokens *emuTokens

	mu     sync.Mutex
	sleeps []time.Duration
}

// newWorld serves an emulator with the service's mailbox, the app granted
// Mail.ReadWrite and Mail.Send on it, and a client whose waits advance the
// emulator's clock instead of sleeping: a test sees in the call log when,
// in emulated time, each retry came.
func newWorld(t *testing.T, opts graphemu.Options) *world {
	t.Helper()
	e := graphemu.New(opts)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	e.SetBaseURL(srv.URL)
	e.AddMailbox(mbox)
	e.AddApp(appID)
	e.Grant(appID, mbox, graphemu.MailReadWrite, graphemu.MailSend)
	w := &world{e: e, tokens: &emuTokens{e: e, app: appID}}
	w.c = w.client(w.tokens)
	w.c.BaseURL = srv.URL
	return w
}

func (w *world) client(ts oauth2.TokenSource) *graph.Client {
	return &graph.Client{
		BaseURL: w.e.URL(),
		Tokens:  ts,
		Sleep: func(ctx context.Context, d time.Duration) error {
			w.mu.Lock()
			w.sleeps = append(w.sleeps, d)
			w.mu.Unlock()
			w.e.Advance(d)
			return ctx.Err()
		},
	}
}

func (w *world) Sleeps() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.sleeps...)
}

func (w *world) deliver(t *testing.T, folder string, raw []byte) string {
	t.Helper()
	id, err := w.e.Deliver(mbox, folder, raw)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// callsOf lists the calls of one operation.
func (w *world) callsOf(op string) []graphemu.Call {
	var out []graphemu.Call
	for _, c := range w.e.Calls() {
		if c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

func message(id string) []byte {
	return []byte("From: Resident <resident@example.org>\r\nTo: cst@council.example\r\nSubject: Noise " + id +
		"\r\nMessage-ID: <" + id + "@example.org>\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\n\r\nLoud music every night.\r\n")
}

func msgID(id string) string { return fmt.Sprintf("<%s@example.org>", id) }
