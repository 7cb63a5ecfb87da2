package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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
			o.handed_over IS NOT NULL, o.first_failed_at
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
			var firstFailed sql.NullInt64
			if err := rows.Scan(&j.ID, &j.CaseID, &j.CaseRef, &j.Kind, &j.DedupeKey, &payload, &j.Attempts, &created, &j.InDoubt, &firstFailed); err != nil {
				rows.Close()
				return err
			}
			j.Payload, j.CreatedAt = json.RawMessage(payload), fromMS(created)
			if firstFailed.Valid {
				j.FirstFailedAt = fromMS(firstFailed.Int64)
			}
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
	if m := done.Sent; m != nil && j.Kind == casefile.JobEmailCoordinator {
		// Mail to our own staff is not correspondence of the case: it is
		// not kept with the case's messages, only in its audit trail.
		_, err := tx.event(ctx, j.CaseID, "outbox", "mail.sent", map[string]any{"kind": m.Kind, "message_id": m.MessageID, "job": j.ID})
		return err
	}
	if m := done.Sent; m != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO messages (case_id, message_id, header_id, direction, kind, subject, from_addr, at, raw, sha256, created_at,
			job_id, to_addr) VALUES (?, ?, ?, 'out', ?, ?, '', ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING`,
			nullID(j.CaseID), m.MessageID, m.MessageID, m.Kind, m.Subject, ms(tx.now), m.Raw, casefile.Sum(m.Raw), ms(tx.now),
			j.ID, recipients(m.To)); err != nil {
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

// RetryJob records a failed attempt and puts the job back to be tried
// again at at. Its first failure starts its give-up clock.
func (s *Store) RetryJob(ctx context.Context, j casefile.Job, cause error, at time.Time) error {
	return s.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET run_after = ?, locked_until = 0, last_error = ?, first_failed_at = COALESCE(first_failed_at, ?)
			WHERE id = ? AND state = 'pending'`,
			ms(at), casefile.ScrubError(cause.Error()), ms(tx.now), j.ID)
		if err != nil {
			return fmt.Errorf("retry job %d: %w", j.ID, err)
		}
		return nil
	})
}

// WaitJob puts a job back to be tried again at at without counting the
// attempt: it waited for something else (a channel, a rate limit, working
// hours) and did nothing. A wait is not a failure: it neither starts nor
// moves the give-up clock.
func (s *Store) WaitJob(ctx context.Context, j casefile.Job, at time.Time) error {
	return s.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET run_after = ?, locked_until = 0, attempts = MAX(attempts - 1, 0)
			WHERE id = ? AND state = 'pending'`, ms(at), j.ID)
		if err != nil {
			return fmt.Errorf("wait job %d: %w", j.ID, err)
		}
		return nil
	})
}

// EndJob ends a job that will not be done — reason is casefile.EndPermanent
// or casefile.EndGaveUp — and, in the same transaction, records it in the
// audit trail (job.ended, with the error scrubbed of email addresses) and
// queues what tells the coordinator: a notice in the case channel, or an
// email when Slack is the part that failed (see tellEnded).
func (s *Store) EndJob(ctx context.Context, j casefile.Job, reason string, cause error) error {
	return s.update(ctx, func(tx *Tx) error {
		return tx.endJob(ctx, j, reason, cause)
	})
}

func (tx *Tx) endJob(ctx context.Context, j casefile.Job, reason string, cause error) error {
	msg := casefile.ScrubError(cause.Error())
	res, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'dead', done_at = ?, locked_until = 0, last_error = ?, end_reason = ?,
		first_failed_at = COALESCE(first_failed_at, ?) WHERE id = ? AND state = 'pending'`,
		ms(tx.now), msg, reason, ms(tx.now), j.ID)
	if err != nil {
		return fmt.Errorf("end job %d: %w", j.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // done or ended already by a worker whose lease had run out
	}
	e := casefile.EndedJob{
		ID: j.ID, CaseRef: j.CaseRef, Kind: j.Kind, Payload: j.Payload, Reason: reason, Error: msg,
		FirstFailedAt: j.FirstFailedAt, EndedAt: tx.now,
	}
	if e.FirstFailedAt.IsZero() {
		e.FirstFailedAt = tx.now
	}
	return tx.tellEnded(ctx, j.CaseID, e, j.Attempts)
}

// Ways the coordinator is told of an ended job, as job.ended records them.
const (
	toldSlack  = "slack"  // a notice in the case channel
	toldEmail  = "email"  // an email to [roles] coordinator_email
	toldNobody = "nobody" // no way left: the log, /readyz and `trigger outbox list --dead` show it
)

