package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/csp/trigger/casefile"
)

// RetentionCutoff is the moment before which a case must have closed for
// its personal data to go: [retention] years before now.
func (s *Store) RetentionCutoff() time.Time { return s.RetentionCutoffAt(s.Now()) }

// RetentionDue lists the cases whose personal data a retention run removes
// now, oldest closure first, with what it removes: cases closed or
// withdrawn before the cut-off and not purged yet.
func (s *Store) RetentionDue(ctx context.Context) ([]casefile.Purge, error) {
	var out []casefile.Purge
	err := s.view(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.dueCounts(ctx)
		return err
	})
	return out, err
}

// PurgeExpired removes the personal data of every case RetentionDue lists,
// one transaction per case, and returns what it removed.
func (s *Store) PurgeExpired(ctx context.Context) ([]casefile.Purge, error) {
	var refs []string
	err := s.view(ctx, func(tx *Tx) error {
		var err error
		refs, err = tx.retentionDue(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []casefile.Purge
	for _, ref := range refs {
		var p casefile.Purge
		var done bool
		err := s.update(ctx, func(tx *Tx) error {
			var err error
			p, done, err = tx.purge(ctx, ref)
			return err
		})
		if err != nil {
			return out, fmt.Errorf("purge %s: %w", ref, err)
		}
		if done {
			out = append(out, p)
		}
	}
	if len(out) > 0 {
		if err := s.checkpoint(ctx); err != nil {
			return out, err
		}
	}
	return out, nil
}

// dueCases is the query of the cases due for a purge, ?1 the cut-off: the
// index cases_closed finds them ("+status": not through cases_status,
// which holds every case ever closed).
const dueCases = `FROM cases WHERE purged_at IS NULL AND closed_at IS NOT NULL AND closed_at < ?1
	AND +status IN (?2, ?3)`

func (tx *Tx) dueArgs() []any {
	return []any{ms(tx.s.RetentionCutoffAt(tx.now)), casefile.StatusClosed, casefile.StatusWithdrawn}
}

func (tx *Tx) retentionDue(ctx context.Context) ([]string, error) {
	refs, err := queryColumn[string](ctx, tx, `SELECT ref `+dueCases+` ORDER BY closed_at, id`, tx.dueArgs()...)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	return refs, nil
}

// RetentionCutoffAt is RetentionCutoff at the moment now. From 29 February
// the years go back to the 28th when that year has no 29th (AddDate alone
// would give 1 March, and purge a case closed that morning a day early).
func (s *Store) RetentionCutoffAt(now time.Time) time.Time {
	now = now.In(casefile.London)
	cut := now.AddDate(-s.Config.Retention.Years, 0, 0)
	if cut.Day() != now.Day() {
		cut = cut.AddDate(0, 0, -cut.Day())
	}
	return cut
}

// eventFreeText are the keys of audit event details that may hold free
// text (a reason, a comment, an error quoting an address): a purge blanks
// them and keeps the rest (kinds, agencies, dates, counts).
var eventFreeText = []string{"reason", "comment", "error", "text", "to", "from", "subject"}

const removed = "(removed)"

func (tx *Tx) purgeCounts(ctx context.Context, ref string) (casefile.Purge, error) {
	p := casefile.Purge{Ref: ref}
	var id, closed int64
	err := tx.QueryRowContext(ctx, `SELECT id, status, COALESCE(closed_at, 0) FROM cases WHERE ref = ?`, ref).Scan(&id, &p.Status, &closed)
	if err != nil {
		return p, fmt.Errorf("purge %s: %w", ref, err)
	}
	p.ClosedAt = fromMS(closed)
	for _, c := range personalRows {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+c.table+` WHERE case_id = ? AND (`+c.holds+`)`, id).Scan(&n); err != nil {
			return p, fmt.Errorf("purge %s: count: %w", ref, err)
		}
		*c.count(&p) += n
	}
	evs, err := tx.freeTextEvents(ctx, id)
	if err != nil {
		return p, err
	}
	p.Events = len(evs)
	return p, nil
}

// personalRows are the rows of a case that hold personal data until a
// purge: a table and the condition a row of it still holds some, and the
// count of casefile.Purge it adds to.
var personalRows = []struct {
	table, holds string
	count        func(*casefile.Purge) *int
}{
	{"messages", `raw IS NOT NULL OR raw_chunks > 0 OR body_text != '' OR body_html != '' OR subject != '' OR from_addr != ''`, func(p *casefile.Purge) *int { return &p.Messages }},
	{"attachments", `data IS NOT NULL OR data_chunks > 0 OR filename != ''`, func(p *casefile.Purge) *int { return &p.Attachments }},
	{"letters", `text != '' OR html != ''`, func(p *casefile.Purge) *int { return &p.Letters }},
	{"resident_emails", `text != '' OR html != ''`, func(p *casefile.Purge) *int { return &p.Letters }},
	{"agency_replies", `complaints != '' OR considered != '' OR taken != '' OR risk != '' OR text != '' OR files != '[]'`, func(p *casefile.Purge) *int { return &p.Replies }},
}

// dueCounts is RetentionDue in a transaction: the cases due, with what a
// purge would remove from each, counted for all of them at once (a query
// per table, not per case: a first run may find thousands due).
func (tx *Tx) dueCounts(ctx context.Context) ([]casefile.Purge, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, ref, status, closed_at `+dueCases+` ORDER BY closed_at, id`, tx.dueArgs()...)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	var out []casefile.Purge
	at := map[int64]int{} // case id -> index in out
	for rows.Next() {
		var p casefile.Purge
		var id, closed int64
		if err := rows.Scan(&id, &p.Ref, &p.Status, &closed); err != nil {
			rows.Close()
			return nil, err
		}
		p.ClosedAt = fromMS(closed)
		at[id] = len(out)
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	for _, c := range personalRows {
		rows, err := tx.QueryContext(ctx, `SELECT case_id, count(*) FROM `+c.table+` WHERE case_id IN (SELECT id `+dueCases+`) AND (`+c.holds+`) GROUP BY case_id`, tx.dueArgs()...)
		if err != nil {
			return nil, fmt.Errorf("retention: count %s: %w", c.table, err)
		}
		for rows.Next() {
			var id int64
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return nil, err
			}
			if i, ok := at[id]; ok {
				*c.count(&out[i]) += n
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	rows, err = tx.QueryContext(ctx, `SELECT case_id, details FROM events WHERE case_id IN (SELECT id `+dueCases+`)`, tx.dueArgs()...)
	if err != nil {
		return nil, fmt.Errorf("retention: events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var details string
		if err := rows.Scan(&id, &details); err != nil {
			return nil, err
		}
		if _, free := blankFreeText(details); free {
			if i, ok := at[id]; ok {
				out[i].Events++
			}
		}
	}
	return out, rows.Err()
}

// freeTextEvents returns the case's audit events whose details hold free
// text, with those details blanked.
func (tx *Tx) freeTextEvents(ctx context.Context, caseID int64) (map[int64]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, details FROM events WHERE case_id = ?`, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var details string
		if err := rows.Scan(&id, &details); err != nil {
			return nil, err
		}
		if blanked, free := blankFreeText(details); free {
			out[id] = blanked
		}
	}
	return out, rows.Err()
}

// blankFreeText is an event's details with their free text blanked, and
// whether they held any.
func blankFreeText(details string) (string, bool) {
	var m map[string]any
	if json.Unmarshal([]byte(details), &m) != nil {
		return "", false
	}
	changed := false
	for _, k := range eventFreeText {
		if v, ok := m[k]; ok && v != removed && v != "" && v != nil {
			m[k] = removed
			changed = true
		}
	}
	if !changed {
		return "", false
	}
	b, _ := json.Marshal(m)
	return string(b), true
}

// purge removes one case's personal data, if it is still due, and records
// the purge with its counts.
func (tx *Tx) purge(ctx context.Context, ref string) (casefile.Purge, bool, error) {
	var id int64
	var app string
	err := tx.QueryRowContext(ctx, `SELECT id, application FROM cases WHERE ref = ? AND purged_at IS NULL AND closed_at IS NOT NULL
		AND closed_at < ? AND status IN (?, ?)`, ref, ms(tx.s.RetentionCutoffAt(tx.now)), casefile.StatusClosed, casefile.StatusWithdrawn).Scan(&id, &app)
	if errors.Is(err, sql.ErrNoRows) {
		return casefile.Purge{}, false, nil // purged meanwhile: nothing to do
	}
	if err != nil {
		return casefile.Purge{}, false, fmt.Errorf("purge %s: %w", ref, err)
	}
	p, err := tx.purgeCounts(ctx, ref)
	if err != nil {
		return p, false, err
	}
	var a casefile.Application
	if err := json.Unmarshal([]byte(app), &a); err != nil {
		return p, false, fmt.Errorf("application: %w", err)
	}
	anon, err := json.Marshal(a.Anonymised())
	if err != nil {
		return p, false, err
	}
	evs, err := tx.freeTextEvents(ctx, id)
	if err != nil {
		return p, false, err
	}
	for evID, details := range evs {
		if _, err := tx.ExecContext(ctx, `UPDATE events SET details = ? WHERE id = ?`, details, evID); err != nil {
			return p, false, fmt.Errorf("scrub event %d: %w", evID, err)
		}
	}
	for _, u := range []struct {
		q    string
		args []any
	}{
		{`UPDATE cases SET application = ?, decision_reason = CASE WHEN decision_reason IS NULL THEN NULL ELSE '' END, intake_sender = '', purged_at = ?, updated_at = ?
			WHERE id = ?`, []any{string(anon), ms(tx.now), ms(tx.now), id}},
		{`DELETE FROM chunks WHERE owner IN (SELECT 'm:' || id FROM messages WHERE case_id = ?1 UNION ALL SELECT 'a:' || id FROM attachments WHERE case_id = ?1)`, []any{id}},
		{`UPDATE messages SET raw = NULL, raw_chunks = 0, body_text = '', body_html = '', subject = '', from_addr = '', to_addr = '' WHERE case_id = ?`, []any{id}},
		{`UPDATE attachments SET data = NULL, data_chunks = 0, filename = '' WHERE case_id = ?`, []any{id}},
		{`UPDATE agency_replies SET complaints = '', considered = '', taken = '', risk = '', text = '', files = '[]' WHERE case_id = ?`, []any{id}},
		{`UPDATE meetings SET summary = '', place = '', attendees = '' WHERE case_id = ?`, []any{id}},
		{`UPDATE recommendations SET text = '' WHERE case_id = ?`, []any{id}},
		{`UPDATE letters SET text = '', html = '' WHERE case_id = ?`, []any{id}},
		{`UPDATE further_reviews SET reason = '', outcome = '' WHERE case_id = ?`, []any{id}},
		{`UPDATE resident_emails SET subject = '', text = '', html = '' WHERE case_id = ?`, []any{id}},
		{`UPDATE threshold_reviews SET notes = '' WHERE case_id = ?`, []any{id}},
		{`UPDATE consultations SET skip_reason = '' WHERE case_id = ?`, []any{id}},
		// Jobs keep their kind and state; their payloads (addresses, texts)
		// go. One still pending this long after closure is given up.
		{`UPDATE outbox SET payload = json_object('case', ?), recipient = '', result = '{}',
			last_error = CASE WHEN state = 'pending' THEN 'case purged' ELSE '' END,
			state = CASE WHEN state = 'pending' THEN 'dead' ELSE state END WHERE case_id = ?`, []any{ref, id}},
		{`DELETE FROM undeliverable WHERE case_id = ?`, []any{id}},
	} {
		if _, err := tx.ExecContext(ctx, u.q, u.args...); err != nil {
			return p, false, fmt.Errorf("purge: %w", err)
		}
	}
	if _, err := tx.event(ctx, id, "retention", "case.purged", map[string]any{
		"messages": p.Messages, "attachments": p.Attachments, "letters": p.Letters, "replies": p.Replies, "events": p.Events,
		"retention_years": tx.s.Config.Retention.Years,
	}); err != nil {
		return p, false, err
	}
	return p, true, nil
}

const looseMessages = `FROM messages WHERE case_id IS NULL AND created_at < ?1
	AND (raw IS NOT NULL OR raw_chunks > 0 OR body_text != '' OR body_html != '' OR subject != '' OR from_addr != '')`

// LooseMailDue counts the mail with no case that a retention run removes.
func (s *Store) LooseMailDue(ctx context.Context) (casefile.LooseMail, error) {
	var l casefile.LooseMail
	cut := ms(s.RetentionCutoff())
	err := s.view(ctx, func(tx *Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) `+looseMessages, cut).Scan(&l.Messages); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM quarantine WHERE created_at < ?`, cut).Scan(&l.Quarantined)
	})
	return l, err
}

