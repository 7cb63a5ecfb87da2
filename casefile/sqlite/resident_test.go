package sqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// openWith opens a store on a real file with a configuration the test
// shapes, on the usual clock (Monday 12 October 2026, 10:00).
func openWith(t *testing.T, shape func(*casefile.Config)) (*sqlite.Store, *Clock) {
	t.Helper()
	cfg := casefile.DefaultConfig()
	if shape != nil {
		shape(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "trigger.db"), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	clk := &Clock{t: time.Date(2026, 10, 12, 10, 0, 0, 0, casefile.London)}
	s.Clock = clk.Now
	return s, clk
}

func letterOf(t *testing.T, s *sqlite.Store, ref, kind string) casefile.Letter {
	t.Helper()
	ls, err := s.Letters(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(ls) - 1; i >= 0; i-- {
		if ls[i].Kind == kind {
			return ls[i]
		}
	}
	t.Fatalf("%s has no %s letter: %+v", ref, kind, ls)
	return casefile.Letter{}
}

func jobCount(t *testing.T, s *sqlite.Store, ref, kind string) int {
	t.Helper()
	jobs, err := s.Jobs(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, j := range jobs {
		if j.Kind == kind {
			n++
		}
	}
	return n
}

func emailsOf(t *testing.T, s *sqlite.Store, ref, kind string) []casefile.ResidentEmail {
	t.Helper()
	all, err := s.ResidentEmails(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	var out []casefile.ResidentEmail
	for _, e := range all {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func hasEvent(t *testing.T, s *sqlite.Store, ref, kind string) bool {
	t.Helper()
	evs, _ := s.Events(context.Background(), ref)
	for _, e := range evs {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

// Accepting drafts the letter telling the applicant the threshold is met
// (s.104(6)); it is approved while the case is gathering, sends, and does
// not move the case.
func TestMetLetter(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpenStore(t)
	c := mustCreate(t, s, sampleApplication())
	must(t)(s.Decide(ctx, who("U-COORD"), c.Ref, casefile.Met, "three complaints in two months"))
	l := letterOf(t, s, c.Ref, casefile.LetterMet)
	// Accepted on Monday 12 October 2026: replies due in 10 working days,
	// the meeting in 20.
	for _, want := range []string{"Your application meets the threshold", "They should reply by Monday 26 October 2026",
		"by Monday 9 November 2026", "Within 10 working days of the meeting", "A. Invite me to the review meeting.",
		"Community Safety Team Leader"} {
		if !strings.Contains(l.Text, want) {
			t.Errorf("the met letter lacks %q:\n%s", want, l.Text)
		}
	}
	if l.Lang != "en" || l.Subject != "["+c.Ref+"] Your Community Trigger application: our decision" {
		t.Errorf("lang %q subject %q", l.Lang, l.Subject)
	}
	must(t)(s.ApproveLetter(ctx, who("U-CHAIR"), c.Ref, l.ID, l.SHA256))
	got, _ := s.Case(ctx, c.Ref)
	if got.Status != casefile.StatusGathering {
		t.Errorf("approving the met letter moved the case to %s", got.Status)
	}
	if _, ok := got.Deadlines[casefile.DeadlineFurtherReview]; ok {
		t.Error("the met letter set a further-review deadline")
	}
	if n := jobCount(t, s, c.Ref, casefile.JobEmailLetter); n != 1 {
		t.Errorf("%d letter jobs, want 1 (to the applicant)", n)
	}
	if changed, err := s.ApproveLetter(ctx, who("U-CHAIR"), c.Ref, l.ID, l.SHA256); err != nil || changed {
		t.Errorf("a second approval: changed %v, %v", changed, err)
	}
	if n := jobCount(t, s, c.Ref, casefile.JobEmailLetter); n != 1 {
		t.Errorf("%d letter jobs after a second click, want 1", n)
	}
}

// reply is an email from the applicant on the case, as intake gives it.
func replyFrom(ref, id, text string) casefile.Inbound {
	return casefile.Inbound{MessageID: id, From: "lucy.fielding@example.net", Subject: "Re: [" + ref + "] Your Community Trigger application: our decision",
		SubjectRefs: []string{ref}, Raw: []byte("Subject: reply\r\n\r\n" + text), Text: text, ReceivedAt: time.Now()}
}

// The applicant's reply to the met letter records their involvement when
// it is clear; when it is not, the coordinator is asked, with the buttons.
func TestInvolvementFromReply(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpenStore(t)
	c := mustCreate(t, s, sampleApplication())
	must(t)(s.Decide(ctx, who("U-COORD"), c.Ref, casefile.Met, ""))
	l := letterOf(t, s, c.Ref, casefile.LetterMet)
	must(t)(s.ApproveLetter(ctx, who("U-CHAIR"), c.Ref, l.ID, l.SHA256))

	unclear := replyFrom(c.Ref, "r1@example.net", "Thanks. Is the meeting near me?")
	if res, err := s.Ingest(ctx, unclear); err != nil || res.Outcome != casefile.OutcomeFollowup {
		t.Fatalf("%+v %v", res, err)
	}
	got, _ := s.Case(ctx, c.Ref)
	if got.Involvement.Choice != casefile.InvolvementUnknown {
		t.Errorf("an unclear reply recorded %q", got.Involvement.Choice)
	}
	clear := replyFrom(c.Ref, "r2@example.net", "B")
	clear.Involvement = casefile.InvolvementWriting
	if _, err := s.Ingest(ctx, clear); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Case(ctx, c.Ref)
	if got.Involvement.Choice != casefile.InvolvementWriting || got.Involvement.Source != casefile.SourceReply || got.Involvement.At == nil {
		t.Errorf("involvement %+v, want writing from the reply", got.Involvement)
	}
	// The coordinator records a change of mind from a phone call.
	if _, err := s.RecordInvolvement(ctx, casefile.Actor{ID: "U-PC", Roles: []casefile.Role{casefile.RoleOfficer}, Agencies: []string{"police"}}, c.Ref, casefile.InvolvementMeeting); casefile.ErrorCode(err) != casefile.EFORBIDDEN {
		t.Errorf("an officer recording involvement: %v", err)
	}
	must(t)(s.RecordInvolvement(ctx, who("U-COORD"), c.Ref, casefile.InvolvementMeeting))
	got, _ = s.Case(ctx, c.Ref)
	if got.Involvement.Choice != casefile.InvolvementMeeting || got.Involvement.Source != casefile.SourceCoordinator {
		t.Errorf("involvement %+v", got.Involvement)
	}
}

func gatheredCase(t *testing.T, s *sqlite.Store, app casefile.Application) string {
	t.Helper()
	ctx := context.Background()
	c := mustCreate(t, s, app)
	must(t)(s.Decide(ctx, who("U-COORD"), c.Ref, casefile.Met, ""))
	for i, a := range []string{"police", "council", "housing"} {
		must(t)(s.RecordReply(ctx, who("U-"+a), casefile.ReplyInput{Ref: c.Ref, Agency: a, Author: "U-" + a, Source: "form", Taken: "Warnings given", DedupeKey: "g" + string(rune('0'+i))}))
	}
	return c.Ref
}

// A resident who asked to come is invited when the meeting is scheduled,
// once per date; a closed session gets them an update instead; a meeting
// later than the met letter said says sorry.
func TestMeetingInvitation(t *testing.T) {
	ctx := context.Background()
	s, clk := MustOpenStore(t)
	ref := gatheredCase(t, s, sampleApplication())
	must(t)(s.RecordInvolvement(ctx, who("U-COORD"), ref, casefile.InvolvementMeeting))
	when := time.Date(2026, 10, 28, 14, 0, 0, 0, casefile.London)
	plan := casefile.MeetingPlan{When: when, Place: "https://meet.example/ct-review"}
	must(t)(s.ScheduleMeeting(ctx, who("U-COORD"), ref, plan))
	if changed, err := s.ScheduleMeeting(ctx, who("U-COORD"), ref, plan); err != nil || changed {
		t.Fatalf("the same plan again: %v %v", changed, err)
	}
	inv := emailsOf(t, s, ref, casefile.MailInvitation)
	if len(inv) != 1 {
		t.Fatalf("%d invitations, want 1", len(inv))
	}
	for _, want := range []string{"Date: Wednesday 28 October 2026", "Time: 14:00", "Online: https://meet.example/ct-review"} {
		if !strings.Contains(inv[0].Text, want) {
			t.Errorf("the invitation lacks %q:\n%s", want, inv[0].Text)
		}
	}
	if strings.Contains(inv[0].Text, "later than") {
		t.Error("an invitation in time says sorry")
	}
	if n := jobCount(t, s, ref, casefile.JobEmailResident); n != 1 {
		t.Errorf("%d resident email jobs, want 1", n)
	}
	// Moved to a closed session after the date the met letter gave (Monday
	// 9 November): an update, not an invitation, and an apology.
	clk.Add(24 * time.Hour)
	must(t)(s.ScheduleMeeting(ctx, who("U-COORD"), ref, casefile.MeetingPlan{When: time.Date(2026, 11, 12, 10, 0, 0, 0, casefile.London), Place: "Room 2", ClosedSession: true}))
	if n := len(emailsOf(t, s, ref, casefile.MailInvitation)); n != 1 {
		t.Errorf("%d invitations after the move to a closed session, want still 1", n)
	}
	up := emailsOf(t, s, ref, casefile.MailUpdate)
	if len(up) != 1 {
		t.Fatalf("%d updates, want 1", len(up))
	}
	for _, want := range []string{"on Thursday 12 November 2026", "closed session", "later than the date we gave you"} {
		if !strings.Contains(up[0].Text, want) {
			t.Errorf("the update lacks %q:\n%s", want, up[0].Text)
		}
	}
	m, _ := s.MeetingOf(ctx, ref)
	if !m.ClosedSession {
		t.Error("the meeting is not marked closed")
	}
}

// After Record outcome the proposed recommendations go to the resident
// with a reply-by date; the case stays drafting; their reply drafts the
// response, which thanks them.
func TestConsultationReply(t *testing.T) {
	ctx := context.Background()
	s, clk := MustOpenStore(t)
	ref := gatheredCase(t, s, sampleApplication())
	must(t)(s.ScheduleMeeting(ctx, who("U-COORD"), ref, casefile.MeetingPlan{When: clk.Now().Add(48 * time.Hour), Place: "Room 2"}))
	clk.Set(time.Date(2026, 10, 14, 16, 0, 0, 0, casefile.London)) // Wednesday
	no := false
	must(t)(s.RecordOutcome(ctx, who("U-COORD"), ref, casefile.MeetingOutcome{Summary: "Not joined up.", Adequate: &no,
		Recommendations: []casefile.Recommendation{{Text: "Joint plan for the alleyway", Owner: "council", Due: casefile.MustDate("2026-12-15")}}}))
	c, _ := s.Case(ctx, ref)
	if c.Status != casefile.StatusDrafting || c.Consultation == nil || !c.Consultation.Open() {
		t.Fatalf("status %s, consultation %+v", c.Status, c.Consultation)
	}
	// Five working days from Wednesday 14 October.
	if c.Consultation.ReplyBy.String() != "2026-10-21" || c.Consultation.AskedAt == nil {
		t.Errorf("consultation %+v, want reply by 2026-10-21", c.Consultation)
	}
	cons := emailsOf(t, s, ref, casefile.MailConsultation)
	if len(cons) != 1 || !strings.Contains(cons[0].Text, "Please reply to this email by Wednesday 21 October 2026") ||
		!strings.Contains(cons[0].Text, "Joint plan for the alleyway") {
		t.Fatalf("consultation emails %+v", cons)
	}
	for _, l := range mustLetters(t, s, ref) {
		if l.Kind == casefile.LetterOutcome {
			t.Fatal("the response was drafted before the consultation ended")
		}
	}
	// Before the date passes, the scheduler leaves it.
	clk.Set(time.Date(2026, 10, 21, 12, 0, 0, 0, casefile.London))
	if n, err := s.EndConsultations(ctx); err != nil || n != 0 {
		t.Fatalf("EndConsultations on the reply-by day: %d %v", n, err)
	}
	if _, err := s.Ingest(ctx, replyFrom(ref, "c1@example.net", "The plan is fine but please include the car park.")); err != nil {
		t.Fatal(err)
	}
	c, _ = s.Case(ctx, ref)
	if c.Status != casefile.StatusAwaitingApproval || c.Consultation.RepliedAt == nil || c.Consultation.Open() {
		t.Fatalf("after the reply: status %s, consultation %+v", c.Status, c.Consultation)
	}
	l := letterOf(t, s, ref, casefile.LetterOutcome)
	if !strings.Contains(l.Text, "Thank you for your comments on the proposed actions") {
		t.Errorf("the response does not thank them:\n%s", l.Text)
	}
	if !hasEvent(t, s, ref, "consultation.replied") {
		t.Error("no consultation.replied event")
	}
	if _, err := s.SkipConsultation(ctx, who("U-COORD"), ref, "late"); err != nil {
		t.Errorf("skipping an ended consultation is a harmless no-op: %v", err)
	}
}

func mustLetters(t *testing.T, s *sqlite.Store, ref string) []casefile.Letter {
	t.Helper()
	ls, err := s.Letters(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// With no reply by the date, the scheduler drafts the response; a skip
// needs a reason; a consultation longer than the response's timescale moves
// the response's date, and the resident is told.
func TestConsultationEnds(t *testing.T) {
	ctx := context.Background()
	t.Run("DatePasses", func(t *testing.T) {
		s, clk := MustOpenStore(t)
		ref := gatheredCase(t, s, sampleApplication())
		must(t)(s.ScheduleMeeting(ctx, who("U-COORD"), ref, casefile.MeetingPlan{When: clk.Now().Add(48 * time.Hour), Place: "Room 2"}))
		no := false
		must(t)(s.RecordOutcome(ctx, who("U-COORD"), ref, casefile.MeetingOutcome{Summary: "x", Adequate: &no,
			Recommendations: []casefile.Recommendation{{Text: "Plan", Owner: "council", Due: casefile.MustDate("2026-12-15")}}}))
		if _, err := s.SkipConsultation(ctx, who("U-COORD"), ref, " "); casefile.ErrorCode(err) != casefile.EINVALID {
			t.Errorf("a skip without a reason: %v", err)
		}
		clk.Set(time.Date(2026, 10, 20, 9, 0, 0, 0, casefile.London)) // the day after the reply-by date (Monday 19 October)
		if n, err := s.EndConsultations(ctx); err != nil || n != 1 {
			t.Fatalf("EndConsultations: %d %v", n, err)
		}
		c, _ := s.Case(ctx, ref)
		if c.Status != casefile.StatusAwaitingApproval || c.Consultation.Open() || c.Consultation.RepliedAt != nil {
			t.Errorf("status %s consultation %+v", c.Status, c.Consultation)
		}
		if n, _ := s.EndConsultations(ctx); n != 0 {
			t.Errorf("a second run ended %d", n)
		}
	})
	t.Run("ResponseDateMoves", func(t *testing.T) {
		s, clk := openWith(t, func(c *casefile.Config) { c.Timescales.Consultation = 12 })
		ref := gatheredCase(t, s, sampleApplication())
		must(t)(s.ScheduleMeeting(ctx, who("U-COORD"), ref, casefile.MeetingPlan{When: clk.Now().Add(48 * time.Hour), Place: "Room 2"}))
		no := false
		must(t)(s.RecordOutcome(ctx, who("U-COORD"), ref, casefile.MeetingOutcome{Summary: "x", Adequate: &no,
			Recommendations: []casefile.Recommendation{{Text: "Plan", Owner: "council", Due: casefile.MustDate("2026-12-15")}}}))
		c, _ := s.Case(ctx, ref)
		// Reply by 12 working days from 12 October: 28 October; the
		// response then by two working days after: 30 October.
		if due := c.Deadlines[casefile.DeadlineResponse].Due.String(); due != "2026-10-30" {
			t.Errorf("response due %s, want 2026-10-30", due)
		}
		up := emailsOf(t, s, ref, casefile.MailUpdate)
		var slip *casefile.ResidentEmail
		for i := range up {
			if strings.Contains(up[i].Text, "our response to you will be later") {
				slip = &up[i]
			}
		}
		if slip == nil || !strings.Contains(slip.Text, "The new date is Friday 30 October 2026") {
			t.Errorf("no update with the new date: %+v", up)
		}
	})
}

// The resident is told when and why their case closed: withdrawn, or the
// window for a further review ended.
func TestClosureEmail(t *testing.T) {
	ctx := context.Background()
	s, clk := MustOpenStore(t)
	c := mustCreate(t, s, sampleApplication())
	must(t)(s.Withdraw(ctx, who("U-COORD"), c.Ref, "moved house"))
	cl := emailsOf(t, s, c.Ref, casefile.MailClosure)
	if len(cl) != 1 || !strings.Contains(cl[0].Text, "We closed your case on Monday 12 October 2026. This is because you told us that you want to withdraw your application.") {
		t.Fatalf("closure emails %+v", cl)
	}
	if strings.Contains(cl[0].Text, "moved house") {
		t.Error("the closure email repeats the coordinator's note")
	}
	ref := reviewedCase(t, s, clk, sampleApplication())
	l := latest(t, s, ref)
	must(t)(s.ApproveLetter(ctx, who("U-CHAIR"), ref, l.ID, l.SHA256))
	clk.Set(time.Date(2026, 12, 1, 10, 0, 0, 0, casefile.London))
	if n, err := s.CloseAfterFurtherReviewWindow(ctx); err != nil || n != 1 {
		t.Fatalf("closed %d, %v", n, err)
	}
	cl = emailsOf(t, s, ref, casefile.MailClosure)
	if len(cl) != 1 || !strings.Contains(cl[0].Text, "We closed your case on Tuesday 1 December 2026. This is because we sent you our response, and the time to ask for a further review has ended.") {
		t.Fatalf("closure emails %+v", cl)
	}
	if n := jobCount(t, s, ref, casefile.JobEmailResident); n < 1 {
		t.Error("no job sends the closure")
	}
}

func pccConfig(c *casefile.Config) {
	c.FurtherReview.ThresholdDecision = "the Office of the Police and Crime Commissioner"
	c.FurtherReview.ThresholdDecisionEmail = "reviews@opcc.example.gov.uk"
}

// A request about a not-met decision, by email, is recorded and forwarded
// to the body that hears it; its result is recorded and counted.
func TestThresholdReview(t *testing.T) {
	ctx := context.Background()
	s, _ := openWith(t, pccConfig)
	c := mustCreate(t, s, sampleApplication())
	must(t)(s.Decide(ctx, who("U-COORD"), c.Ref, casefile.NotMet, "One complaint only"))
	l := letterOf(t, s, c.Ref, casefile.LetterNotMet)
	if !strings.Contains(l.Text, "The Office of the Police and Crime Commissioner does this review") || strings.Contains(l.Text, "ask for a further review") {
		t.Errorf("the not-met letter:\n%s", l.Text)
	}
	must(t)(s.ApproveLetter(ctx, who("U-CHAIR"), c.Ref, l.ID, l.SHA256))
	req := replyFrom(c.Ref, "appeal@example.net", "I want to appeal this decision.")
	req.WantsFurtherReview = true
	res, err := s.Ingest(ctx, req)
	if err != nil || res.Outcome != casefile.OutcomeFurtherReview || !strings.Contains(res.Reason, "review of the threshold decision") {
		t.Fatalf("%+v %v", res, err)
	}
	got, _ := s.Case(ctx, c.Ref)
	if got.Status != casefile.StatusResponded || len(got.ThresholdReviews) != 1 {
		t.Fatalf("status %s, reviews %+v", got.Status, got.ThresholdReviews)
	}
	r := got.ThresholdReviews[0]
	if r.Source != "email" || r.Consent == nil || !*r.Consent || r.ForwardedTo != "reviews@opcc.example.gov.uk" || r.Result != "" {
		t.Errorf("review %+v", r)
	}
	if n := jobCount(t, s, c.Ref, casefile.JobEmailThresholdReview); n != 1 {
		t.Errorf("%d forwarding jobs, want 1", n)
	}
	fw, err := s.ThresholdReviewForward(ctx, c.Ref, r.ID)
	if err != nil || fw.Letter == nil || fw.RequestText != "I want to appeal this decision." {
		t.Fatalf("forward: %+v %v", fw, err)
	}
	if _, err := s.RecordThresholdReviewResult(ctx, who("U-COORD"), c.Ref, true, "The OPCC found four qualifying complaints."); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordThresholdReviewResult(ctx, who("U-COORD"), c.Ref, false, ""); casefile.ErrorCode(err) != casefile.ECONFLICT {
		t.Errorf("recording the other result: %v", err)
	}
	rep, err := s.YearReport(ctx, 2026)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ThresholdReviewsRequested != 1 || rep.ThresholdReviewsUpheld != 1 || rep.FurtherReviewsRequested != 0 {
		t.Errorf("report %+v", rep)
	}
}

// Recorded by the coordinator, with the applicant's consent as they gave
// it; refused where there is no not-met letter yet, or no body configured.
func TestThresholdReviewRecorded(t *testing.T) {
	ctx := context.Background()
	s, _ := openWith(t, pccConfig)
	c := mustCreate(t, s, sampleApplication())
	no := false
	if _, err := s.RequestThresholdReview(ctx, who("U-COORD"), c.Ref, &no); casefile.ErrorCode(err) != casefile.ECONFLICT {
		t.Errorf("before any decision: %v", err)
	}
	must(t)(s.Decide(ctx, who("U-COORD"), c.Ref, casefile.NotMet, "One complaint only"))
	l := letterOf(t, s, c.Ref, casefile.LetterNotMet)
	must(t)(s.ApproveLetter(ctx, who("U-CHAIR"), c.Ref, l.ID, l.SHA256))
	must(t)(s.RequestThresholdReview(ctx, who("U-COORD"), c.Ref, &no))
	if changed, err := s.RequestThresholdReview(ctx, who("U-COORD"), c.Ref, &no); err != nil || changed {
		t.Errorf("a second click: %v %v", changed, err)
	}
	got, _ := s.Case(ctx, c.Ref)
	if len(got.ThresholdReviews) != 1 || got.ThresholdReviews[0].Consent == nil || *got.ThresholdReviews[0].Consent || got.ThresholdReviews[0].Source != "slack" {
		t.Errorf("reviews %+v", got.ThresholdReviews)
	}

	plain, _ := MustOpenStore(t)
	c2 := mustCreate(t, plain, sampleApplication())
	if _, err := plain.RequestThresholdReview(ctx, who("U-COORD"), c2.Ref, nil); casefile.ErrorCode(err) != casefile.ECONFLICT {
		t.Errorf("with no body configured: %v", err)
	}
}

func welsh(c *casefile.Config) {
	c.Partnership.Languages = []string{"cy", "en"}
}

// A Welsh application in a Welsh partnership is answered in Welsh; an
// application whose language is not known gets both, Welsh first, in one
// letter with one fingerprint; an English partnership writes English.
func TestLanguageOfLetters(t *testing.T) {
	ctx := context.Background()
	s, _ := openWith(t, welsh)
	cy, err := s.CreateCase(ctx, casefile.NewCase{Application: sampleApplication(), Actor: who("intake"),
		Preferences: casefile.Preferences{Language: casefile.LangWelsh, LanguageSource: casefile.SourceDetected}})
	if err != nil {
		t.Fatal(err)
	}
	if cy.Language != casefile.LangWelsh || cy.LanguageSource != casefile.SourceDetected {
		t.Errorf("case language %q (%s)", cy.Language, cy.LanguageSource)
	}
	must(t)(s.Decide(ctx, who("U-COORD"), cy.Ref, casefile.Met, ""))
	if l := letterOf(t, s, cy.Ref, casefile.LetterMet); l.Lang != "cy" || !strings.HasPrefix(l.Text, "Annwyl Lucy Fielding") || strings.Contains(l.Text, "Dear ") {
		t.Errorf("Welsh preference: lang %q:\n%s", l.Lang, l.Text)
	}
	both := mustCreate(t, s, sampleApplication())
	must(t)(s.Decide(ctx, who("U-COORD"), both.Ref, casefile.Met, ""))
	l := letterOf(t, s, both.Ref, casefile.LetterMet)
	if l.Lang != "cy+en" || !l.Bilingual() || strings.Index(l.Text, "Annwyl") > strings.Index(l.Text, "Dear") || !strings.Contains(l.Subject, " / ") {
		t.Errorf("unknown preference: lang %q subject %q", l.Lang, l.Subject)
	}
	if !strings.Contains(l.HTML, `<div lang="cy">`) || !strings.Contains(l.HTML, `<div lang="en">`) {
		t.Error("the HTML does not mark the two languages")
	}
	// One fingerprint covers both: approving sends the one text.
	must(t)(s.ApproveLetter(ctx, who("U-CHAIR"), both.Ref, l.ID, l.SHA256))

	en, _ := MustOpenStore(t)
	c, err := en.CreateCase(ctx, casefile.NewCase{Application: sampleApplication(), Actor: who("intake"),
		Preferences: casefile.Preferences{Language: casefile.LangWelsh, LanguageSource: casefile.SourceDetected}})
	if err != nil {
		t.Fatal(err)
	}
	must(t)(en.Decide(ctx, who("U-COORD"), c.Ref, casefile.Met, ""))
	if l := letterOf(t, en, c.Ref, casefile.LetterMet); l.Lang != "en" {
		t.Errorf("an English partnership wrote %q", l.Lang)
	}
}

// The coordinator records the resident's preferences; large print makes
// the HTML 16 pt or more.
func TestPreferencesAndLargePrint(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpenStore(t)
	c := mustCreate(t, s, sampleApplication())
	if _, err := s.SetPreferences(ctx, who("U-COORD"), c.Ref, "fr", nil); casefile.ErrorCode(err) != casefile.EINVALID {
		t.Errorf("an unknown language: %v", err)
	}
	if _, err := s.SetPreferences(ctx, who("U-COORD"), c.Ref, "", []string{"braille"}); casefile.ErrorCode(err) != casefile.EINVALID {
		t.Errorf("an unknown format: %v", err)
	}
	must(t)(s.SetPreferences(ctx, who("U-COORD"), c.Ref, casefile.LangEnglish, []string{casefile.FormatLargePrint}))
	got, _ := s.Case(ctx, c.Ref)
	if got.Language != casefile.LangEnglish || got.LanguageSource != casefile.SourceCoordinator || strings.Join(got.AccessibleFormat, ",") != "large_print" {
		t.Errorf("%q %q %v", got.Language, got.LanguageSource, got.AccessibleFormat)
	}
	must(t)(s.Decide(ctx, who("U-COORD"), c.Ref, casefile.Met, ""))
	if l := letterOf(t, s, c.Ref, casefile.LetterMet); !strings.Contains(l.HTML, "font-size: 18pt") {
		t.Error("large print: the HTML is not in 16 pt or more")
	}
}

// The contact officer is the coordinator's [[officer]] entry by default,
// changes to another configured officer (the resident is told), and never
// to someone the configuration does not name.
func TestContactOfficer(t *testing.T) {
	ctx := context.Background()
	s, _ := openWith(t, func(c *casefile.Config) {
		c.Roles.Coordinator = casefile.IDList{"U-COORD"}
		c.Officers = []casefile.Officer{
			{SlackID: "U-COORD", Name: "Sam Patel", Title: "Community Safety Team Leader", Email: "sam.patel@example-council.gov.uk", Phone: "01234 567891"},
			{SlackID: "U-RHIAN", Name: "Rhian Evans", Title: "ASB Officer", Email: "rhian.evans@example-council.gov.uk", Phone: "01234 567892"},
		}
	})
	c := mustCreate(t, s, sampleApplication())
	if c.ContactOfficer.Name != "Sam Patel" || !c.ContactOfficer.Default {
		t.Errorf("default contact %+v", c.ContactOfficer)
	}
	if _, err := s.SetContactOfficer(ctx, who("U-COORD"), c.Ref, "U-NOBODY"); casefile.ErrorCode(err) != casefile.EINVALID {
		t.Errorf("an officer not configured: %v", err)
	}
	must(t)(s.SetContactOfficer(ctx, who("U-COORD"), c.Ref, "U-RHIAN"))
	got, _ := s.Case(ctx, c.Ref)
	if got.ContactOfficer.Name != "Rhian Evans" || got.ContactOfficer.Default {
		t.Errorf("contact %+v", got.ContactOfficer)
	}
	up := emailsOf(t, s, c.Ref, casefile.MailUpdate)
	if len(up) != 1 || !strings.Contains(up[0].Text, "You have a new contact officer for your case: Rhian Evans, ASB Officer.") ||
		!strings.Contains(up[0].Text, "rhian.evans@example-council.gov.uk") {
		t.Errorf("updates %+v", up)
	}
	must(t)(s.Decide(ctx, who("U-COORD"), c.Ref, casefile.Met, ""))
	if l := letterOf(t, s, c.Ref, casefile.LetterMet); !strings.Contains(l.Text, "Rhian Evans, ASB Officer") || !strings.Contains(l.Text, "01234 567892") {
		t.Errorf("the letter does not name the contact officer:\n%s", l.Text)
	}
}
