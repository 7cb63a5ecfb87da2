package casefile

import (
	"fmt"
	"slices"
)

// Report is a year's published figures: the four s.104(10) asks for, and
// how the partnership kept its timescales. The year is the calendar year in
// which applications were received, in London time; every figure is about
// the applications of that year. Only aggregates: nothing in it is about a
// person, and nothing it reads is removed when personal data is purged, so
// a past year's figures never change.
type Report struct {
	Year int `json:"year"`

	// The four figures of s.104(10).
	Applications               int `json:"applications"`
	ThresholdNotMet            int `json:"threshold_not_met"`
	ReviewsCarriedOut          int `json:"reviews_carried_out"`
	ReviewsWithRecommendations int `json:"reviews_with_recommendations"`

	ThresholdMet            int `json:"threshold_met"`
	AwaitingDecision        int `json:"awaiting_decision"`
	Withdrawn               int `json:"withdrawn"`
	FurtherReviewsRequested int `json:"further_reviews_requested"`
	FurtherReviewsUpheld    int `json:"further_reviews_upheld"`
	// Reviews of a not-met decision by the body [further_review]
	// threshold_decision names (the police and crime commissioner's
	// route): applications with a request, and those where the body
	// upheld it (the threshold should have been met).
	ThresholdReviewsRequested int `json:"threshold_decision_reviews_requested"`
	ThresholdReviewsUpheld    int `json:"threshold_decision_reviews_upheld"`

	// Working days from the application to the threshold decision, and to
	// the partnership's response (the first response letter approved).
	DaysToDecision Median `json:"working_days_to_decision"`
	DaysToResponse Median `json:"working_days_to_response"`
	// Agencies' working days from the request to their reply.
	Agencies []AgencyReplyTimes `json:"agencies"`

	// Monthly counts applications by the month received, January first.
	Monthly [12]int `json:"applications_by_month"`
}

// Median is the median of some working-day counts, over N of them.
type Median struct {
	N     int     `json:"n"`
	Value float64 `json:"median"` // meaningful when N > 0
}

// String is the median as people read it: "4", "4.5", or "–" for none.
func (m Median) String() string {
	if m.N == 0 {
		return "–"
	}
	return FormatDays(m.Value)
}

// FormatDays prints a number of days without a needless ".0".
func FormatDays(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.1f", v)
}

// AgencyReplyTimes is one agency's reply times in a year.
type AgencyReplyTimes struct {
	Agency   string `json:"agency"`
	Name     string `json:"name"`
	Requests int    `json:"requests"`
	Median          // over the replies received
}

// MedianOf is the median of xs in working days, with how many there were.
func MedianOf(xs []int) Median {
	if len(xs) == 0 {
		return Median{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return Median{N: n, Value: float64(s[n/2])}
	}
	return Median{N: n, Value: float64(s[n/2-1]+s[n/2]) / 2}
}
