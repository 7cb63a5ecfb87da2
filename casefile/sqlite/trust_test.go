package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// mail is an email from addr pointing to case ref by its subject.
func mail(id, from, ref string) casefile.Inbound {
	return casefile.Inbound{MessageID: id, From: from, Subject: "[" + ref + "] more", SubjectRefs: []string{ref},
		Raw: []byte("Message-ID: <" + id + ">\r\nFrom: " + from + "\r\n\r\nmore\r\n"), Text: "more"}
}

func mustIngest(tb testing.TB, s *sqlite.Store, in casefile.Inbound) casefile.IngestResult {
	tb.Helper()
	res, err := s.Ingest(context.Background(), in)
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

func jobKinds(tb testing.TB, s *sqlite.Store, ref string) map[string]int {
	tb.Helper()
	jobs, err := s.Jobs(context.Background(), ref)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]int{}
	for _, j := range jobs {
		out[j.Kind]++
	}
	return out
}

// TestParties: who is a party to a case, whichever way their mail points
// to it. An agency is a party only once it was asked about this case.
func TestParties(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpenStore(t)
	s.Config.Agencies[0].Email = "asb.unit@police.example"
	s.Config.Agencies[1].SlackUsers = []string{"U123", "officer@council.example"}
	s.Config.Intake.FormSenders = []string{"noreply@forms.example-council.gov.uk"}
	app := sampleApplication()
	app.CoApplicants = []casefile.Person{{Name: "Ann Example", Email: "ann@example.org"}}
	c := mustCreate(t, s, app)
	other := mustCreate(t, s, sampleApplication())

	check := func(name string, in casefile.Inbound, why string) {
		t.Helper()
		res := mustIngest(t, s, in)
		if res.Verified != (why == "") || res.UnverifiedReason != why || res.Case == nil || *res.Case != c.Ref {
			t.Errorf("%s: %+v, want on %s with unverified_reason %q", name, res, c.Ref, why)
		}
	}
	check("Applicant", mail("p1@x", "Lucy.Fielding@example.net", c.Ref), "")
	check("CoApplicant", mail("p2@x", "ann@example.org", c.Ref), "")
	check("NoAddress", mail("p3@x", "", c.Ref), casefile.UnverifiedUnknownSender)
	check("FormSystem", mail("p4@x", "noreply@forms.example-council.gov.uk", c.Ref), casefile.UnverifiedNotAParty)
	check("AgencyNotAsked", mail("p5@x", "asb.unit@police.example", c.Ref), casefile.UnverifiedNotAParty)
	check("OfficerNotAsked", mail("p6@x", "officer@council.example", c.Ref), casefile.UnverifiedNotAParty)
	spf := mail("p7@x", "lucy.fielding@example.net", c.Ref)
	spf.AuthFailure = casefile.UnverifiedSPFFail
	check("ApplicantRefutedByTheGateway", spf, casefile.UnverifiedSPFFail)

	if _, err := s.Decide(ctx, who("U-COORD"), c.Ref, casefile.Met, ""); err != nil {
		t.Fatal(err)
	}
	check("AgencyAsked", mail("p8@x", "ASB.Unit@police.example", c.Ref), "")
	check("OfficerOfAnAgencyAsked", mail("p9@x", "officer@council.example", c.Ref), "")
	// Asked about this case, not about the other.
	res := mustIngest(t, s, mail("p10@x", "asb.unit@police.example", other.Ref))
	if res.Verified || res.UnverifiedReason != casefile.UnverifiedNotAParty {
		t.Errorf("the police on a case they were not asked about: %+v", res)
	}
}