// tellEnded records an ended job and queues what tells the coordinator.
// This is the one place that decides how: a notice in the case channel for
// an email that could not be sent; an email to the coordinator when Slack
// is the part that failed (a Slack job, a notice about an ended job that
// could not be posted, a case whose channel could not be created) or the
// job is about no case; nothing more when the email to the coordinator
// itself ended, or no address is configured for it.
func (tx *Tx) tellEnded(ctx context.Context, caseID int64, e casefile.EndedJob, attempts int) error {
	cfg := tx.s.Config
	how := toldSlack
	var notice *casefile.EndedJob // e is a notice about an ended job; orig is that job
	orig := e
	switch {
	case e.Kind == casefile.JobEmailCoordinator:
		how = toldNobody
	case strings.HasPrefix(e.Kind, "slack.") || caseID == 0:
		how = toldEmail
	default:
		var dead int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE case_id = ? AND kind = ? AND state = 'dead'`,
			caseID, casefile.JobSlackCreateChannel).Scan(&dead); err != nil {
			return fmt.Errorf("end job %d: channel: %w", e.ID, err)
		}
		if dead > 0 {
			how = toldEmail // the case has no channel to post in
		}
	}
	if e.Kind == casefile.JobSlackNotify {
		p, err := casefile.PayloadOf[casefile.NotifyJob](casefile.Job{ID: e.ID, Kind: e.Kind, Payload: e.Payload})
		if err == nil && p.Ended != 0 {
			o, err := tx.endedJob(ctx, p.Ended)
			if err != nil {
				return err
			}
			notice, orig = &e, o
		}
	}
	if how == toldEmail && len(cfg.CoordinatorEmails()) == 0 {
		how = toldNobody
	}
	details := map[string]any{"job": e.ID, "kind": e.Kind, "reason": e.Reason, "error": e.Error, "attempts": attempts, "told": how}
	if notice != nil {
		details["about_job"] = orig.ID
	}
	ev, err := tx.event(ctx, caseID, "outbox", "job.ended", details)
	if err != nil {
		return err
	}
	switch how {
	case toldSlack:
		x := e.Explain(cfg)
		_, err = tx.enqueue(ctx, caseID, ev, fmt.Sprintf("ended:%d:%d", e.ID, ev), casefile.NotifyJob{
			Case: e.CaseRef, Event: ev, Coordinator: true, Prompt: x.Prompt, Text: x.Notice(),
			Key: fmt.Sprintf("ended-%d-%d", e.ID, ev), Ended: e.ID,
		})
	case toldEmail:
		subject, text := casefile.EndedEmail(orig, notice, cfg)
		_, err = tx.enqueue(ctx, caseID, ev, fmt.Sprintf("ended-email:%d:%d", e.ID, ev), casefile.CoordinatorEmailJob{
			Case: e.CaseRef, Ended: orig.ID, Subject: subject, Text: text,
		})
	}
	return err
}

// endedJob reads an ended job back, for the email about a notice of it
// that could not be posted.
func (tx *Tx) endedJob(ctx context.Context, id int64) (casefile.EndedJob, error) {
	var e casefile.EndedJob
	var payload string
	var first, done sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT o.id, COALESCE(c.ref, ''), o.kind, o.payload, o.end_reason, o.last_error, o.first_failed_at, o.done_at
		FROM outbox o LEFT JOIN cases c ON c.id = o.case_id WHERE o.id = ?`, id).
		Scan(&e.ID, &e.CaseRef, &e.Kind, &payload, &e.Reason, &e.Error, &first, &done)
	if err != nil {
		return e, fmt.Errorf("read ended job %d: %w", id, err)
	}
	e.Payload = json.RawMessage(payload)
	if first.Valid {
		e.FirstFailedAt = fromMS(first.Int64)
	}
	if done.Valid {
		e.EndedAt = fromMS(done.Int64)
	}
	return e, nil
}

