package graphwatch

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/internal/graph"
	"github.com/csp/trigger/mailin"
)

// parallel is how many downloads and moves run at once: Graph's limit per
// app and mailbox, which the client keeps to in any case.
const parallel = 4

// round runs one delta round over the Inbox: it files and moves every
// message in it that is new since the checkpoint, in the order received,
// and moves the checkpoint on once all of them are done. retry reports a
// message whose ingest failed and should be tried again soon.
func (w *Watcher) round(ctx context.Context, st *Stats) (retry bool, err error) {
	f, err := w.findFolders(ctx)
	if err != nil {
		return false, err
	}
	mb := w.Config.Mailbox
	link, err := w.Store.GraphDeltaLink(ctx, mb, f.inbox)
	if err != nil {
		return false, wrapf(err, "read the checkpoint of %s", mb)
	}
	changes, next, err := w.Client.Delta(ctx, mb, f.inbox, link)
	if errors.Is(err, graph.ErrResync) {
		// What was filed before is known by its item and only moved.
		w.log().Warn("graph: the delta state is gone; reading the whole Inbox again", "err", err)
		st.Resyncs++
		changes, next, err = w.Client.Delta(ctx, mb, f.inbox, "")
	}
	if err != nil {
		return false, err
	}
	todo := pending(changes)
	complete := true
	for len(todo) > 0 {
		n := min(len(todo), w.BatchSize)
		done, again, err := w.handle(ctx, f, todo[:n], st)
		if err != nil {
			return retry, err
		}
		complete, retry = complete && done, retry || again
		todo = todo[n:]
	}
	if complete && next != link {
		// Every message of the round is filed and moved: the next round
		// starts from here. Otherwise it starts from the old checkpoint
		// and finds the ones left again.
		if err := w.Store.SetGraphDeltaLink(ctx, mb, f.inbox, next); err != nil {
			return retry, wrapf(err, "write the checkpoint of %s", mb)
		}
	}
	return retry, nil
}

// pending is the messages a round found in the Inbox, each once (Graph may
// give one twice), oldest first: cases are numbered in the order mail
// arrived.
func pending(changes []graph.Change) []graph.Change {
	seen := map[string]bool{}
	var out []graph.Change
	for _, ch := range changes {
		if ch.Removed || seen[ch.ID] {
			continue
		}
		seen[ch.ID] = true
		out = append(out, ch)
	}
	slices.SortStableFunc(out, func(a, b graph.Change) int { return a.ReceivedAt.Compare(b.ReceivedAt) })
	return out
}

// item is one message of a batch, and what became of it.
type item struct {
	graph.Change
	mail    casefile.MailItem
	raw     []byte
	gone    bool   // no longer in the mailbox (moved or deleted meanwhile)
	outcome string // set once filed (or known to be): it may be moved
}

// handle files a batch of messages and moves those filed. done reports that
// every one of them is filed and out of the Inbox (or gone); retry that one
// failed to be filed and should be tried again soon. An error means Graph
// or the database failed: the round ends.
func (w *Watcher) handle(ctx context.Context, f folders, batch []graph.Change, st *Stats) (done, retry bool, err error) {
	items := make([]*item, len(batch))
	for i, ch := range batch {
		items[i] = &item{Change: ch, mail: casefile.MailItem{Source: w.source(), ID: ch.ID,
			InternetMessageID: ch.InternetMessageID, ReceivedAt: ch.ReceivedAt}}
	}
	// Filed before (a round repeated after a crash, a resync): only moved.
	var fetch []*item
	for _, it := range items {
		outcome, ok, err := w.Store.FiledItem(ctx, it.mail)
		if err != nil {
			return false, false, wrapf(err, "look up message %s", it.ID)
		}
		if ok {
			it.outcome = outcome
			w.record(st, casefile.OutcomeDuplicate)
			continue
		}
		fetch = append(fetch, it)
	}
	if err := w.download(ctx, fetch, st); err != nil {
		return false, false, err
	}
	var file []*item
	for _, it := range fetch {
		if it.raw != nil {
			file = append(file, it)
		}
	}
	retry, err = w.file(ctx, file, st)
	if err != nil {
		return false, retry, err
	}
	// Only what is committed leaves the Inbox.
	done, err = w.moveAll(ctx, f, items, st)
	return done, retry, err
}