// TestUnverifiedChangesNothing: a stranger asking for a further review of
// an answered (or closed) case by our Message-ID is kept on it, and the
// case does not move; the coordinator is told, with the buttons.
func TestUnverifiedChangesNothing(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpenStore(t)
	c := mustCreate(t, s, sampleApplication())
	respond(t, s, c.Ref)
	out := sendOne(t, s, c.Ref, casefile.JobEmailLetter)
	before := jobKinds(t, s, c.Ref)
	in := mail("stranger@evil.example", "mallory@evil.example", "")
	in.Subject, in.SubjectRefs, in.ReplyTo, in.WantsFurtherReview = "Re: your letter", nil, []string{out}, true
	res := mustIngest(t, s, in)
	if res.Outcome != casefile.OutcomeFollowup || res.Verified || res.UnverifiedReason != casefile.UnverifiedNotAParty || *res.Case != c.Ref {
		t.Fatalf("%+v", res)
	}
	got, _ := s.Case(ctx, c.Ref)
	if got.Status != casefile.StatusResponded {
		t.Errorf("status %s", got.Status)
	}
	if frs, _ := s.FurtherReviews(ctx, c.Ref); len(frs) != 0 {
		t.Errorf("further reviews %+v", frs)
	}
	after := jobKinds(t, s, c.Ref)
	for k, n := range after {
		if k != casefile.JobSlackNotify && n != before[k] {
			t.Errorf("%s jobs: %d → %d", k, before[k], n)
		}
	}
	if after[casefile.JobSlackNotify] != before[casefile.JobSlackNotify]+1 {
		t.Error("the coordinator is not told")
	}
}

// respond takes a case to responded: threshold not met, the letter
// approved.
func respond(tb testing.TB, s *sqlite.Store, ref string) {
	tb.Helper()
	ctx := context.Background()
	if _, err := s.Decide(ctx, who("U-COORD"), ref, casefile.NotMet, "Two complaints."); err != nil {
		tb.Fatal(err)
	}
	letters, _ := s.Letters(ctx, ref)
	if _, err := s.ApproveLetter(ctx, who("U-CHAIR"), ref, letters[0].ID, letters[0].SHA256); err != nil {
		tb.Fatal(err)
	}
}

// sendOne plays the mail dispatcher for the case's job of kind: sent to its
// recipient with our Message-ID, which it returns.
func sendOne(tb testing.TB, s *sqlite.Store, ref, kind string) string {
	tb.Helper()
	ctx := context.Background()
	jobs, err := s.ClaimJobs(ctx, kind, 10, time.Minute)
	if err != nil {
		tb.Fatal(err)
	}
	key, _ := s.MessageIDKey(ctx)
	for _, j := range jobs {
		if j.CaseRef != ref {
			continue
		}
		var to struct{ To string }
		switch kind {
		case casefile.JobEmailAck:
			p, _ := casefile.PayloadOf[casefile.AckJob](j)
			to.To = p.To
		case casefile.JobEmailLetter:
			p, _ := casefile.PayloadOf[casefile.LetterJob](j)
			to.To = p.To
		}
		id := casefile.OutgoingMessageID(key, ref, kind, j.ID, "example-council.gov.uk")
		if err := s.CompleteJob(ctx, j, casefile.JobDone{Sent: &casefile.Outbound{MessageID: id, Kind: strings.TrimPrefix(kind, "email."), Subject: "[" + ref + "]",
			To: "Lucy <" + to.To + ">", Raw: []byte("Message-ID: <" + id + ">\r\n\r\nx\r\n")}}); err != nil {
			tb.Fatal(err)
		}
		return id
	}
	tb.Fatalf("no %s job for %s", kind, ref)
	return ""
}

