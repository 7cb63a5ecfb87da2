package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// MustOpenStore opens a store on a real database file in a temporary
// directory, with a clock the test controls.
func MustOpenStore(tb testing.TB) (*sqlite.Store, *Clock) {
	tb.Helper()
	return MustOpenStoreAt(tb, filepath.Join(tb.TempDir(), "trigger.db"))
}

// MustOpenStoreAt opens a store on the given file.
func MustOpenStoreAt(tb testing.TB, path string) (*sqlite.Store, *Clock) {
	tb.Helper()
	s, err := sqlite.Open(path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	clk := &Clock{t: time.Date(2026, 10, 12, 10, 0, 0, 0, casefile.London)}
	s.Clock = clk.Now
	return s, clk
}

// Clock is a settable clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func yes() *bool { b := true; return &b }

// sampleApplication is the web-form sample of shared/samples: three
// complaints to three agencies, each qualifying.
func sampleApplication() casefile.Application {
	return casefile.Application{
		Route:     casefile.RouteIndividual,
		Applicant: casefile.Person{Name: "Lucy Fielding", Email: "lucy.fielding@example.net", Phone: "07700 900123", Address: "27 Mill Street, Measham", Postcode: "de12 7hs"},
		Location:  "Alleyway between Mill Street and the High Street",
		Incidents: []casefile.Incident{
			{OccurredOn: casefile.MustDate("2026-08-02"), ReportedOn: casefile.MustDate("2026-08-03"), Agency: "police", Reference: "0345 of 03/08/2026"},
			{OccurredOn: casefile.MustDate("2026-08-28"), ReportedOn: casefile.MustDate("2026-08-28"), Agency: "council", Reference: "ASB/2026/0981"},
			{OccurredOn: casefile.MustDate("2026-09-19"), ReportedOn: casefile.MustDate("2026-09-21"), Agency: "housing", Reference: "FH-20931"},
		},
		ConsentToShare: yes(),
	}
}

func mustCreate(tb testing.TB, s *sqlite.Store, app casefile.Application) *casefile.Case {
	tb.Helper()
	c, err := s.CreateCase(context.Background(), casefile.NewCase{Application: app, Source: "staff", Actor: who("test")})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func writeFile(tb testing.TB, path, body string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// who is a person in Slack with every role a person can have, so that the
// store's tests of the workflow are not refused; the permission tests build
// their actors with exactly the roles they test.
func who(id string) casefile.Actor {
	return casefile.Actor{ID: id, Roles: []casefile.Role{casefile.RoleCoordinator, casefile.RoleChair, casefile.RoleApprover}}
}