// download fetches the MIME of items, parallel at a time. A message over
// MaxMessageSize is quarantined with its header; one gone meanwhile is
// marked so.
func (w *Watcher) download(ctx context.Context, items []*item, st *Stats) error {
	errs := make([]error, len(items))
	var mu sync.Mutex
	each(items, func(i int, it *item) {
		raw, err := w.Client.Raw(ctx, w.Config.Mailbox, it.ID, w.MaxMessageSize)
		switch {
		case err == nil:
			it.raw = raw
			mu.Lock()
			st.Bytes += int64(len(raw))
			mu.Unlock()
		case graph.IsNotFound(err):
			it.gone = true
		case errors.Is(err, graph.ErrTooLarge):
			errs[i] = w.quarantineOversize(ctx, it, &mu, st)
		default:
			errs[i] = err
		}
	})
	return errors.Join(errs...)
}

// each runs fn on every item, parallel at a time, and waits.
func each(items []*item, fn func(i int, it *item)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for i, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i, it)
		})
	}
	wg.Wait()
}

// quarantineOversize keeps the header of a message over MaxMessageSize,
// with its item, and an error that names the limit.
func (w *Watcher) quarantineOversize(ctx context.Context, it *item, mu *sync.Mutex, st *Stats) error {
	header, err := w.Client.Headers(ctx, w.Config.Mailbox, it.ID)
	if graph.IsNotFound(err) {
		it.gone = true
		return nil
	}
	if err != nil {
		return err
	}
	limit := w.MaxMessageSize
	cause := fmt.Errorf("message of more than %d bytes is over the limit (imap.max_message_size); only its header is kept", limit)
	w.log().Warn("graph: message too big; quarantined", "id", it.ID, "limit", limit)
	res, err := w.Store.QuarantineFetched(ctx, it.mail, mailin.MessageIDOf(header), header, cause)
	if err != nil {
		return wrapf(err, "quarantine message %s", it.ID)
	}
	mu.Lock()
	defer mu.Unlock()
	it.outcome = res.Outcome
	st.Oversize++
	st.Filed++
	w.record(st, res.Outcome)
	return nil
}

// file ingests the downloaded messages in one batch and marks those
// filed. A message whose ingest failed is counted, and tried again
// (retry) until MaxAttempts, then left for the next poll.
func (w *Watcher) file(ctx context.Context, items []*item, st *Stats) (retry bool, err error) {
	if len(items) == 0 {
		return false, nil
	}
	msgs := make([]mailin.Fetched, len(items))
	for i, it := range items {
		msgs[i] = mailin.Fetched{Raw: it.raw, Item: it.mail}
	}
	results, errs := w.ingest(ctx, msgs)
	if len(msgs) > 1 && panicked(errs) {
		// One message made the batch panic: each alone, so that only that
		// one is quarantined. Those the batch committed before the panic
		// come back as duplicates of their item.
		for i := range msgs {
			r, e := w.ingest(ctx, msgs[i:i+1])
			results[i], errs[i] = r[0], e[0]
		}
	}
	if ctx.Err() != nil {
		// Stopped (shutdown, or a crash in the tests): what was committed
		// is moved next time, as a duplicate.
		return false, ctx.Err()
	}
	log := w.log()
	for i, it := range items {
		ierr := errs[i]
		if pe := (*panicError)(nil); errors.As(ierr, &pe) {
			// Never tried again: it would panic again.
			res, err := w.Store.QuarantineFetched(ctx, it.mail, mailin.MessageIDOf(it.raw), it.raw, ierr)
			if err != nil {
				return retry, wrapf(err, "quarantine message %s", it.ID)
			}
			results[i], ierr = res, nil
		}
		if ierr == nil {
			w.forget(it.ID)
			it.outcome = results[i].Outcome
			st.Filed++
			w.record(st, it.outcome)
			continue
		}
		st.Failed++
		if n := w.attempt(it.ID); n < w.MaxAttempts {
			log.Warn("graph: ingest failed; the message will be tried again", "id", it.ID, "attempt", n, "err", ierr)
			retry = true
			continue
		}
		// The case file keeps failing (the database is down, full or
		// locked): the message is not the problem, so it stays in the
		// Inbox, holding the checkpoint back, until a later round files
		// it.
		w.forget(it.ID)
		log.Error("graph: the case file keeps failing to file a message; it stays in the Inbox and is tried again at the next poll",
			"id", it.ID, "attempts", w.MaxAttempts, "err", ierr)
	}
	return retry, nil
}