// TestBounces: a bounce counts only when it returns a message we sent to
// the address it names, and only for that message's case. A bounced
// acknowledgement is owed again: the coordinator is asked, with the
// Acknowledged button.
func TestBounces(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpenStore(t)
	s.Config.SMTP.Domain = "example-council.gov.uk"
	c := mustCreate(t, s, sampleApplication())
	ack := sendOne(t, s, c.Ref, casefile.JobEmailAck)
	bounce := func(id string, b casefile.Bounce) casefile.IngestResult {
		return mustIngest(t, s, casefile.Inbound{MessageID: id, From: "mailer-daemon@mx.example.net", Machine: casefile.MachineBounce, Bounce: &b,
			Raw: []byte("Message-ID: <" + id + ">\r\n\r\n" + id + "\r\n")})
	}
	lucy := "lucy.fielding@example.net"
	for _, tc := range []struct {
		name string
		b    casefile.Bounce
	}{
		{"NoMessageID", casefile.Bounce{Recipient: lucy, Recipients: []string{lucy}, Status: "5.1.1"}},
		{"GuessedMessageID", casefile.Bounce{Recipients: []string{lucy}, OriginalMessageIDs: []string{"ct." + c.Ref + ".ack.1@example-council.gov.uk"}}},
		{"OurMessageAnotherAddress", casefile.Bounce{Recipients: []string{"other@example.net"}, OriginalMessageIDs: []string{ack}}},
	} {
		res := bounce(tc.name+"@mx", tc.b)
		if res.Outcome != casefile.OutcomeBounce || res.Verified || res.UnverifiedReason != casefile.UnverifiedNotOurMessage {
			t.Errorf("%s: %+v", tc.name, res)
		}
		if bad, _ := s.Undeliverable(ctx, c.Ref, lucy); bad {
			t.Fatalf("%s marked the address undeliverable", tc.name)
		}
	}
	got, _ := s.Case(ctx, c.Ref)
	if got.Deadlines[casefile.DeadlineAcknowledge].DoneAt == nil {
		t.Fatal("the acknowledgement is not recorded as sent")
	}
	before := jobKinds(t, s, c.Ref)[casefile.JobSlackNotify]
	res := bounce("real@mx", casefile.Bounce{Recipients: []string{"LUCY.FIELDING@example.net"}, OriginalMessageIDs: []string{"x@y", ack}, Status: "5.1.1"})
	if res.Outcome != casefile.OutcomeBounce || !res.Verified || *res.Case != c.Ref {
		t.Fatalf("%+v", res)
	}
	if bad, _ := s.Undeliverable(ctx, c.Ref, lucy); !bad {
		t.Error("not marked undeliverable")
	}
	second := mustCreate(t, s, sampleApplication())
	if bad, _ := s.Undeliverable(ctx, second.Ref, lucy); bad {
		t.Error("marked undeliverable for another case")
	}
	got, _ = s.Case(ctx, c.Ref)
	if got.Deadlines[casefile.DeadlineAcknowledge].DoneAt != nil {
		t.Error("the acknowledgement bounced, yet it is recorded as given")
	}
	if n := jobKinds(t, s, c.Ref)[casefile.JobSlackNotify]; n != before+1 {
		t.Error("the coordinator is not asked to reach the applicant another way")
	}
	// Through the ended-job notice: the acknowledgement's job ended after
	// all, and the notice carries the Acknowledged button.
	jobs, _ := s.Jobs(ctx, c.Ref)
	for _, j := range jobs {
		if j.Kind == casefile.JobEmailAck && (j.State != "dead" || j.EndReason != casefile.EndBounced || !strings.Contains(j.LastError, "5.1.1")) {
			t.Errorf("ack job %+v, want ended as bounced", j)
		}
	}
	evs, _ := s.Events(ctx, c.Ref)
	if last := evs[len(evs)-1]; last.Kind != "job.ended" {
		t.Errorf("last event %s, want job.ended", last.Kind)
	}
	// A second bounce of the same email tells nobody twice.
	bounce("again@mx", casefile.Bounce{Recipients: []string{lucy}, OriginalMessageIDs: []string{ack}, Status: "5.1.1"})
	if n := jobKinds(t, s, c.Ref)[casefile.JobSlackNotify]; n != before+1 {
		t.Errorf("%d notices after a second bounce, want 1", n-before)
	}
	if ch, err := s.RecordAcknowledgement(ctx, who("U-COORD"), c.Ref, "phoned"); err != nil || !ch {
		t.Errorf("Acknowledged after the bounce: %v %v", ch, err)
	}
}

