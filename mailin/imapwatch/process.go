package imapwatch

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"github.com/csp/trigger/casefile"
)

// passResult is what one look at the mailbox found.
type passResult struct {
	selected    bool
	uidValidity uint32
	maxUID      imap.UID // the highest UID found to work on
	retry       bool     // a message failed and waits to be tried again
}

// pass selects the mailbox, reconciles the checkpoint with UIDVALIDITY and
// handles every message above the checkpoint, in UID order, in batches.
//
// The checkpoint is the highest UID below which every message has been
// handled (ingested and moved): a message that fails holds it back, so it
// is found again, but never holds back the messages after it.
func (w *Watcher) pass(ctx context.Context, c *imapclient.Client, st *Stats) (passResult, error) {
	var p passResult
	mbox := w.Config.Mailbox
	sel, err := c.Select(mbox, nil).Wait()
	if err != nil {
		return p, fmt.Errorf("imap: select %s: %w", mbox, err)
	}
	p.selected, p.uidValidity = true, sel.UIDValidity
	if !w.connected.Load() {
		w.setConnected(true)
		w.log().Info("imap: connected", "uidvalidity", sel.UIDValidity, "messages", sel.NumMessages)
	}
	uv := sel.UIDValidity
	cpUV, last, err := w.Store.IMAPCheckpoint(ctx, mbox)
	if err != nil {
		return p, fmt.Errorf("imap: read the checkpoint of %s: %w", mbox, err)
	}
	if cpUV != uv {
		if cpUV != 0 {
			// The UIDs we knew mean nothing now: look at every message.
			// Those ingested before come back as duplicates and are
			// only moved.
			w.log().Warn("imap: UIDVALIDITY changed; rescanning the whole mailbox", "old", cpUV, "new", uv)
		}
		last = 0
		if err := w.Store.SetIMAPCheckpoint(ctx, mbox, uv, 0); err != nil {
			return p, fmt.Errorf("imap: write the checkpoint of %s: %w", mbox, err)
		}
	}
	// Every UID below UIDNext was in the mailbox before this pass: once the
	// pass has handled all of those still there, the checkpoint may pass
	// the ones handled and moved earlier too.
	allBelow := uint32(0)
	if sel.UIDNext > 0 {
		allBelow = uint32(sel.UIDNext) - 1
	}
	if sel.NumMessages == 0 || (sel.UIDNext > 0 && allBelow <= last) {
		return p, w.checkpoint(ctx, uv, last, allBelow)
	}
	// "UID n:*" always matches the last message, even below n: filter.
	data, err := c.UIDSearch(&imap.SearchCriteria{
		UID: []imap.UIDSet{{imap.UIDRange{Start: imap.UID(last + 1), Stop: 0}}},
	}, nil).Wait()
	if err != nil {
		return p, fmt.Errorf("imap: search %s: %w", mbox, err)
	}
	var uids []imap.UID
	for _, u := range data.AllUIDs() {
		if uint32(u) > last {
			uids = append(uids, u)
		}
	}
	slices.Sort(uids)
	if len(uids) > 0 {
		p.maxUID = uids[len(uids)-1]
	}
	// A pipeline of three: while one unit is filed (the database), the
	// next is read (parsed, on the other cores) and the one after that
	// downloaded (the network), so that all three work at once. Filing,
	// moving and the checkpoint stay strictly in order.
	downloaded, ready := make(chan unit), make(chan unit)
	stop := make(chan struct{})
	fetched, read := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(fetched)
		defer close(downloaded)
		w.download(c, uids, downloaded, stop)
	}()
	go func() {
		defer close(read)
		defer close(ready)
		w.readUnits(downloaded, ready, stop)
	}()
	defer func() {
		close(stop)
		<-fetched
		<-read
	}()

	done := make(map[imap.UID]bool, len(uids))
	next := 0 // uids[:next] are done: the checkpoint is uids[next-1]
	advance := func() error {
		for next < len(uids) && done[uids[next]] {
			next++
		}
		if next > 0 && ctx.Err() == nil {
			to := uint32(uids[next-1])
			if err := w.checkpoint(ctx, uv, last, to); err != nil {
				return err
			}
			last = max(last, to)
		}
		return nil
	}
	// Committed messages leave the mailbox in groups of a tenth of the
	// pass (at least a unit): Dovecot's work for a MOVE grows with the
	// mailbox, so a MOVE per unit made a large backlog cost more per
	// message the larger it was. A group's MOVE runs while the next units
	// are filed (at 100,000 messages the MOVEs took 10 s, all of it time
	// the writer stood still), one at a time: a message committed and not
	// yet moved when the pass stops is a duplicate the next time.
	var moves pendingMoves
	var moving chan movedGroup // the group being moved; nil when none is
	settle := func(wait bool) error {
		if moving == nil {
			return nil
		}
		var g movedGroup
		if wait {
			g = <-moving
		} else {
			select {
			case g = <-moving:
			default:
				return nil
			}
		}
		moving = nil
		return w.settleMoves(st, g, done)
	}
	defer settle(true) // a pass that stops early still waits for its MOVE
	move := func() {
		m := moves
		moves = pendingMoves{}
		moving = make(chan movedGroup, 1)
		go func(ch chan<- movedGroup) { ch <- w.moveGroup(c, m) }(moving)
	}
	group := max(w.BatchSize, len(uids)/10)
	for u := range ready {
		if u.err != nil {
			return p, u.err
		}
		if err := settle(false); err != nil {
			return p, err
		}
		retry, err := w.handle(ctx, uv, u, st, done, &moves)
		p.retry = p.retry || retry
		if err == nil && moves.len() >= group {
			if err = settle(true); err == nil {
				move()
			}
		}
		if aerr := advance(); aerr != nil {
			return p, aerr
		}
		if err != nil {
			return p, err
		}
	}
	if err := settle(true); err != nil {
		return p, err
	}
	if moves.len() > 0 {
		move()
		if err := settle(true); err != nil {
			return p, err
		}
	}
	if err := advance(); err != nil {
		return p, err
	}
	if next < len(uids) {
		return p, nil // a message failed: the checkpoint waits for it
	}
	return p, w.checkpoint(ctx, uv, last, allBelow)
}

