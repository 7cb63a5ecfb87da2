package sqlite_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// reportCases are the known cases of the report and retention tests, built
// through the store's own commands on a controlled clock.
type reportCases struct {
	s   *sqlite.Store
	clk *Clock
	// A: reviewed with two recommendations, further review upheld, closed.
	// B: threshold not met, further review declined, closed.
	// C: reviewed without recommendations, responded (not closed).
	// D: withdrawn before the decision. E: received in 2025.
	// F: received on 31 December, undecided.
	A, B, C, D, E, F string
}

// reportAttachment is the first attachment of case A's application email:
// bytes that no text handling may change.
var reportAttachment = []byte("%PDF-1.4\x00\x01\x02\xff\xfe binary \r\n\x00 diary of incidents\n")

func buildReportCases(t *testing.T, s *sqlite.Store, clk *Clock) *reportCases {
	t.Helper()
	ctx := context.Background()
	rc := &reportCases{s: s, clk: clk}
	at := func(when string) { clk.Set(london(when)) }
	approve := func(ref, by string) {
		t.Helper()
		l := latest(t, s, ref)
		must(t)(s.ApproveLetter(ctx, who(by), ref, l.ID, l.SHA256))
	}
	reply := func(ref, agency, author, key string) {
		t.Helper()
		must(t)(s.RecordReply(ctx, who(author), casefile.ReplyInput{Ref: ref, Agency: agency, Author: author, Source: "form",
			Complaints: "Calls logged about the alleyway behind Mill Street", Taken: "Visited Lucy Fielding at home", DedupeKey: key}))
	}
	recordOutcome := func(ref string, adequate bool, recs ...casefile.Recommendation) {
		t.Helper()
		must(t)(s.RecordOutcome(ctx, who("U-COORD"), ref, casefile.MeetingOutcome{Attendance: []string{"police", "council", "housing"},
			Summary: "Ms Fielding's reports were handled separately.", Adequate: &adequate, Recommendations: recs, By: "U-COORD"}))
		if len(recs) > 0 { // the applicant is consulted on them: by phone, here
			must(t)(s.SkipConsultation(ctx, who("U-COORD"), ref, "Ms Fielding commented by phone"))
		}
	}

	// E, in the year before.
	at("2025-12-29 10:00")
	rc.E = mustCreate(t, s, sampleApplication()).Ref
	at("2025-12-30 10:00")
	must(t)(s.Decide(ctx, who("U-COORD"), rc.E, casefile.NotMet, "One complaint only"))

	// A arrives by email with two attachments.
	at("2026-02-10 10:00")
	res, err := s.Ingest(ctx, casefile.Inbound{
		MessageID: "form-40117@forms.example", Subject: "ASB Case Review application from Lucy Fielding", From: "lucy.fielding@example.net",
		Raw:         []byte("From: Lucy Fielding <lucy.fielding@example.net>\r\nSubject: ASB Case Review application\r\nMessage-ID: <form-40117@forms.example>\r\n\r\nName: Lucy Fielding\r\nPhone: 07700 900123\r\n"),
		Text:        "Name: Lucy Fielding\nPhone: 07700 900123\n",
		Application: sampleApplication(),
		Attachments: []casefile.Attachment{
			{Filename: "../../etc/Lucy Fielding diary.pdf", ContentType: "application/pdf", Data: reportAttachment},
			{Filename: "photo 1.jpg", ContentType: "image/jpeg", Data: []byte{0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F', 0}},
		},
	})
	if err != nil || res.Case == nil {
		t.Fatalf("ingest: %+v %v", res, err)
	}
	rc.A = *res.Case
	at("2026-02-13 10:00")
	must(t)(s.Decide(ctx, who("U-COORD"), rc.A, casefile.Met, "Three complaints; Ms Fielding is distressed"))
	at("2026-02-17 10:00")
	reply(rc.A, "police", "U-PC", "a-police")
	at("2026-02-19 10:00")
	reply(rc.A, "council", "U-ASB", "a-council")
	at("2026-02-20 10:00")
	reply(rc.A, "housing", "U-HO", "a-housing")
	must(t)(s.ScheduleMeeting(ctx, who("U-COORD"), rc.A, casefile.MeetingPlan{When: london("2026-03-02 14:00"), Place: "Committee Room 2", Attendees: "PC Jones, Sam Patel", By: "U-COORD"}))
	at("2026-03-02 16:00")
	recordOutcome(rc.A, false,
		casefile.Recommendation{Text: "Gate the alleyway behind 27 Mill Street", Owner: "council", Due: casefile.MustDate("2026-04-30")},
		casefile.Recommendation{Text: "Targeted patrols", Owner: "police", Due: casefile.MustDate("2026-04-30")})
	at("2026-03-04 10:00")
	approve(rc.A, "U-CHAIR")
	at("2026-03-09 10:00")
	must(t)(s.RequestFurtherReview(ctx, who("U-COORD"), rc.A))
	at("2026-03-10 10:00")
	must(t)(s.DecideFurtherReview(ctx, who("U-CHAIR"), rc.A, true, ""))
	at("2026-03-16 10:00")
	must(t)(s.RecordFurtherReviewOutcome(ctx, who("U-CHAIR"), rc.A, "The patrols missed the times Ms Fielding reported.", true))
	approve(rc.A, "U-CHAIR")

	// B: not met, a further review declined.
	at("2026-03-02 10:00")
	rc.B = mustCreate(t, s, sampleApplication()).Ref
	at("2026-03-06 10:00")
	must(t)(s.Decide(ctx, who("U-COORD"), rc.B, casefile.NotMet, "Ms Fielding reported once only"))
	at("2026-03-10 10:00")
	approve(rc.B, "U-COORD")
	at("2026-03-11 10:00")
	must(t)(s.RequestFurtherReview(ctx, who("U-COORD"), rc.B))
	at("2026-03-12 10:00")
	must(t)(s.DecideFurtherReview(ctx, who("U-CHAIR"), rc.B, false, "Nothing new about Lucy Fielding's reports"))
	approve(rc.B, "U-CHAIR") // the letter saying why; sending it closes the case

	// C: reviewed around the late-May bank holiday, no recommendations.
	at("2026-05-13 10:00")
	rc.C = mustCreate(t, s, sampleApplication()).Ref
	at("2026-05-19 10:00")
	must(t)(s.Decide(ctx, who("U-COORD"), rc.C, casefile.Met, ""))
	at("2026-05-21 10:00")
	reply(rc.C, "police", "U-PC", "c-police")
	at("2026-05-26 10:00")
	reply(rc.C, "housing", "U-HO", "c-housing")
	at("2026-05-27 10:00")
	reply(rc.C, "council", "U-ASB", "c-council")
	must(t)(s.ScheduleMeeting(ctx, who("U-COORD"), rc.C, casefile.MeetingPlan{When: london("2026-06-01 10:00"), Place: "Online", By: "U-COORD"}))
	at("2026-06-01 16:00")
	recordOutcome(rc.C, true)
	at("2026-06-03 10:00")
	approve(rc.C, "U-CHAIR")

	// D: withdrawn.
	at("2026-07-13 10:00")
	rc.D = mustCreate(t, s, sampleApplication()).Ref
	at("2026-07-15 10:00")
	must(t)(s.Withdraw(ctx, who("U-COORD"), rc.D, "Lucy Fielding has moved house"))

	// F: the last day of the year.
	at("2026-12-31 16:00")
	rc.F = mustCreate(t, s, sampleApplication()).Ref
	return rc
}

func wantReport2026(cfg *casefile.Config) *casefile.Report {
	name := func(id string) string { a, _ := cfg.Agency(id); return a.Name }
	return &casefile.Report{
		Year:         2026,
		Applications: 5, ThresholdNotMet: 1, ReviewsCarriedOut: 2, ReviewsWithRecommendations: 1,
		ThresholdMet: 2, AwaitingDecision: 1, Withdrawn: 1,
		FurtherReviewsRequested: 2, FurtherReviewsUpheld: 1,
		DaysToDecision: casefile.Median{N: 3, Value: 4},  // 3, 4, 4
		DaysToResponse: casefile.Median{N: 3, Value: 14}, // 16, 6, 14
		Agencies: []casefile.AgencyReplyTimes{
			{Agency: "police", Name: name("police"), Requests: 2, Median: casefile.Median{N: 2, Value: 2}},
			{Agency: "council", Name: name("council"), Requests: 2, Median: casefile.Median{N: 2, Value: 4.5}},
			{Agency: "housing", Name: name("housing"), Requests: 2, Median: casefile.Median{N: 2, Value: 4.5}},
		},
		Monthly: [12]int{0, 1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 1},
	}
}

func TestYearReport(t *testing.T) {
	ctx := context.Background()
	s, clk := MustOpenStore(t)
	buildReportCases(t, s, clk)
	clk.Set(london("2027-02-01 10:00"))

	got, err := s.YearReport(ctx, 2026)
	if err != nil {
		t.Fatal(err)
	}
	if want := wantReport2026(s.Config); !reflect.DeepEqual(got, want) {
		t.Errorf("2026:\n got %+v\nwant %+v", got, want)
	}
	prev, err := s.YearReport(ctx, 2025)
	if err != nil || prev.Applications != 1 || prev.ThresholdNotMet != 1 || prev.Monthly[11] != 1 || len(prev.Agencies) != 0 {
		t.Errorf("2025: %+v %v", prev, err)
	}
	if _, err := s.YearReport(ctx, 26); casefile.ErrorCode(err) != casefile.EINVALID {
		t.Errorf("year 26: %v", err)
	}
}

func TestMedianString(t *testing.T) {
	for _, tc := range []struct {
		m    casefile.Median
		want string
	}{{casefile.Median{}, "–"}, {casefile.Median{N: 2, Value: 4.5}, "4.5"}, {casefile.Median{N: 1, Value: 3}, "3"}} {
		if got := tc.m.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.m, got, tc.want)
		}
	}
}
