// Package imapwatch watches an IMAP mailbox and hands every message in it to
// mail intake. Messages are known by UID under the mailbox's UIDVALIDITY,
// never by sequence number; a message leaves the mailbox (to Processed, or
// to Quarantine) only after intake has committed it to the database, so a
// crash at any point loses nothing and, because intake is idempotent by
// Message-ID, files nothing twice.
package imapwatch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/internal/mailauth"
)

// IngestFunc files one raw message: mail intake's parser in production, a
// stand-in in tests. It returns once the message is committed (or
// quarantined) in the database, and must be idempotent: the same message
// again is a duplicate.
type IngestFunc func(ctx context.Context, raw []byte, internalDate time.Time) (casefile.IngestResult, error)

// BatchFunc files several messages at once; its results and errors are in
// the order of raws (mailin.Intake.IngestBatch is one).
type BatchFunc func(ctx context.Context, raws [][]byte, internalDates []time.Time) ([]casefile.IngestResult, []error)

// ReadFunc reads several messages ahead of filing them and returns the
// function that files them; its results and errors are in the order of
// raws (mailin.Intake.ReadBatch is one).
type ReadFunc = func(raws [][]byte, internalDates []time.Time) func(ctx context.Context) ([]casefile.IngestResult, []error)

// Store is the part of the case file the watcher uses: its checkpoint and
// the quarantine.
type Store interface {
	IMAPCheckpoint(ctx context.Context, mailbox string) (uidValidity, lastUID uint32, err error)
	SetIMAPCheckpoint(ctx context.Context, mailbox string, uidValidity, lastUID uint32) error
	Quarantine(ctx context.Context, messageID string, raw []byte, cause error) (casefile.IngestResult, error)
}

// Watcher fetches mail from one IMAP mailbox into the case file. Run keeps
// it connected for the daemon; FetchOnce drains the mailbox once.
type Watcher struct {
	Config   casefile.IMAPConfig
	Password string
	Store    Store
	Ingest   IngestFunc
	// IngestBatch, if set, is used instead of Ingest: the messages of one
	// download unit are filed together.
	IngestBatch BatchFunc
	// ReadBatch, if set, is used instead of both: the messages of one
	// download unit are read (parsed) while the unit before is filed, and
	// filed together by the function it returns
	// (mailin.Intake.ReadBatch).
	ReadBatch ReadFunc
	Logger    *slog.Logger

	// TLSConfig replaces the default TLS settings (tests use it to trust
	// a self-signed certificate).
	TLSConfig *tls.Config
	// OAuth, when set, signs in with its tokens (XOAUTH2 or OAUTHBEARER)
	// instead of Password, and re-opens the connection with a fresh token
	// before the old one expires.
	OAuth *mailauth.Source
	// MaxAttempts is how many times in a row, RetryDelay apart, Ingest may
	// fail on one message before the watcher leaves it in the mailbox until
	// its next pass; default 3. Ingest quarantines what it cannot read or
	// file, so a failure here is the database's: the message is never
	// quarantined for it.
	MaxAttempts int
	// Workers is how many messages of a batch are ingested at once;
	// default 1, so that cases are numbered in the order mail arrived.
	// They are settled and moved in mailbox order all the same.
	Workers int
	// RetryDelay is the wait before a message whose ingest failed is tried
	// again; default 5s.
	RetryDelay time.Duration
	// ReconnectMin and ReconnectMax bound the backoff between connection
	// attempts in Run; default 1s and 5m.
	ReconnectMin, ReconnectMax time.Duration
	// IdleRefresh is how long one IDLE lasts before the watcher re-checks
	// the mailbox and idles again (servers drop idle clients after 30
	// minutes); default 25m.
	IdleRefresh time.Duration
	// BatchSize and BatchBytes bound one UID FETCH of message bodies;
	// default DefaultBatchSize messages and DefaultBatchBytes.
	BatchSize  int
	BatchBytes int64
	// IngestTimeout bounds one call of Ingest; default 2m.
	IngestTimeout time.Duration

	// OnOutcome, if set, is told the outcome of every message handled
	// (created, duplicate, quarantined …), for metrics.
	OnOutcome func(outcome string)
	// OnConnected, if set, is told when the watcher connects (true, with
	// the mailbox selected) and disconnects (false).
	OnConnected func(up bool)
	// OnError, if set, is told why Run's connection attempt failed or its
	// connection ended (never for a cancelled ctx), before it waits to
	// reconnect: serve's /readyz and the coordinators' notice tell a
	// refused sign-in (a *mailauth.Error, mailauth.IsRefused) from a
	// network failure with it.
	OnError func(err error)

	connected atomic.Bool

	mu       sync.Mutex
	attempts map[msgKey]int // failed ingests per message, kept across reconnects

	// test hooks (export_test.go)
	idleHook func()
	noIdle   bool
}

// The batch a watcher downloads, reads and files at once, unless
// BatchSize and BatchBytes say otherwise: `trigger ingest` batches mbox
// files the same way. A batch is one UID FETCH of bodies; the messages
// committed leave the mailbox in larger groups (see pass). The figures
// of README's performance table were measured with batches of 500.
const (
	DefaultBatchSize  = 500
	DefaultBatchBytes = 16 << 20
)

