// Package schedule runs the case file's timed work: reminders to agencies
// and the coordinator, drafting the response when a resident's time to
// comment on the recommendations has passed, and closing answered cases
// whose window for a further review has ended.
package schedule

import (
	"context"
	"log/slog"
	"time"
)

// Store is the part of the case file the scheduler uses.
type Store interface {
	RunReminders(ctx context.Context) (int, error)
	EndConsultations(ctx context.Context) (int, error)
	CloseAfterFurtherReviewWindow(ctx context.Context) (int, error)
}

// ReminderScheduler queues due reminders every few minutes until its
// context ends. A failed run is logged and tried again at the next tick:
// the dedupe keys make a repeated run harmless.
type ReminderScheduler struct {
	Store  Store
	Every  time.Duration // default 5 minutes
	Logger *slog.Logger
}

// Run runs the scheduler until ctx is cancelled.
func (r *ReminderScheduler) Run(ctx context.Context) error {
	every := r.Every
	if every <= 0 {
		every = 5 * time.Minute
	}
	log := r.Logger
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := r.Store.RunReminders(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("reminders: run failed; trying again at the next tick", "err", err)
		case n > 0:
			log.Info("reminders queued", "count", n)
		}
		ended, err := r.Store.EndConsultations(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("ending consultations failed; trying again at the next tick", "err", err)
		case ended > 0:
			log.Info("responses drafted: the time to comment on the recommendations passed", "count", ended)
		}
		closed, err := r.Store.CloseAfterFurtherReviewWindow(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("closing answered cases failed; trying again at the next tick", "err", err)
		case closed > 0:
			log.Info("cases closed: the window for a further review ended", "count", closed)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