// pendingMoves are committed messages waiting to leave the mailbox.
type pendingMoves struct{ processed, quarantine []imap.UID }

func (m *pendingMoves) len() int { return len(m.processed) + len(m.quarantine) }

// movedGroup is what the MOVE of a group did: the messages moved, and the
// error that stopped it. A message the server refused to move is in
// neither: it stays, and is moved next time.
type movedGroup struct {
	moved []imap.UID
	err   error
}

// moveGroup moves a group of committed messages: to Quarantine what was
// quarantined, the rest to Processed. It runs beside the filing and
// touches nothing of the pass (settleMoves does).
func (w *Watcher) moveGroup(c *imapclient.Client, m pendingMoves) movedGroup {
	var g movedGroup
	for _, mv := range []struct {
		uids []imap.UID
		dest string
	}{{m.processed, w.Config.Processed}, {m.quarantine, w.Config.Quarantine}} {
		if len(mv.uids) == 0 {
			continue
		}
		moved, err := w.move(c, mv.uids, mv.dest)
		if err != nil {
			g.err = err
			return g
		}
		if moved {
			g.moved = append(g.moved, mv.uids...)
		}
	}
	return g
}

// settleMoves records a group's MOVE in the pass: each message moved is
// done.
func (w *Watcher) settleMoves(st *Stats, g movedGroup, done map[imap.UID]bool) error {
	for _, uid := range g.moved {
		done[uid] = true
	}
	w.count(st, Stats{Moved: len(g.moved)})
	return g.err
}

// checkpoint records that every message up to UID to has been handled,
// when that is further than the last checkpoint.
func (w *Watcher) checkpoint(ctx context.Context, uv, last, to uint32) error {
	if to <= last {
		return nil
	}
	if err := w.Store.SetIMAPCheckpoint(ctx, w.Config.Mailbox, uv, to); err != nil {
		return fmt.Errorf("imap: write the checkpoint of %s: %w", w.Config.Mailbox, err)
	}
	return nil
}

