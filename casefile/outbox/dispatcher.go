// Package outbox drains the case file's outbox: it claims the jobs that
// are ready, hands each to the adapter that does it (Slack, email) and
// records the outcome, retrying what failed for a while with backoff.
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
	FailJob(ctx context.Context, j casefile.Job, cause error) error
	Now() time.Time
}

// Dispatcher drains the outbox: it claims ready jobs of its prefix and hands
// them to its handler, with retries and exponential backoff. A Slack or SMTP
// outage delays work and never loses it.
type Dispatcher struct {
	Store       Queue
	Prefix      string // "slack." or "email."
	Handler     casefile.Handler
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
	var perm *casefile.PermanentError
	var ra *casefile.RetryAfterError
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
		wait := casefile.Backoff(j.Attempts)
		log.Warn("outbox job failed; will retry", "err", err, "retry_in", wait)
		d.retry(ctx, log, j, err, wait)
	}
}

func (d *Dispatcher) retry(ctx context.Context, log *slog.Logger, j casefile.Job, cause error, wait time.Duration) {
	if err := d.Store.RetryJob(ctx, j, cause, d.Store.Now().Add(wait)); err != nil {
		log.Error("outbox: recording a retry failed", "err", err)
	}
}
