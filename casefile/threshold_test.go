package casefile_test

import (
	"strings"
	"testing"

	"github.com/csp/trigger/casefile"
)

func inc(occurred, reported, agency string) casefile.Incident {
	var in casefile.Incident
	if occurred != "" {
		in.OccurredOn = casefile.MustDate(occurred)
	}
	if reported != "" {
		in.ReportedOn = casefile.MustDate(reported)
	}
	in.Agency = agency
	return in
}

func TestAssess(t *testing.T) {
	rules := casefile.DefaultThresholdRules()
	applied := casefile.MustDate("2026-10-12")
	three := []casefile.Incident{
		inc("2026-08-02", "2026-08-03", "police"),
		inc("2026-08-28", "2026-08-28", "council"),
		inc("2026-09-19", "2026-09-21", "housing"),
	}
	for _, tc := range []struct {
		name       string
		route      casefile.Route
		incidents  []casefile.Incident
		people     int
		want       casefile.Assessment
		qualifying int
		reason     string // a reason that must be given
	}{
		{"ThreeQualifying", casefile.RouteIndividual, three, 0, casefile.Met, 3, "threshold met: 3 qualifying complaints"},
		{"TwoQualifying", casefile.RouteIndividual, three[:2], 0, casefile.NotMet, 2, "threshold not met on complaints: 2 qualifying (3 needed)"},
		// Reported exactly one month after the behaviour qualifies; a day later does not.
		{"ReportedExactlyOneMonth", casefile.RouteIndividual, []casefile.Incident{inc("2026-08-15", "2026-09-15", "police"), three[1], three[2]}, 0, casefile.Met, 3, "complaint 1 qualifies"},
		{"ReportedOneMonthAndADay", casefile.RouteIndividual, []casefile.Incident{inc("2026-08-15", "2026-09-16", "police"), three[1], three[2]}, 0, casefile.NotMet, 2, "complaint 1 does not qualify: reported 16 September 2026, more than one month after the behaviour on 15 August 2026"},
		// One month from 31 January is the end of February.
		{"MonthEndClamp", casefile.RouteIndividual, []casefile.Incident{inc("2026-07-31", "2026-08-31", "police")}, 0, casefile.NotMet, 1, "complaint 1 qualifies"},
		// The application is made exactly six months after the report: qualifies; a day later: not.
		{"AppliedExactlySixMonths", casefile.RouteIndividual, []casefile.Incident{inc("2026-04-10", "2026-04-12", "police"), three[1], three[2]}, 0, casefile.Met, 3, "complaint 1 qualifies"},
		{"AppliedSixMonthsAndADay", casefile.RouteIndividual, []casefile.Incident{inc("2026-04-10", "2026-04-11", "police"), three[1], three[2]}, 0, casefile.NotMet, 2, "more than 6 months before the application on 12 October 2026"},
		// The same incident reported to two agencies counts once.
		{"SameIncidentTwoAgencies", casefile.RouteIndividual, []casefile.Incident{three[0], inc("2026-08-02", "2026-08-04", "council"), three[1]}, 0, casefile.NotMet, 2, "complaint 2 is the same incident as complaint 1"},
		{"MissingDates", casefile.RouteIndividual, []casefile.Incident{three[0], three[1], inc("", "2026-09-21", "housing")}, 0, casefile.Unknown, 2, "complaint 3: date of the behaviour not known"},
		{"MissingReportDate", casefile.RouteIndividual, []casefile.Incident{three[0], inc("2026-09-01", "", "council"), inc("", "", "")}, 0, casefile.Unknown, 1, "complaint 2: date reported not known"},
		{"MissingDatesCannotReach", casefile.RouteIndividual, []casefile.Incident{inc("2026-01-01", "2026-03-01", "police"), inc("", "", "")}, 0, casefile.NotMet, 0, "threshold not met on complaints: 0 qualifying"},
		{"NoIncidents", casefile.RouteIndividual, nil, 0, casefile.Unknown, 0, "no complaints with dates were found"},
		{"HateOneIncident", casefile.RouteHate, three[:1], 0, casefile.Met, 1, "hate incident route"},
		{"HateUndated", casefile.RouteHate, []casefile.Incident{inc("", "", "police")}, 0, casefile.Unknown, 0, "hate incident route"},
		{"HateOld", casefile.RouteHate, []casefile.Incident{inc("2025-01-01", "2025-01-02", "police")}, 0, casefile.NotMet, 0, "no incident qualifies"},
		{"CommunityFivePeople", casefile.RouteCommunity, three[:1], 5, casefile.Met, 1, "community route: 5 different people"},
		{"CommunityFourPeople", casefile.RouteCommunity, three[:1], 4, casefile.NotMet, 1, "community route not met: 4 different people named (5 needed)"},
		{"CommunityUndated", casefile.RouteCommunity, []casefile.Incident{inc("", "", "")}, 6, casefile.Unknown, 0, "no report within 6 months is dated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := casefile.Application{Route: tc.route, Incidents: tc.incidents}
			if tc.people > 0 {
				app.Applicant.Name = "person 0"
				for i := 1; i < tc.people; i++ {
					app.CoApplicants = append(app.CoApplicants, casefile.Person{Name: "person " + string(rune('0'+i))})
				}
			}
			got := casefile.Assess(app, applied, rules)
			if got.Assessment != tc.want || got.QualifyingComplaints != tc.qualifying {
				t.Errorf("got %s with %d qualifying, want %s with %d\n%s", got.Assessment, got.QualifyingComplaints, tc.want, tc.qualifying, strings.Join(got.Reasons, "\n"))
			}
			if !strings.Contains(strings.Join(got.Reasons, "\n"), tc.reason) {
				t.Errorf("reasons lack %q:\n%s", tc.reason, strings.Join(got.Reasons, "\n"))
			}
		})
	}
}