// meta is what the watcher learns of a message before downloading it.
type meta struct {
	uid  imap.UID
	size int64
	date time.Time
}

// A unit is some downloaded messages, at most BatchSize of them and
// BatchBytes of message, handled and moved together.
type unit struct {
	items []item
	err   error // the download failed: the connection is gone
	// file files the unit's messages that ReadBatch read ahead (those
	// at idx in items); nil without ReadBatch.
	file func(ctx context.Context) ([]casefile.IngestResult, []error)
	idx  []int
}

// An item is one message of a unit.
type item struct {
	meta
	gone     bool // expunged meanwhile (another client moved it)
	oversize bool // over MaxMessageSize: only the header is here
	body
}

// download fetches the sizes of uids, BatchSize at a time, then the
// headers of those over MaxMessageSize and the whole of the others, and
// sends them in units until done or stopped.
func (w *Watcher) download(c *imapclient.Client, uids []imap.UID, out chan<- unit, stop <-chan struct{}) {
	send := func(u unit) bool {
		select {
		case out <- u:
			return u.err == nil
		case <-stop:
			return false
		}
	}
	for len(uids) > 0 {
		n := min(len(uids), w.BatchSize)
		chunk := uids[:n]
		uids = uids[n:]
		metas, err := w.fetchMeta(c, chunk)
		if err != nil {
			send(unit{err: err})
			return
		}
		var first unit // the gone and the oversize
		var big, small []meta
		for _, u := range chunk {
			m, ok := metas[u]
			switch {
			case !ok:
				first.items = append(first.items, item{meta: meta{uid: u}, gone: true})
			case m.size > w.Config.MaxMessageSize:
				big = append(big, m)
			default:
				small = append(small, m)
			}
		}
		if len(big) > 0 {
			headers, err := w.fetchBodies(c, big, true)
			if err != nil {
				send(unit{err: err})
				return
			}
			for _, m := range big {
				first.items = append(first.items, item{meta: m, oversize: true, body: headers[m.uid]})
			}
		}
		if len(first.items) > 0 && !send(first) {
			return
		}
		for len(small) > 0 {
			// As many messages as BatchBytes allows, at least one.
			k, bytes := 0, int64(0)
			for k < len(small) && (k == 0 || bytes+small[k].size <= w.BatchBytes) {
				bytes += small[k].size
				k++
			}
			group := small[:k]
			small = small[k:]
			bodies, err := w.fetchBodies(c, group, false)
			if err != nil {
				send(unit{err: err})
				return
			}
			var u unit
			for _, m := range group {
				b, ok := bodies[m.uid]
				switch {
				case !ok:
					u.items = append(u.items, item{meta: m, gone: true})
				case b.tooBig: // RFC822.SIZE understated it
					u.items = append(u.items, item{meta: meta{m.uid, b.size, m.date}, oversize: true, body: b})
				default:
					u.items = append(u.items, item{meta: m, body: b})
				}
			}
			if !send(u) {
				return
			}
		}
	}
}

// readUnits reads (ReadBatch) the messages of each downloaded unit ahead
// of filing them, and passes the units on in order until in ends or stop
// is closed.
func (w *Watcher) readUnits(in <-chan unit, out chan<- unit, stop <-chan struct{}) {
	for u := range in {
		if u.err == nil && w.ReadBatch != nil {
			w.readAhead(&u)
		}
		select {
		case out <- u:
		case <-stop:
			return
		}
	}
}

// readAhead reads the messages of a unit that are there to file, turning
// a panic into an error for each of them.
func (w *Watcher) readAhead(u *unit) {
	var raws [][]byte
	var dates []time.Time
	for i, it := range u.items {
		if !it.gone && !it.oversize {
			u.idx, raws, dates = append(u.idx, i), append(raws, it.raw), append(dates, it.date)
		}
	}
	if len(u.idx) == 0 {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			w.log().Error("imap: reading mail panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			n := len(u.idx)
			u.file = func(context.Context) ([]casefile.IngestResult, []error) {
				errs := make([]error, n)
				for i := range errs {
					errs[i] = &panicError{r}
				}
				return make([]casefile.IngestResult, n), errs
			}
		}
	}()
	u.file = w.ReadBatch(raws, dates)
}

