package casefile

import (
	"fmt"
	"sort"
)

// Assessment is the software's advice on the threshold.
type Assessment string

const (
	Met     Assessment = "met"
	NotMet  Assessment = "not_met"
	Unknown Assessment = "unknown"
)

// ThresholdRules are the partnership's published threshold, from config.
type ThresholdRules struct {
	Complaints         int  `toml:"complaints"`           // qualifying complaints needed (s.104: at most 3)
	ReportWithinMonths int  `toml:"report_within_months"` // a complaint is reported within this of the behaviour
	ApplyWithinMonths  int  `toml:"apply_within_months"`  // the application is made within this of the report
	CommunityRoute     bool `toml:"community_route"`
	CommunityPeople    int  `toml:"community_people"` // different people reporting similar behaviour …
	CommunityMonths    int  `toml:"community_months"` // … within this many months
	HateRoute          bool `toml:"hate_route"`       // one hate incident suffices
}

// DefaultThresholdRules are the rules of s.104 and the statutory guidance:
// three complaints, each reported within a month of the behaviour, the
// application within six months of the report; both local routes on.
func DefaultThresholdRules() ThresholdRules {
	return ThresholdRules{
		Complaints: 3, ReportWithinMonths: 1, ApplyWithinMonths: 6,
		CommunityRoute: true, CommunityPeople: 5, CommunityMonths: 6,
		HateRoute: true,
	}
}

// ThresholdResult is what Assess returns: advice with its reasons.
type ThresholdResult struct {
	Assessment           Assessment
	QualifyingComplaints int
	Reasons              []string
}

// Assess applies the threshold rules to an application made on appliedOn.
// It is advice for the coordinator, who decides; every reason it gives can be
// read by a person and checked against the application.
//
// A complaint qualifies when it was reported within ReportWithinMonths of the
// behaviour and the application was made within ApplyWithinMonths of the
// report. Complaints about behaviour on the same day count once, however many
// agencies heard of it. The result is unknown when complaints lack the dates
// needed and could, with them, reach the threshold.
func Assess(app Application, appliedOn Date, r ThresholdRules) ThresholdResult {
	var res ThresholdResult
	qualifying := map[Date][]int{} // day of behaviour → incidents (1-based)
	undated := 0
	for i, in := range app.Incidents {
		n := i + 1
		switch {
		case in.OccurredOn.IsZero() && in.ReportedOn.IsZero():
			undated++
			res.Reasons = append(res.Reasons, fmt.Sprintf("complaint %d: dates of the behaviour and of the report not known", n))
		case in.OccurredOn.IsZero():
			undated++
			res.Reasons = append(res.Reasons, fmt.Sprintf("complaint %d: date of the behaviour not known", n))
		case in.ReportedOn.IsZero():
			undated++
			res.Reasons = append(res.Reasons, fmt.Sprintf("complaint %d: date reported not known", n))
		case in.ReportedOn.After(in.OccurredOn.AddMonths(r.ReportWithinMonths)):
			res.Reasons = append(res.Reasons, fmt.Sprintf("complaint %d does not qualify: reported %s, more than %s after the behaviour on %s",
				n, in.ReportedOn.Human(), months(r.ReportWithinMonths), in.OccurredOn.Human()))
		case appliedOn.After(in.ReportedOn.AddMonths(r.ApplyWithinMonths)):
			res.Reasons = append(res.Reasons, fmt.Sprintf("complaint %d does not qualify: reported %s, more than %s before the application on %s",
				n, in.ReportedOn.Human(), months(r.ApplyWithinMonths), appliedOn.Human()))
		default:
			if prev := qualifying[in.OccurredOn]; len(prev) > 0 {
				res.Reasons = append(res.Reasons, fmt.Sprintf("complaint %d is the same incident as complaint %d (behaviour on %s): counted once",
					n, prev[0], in.OccurredOn.Human()))
			} else {
				res.Reasons = append(res.Reasons, fmt.Sprintf("complaint %d qualifies: behaviour on %s, reported %s",
					n, in.OccurredOn.Human(), in.ReportedOn.Human()))
			}
			qualifying[in.OccurredOn] = append(qualifying[in.OccurredOn], n)
		}
	}
	res.QualifyingComplaints = len(qualifying)
	days := make([]Date, 0, len(qualifying))
	for d := range qualifying {
		days = append(days, d)
	}
	sort.Slice(days, func(i, j int) bool { return days[i].Before(days[j]) })

	need := r.Complaints
	switch {
	case res.QualifyingComplaints >= need:
		res.Assessment = Met
		res.Reasons = append(res.Reasons, fmt.Sprintf("threshold met: %s (%d needed)", Count(res.QualifyingComplaints, "qualifying complaint", "qualifying complaints"), need))
	case res.QualifyingComplaints+undated >= need:
		res.Assessment = Unknown
		res.Reasons = append(res.Reasons, fmt.Sprintf("cannot tell: %s, %d more without the dates needed (%d needed)", Count(res.QualifyingComplaints, "qualifying complaint", "qualifying complaints"), undated, need))
	default:
		res.Assessment = NotMet
		res.Reasons = append(res.Reasons, fmt.Sprintf("threshold not met on complaints: %d qualifying (%d needed)", res.QualifyingComplaints, need))
	}
	if len(app.Incidents) == 0 {
		res.Assessment = Unknown
		res.Reasons = []string{"no complaints with dates were found in the application: ask the applicant or the agencies"}
	}
	if res.Assessment == Met {
		return res
	}

	if r.HateRoute && app.Route == RouteHate {
		switch {
		case res.QualifyingComplaints >= 1:
			res.Assessment = Met
			res.Reasons = append(res.Reasons, "threshold met on the hate incident route: one qualifying incident suffices")
		case undated > 0 || len(app.Incidents) == 0:
			res.Assessment = Unknown
			res.Reasons = append(res.Reasons, "hate incident route: the incident's dates are needed to confirm it qualifies")
		default:
			res.Reasons = append(res.Reasons, "hate incident route: no incident qualifies on its dates")
		}
	}
	if r.CommunityRoute && app.Route == RouteCommunity && res.Assessment != Met {
		people := communityPeople(app)
		recent := 0
		for _, in := range app.Incidents {
			if !in.ReportedOn.IsZero() && !appliedOn.After(in.ReportedOn.AddMonths(r.CommunityMonths)) {
				recent++
			}
		}
		switch {
		case people >= r.CommunityPeople && recent > 0:
			res.Assessment = Met
			res.Reasons = append(res.Reasons, fmt.Sprintf("threshold met on the community route: %d different people (%d needed) reporting within %s",
				people, r.CommunityPeople, months(r.CommunityMonths)))
		case people >= r.CommunityPeople:
			res.Assessment = Unknown
			res.Reasons = append(res.Reasons, fmt.Sprintf("community route: %d different people apply, but no report within %s is dated", people, months(r.CommunityMonths)))
		default:
			res.Reasons = append(res.Reasons, fmt.Sprintf("community route not met: %d different people named (%d needed)", people, r.CommunityPeople))
		}
	}
	return res
}

// communityPeople counts the different people named as reporting: the
// applicant and the co-applicants, by name (or email when unnamed).
func communityPeople(app Application) int {
	seen := map[string]bool{}
	for _, p := range append([]Person{app.Applicant}, app.CoApplicants...) {
		key := p.Name
		if key == "" {
			key = p.Email
		}
		if key != "" {
			seen[key] = true
		}
	}
	return len(seen)
}

func months(n int) string {
	if n == 1 {
		return "one month"
	}
	return fmt.Sprintf("%d months", n)
}