// PurgeLooseMail removes the mail with no case older than the cut-off: the
// raw bytes, text, subject and sender of stored messages (their
// Message-IDs stay, so the same mail is still known as a duplicate), their
// attachments' bytes and names, quarantined messages whole, and the
// record of the Graph items filed before the cut-off. The purge is
// recorded in the audit trail with its counts.
func (s *Store) PurgeLooseMail(ctx context.Context) (casefile.LooseMail, error) {
	var l casefile.LooseMail
	cut := ms(s.RetentionCutoff())
	err := s.update(ctx, func(tx *Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) `+looseMessages, cut).Scan(&l.Messages); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM chunks WHERE owner IN (SELECT 'm:' || id ` + looseMessages + `)`,
			`DELETE FROM chunks WHERE owner IN (SELECT 'a:' || a.id FROM attachments a JOIN messages m ON m.id = a.message_id
				WHERE m.case_id IS NULL AND m.created_at < ?1)`,
			`UPDATE attachments SET data = NULL, data_chunks = 0, filename = '' WHERE message_id IN (SELECT id FROM messages WHERE case_id IS NULL AND created_at < ?1)`,
			`UPDATE messages SET raw = NULL, raw_chunks = 0, body_text = '', body_html = '', subject = '', from_addr = '', to_addr = '' WHERE id IN (SELECT id ` + looseMessages + `)`,
			// Graph's items filed that long ago left the Inbox long since.
			`DELETE FROM mail_items WHERE at < ?1`,
		} {
			if _, err := tx.ExecContext(ctx, q, cut); err != nil {
				return fmt.Errorf("purge mail with no case: %w", err)
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM quarantine WHERE created_at < ?`, cut)
		if err != nil {
			return fmt.Errorf("purge quarantine: %w", err)
		}
		n, _ := res.RowsAffected()
		l.Quarantined = int(n)
		if l.Messages+l.Quarantined == 0 {
			return nil
		}
		_, err = tx.event(ctx, 0, "retention", "mail.purged", map[string]any{"messages": l.Messages, "quarantined": l.Quarantined})
		return err
	})
	if err == nil && l.Messages+l.Quarantined > 0 {
		err = s.checkpoint(ctx)
	}
	return l, err
}
