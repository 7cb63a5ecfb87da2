package imapwatch_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/mailin/imapwatch"
)

// mailDate is the day the test mail is written and delivered: its Date
// header, and the INTERNALDATE the tests' APPENDs give (a real Dovecot
// would otherwise stamp its own clock).
var mailDate = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// MustOpenStore opens a case file on a temporary file. Its clock starts
// five minutes after the mail was delivered and runs at real speed, so
// that the references and deadlines it gives are the same on any day.
func MustOpenStore(tb testing.TB) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(filepath.Join(tb.TempDir(), "trigger.db"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	start, base := time.Now(), mailDate.Add(5*time.Minute)
	s.Clock = func() time.Time { return base.Add(time.Since(start)) }
	return s
}

// StoreIngest is a small stand-in for mail intake's parser: it reads the
// Message-ID and files the message, quarantining what it cannot parse.
func StoreIngest(s *sqlite.Store) imapwatch.IngestFunc {
	return func(ctx context.Context, raw []byte, date time.Time) (casefile.IngestResult, error) {
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			return s.Quarantine(ctx, "", raw, fmt.Errorf("parse: %w", err))
		}
		from := ""
		if a, err := mail.ParseAddress(m.Header.Get("From")); err == nil {
			from = a.Address
		}
		return s.Ingest(ctx, casefile.Inbound{
			MessageID:  m.Header.Get("Message-Id"),
			Raw:        raw,
			ReceivedAt: date,
			Subject:    m.Header.Get("Subject"),
			From:       from,
		})
	}
}

// outcomes records what the watcher reported, for assertions and waits.
type outcomes struct {
	mu   sync.Mutex
	seen map[string]int
	ch   chan string
}

func newOutcomes() *outcomes {
	return &outcomes{seen: map[string]int{}, ch: make(chan string, 100000)}
}

func (o *outcomes) record(outcome string) {
	o.mu.Lock()
	o.seen[outcome]++
	o.mu.Unlock()
	o.ch <- outcome
}

func (o *outcomes) get(outcome string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seen[outcome]
}

// waitFor waits until n more outcomes were reported. The deadline only
// keeps a broken test from hanging; nothing is asserted about time.
func (o *outcomes) waitFor(tb testing.TB, n int) []string {
	tb.Helper()
	var got []string
	deadline := time.After(60 * time.Second)
	for len(got) < n {
		select {
		case x := <-o.ch:
			got = append(got, x)
		case <-deadline:
			tb.Fatalf("waited for %d outcomes, got %v", n, got)
		}
	}
	return got
}

// storeCount counts rows in a table of the case file.
func storeCount(tb testing.TB, s *sqlite.Store, query string, args ...any) int {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+s.Path()+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return n
}

func messagesStored(tb testing.TB, s *sqlite.Store) int {
	tb.Helper()
	return storeCount(tb, s, `SELECT count(*) FROM messages`)
}

// testMessage is an application email with a Message-ID of id@example.org.
func testMessage(id string, body string) []byte {
	if body == "" {
		body = "I would like to apply for a Community Trigger review.\r\n"
	}
	return []byte("From: Resident " + id + " <resident." + id + "@example.org>\r\n" +
		"To: communitytrigger@example-council.gov.uk\r\n" +
		"Subject: Community Trigger application\r\n" +
		"Message-ID: <" + id + "@example.org>\r\n" +
		"Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" + body)
}

func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// literal is a message to APPEND.
type literal struct {
	*bytes.Reader
}

func newLiteral(b []byte) literal { return literal{bytes.NewReader(b)} }

func (l literal) Size() int64 { return l.Reader.Size() }

var _ io.Reader = literal{}