func TestAssessRulesFromConfig(t *testing.T) {
	rules := casefile.DefaultThresholdRules()
	rules.Complaints = 2
	rules.HateRoute = false
	app := casefile.Application{Route: casefile.RouteHate, Incidents: []casefile.Incident{inc("2026-08-02", "2026-08-03", "police")}}
	if got := casefile.Assess(app, casefile.MustDate("2026-10-12"), rules); got.Assessment != casefile.NotMet {
		t.Errorf("hate route switched off: got %s", got.Assessment)
	}
	app.Incidents = append(app.Incidents, inc("2026-08-05", "2026-08-05", "council"))
	if got := casefile.Assess(app, casefile.MustDate("2026-10-12"), rules); got.Assessment != casefile.Met {
		t.Errorf("two complaints with threshold 2: got %s", got.Assessment)
	}
}

// TestAssessWordsAgree: a partnership may need fewer complaints than three
// (s.104 allows it); the reasons then read "1 qualifying complaint".
func TestAssessWordsAgree(t *testing.T) {
	rules := casefile.DefaultThresholdRules()
	rules.Complaints = 1
	applied := casefile.MustDate("2026-10-12")
	for _, tc := range []struct {
		incidents []casefile.Incident
		reason    string
	}{
		{[]casefile.Incident{inc("2026-08-02", "2026-08-03", "police")}, "threshold met: 1 qualifying complaint (1 needed)"},
		{[]casefile.Incident{inc("2026-08-02", "2026-08-03", "police"), inc("2026-08-28", "2026-08-28", "council")}, "threshold met: 2 qualifying complaints (1 needed)"},
	} {
		got := casefile.Assess(casefile.Application{Route: casefile.RouteIndividual, Incidents: tc.incidents}, applied, rules)
		if !strings.Contains(strings.Join(got.Reasons, "\n"), tc.reason) {
			t.Errorf("reasons lack %q:\n%s", tc.reason, strings.Join(got.Reasons, "\n"))
		}
	}
	rules.Complaints = 2
	got := casefile.Assess(casefile.Application{Route: casefile.RouteIndividual, Incidents: []casefile.Incident{
		inc("2026-08-02", "2026-08-03", "police"), inc("", "2026-08-28", "council")}}, applied, rules)
	if want := "cannot tell: 1 qualifying complaint, 1 more without the dates needed (2 needed)"; !strings.Contains(strings.Join(got.Reasons, "\n"), want) {
		t.Errorf("reasons lack %q:\n%s", want, strings.Join(got.Reasons, "\n"))
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0 agencies have", 1: "1 agency has", 2: "2 agencies have"} {
		if got := casefile.Count(n, "agency has", "agencies have"); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}
