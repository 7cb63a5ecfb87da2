package mailout_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/outbox"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/internal/testcert"
	"github.com/csp/trigger/mailout"
	"github.com/csp/trigger/mailout/mailsink"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// clock is the store's clock in the tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a case file, a mail sink, and a Sender between them.
type env struct {
	Store  *sqlite.Store
	Clock  *clock
	Sink   *sink
	Sender *mailout.Sender
	Disp   *outbox.Dispatcher
}

// Monday 2 March 2026, 10:00 in London.
var start = time.Date(2026, 3, 2, 10, 0, 0, 0, casefile.London)

func newEnv(tb testing.TB, sk *sink) *env { return newEnvWith(tb, sk, nil) }

// newEnvWith is newEnv with the configuration shaped by the test.
func newEnvWith(tb testing.TB, sk *sink, shape func(*casefile.Config)) *env {
	tb.Helper()
	cfg := casefile.DefaultConfig()
	cfg.SMTP.Address = sk.Addr
	cfg.SMTP.TLS = "none"
	cfg.SMTP.From = "Community Trigger <communitytrigger@example-council.gov.uk>"
	cfg.Partnership.Name = "Exampleton Community Safety Partnership"
	cfg.Partnership.ContactEmail = "communitysafety@example-council.gov.uk"
	cfg.Partnership.ContactPhone = "01234 567890"
	if shape != nil {
		shape(&cfg)
		if err := cfg.Validate(); err != nil {
			tb.Fatal(err)
		}
	}
	s, err := sqlite.Open(filepath.Join(tb.TempDir(), "trigger.db"), &cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	clk := &clock{t: start}
	s.Clock = clk.Now
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	snd := &mailout.Sender{Config: cfg.SMTP, Store: s, Partnership: cfg.Partnership, Service: s.Config, Logger: log, Timeout: 10 * time.Second}
	return &env{
		Store: s, Clock: clk, Sink: sk, Sender: snd,
		Disp: &outbox.Dispatcher{Store: s, Prefix: "email.", Handler: snd, Poll: 10 * time.Millisecond, Logger: log},
	}
}

// newCase opens a case for Jane, who applies for herself.
func (e *env) newCase(tb testing.TB) *casefile.Case {
	tb.Helper()
	c, err := e.Store.CreateCase(context.Background(), casefile.NewCase{
		Application: casefile.Application{
			Route: casefile.RouteIndividual,
			Applicant: casefile.Person{
				Name: "Jane Resident", Email: "jane.resident@example.org", Phone: "07700 900123",
				Address: "12 Acacia Avenue, Exampleton", Postcode: "le67 3fj",
			},
			Location:    "outside 12 Acacia Avenue",
			Description: "Loud music every night and threats from the neighbours at number 14.",
			Agencies:    []string{"police", "council"},
		},
		Source: "email", Actor: who("intake"),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// drain runs the real dispatcher until the outbox has nothing ready.
func (e *env) drain(tb testing.TB) {
	tb.Helper()
	for range 20 {
		n, err := e.Disp.RunOnce(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	tb.Fatal("the outbox never emptied")
}

func (e *env) job(tb testing.TB, ref, kind string) casefile.JobInfo {
	tb.Helper()
	jobs, err := e.Store.Jobs(context.Background(), ref)
	if err != nil {
		tb.Fatal(err)
	}
	for _, j := range jobs {
		if j.Kind == kind {
			return j
		}
	}
	tb.Fatalf("no %s job for %s in %+v", kind, ref, jobs)
	return casefile.JobInfo{}
}

func readMail(tb testing.TB, raw []byte) (*mail.Header, string) {
	tb.Helper()
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		tb.Fatal(err)
	}
	var text []string
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		b, _ := io.ReadAll(p.Body)
		text = append(text, string(b))
	}
	return &r.Header, strings.Join(text, "\n--part--\n")
}

// ourIDRE is what our Message-IDs look like: "ct." and 32 characters of an
// HMAC, on our domain.
var ourIDRE = regexp.MustCompile(`^ct\.[a-z2-7]{32}@example-council\.gov\.uk$`)

func TestAcknowledgement(t *testing.T) {
	e := newEnv(t, startSink(t))
	c := e.newCase(t)
	e.drain(t)

	msgs := e.Sink.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d emails sent, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != "communitytrigger@example-council.gov.uk" || len(m.To) != 1 || m.To[0] != "jane.resident@example.org" {
		t.Errorf("envelope %s → %v", m.From, m.To)
	}
	h, body := readMail(t, m.Data)
	job := e.job(t, c.Ref, casefile.JobEmailAck)
	key, err := e.Store.MessageIDKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantID := mailout.MessageID(key, c.Ref, "ack", job.ID, "example-council.gov.uk")
	if !ourIDRE.MatchString(wantID) || strings.Contains(wantID, c.Ref) {
		t.Errorf("Message-ID %q: want ct.<32 letters of an HMAC>@our domain, naming nothing", wantID)
	}
	subject, _ := h.Subject()
	id, _ := h.MessageID()
	date, _ := h.Date()
	for _, check := range []struct{ name, got, want string }{
		{"Subject", subject, "[" + c.Ref + "] Your Community Trigger application has been received"},
		{"From", h.Get("From"), `"Community Trigger" <communitytrigger@example-council.gov.uk>`},
		{"To", h.Get("To"), "<jane.resident@example.org>"},
		{"Message-ID", id, wantID},
		{"Auto-Submitted", h.Get("Auto-Submitted"), "auto-replied"},
		{"X-Auto-Response-Suppress", h.Get("X-Auto-Response-Suppress"), "All"},
	} {
		if check.got != check.want {
			t.Errorf("%s = %q, want %q", check.name, check.got, check.want)
		}
	}
	if !date.Equal(start) {
		t.Errorf("Date = %v, want %v", date, start)
	}
	// Plain text, with the same words as HTML (large print when asked for).
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative;") {
		t.Errorf("Content-Type = %q, want multipart/alternative", ct)
	}
	for _, want := range []string{
		"Dear Jane Resident,",
		"Your reference is " + c.Ref + ".",
		"Within 10 working days", "by Monday 16 March 2026", // the threshold decision deadline
		"within 20 working days", "the Police, the District Council and the Housing provider",
		"999", "Community Safety Team Leader", "communitysafety@example-council.gov.uk", "01234 567890",
	} {
		if !strings.Contains(strings.Join(strings.Fields(body), " "), want) {
			t.Errorf("the body lacks %q:\n%s", want, body)
		}
	}
	for _, private := range []string{"Acacia", "07700", "Loud music", "number 14"} {
		if strings.Contains(body, private) {
			t.Errorf("the body repeats %q from the application", private)
		}
	}
	// The Message-ID is keyed to this database, and the MIME boundary is
	// derived from it: both stand in the golden file as names.
	sum := sha256.Sum256([]byte(wantID))
	boundary := "ct-" + hex.EncodeToString(sum[:12])
	normal := bytes.ReplaceAll(bytes.ReplaceAll(m.Data, []byte(c.Ref), []byte("CT-REF")), []byte(wantID), []byte("MESSAGE-ID"))
	golden(t, "ack.eml", bytes.ReplaceAll(normal, []byte(boundary), []byte("BOUNDARY")))

	// What the store recorded.
	if job.State != "done" {
		t.Errorf("ack job %+v, want done", job)
	}
	got, err := e.Store.Case(context.Background(), c.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if d := got.Deadlines[casefile.DeadlineAcknowledge]; d.DoneAt == nil {
		t.Errorf("acknowledge deadline %+v not done", d)
	}
	out := 0
	for _, msg := range got.Messages {
		if msg.Direction == "out" && msg.Kind == "ack" && msg.MessageID == wantID && strings.HasPrefix(msg.Subject, "["+c.Ref+"]") {
			out++
		}
	}
	if out != 1 {
		t.Errorf("case messages %+v: want the acknowledgement, direction out, once", got.Messages)
	}

	// Draining again sends nothing more.
	e.drain(t)
	if n := len(e.Sink.Messages()); n != 1 {
		t.Errorf("%d emails after a second drain, want 1", n)
	}
}

// The SMTP server is down: the job waits and is retried; once the server
// is back it is sent, once.
func TestServerDownThenUp(t *testing.T) {
	sk := newSink(t) // not started: connections are refused
	e := newEnv(t, sk)
	c := e.newCase(t)
	e.drain(t)
	j := e.job(t, c.Ref, casefile.JobEmailAck)
	if j.State != "pending" || j.Attempts != 1 || !strings.Contains(j.LastError, "connect") {
		t.Fatalf("after a refused connection the job is %+v, want pending with the error", j)
	}
	// The backoff holds it back: nothing is tried before the time.
	if n, _ := e.Disp.RunOnce(context.Background()); n != 0 {
		t.Errorf("the job was retried before its backoff")
	}

	sk.Start()
	e.Clock.Advance(time.Minute) // past the backoff, without sleeping
	e.drain(t)
	if n := len(sk.Messages()); n != 1 {
		t.Fatalf("%d emails, want 1", n)
	}
	if j := e.job(t, c.Ref, casefile.JobEmailAck); j.State != "done" || j.Attempts != 2 {
		t.Errorf("job %+v, want done at the second attempt", j)
	}
}

// A 550 is final: the job ends at once, and the coordinator is told in the
// case channel what was not done, why and what to do.
func TestRecipientRefused(t *testing.T) {
	sk := newSink(t)
	sk.RcptError = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
	sk.Start()
	e := newEnv(t, sk)
	c := e.newCase(t)
	e.drain(t)
	if j := e.job(t, c.Ref, casefile.JobEmailAck); j.State != "dead" || j.EndReason != casefile.EndPermanent || !strings.Contains(j.LastError, "550") {
		t.Errorf("job %+v, want dead (permanent) with the 550", j)
	}
	events, err := e.Store.Events(context.Background(), c.Ref)
	if err != nil {
		t.Fatal(err)
	}
	ended := false
	for _, ev := range events {
		ended = ended || (ev.Kind == "job.ended" && ev.Details["kind"] == casefile.JobEmailAck && ev.Details["told"] == "slack")
	}
	if !ended {
		t.Errorf("no job.ended event told in Slack in %+v", events)
	}
	notice := e.job(t, c.Ref, casefile.JobSlackNotify)
	if notice.State != "pending" {
		t.Errorf("the notice for the coordinator is %+v, want pending", notice)
	}
	if len(sk.Messages()) != 0 {
		t.Error("a refused email was delivered")
	}
}

// When Slack is the part that failed, the coordinator is told by email: to
// [roles] coordinator_email (else [partnership] contact_email), replies
// back to them rather than to the service's mailbox, automatic, and with
// no personal data of the applicant — only the case reference.
func TestCoordinatorEmail(t *testing.T) {
	for _, tc := range []struct {
		name, coordinator, want string
	}{
		{"CoordinatorEmail", "sam.patel@example-council.gov.uk", "sam.patel@example-council.gov.uk"},
		{"ContactEmail", "", "communitysafety@example-council.gov.uk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, startSink(t))
			if tc.coordinator != "" {
				e.Store.Config.Roles.CoordinatorEmail = casefile.IDList{tc.coordinator}
			}
			c := e.newCase(t)
			ctx := context.Background()
			// The channel could not be created: Slack refused for good.
			jobs, err := e.Store.ClaimJobs(ctx, "slack.", 1, time.Minute)
			if err != nil || len(jobs) != 1 || jobs[0].Kind != casefile.JobSlackCreateChannel {
				t.Fatalf("claim %+v, %v", jobs, err)
			}
			if err := e.Store.EndJob(ctx, jobs[0], casefile.EndPermanent, errors.New("conversations.create: restricted_action")); err != nil {
				t.Fatal(err)
			}
			e.drain(t)

			var mail *sunk
			for _, m := range e.Sink.Messages() {
				if m.To[0] == tc.want {
					mail = &m
				}
			}
			if mail == nil {
				t.Fatalf("no email to %s among %d", tc.want, len(e.Sink.Messages()))
			}
			h, body := readMail(t, mail.Data)
			subject, _ := h.Subject()
			if subject != "Community Trigger "+c.Ref+": action needed: the Slack channel for this case could not be created" {
				t.Errorf("subject %q", subject)
			}
			if got := h.Get("Reply-To"); got != "<"+tc.want+">" {
				t.Errorf("Reply-To %q, want the coordinator's address", got)
			}
			if h.Get("Auto-Submitted") != "auto-generated" {
				t.Errorf("Auto-Submitted %q", h.Get("Auto-Submitted"))
			}
			for _, line := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
				if len([]rune(line)) > 72 {
					t.Errorf("a line of %d characters, want at most 72: %q", len([]rune(line)), line)
				}
			}
			flat := strings.Join(strings.Fields(body), " ")
			for _, want := range []string{"Why: Slack answered `restricted_action`.", "trigger outbox retry " + strconv.FormatInt(jobs[0].ID, 10)} {
				if !strings.Contains(flat, want) {
					t.Errorf("the body lacks %q:\n%s", want, body)
				}
			}
			for _, private := range []string{"Jane", "jane.resident", "Acacia", "07700", "LE67", "Loud music"} {
				if strings.Contains(string(mail.Data), private) {
					t.Errorf("the email to the coordinator carries %q", private)
				}
			}
			// Kept in the audit trail, not among the case's correspondence.
			got, err := e.Store.Case(ctx, c.Ref)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range got.Messages {
				if m.Kind == "coordinator" {
					t.Errorf("the email to the coordinator is among the case's messages: %+v", m)
				}
			}
			evs, _ := e.Store.Events(ctx, c.Ref)
			sent := false
			for _, ev := range evs {
				sent = sent || (ev.Kind == "mail.sent" && ev.Details["kind"] == "coordinator")
			}
			if !sent {
				t.Errorf("no mail.sent event for the email to the coordinator: %+v", evs)
			}
		})
	}
}

// A 451 is temporary: the job is retried.
func TestTemporaryRefusal(t *testing.T) {
	sk := newSink(t)
	sk.RcptError = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	sk.Start()
	e := newEnv(t, sk)
	c := e.newCase(t)
	e.drain(t)
	if j := e.job(t, c.Ref, casefile.JobEmailAck); j.State != "pending" || !strings.Contains(j.LastError, "451") {
		t.Errorf("job %+v, want pending with the 451", j)
	}
}

// Delivery is at least once: a crash after the server accepted the email
// and before the job was recorded done sends it again, with the same
// Message-ID, and the case keeps one copy.
// TestCrashAfterHandOverIsNotResent: the process dies after the server
// took the message and before the outbox recorded it. The job is in doubt
// when it is claimed again: it is not sent a second time, and the
// coordinator is asked to check.
func TestCrashAfterHandOverIsNotResent(t *testing.T) {
	e := newEnv(t, startSink(t))
	c := e.newCase(t)
	ctx := context.Background()
	jobs, err := e.Store.ClaimJobs(ctx, "email.", 10, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim = %v, %v", jobs, err)
	}
	if _, err := e.Sender.Handle(ctx, jobs[0]); err != nil {
		t.Fatal(err)
	}
	// The process dies here: CompleteJob never runs. After the lease the
	// job is claimed again.
	e.Clock.Advance(2 * time.Minute)
	e.drain(t)

	if msgs := e.Sink.Messages(); len(msgs) != 1 {
		t.Fatalf("%d emails, want 1: an email in doubt is never sent twice", len(msgs))
	}
	if j := e.job(t, c.Ref, casefile.JobEmailAck); j.State != "done" {
		t.Errorf("job %+v, want done", j)
	}
	evs, _ := e.Store.Events(ctx, c.Ref)
	inDoubt := false
	for _, ev := range evs {
		inDoubt = inDoubt || ev.Kind == "mail.in_doubt"
	}
	jobsNow, _ := e.Store.Jobs(ctx, c.Ref)
	notice := false
	for _, j := range jobsNow {
		notice = notice || (j.Kind == casefile.JobSlackNotify && strings.HasPrefix(j.DedupeKey, "in-doubt:"))
	}
	if !inDoubt || !notice {
		t.Errorf("in-doubt event %v, coordinator notice %v; want both", inDoubt, notice)
	}
}

// TestRefusedAtDataIsRetried: a server that answers DATA with 451 did not
// take the message: the job is not in doubt, and is sent on the retry.
func TestRefusedAtDataIsRetried(t *testing.T) {
	sk := startSink(t)
	e := newEnv(t, sk)
	c := e.newCase(t)
	ctx := context.Background()
	sk.failData(1)
	jobs, _ := e.Store.ClaimJobs(ctx, "email.", 10, time.Minute)
	if _, err := e.Sender.Handle(ctx, jobs[0]); err == nil {
		t.Fatal("DATA refused, yet no error")
	}
	e.Store.RetryJob(ctx, jobs[0], errors.New("451"), e.Clock.Now())
	e.drain(t)
	if msgs := e.Sink.Messages(); len(msgs) != 1 {
		t.Fatalf("%d emails, want 1 sent on the retry", len(msgs))
	}
	if j := e.job(t, c.Ref, casefile.JobEmailAck); j.State != "done" {
		t.Errorf("job %+v", j)
	}
}

// TestUndeliverable: a bounce of the acknowledgement (quoting our
// Message-ID, naming the address we sent it to) marks the address
// undeliverable for that case: its letter is not emailed. Another case of
// the same resident still gets mail.
func TestUndeliverable(t *testing.T) {
	e := newEnv(t, startSink(t))
	ctx := context.Background()
	c := e.newCase(t)
	e.drain(t)
	msgs := e.Sink.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d emails, want the acknowledgement", len(msgs))
	}
	h, _ := readMail(t, msgs[0].Data)
	ackID, _ := h.MessageID()
	res, err := e.Store.Ingest(ctx, casefile.Inbound{
		MessageID: "bounce-1@mx.example.org", Raw: []byte("Subject: Undelivered Mail\r\n\r\nbounce\r\n"),
		Machine: casefile.MachineBounce, From: "mailer-daemon@mx.example.org",
		Bounce: &casefile.Bounce{Recipient: "Jane.Resident@example.org", Status: "5.1.1", OriginalMessageIDs: []string{ackID}},
	})
	if err != nil || res.Outcome != casefile.OutcomeBounce || !res.Verified || res.Case == nil || *res.Case != c.Ref {
		t.Fatalf("bounce: %+v %v", res, err)
	}
	if _, err := e.Store.Decide(ctx, who("U-COORD"), c.Ref, casefile.NotMet, "Two complaints, not three."); err != nil {
		t.Fatal(err)
	}
	letters, _ := e.Store.Letters(ctx, c.Ref)
	if _, err := e.Store.ApproveLetter(ctx, who("U-CHAIR"), c.Ref, letters[0].ID, letters[0].SHA256); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	j := e.job(t, c.Ref, casefile.JobEmailLetter)
	if j.State != "dead" || !strings.Contains(j.LastError, "undeliverable") || strings.Contains(j.LastError, "jane") {
		t.Errorf("job %+v, want dead as undeliverable, without the address", j)
	}
	if n := len(e.Sink.Messages()); n != 1 {
		t.Errorf("%d emails: mail went to an address undeliverable on the case", n)
	}

	// Only for that case: the same resident's next case is acknowledged
	// (an hour later: one acknowledgement per address an hour).
	e.Clock.Advance(2 * time.Hour)
	c2 := e.newCase(t)
	e.drain(t)
	if j := e.job(t, c2.Ref, casefile.JobEmailAck); j.State != "done" {
		t.Errorf("the other case's acknowledgement: %+v, want sent", j)
	}
}

// AUTH PLAIN over STARTTLS with a self-signed certificate the Sender is
// told to trust.
func TestAuthPlainOverSTARTTLS(t *testing.T) {
	srvTLS, cliTLS := testcert.New(t)
	sk := newSink(t)
	sk.TLS, sk.User, sk.Pass = srvTLS, "ct-mailer", "s3cret"
	sk.Start()
	e := newEnv(t, sk)
	e.Sender.Config.TLS = "starttls"
	e.Sender.Config.Username, e.Sender.Password = "ct-mailer", "s3cret"
	e.Sender.TLSConfig = cliTLS
	msg := mailout.Message{To: []string{"someone@example.org"}, Subject: "Test", Text: "Hello\n", MessageID: "t1@example-council.gov.uk"}
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		if _, err := e.Sender.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if m := sk.Messages(); len(m) != 1 || m[0].User != "ct-mailer" {
			t.Errorf("sink got %+v, want one message from ct-mailer", m)
		}
	})
	t.Run("WrongPasswordIsTemporary", func(t *testing.T) {
		bad := *e.Sender
		bad.Password = "wrong"
		_, err := bad.Send(ctx, msg)
		var perm *casefile.PermanentError
		if !isSMTPCode(err, 535) || errors.As(err, &perm) || strings.Contains(err.Error(), "wrong") {
			t.Errorf("Send = %v, want a temporary 535 that names no password", err)
		}
	})
	t.Run("UntrustedCertificate", func(t *testing.T) {
		bad := *e.Sender
		bad.TLSConfig = nil
		if _, err := bad.Send(ctx, msg); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("Send = %v, want a certificate error", err)
		}
	})
	t.Run("NoAuthWithoutTLS", func(t *testing.T) {
		bad := *e.Sender
		bad.Config.TLS = "none"
		if _, err := bad.Send(ctx, msg); err == nil || !strings.Contains(err.Error(), "offers no AUTH") {
			t.Errorf("Send = %v, want no AUTH offered on a plain connection", err)
		}
	})
}

