// Package graphwatch reads the service's mailbox through Microsoft Graph, for
// tenants where IMAP is switched off, and hands every message to mail
// intake. It is imapwatch's counterpart, with the same guarantees:
//
//   - The Inbox is read with delta queries. The checkpoint (the equivalent
//     of UIDVALIDITY and the last UID) is the deltaLink of the last round
//     whose messages were all filed and moved, kept in the database: the
//     next round asks Graph only for what changed since. When Graph has
//     dropped that state (410 Gone), the whole Inbox is read again.
//   - Each message is downloaded whole ($value) and filed by intake
//     together with its Graph item (casefile.MailItem), in one transaction:
//     the same item seen again — a round repeated after a crash, a full
//     resync — is a duplicate and is only moved, even though a second
//     download need not give the same bytes. An item already filed is not
//     downloaded again.
//   - A message leaves the Inbox (to Processed, or Quarantine) only after
//     the commit; a crash at any point loses nothing and files nothing
//     twice. A message over the size limit is quarantined with its header
//     (internetMessageHeaders); one intake cannot read is quarantined by
//     intake; one the database keeps failing to file stays in the Inbox
//     and holds the checkpoint back until it is filed.
//   - Graph's throttling (429 with Retry-After, 4 requests at once per
//     mailbox) is the client's (internal/graph); a round that fails all
//     the same is tried again with backoff.
package graphwatch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/internal/graph"
	"github.com/csp/trigger/mailin"
)

// IngestFunc files downloaded messages, each with its Graph item, and
// returns once they are committed or quarantined (mailin's
// Intake.IngestFetched). Results and errors are in the order given; an
// error is a database failure, to be tried again.
type IngestFunc func(ctx context.Context, msgs []mailin.Fetched) ([]casefile.IngestResult, []error)

// Store is the part of the case file the watcher uses: its checkpoint, the
// items filed before, and the quarantine.
type Store interface {
	GraphDeltaLink(ctx context.Context, mailbox, folderID string) (string, error)
	SetGraphDeltaLink(ctx context.Context, mailbox, folderID, link string) error
	FiledItem(ctx context.Context, item casefile.MailItem) (outcome string, ok bool, err error)
	QuarantineFetched(ctx context.Context, item casefile.MailItem, messageID string, raw []byte, cause error) (casefile.IngestResult, error)
}

// Watcher reads the Inbox of one mailbox through Graph into the case file.
// Run keeps reading for the daemon; FetchOnce drains the Inbox once.
type Watcher struct {
	Client *graph.Client
	// Config names the mailbox, the folders mail is moved to and the poll
	// interval (defaults: Processed, Quarantine, 30s).
	Config casefile.GraphConfig
	// MaxMessageSize is the largest message downloaded whole (default
	// imap.max_message_size's, 25 MiB); a larger one is quarantined with
	// its header.
	MaxMessageSize int64
	Store          Store
	Ingest         IngestFunc
	Logger         *slog.Logger

	// MaxAttempts is how many rounds in a row Ingest may fail on a message
	// before the watcher stops retrying it RetryDelay apart and leaves it
	// for the next poll; default 3. Intake quarantines what it cannot read,
	// so a failure here is the database's: the message is never
	// quarantined for it.
	MaxAttempts int
	// RetryDelay is the wait before a round that left a message to retry;
	// default 5s.
	RetryDelay time.Duration
	// ReconnectMin and ReconnectMax bound the backoff after a round that
	// failed (Graph or the network); default 1s and 5m.
	ReconnectMin, ReconnectMax time.Duration
	// BatchSize is how many messages are downloaded, filed (in one
	// transaction) and moved together; default 16.
	BatchSize int
	// IngestTimeout bounds one call of Ingest; default 2m.
	IngestTimeout time.Duration

	// OnOutcome, if set, is told the outcome of every message handled
	// (created, duplicate, quarantined …), for metrics.
	OnOutcome func(outcome string)
	// OnConnected, if set, is told when rounds start to succeed (true) and
	// when one fails after they did (false).
	OnConnected func(up bool)
	// OnError, if set, is told why a round failed (never for a cancelled
	// ctx), before Run waits to try again: serve's /readyz and the
	// coordinators' notice.
	OnError func(err error)

	connected atomic.Bool

	mu       sync.Mutex
	attempts map[string]int // failed ingests per Graph id, kept across rounds
	folders  *folders       // found once, again when one is gone
}

// folders are the ids of the folders the watcher uses.
type folders struct{ inbox, processed, quarantine string }

// Stats counts what the watcher did.
type Stats struct {
	// Outcomes counts the messages handled by outcome: intake's (created,
	// followup, duplicate …; an item filed before is a duplicate), and
	// quarantined for those quarantined by intake or by the watcher
	// (oversize).
	Outcomes map[string]int
	Filed    int   // messages downloaded and filed (or quarantined for their size) by this run
	Failed   int   // ingest attempts that failed and will be retried
	Oversize int   // messages over MaxMessageSize (also counted quarantined)
	Moved    int   // messages moved out of the Inbox
	Bytes    int64 // message bytes downloaded
	Resyncs  int   // rounds that read the whole Inbox again (410 Gone)
}

// Handled returns how many messages were handled, whatever the outcome.
func (s Stats) Handled() int {
	n := 0
	for _, v := range s.Outcomes {
		n += v
	}
	return n
}

// Connected reports whether the last round succeeded (for /readyz).
func (w *Watcher) Connected() bool { return w.connected.Load() }

