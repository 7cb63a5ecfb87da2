package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/csp/trigger/casefile"
)

// ClaimJobs leases up to limit ready jobs whose kind starts with prefix, so
// that no other dispatcher takes them until the lease runs out. A job whose
// worker died is taken again after its lease.
func (s *Store) ClaimJobs(ctx context.Context, prefix string, limit int, lease time.Duration) ([]casefile.Job, error) {
	var jobs []casefile.Job
	err := s.update(ctx, func(tx *Tx) error {
		now := ms(tx.now)
		rows, err := tx.QueryContext(ctx, `SELECT o.id, COALESCE(o.case_id, 0), COALESCE(c.ref, ''), o.kind, o.dedupe_key, o.payload, o.attempts, o.created_at,
			o.handed_over IS NOT NULL
			FROM outbox o LEFT JOIN cases c ON c.id = o.case_id
			WHERE o.state = 'pending' AND o.run_after <= ? AND o.locked_until <= ? AND o.kind LIKE ? || '%'
			ORDER BY o.run_after, o.id LIMIT ?`, now, now, prefix, limit)
		if err != nil {
			return fmt.Errorf("claim: %w", err)
		}
		for rows.Next() {
			var j casefile.Job
			var payload string
			var created int64
			if err := rows.Scan(&j.ID, &j.CaseID, &j.CaseRef, &j.Kind, &j.DedupeKey, &payload, &j.Attempts, &created, &j.InDoubt); err != nil {
				rows.Close()
				return err
			}
			j.Payload, j.CreatedAt = json.RawMessage(payload), fromMS(created)
			j.Attempts++
			jobs = append(jobs, j)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, j := range jobs {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, locked_until = ? WHERE id = ?`,
				ms(tx.now.Add(lease)), j.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return jobs, err
}

// HandOver records that a job's email is about to be handed to the SMTP
// server. From here until CompleteJob, a crash leaves the job in doubt.
func (s *Store) HandOver(ctx context.Context, j casefile.Job) error {
	return s.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET handed_over = ? WHERE id = ?`, ms(tx.now), j.ID)
		return err
	})
}

// ClearHandOver records that the server refused the message it was being
// handed: the job is not in doubt, and is retried as usual.
func (s *Store) ClearHandOver(ctx context.Context, j casefile.Job) error {
	return s.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET handed_over = NULL WHERE id = ?`, j.ID)
		return err
	})
}

// inDoubt records an email that may or may not have gone, and asks the
// coordinator to check rather than sending it a second time.
func (tx *Tx) inDoubt(ctx context.Context, j casefile.Job) error {
	ev, err := tx.event(ctx, j.CaseID, "outbox", "mail.in_doubt", map[string]any{"job": j.ID, "kind": j.Kind})
	if err != nil || j.CaseID == 0 {
		return err
	}
	what := map[string]string{casefile.JobEmailAck: "the acknowledgement", casefile.JobEmailLetter: "the letter", casefile.JobEmailAgency: "the request to an agency",
		casefile.JobEmailResident: "an email to the applicant", casefile.JobEmailThresholdReview: "the request to review the threshold decision"}[j.Kind]
	if what == "" {
		what = "an email"
	}
	_, err = tx.enqueue(ctx, j.CaseID, ev, fmt.Sprintf("in-doubt:%d", j.ID), casefile.NotifyJob{
		Case: j.CaseRef, Event: ev, Coordinator: true,
		Text: "The service stopped while it was sending " + what + " for this case, so it may or may not have arrived. " +
			"It was not sent again, so that nobody gets it twice: please check with the recipient (or the mail server's log) and send it by hand if it did not arrive.",
	})
	return err
}

// CompleteJob marks a job done, in one transaction with what it produced:
// the sent email stored on the case, the acknowledgement deadline met.
func (s *Store) CompleteJob(ctx context.Context, j casefile.Job, done casefile.JobDone) error {
	return s.update(ctx, func(tx *Tx) error {
		return tx.completeJob(ctx, j, done)
	})
}

func (tx *Tx) completeJob(ctx context.Context, j casefile.Job, done casefile.JobDone) error {
	b, err := json.Marshal(done.Result)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'done', done_at = ?, result = ?, last_error = '' WHERE id = ? AND state = 'pending'`,
		ms(tx.now), string(b), j.ID)
	if err != nil {
		return fmt.Errorf("complete job %d: %w", j.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // done already by a worker whose lease had run out
	}
	if done.InDoubt {
		return tx.inDoubt(ctx, j)
	}
	if m := done.Sent; m != nil {
		sum := sha256.Sum256(m.Raw)
		if _, err := tx.ExecContext(ctx, `INSERT INTO messages (case_id, message_id, direction, kind, subject, from_addr, at, raw, sha256, created_at)
			VALUES (?, ?, 'out', ?, ?, '', ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING`,
			nullID(j.CaseID), m.MessageID, m.Kind, m.Subject, ms(tx.now), m.Raw, hex.EncodeToString(sum[:]), ms(tx.now)); err != nil {
			return fmt.Errorf("store sent message: %w", err)
		}
		if j.CaseID != 0 {
			if _, err := tx.event(ctx, j.CaseID, "outbox", "mail.sent", map[string]any{"kind": m.Kind, "message_id": m.MessageID, "job": j.ID}); err != nil {
				return err
			}
			if j.Kind == casefile.JobEmailLetter {
				if p, err := casefile.PayloadOf[casefile.LetterJob](j); err == nil && p.Letter != 0 {
					if err := tx.markLetterSent(ctx, p.Letter); err != nil {
						return err
					}
				}
			}
			if j.Kind == casefile.JobEmailResident {
				if p, err := casefile.PayloadOf[casefile.ResidentEmailJob](j); err == nil && p.Email != 0 {
					if err := tx.markResidentEmailSent(ctx, p.Email); err != nil {
						return err
					}
				}
			}
			if m.Kind == "ack" {
				if err := tx.closeDeadline(ctx, j.CaseID, casefile.DeadlineAcknowledge); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// RetryJob puts a job back to be tried again at a later time.
func (s *Store) RetryJob(ctx context.Context, j casefile.Job, cause error, at time.Time) error {
	return s.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET run_after = ?, locked_until = 0, last_error = ? WHERE id = ? AND state = 'pending'`,
			ms(at), truncate(cause.Error(), 500), j.ID)
		return err
	})
}

// FailJob gives a job up for good (a permanent error) and records why in the
// audit trail, where the coordinator sees it.
func (s *Store) FailJob(ctx context.Context, j casefile.Job, cause error) error {
	return s.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'dead', done_at = ?, locked_until = 0, last_error = ? WHERE id = ? AND state = 'pending'`,
			ms(tx.now), truncate(cause.Error(), 500), j.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		_, err = tx.event(ctx, j.CaseID, "outbox", "job.failed", map[string]any{"job": j.ID, "kind": j.Kind, "error": truncate(cause.Error(), 500)})
		return err
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// OutboxStats counts pending and dead jobs and the age of the oldest pending.
func (s *Store) OutboxStats(ctx context.Context) (casefile.OutboxStats, error) {
	var st casefile.OutboxStats
	var oldest sql.NullInt64
	err := s.rdb.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM outbox WHERE state = 'pending'),
		(SELECT count(*) FROM outbox WHERE state = 'dead'),
		(SELECT MIN(created_at) FROM outbox WHERE state = 'pending')`).Scan(&st.Pending, &st.Dead, &oldest)
	if oldest.Valid {
		st.OldestAge = s.Now().Sub(time.UnixMilli(oldest.Int64))
	}
	return st, err
}

// Jobs lists outbox jobs of a case (all cases for ""), oldest first.
func (s *Store) Jobs(ctx context.Context, ref string) ([]casefile.JobInfo, error) {
	q := `SELECT o.id, COALESCE(c.ref, ''), o.kind, o.dedupe_key, o.state, o.attempts, o.last_error FROM outbox o LEFT JOIN cases c ON c.id = o.case_id`
	var args []any
	if ref != "" {
		q += ` WHERE c.ref = ?`
		args = append(args, ref)
	}
	rows, err := s.rdb.QueryContext(ctx, q+` ORDER BY o.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []casefile.JobInfo
	for rows.Next() {
		var j casefile.JobInfo
		if err := rows.Scan(&j.ID, &j.CaseRef, &j.Kind, &j.DedupeKey, &j.State, &j.Attempts, &j.LastError); err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}
