package mailout_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/outbox"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/internal/graph"
	"github.com/csp/trigger/internal/graphemu"
	"github.com/csp/trigger/mailout"
)

const graphApp = "trigger"

// graphEnv is a case file and a Microsoft 365 tenant (graphemu), with a
// Sender sending through Graph between them.
type graphEnv struct {
	*env
	Emu    *graphemu.Emulator
	Tokens *graphTokens
}

// graphTokens hands out the emulator's app-only tokens; fail makes the
// next ones fail, as a token endpoint that refuses the app.
type graphTokens struct {
	e    *graphemu.Emulator
	mu   sync.Mutex
	cur  *oauth2.Token
	fail error
}

func (s *graphTokens) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	if s.cur == nil {
		s.cur = &oauth2.Token{AccessToken: s.e.IssueToken(graphApp, 24*time.Hour), TokenType: "Bearer"}
	}
	return s.cur, nil
}

func (s *graphTokens) failWith(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

func newGraphEnv(t *testing.T) *graphEnv {
	t.Helper()
	emu := graphemu.New(graphemu.Options{Start: start})
	hs := httptest.NewServer(emu)
	t.Cleanup(hs.Close)
	emu.SetBaseURL(hs.URL)
	emu.AddMailbox(serviceMailbox)
	emu.AddApp(graphApp)
	emu.Grant(graphApp, serviceMailbox, graphemu.MailReadWrite, graphemu.MailSend)

	cfg := casefile.DefaultConfig()
	cfg.Mail.Sender = casefile.MailGraph
	cfg.Graph.Mailbox = serviceMailbox
	cfg.SMTP.From = "Community Trigger <" + serviceMailbox + ">"
	cfg.Partnership.Name = "Exampleton Community Safety Partnership"
	cfg.Partnership.ContactEmail = "communitysafety@example-council.gov.uk"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "trigger.db"), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	clk := &clock{t: start}
	s.Clock = clk.Now
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tokens := &graphTokens{e: emu}
	client := &graph.Client{BaseURL: hs.URL, Tokens: tokens, Sleep: func(ctx context.Context, d time.Duration) error {
		emu.Advance(d)
		return ctx.Err()
	}}
	snd := &mailout.Sender{Config: cfg.SMTP, Store: s, Partnership: cfg.Partnership, Service: s.Config, Logger: log,
		Graph: client, GraphMailbox: serviceMailbox}
	return &graphEnv{
		env: &env{Store: s, Clock: clk, Sender: snd,
			Disp: &outbox.Dispatcher{Store: s, Prefix: "email.", Handler: snd, Poll: 10 * time.Millisecond, Logger: log}},
		Emu: emu, Tokens: tokens,
	}
}

// sendOnce claims the case's email job and handles it once, as a worker
// does, returning the job and the handler's error.
func (e *graphEnv) sendOnce(t *testing.T) (casefile.Job, error) {
	t.Helper()
	jobs, err := e.Store.ClaimJobs(context.Background(), "email.", 10, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v %v", jobs, err)
	}
	_, herr := e.Sender.Handle(context.Background(), jobs[0])
	return jobs[0], herr
}

// TestGraphAcknowledgement: the acknowledgement is sent through Graph's
// sendMail, from the mailbox, with our Message-ID and our headers, and
// Exchange keeps it in Sent Items; the case records it sent.
func TestGraphAcknowledgement(t *testing.T) {
	e := newGraphEnv(t)
	c := e.newCase(t)
	e.drain(t)
	sent := e.Emu.Sent(serviceMailbox)
	if len(sent) != 1 {
		t.Fatalf("%d messages in Sent Items, want the acknowledgement", len(sent))
	}
	h, text := readMail(t, sent[0].Raw)
	id, _ := h.MessageID()
	subject, _ := h.Subject()
	from, _ := h.AddressList("From")
	to, _ := h.AddressList("To")
	if !ourIDRE.MatchString(id) || "<"+id+">" != sent[0].InternetMessageID {
		t.Errorf("Message-ID %q (Exchange has %q): want ours, kept", id, sent[0].InternetMessageID)
	}
	if len(from) != 1 || from[0].Address != serviceMailbox || len(to) != 1 || to[0].Address != "jane.resident@example.org" {
		t.Errorf("From %v To %v", from, to)
	}
	if h.Get("Auto-Submitted") != "auto-replied" || !strings.Contains(subject, "["+c.Ref+"]") || !strings.Contains(text, "Jane Resident") {
		t.Errorf("headers or text not ours: Auto-Submitted %q, Subject %q\n%s", h.Get("Auto-Submitted"), subject, text)
	}
	if j := e.job(t, c.Ref, casefile.JobEmailAck); j.State != "done" {
		t.Errorf("job %+v", j)
	}
	full, err := e.Store.Case(context.Background(), c.Ref)
	if err != nil {
		t.Fatal(err)
	}
	recorded := false
	for _, m := range full.Messages {
		recorded = recorded || (m.Direction == "out" && m.MessageID == id)
	}
	if !recorded {
		t.Errorf("the case does not record the acknowledgement %s: %+v", id, full.Messages)
	}
}

