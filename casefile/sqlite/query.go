package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/csp/trigger/casefile"
)

// Case returns the whole case record as `trigger case show` prints it.
func (s *Store) Case(ctx context.Context, ref string) (*casefile.Case, error) {
	var c *casefile.Case
	err := s.view(ctx, func(tx *Tx) error {
		var err error
		c, err = tx.readCase(ctx, ref)
		return err
	})
	return c, err
}

func (tx *Tx) readCase(ctx context.Context, ref string) (*casefile.Case, error) {
	var (
		c                     casefile.Case
		app, reasons          string
		received, updated     int64
		dec, decReason, decBy sql.NullString
		decidedAt, purgedAt   sql.NullInt64
		channel               sql.NullString
		contact, formats      string
		involvementAt         sql.NullInt64
	)
	err := tx.QueryRowContext(ctx, `SELECT c.id, c.ref, c.status, c.source, c.received_at, c.application, c.assessment,
		c.qualifying, c.reasons, c.decision, c.decision_reason, c.decision_by, c.decided_at, c.purged_at, c.updated_at, sc.channel_id,
		c.contact_officer, c.involvement, c.involvement_source, c.involvement_at, c.language, c.language_source, c.formats
		FROM cases c LEFT JOIN slack_channels sc ON sc.case_id = c.id WHERE c.ref = ?`, ref).
		Scan(&c.ID, &c.Ref, &c.Status, &c.Source, &received, &app, &c.Threshold.Assessment,
			&c.Threshold.QualifyingComplaints, &reasons, &dec, &decReason, &decBy, &decidedAt, &purgedAt, &updated, &channel,
			&contact, &c.Involvement.Choice, &c.Involvement.Source, &involvementAt, &c.Language, &c.LanguageSource, &formats)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, casefile.Errorf(casefile.ENOTFOUND, "no case %s", ref)
	}
	if err != nil {
		return nil, fmt.Errorf("read case %s: %w", ref, err)
	}
	if err := json.Unmarshal([]byte(app), &c.Application); err != nil {
		return nil, fmt.Errorf("case %s: application: %w", ref, err)
	}
	c.Application.CleanHeaderFields() // stored before intake cleaned them
	if err := json.Unmarshal([]byte(reasons), &c.Threshold.Reasons); err != nil {
		return nil, fmt.Errorf("case %s: reasons: %w", ref, err)
	}
	c.ReceivedAt = fromMS(received)
	c.UpdatedAt = fromMS(updated)
	c.Purged = purgedAt.Valid
	c.Channel = channel.String
	if dec.Valid {
		c.Threshold.Decision = &casefile.Decision{Outcome: casefile.Assessment(dec.String), Reason: decReason.String, By: decBy.String, At: fromMS(decidedAt.Int64)}
	}
	if c.Deadlines, err = tx.deadlines(ctx, c.ID); err != nil {
		return nil, err
	}
	if c.Messages, err = tx.messageSummaries(ctx, c.ID); err != nil {
		return nil, err
	}
	if c.Attachments, err = tx.attachmentSummaries(ctx, c.ID); err != nil {
		return nil, err
	}
	c.ContactOfficer = tx.s.Config.ContactFor(contact)
	c.Involvement.At = nullTime(involvementAt)
	c.AccessibleFormat = []string{}
	if formats != "" {
		c.AccessibleFormat = strings.Split(formats, ",")
	}
	if c.Consultation, err = tx.consultation(ctx, c.ID); err != nil {
		return nil, err
	}
	if c.ThresholdReviews, err = tx.thresholdReviews(ctx, c.ID); err != nil {
		return nil, err
	}
	return &c, nil
}