// TestAcksPerSender: at most [intake] acks_per_sender_hour new cases from
// one sender an hour are acknowledged by email; the rest wait for the
// coordinator. A web-form system's forms count per applicant.
func TestAcksPerSender(t *testing.T) {
	s, clk := MustOpenStore(t)
	s.Config.Intake.AcksPerSenderHour = 3
	s.Config.Intake.FormSenders = []string{"forms@example-council.gov.uk"}
	app := func(id, from, applicant string) casefile.Inbound {
		a := sampleApplication()
		a.Applicant.Email = applicant
		return casefile.Inbound{MessageID: id, From: from, Raw: []byte(id), Application: a}
	}
	acked := func(res casefile.IngestResult) bool {
		return jobKinds(t, s, *res.Case)[casefile.JobEmailAck] == 1
	}
	// One sender, five victims' addresses: three acknowledgements.
	var got []bool
	for i := range 5 {
		got = append(got, acked(mustIngest(t, s, app(fmt.Sprintf("r%d@evil", i), "mallory@evil.example", fmt.Sprintf("victim%d@example.org", i)))))
	}
	if fmt.Sprint(got) != "[true true true false false]" {
		t.Errorf("acknowledged %v, want the first three", got)
	}
	// A form system sends for five residents: each acknowledged.
	got = nil
	for i := range 5 {
		got = append(got, acked(mustIngest(t, s, app(fmt.Sprintf("f%d@forms", i), "forms@example-council.gov.uk", fmt.Sprintf("resident%d@example.org", i)))))
	}
	if fmt.Sprint(got) != "[true true true true true]" {
		t.Errorf("form applications acknowledged %v, want all", got)
	}
	// An hour later the sender is acknowledged again.
	clk.Add(61 * time.Minute)
	if !acked(mustIngest(t, s, app("later@evil", "mallory@evil.example", "victim9@example.org"))) {
		t.Error("not acknowledged an hour later")
	}
	// None at all with 0.
	s.Config.Intake.AcksPerSenderHour = 0
	if acked(mustIngest(t, s, app("zero@x", "someone@example.org", "someone@example.org"))) {
		t.Error("acknowledged with acks_per_sender_hour = 0")
	}
}

// TestSameMessageIDOtherBytes: a Message-ID alone does not make two
// messages the same, and a clean message never resolves a quarantined one.
func TestSameMessageIDOtherBytes(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpenStore(t)
	broken := []byte("Message-ID: <m1@x>\r\nFrom: lucy.fielding@example.net\r\n\r\nbroken\r\n")
	if _, err := s.Quarantine(ctx, "m1@x", broken, errors.New("bad boundary")); err != nil {
		t.Fatal(err)
	}
	other := []byte("Message-ID: <m1@x>\r\nFrom: mallory@evil.example\r\n\r\nsomething else\r\n")
	if _, err := s.Quarantine(ctx, "m1@x", other, errors.New("bad base64")); err != nil {
		t.Fatal(err)
	}
	q, _ := s.QuarantineList(ctx, false)
	if len(q) != 2 {
		t.Fatalf("quarantine %+v: want both messages kept", q)
	}
	// A clean message with that Message-ID: a case, the quarantine as it was.
	clean := casefile.Inbound{MessageID: "m1@x", From: "mallory@evil.example", Raw: []byte("Message-ID: <m1@x>\r\n\r\nclean\r\n"), Application: sampleApplication()}
	if res := mustIngest(t, s, clean); res.Outcome != casefile.OutcomeCreated {
		t.Fatalf("%+v", res)
	}
	if q, _ := s.QuarantineList(ctx, false); len(q) != 2 {
		t.Errorf("a clean message resolved %d quarantined ones", 2-len(q))
	}
	// Another message with the same Message-ID: kept, not a duplicate.
	again := clean
	again.Raw = []byte("Message-ID: <m1@x>\r\n\r\nother words\r\n")
	if res := mustIngest(t, s, again); res.Outcome == casefile.OutcomeDuplicate {
		t.Errorf("%+v: other bytes taken for a duplicate", res)
	}
	// The same bytes again are.
	if res := mustIngest(t, s, clean); res.Outcome != casefile.OutcomeDuplicate {
		t.Errorf("%+v: want a duplicate", res)
	}
	// The quarantined bytes, read after a fix, resolve their entry only.
	fixed := casefile.Inbound{MessageID: "m1@x", From: "lucy.fielding@example.net", Raw: broken, Application: sampleApplication()}
	mustIngest(t, s, fixed)
	q, _ = s.QuarantineList(ctx, false)
	if len(q) != 1 {
		t.Fatalf("quarantine %+v: want the other one left", q)
	}
	item, _ := s.QuarantineItem(ctx, q[0].ID)
	if !bytes.Equal(item.Raw, other) {
		t.Error("the wrong entry was resolved")
	}
}

