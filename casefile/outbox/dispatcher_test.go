package outbox_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/outbox"
	"github.com/csp/trigger/casefile/sqlite"
)

// The dispatcher runs here against the real store on a database file, with
// a clock the test moves: days of retrying take no time. Handlers stand in
// for Slack and the mail server, failing as they would.

// clock is the store's clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Monday 2 March 2026, 10:00 in London.
var start = time.Date(2026, 3, 2, 10, 0, 0, 0, casefile.London)

// The applicant's personal data, which no ended-job notice, email, audit
// event or error may carry.
var personal = []string{"Jane Resident", "jane.resident@example.org", "07700 900123", "Acacia", "LE67 3FJ", "le67 3fj"}

type env struct {
	t     *testing.T
	store *sqlite.Store
	clock *clock
	db    *sql.DB
}

func newEnv(t *testing.T, edit func(*casefile.Config)) *env {
	t.Helper()
	cfg := casefile.DefaultConfig()
	cfg.Roles.CoordinatorEmail = casefile.IDList{"sam.patel@example-council.gov.uk"}
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "trigger.db")
	s, err := sqlite.Open(path, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	clk := &clock{t: start}
	s.Clock = clk.Now
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &env{t: t, store: s, clock: clk, db: db}
}

// newCase opens a case for Jane, who applies for herself: it queues the
// channel (slack.create_channel) and the acknowledgement (email.ack).
func (e *env) newCase() *casefile.Case {
	e.t.Helper()
	c, err := e.store.CreateCase(context.Background(), casefile.NewCase{
		Application: casefile.Application{
			Route: casefile.RouteIndividual,
			Applicant: casefile.Person{
				Name: "Jane Resident", Email: "jane.resident@example.org", Phone: "07700 900123",
				Address: "12 Acacia Avenue, Exampleton", Postcode: "le67 3fj",
			},
			Description: "Loud music every night.",
			Agencies:    []string{"police"},
		},
		Source: "email", Actor: casefile.System("intake"),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// handlerFunc is a function standing in for an adapter.
type handlerFunc func(ctx context.Context, j casefile.Job) (casefile.JobDone, error)

func (f handlerFunc) Handle(ctx context.Context, j casefile.Job) (casefile.JobDone, error) {
	return f(ctx, j)
}

func (e *env) dispatcher(prefix string, h handlerFunc) *outbox.Dispatcher {
	return &outbox.Dispatcher{Store: e.store, Prefix: prefix, Handler: h, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// run drives d as time passes: it does what is ready, and when nothing is,
// moves the clock to the next job's time — until stop holds or the clock
// reaches until.
func (e *env) run(d *outbox.Dispatcher, until time.Time, stop func() bool) {
	e.t.Helper()
	ctx := context.Background()
	for i := 0; ; i++ {
		if i > 100000 {
			e.t.Fatal("the dispatcher never settled")
		}
		if stop != nil && stop() {
			return
		}
		n, err := d.RunOnce(ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		if n > 0 {
			continue
		}
		var next sql.NullInt64
		if err := e.db.QueryRow(`SELECT MIN(run_after) FROM outbox WHERE state = 'pending' AND kind LIKE ? || '%'`, d.Prefix).Scan(&next); err != nil {
			e.t.Fatal(err)
		}
		if !next.Valid {
			return
		}
		at := time.UnixMilli(next.Int64)
		if at.After(until) {
			e.clock.Set(until)
			return
		}
		if at.After(e.clock.Now()) {
			e.clock.Set(at)
		}
	}
}

// job is the case's job of kind, as `trigger outbox list` shows it.
func (e *env) job(ref, kind string) casefile.JobInfo {
	e.t.Helper()
	jobs, err := e.store.Jobs(context.Background(), ref)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Kind == kind {
			return j
		}
	}
	e.t.Fatalf("no %s job for %s in %+v", kind, ref, jobs)
	return casefile.JobInfo{}
}

// jobs are the case's jobs of kind with their payloads.
func (e *env) payloads(ref, kind string) []string {
	e.t.Helper()
	rows, err := e.db.Query(`SELECT o.payload FROM outbox o JOIN cases c ON c.id = o.case_id WHERE c.ref = ? AND o.kind = ? ORDER BY o.id`, ref, kind)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// ended is the case's job.ended events.
func (e *env) ended(ref string) []casefile.Event {
	e.t.Helper()
	evs, err := e.store.Events(context.Background(), ref)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []casefile.Event
	for _, ev := range evs {
		if ev.Kind == "job.ended" {
			out = append(out, ev)
		}
	}
	return out
}

func (e *env) noPersonalData(where, s string) {
	e.t.Helper()
	for _, p := range personal {
		if strings.Contains(s, p) {
			e.t.Errorf("%s carries the applicant's %q: %s", where, p, s)
		}
	}
}

// An SMTP outage of a day loses nothing: the acknowledgement is retried,
// at most casefile.MaxBackoff apart, is still pending after 24 hours, and
// goes as soon as the server is back.
func TestOutageOfADay(t *testing.T) {
	e := newEnv(t, nil)
	c := e.newCase()
	back := start.Add(24 * time.Hour)
	var tries []time.Time
	d := e.dispatcher("email.", func(ctx context.Context, j casefile.Job) (casefile.JobDone, error) {
		tries = append(tries, e.clock.Now())
		if e.clock.Now().Before(back) {
			return casefile.JobDone{}, errors.New("smtp: connect to mail.example:587: connection refused")
		}
		return casefile.JobDone{}, nil
	})

	e.run(d, back.Add(-time.Second), nil)
	j := e.job(c.Ref, casefile.JobEmailAck)
	if j.State != casefile.JobStatePending || j.FirstErrorAt == nil || !j.FirstErrorAt.Equal(start) {
		t.Fatalf("after 24 hours of outage the acknowledgement is %+v, want pending, failing since %s", j, start)
	}
	if len(e.ended(c.Ref)) != 0 {
		t.Errorf("a job ended during a day's outage: %+v", e.ended(c.Ref))
	}
	for i := 1; i < len(tries); i++ {
		if gap := tries[i].Sub(tries[i-1]); gap > casefile.MaxBackoff {
			t.Fatalf("tries %d and %d were %s apart, more than %s", i-1, i, gap, casefile.MaxBackoff)
		}
	}

	e.run(d, back.Add(casefile.MaxBackoff), nil)
	j = e.job(c.Ref, casefile.JobEmailAck)
	if j.State != casefile.JobStateDone {
		t.Fatalf("once the server is back the acknowledgement is %+v, want done", j)
	}
	last := tries[len(tries)-1]
	if last.Sub(back) > casefile.MaxBackoff {
		t.Errorf("sent %s after the server came back, more than %s", last.Sub(back), casefile.MaxBackoff)
	}
	t.Logf("%d tries over the day; sent %s after the server came back", len(tries), last.Sub(back))
}

// A job that keeps failing ends once it has been failing for give_up_after
// (from its first failure, to the minute), and the coordinator is told in
// the case channel: what was not done, why, and what to do, with the
// Acknowledged button.
func TestGiveUpAfter(t *testing.T) {
	// 36 hours rather than the default 7 days, to spare the test a
	// thousand tries: long enough to outlast the day of TestOutageOfADay.
	e := newEnv(t, func(c *casefile.Config) { c.Outbox.GiveUpAfter = casefile.Duration{Duration: 36 * time.Hour} })
	c := e.newCase()
	var last time.Time
	d := e.dispatcher("email.", func(ctx context.Context, j casefile.Job) (casefile.JobDone, error) {
		last = e.clock.Now()
		return casefile.JobDone{}, errors.New("smtp: connect to mail.example:587: connection refused")
	})
	d.GiveUpAfter = e.store.Config.Outbox.GiveUpAfter.Duration
	e.run(d, start.Add(30*24*time.Hour), nil)

	j := e.job(c.Ref, casefile.JobEmailAck)
	if j.State != casefile.JobStateDead || j.EndReason != casefile.EndGaveUp {
		t.Fatalf("the acknowledgement is %+v, want dead, gave_up", j)
	}
	if got := j.EndedAt.Sub(*j.FirstErrorAt); got != 36*time.Hour {
		t.Errorf("it ended after failing for %s, want exactly 36h", got)
	}
	if !last.Equal(*j.EndedAt) {
		t.Errorf("last try at %s, ended at %s: the last try should fall on the give-up time", last, j.EndedAt)
	}
	evs := e.ended(c.Ref)
	if len(evs) != 1 || evs[0].Details["reason"] != casefile.EndGaveUp || evs[0].Details["told"] != "slack" || evs[0].Actor != "outbox" {
		t.Fatalf("job.ended events %+v, want one, gave_up, told in slack", evs)
	}
	notices := e.payloads(c.Ref, casefile.JobSlackNotify)
	if len(notices) != 1 {
		t.Fatalf("%d notices, want 1: %v", len(notices), notices)
	}
	var n casefile.NotifyJob
	if err := json.Unmarshal([]byte(notices[0]), &n); err != nil {
		t.Fatal(err)
	}
	want := "The acknowledgement to the applicant could not be sent: it kept failing for 36 hours, and the service has stopped trying (the last error: the error was: smtp: connect to mail.example:587: connection refused). Contact the applicant another way (post or phone), then press *Acknowledged*."
	if n.Text != want || n.Prompt != "acknowledged" || !n.Coordinator || n.Ended != j.ID {
		t.Errorf("notice %+v\nwant text %q, the Acknowledged button, for the coordinator, about job %d", n, want, j.ID)
	}
}

// A permanent refusal ends the job at once; the audit trail and the
// outbox keep the error without the address the server quoted.
func TestPermanentEndsWithNotice(t *testing.T) {
	e := newEnv(t, nil)
	c := e.newCase()
	d := e.dispatcher("email.", func(ctx context.Context, j casefile.Job) (casefile.JobDone, error) {
		return casefile.JobDone{}, casefile.Permanent(fmt.Errorf("job %d (%s): smtp: RCPT TO: the recipient was refused: SMTP error 550: 5.1.1 <jane.resident@example.org>: no such user", j.ID, j.CaseRef))
	})
	e.run(d, start.Add(time.Hour), nil)

	j := e.job(c.Ref, casefile.JobEmailAck)
	if j.State != casefile.JobStateDead || j.EndReason != casefile.EndPermanent || j.Attempts != 1 {
		t.Fatalf("the acknowledgement is %+v, want dead (permanent) after one attempt", j)
	}
	e.noPersonalData("the job's last error", j.LastError)
	if !strings.Contains(j.LastError, "<address>") {
		t.Errorf("last error %q: the address should be replaced by <address>", j.LastError)
	}
	evs := e.ended(c.Ref)
	if len(evs) != 1 {
		t.Fatalf("job.ended events %+v", evs)
	}
	b, _ := json.Marshal(evs[0].Details)
	e.noPersonalData("the job.ended event", string(b))
	if evs[0].Details["kind"] != casefile.JobEmailAck || evs[0].Details["reason"] != casefile.EndPermanent || evs[0].Details["job"] != float64(j.ID) {
		t.Errorf("job.ended details %s", b)
	}
	notices := e.payloads(c.Ref, casefile.JobSlackNotify)
	if len(notices) != 1 || !strings.Contains(notices[0], "The acknowledgement to the applicant could not be sent: the mail server refused the address (550). Contact the applicant another way") {
		t.Errorf("notices %v", notices)
	}
	for _, n := range notices {
		e.noPersonalData("the notice", n)
	}
}

// Waiting for the channel, a rate limit or working hours uses no attempt,
// never starts the give-up clock, and never ends the job, however long.
func TestWaitsUseNoAttempts(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		for_ time.Duration // how long it waits: longer than give_up_after (1h here)
	}{
		{"NoChannelYet", casefile.Wait(errors.New("waiting: CT-2026-0001 has no channel yet"), 0), 90 * time.Minute},
		{"RateLimited", &casefile.RetryAfterError{Err: errors.New("chat.postMessage: slack rate limit exceeded"), After: 2 * time.Minute}, 90 * time.Minute},
		{"OutsideWorkingHours", &casefile.RetryAfterError{Err: errors.New("outside working hours"), After: 15 * time.Hour}, 10 * 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *casefile.Config) { c.Outbox.GiveUpAfter = casefile.Duration{Duration: time.Hour} })
			c := e.newCase()
			ready := start.Add(tc.for_)
			waits := 0
			d := e.dispatcher("slack.", func(ctx context.Context, j casefile.Job) (casefile.JobDone, error) {
				if j.Attempts != 1 {
					t.Fatalf("the job came with attempt %d after %d waits: waits must not count", j.Attempts, waits)
				}
				if e.clock.Now().Before(ready) {
					waits++
					return casefile.JobDone{}, tc.err
				}
				return casefile.JobDone{}, nil
			})
			d.GiveUpAfter = time.Hour
			e.run(d, ready.Add(-time.Second), nil)
			j := e.job(c.Ref, casefile.JobSlackCreateChannel)
			if j.State != casefile.JobStatePending || j.Attempts != 0 || j.FirstErrorAt != nil {
				t.Fatalf("after %d waits over %s the job is %+v, want pending, 0 attempts, never failed", waits, tc.for_, j)
			}
			e.run(d, ready.Add(casefile.MaxBackoff+15*time.Hour), nil)
			if j := e.job(c.Ref, casefile.JobSlackCreateChannel); j.State != casefile.JobStateDone || j.Attempts != 1 {
				t.Fatalf("the job is %+v, want done at its first attempt", j)
			}
			if waits < 2 {
				t.Errorf("only %d waits", waits)
			}
		})
	}
}

// A Slack job that ends is told by email, since Slack is what failed: an
// email to [roles] coordinator_email with the case reference and no
// personal data.
func TestSlackJobEndsByEmail(t *testing.T) {
	e := newEnv(t, nil)
	c := e.newCase()
	d := e.dispatcher("slack.", func(ctx context.Context, j casefile.Job) (casefile.JobDone, error) {
		return casefile.JobDone{}, casefile.Permanent(errors.New("conversations.create: restricted_action"))
	})
	e.run(d, start.Add(time.Hour), nil)

	if j := e.job(c.Ref, casefile.JobSlackCreateChannel); j.State != casefile.JobStateDead {
		t.Fatalf("channel job %+v, want dead", j)
	}
	if n := e.payloads(c.Ref, casefile.JobSlackNotify); len(n) != 0 {
		t.Errorf("a Slack notice about Slack failing: %v", n)
	}
	mails := e.payloads(c.Ref, casefile.JobEmailCoordinator)
	if len(mails) != 1 {
		t.Fatalf("%d emails to the coordinator, want 1", len(mails))
	}
	var m casefile.CoordinatorEmailJob
	if err := json.Unmarshal([]byte(mails[0]), &m); err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Community Trigger CT-2026-0001: action needed: the Slack channel for this case could not be created" {
		t.Errorf("subject %q", m.Subject)
	}
	for _, want := range []string{"Why: Slack answered `restricted_action`.", "You are told by email because Slack is the part that failed.", "`trigger outbox retry 1`"} {
		if !strings.Contains(strings.Join(strings.Fields(m.Text), " "), want) {
			t.Errorf("email text lacks %q:\n%s", want, m.Text)
		}
	}
	e.noPersonalData("the email to the coordinator", mails[0])
	if evs := e.ended(c.Ref); len(evs) != 1 || evs[0].Details["told"] != "email" {
		t.Errorf("job.ended %+v, want told by email", evs)
	}

	// The acknowledgement that ends later has no channel to be told in:
	// it is told by email too.
	mail := e.dispatcher("email.", func(ctx context.Context, j casefile.Job) (casefile.JobDone, error) {
		if j.Kind == casefile.JobEmailCoordinator {
			return casefile.JobDone{}, nil
		}
		return casefile.JobDone{}, casefile.Permanent(errors.New("smtp: RCPT TO: the recipient was refused: SMTP error 550: no such user"))
	})
	e.run(mail, start.Add(2*time.Hour), nil)
	mails = e.payloads(c.Ref, casefile.JobEmailCoordinator)
	if len(mails) != 2 {
		t.Fatalf("emails to the coordinator %v: want a second, about the acknowledgement", mails)
	}
	json.Unmarshal([]byte(mails[1]), &m)
	if !strings.HasSuffix(m.Subject, "the acknowledgement to the applicant could not be sent") ||
		!strings.Contains(strings.Join(strings.Fields(m.Text), " "), "You are told by email because the case has no channel in Slack.") {
		t.Errorf("second email %+v", m)
	}
}

// The notice about an ended email that cannot be posted in Slack either is
// told by email: the email explains the email that ended.
func TestNoticeEndsByEmail(t *testing.T) {
	e := newEnv(t, nil)
	c := e.newCase()
	mail := e.dispatcher("email.", func(ctx context.Context, j casefile.Job) (casefile.JobDone, error) {
		if j.Kind == casefile.JobEmailCoordinator {
			return casefile.JobDone{}, nil
		}
		return casefile.JobDone{}, casefile.Permanent(errors.New("smtp: RCPT TO: the recipient was refused: SMTP error 550: no such user"))
	})
	slack := e.dispatcher("slack.", func(ctx context.Context, j casefile.Job) (casefile.JobDone, error) {
		if j.Kind == casefile.JobSlackNotify {
			return casefile.JobDone{}, casefile.Permanent(errors.New("chat.postMessage: channel_not_found"))
		}
		return casefile.JobDone{}, nil
	})
	e.run(mail, start.Add(time.Hour), nil)
	e.run(slack, start.Add(time.Hour), nil)

	mails := e.payloads(c.Ref, casefile.JobEmailCoordinator)
	if len(mails) != 1 {
		t.Fatalf("%d emails to the coordinator, want 1", len(mails))
	}
	var m casefile.CoordinatorEmailJob
	json.Unmarshal([]byte(mails[0]), &m)
	text := strings.Join(strings.Fields(m.Text), " ")
	for _, want := range []string{
		"What was not done: The acknowledgement to the applicant could not be sent.",
		"Why: The mail server refused the address (550).",
		"Contact the applicant another way (post or phone), then press Acknowledged.",
		"could not be posted in the case channel either: Slack answered `channel_not_found`.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("email lacks %q:\n%s", want, m.Text)
		}
	}
	ack := e.job(c.Ref, casefile.JobEmailAck)
	if m.Ended != ack.ID || !strings.HasSuffix(m.Subject, "action needed: the acknowledgement to the applicant could not be sent") {
		t.Errorf("email about job %d, subject %q", m.Ended, m.Subject)
	}

	// The email to the coordinator is the last resort: when it ends,
	// nothing more is queued (the log, /readyz and outbox list show it).
	before := len(e.payloads(c.Ref, casefile.JobSlackNotify))
	failing := e.dispatcher("email.", func(ctx context.Context, j casefile.Job) (casefile.JobDone, error) {
		return casefile.JobDone{}, casefile.Permanent(errors.New("smtp: RCPT TO: the recipient was refused: SMTP error 550: no such user"))
	})
	e.run(failing, start.Add(2*time.Hour), nil)
	evs := e.ended(c.Ref)
	if last := evs[len(evs)-1]; last.Details["kind"] != casefile.JobEmailCoordinator || last.Details["told"] != "nobody" {
		t.Errorf("last job.ended %+v, want the coordinator's email, told nobody", last)
	}
	if len(e.payloads(c.Ref, casefile.JobEmailCoordinator)) != 1 || len(e.payloads(c.Ref, casefile.JobSlackNotify)) != before {
		t.Errorf("an ended email to the coordinator queued more work")
	}
}

// With no address for the coordinator, a Slack job that ends is recorded
// as told nobody, and nothing is queued that could never be sent.
func TestNoCoordinatorEmail(t *testing.T) {
	e := newEnv(t, func(c *casefile.Config) { c.Roles.CoordinatorEmail = nil })
	c := e.newCase()
	d := e.dispatcher("slack.", func(ctx context.Context, j casefile.Job) (casefile.JobDone, error) {
		return casefile.JobDone{}, casefile.Permanent(errors.New("conversations.create: restricted_action"))
	})
	e.run(d, start.Add(time.Hour), nil)
	if evs := e.ended(c.Ref); len(evs) != 1 || evs[0].Details["told"] != "nobody" {
		t.Errorf("job.ended %+v, want told nobody", evs)
	}
	if m := e.payloads(c.Ref, casefile.JobEmailCoordinator); len(m) != 0 {
		t.Errorf("emails queued with no address: %v", m)
	}
}