// handle files the messages of a unit and, once all are committed, adds
// them to moves: for Quarantine what was quarantined, the rest for
// Processed. It marks in done the messages that need nothing more (gone
// from the mailbox), and reports retry when one failed and should be
// tried again.
func (w *Watcher) handle(ctx context.Context, uv uint32, u unit, st *Stats, done map[imap.UID]bool, moves *pendingMoves) (retry bool, err error) {
	log := w.log()
	settle := func(uid imap.UID, outcome string) {
		w.forget(msgKey{uv, uint32(uid)})
		w.record(st, outcome)
		if outcome == casefile.OutcomeQuarantined {
			moves.quarantine = append(moves.quarantine, uid)
		} else {
			moves.processed = append(moves.processed, uid)
		}
	}
	results := w.ingestUnit(ctx, u)
	for i, it := range u.items {
		switch {
		case it.gone:
			done[it.uid] = true
			continue
		case it.oversize:
			if err := w.quarantineOversize(ctx, it.meta, it.header, st); err != nil {
				return retry, err
			}
			settle(it.uid, casefile.OutcomeQuarantined)
			continue
		}
		w.count(st, Stats{Bytes: int64(len(it.raw))})
		res, ierr := results[i].res, results[i].err
		if ctx.Err() != nil {
			// Stopped (shutdown, or a crash in the tests): what was
			// committed is moved next time, as a duplicate.
			return retry, ctx.Err()
		}
		if ierr == nil {
			settle(it.uid, res.Outcome)
			continue
		}
		if pe := (*panicError)(nil); errors.As(ierr, &pe) {
			// Never tried again: it would panic again.
			if _, err := w.Store.Quarantine(ctx, headerMessageID(it.raw), it.raw, ierr); err != nil {
				return retry, fmt.Errorf("imap: quarantine uid %d: %w", it.uid, err)
			}
			settle(it.uid, casefile.OutcomeQuarantined)
			continue
		}
		k := msgKey{uv, uint32(it.uid)}
		w.count(st, Stats{Failed: 1})
		if n := w.attempt(k); n < w.MaxAttempts {
			log.Warn("imap: ingest failed; the message will be tried again", "uid", it.uid, "attempt", n, "err", ierr)
			retry = true
			continue
		}
		// The case file keeps failing (the database is down, full, or
		// locked): the message is not the problem — intake quarantines
		// what it cannot read or file — so it stays in the mailbox, and
		// the checkpoint waits for it, until a later pass files it.
		w.forget(k)
		log.Error("imap: the case file keeps failing to file a message; it stays in the mailbox and is tried again on the next pass",
			"uid", it.uid, "attempts", w.MaxAttempts, "err", ierr)
	}

	// Every message settled above is committed: only now may it leave the
	// mailbox (moveGroup).
	return retry, nil
}

// fetchMeta reads the UID, size and INTERNALDATE of messages.
func (w *Watcher) fetchMeta(c *imapclient.Client, uids []imap.UID) (map[imap.UID]meta, error) {
	msgs, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{
		UID: true, RFC822Size: true, InternalDate: true,
	}).Collect()
	if err != nil {
		return nil, fmt.Errorf("imap: fetch sizes: %w", err)
	}
	out := make(map[imap.UID]meta, len(msgs))
	for _, m := range msgs {
		if m.UID != 0 {
			out[m.UID] = meta{uid: m.UID, size: m.RFC822Size, date: m.InternalDate}
		}
	}
	return out, nil
}

// body is a downloaded message, or the header of one too big to download.
type body struct {
	raw    []byte
	header []byte
	size   int64
	tooBig bool
}

