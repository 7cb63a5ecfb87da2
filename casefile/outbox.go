package casefile

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Job is an outbox job: one side effect to do, at least once, with a dedupe
// key that makes doing it twice harmless.
type Job struct {
	ID        int64
	CaseID    int64
	CaseRef   string
	Kind      string
	DedupeKey string
	Payload   json.RawMessage
	Attempts  int // including this one
	CreatedAt time.Time
	// InDoubt is set when an earlier attempt began handing the email to
	// the SMTP server and never recorded the outcome (a crash): the
	// server may have it.
	InDoubt bool
}

// Decode reads the job's payload into v.
func (j Job) Decode(v any) error {
	if err := json.Unmarshal(j.Payload, v); err != nil {
		return fmt.Errorf("job %d (%s): payload: %w", j.ID, j.Kind, err)
	}
	return nil
}

// ClaimJobs leases up to limit ready jobs whose kind starts with prefix, so
// that no other dispatcher takes them until the lease runs out. A job whose
// worker died is taken again after its lease.
func (s *Store) ClaimJobs(ctx context.Context, prefix string, limit int, lease time.Duration) ([]Job, error) {
	var jobs []Job
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
			var j Job
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

// Outbound is an email we sent, kept on the case so that replies to it
// thread by its Message-ID.
type Outbound struct {
	MessageID string
	Kind      string // ack, letter, agency_request
	Subject   string
	To        string
	Raw       []byte
}

// JobDone is what a worker reports about a finished job: its result, the
// email it sent, and a follow-up the domain should record.
type JobDone struct {
	Result any
	Sent   *Outbound
	// InDoubt reports an email job not sent again because an earlier
	// attempt may have delivered it: the coordinator is asked to check.
	InDoubt bool
}

// HandOver records that a job's email is about to be handed to the SMTP
// server. From here until CompleteJob, a crash leaves the job in doubt.
func (s *Store) HandOver(ctx context.Context, j Job) error {
	return s.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET handed_over = ? WHERE id = ?`, ms(tx.now), j.ID)
		return err
	})
}

// ClearHandOver records that the server refused the message it was being
// handed: the job is not in doubt, and is retried as usual.
func (s *Store) ClearHandOver(ctx context.Context, j Job) error {
	return s.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET handed_over = NULL WHERE id = ?`, j.ID)
		return err
	})
}

// inDoubt records an email that may or may not have gone, and asks the
// coordinator to check rather than sending it a second time.
func (tx *Tx) inDoubt(ctx context.Context, j Job) error {
	ev, err := tx.event(ctx, j.CaseID, "outbox", "mail.in_doubt", map[string]any{"job": j.ID, "kind": j.Kind})
	if err != nil || j.CaseID == 0 {
		return err
	}
	what := map[string]string{JobEmailAck: "the acknowledgement", JobEmailLetter: "the letter", JobEmailAgency: "the request to an agency"}[j.Kind]
	if what == "" {
		what = "an email"
	}
	_, err = tx.enqueue(ctx, j.CaseID, ev, JobSlackNotify, fmt.Sprintf("in-doubt:%d", j.ID), map[string]any{
		"case": j.CaseRef, "event": ev, "coordinator": true,
		"text": "The service stopped while it was sending " + what + " for this case, so it may or may not have arrived. " +
			"It was not sent again, so that nobody gets it twice: please check with the recipient (or the mail server's log) and send it by hand if it did not arrive.",
	})
	return err
}

// CompleteJob marks a job done, in one transaction with what it produced:
// the sent email stored on the case, the acknowledgement deadline met.
func (s *Store) CompleteJob(ctx context.Context, j Job, done JobDone) error {
	return s.update(ctx, func(tx *Tx) error {
		return tx.completeJob(ctx, j, done)
	})
}

