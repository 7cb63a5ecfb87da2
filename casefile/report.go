package casefile

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"
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

func median(xs []int) Median {
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

// YearReport computes the figures for the applications received in year
// (1 January to 31 December, London time).
func (s *Store) YearReport(ctx context.Context, year int) (*Report, error) {
	if year < 2000 || year > 2100 {
		return nil, Errorf(EINVALID, "year: %d is not a year this service could have a case in", year)
	}
	r := &Report{Year: year, Agencies: []AgencyReplyTimes{}}
	from := time.Date(year, 1, 1, 0, 0, 0, 0, London)
	to := time.Date(year+1, 1, 1, 0, 0, 0, 0, London)
	err := s.view(ctx, func(tx *Tx) error {
		return tx.yearReport(ctx, r, ms(from), ms(to))
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (tx *Tx) yearReport(ctx context.Context, r *Report, from, to int64) error {
	cal := tx.s.Cal
	// One row per application of the year, with what the figures need.
	rows, err := tx.QueryContext(ctx, `SELECT c.received_at, c.status, c.decision, c.decided_at,
		(SELECT count(*) FROM meetings m WHERE m.case_id = c.id AND m.held_at IS NOT NULL),
		(SELECT count(*) FROM recommendations x WHERE x.case_id = c.id),
		(SELECT count(*) FROM escalations e WHERE e.case_id = c.id),
		(SELECT count(*) FROM escalations e WHERE e.case_id = c.id AND e.upheld = 1),
		(SELECT MIN(l.approved_at) FROM letters l WHERE l.case_id = c.id AND l.kind IN (?, ?) AND l.approved_at IS NOT NULL)
		FROM cases c WHERE c.received_at >= ? AND c.received_at < ? ORDER BY c.received_at, c.id`,
		LetterNotMet, LetterOutcome, from, to)
	if err != nil {
		return fmt.Errorf("report: cases: %w", err)
	}
	var toDecision, toResponse []int
	for rows.Next() {
		var (
			received             int64
			status               Status
			decision             *string
			decided, responded   *int64
			held, recs, esc, uph int
		)
		if err := rows.Scan(&received, &status, &decision, &decided, &held, &recs, &esc, &uph, &responded); err != nil {
			rows.Close()
			return err
		}
		got := DateOf(fromMS(received))
		r.Applications++
		r.Monthly[got.Month-1]++
		switch {
		case decision != nil && Assessment(*decision) == NotMet:
			r.ThresholdNotMet++
		case decision != nil && Assessment(*decision) == Met:
			r.ThresholdMet++
		case status == StatusWithdrawn:
		default:
			r.AwaitingDecision++
		}
		if status == StatusWithdrawn {
			r.Withdrawn++
		}
		if held > 0 {
			r.ReviewsCarriedOut++
			if recs > 0 {
				r.ReviewsWithRecommendations++
			}
		}
		if esc > 0 {
			r.FurtherReviewsRequested++
			if uph > 0 {
				r.FurtherReviewsUpheld++
			}
		}
		if decided != nil {
			toDecision = append(toDecision, cal.WorkingDaysBetween(got, DateOf(fromMS(*decided))))
		}
		if responded != nil {
			toResponse = append(toResponse, cal.WorkingDaysBetween(got, DateOf(fromMS(*responded))))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	r.DaysToDecision, r.DaysToResponse = median(toDecision), median(toResponse)

	rows, err = tx.QueryContext(ctx, `SELECT r.agency, r.requested_at, r.replied_at FROM info_requests r JOIN cases c ON c.id = r.case_id
		WHERE c.received_at >= ? AND c.received_at < ? ORDER BY r.id`, from, to)
	if err != nil {
		return fmt.Errorf("report: requests: %w", err)
	}
	requests := map[string]int{}
	replies := map[string][]int{}
	for rows.Next() {
		var agency string
		var requested int64
		var replied *int64
		if err := rows.Scan(&agency, &requested, &replied); err != nil {
			rows.Close()
			return err
		}
		requests[agency]++
		if replied != nil {
			replies[agency] = append(replies[agency], cal.WorkingDaysBetween(DateOf(fromMS(requested)), DateOf(fromMS(*replied))))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// Configured agencies in their order, then any no longer configured.
	var ids []string
	for _, a := range tx.s.Config.Agencies {
		if requests[a.ID] > 0 {
			ids = append(ids, a.ID)
		}
	}
	var gone []string
	for id := range requests {
		if _, ok := tx.s.Config.Agency(id); !ok {
			gone = append(gone, id)
		}
	}
	sort.Strings(gone)
	for _, id := range append(ids, gone...) {
		r.Agencies = append(r.Agencies, AgencyReplyTimes{Agency: id, Name: agencyName(tx.s.Config, id), Requests: requests[id], Median: median(replies[id])})
	}
	return nil
}