// fetchBodies downloads BODY.PEEK[] (or BODY.PEEK[HEADER]) of messages,
// reading each literal as it streams in and never more than
// MaxMessageSize of one.
func (w *Watcher) fetchBodies(c *imapclient.Client, ms []meta, headerOnly bool) (map[imap.UID]body, error) {
	uids := make([]imap.UID, len(ms))
	for i, m := range ms {
		uids[i] = m.uid
	}
	section := &imap.FetchItemBodySection{Peek: true}
	if headerOnly {
		section.Specifier = imap.PartSpecifierHeader
	}
	cmd := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{
		UID: true, BodySection: []*imap.FetchItemBodySection{section},
	})
	out := make(map[imap.UID]body, len(ms))
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		var (
			uid imap.UID
			b   body
			got bool
		)
		for {
			item := msg.Next()
			if item == nil {
				break
			}
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				uid = it.UID
			case imapclient.FetchItemDataBodySection:
				if it.Literal == nil {
					got = true // NIL: an empty message
					continue
				}
				var err error
				if b, err = w.readLiteral(it.Literal, headerOnly); err != nil {
					// The connection broke mid-literal. Draining the
					// command would read the literal's remains while the
					// client's reader already reads on: drop the
					// connection instead.
					c.Close()
					return nil, fmt.Errorf("imap: download uid %d: %w", uid, err)
				}
				got = true
			}
		}
		if uid != 0 && got {
			out[uid] = b
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, fmt.Errorf("imap: download: %w", err)
	}
	return out, nil
}

func (w *Watcher) readLiteral(lit imap.LiteralReader, headerOnly bool) (body, error) {
	size, max := lit.Size(), w.Config.MaxMessageSize
	var (
		buf  []byte
		want int64
		b    = body{size: size}
	)
	switch {
	case headerOnly:
		want = min(size, max)
	case size > max:
		// RFC822.SIZE understated it: keep just enough for the header.
		want, b.tooBig = min(max, 256<<10), true
	default:
		want = size
	}
	buf = make([]byte, want)
	// The literal ends with io.EOF even when the connection drops half way
	// through: only a full read is a message.
	if n, err := io.ReadFull(lit, buf); err != nil {
		return body{}, fmt.Errorf("message truncated at %d of %d bytes: %w", n, size, err)
	}
	switch {
	case headerOnly:
		b.header = buf
	case b.tooBig:
		b.header = headerOf(buf)
	default:
		b.raw = buf
	}
	return b, nil
}

// quarantineOversize keeps the header of a message over MaxMessageSize,
// with an error that names its size and the limit.
func (w *Watcher) quarantineOversize(ctx context.Context, m meta, header []byte, st *Stats) error {
	max := w.Config.MaxMessageSize
	cause := fmt.Errorf("message of %d bytes is over the limit of %d bytes (imap.max_message_size); only its header is kept", m.size, max)
	w.log().Warn("imap: message too big; quarantined", "uid", m.uid, "size", m.size, "limit", max)
	if _, err := w.Store.Quarantine(ctx, headerMessageID(header), header, cause); err != nil {
		return fmt.Errorf("imap: quarantine uid %d: %w", m.uid, err)
	}
	w.count(st, Stats{Oversize: 1})
	return nil
}

// ingest calls Ingest with a timeout, turning a panic into an error.
func (w *Watcher) ingest(ctx context.Context, raw []byte, date time.Time) (res casefile.IngestResult, err error) {
	ctx, cancel := context.WithTimeout(ctx, w.IngestTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			w.log().Error("imap: ingest panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = &panicError{r}
		}
	}()
	return w.Ingest(ctx, raw, date)
}

// panicError is an ingest that panicked: a message no code foresaw, the one
// kind of poison message that is quarantined by the watcher itself.
type panicError struct{ v any }

func (e *panicError) Error() string { return fmt.Sprintf("ingest panicked: %v", e.v) }

type outcome struct {
	res casefile.IngestResult
	err error
}