// ReclaimLeases makes claimable at once the jobs whose lease has not run
// out: jobs a process that is gone had claimed. Only the one `trigger serve`
// holding the database's instance lock may call it (no other process can
// be working on them then); it returns how many it reclaimed.
func (s *Store) ReclaimLeases(ctx context.Context) (int, error) {
	var n int64
	err := s.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET locked_until = 0 WHERE state = 'pending' AND locked_until > ?`, ms(tx.now))
		if err != nil {
			return fmt.Errorf("reclaim leases: %w", err)
		}
		n, _ = res.RowsAffected()
		tx.enqueued = n > 0 // the dispatchers start on them at once
		return nil
	})
	return int(n), err
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

// Jobs lists every outbox job of a case (all cases for ""), oldest first.
func (s *Store) Jobs(ctx context.Context, ref string) ([]casefile.JobInfo, error) {
	return s.ListJobs(ctx, casefile.JobFilter{Case: ref, All: true})
}

// ListJobs lists the outbox jobs f selects, oldest first.
func (s *Store) ListJobs(ctx context.Context, f casefile.JobFilter) ([]casefile.JobInfo, error) {
	where := ``
	var args []any
	if f.Case != "" {
		where += ` AND c.ref = ?`
		args = append(args, f.Case)
	}
	switch {
	case f.All:
	case f.State == "":
		where += ` AND o.state IN ('pending', 'dead')`
	case f.State == casefile.JobStatePending || f.State == casefile.JobStateDone || f.State == casefile.JobStateDead:
		where += ` AND o.state = ?`
		args = append(args, f.State)
	default:
		return nil, casefile.Errorf(casefile.EINVALID, "state %q: use pending, done or dead", f.State)
	}
	return s.queryJobs(ctx, where, args...)
}

// queryJobs reads the jobs that match where (a condition on o, the outbox,
// and c, its case, beginning with AND), oldest first.
func (s *Store) queryJobs(ctx context.Context, where string, args ...any) ([]casefile.JobInfo, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT o.id, COALESCE(c.ref, ''), o.kind, o.dedupe_key, o.state, o.attempts, o.created_at,
		o.first_failed_at, o.last_error, o.run_after, o.done_at, o.end_reason
		FROM outbox o LEFT JOIN cases c ON c.id = o.case_id WHERE 1 = 1`+where+` ORDER BY o.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	var out []casefile.JobInfo
	for rows.Next() {
		var j casefile.JobInfo
		var created, runAfter int64
		var first, done sql.NullInt64
		if err := rows.Scan(&j.ID, &j.CaseRef, &j.Kind, &j.DedupeKey, &j.State, &j.Attempts, &created, &first, &j.LastError,
			&runAfter, &done, &j.EndReason); err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		j.CreatedAt = fromMS(created)
		j.FirstErrorAt = nullTime(first)
		switch j.State {
		case casefile.JobStatePending:
			next := fromMS(runAfter)
			j.NextRun = &next
		case casefile.JobStateDead:
			j.EndedAt = nullTime(done)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return out, nil
}

// RetryJobs puts outbox jobs back to be done now (`trigger outbox retry`):
// each of ids, or every ended job when allDead. An ended job is pending
// again with its give-up clock restarted; a pending one runs now instead of
// after its backoff; a done job is refused. Its attempts are kept, so that
// the adapters still look for what an earlier attempt did before doing it
// again. Each job's case records job.retried by a. It returns the jobs it
// put back.
func (s *Store) RetryJobs(ctx context.Context, a casefile.Actor, ids []int64, allDead bool) ([]casefile.JobInfo, error) {
	if err := a.Permit(casefile.ActRetryJobs); err != nil {
		return nil, err
	}
	if strings.TrimSpace(a.Audit()) == "" {
		return nil, casefile.Errorf(casefile.EINVALID, "by: the audit trail needs a name")
	}
	if allDead == (len(ids) > 0) {
		return nil, casefile.Errorf(casefile.EINVALID, "name the jobs to retry, or all ended jobs, not both")
	}
	var done []int64
	err := s.update(ctx, func(tx *Tx) error {
		if allDead {
			rows, err := tx.QueryContext(ctx, `SELECT id FROM outbox WHERE state = 'dead' ORDER BY id`)
			if err != nil {
				return fmt.Errorf("retry: %w", err)
			}
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return fmt.Errorf("retry: %w", err)
				}
				ids = append(ids, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("retry: %w", err)
			}
		}
		for _, id := range ids {
			var caseID sql.NullInt64
			var kind, state string
			err := tx.QueryRowContext(ctx, `SELECT case_id, kind, state FROM outbox WHERE id = ?`, id).Scan(&caseID, &kind, &state)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return casefile.Errorf(casefile.ENOTFOUND, "no outbox job %d", id)
			case err != nil:
				return fmt.Errorf("retry job %d: %w", id, err)
			case state == casefile.JobStateDone:
				return casefile.Errorf(casefile.ECONFLICT, "outbox job %d (%s) is done: there is nothing to retry", id, kind)
			}
			// The lease stays: a pending job may be in a worker's hands
			// right now, and must not be claimed a second time.
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'pending', run_after = ?, done_at = NULL,
				first_failed_at = NULL, end_reason = '' WHERE id = ?`, ms(tx.now), id); err != nil {
				return fmt.Errorf("retry job %d: %w", id, err)
			}
			if _, err := tx.eventAs(ctx, caseID.Int64, a, "job.retried", map[string]any{"job": id, "kind": kind, "was": state}); err != nil {
				return err
			}
			done = append(done, id)
		}
		tx.enqueued = tx.enqueued || len(done) > 0
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []casefile.JobInfo
	for _, id := range done {
		js, err := s.queryJobs(ctx, ` AND o.id = ?`, id)
		if err != nil {
			return nil, err
		}
		out = append(out, js...)
	}
	return out, nil
}
