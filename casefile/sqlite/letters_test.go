package sqlite_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// reviewedCase takes a case through the review to its draft letter.
func reviewedCase(t *testing.T, s *sqlite.Store, clk *Clock, app casefile.Application) string {
	t.Helper()
	ctx := context.Background()
	c := mustCreate(t, s, app)
	must(t)(s.Decide(ctx, who("U-COORD"), c.Ref, casefile.Met, "three complaints in two months"))
	must(t)(s.RecordReply(ctx, who("U-PC"), casefile.ReplyInput{Ref: c.Ref, Agency: "police", Author: "U-PC", Source: "form",
		Complaints: "Three calls logged", Taken: "Patrols increased on Friday nights", DedupeKey: "r1"}))
	must(t)(s.RecordReply(ctx, who("U-ASB"), casefile.ReplyInput{Ref: c.Ref, Agency: "council", Author: "U-ASB", Source: "thread",
		Text: "Community protection warning served on 2 October", DedupeKey: "r2"}))
	must(t)(s.RecordReply(ctx, who("U-HO"), casefile.ReplyInput{Ref: c.Ref, Agency: "housing", Author: "U-HO", Source: "form", NoInfo: true, DedupeKey: "r3"}))
	must(t)(s.ScheduleMeeting(ctx, who("U-COORD"), c.Ref, casefile.MeetingPlan{When: clk.Now().Add(48 * time.Hour), Place: "Room 2", By: "U-COORD"}))
	no := false
	must(t)(s.RecordOutcome(ctx, who("U-COORD"), c.Ref, casefile.MeetingOutcome{
		Attendance: []string{"police", "council"}, Summary: "The reports were handled separately and nobody joined them up.", Adequate: &no, By: "U-COORD",
		Recommendations: []casefile.Recommendation{
			{Text: "Joint problem-solving plan for the alleyway", Owner: "council", Due: casefile.MustDate("2026-12-15")},
			{Text: "Targeted patrols on Friday and Saturday nights", Owner: "police", Due: casefile.MustDate("2026-11-30")},
		},
	}))
	// The recommendations go to the resident for comment first; here the
	// coordinator records they commented by phone, and the response is
	// drafted.
	must(t)(s.SkipConsultation(ctx, who("U-COORD"), c.Ref, "The applicant commented by phone: content with the plan."))
	return c.Ref
}