// ingestUnit files the messages of one download unit: what ReadBatch read
// ahead, or in one batch when the watcher has IngestBatch (one durable
// commit for several), else one by one, Workers at a time. The results are
// in the items' order; the caller settles and moves them in mailbox order.
func (w *Watcher) ingestUnit(ctx context.Context, u unit) []outcome {
	items := u.items
	results := make([]outcome, len(items))
	if u.file != nil {
		res, errs := w.fileUnit(ctx, u.file, len(u.idx))
		for j, i := range u.idx {
			results[i] = outcome{res[j], errs[j]}
		}
		return results
	}
	var idx []int
	for i, it := range items {
		if !it.gone && !it.oversize {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return results
	}
	if w.IngestBatch != nil {
		raws, dates := make([][]byte, len(idx)), make([]time.Time, len(idx))
		for j, i := range idx {
			raws[j], dates[j] = items[i].raw, items[i].date
		}
		res, errs := w.ingestBatch(ctx, raws, dates)
		for j, i := range idx {
			results[i] = outcome{res[j], errs[j]}
		}
		return results
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, w.Workers)
	for _, i := range idx {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			res, err := w.ingest(ctx, items[i].raw, items[i].date)
			results[i] = outcome{res, err}
		})
	}
	wg.Wait()
	return results
}

// ingestBatch calls IngestBatch within the ingest timeout, turning a panic
// into an error for every message.
func (w *Watcher) ingestBatch(ctx context.Context, raws [][]byte, dates []time.Time) (res []casefile.IngestResult, errs []error) {
	ctx, cancel := context.WithTimeout(ctx, w.IngestTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			w.log().Error("imap: ingest panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			res, errs = make([]casefile.IngestResult, len(raws)), make([]error, len(raws))
			for i := range errs {
				errs[i] = &panicError{r}
			}
		}
	}()
	res, errs = w.IngestBatch(ctx, raws, dates)
	if len(res) != len(raws) || len(errs) != len(raws) {
		panic(fmt.Sprintf("IngestBatch returned %d results and %d errors for %d messages", len(res), len(errs), len(raws)))
	}
	return res, errs
}

// fileUnit calls a unit's file within the ingest timeout, turning a panic
// (or results that do not match the messages) into an error for every
// message.
func (w *Watcher) fileUnit(ctx context.Context, file func(context.Context) ([]casefile.IngestResult, []error), n int) (res []casefile.IngestResult, errs []error) {
	ctx, cancel := context.WithTimeout(ctx, w.IngestTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			w.log().Error("imap: ingest panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			res, errs = make([]casefile.IngestResult, n), make([]error, n)
			for i := range errs {
				errs[i] = &panicError{r}
			}
		}
	}()
	res, errs = file(ctx)
	if len(res) != n || len(errs) != n {
		panic(fmt.Sprintf("ReadBatch's filing returned %d results and %d errors for %d messages", len(res), len(errs), n))
	}
	return res, errs
}

// move moves messages to dest: UID MOVE, or UID COPY + STORE \Deleted + UID
// EXPUNGE where the server has no MOVE (imapclient falls back by itself).
// It reports false, with no error, when the server refused (the messages
// stay and are handled again next time); an error means the connection
// failed.
func (w *Watcher) move(c *imapclient.Client, uids []imap.UID, dest string) (bool, error) {
	if len(uids) == 0 || dest == w.Config.Mailbox {
		return true, nil
	}
	set := imap.UIDSetNum(uids...)
	_, err := c.Move(set, dest).Wait()
	var ie *imap.Error
	if errors.As(err, &ie) && ie.Code == imap.ResponseCodeTryCreate {
		// Someone deleted the folder since we connected.
		if err := w.ensureFolders(c); err != nil {
			return false, err
		}
		_, err = c.Move(set, dest).Wait()
	}
	if errors.As(err, &ie) {
		w.log().Error("imap: the server refused to move messages; they stay and will be moved next time",
			"folder", dest, "uids", set.String(), "err", err)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("imap: move %s to %s: %w", set, dest, err)
	}
	return true, nil
}

// headerMessageID returns the Message-ID of a raw message (or header), ""
// when it has none or it cannot be read.
func headerMessageID(raw []byte) string {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return ""
	}
	mh := mail.Header{Header: message.Header{Header: h}}
	id, err := mh.MessageID()
	if err != nil {
		return ""
	}
	return id
}

// headerOf returns the header part of the start of a message.
func headerOf(b []byte) []byte {
	if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
		return b[:i+4]
	}
	if i := bytes.Index(b, []byte("\n\n")); i >= 0 {
		return b[:i+2]
	}
	return b
}
