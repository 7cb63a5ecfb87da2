// Package outbox drains the case file's outbox: it claims the jobs that
// are ready, hands each to the adapter that does it (Slack, email) and
// records the outcome. A job that fails is retried with capped backoff
// until it has been failing for GiveUpAfter; a job that waits for
// something else is looked at again without counting an attempt; a job
// that ends (a permanent error, or given up) is recorded by the store,
// which tells the coordinator.
package outbox

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/csp/trigger/casefile"
)

// Queue is the part of the store the dispatcher uses.
type Queue interface {
	ClaimJobs(ctx context.Context, prefix string, limit int, lease time.Duration) ([]casefile.Job, error)
	CompleteJob(ctx context.Context, j casefile.Job, done casefile.JobDone) error
	RetryJob(ctx context.Context, j casefile.Job, cause error, at time.Time) error
	WaitJob(ctx context.Context, j casefile.Job, at time.Time) error
	EndJob(ctx context.Context, j casefile.Job, reason string, cause error) error
	Now() time.Time
}

// Dispatcher drains the outbox: it claims ready jobs of its prefix and hands
// them to its handler, with retries and exponential backoff (at most
// casefile.MaxBackoff apart). A Slack or SMTP outage shorter than
// GiveUpAfter delays work and never loses it; a job that ends is told to
// the coordinator.
type Dispatcher struct {
	Store   Queue
	Prefix  string // "slack." or "email."
	Handler casefile.Handler
	Workers int           // jobs done at once; default 1 (in order)
	Lease   time.Duration // default 2 minutes
	Poll    time.Duration // how often to look when idle; default 1s
	// GiveUpAfter is how long a job may keep failing, from its first
	// failure, before it ends ([outbox] give_up_after); default 7 days.
	// Waits (casefile.WaitError, casefile.RetryAfterError) are not
	// failures: they never end a job.
	GiveUpAfter time.Duration
	Logger      *slog.Logger
	// OnError, if set, is told of each failed attempt (for metrics), and
	// whether it ended the job.
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
		if d.GiveUpAfter <= 0 {
			d.GiveUpAfter = 7 * 24 * time.Hour
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

func (d *Dispatcher) do(ctx context.Context, j casefile.Job) {
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
	now := d.Store.Now()
	var perm *casefile.PermanentError
	var wait *casefile.WaitError
	var ra *casefile.RetryAfterError
	switch {
	case errors.As(err, &perm):
		d.end(ctx, log, j, casefile.EndPermanent, err)
	case errors.As(err, &wait):
		after := wait.After
		if after <= 0 {
			after = casefile.WaitDelay(now.Sub(j.CreatedAt))
		}
		log.Debug("outbox job waits", "reason", err, "retry_in", after)
		d.wait(ctx, log, j, now.Add(after))
	case errors.As(err, &ra):
		log.Warn("outbox job must wait", "err", err, "retry_after", ra.After)
		d.wait(ctx, log, j, now.Add(ra.After))
	default:
		first := j.FirstFailedAt
		if first.IsZero() {
			first = now
		}
		giveUp := first.Add(d.GiveUpAfter)
		if !now.Before(giveUp) {
			d.end(ctx, log, j, casefile.EndGaveUp, err)
			return
		}
		if d.OnError != nil {
			d.OnError(j.Kind, false)
		}
		// The last try falls when the give-up time comes, not up to a
		// backoff after it.
		at := now.Add(casefile.Backoff(j.Attempts))
		if at.After(giveUp) {
			at = giveUp
		}
		log.Warn("outbox job failed; will retry", "err", casefile.ScrubError(err.Error()), "retry_in", at.Sub(now), "failing_for", now.Sub(first).Round(time.Second))
		if err := d.Store.RetryJob(ctx, j, err, at); err != nil {
			log.Error("outbox: recording a retry failed", "err", err)
		}
	}
}

// end ends a job: the store records it and tells the coordinator.
func (d *Dispatcher) end(ctx context.Context, log *slog.Logger, j casefile.Job, reason string, cause error) {
	if d.OnError != nil {
		d.OnError(j.Kind, true)
	}
	log.Error("outbox job ended: the coordinator is told", "reason", reason, "err", casefile.ScrubError(cause.Error()))
	if err := d.Store.EndJob(ctx, j, reason, cause); err != nil {
		log.Error("outbox: recording an ended job failed; it will be tried again", "err", err)
	}
}

func (d *Dispatcher) wait(ctx context.Context, log *slog.Logger, j casefile.Job, at time.Time) {
	if err := d.Store.WaitJob(ctx, j, at); err != nil {
		log.Error("outbox: recording a wait failed", "err", err)
	}
}