// TestGraphThrottled: Graph throttles sendMail for longer than the client
// waits by itself: the job waits as Graph asked, without using an attempt
// or falling in doubt, and is sent once afterwards.
func TestGraphThrottled(t *testing.T) {
	e := newGraphEnv(t)
	c := e.newCase(t)
	e.Emu.Throttle(1, 10*time.Minute)
	e.drain(t)
	j := e.job(t, c.Ref, casefile.JobEmailAck)
	if j.State != "pending" || j.NextRun == nil || j.NextRun.Sub(e.Clock.Now()) != 10*time.Minute {
		t.Fatalf("throttled for 10 minutes: job %+v, want it to wait 10 minutes", j)
	}
	e.Emu.Advance(10 * time.Minute)
	e.Clock.Advance(10 * time.Minute)
	e.drain(t)
	if n := len(e.Emu.Sent(serviceMailbox)); n != 1 {
		t.Errorf("%d sent, want 1", n)
	}
	if j := e.job(t, c.Ref, casefile.JobEmailAck); j.State != "done" || j.Attempts != 1 {
		t.Errorf("job %+v: want done at the one attempt (a wait is not an attempt)", j)
	}
	events, _ := e.Store.Events(context.Background(), c.Ref)
	for _, ev := range events {
		if ev.Kind == "mail.in_doubt" {
			t.Error("a throttled email, which Graph never took, was left in doubt")
		}
	}
}

// TestGraphNoAnswerInDoubt: Graph fails sendMail with a 503 after the
// hand-over: the email may have gone, so it is never sent again; the
// coordinator is asked to check.
func TestGraphNoAnswerInDoubt(t *testing.T) {
	e := newGraphEnv(t)
	c := e.newCase(t)
	e.Emu.InjectFault(graphemu.Fault{Op: "sendMail", Status: 503})
	j, err := e.sendOnce(t)
	if err == nil {
		t.Fatal("a 503, yet no error")
	}
	if err := e.Store.RetryJob(context.Background(), j, err, e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(time.Hour)
	e.drain(t)
	if n := len(e.Emu.Sent(serviceMailbox)); n != 0 {
		t.Errorf("%d sent after the 503: an email in doubt is never sent again", n)
	}
	events, _ := e.Store.Events(context.Background(), c.Ref)
	inDoubt := false
	for _, ev := range events {
		inDoubt = inDoubt || ev.Kind == "mail.in_doubt"
	}
	if !inDoubt {
		t.Error("no mail.in_doubt event: the coordinator is not asked to check")
	}
}

// TestGraphRefusedIsRetried: a refusal of the service's own set-up — the
// app's Mail.Send role removed, no token — sends nothing and ends nothing:
// the job waits, out of doubt, and is sent once the set-up is mended.
func TestGraphRefusedIsRetried(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		break_     func(e *graphEnv)
		mend       func(e *graphEnv)
	}{
		{"MailSendRevoked", "needs Mail.Send",
			func(e *graphEnv) { e.Emu.Revoke(graphApp, serviceMailbox, graphemu.MailSend) },
			func(e *graphEnv) { e.Emu.Grant(graphApp, serviceMailbox, graphemu.MailSend) }},
		{"NoToken", "AADSTS7000222",
			func(e *graphEnv) { e.Tokens.failWith(errors.New("oauth2: AADSTS7000222: the client secret expired")) },
			func(e *graphEnv) { e.Tokens.failWith(nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newGraphEnv(t)
			c := e.newCase(t)
			tc.break_(e)
			j, err := e.sendOnce(t)
			var perm *casefile.PermanentError
			if err == nil || errors.As(err, &perm) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v: want a temporary failure saying %q", err, tc.want)
			}
			if err := e.Store.RetryJob(context.Background(), j, err, e.Clock.Now()); err != nil {
				t.Fatal(err)
			}
			tc.mend(e)
			e.Clock.Advance(time.Hour)
			e.drain(t)
			if n := len(e.Emu.Sent(serviceMailbox)); n != 1 {
				t.Errorf("%d sent once mended, want 1", n)
			}
			if j := e.job(t, c.Ref, casefile.JobEmailAck); j.State != "done" {
				t.Errorf("job %+v", j)
			}
		})
	}
}
