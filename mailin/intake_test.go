package mailin_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/mailin"
)

// MustOpenStore opens a store on a real SQLite file with its clock set.
func MustOpenStore(tb testing.TB, now time.Time) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(filepath.Join(tb.TempDir(), "t.db"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	s.Clock = func() time.Time { return now }
	return s
}

func mustRead(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustIngest(tb testing.TB, in *mailin.Intake, raw []byte, internal time.Time) casefile.IngestResult {
	tb.Helper()
	res, err := in.IngestRaw(context.Background(), raw, internal)
	if err != nil {
		tb.Fatalf("IngestRaw: %v", err)
	}
	return res
}

func ref(r casefile.IngestResult) string {
	if r.Case == nil {
		return ""
	}
	return *r.Case
}

// jobs returns the outbox jobs of kind for a case ("" for all cases).
func jobs(tb testing.TB, s *sqlite.Store, caseRef, kind string) []casefile.JobInfo {
	tb.Helper()
	all, err := s.Jobs(context.Background(), caseRef)
	if err != nil {
		tb.Fatal(err)
	}
	var out []casefile.JobInfo
	for _, j := range all {
		if j.Kind == kind {
			out = append(out, j)
		}
	}
	return out
}

// sendAck plays the mail dispatcher: it completes the case's ack job as
// sent to the applicant with our Message-ID, so that replies can thread by
// it, and returns that Message-ID.
func sendAck(tb testing.TB, s *sqlite.Store, caseRef string) string {
	tb.Helper()
	ctx := context.Background()
	js, err := s.ClaimJobs(ctx, casefile.JobEmailAck, 10, time.Minute)
	if err != nil {
		tb.Fatal(err)
	}
	key, err := s.MessageIDKey(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	for _, j := range js {
		if j.CaseRef != caseRef {
			continue
		}
		p, err := casefile.PayloadOf[casefile.AckJob](j)
		if err != nil {
			tb.Fatal(err)
		}
		id := casefile.OutgoingMessageID(key, caseRef, "ack", j.ID, "example-council.gov.uk")
		if err := s.CompleteJob(ctx, j, casefile.JobDone{Sent: &casefile.Outbound{
			MessageID: id, Kind: "ack", Subject: "Your Community Trigger application has been received [" + caseRef + "]",
			To: p.To, Raw: []byte("Message-ID: <" + id + ">\r\n\r\nack\r\n"),
		}}); err != nil {
			tb.Fatal(err)
		}
		return id
	}
	tb.Fatalf("no ack job for %s", caseRef)
	return ""
}

func TestIntake(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 10, 20, 12, 0, 0, 0, time.UTC)
	s := MustOpenStore(t, now)
	in := &mailin.Intake{Store: s}
	webform := mustRead(t, "webform-sample.eml")

	var formRef string
	t.Run("WebFormBecomesCase", func(t *testing.T) {
		res := mustIngest(t, in, webform, time.Time{})
		if res.Outcome != casefile.OutcomeCreated || res.Case == nil {
			t.Fatalf("outcome %+v", res)
		}
		formRef = *res.Case
		c, err := s.Case(ctx, formRef)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Incidents) != 3 {
			t.Errorf("incidents: %d, want 3", len(c.Incidents))
		}
		if c.Threshold.Assessment != casefile.Met {
			t.Errorf("assessment %s, want met: %v", c.Threshold.Assessment, c.Threshold.Reasons)
		}
		if c.Applicant.Email != "lucy.fielding@example.net" || c.Applicant.Postcode != "DE12 7HS" {
			t.Errorf("applicant %+v", c.Applicant)
		}
		if want := time.Date(2026, 10, 12, 9, 2, 11, 0, time.UTC); !c.ReceivedAt.Equal(want) {
			t.Errorf("received_at %v, want the Date header %v", c.ReceivedAt, want)
		}
		acks := jobs(t, s, formRef, casefile.JobEmailAck)
		if len(acks) != 1 {
			t.Fatalf("ack jobs: %+v", acks)
		}
	})

	t.Run("Duplicate", func(t *testing.T) {
		res := mustIngest(t, in, webform, time.Time{})
		if res.Outcome != casefile.OutcomeDuplicate || ref(res) != formRef {
			t.Fatalf("second copy: %+v, want duplicate of %s", res, formRef)
		}
	})

	t.Run("FollowupThreadsByOurAck", func(t *testing.T) {
		free := mustIngest(t, in, mustRead(t, "freetext-sample.eml"), time.Time{})
		if free.Outcome != casefile.OutcomeCreated {
			t.Fatalf("free text: %+v", free)
		}
		ackID := sendAck(t, s, ref(free))
		raw := mustRead(t, "followup-sample.eml")
		raw = bytes.ReplaceAll(raw, []byte("ct.CT-2026-0013.ack.1@example-council.gov.uk"), []byte(ackID))
		raw = bytes.ReplaceAll(raw, []byte("CT-2026-0013"), []byte(ref(free)))
		res := mustIngest(t, in, raw, time.Time{})
		if res.Outcome != casefile.OutcomeFollowup || ref(res) != ref(free) {
			t.Fatalf("follow-up: %+v, want followup on %s", res, ref(free))
		}
		c, _ := s.Case(ctx, ref(free))
		if len(c.Messages) != 3 { // application, ack, follow-up
			t.Errorf("messages on the case: %+v", c.Messages)
		}
	})

	t.Run("StrangerQuotingTagIsUnverified", func(t *testing.T) {
		// A case's tag from someone who is not a party to it: kept on
		// that case, marked unverified, changing nothing.
		before, _ := s.Case(ctx, formRef)
		raw := bytes.ReplaceAll(mustRead(t, "stranger-quoting-tag.eml"), []byte("CT-2026-0013"), []byte(formRef))
		res := mustIngest(t, in, raw, time.Time{})
		if res.Outcome != casefile.OutcomeFollowup || ref(res) != formRef || res.Verified || res.UnverifiedReason != casefile.UnverifiedNotAParty {
			t.Fatalf("stranger: %+v, want an unverified followup on %s", res, formRef)
		}
		after, _ := s.Case(ctx, formRef)
		if after.Status != before.Status || len(after.Messages) != len(before.Messages)+1 {
			t.Errorf("case %s: status %s → %s, messages %d → %d", formRef, before.Status, after.Status, len(before.Messages), len(after.Messages))
		}
	})

	t.Run("AutoReplyStoredWithoutAck", func(t *testing.T) {
		before := len(jobs(t, s, "", casefile.JobEmailAck))
		for _, name := range []string{"ooo-outlook.eml", "ooo-gmail.eml", "own-ack-looped.eml", "newsletter-listid.eml"} {
			res := mustIngest(t, in, mustRead(t, name), time.Time{})
			if res.Outcome != casefile.OutcomeAutoReply {
				t.Errorf("%s: %+v, want auto_reply", name, res)
			}
		}
		if after := len(jobs(t, s, "", casefile.JobEmailAck)); after != before {
			t.Errorf("ack jobs went from %d to %d", before, after)
		}
	})

	t.Run("BounceOfOurAckMarksUndeliverable", func(t *testing.T) {
		// The applicant of a new case typed their address wrong; the
		// acknowledgement to it bounces, quoting its Message-ID.
		app := bytes.ReplaceAll(mustRead(t, "freetext-sample.eml"), []byte("Message-ID: <"), []byte("Message-ID: <typo-"))
		app = bytes.ReplaceAll(app, []byte("arjun.mehta@example.org"), []byte("arjun.mehtaa@example.org"))
		created := mustIngest(t, in, app, time.Time{})
		c, _ := s.Case(ctx, ref(created))
		ackID := sendAck(t, s, ref(created))
		raw := bytes.ReplaceAll(mustRead(t, "bounce-postfix-dsn.eml"), []byte("ct.CT-2026-0033.ack.1@example-council.gov.uk"), []byte(ackID))
		raw = bytes.ReplaceAll(raw, []byte("lucy.fieldng@example.net"), []byte(c.Applicant.Email))
		res := mustIngest(t, in, raw, time.Time{})
		if res.Outcome != casefile.OutcomeBounce || ref(res) != c.Ref || !res.Verified {
			t.Fatalf("%+v", res)
		}
		if ok, _ := s.Undeliverable(ctx, c.Ref, c.Applicant.Email); !ok {
			t.Error("recipient not marked undeliverable")
		}
	})

	t.Run("ForgedBounceMarksNothing", func(t *testing.T) {
		// The same bounce, about a message we never sent.
		res := mustIngest(t, in, mustRead(t, "bounce-postfix-dsn.eml"), time.Time{})
		if res.Outcome != casefile.OutcomeBounce || res.Verified || res.UnverifiedReason != casefile.UnverifiedNotOurMessage {
			t.Fatalf("%+v", res)
		}
		if ok, _ := s.Undeliverable(ctx, formRef, "lucy.fieldng@example.net"); ok {
			t.Error("a bounce of no message of ours marked an address undeliverable")
		}
	})

	t.Run("FormFromNoReplyAcksApplicant", func(t *testing.T) {
		res := mustIngest(t, in, mustRead(t, "webform-council-b-qp.eml"), time.Time{})
		acks := jobs(t, s, ref(res), casefile.JobEmailAck)
		if res.Outcome != casefile.OutcomeCreated || len(acks) != 1 {
			t.Fatalf("%+v, acks %+v", res, acks)
		}
	})
}

func TestIntakeReceivedAt(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 10, 20, 12, 0, 0, 0, time.UTC)
	s := MustOpenStore(t, now)
	in := &mailin.Intake{Store: s}
	internal := time.Date(2026, 10, 19, 8, 0, 0, 0, time.UTC)
	res := mustIngest(t, in, mustRead(t, "freetext-sample.eml"), internal)
	c, _ := s.Case(ctx, ref(res))
	if !c.ReceivedAt.Equal(internal) {
		t.Errorf("internal date: received_at %v, want %v", c.ReceivedAt, internal)
	}
	future := bytes.Replace(mustRead(t, "webform-sample.eml"), []byte("Mon, 12 Oct 2026"), []byte("Mon, 12 Oct 2099"), 1)
	res = mustIngest(t, in, future, time.Time{})
	c, _ = s.Case(ctx, ref(res))
	if !c.ReceivedAt.Equal(now) {
		t.Errorf("Date in the future: received_at %v, want now %v", c.ReceivedAt, now)
	}
}