func must(t *testing.T) func(bool, error) {
	return func(_ bool, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func latest(t *testing.T, s *sqlite.Store, ref string) casefile.Letter {
	t.Helper()
	ls, err := s.Letters(context.Background(), ref)
	if err != nil || len(ls) == 0 {
		t.Fatalf("letters %v %v", ls, err)
	}
	return ls[len(ls)-1]
}

func TestOutcomeLetter(t *testing.T) {
	s, clk := MustOpenStore(t)
	ref := reviewedCase(t, s, clk, sampleApplication())
	c, _ := s.Case(context.Background(), ref)
	if c.Status != casefile.StatusAwaitingApproval {
		t.Fatalf("status %s", c.Status)
	}
	l := latest(t, s, ref)
	// Decided on Monday 12 October 2026: the further review must be asked for within 20 working days.
	for _, want := range []string{
		"Dear Lucy Fielding", ref, "Patrols increased on Friday nights", "Community protection warning served on 2 October",
		"Housing provider holds no record", "The reports were handled separately",
		"the partnership's response to your reports was not adequate",
		"1. Joint problem-solving plan for the alleyway", "Responsible: District Council. To be done by 15 December 2026.",
		"2. Targeted patrols on Friday and Saturday nights", "Responsible: Police. To be done by 30 November 2026.",
		"ask for a further review", "by 9 November 2026", "the Chair of the Community Safety Partnership",
		"not a complaints procedure", "Ombudsman remains open",
	} {
		if !strings.Contains(l.Text, want) {
			t.Errorf("letter lacks %q:\n%s", want, l.Text)
		}
	}
	if l.Version != 1 || !strings.Contains(l.HTML, "<li>") && !strings.Contains(l.HTML, "Ombudsman remains open") {
		t.Errorf("version %d, html %q", l.Version, l.HTML)
	}
	if strings.Contains(l.Text, "<no value>") {
		t.Errorf("a template field is missing:\n%s", l.Text)
	}
}

func TestEditApproveSend(t *testing.T) {
	ctx := context.Background()
	s, clk := MustOpenStore(t)
	app := sampleApplication()
	app.Route = casefile.RouteOnBehalf
	victim := casefile.Person{Name: "Mary Fielding", Email: "mary@example.net"}
	app.OnBehalfOf = &victim
	ref := reviewedCase(t, s, clk, app)
	v1 := latest(t, s, ref)

	v2, err := s.EditLetter(ctx, who("U-COORD"), ref, 0, strings.Replace(v1.Text, "Yours sincerely", "With best wishes", 1))
	if err != nil || v2.Version != 2 {
		t.Fatalf("edit: %+v %v", v2, err)
	}
	if _, err := s.EditLetter(ctx, who("U-COORD"), ref, 0, v2.Text); casefile.ErrorCode(err) != casefile.ECONFLICT {
		t.Errorf("an unchanged edit made a version: %v", err)
	}
	// Approving version 1 now is refused: only the latest version can go.
	if _, err := s.ApproveLetter(ctx, who("U-CHAIR"), ref, v1.ID, v1.SHA256); casefile.ErrorCode(err) != casefile.ECONFLICT {
		t.Fatalf("approving a superseded version: %v", err)
	}
	// Two approvers at once: one approval, one set of emails.
	var wg sync.WaitGroup
	changed := make([]bool, 2)
	for i := range changed {
		wg.Go(func() {
			ch, err := s.ApproveLetter(ctx, who("U-CHAIR"), ref, v2.ID, v2.SHA256)
			if err != nil {
				t.Error(err)
			}
			changed[i] = ch
		})
	}
	wg.Wait()
	if changed[0] == changed[1] {
		t.Fatalf("approvals changed %v: want exactly one", changed)
	}
	c, _ := s.Case(ctx, ref)
	if c.Status != casefile.StatusResponded || c.Deadlines[casefile.DeadlineFurtherReview].Due.IsZero() {
		t.Fatalf("status %s deadlines %v", c.Status, c.Deadlines)
	}
	jobs, _ := s.Jobs(ctx, ref)
	var sends []string
	for _, j := range jobs {
		if j.Kind == casefile.JobEmailLetter {
			sends = append(sends, j.DedupeKey)
		}
	}
	want := []string{"letter:" + ref + ":" + itoa(v2.ID) + ":applicant", "letter:" + ref + ":" + itoa(v2.ID) + ":victim"}
	if strings.Join(sends, ",") != strings.Join(want, ",") {
		t.Errorf("letter jobs %v, want %v", sends, want)
	}
	approved := latest(t, s, ref)
	if approved.ApprovedBy != "U-CHAIR" || approved.ID != v2.ID {
		t.Errorf("approved %+v", approved)
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func TestRequestChanges(t *testing.T) {
	ctx := context.Background()
	s, clk := MustOpenStore(t)
	ref := reviewedCase(t, s, clk, sampleApplication())
	must(t)(s.RequestChanges(ctx, who("U-CHAIR"), ref, "Say more about the patrols"))
	c, _ := s.Case(ctx, ref)
	if c.Status != casefile.StatusDrafting {
		t.Fatalf("status %s", c.Status)
	}
	l := latest(t, s, ref)
	if _, err := s.ApproveLetter(ctx, who("U-CHAIR"), ref, l.ID, l.SHA256); casefile.ErrorCode(err) != casefile.ECONFLICT {
		t.Fatalf("approved a draft sent back for changes: %v", err)
	}
	if _, err := s.EditLetter(ctx, who("U-COORD"), ref, 0, l.Text+"\nPatrols will continue until March.\n"); err != nil {
		t.Fatal(err)
	}
	c, _ = s.Case(ctx, ref)
	if c.Status != casefile.StatusAwaitingApproval {
		t.Fatalf("status %s after the edit", c.Status)
	}
}

func TestFurtherReview(t *testing.T) {
	ctx := context.Background()
	for _, late := range []bool{false, true} {
		s, clk := MustOpenStore(t)
		ref := reviewedCase(t, s, clk, sampleApplication())
		l := latest(t, s, ref)
		must(t)(s.ApproveLetter(ctx, who("U-CHAIR"), ref, l.ID, l.SHA256))
		if late {
			clk.Add(60 * 24 * time.Hour)
		}
		must(t)(s.RequestFurtherReview(ctx, who("U-COORD"), ref))
		esc, _ := s.FurtherReviews(ctx, ref)
		if len(esc) != 1 || esc[0].Late != late {
			t.Fatalf("late=%v: escalations %+v", late, esc)
		}
		if _, err := s.DecideFurtherReview(ctx, who("U-CHAIR"), ref, false, ""); casefile.ErrorCode(err) != casefile.EINVALID {
			t.Errorf("declined without a reason: %v", err)
		}
		must(t)(s.DecideFurtherReview(ctx, who("U-CHAIR"), ref, true, ""))
		must(t)(s.RecordFurtherReviewOutcome(ctx, who("U-CHAIR"), ref, "The patrols were not targeted at the right times. Police will change the patrol plan.", true))
		fl := latest(t, s, ref)
		if fl.Kind != casefile.LetterFurtherReview || !strings.Contains(fl.Text, "has been upheld") || !strings.Contains(fl.Text, "Ombudsman remains open") {
			t.Errorf("further review letter:\n%s", fl.Text)
		}
		must(t)(s.ApproveLetter(ctx, who("U-CHAIR"), ref, fl.ID, fl.SHA256))
		c, _ := s.Case(ctx, ref)
		if c.Status != casefile.StatusClosed {
			t.Errorf("status %s after the further review letter", c.Status)
		}
	}
}

func TestLetterTemplateOverride(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/not_met.txt.tmpl", "Dear {{.Applicant.Name}}, our own wording for {{.Ref}}: {{.DecisionReason}}\n")
	cfg := casefile.DefaultConfig()
	cfg.Letters.Dir = dir
	s, err := sqlite.Open(t.TempDir()+"/t.db", &cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := mustCreate(t, s, sampleApplication())
	must(t)(s.Decide(context.Background(), who("U-COORD"), c.Ref, casefile.NotMet, "only one complaint in six months"))
	l := latest(t, s, c.Ref)
	if l.Text != "Dear Lucy Fielding, our own wording for "+c.Ref+": only one complaint in six months\n" {
		t.Errorf("override not used: %q", l.Text)
	}
}

// TestClosedAfterWindowThenLateRequest: an answered case closes when the
// window for a further review ends; a request after that reopens it,
// marked late; after a further review, the case does not reopen again.
func TestClosedAfterWindowThenLateRequest(t *testing.T) {
	ctx := context.Background()
	s, clk := MustOpenStore(t)
	ref := reviewedCase(t, s, clk, sampleApplication())
	l := latest(t, s, ref)
	must(t)(s.ApproveLetter(ctx, who("U-CHAIR"), ref, l.ID, l.SHA256))
	if n, err := s.CloseAfterFurtherReviewWindow(ctx); err != nil || n != 0 {
		t.Fatalf("closed %d before the window ended: %v", n, err)
	}
	clk.Add(40 * 24 * time.Hour)
	if n, err := s.CloseAfterFurtherReviewWindow(ctx); err != nil || n != 1 {
		t.Fatalf("closed %d after the window: %v", n, err)
	}
	c, _ := s.Case(ctx, ref)
	if c.Status != casefile.StatusClosed {
		t.Fatalf("status %s", c.Status)
	}
	must(t)(s.RequestFurtherReview(ctx, who("U-COORD"), ref))
	esc, _ := s.FurtherReviews(ctx, ref)
	c, _ = s.Case(ctx, ref)
	if c.Status != casefile.StatusFurtherReviewRequested || len(esc) != 1 || !esc[0].Late {
		t.Fatalf("status %s escalations %+v", c.Status, esc)
	}
	must(t)(s.DecideFurtherReview(ctx, who("U-CHAIR"), ref, false, "the patrol plan was followed"))
	// The applicant is told why, by a letter the Chair approves.
	dl := latest(t, s, ref)
	if dl.Kind != casefile.LetterFurtherReview || !strings.Contains(dl.Text, "decided not to hold a further review") ||
		!strings.Contains(dl.Text, "the patrol plan was followed") || strings.Contains(dl.Text, "<no value>") {
		t.Fatalf("decline letter:\n%s", dl.Text)
	}
	must(t)(s.ApproveLetter(ctx, who("U-CHAIR"), ref, dl.ID, dl.SHA256))
	c, _ = s.Case(ctx, ref)
	if c.Status != casefile.StatusClosed {
		t.Fatalf("status %s after the decline letter", c.Status)
	}
	if _, err := s.RequestFurtherReview(ctx, who("U-COORD"), ref); casefile.ErrorCode(err) != casefile.ECONFLICT {
		t.Fatalf("a second further review: %v", err)
	}
}
