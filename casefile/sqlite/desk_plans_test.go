package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/csp/trigger/casefile"
)

// DeskQueryPlans is SQLite's plan (EXPLAIN QUERY PLAN) of each of the
// desk's queries, for the test that they use indexes.
func DeskQueryPlans(ctx context.Context, s *Store) (map[string]string, error) {
	today := "2026-10-12"
	queries := map[string][]any{
		`SELECT count(*) FROM cases WHERE year = ?`: {2026},
		`SELECT c.id, c.ref, c.status, c.received_at, COALESCE(sc.channel_id, ''),
		COALESCE((SELECT l.kind FROM letters l WHERE l.case_id = c.id ORDER BY l.id DESC LIMIT 1), '')
		FROM cases c LEFT JOIN slack_channels sc ON sc.case_id = c.id WHERE c.` + openCases: nil,
		`SELECT r.case_id, r.agency FROM info_requests r JOIN cases c ON c.id = r.case_id
		WHERE r.replied_at IS NULL AND c.status IN ` + openForReplies + ` ORDER BY r.id`: nil,
		`SELECT d.case_id, d.name, d.due_on FROM cases c CROSS JOIN deadlines d ON d.case_id = c.id
		WHERE d.done_at IS NULL AND c.` + openCases + ` ORDER BY d.case_id, d.due_on, d.name`: nil,
		`SELECT c.ref, r.due_on, COALESCE(sc.channel_id, ''), r.message_ts
		FROM info_requests r JOIN cases c ON c.id = r.case_id LEFT JOIN slack_channels sc ON sc.case_id = c.id
		WHERE r.agency = ? AND r.replied_at IS NULL AND c.status IN ` + openForReplies + ` ORDER BY r.due_on, c.year, c.seq`: {"police"},
		`SELECT c.ref, l.id, l.kind, l.version, l.created_at, COALESCE(sc.channel_id, '')
		FROM cases c JOIN letters l ON l.id = (SELECT MAX(id) FROM letters WHERE case_id = c.id)
		LEFT JOIN slack_channels sc ON sc.case_id = c.id
		WHERE c.status = ? AND l.approved_at IS NULL ORDER BY l.created_at, l.id`: {casefile.StatusAwaitingApproval},
		`SELECT c.id, c.ref, d.name, d.due_on FROM deadlines d JOIN cases c ON c.id = d.case_id
		WHERE d.done_at IS NULL AND d.due_on < ? AND d.name NOT IN (?, ?) AND c.purged_at IS NULL
		AND c.status NOT IN ('closed', 'withdrawn') ORDER BY c.id, d.due_on, d.name`: {today, casefile.DeadlineFurtherReview, casefile.DeadlineAgencyReplies},
		`SELECT c.id, c.ref, r.agency, r.due_on FROM info_requests r JOIN cases c ON c.id = r.case_id
		WHERE r.replied_at IS NULL AND r.due_on < ? AND c.purged_at IS NULL AND c.status IN ` + openForReplies + `
		ORDER BY c.id, r.id`: {today},
	}
	out := map[string]string{}
	for q, args := range queries {
		rows, err := s.rdb.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
		var lines []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				rows.Close()
				return nil, err
			}
			lines = append(lines, detail)
		}
		rows.Close()
		out[strings.Join(strings.Fields(q), " ")] = strings.Join(lines, "\n")
	}
	return out, nil
}

// JobPayload is an outbox job's payload, for tests that read what was
// queued.
func (s *Store) JobPayload(ctx context.Context, id int64) (json.RawMessage, error) {
	var p string
	err := s.rdb.QueryRowContext(ctx, `SELECT payload FROM outbox WHERE id = ?`, id).Scan(&p)
	return json.RawMessage(p), err
}