func TestImplicitTLS(t *testing.T) {
	srvTLS, cliTLS := testcert.New(t)
	sk := newSink(t)
	sk.TLS, sk.Implicit = srvTLS, true
	sk.Start()
	e := newEnv(t, sk)
	e.Sender.Config.TLS = "implicit"
	e.Sender.TLSConfig = cliTLS
	c := e.newCase(t)
	e.drain(t)
	if n := len(sk.Messages()); n != 1 {
		t.Errorf("%d emails over implicit TLS, want 1", n)
	}
	if j := e.job(t, c.Ref, casefile.JobEmailAck); j.State != "done" {
		t.Errorf("job %+v", j)
	}
}

// The request to an agency without Slack officers names the case and the
// area, and nothing personal.
func TestAgencyRequest(t *testing.T) {
	e := newEnv(t, startSink(t))
	e.Store.Config.Agencies[0].Email = "asb-team@police.example" // police
	ctx := context.Background()
	c := e.newCase(t)
	if _, err := e.Store.Decide(ctx, who("U-COORD"), c.Ref, casefile.Met, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.AskByEmail(ctx, c.Ref, "police"); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	var m *sunk
	for _, x := range e.Sink.Messages() {
		if x.To[0] == "asb-team@police.example" {
			m = &x
		}
	}
	if m == nil {
		t.Fatalf("no email to the police in %+v", e.Sink.Messages())
	}
	h, body := readMail(t, m.Data)
	subject, _ := h.Subject()
	if subject != "["+c.Ref+"] Community Trigger case review: request for information" || h.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("Subject %q, Auto-Submitted %q", subject, h.Get("Auto-Submitted"))
	}
	got, _ := e.Store.Case(ctx, c.Ref)
	due := got.Deadlines[casefile.DeadlineAgencyReplies].Due
	for _, want := range []string{c.Ref, "LE67 postcode district", "complaints you received", "actions you considered", "actions you took", due.Human()} {
		if !strings.Contains(body, want) {
			t.Errorf("the request lacks %q:\n%s", want, body)
		}
	}
	for _, private := range []string{"Jane", "Resident", "Acacia", "3FJ", "07700", "jane.resident", "Loud music", "number 14"} {
		if strings.Contains(string(m.Data), private) {
			t.Errorf("the request contains %q", private)
		}
	}
	out := false
	for _, msg := range got.Messages {
		out = out || (msg.Direction == "out" && msg.Kind == "agency_request")
	}
	if !out {
		t.Errorf("the request is not on the case: %+v", got.Messages)
	}
}