func (w *Watcher) init() error {
	if w.Client == nil || w.Store == nil || w.Ingest == nil {
		return errors.New("graphwatch: Client, Store and Ingest must be set")
	}
	c := &w.Config
	if c.Mailbox == "" {
		return errors.New("graphwatch: graph.mailbox is empty")
	}
	def := casefile.DefaultConfig().Graph
	c.Processed = cmp.Or(c.Processed, def.Processed)
	c.Quarantine = cmp.Or(c.Quarantine, def.Quarantine)
	if c.PollInterval.Duration <= 0 {
		c.PollInterval = def.PollInterval
	}
	setDefault(&w.MaxMessageSize, casefile.DefaultConfig().IMAP.MaxMessageSize)
	setDefault(&w.MaxAttempts, 3)
	setDefault(&w.RetryDelay, 5*time.Second)
	setDefault(&w.ReconnectMin, time.Second)
	setDefault(&w.ReconnectMax, 5*time.Minute)
	setDefault(&w.BatchSize, 16)
	setDefault(&w.IngestTimeout, 2*time.Minute)
	if w.Logger == nil {
		w.Logger = slog.Default()
	}
	w.mu.Lock()
	if w.attempts == nil {
		w.attempts = map[string]int{}
	}
	w.mu.Unlock()
	return nil
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Run reads the Inbox until ctx is cancelled: a round, then the next after
// the poll interval (or RetryDelay, when a message waits to be tried
// again); a round that fails is tried again with backoff. It returns nil
// once ctx is cancelled, or an error for a configuration it cannot work
// with.
func (w *Watcher) Run(ctx context.Context) error {
	if err := w.init(); err != nil {
		return err
	}
	log := w.log()
	failures := 0
	for {
		st := newStats()
		retry, err := w.round(ctx, &st)
		if ctx.Err() != nil {
			return nil
		}
		wait := w.Config.PollInterval.Duration
		switch {
		case err != nil:
			failures++
			w.setConnected(false)
			if w.OnError != nil {
				w.OnError(err)
			}
			wait = w.backoff(failures)
			log.Warn("graph: reading the mailbox failed; trying again", "err", err, "retry_in", wait)
		case retry:
			failures = 0
			w.setConnected(true)
			wait = w.RetryDelay
		default:
			failures = 0
			w.setConnected(true)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// backoff is the wait before attempt n (from 1) after failed rounds.
func (w *Watcher) backoff(n int) time.Duration {
	return casefile.BackoffBetween(n, w.ReconnectMin, w.ReconnectMax)
}

// FetchOnce reads the Inbox until a round finds nothing new: a message
// that fails is tried up to MaxAttempts times, RetryDelay apart, before it
// is left in the Inbox for next time. It is `trigger mail fetch --once`.
func (w *Watcher) FetchOnce(ctx context.Context) (Stats, error) {
	if err := w.init(); err != nil {
		return Stats{}, err
	}
	st := newStats()
	for {
		before := st.Filed
		retry, err := w.round(ctx, &st)
		if err != nil {
			return st, err
		}
		switch {
		case st.Filed > before:
			// More may have come meanwhile: look again.
		case !retry:
			return st, nil
		default:
			t := time.NewTimer(w.RetryDelay)
			select {
			case <-ctx.Done():
				t.Stop()
				return st, ctx.Err()
			case <-t.C:
			}
		}
	}
}

func newStats() Stats { return Stats{Outcomes: map[string]int{}} }

func (w *Watcher) log() *slog.Logger { return w.Logger.With("mailbox", w.Config.Mailbox) }

func (w *Watcher) setConnected(up bool) {
	if w.connected.Swap(up) != up && w.OnConnected != nil {
		w.OnConnected(up)
	}
}

// record counts one handled message.
func (w *Watcher) record(st *Stats, outcome string) {
	st.Outcomes[outcome]++
	if w.OnOutcome != nil {
		w.OnOutcome(outcome)
	}
}

// attempt counts a failed ingest of a message and returns the count.
func (w *Watcher) attempt(id string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.attempts[id]++
	return w.attempts[id]
}

func (w *Watcher) forget(id string) {
	w.mu.Lock()
	delete(w.attempts, id)
	w.mu.Unlock()
}

// findFolders finds the Inbox and finds or creates Processed and
// Quarantine, once; again after forgetFolders.
func (w *Watcher) findFolders(ctx context.Context) (folders, error) {
	w.mu.Lock()
	f := w.folders
	w.mu.Unlock()
	if f != nil {
		return *f, nil
	}
	mb := w.Config.Mailbox
	inbox, err := w.Client.FolderID(ctx, mb, "inbox")
	if err != nil {
		return folders{}, err
	}
	processed, err := w.Client.EnsureFolder(ctx, mb, w.Config.Processed)
	if err != nil {
		return folders{}, err
	}
	quarantine, err := w.Client.EnsureFolder(ctx, mb, w.Config.Quarantine)
	if err != nil {
		return folders{}, err
	}
	found := folders{inbox: inbox, processed: processed, quarantine: quarantine}
	w.mu.Lock()
	w.folders = &found
	w.mu.Unlock()
	return found, nil
}

// forgetFolders makes the next findFolders look again (a folder was
// deleted).
func (w *Watcher) forgetFolders() {
	w.mu.Lock()
	w.folders = nil
	w.mu.Unlock()
}

// source is the casefile.MailItem source of the watcher's mailbox.
func (w *Watcher) source() string { return "graph:" + w.Config.Mailbox }

// wrapf names the watcher in an error.
func wrapf(err error, format string, args ...any) error {
	return fmt.Errorf("graph: "+format+": %w", append(args, err)...)
}
