package mailin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/csp/trigger/casefile"
)

// Store is the part of the case file mail intake uses.
type Store interface {
	Now() time.Time
	Ingest(ctx context.Context, in casefile.Inbound) (casefile.IngestResult, error)
	IngestBatch(ctx context.Context, ins []casefile.Inbound) (results []casefile.IngestResult, errs []error, err error)
	Quarantine(ctx context.Context, messageID string, raw []byte, cause error) (casefile.IngestResult, error)
	QuarantineFetched(ctx context.Context, item casefile.MailItem, messageID string, raw []byte, cause error) (casefile.IngestResult, error)
	QuarantineItem(ctx context.Context, id int64) (*casefile.QuarantineRecord, error)
	ResolveQuarantine(ctx context.Context, id int64) error
}

// Intake files raw messages in the case file: each is parsed and ingested,
// or quarantined with its error when it cannot be read.
type Intake struct {
	Store  Store
	Config *casefile.Config // nil means the defaults
	Limits Limits           // zero fields take the defaults (MaxSize: imap.max_message_size)
}

func (in *Intake) options(received time.Time) Options {
	cfg := in.Config
	if cfg == nil {
		def := casefile.DefaultConfig()
		cfg = &def
	}
	lim := in.Limits
	if lim.MaxSize == 0 && cfg != nil && cfg.IMAP.MaxMessageSize > 0 {
		lim.MaxSize = cfg.IMAP.MaxMessageSize
	}
	return Options{Config: cfg, Limits: lim, ReceivedAt: received, Now: in.Store.Now(), TrustedAuthServID: cfg.IMAP.TrustedAuthServID}
}

// IngestRaw parses one message and files it. internalDate is the IMAP
// INTERNALDATE (zero when not known: the Date header counts then, unless it
// is in the future). A message that cannot be read or is over a limit is
// quarantined with its raw bytes, and the result says so with a nil error:
// the error is for database failures only, which the caller retries.
func (in *Intake) IngestRaw(ctx context.Context, raw []byte, internalDate time.Time) (casefile.IngestResult, error) {
	m, err := parseSafely(raw, in.options(internalDate))
	if err != nil {
		return in.quarantine(ctx, sniffMessageID(raw), raw, err)
	}
	res, err := in.Store.Ingest(ctx, m)
	if refused(err) {
		return in.quarantine(ctx, m.MessageID, raw, err)
	}
	if err != nil {
		return res, fmt.Errorf("ingest %s: %w", casefile.MessageKey(m.MessageID, raw), err)
	}
	return res, nil
}

// refused reports whether the case file refused a message as it is (a coded
// error: invalid, a conflict): trying again cannot help, so it goes to the
// quarantine at once. Anything else (the database busy or full, a disk
// error) is for the caller to retry: a good application is never
// quarantined because the database hiccuped.
func refused(err error) bool {
	code := casefile.ErrorCode(err)
	return code != "" && code != casefile.EINTERNAL
}

func (in *Intake) quarantine(ctx context.Context, messageID string, raw []byte, cause error) (casefile.IngestResult, error) {
	return in.quarantineItem(ctx, nil, messageID, raw, cause)
}

// quarantineItem quarantines a message, recorded with the item it was
// downloaded from when there is one.
func (in *Intake) quarantineItem(ctx context.Context, item *casefile.MailItem, messageID string, raw []byte, cause error) (casefile.IngestResult, error) {
	var res casefile.IngestResult
	var err error
	if item != nil {
		res, err = in.Store.QuarantineFetched(ctx, *item, messageID, raw, cause)
	} else {
		res, err = in.Store.Quarantine(ctx, messageID, raw, cause)
	}
	if err != nil {
		return res, fmt.Errorf("quarantine: %w", err)
	}
	return res, nil
}

// parseSafely is Parse, with a panic on some input nobody foresaw turned
// into an error: that message is quarantined, and the service goes on
// reading the others instead of crashing on it at every start.
func parseSafely(raw []byte, opt Options) (m casefile.Inbound, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the message could not be read (parser panic: %v)", r)
		}
	}()
	return Parse(raw, opt)
}

// IngestBatch files several messages as IngestRaw would: ReadBatch, then
// filing what it read at once. Results and errors are in the order given.
func (in *Intake) IngestBatch(ctx context.Context, raws [][]byte, internalDates []time.Time) ([]casefile.IngestResult, []error) {
	return in.ReadBatch(raws, internalDates)(ctx)
}