// An approved letter goes as text with an HTML alternative; an unknown
// kind of job is refused for good.
func TestLetter(t *testing.T) {
	e := newEnv(t, startSink(t))
	ctx := context.Background()
	c := e.newCase(t)
	e.drain(t) // the acknowledgement
	if _, err := e.Store.Decide(ctx, who("U-COORD"), c.Ref, casefile.NotMet, "Two complaints, not three, in the six months before the application."); err != nil {
		t.Fatal(err)
	}
	letters, err := e.Store.Letters(ctx, c.Ref)
	if err != nil || len(letters) == 0 {
		t.Fatalf("letters = %v, %v", letters, err)
	}
	l := letters[len(letters)-1]
	if _, err := e.Store.ApproveLetter(ctx, who("U-CHAIR"), c.Ref, l.ID, l.SHA256); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	msgs := e.Sink.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d emails, want the acknowledgement and the letter", len(msgs))
	}
	h, body := readMail(t, msgs[1].Data)
	subject, _ := h.Subject()
	ct, _, _ := h.ContentType()
	if subject != l.Subject || ct != "multipart/alternative" || h.Get("Auto-Submitted") != "" {
		t.Errorf("Subject %q, Content-Type %q, Auto-Submitted %q", subject, ct, h.Get("Auto-Submitted"))
	}
	if !strings.Contains(body, "Two complaints, not three") || !strings.Contains(body, "<") {
		t.Errorf("the letter lacks its text or its HTML:\n%s", body)
	}
	sent, _ := e.Store.Letter(ctx, l.ID)
	if sent.SentAt == nil {
		t.Error("the letter is not marked sent")
	}

	_, err = e.Sender.Handle(ctx, casefile.Job{ID: 99, Kind: "email.carrier_pigeon", Payload: []byte(`{}`)})
	var perm *casefile.PermanentError
	if !errors.As(err, &perm) {
		t.Errorf("unknown kind: %v, want a permanent error", err)
	}
}