func (tx *Tx) completeJob(ctx context.Context, j Job, done JobDone) error {
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
			if j.Kind == JobEmailLetter {
				var p struct {
					Letter int64 `json:"letter"`
				}
				if err := json.Unmarshal(j.Payload, &p); err == nil && p.Letter != 0 {
					if err := tx.markLetterSent(ctx, p.Letter); err != nil {
						return err
					}
				}
			}
			if m.Kind == "ack" {
				if err := tx.closeDeadline(ctx, j.CaseID, DeadlineAcknowledge); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// RetryJob puts a job back to be tried again at a later time.
func (s *Store) RetryJob(ctx context.Context, j Job, cause error, at time.Time) error {
	return s.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET run_after = ?, locked_until = 0, last_error = ? WHERE id = ? AND state = 'pending'`,
			ms(at), truncate(cause.Error(), 500), j.ID)
		return err
	})
}

// FailJob gives a job up for good (a permanent error) and records why in the
// audit trail, where the coordinator sees it.
func (s *Store) FailJob(ctx context.Context, j Job, cause error) error {
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

// OutboxStats is what /metrics says of the outbox.
type OutboxStats struct {
	Pending   int
	Dead      int
	OldestAge time.Duration
}

// OutboxStats counts pending and dead jobs and the age of the oldest pending.
func (s *Store) OutboxStats(ctx context.Context) (OutboxStats, error) {
	var st OutboxStats
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
func (s *Store) Jobs(ctx context.Context, ref string) ([]JobInfo, error) {
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
	var out []JobInfo
	for rows.Next() {
		var j JobInfo
		if err := rows.Scan(&j.ID, &j.CaseRef, &j.Kind, &j.DedupeKey, &j.State, &j.Attempts, &j.LastError); err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// JobInfo is an outbox job as an operator sees it.
type JobInfo struct {
	ID        int64  `json:"id"`
	CaseRef   string `json:"case"`
	Kind      string `json:"kind"`
	DedupeKey string `json:"dedupe_key"`
	State     string `json:"state"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error"`
}

// PermanentError marks an error that retrying cannot fix (Slack's
// channel_not_found, an SMTP 550): the job is given up and reported.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as permanent.
func Permanent(err error) error { return &PermanentError{Err: err} }

// RetryAfterError asks for the job to be tried again after a wait the
// other side named (Slack's Retry-After).
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// Handler does one kind of job. It returns nil when the job is done, a
// *PermanentError to give it up, or any other error to retry with backoff.
type Handler interface {
	Handle(ctx context.Context, j Job) (JobDone, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, j Job) (JobDone, error)

func (f HandlerFunc) Handle(ctx context.Context, j Job) (JobDone, error) { return f(ctx, j) }

// Dispatcher drains the outbox: it claims ready jobs of its prefix and hands
// them to its handler, with retries and exponential backoff. A Slack or SMTP
// outage delays work and never loses it.
type Dispatcher struct {
	Store       *Store
	Prefix      string // "slack." or "email."
	Handler     Handler
	Workers     int           // jobs done at once; default 1 (in order)
	Lease       time.Duration // default 2 minutes
	Poll        time.Duration // how often to look when idle; default 1s
	MaxAttempts int           // then the job is given up; default 20
	Logger      *slog.Logger
	// OnError, if set, is told of each failed attempt (for metrics).
	OnError func(kind string, permanent bool)

	wake chan struct{}
	once sync.Once
}

func (d *Dispatcher) init() {
	d.once.Do(func() {
		d.wake = make(chan struct{}, 1)
		if d.Workers <= 0 {
			d.Workers = 1
		}
		if d.Lease <= 0 {
			d.Lease = 2 * time.Minute
		}
		if d.Poll <= 0 {
			d.Poll = time.Second
		}
		if d.MaxAttempts <= 0 {
			d.MaxAttempts = 20
		}
		if d.Logger == nil {
			d.Logger = slog.Default()
		}
	})
}

// Wake makes the dispatcher look for jobs now rather than at its next poll.
func (d *Dispatcher) Wake() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run drains the outbox until ctx is cancelled. Jobs in flight when it is
// cancelled finish their attempt (their own context is not cancelled), so
// shutdown never leaves a half-done side effect unrecorded.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.init()
	for {
		n, err := d.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.Logger.Error("outbox claim failed", "prefix", d.Prefix, "err", err)
		}
		if n > 0 && ctx.Err() == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-time.After(d.Poll):
		}
	}
}

// RunOnce claims one batch of ready jobs and does them; it returns how many.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	d.init()
	if ctx.Err() != nil {
		return 0, nil
	}
	jobs, err := d.Store.ClaimJobs(ctx, d.Prefix, d.Workers*4, d.Lease)
	if err != nil || len(jobs) == 0 {
		return 0, err
	}
	work := context.WithoutCancel(ctx)
	sem := make(chan struct{}, d.Workers)
	var wg sync.WaitGroup
	for _, j := range jobs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d.do(work, j)
		}()
	}
	wg.Wait()
	return len(jobs), nil
}

func (d *Dispatcher) do(ctx context.Context, j Job) {
	log := d.Logger.With("job", j.ID, "kind", j.Kind, "case", j.CaseRef, "attempt", j.Attempts)
	done, err := d.Handler.Handle(ctx, j)
	if err == nil {
		if err := d.Store.CompleteJob(ctx, j, done); err != nil {
			log.Error("outbox: recording a done job failed; it will be retried", "err", err)
			return
		}
		log.Debug("outbox job done")
		return
	}
	var perm *PermanentError
	var ra *RetryAfterError
	permanent := errors.As(err, &perm) || j.Attempts >= d.MaxAttempts
	if d.OnError != nil {
		d.OnError(j.Kind, permanent)
	}
	switch {
	case permanent:
		log.Error("outbox job failed for good", "err", err)
		if err := d.Store.FailJob(ctx, j, err); err != nil {
			log.Error("outbox: recording a failed job failed", "err", err)
		}
	case errors.As(err, &ra):
		log.Warn("outbox job rate limited", "err", err, "retry_after", ra.After)
		d.retry(ctx, log, j, err, ra.After)
	default:
		wait := Backoff(j.Attempts)
		log.Warn("outbox job failed; will retry", "err", err, "retry_in", wait)
		d.retry(ctx, log, j, err, wait)
	}
}

func (d *Dispatcher) retry(ctx context.Context, log *slog.Logger, j Job, cause error, wait time.Duration) {
	if err := d.Store.RetryJob(ctx, j, cause, d.Store.Now().Add(wait)); err != nil {
		log.Error("outbox: recording a retry failed", "err", err)
	}
}

// Backoff is the wait before attempt n+1: exponential from one second, at
// most ten minutes, with jitter so that many jobs do not retry in step.
func Backoff(attempt int) time.Duration {
	d := time.Second << min(max(attempt-1, 0), 10)
	d = min(d, 10*time.Minute)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}
