package sqlite

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/csp/trigger/casefile"
)

// YearReport computes the figures for the applications received in year
// (1 January to 31 December, London time).
func (s *Store) YearReport(ctx context.Context, year int) (*casefile.Report, error) {
	if year < 2000 || year > 2100 {
		return nil, casefile.Errorf(casefile.EINVALID, "year: %d is not a year this service could have a case in", year)
	}
	r := &casefile.Report{Year: year, Agencies: []casefile.AgencyReplyTimes{}}
	from := time.Date(year, 1, 1, 0, 0, 0, 0, casefile.London)
	to := time.Date(year+1, 1, 1, 0, 0, 0, 0, casefile.London)
	err := s.view(ctx, func(tx *Tx) error {
		return tx.yearReport(ctx, r, ms(from), ms(to))
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (tx *Tx) yearReport(ctx context.Context, r *casefile.Report, from, to int64) error {
	cal := tx.s.Cal
	// One row per application of the year, with what the figures need.
	rows, err := tx.QueryContext(ctx, `SELECT c.received_at, c.status, c.decision, c.decided_at,
		(SELECT count(*) FROM meetings m WHERE m.case_id = c.id AND m.held_at IS NOT NULL),
		(SELECT count(*) FROM recommendations x WHERE x.case_id = c.id),
		(SELECT count(*) FROM further_reviews e WHERE e.case_id = c.id),
		(SELECT count(*) FROM further_reviews e WHERE e.case_id = c.id AND e.upheld = 1),
		(SELECT count(*) FROM threshold_reviews t WHERE t.case_id = c.id),
		(SELECT count(*) FROM threshold_reviews t WHERE t.case_id = c.id AND t.result = 'upheld'),
		(SELECT MIN(l.approved_at) FROM letters l WHERE l.case_id = c.id AND l.kind IN (?, ?) AND l.approved_at IS NOT NULL)
		FROM cases c WHERE c.received_at >= ? AND c.received_at < ? ORDER BY c.received_at, c.id`,
		casefile.LetterNotMet, casefile.LetterOutcome, from, to)
	if err != nil {
		return fmt.Errorf("report: cases: %w", err)
	}
	var toDecision, toResponse []int
	for rows.Next() {
		var (
			received             int64
			status               casefile.Status
			decision             *string
			decided, responded   *int64
			held, recs, esc, uph int
			thr, thrUph          int
		)
		if err := rows.Scan(&received, &status, &decision, &decided, &held, &recs, &esc, &uph, &thr, &thrUph, &responded); err != nil {
			rows.Close()
			return err
		}
		got := casefile.DateOf(fromMS(received))
		r.Applications++
		r.Monthly[got.Month-1]++
		switch {
		case decision != nil && casefile.Assessment(*decision) == casefile.NotMet:
			r.ThresholdNotMet++
		case decision != nil && casefile.Assessment(*decision) == casefile.Met:
			r.ThresholdMet++
		case status == casefile.StatusWithdrawn:
		default:
			r.AwaitingDecision++
		}
		if status == casefile.StatusWithdrawn {
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
		if thr > 0 {
			r.ThresholdReviewsRequested++
			if thrUph > 0 {
				r.ThresholdReviewsUpheld++
			}
		}
		if decided != nil {
			toDecision = append(toDecision, cal.WorkingDaysBetween(got, casefile.DateOf(fromMS(*decided))))
		}
		if responded != nil {
			toResponse = append(toResponse, cal.WorkingDaysBetween(got, casefile.DateOf(fromMS(*responded))))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	r.DaysToDecision, r.DaysToResponse = casefile.MedianOf(toDecision), casefile.MedianOf(toResponse)

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
			replies[agency] = append(replies[agency], cal.WorkingDaysBetween(casefile.DateOf(fromMS(requested)), casefile.DateOf(fromMS(*replied))))
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
		r.Agencies = append(r.Agencies, casefile.AgencyReplyTimes{Agency: id, Name: casefile.AgencyName(tx.s.Config, id), Requests: requests[id], Median: casefile.MedianOf(replies[id])})
	}
	return nil
}