func TestCompose(t *testing.T) {
	m := mailout.Message{
		From:      "Community Trigger <ct@example-council.gov.uk>",
		To:        []string{"Zoë Ünal <zoe@example.org>"},
		Subject:   "[CT-2026-0001] Réponse — your case",
		Text:      "Line one with a long line " + strings.Repeat("and more words ", 10) + "\nCafé £5\n",
		HTML:      "<p>Café £5</p>\n",
		MessageID: "ct.CT-2026-0001.letter.7@example-council.gov.uk",
		Date:      start,
		InReplyTo: []string{"abc@example.org"},
	}
	raw, err := mailout.Compose(m)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := mailout.Compose(m)
	if !bytes.Equal(raw, again) {
		t.Error("Compose is not deterministic")
	}
	for _, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > 78 || bytes.ContainsAny(line, "\n") {
			t.Errorf("line too long or a bare LF: %q", line)
		}
	}
	h, body := readMail(t, raw)
	subject, _ := h.Subject()
	if subject != m.Subject || !strings.Contains(body, "Café £5\r\n") || !strings.Contains(body, "<p>Café £5</p>") {
		t.Errorf("round trip: subject %q, body %q", subject, body)
	}
	if refs, _ := h.MsgIDList("References"); len(refs) != 1 || refs[0] != "abc@example.org" {
		t.Errorf("References = %v", refs)
	}
	golden(t, "compose.eml", raw)

	if _, err := mailout.Compose(mailout.Message{From: m.From, To: m.To, MessageID: "no-at-sign", Date: start}); err == nil {
		t.Error("a bad Message-ID was accepted")
	}
}