// Fetched is a message downloaded from a mail store with ids of its own
// (Microsoft Graph), with the item it came from. Item.ReceivedAt counts as
// the IMAP INTERNALDATE does.
type Fetched struct {
	Raw  []byte
	Item casefile.MailItem
}

// IngestFetched files downloaded messages as IngestBatch does, each
// recorded with its item in the transaction that files or quarantines it:
// an item filed before is a duplicate, whatever the bytes of this download
// (see casefile.MailItem).
func (in *Intake) IngestFetched(ctx context.Context, msgs []Fetched) ([]casefile.IngestResult, []error) {
	raws, dates, items := make([][]byte, len(msgs)), make([]time.Time, len(msgs)), make([]*casefile.MailItem, len(msgs))
	for i := range msgs {
		raws[i], dates[i], items[i] = msgs[i].Raw, msgs[i].Item.ReceivedAt, &msgs[i].Item
	}
	return in.readBatch(raws, dates, items)(ctx)
}

// ReadBatch parses several messages on every core but one and returns the
// function that files them: those that parse in transactions of batchTx
// messages each, one savepoint per message (see the store's IngestBatch), the others
// quarantined, results and errors in the order given. A message the case
// file refuses is quarantined too; errs are for database failures, which
// the caller retries.
//
// Reading and filing are apart so that a caller can read the next batch
// while the last is filed: parsing takes every core but one, filing one
// (SQLite has one writer). The IMAP watcher and `trigger ingest` do.
func (in *Intake) ReadBatch(raws [][]byte, internalDates []time.Time) func(ctx context.Context) ([]casefile.IngestResult, []error) {
	return in.readBatch(raws, internalDates, nil)
}

// readBatch is ReadBatch, with the items the messages came from when items
// is not nil.
func (in *Intake) readBatch(raws [][]byte, internalDates []time.Time, items []*casefile.MailItem) func(ctx context.Context) ([]casefile.IngestResult, []error) {
	item := func(i int) *casefile.MailItem {
		if items == nil {
			return nil
		}
		return items[i]
	}
	parsed, perrs := make([]casefile.Inbound, len(raws)), make([]error, len(raws))
	var wg sync.WaitGroup
	// Every core but one: the other is the writer's, filing the batch
	// before this one, and the slowest stage of intake.
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)-1))
	for i, raw := range raws {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			parsed[i], perrs[i] = parseSafely(raw, in.options(internalDates[i]))
			parsed[i].Item = item(i)
		})
	}
	wg.Wait()
	return func(ctx context.Context) ([]casefile.IngestResult, []error) {
		return in.fileBatch(ctx, raws, parsed, perrs, item)
	}
}

// fileBatch files what readBatch read.
func (in *Intake) fileBatch(ctx context.Context, raws [][]byte, parsed []casefile.Inbound, perrs []error, item func(int) *casefile.MailItem) ([]casefile.IngestResult, []error) {
	results, errs := make([]casefile.IngestResult, len(raws)), make([]error, len(raws))
	var batch []casefile.Inbound
	var at []int
	for i, raw := range raws {
		if perrs[i] != nil {
			results[i], errs[i] = in.quarantineItem(ctx, item(i), sniffMessageID(raw), raw, perrs[i])
			continue
		}
		batch, at = append(batch, parsed[i]), append(at, i)
	}
	if len(batch) == 0 {
		return results, errs
	}
	// Transactions of up to batchTx messages: one flush to disk for many,
	// yet holding the database from the other writers (an email just sent
	// waits for its record, and a crash meanwhile would send it again) for
	// a fifth of a second at most (0.3-0.4 ms a message).
	for lo := 0; lo < len(batch); lo += batchTx {
		hi := min(lo+batchTx, len(batch))
		res, berrs, err := in.Store.IngestBatch(ctx, batch[lo:hi])
		for j, i := range at[lo:hi] {
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("ingest: %w", err)
			case refused(berrs[j]):
				results[i], errs[i] = in.quarantineItem(ctx, item(i), batch[j+lo].MessageID, raws[i], berrs[j])
			default:
				results[i], errs[i] = res[j], berrs[j]
			}
		}
	}
	return results, errs
}

// batchTx is how many messages one transaction of IngestBatch files: the
// IMAP watcher's unit (imapwatch.DefaultBatchSize) and `trigger ingest`'s.
// Filing a 30,000-message mailbox took 0.33 ms a message in transactions
// of 500, 0.39 ms in transactions of 100 (TestFilingGrowthBenchmark): each
// commit writes the pages of every index a message touched, and more
// messages share them.
const batchTx = 500