func (tx *Tx) deadlines(ctx context.Context, caseID int64) (map[string]casefile.Deadline, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, due_on, done_at FROM deadlines WHERE case_id = ?`, caseID)
	if err != nil {
		return nil, fmt.Errorf("deadlines: %w", err)
	}
	defer rows.Close()
	out := map[string]casefile.Deadline{}
	for rows.Next() {
		var name, due string
		var done sql.NullInt64
		if err := rows.Scan(&name, &due, &done); err != nil {
			return nil, err
		}
		d, err := casefile.ParseDate(due)
		if err != nil {
			return nil, fmt.Errorf("deadline %s: %w", name, err)
		}
		out[name] = casefile.Deadline{Due: d, DoneAt: nullTime(done)}
	}
	return out, rows.Err()
}

func (tx *Tx) messageSummaries(ctx context.Context, caseID int64) ([]casefile.MessageSummary, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, header_id, direction, kind, subject, at, verified, unverified_reason, treated_as, decided_by
		FROM messages WHERE case_id = ? ORDER BY at, id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	defer rows.Close()
	out := []casefile.MessageSummary{}
	for rows.Next() {
		var m casefile.MessageSummary
		var at int64
		if err := rows.Scan(&m.ID, &m.MessageID, &m.Direction, &m.Kind, &m.Subject, &at, &m.Verified, &m.UnverifiedReason, &m.TreatedAs, &m.DecidedBy); err != nil {
			return nil, err
		}
		m.At = fromMS(at)
		// Header text is safe to print, however old the row.
		m.MessageID, m.Subject = casefile.CleanHeaderText(m.MessageID), casefile.CleanHeaderText(m.Subject)
		out = append(out, m)
	}
	return out, rows.Err()
}

func (tx *Tx) attachmentSummaries(ctx context.Context, caseID int64) ([]casefile.AttachmentSummary, error) {
	rows, err := tx.QueryContext(ctx, `SELECT filename, content_type, size, sha256 FROM attachments WHERE case_id = ? ORDER BY id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("attachments: %w", err)
	}
	defer rows.Close()
	out := []casefile.AttachmentSummary{}
	for rows.Next() {
		var a casefile.AttachmentSummary
		if err := rows.Scan(&a.Filename, &a.ContentType, &a.Size, &a.SHA256); err != nil {
			return nil, err
		}
		a.Filename, a.ContentType = casefile.CleanHeaderText(a.Filename), casefile.CleanHeaderText(a.ContentType)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Cases lists cases, newest first; status "" lists all.
func (s *Store) Cases(ctx context.Context, status casefile.Status) ([]casefile.CaseSummary, error) {
	if status != "" && !casefile.ValidStatus(status) {
		return nil, casefile.Errorf(casefile.EINVALID, "status: %q is not a case status", status)
	}
	q := `SELECT c.ref, c.status, c.route, c.received_at, c.assessment,
		(SELECT name || ' ' || due_on FROM deadlines d WHERE d.case_id = c.id AND d.done_at IS NULL ORDER BY due_on, name LIMIT 1)
		FROM cases c`
	var args []any
	if status != "" {
		q += ` WHERE c.status = ?`
		args = append(args, status)
	}
	q += ` ORDER BY c.year DESC, c.seq DESC`
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	defer rows.Close()
	out := []casefile.CaseSummary{}
	for rows.Next() {
		c, err := scanSummary(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Events returns a case's audit trail, oldest first.
func (s *Store) Events(ctx context.Context, ref string) ([]casefile.Event, error) {
	var out []casefile.Event
	err := s.view(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.events(ctx, ref)
		return err
	})
	return out, err
}

func (tx *Tx) events(ctx context.Context, ref string) ([]casefile.Event, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM cases WHERE ref = ?`, ref).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, casefile.Errorf(casefile.ENOTFOUND, "no case %s", ref)
	}
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, seq, at, actor, kind, details FROM events WHERE case_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	defer rows.Close()
	var out []casefile.Event
	for rows.Next() {
		e := casefile.Event{CaseRef: ref}
		var at int64
		var details string
		if err := rows.Scan(&e.ID, &e.Seq, &at, &e.Actor, &e.Kind, &details); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			return nil, fmt.Errorf("event %d: %w", e.ID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