func golden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", path, got)
	}
}

// TestRefusalKeepsAddressesOutOfLogs: a server's 550 quotes the
// recipient; the error that reaches the log and the audit trail does not.
func TestRefusalKeepsAddressesOutOfErrors(t *testing.T) {
	sink, err := mailsink.Start(mailsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	sink.Reject("resident@example.net", "5.1.1 <resident@example.net>: Recipient address rejected: User unknown")
	s := &mailout.Sender{Config: casefile.SMTPConfig{Address: sink.Addr(), TLS: "none", From: "ct@example-council.gov.uk"}}
	err = s.SendRaw(context.Background(), "ct@example-council.gov.uk", []string{"resident@example.net"}, []byte("Subject: x\r\n\r\nhello\r\n"))
	var perm *casefile.PermanentError
	if err == nil || !errors.As(err, &perm) {
		t.Fatalf("err %v, want a permanent error", err)
	}
	if strings.Contains(err.Error(), "resident@example.net") || !strings.Contains(err.Error(), "5.1.1 <address>: Recipient") {
		t.Errorf("the refusal shows the address: %v", err)
	}
}

// TestOnlyTheApprovedVersionIsSent: after an edit, version 2 is approved and
// is the one letter that arrives; a bounce of it is shown to the
// coordinator in the case channel.
func TestOnlyTheApprovedVersionIsSent(t *testing.T) {
	e := newEnv(t, startSink(t))
	ctx := context.Background()
	c := e.newCase(t)
	e.drain(t) // the acknowledgement
	if _, err := e.Store.Decide(ctx, who("U-COORD"), c.Ref, casefile.NotMet, "Two complaints, not three."); err != nil {
		t.Fatal(err)
	}
	letters, _ := e.Store.Letters(ctx, c.Ref)
	v1 := letters[0]
	v2, err := e.Store.EditLetter(ctx, who("U-COORD"), c.Ref, 0, strings.Replace(v1.Text, "Two complaints, not three.", "Two complaints in the six months, where three are needed.", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.ApproveLetter(ctx, who("U-CHAIR"), c.Ref, v1.ID, v1.SHA256); casefile.ErrorCode(err) != casefile.ECONFLICT {
		t.Fatalf("approving version 1 after the edit: %v", err)
	}
	if _, err := e.Store.ApproveLetter(ctx, who("U-CHAIR"), c.Ref, v2.ID, v2.SHA256); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	msgs := e.Sink.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d emails, want the acknowledgement and one letter", len(msgs))
	}
	h, body := readMail(t, msgs[1].Data)
	if !strings.Contains(body, "where three are needed") || strings.Contains(body, "Two complaints, not three.") {
		t.Fatalf("the letter sent is not version 2:\n%s", body)
	}
	// The resident's mail server bounces it.
	letterID, _ := h.MessageID()
	dsn := "From: MAILER-DAEMON@mx.example.net\r\nTo: communitytrigger@example-council.gov.uk\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
		"Message-ID: <bounce-1@mx.example.net>\r\n\r\nreturned\r\n"
	res, err := e.Store.Ingest(ctx, casefile.Inbound{MessageID: "bounce-1@mx.example.net", Raw: []byte(dsn), Machine: casefile.MachineBounce,
		Bounce: &casefile.Bounce{Recipient: c.Applicant.Email, Status: "5.1.1", OriginalMessageID: letterID}})
	if err != nil || res.Outcome != casefile.OutcomeBounce || res.Case == nil || *res.Case != c.Ref {
		t.Fatalf("bounce: %+v %v", res, err)
	}
	// The letter's job ends after all, and the coordinator hears of it as
	// of any job that ends.
	jobs, _ := e.Store.Jobs(ctx, c.Ref)
	notified := false
	for _, j := range jobs {
		notified = notified || (j.Kind == casefile.JobSlackNotify && strings.HasPrefix(j.DedupeKey, "ended:"))
		if j.Kind == casefile.JobEmailLetter && (j.State != "dead" || j.EndReason != casefile.EndBounced) {
			t.Errorf("the bounced letter's job: %+v, want ended as bounced", j)
		}
	}
	if !notified {
		t.Error("the coordinator is not told of the bounced letter")
	}
	if bad, _ := e.Store.Undeliverable(ctx, c.Ref, c.Applicant.Email); !bad {
		t.Error("the address is not marked undeliverable")
	}
}

// TestAgencyReminderByEmail: an agency asked by email, with nobody in
// Slack to read the thread, gets its reminders by email too.
func TestAgencyReminderByEmail(t *testing.T) {
	e := newEnv(t, startSink(t))
	ctx := context.Background()
	e.Store.Config.Agencies[1].Email = "asb.team@example-council.gov.uk" // council
	c := e.newCase(t)
	if _, err := e.Store.Decide(ctx, who("U-COORD"), c.Ref, casefile.Met, ""); err != nil {
		t.Fatal(err)
	}
	// The bot posted both requests; the council's went by email.
	for _, a := range []string{"police", "council"} {
		if err := e.Store.SetRequestMessage(ctx, c.Ref, a, "1700000000.00000"+a[:1], false); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Store.AskByEmail(ctx, c.Ref, "council"); err != nil {
		t.Fatal(err)
	}
	e.drain(t) // the acknowledgement and the request by email
	before := len(e.Sink.Messages())
	// Two working days before the deadline, in working hours.
	got, _ := e.Store.Case(ctx, c.Ref)
	due := got.Deadlines[casefile.DeadlineAgencyReplies].Due
	day := due
	for n := 0; n < 2; {
		day = day.AddDays(-1)
		if e.Store.Cal.IsWorkingDay(day) {
			n++
		}
	}
	e.Clock.Advance(day.Time().Add(10 * time.Hour).Sub(e.Clock.Now()))
	if _, err := e.Store.RunReminders(ctx); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	msgs := e.Sink.Messages()[before:]
	if len(msgs) != 1 || msgs[0].To[0] != "asb.team@example-council.gov.uk" {
		t.Fatalf("reminder emails %+v, want one to the council", msgs)
	}
	h, body := readMail(t, msgs[0].Data)
	subj, _ := h.Subject()
	if !strings.HasPrefix(subj, "Reminder: ") || !strings.Contains(body, "due in two working days") || strings.Contains(body, "Jane Resident") {
		t.Errorf("subject %q body:\n%s", subj, body)
	}
}

// An email to the coordinator that a crash left in doubt is sent again:
// for staff, a second copy is better than none.
func TestCoordinatorEmailInDoubtIsSent(t *testing.T) {
	e := newEnv(t, startSink(t))
	payload, _ := json.Marshal(casefile.CoordinatorEmailJob{Case: "CT-2026-0001", Ended: 1, Subject: "Community Trigger CT-2026-0001: action needed", Text: "x\n"})
	done, err := e.Sender.Handle(context.Background(), casefile.Job{ID: 7, Kind: casefile.JobEmailCoordinator, CaseRef: "CT-2026-0001", Payload: payload, InDoubt: true})
	if err != nil || done.InDoubt || done.Sent == nil {
		t.Fatalf("in-doubt email to the coordinator: %+v %v, want sent", done, err)
	}
	if n := len(e.Sink.Messages()); n != 1 {
		t.Errorf("%d emails, want 1", n)
	}
}

// TestGreeting: an email to a resident writes back a name only when it
// looks like one; anything else a sender puts in their name is not relayed.
func TestGreeting(t *testing.T) {
	cfg := casefile.DefaultConfig()
	for _, tc := range []struct{ name, want string }{
		{"Jane Resident", "Dear Jane Resident,"},
		{"Siân Lloyd-Jones", "Dear Siân Lloyd-Jones,"},
		{"", "Dear applicant,"},
		{"Win £1000 at http://evil.example", "Dear applicant,"},
		{"lucy@example.net", "Dear applicant,"},
		{"Ann\x1b[31m Red", "Dear Ann Red,"}, // the escape sequence never reaches the email
		{strings.Repeat("a", 61), "Dear applicant,"},
	} {
		c := &casefile.Case{Ref: "CT-2026-0001", ReceivedAt: time.Date(2026, 10, 12, 9, 0, 0, 0, casefile.London),
			Application: casefile.Application{Applicant: casefile.Person{Name: tc.name, Email: "x@example.net"}}}
		a, err := mailout.Ack(c, &cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if first, _, _ := strings.Cut(a.Text, "\n"); first != tc.want {
			t.Errorf("name %q: the acknowledgement opens %q, want %q", tc.name, first, tc.want)
		}
	}
}