// TestStoreCleansHeaderText: text that may come from a header is made safe
// to print by the store too, whoever writes it (staff typing in a case).
func TestStoreCleansHeaderText(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpenStore(t)
	app := sampleApplication()
	app.Applicant.Name = "Lucy\x1b]0;owned\x07 Fielding\u202e"
	c := mustCreate(t, s, app)
	in := mail("ctl@x", "lucy.fielding@example.net", c.Ref)
	in.Subject = "[" + c.Ref + "] \x1b[2Jnoise\x07"
	in.Attachments = []casefile.Attachment{{Filename: "diary\u202efdp.exe", ContentType: "application/pdf", Data: []byte("%PDF")}}
	mustIngest(t, s, in)
	got, _ := s.Case(ctx, c.Ref)
	if got.Applicant.Name != "Lucy Fielding" {
		t.Errorf("name %q", got.Applicant.Name)
	}
	var subjects []string
	for _, m := range got.Messages {
		subjects = append(subjects, m.Subject)
	}
	if !strings.Contains(strings.Join(subjects, "|"), "["+c.Ref+"] noise") {
		t.Errorf("subjects %q", subjects)
	}
	if got.Attachments[0].Filename != "diaryfdp.exe" {
		t.Errorf("filename %q", got.Attachments[0].Filename)
	}
}

// TestTreatUnverifiedRefusals: only the coordinator decides; the message
// must be an unverified one of that case; a further review only when the
// case is answered.
func TestTreatUnverifiedRefusals(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpenStore(t)
	c := mustCreate(t, s, sampleApplication())
	other := mustCreate(t, s, sampleApplication())
	mustIngest(t, s, mail("ok@x", "lucy.fielding@example.net", c.Ref))
	mustIngest(t, s, mail("s@x", "mallory@evil.example", c.Ref))
	got, _ := s.Case(ctx, c.Ref)
	ids := map[string]int64{}
	for _, m := range got.Messages {
		ids[m.MessageID] = m.ID
	}
	officer := casefile.Actor{ID: "U-PC"}.OfficerOf("police")
	for _, tc := range []struct {
		name string
		a    casefile.Actor
		ref  string
		msg  int64
		as   string
		code string
	}{
		{"Officer", officer, c.Ref, ids["s@x"], casefile.TreatAsCorrespondence, casefile.EFORBIDDEN},
		{"BadAs", who("U-COORD"), c.Ref, ids["s@x"], "spam", casefile.EINVALID},
		{"OtherCase", who("U-COORD"), other.Ref, ids["s@x"], casefile.TreatAsCorrespondence, casefile.ENOTFOUND},
		{"Verified", who("U-COORD"), c.Ref, ids["ok@x"], casefile.TreatAsCorrespondence, casefile.ECONFLICT},
		{"NotAnswered", who("U-COORD"), c.Ref, ids["s@x"], casefile.TreatAsFurtherReview, casefile.ECONFLICT},
	} {
		if _, err := s.TreatUnverified(ctx, tc.a, tc.ref, tc.msg, tc.as); casefile.ErrorCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	// Refused, it stays undecided: it can still be taken as correspondence.
	if ch, err := s.TreatUnverified(ctx, who("U-COORD"), c.Ref, ids["s@x"], casefile.TreatAsCorrespondence); err != nil || !ch {
		t.Errorf("correspondence: %v %v", ch, err)
	}
}

// TestMessageIDKey: made once per database, the same after reopening,
// different in another database.
func TestMessageIDKey(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "trigger.db")
	s, _ := MustOpenStoreAt(t, path)
	k1, err := s.MessageIDKey(ctx)
	if err != nil || len(k1) != 32 {
		t.Fatalf("key %x %v", k1, err)
	}
	s.Close()
	again, _ := MustOpenStoreAt(t, path)
	if k2, _ := again.MessageIDKey(ctx); !bytes.Equal(k1, k2) {
		t.Error("the key changed when the database was opened again")
	}
	other, _ := MustOpenStore(t)
	if k3, _ := other.MessageIDKey(ctx); bytes.Equal(k1, k3) {
		t.Error("two databases share a key")
	}
}
