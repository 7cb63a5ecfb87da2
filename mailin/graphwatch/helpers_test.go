package graphwatch_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/internal/graph"
	"github.com/csp/trigger/internal/graphemu"
	"github.com/csp/trigger/mailin"
	"github.com/csp/trigger/mailin/graphwatch"
)

const (
	mbox  = "communitytrigger@example-council.gov.uk"
	appID = "trigger"
)

// mailDate is the day the test mail is written.
var mailDate = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// world is a Microsoft 365 tenant (graphemu) holding the service's mailbox,
// and the service's case file on a real database file with real mail
// intake. The emulator's clock starts at mailDate and runs at real speed;
// the client's waits (Retry-After, backoff) move it instead of sleeping.
type world struct {
	e      *graphemu.Emulator
	store  *sqlite.Store
	intake *mailin.Intake
	tokens *tokens
}

func newWorld(t *testing.T, opts graphemu.Options) *world {
	t.Helper()
	opts.Start = mailDate
	e := graphemu.New(opts)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	e.SetBaseURL(srv.URL)
	e.AddMailbox(mbox)
	e.AddApp(appID)
	e.Grant(appID, mbox, graphemu.MailReadWrite, graphemu.MailSend)
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "trigger.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	start, base := time.Now(), mailDate.Add(5*time.Minute)
	s.Clock = func() time.Time { return base.Add(time.Since(start)) }
	return &world{e: e, store: s, intake: &mailin.Intake{Store: s}, tokens: &tokens{e: e}}
}

// tokens hands out the emulator's app-only tokens, as the service's
// client credentials source does, renewing one Graph refused.
type tokens struct {
	e   *graphemu.Emulator
	mu  sync.Mutex
	cur *oauth2.Token
}

func (s *tokens) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		s.cur = &oauth2.Token{AccessToken: s.e.IssueToken(appID, 24*time.Hour), TokenType: "Bearer"}
	}
	return s.cur, nil
}

func (s *tokens) Invalidate(rejected string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && s.cur.AccessToken == rejected {
		s.cur = nil
	}
}

// client is the service's Graph client on this world.
func (w *world) client() *graph.Client {
	return &graph.Client{
		BaseURL: w.e.URL(), Tokens: w.tokens, PageSize: 3,
		Sleep: func(ctx context.Context, d time.Duration) error {
			w.e.Advance(d)
			return ctx.Err()
		},
	}
}

// watcher is a watcher as a new process makes it: nothing remembered but
// what is in the database.
func (w *world) watcher(t *testing.T) *graphwatch.Watcher {
	t.Helper()
	return &graphwatch.Watcher{
		Client: w.client(), Config: casefile.GraphConfig{Mailbox: mbox},
		Store: w.store, Ingest: w.intake.IngestFetched, RetryDelay: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func (w *world) deliver(t *testing.T, raws ...[]byte) {
	t.Helper()
	for _, raw := range raws {
		if _, err := w.e.Deliver(mbox, "inbox", raw); err != nil {
			t.Fatal(err)
		}
		w.e.Advance(time.Second) // each received at an instant of its own
	}
}

func (w *world) count(folder string) int { return len(w.e.Messages(mbox, folder)) }

// folders is the Inbox, Processed and Quarantine counts.
func (w *world) folders() string {
	return fmt.Sprintf("Inbox %d, Processed %d, Quarantine %d", w.count("inbox"), w.count("Processed"), w.count("Quarantine"))
}

// dbCount counts rows of the case file.
func (w *world) dbCount(t *testing.T, query string, args ...any) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+w.store.Path()+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// application is a resident's free-text application, as mail clients send
// it.
func application(id string) []byte {
	return crlf(fmt.Sprintf(`From: Resident %[1]s <resident.%[1]s@example.net>
To: %[2]s
Subject: Please review my complaints about next door
Date: Mon, 2 Mar 2026 09:00:00 +0000
Message-ID: <%[1]s@example.net>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello,

I would like a Community Trigger review. The tenants at 6 Oak Court have had
parties every weekend, with fights in the street.

I called the police on 5 February (incident 1123) and 19 February (incident
0877), and emailed the council on 23 February, who gave me ASB-2026-0444.

Resident %[1]s
8 Oak Court, Ashby de la Zouch LE65 1HX
`, id, mbox))
}

// outOfOffice is an automatic reply: stored, never a case.
func outOfOffice(id string) []byte {
	return crlf(fmt.Sprintf("From: Housing Officer <officer@housing.example>\nTo: %s\nSubject: Out of Office\nDate: Mon, 2 Mar 2026 09:00:00 +0000\nMessage-ID: <%s@housing.example>\nAuto-Submitted: auto-replied\n\nI am on leave until Monday.\n", mbox, id))
}

// unreadable is a message intake cannot parse: it is quarantined.
func unreadable() []byte {
	return []byte("this line is not a header\r\nnor is this\r\n\r\nbody\r\n")
}

func crlf(s string) []byte {
	out := make([]byte, 0, len(s)+len(s)/40)
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, '\r')
		}
		out = append(out, s[i])
	}
	return out
}

// outcomes records what the watcher reported, for waits.
type outcomes struct {
	mu   sync.Mutex
	seen map[string]int
	ch   chan string
}

func newOutcomes() *outcomes { return &outcomes{seen: map[string]int{}, ch: make(chan string, 10000)} }

func (o *outcomes) record(outcome string) {
	o.mu.Lock()
	o.seen[outcome]++
	o.mu.Unlock()
	o.ch <- outcome
}

// waitFor waits for n more outcomes. The deadline only keeps a broken test
// from hanging; nothing is asserted about time.
func (o *outcomes) waitFor(t *testing.T, n int) []string {
	t.Helper()
	var got []string
	deadline := time.After(60 * time.Second)
	for len(got) < n {
		select {
		case x := <-o.ch:
			got = append(got, x)
		case <-deadline:
			t.Fatalf("waited for %d outcomes, got %v", n, got)
		}
	}
	return got
}