// msgKey names a message on the server for as long as UIDVALIDITY holds.
type msgKey struct{ uidValidity, uid uint32 }

// Stats counts what the watcher did.
type Stats struct {
	// Outcomes counts the messages handled by outcome: the ingest
	// outcomes (created, followup, duplicate, …), quarantined for those
	// quarantined by intake or by the watcher (oversize, failing).
	Outcomes map[string]int
	Failed   int   // ingest attempts that failed and will be retried
	Oversize int   // messages over MaxMessageSize (also counted quarantined)
	Moved    int   // messages moved out of the mailbox
	Bytes    int64 // message bytes downloaded
}

// Handled returns how many messages were handled, whatever the outcome.
func (s Stats) Handled() int {
	n := 0
	for _, v := range s.Outcomes {
		n += v
	}
	return n
}

// Connected reports whether the watcher is logged in with its mailbox
// selected (for /readyz).
func (w *Watcher) Connected() bool { return w.connected.Load() }

func (w *Watcher) init() error {
	if w.Store == nil || (w.Ingest == nil && w.IngestBatch == nil && w.ReadBatch == nil) {
		return errors.New("imapwatch: Store and Ingest must be set")
	}
	c := &w.Config
	if c.Address == "" {
		return errors.New("imapwatch: imap.address is empty")
	}
	switch c.TLS {
	case "", "implicit", "starttls", "none":
	default:
		return fmt.Errorf("imapwatch: imap.tls %q is not one of implicit, starttls, none", c.TLS)
	}
	def := casefile.DefaultConfig().IMAP
	if c.Mailbox == "" {
		c.Mailbox = def.Mailbox
	}
	if c.Processed == "" {
		c.Processed = def.Processed
	}
	if c.Quarantine == "" {
		c.Quarantine = def.Quarantine
	}
	if c.PollInterval.Duration <= 0 {
		c.PollInterval = def.PollInterval
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = def.MaxMessageSize
	}
	setDefault(&w.MaxAttempts, 3)
	setDefault(&w.Workers, 1)
	setDefault(&w.RetryDelay, 5*time.Second)
	setDefault(&w.ReconnectMin, time.Second)
	setDefault(&w.ReconnectMax, 5*time.Minute)
	setDefault(&w.IdleRefresh, 25*time.Minute)
	setDefault(&w.BatchSize, DefaultBatchSize)
	setDefault(&w.BatchBytes, DefaultBatchBytes)
	setDefault(&w.IngestTimeout, 2*time.Minute)
	if w.Logger == nil {
		w.Logger = slog.Default()
	}
	w.mu.Lock()
	if w.attempts == nil {
		w.attempts = map[msgKey]int{}
	}
	w.mu.Unlock()
	return nil
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Run watches the mailbox until ctx is cancelled: it connects, drains the
// mailbox, then waits for new mail with IDLE (or polls every
// PollInterval), and reconnects with backoff when the connection fails. It
// returns nil once ctx is cancelled, or an error only for a configuration
// it cannot work with.
func (w *Watcher) Run(ctx context.Context) error {
	if err := w.init(); err != nil {
		return err
	}
	log := w.log()
	failures := 0
	for {
		st := Stats{Outcomes: map[string]int{}}
		ready, err := w.session(ctx, true, &st)
		if ctx.Err() != nil {
			return nil
		}
		if ready {
			failures = 0
		}
		failures++
		if w.OnError != nil && err != nil {
			w.OnError(err)
		}
		wait := w.backoff(failures)
		log.Warn("imap: connection lost; reconnecting", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// backoff is the wait before reconnection attempt n (from 1).
func (w *Watcher) backoff(n int) time.Duration {
	return casefile.BackoffBetween(n, w.ReconnectMin, w.ReconnectMax)
}

// FetchOnce connects, handles every message in the mailbox (retrying a
// failing one up to MaxAttempts times, RetryDelay apart, before leaving it
// in the mailbox for next time), and disconnects. It is `trigger mail fetch --once`.
func (w *Watcher) FetchOnce(ctx context.Context) (Stats, error) {
	if err := w.init(); err != nil {
		return Stats{}, err
	}
	st := Stats{Outcomes: map[string]int{}}
	_, err := w.session(ctx, false, &st)
	return st, err
}

func (w *Watcher) log() *slog.Logger {
	return w.Logger.With("mailbox", w.Config.Mailbox)
}

func (w *Watcher) setConnected(up bool) {
	if w.connected.Swap(up) != up && w.OnConnected != nil {
		w.OnConnected(up)
	}
}

// record counts one handled message in the run's stats.
func (w *Watcher) record(st *Stats, outcome string) {
	st.Outcomes[outcome]++
	if w.OnOutcome != nil {
		w.OnOutcome(outcome)
	}
}

// count adds the other counters to the run's stats.
func (w *Watcher) count(st *Stats, d Stats) {
	st.Failed += d.Failed
	st.Oversize += d.Oversize
	st.Moved += d.Moved
	st.Bytes += d.Bytes
}

// attempt counts a failed ingest of a message and returns the count.
func (w *Watcher) attempt(k msgKey) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.attempts[k]++
	return w.attempts[k]
}

func (w *Watcher) forget(k msgKey) {
	w.mu.Lock()
	delete(w.attempts, k)
	w.mu.Unlock()
}