// Retry reads a quarantined message again (after a fix, or with other
// limits). When it now parses it is ingested and the quarantine entry
// resolved; when it still fails it stays quarantined with one more attempt
// counted.
func (in *Intake) Retry(ctx context.Context, id int64) (casefile.IngestResult, error) {
	rec, err := in.Store.QuarantineItem(ctx, id)
	if err != nil {
		return casefile.IngestResult{}, err
	}
	m, perr := parseSafely(rec.Raw, in.options(rec.CreatedAt))
	if perr != nil {
		res, err := in.Store.Quarantine(ctx, rec.MessageKey, rec.Raw, perr)
		if err != nil {
			return res, fmt.Errorf("quarantine %d: %w", id, err)
		}
		return res, nil
	}
	res, err := in.Store.Ingest(ctx, m)
	if refused(err) {
		return in.quarantine(ctx, rec.MessageKey, rec.Raw, err)
	}
	if err != nil {
		return res, fmt.Errorf("retry quarantined %d: %w", id, err)
	}
	if err := in.Store.ResolveQuarantine(ctx, id); err != nil {
		return res, fmt.Errorf("resolve quarantined %d: %w", id, err)
	}
	return res, nil
}

// MaxSize is the size limit of one message, in bytes:
// imap.max_message_size, or the Limits given.
func (in *Intake) MaxSize() int64 {
	return in.options(time.Time{}).Limits.withDefaults().MaxSize
}

// ReadMessage reads one message from r, keeping at most max+1 bytes: over
// reports a message over the limit, and r is not read beyond that byte
// (postfix's pipe(8) takes a command that exits 0 without reading all of
// its input as having delivered the message). raw is what was read.
func ReadMessage(r io.Reader, max int64) (raw []byte, over bool, err error) {
	raw, err = io.ReadAll(io.LimitReader(r, max+1))
	return raw, int64(len(raw)) > max, err
}

// QuarantineOversize keeps the header of a message over the size limit
// (read is its first bytes, at least the limit and one more), with an error
// that names the limit: the rest of the message is not kept.
func (in *Intake) QuarantineOversize(ctx context.Context, read []byte) (casefile.IngestResult, error) {
	max := in.MaxSize()
	header := headerBlock(read, int64(in.options(time.Time{}).Limits.withDefaults().MaxHeaderBytes))
	cause := fmt.Errorf("message of more than %d bytes is over the limit (imap.max_message_size); only its header is kept", max)
	return in.quarantine(ctx, sniffMessageID(header), header, cause)
}

// headerBlock is the header of a raw message with the blank line after it,
// at most max bytes.
func headerBlock(b []byte, max int64) []byte {
	if int64(len(b)) > max {
		b = b[:max]
	}
	i, j := bytes.Index(b, []byte("\r\n\r\n")), bytes.Index(b, []byte("\n\n"))
	switch {
	case i >= 0 && (j < 0 || i < j):
		return bytes.Clone(b[:i+4])
	case j >= 0:
		return bytes.Clone(b[:j+2])
	}
	return bytes.Clone(b)
}

// MessageIDOf is the Message-ID of a raw message or header, without its
// angle brackets, found even where the header cannot be parsed; "" when it
// has none. A quarantined message is kept under it.
func MessageIDOf(raw []byte) string { return sniffMessageID(raw) }

// sniffMessageID finds the Message-ID in a header that could not be parsed,
// so that a message quarantined twice is known as the same one.
func sniffMessageID(raw []byte) string {
	head := raw
	if len(head) > 256<<10 {
		head = head[:256<<10]
	}
	if i := bytes.Index(head, []byte("\n\n")); i >= 0 {
		head = head[:i]
	}
	if i := bytes.Index(head, []byte("\r\n\r\n")); i >= 0 {
		head = head[:i]
	}
	lines := strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n")
	for i, l := range lines {
		k, v, ok := strings.Cut(l, ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "Message-ID") {
			continue
		}
		for j := i + 1; j < len(lines) && (strings.HasPrefix(lines[j], " ") || strings.HasPrefix(lines[j], "\t")); j++ {
			v += lines[j]
		}
		v = strings.TrimSpace(v)
		if m := msgIDRE.FindStringSubmatch(v); m != nil {
			return casefile.CleanHeaderText(toUTF8String(m[1]))
		}
		if f := strings.Fields(v); len(f) > 0 {
			return casefile.CleanHeaderText(toUTF8String(strings.Trim(f[0], "<>")))
		}
	}
	return ""
}
