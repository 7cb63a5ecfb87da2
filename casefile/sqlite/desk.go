package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/csp/trigger/casefile"
)

// openCases is the condition of a case on the desk: neither closed nor
// withdrawn (the partial index cases_open holds exactly those).
const openCases = `status NOT IN ('closed', 'withdrawn')`

// Desk reads what one person's Home tab shows, in one read transaction so
// that its counts and lists agree: with q.Cases every open case with its
// next deadline, whose it is and what is overdue, and the counts; the
// requests waiting for q.Agencies; with q.Drafts the letters awaiting
// approval. Each query goes through an index (migration 0009).
func (s *Store) Desk(ctx context.Context, q casefile.DeskQuery) (*casefile.Desk, error) {
	d := &casefile.Desk{}
	err := s.view(ctx, func(tx *Tx) error {
		d.Today = casefile.DateOf(tx.now)
		if q.Cases {
			if err := tx.deskCases(ctx, d); err != nil {
				return err
			}
		}
		for _, ag := range q.Agencies {
			rs, err := tx.deskRequests(ctx, ag)
			if err != nil {
				return err
			}
			d.Requests = append(d.Requests, rs...)
		}
		slices.SortStableFunc(d.Requests, func(a, b casefile.DeskRequest) int {
			if c := a.Due.Compare(b.Due); c != 0 {
				return c
			}
			return strings.Compare(a.Ref, b.Ref)
		})
		if q.Drafts {
			var err error
			if d.Drafts, err = tx.deskDrafts(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("desk: %w", err)
	}
	return d, nil
}

func (tx *Tx) deskCases(ctx context.Context, dk *casefile.Desk) error {
	dk.Counts.Year = dk.Today.Year
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM cases WHERE year = ?`, dk.Counts.Year).Scan(&dk.Counts.ThisYear); err != nil {
		return fmt.Errorf("applications this year: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT c.id, c.ref, c.status, c.received_at, COALESCE(sc.channel_id, ''),
		COALESCE((SELECT l.kind FROM letters l WHERE l.case_id = c.id ORDER BY l.id DESC LIMIT 1), '')
		FROM cases c LEFT JOIN slack_channels sc ON sc.case_id = c.id WHERE c.`+openCases)
	if err != nil {
		return fmt.Errorf("open cases: %w", err)
	}
	byID := map[int64]*casefile.DeskCase{}
	var ids []int64
	for rows.Next() {
		var id, received int64
		var c casefile.DeskCase
		if err := rows.Scan(&id, &c.Ref, &c.Status, &received, &c.Channel, &c.LetterKind); err != nil {
			rows.Close()
			return err
		}
		c.ReceivedAt = fromMS(received)
		byID[id] = &c
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	dk.Counts.Open = len(ids)

	// The agencies asked that have not replied, while replies are wanted.
	rows, err = tx.QueryContext(ctx, `SELECT r.case_id, r.agency FROM info_requests r JOIN cases c ON c.id = r.case_id
		WHERE r.replied_at IS NULL AND c.status IN `+openForReplies+` ORDER BY r.id`)
	if err != nil {
		return fmt.Errorf("waiting requests: %w", err)
	}
	for rows.Next() {
		var id int64
		var agency string
		if err := rows.Scan(&id, &agency); err != nil {
			rows.Close()
			return err
		}
		if c := byID[id]; c != nil {
			c.Waiting = append(c.Waiting, agency)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	// The nearest open deadline of each case.
	rows, err = tx.QueryContext(ctx, `SELECT d.case_id, d.name, d.due_on FROM cases c CROSS JOIN deadlines d ON d.case_id = c.id
		WHERE d.done_at IS NULL AND c.`+openCases+` ORDER BY d.case_id, d.due_on, d.name`)
	if err != nil {
		return fmt.Errorf("open deadlines: %w", err)
	}
	for rows.Next() {
		var id int64
		var name, due string
		if err := rows.Scan(&id, &name, &due); err != nil {
			rows.Close()
			return err
		}
		c := byID[id]
		if c == nil || c.Next != nil {
			continue
		}
		it := &casefile.DeskItem{Deadline: name, Due: d(due), Owner: casefile.DeadlineOwner(name, c.Status, c.LetterKind)}
		if it.Owner == casefile.PartyAgencies {
			it.Agencies = c.Waiting
		}
		c.Next = it
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	overdue, err := tx.overdueByCase(ctx, dk.Today)
	if err != nil {
		return err
	}
	for _, o := range overdue {
		if c := byID[o.id]; c != nil {
			c.Overdue = o.items
			dk.Counts.Overdue += len(o.items)
		}
	}
	for _, id := range ids {
		dk.Cases = append(dk.Cases, *byID[id])
	}
	casefile.SortDeskCases(dk.Cases)
	return nil
}

// deskRequests are the requests to an agency waiting for its reply.
func (tx *Tx) deskRequests(ctx context.Context, agency string) ([]casefile.DeskRequest, error) {
	rows, err := tx.QueryContext(ctx, `SELECT c.ref, r.due_on, COALESCE(sc.channel_id, ''), r.message_ts
		FROM info_requests r JOIN cases c ON c.id = r.case_id LEFT JOIN slack_channels sc ON sc.case_id = c.id
		WHERE r.agency = ? AND r.replied_at IS NULL AND c.status IN `+openForReplies+` ORDER BY r.due_on, c.year, c.seq`, agency)
	if err != nil {
		return nil, fmt.Errorf("requests to %s: %w", agency, err)
	}
	defer rows.Close()
	var out []casefile.DeskRequest
	for rows.Next() {
		r := casefile.DeskRequest{Agency: agency}
		var due string
		if err := rows.Scan(&r.Ref, &due, &r.Channel, &r.MessageTS); err != nil {
			return nil, err
		}
		r.Due = d(due)
		out = append(out, r)
	}
	return out, rows.Err()
}

// deskDrafts are the letters awaiting approval: each such case's latest.
func (tx *Tx) deskDrafts(ctx context.Context) ([]casefile.DeskDraft, error) {
	rows, err := tx.QueryContext(ctx, `SELECT c.ref, l.id, l.kind, l.version, l.created_at, COALESCE(sc.channel_id, '')
		FROM cases c JOIN letters l ON l.id = (SELECT MAX(id) FROM letters WHERE case_id = c.id)
		LEFT JOIN slack_channels sc ON sc.case_id = c.id
		WHERE c.status = ? AND l.approved_at IS NULL ORDER BY l.created_at, l.id`, casefile.StatusAwaitingApproval)
	if err != nil {
		return nil, fmt.Errorf("drafts: %w", err)
	}
	defer rows.Close()
	var out []casefile.DeskDraft
	for rows.Next() {
		var dr casefile.DeskDraft
		var created int64
		if err := rows.Scan(&dr.Ref, &dr.LetterID, &dr.Kind, &dr.Version, &created, &dr.Channel); err != nil {
			return nil, err
		}
		dr.CreatedAt = fromMS(created)
		out = append(out, dr)
	}
	return out, rows.Err()
}

// overdueCase is what is overdue on one open case: the daily digest's
// items.
type overdueCase struct {
	id    int64
	ref   string
	items []casefile.OverdueItem
}

// overdueByCase lists, for each open case with something overdue, what is:
// its deadlines past their day, and each agency's reply past its due date
// (the deadline for replies is listed agency by agency). The deadline for
// asking a further review is the applicant's, not the partnership's: never
// listed. In case order.
func (tx *Tx) overdueByCase(ctx context.Context, today casefile.Date) ([]overdueCase, error) {
	cal := tx.s.Cal
	byCase := map[int64]*overdueCase{}
	var order []int64
	add := func(id int64, ref string, it casefile.OverdueItem) {
		o, ok := byCase[id]
		if !ok {
			o = &overdueCase{id: id, ref: ref}
			byCase[id] = o
			order = append(order, id)
		}
		it.WorkingDays = cal.WorkingDaysBetween(it.Due, today)
		o.items = append(o.items, it)
	}
	rows, err := tx.QueryContext(ctx, `SELECT c.id, c.ref, d.name, d.due_on FROM deadlines d JOIN cases c ON c.id = d.case_id
		WHERE d.done_at IS NULL AND d.due_on < ? AND d.name NOT IN (?, ?) AND c.purged_at IS NULL
		AND c.status NOT IN ('closed', 'withdrawn') ORDER BY c.id, d.due_on, d.name`,
		today.String(), casefile.DeadlineFurtherReview, casefile.DeadlineAgencyReplies)
	if err != nil {
		return nil, fmt.Errorf("overdue deadlines: %w", err)
	}
	for rows.Next() {
		var id int64
		var ref, name, due string
		if err := rows.Scan(&id, &ref, &name, &due); err != nil {
			rows.Close()
			return nil, err
		}
		add(id, ref, casefile.OverdueItem{Deadline: name, Due: d(due)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.QueryContext(ctx, `SELECT c.id, c.ref, r.agency, r.due_on FROM info_requests r JOIN cases c ON c.id = r.case_id
		WHERE r.replied_at IS NULL AND r.due_on < ? AND c.purged_at IS NULL AND c.status IN `+openForReplies+`
		ORDER BY c.id, r.id`, today.String())
	if err != nil {
		return nil, fmt.Errorf("overdue requests: %w", err)
	}
	for rows.Next() {
		var id int64
		var ref, agency, due string
		if err := rows.Scan(&id, &ref, &agency, &due); err != nil {
			rows.Close()
			return nil, err
		}
		add(id, ref, casefile.OverdueItem{Deadline: casefile.DeadlineAgencyReplies, Agency: agency, Due: d(due)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(order)
	out := make([]overdueCase, 0, len(order))
	for _, id := range order {
		out = append(out, *byCase[id])
	}
	return out, nil
}

// FindCases is the coordinator's search (`/trigger find TEXT`): the cases
// whose applicant's or victim's name, location or an agency reference
// contains text (case-insensitive), newest first, at most limit of them,
// and how many matched in all. Personal data is searched, so only the
// coordinator may (ActFindCases), and every search is in the audit trail:
// who searched and which cases were shown, never what was searched for.
func (s *Store) FindCases(ctx context.Context, a casefile.Actor, text string, limit int) ([]casefile.CaseSummary, int, error) {
	if err := a.Permit(casefile.ActFindCases); err != nil {
		return nil, 0, err
	}
	text = strings.Join(strings.Fields(text), " ")
	switch n := len([]rune(text)); {
	case n < 3:
		return nil, 0, casefile.Errorf(casefile.EINVALID, "find: give at least 3 characters of a name, a place or an agency reference")
	case n > 100:
		return nil, 0, casefile.Errorf(casefile.EINVALID, "find: at most 100 characters")
	}
	pattern := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(text) + "%"
	var out []casefile.CaseSummary
	total := 0
	err := s.update(ctx, func(tx *Tx) error {
		out, total = nil, 0
		rows, err := tx.QueryContext(ctx, `SELECT c.ref, c.status, c.route, c.received_at, c.assessment,
			(SELECT name || ' ' || due_on FROM deadlines d WHERE d.case_id = c.id AND d.done_at IS NULL ORDER BY due_on, name LIMIT 1)
			FROM cases c WHERE c.purged_at IS NULL AND (
				json_extract(c.application, '$.applicant.name') LIKE ?1 ESCAPE '\'
				OR json_extract(c.application, '$.on_behalf_of.name') LIKE ?1 ESCAPE '\'
				OR json_extract(c.application, '$.location') LIKE ?1 ESCAPE '\'
				OR EXISTS (SELECT 1 FROM json_each(c.application, '$.references') WHERE value LIKE ?1 ESCAPE '\')
				OR EXISTS (SELECT 1 FROM json_each(c.application, '$.co_applicants') WHERE json_extract(value, '$.name') LIKE ?1 ESCAPE '\'))
			ORDER BY c.year DESC, c.seq DESC`, pattern)
		if err != nil {
			return fmt.Errorf("find cases: %w", err)
		}
		for rows.Next() {
			c, err := scanSummary(rows)
			if err != nil {
				rows.Close()
				return err
			}
			if total++; total <= limit {
				out = append(out, c)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		refs := make([]string, 0, len(out))
		for _, c := range out {
			refs = append(refs, c.Ref)
		}
		_, err = tx.eventAs(ctx, 0, a, "cases.searched", map[string]any{"matched": total, "shown": refs})
		return err
	})
	return out, total, err
}

// scanSummary reads a line of a case list (see Cases).
func scanSummary(rows *sql.Rows) (casefile.CaseSummary, error) {
	var c casefile.CaseSummary
	var received int64
	var next sql.NullString
	if err := rows.Scan(&c.Ref, &c.Status, &c.Route, &received, &c.Assessment, &next); err != nil {
		return c, err
	}
	c.ReceivedAt = fromMS(received).Format("2006-01-02T15:04:05Z07:00")
	if next.Valid {
		name, due, _ := strings.Cut(next.String, " ")
		c.NextDeadline = name
		c.NextDue, _ = casefile.ParseDate(due)
	}
	return c, nil
}

// ServiceEvents returns the audit events about no case (searches, the
// digest of every case, notices about the service), oldest first.
func (s *Store) ServiceEvents(ctx context.Context) ([]casefile.Event, error) {
	var out []casefile.Event
	err := s.view(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, at, actor, kind, details FROM events WHERE case_id IS NULL ORDER BY id`)
		if err != nil {
			return fmt.Errorf("service events: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var e casefile.Event
			var at int64
			var details string
			if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Kind, &details); err != nil {
				return err
			}
			e.At = fromMS(at)
			if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
				return fmt.Errorf("event %d: %w", e.ID, err)
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}