func TestIntakeMboxWithPoison(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t, time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))
	in := &mailin.Intake{Store: s}
	poison := mustRead(t, "broken-boundary.eml")
	var mbox bytes.Buffer
	for _, m := range [][]byte{mustRead(t, "webform-sample.eml"), poison, mustRead(t, "hate-freetext.eml")} {
		mbox.WriteString("From MAILER-DAEMON Thu Nov 19 10:00:00 2026\n")
		mbox.Write(m)
		mbox.WriteString("\n")
	}
	var outcomes []string
	err := mailin.SplitMbox(&mbox, func(raw []byte) error {
		res, err := in.IngestRaw(ctx, raw, time.Time{})
		outcomes = append(outcomes, res.Outcome)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "created quarantined created"; strings.Join(outcomes, " ") != want {
		t.Fatalf("outcomes %v, want %s", outcomes, want)
	}
	q, err := s.QuarantineList(ctx, false)
	if err != nil || len(q) != 1 {
		t.Fatalf("quarantine: %+v %v", q, err)
	}
	if q[0].MessageKey != "broken-boundary-1@example.net" || !strings.Contains(q[0].Error, "multipart") {
		t.Errorf("quarantined %+v", q[0])
	}
	item, err := s.QuarantineItem(ctx, q[0].ID)
	if err != nil || !bytes.Equal(item.Raw, poison) {
		t.Fatalf("raw bytes not kept as received: %v", err)
	}

	t.Run("RetryStillBroken", func(t *testing.T) {
		res, err := in.Retry(ctx, q[0].ID)
		if err != nil || res.Outcome != casefile.OutcomeQuarantined {
			t.Fatalf("retry: %+v %v", res, err)
		}
		item, _ := s.QuarantineItem(ctx, q[0].ID)
		if item.Attempts != 2 || item.ResolvedAt != nil {
			t.Errorf("after retry: attempts %d resolved %v, want 2 and unresolved", item.Attempts, item.ResolvedAt)
		}
	})

	t.Run("RetryAfterFix", func(t *testing.T) {
		// quarantined under a limit, then read with the limit raised
		raw := mustRead(t, "attachment-rfc2231.eml")
		small := &mailin.Intake{Store: s, Limits: mailin.Limits{MaxParts: 2}}
		res := mustIngest(t, small, raw, time.Time{})
		if res.Outcome != casefile.OutcomeQuarantined || !strings.Contains(res.Reason, "too many MIME parts") {
			t.Fatalf("%+v", res)
		}
		q, _ := s.QuarantineList(ctx, false)
		var id int64
		for _, r := range q {
			if r.MessageKey == "rfc2231-1@example.net" {
				id = r.ID
			}
		}
		res, err := in.Retry(ctx, id)
		if err != nil || res.Outcome != casefile.OutcomeCreated {
			t.Fatalf("retry: %+v %v", res, err)
		}
		item, _ := s.QuarantineItem(ctx, id)
		if item.ResolvedAt == nil {
			t.Error("quarantine entry not resolved")
		}
		c, _ := s.Case(ctx, ref(res))
		if len(c.Attachments) != 3 {
			t.Errorf("attachments %+v", c.Attachments)
		}
	})
}

func TestIntakeOversize(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t, time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))
	in := &mailin.Intake{Store: s}
	raw := bigMessage(mailin.DefaultMaxSize + 1024)
	res := mustIngest(t, in, raw, time.Time{})
	if res.Outcome != casefile.OutcomeQuarantined || !strings.Contains(res.Reason, "message too large") {
		t.Fatalf("%+v", res)
	}
	q, _ := s.QuarantineList(ctx, false)
	if len(q) != 1 || q[0].MessageKey != "big@example.net" || q[0].Size != len(raw) {
		t.Fatalf("%+v", q)
	}
}