// ingest calls Ingest within IngestTimeout, turning a panic into an error
// for every message.
func (w *Watcher) ingest(ctx context.Context, msgs []mailin.Fetched) (res []casefile.IngestResult, errs []error) {
	ctx, cancel := context.WithTimeout(ctx, w.IngestTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			w.log().Error("graph: ingest panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			res, errs = make([]casefile.IngestResult, len(msgs)), make([]error, len(msgs))
			for i := range errs {
				errs[i] = &panicError{r}
			}
		}
	}()
	res, errs = w.Ingest(ctx, msgs)
	if len(res) != len(msgs) || len(errs) != len(msgs) {
		panic(fmt.Sprintf("Ingest returned %d results and %d errors for %d messages", len(res), len(errs), len(msgs)))
	}
	return res, errs
}

func panicked(errs []error) bool {
	for _, err := range errs {
		if pe := (*panicError)(nil); errors.As(err, &pe) {
			return true
		}
	}
	return false
}

// panicError is an ingest that panicked: a message no code foresaw, the one
// kind of poison message the watcher quarantines itself.
type panicError struct{ v any }

func (e *panicError) Error() string { return fmt.Sprintf("ingest panicked: %v", e.v) }

// moveAll moves the items filed: to Quarantine those quarantined, the rest
// to Processed. It reports whether every item of the batch is out of the
// Inbox (moved, or gone).
func (w *Watcher) moveAll(ctx context.Context, f folders, items []*item, st *Stats) (bool, error) {
	var move []*item
	allDone := true
	for _, it := range items {
		switch {
		case it.gone:
		case it.outcome == "":
			allDone = false // not filed: it stays
		default:
			move = append(move, it)
		}
	}
	moved := make([]bool, len(move))
	errs := make([]error, len(move))
	each(move, func(i int, it *item) {
		moved[i], errs[i] = w.move(ctx, f, it)
	})
	if err := errors.Join(errs...); err != nil {
		return false, err
	}
	for _, ok := range moved {
		if ok {
			st.Moved++
		} else {
			allDone = false
		}
	}
	return allDone, nil
}

// move moves one filed message to its folder. It reports false, with no
// error, when Graph refused for good (the message stays and is moved next
// round); an error means Graph or the network failed.
func (w *Watcher) move(ctx context.Context, f folders, it *item) (bool, error) {
	mb := w.Config.Mailbox
	dest, name := f.processed, w.Config.Processed
	if it.outcome == casefile.OutcomeQuarantined {
		dest, name = f.quarantine, w.Config.Quarantine
	}
	_, err := w.Client.Move(ctx, mb, it.ID, dest)
	if graph.IsNotFound(err) {
		// The message was moved by an earlier attempt, or deleted; or the
		// folder was deleted since it was found: find it (or make it)
		// again, and try once more if it is a new one.
		again, ferr := w.Client.EnsureFolder(ctx, mb, name)
		if ferr != nil {
			return false, ferr
		}
		if again == dest {
			return true, nil // the message is gone from the Inbox
		}
		w.forgetFolders()
		_, err = w.Client.Move(ctx, mb, it.ID, again)
		if graph.IsNotFound(err) {
			return true, nil
		}
	}
	if err != nil && graph.IsPermanent(err) {
		w.log().Error("graph: Graph refused to move a filed message; it stays in the Inbox and is moved next time", "id", it.ID, "folder", name, "err", err)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}
