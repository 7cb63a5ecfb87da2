package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/mailin"
	"github.com/csp/trigger/mailin/imapwatch"
)

func init() {
	register(command{name: "ingest", summary: "ingest RFC 5322 messages from files (.mbox: many) or one from stdin [--json]", run: runIngest})
	register(command{name: "quarantine list", summary: "list mail that could not be read [--all] [--json]", run: runQuarantineList})
	register(command{name: "quarantine retry", summary: "read a quarantined message again: ID", run: runQuarantineRetry})
}

func runIngest(ctx context.Context, m *Main, g *globals, args []string) error {
	fs := newFlagSet("ingest")
	asJSON := fs.Bool("json", false, "one JSON line per message")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// Filing an mbox keeps both cores busy, and at Go's default (GOGC=100)
	// the garbage collector took a sixth of them: the live heap is a few
	// batches, so it may grow to five times that before a collection, up
	// to a soft limit (unless GOGC or GOMEMLIMIT say otherwise).
	if m.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	if m.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(512 << 20))
	}
	return g.withStore(m, func(s *sqlite.Store) error {
		in := &mailin.Intake{Store: s, Config: s.Config}
		out := newIngestPrinter(m.Stdout, *asJSON)
		files := fs.Args()
		var progress *progressBar
		if len(files) > 0 && isTerminal(m.Stderr) && !*asJSON {
			progress = newProgressBar(m.Stderr, filesSize(files))
		}
		failed, err := ingestAll(ctx, m.Stdin, files, in, out, progress, m.Stderr)
		out.flush()
		progress.finish()
		if err != nil {
			return err
		}
		if failed > 0 {
			return fmt.Errorf("%d message(s) could not be stored; nothing else was lost — run the command again for them", failed)
		}
		return nil
	})
}

// ingestAll files the messages of files (or of stdin when there are none)
// as the IMAP watcher files a mailbox: in batches of up to
// ingestBatchSize messages, each read (parsed, on every core but the
// writer's) while the batch before is filed, and filed in one transaction
// with a savepoint per message (mailin.Intake.ReadBatch). Every committed
// message is a duplicate the next time, so a run stopped anywhere and
// started again files each message once. failed counts the messages the
// database failed to store; err is for input that could not be read.
func ingestAll(ctx context.Context, stdin io.Reader, files []string, in *mailin.Intake, out *ingestPrinter, progress *progressBar, stderr io.Writer) (failed int, err error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel() // the reading goroutines stop, and are waited for
		wg.Wait()
	}()
	batches, ready := make(chan ingestBatch), make(chan ingestBatch)
	var readErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(batches)
		readErr = splitBatches(ctx, stdin, files, in.MaxSize(), batches)
	}()
	go func() {
		defer wg.Done()
		defer close(ready)
		for b := range batches {
			if len(b.raws) > 0 {
				b.file = in.ReadBatch(b.raws, make([]time.Time, len(b.raws)))
			}
			select {
			case ready <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	for b := range ready {
		if b.oversize != nil {
			res, err := in.QuarantineOversize(ctx, b.oversize)
			if err != nil {
				return failed, fmt.Errorf("quarantine: %w", err)
			}
			out.print(res)
			continue
		}
		if b.file == nil { // the end of a file, with no message
			progress.add(0, b.bytes)
			continue
		}
		res, errs := b.file(ctx)
		for i := range res {
			if errs[i] != nil {
				// A database failure: this message was not filed. Say so
				// and go on with the others.
				failed++
				fmt.Fprintf(stderr, "trigger: ingest: %v\n", errs[i])
				continue
			}
			out.print(res[i])
		}
		progress.add(len(res), b.bytes)
		if ctx.Err() != nil {
			return failed, ctx.Err()
		}
	}
	return failed, readErr
}

// ingestBatchSize is how many messages of the input are read ahead and
// filed together: a transaction's worth, each message under a savepoint,
// as the IMAP watcher files a unit of its download.
const ingestBatchSize = 500

// An ingestBatch is some messages read from the input, filed together: raws
// (file files them once read), or one message over the size limit of which
// only the start was read (oversize).
type ingestBatch struct {
	raws     [][]byte
	file     func(ctx context.Context) ([]casefile.IngestResult, []error)
	oversize []byte
	bytes    int64 // of the input, for the progress bar
}

// splitBatches reads the messages of files (or stdin) into batches of at
// most ingestBatchSize messages and imapwatch.DefaultBatchBytes bytes (at
// least one message), in order.
func splitBatches(ctx context.Context, stdin io.Reader, files []string, max int64, out chan<- ingestBatch) error {
	var b ingestBatch
	var size int64
	send := func(x ingestBatch) error {
		select {
		case out <- x:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	flush := func() error {
		if len(b.raws) == 0 && b.bytes == 0 {
			return nil
		}
		err := send(b)
		b, size = ingestBatch{}, 0
		return err
	}
	add := func(raw []byte) error {
		if len(b.raws) > 0 && (len(b.raws) == ingestBatchSize || size+int64(len(raw)) > imapwatch.DefaultBatchBytes) {
			if err := flush(); err != nil {
				return err
			}
		}
		b.raws, size = append(b.raws, raw), size+int64(len(raw))
		return nil
	}
	if len(files) == 0 {
		err := readStdin(stdin, max, add, func(read []byte) error {
			if err := flush(); err != nil {
				return err
			}
			return send(ingestBatch{oversize: read})
		})
		if err != nil {
			return err
		}
		return flush()
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			flush()
			return err
		}
		counted := &countingReader{r: f}
		err = readFile(counted, f, name, func(raw []byte) error {
			b.bytes += counted.take()
			return add(raw)
		})
		f.Close()
		b.bytes += counted.take()
		if err != nil {
			flush()
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return flush()
}

// readFile hands each message of a file to fn: every message of an mbox (a
// .mbox file, or text starting with a "From " line), else the file as one.
func readFile(r io.Reader, f *os.File, name string, fn func([]byte) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(5)
	if strings.HasSuffix(name, ".mbox") || bytes.Equal(head, []byte("From ")) {
		return mailin.SplitMbox(br, fn)
	}
	var buf bytes.Buffer
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		buf.Grow(int(st.Size()) + 1) // one allocation of the right size, not a doubling series
	}
	if _, err := buf.ReadFrom(br); err != nil {
		return err
	}
	return fn(buf.Bytes())
}

// readStdin reads what a mail server pipes in: an mbox, or one message,
// read no further than the size limit and one byte. A message over the
// limit goes to oversize with its start only, and the rest of it is never
// read: 300 MB on stdin costs what 25 MB does.
func readStdin(r io.Reader, max int64, fn func([]byte) error, oversize func([]byte) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	if head, _ := br.Peek(5); bytes.Equal(head, []byte("From ")) {
		// An mbox (or one message with its envelope line, as postfix's
		// pipe(8) flag F writes it): each message kept up to the limit.
		return mailin.SplitMboxLimited(br, max, func(raw []byte, over bool) error {
			if over {
				return oversize(raw)
			}
			return fn(raw)
		})
	}
	raw, over, err := mailin.ReadMessage(br, max)
	if err != nil {
		return err
	}
	if over {
		return oversize(raw)
	}
	return fn(raw)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r    io.Reader
	n    int64
	took int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// take returns the bytes read since the last take.
func (c *countingReader) take() int64 {
	d := c.n - c.took
	c.took = c.n
	return d
}

// filesSize is the size of the files together, for the progress bar.
func filesSize(files []string) int64 {
	var n int64
	for _, name := range files {
		if st, err := os.Stat(name); err == nil && st.Mode().IsRegular() {
			n += st.Size()
		}
	}
	return n
}

type ingestPrinter struct {
	json   bool
	enc    *json.Encoder
	tw     *tabwriter.Writer
	counts map[string]int
}

func newIngestPrinter(w io.Writer, asJSON bool) *ingestPrinter {
	p := &ingestPrinter{json: asJSON, counts: map[string]int{}}
	if asJSON {
		p.enc = json.NewEncoder(w)
	} else {
		p.tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	}
	return p
}

func (p *ingestPrinter) print(r casefile.IngestResult) {
	p.counts[r.Outcome]++
	if p.json {
		p.enc.Encode(r)
		return
	}
	ref := "-"
	if r.Case != nil {
		ref = *r.Case
	}
	reason := r.Reason
	if !r.Verified && r.Outcome != casefile.OutcomeQuarantined {
		reason = "unverified (" + r.UnverifiedReason + "): " + reason
	}
	fmt.Fprintf(p.tw, "%s\t%s\t%s\t%s\n", r.Outcome, ref, r.MessageID, reason)
}

func (p *ingestPrinter) flush() {
	if p.json {
		return
	}
	p.tw.Flush()
}

// progressBar shows how far `trigger ingest` is through its files: the
// share of their bytes filed, the messages filed, the rate and the time
// left at that rate. It redraws at most ten times a second.
type progressBar struct {
	w           io.Writer
	total, done int64 // bytes
	n           int   // messages
	start, last time.Time
}

func newProgressBar(w io.Writer, total int64) *progressBar {
	return &progressBar{w: w, total: total, start: time.Now()}
}

// add counts n more messages filed, which took bytes of the input.
func (p *progressBar) add(n int, bytes int64) {
	if p == nil {
		return
	}
	p.n, p.done = p.n+n, p.done+bytes
	if time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r%s", p.line(time.Since(p.start)))
}

// line is the bar after elapsed.
func (p *progressBar) line(elapsed time.Duration) string {
	frac := 1.0
	if p.total > 0 {
		frac = min(float64(p.done)/float64(p.total), 1)
	}
	const width = 30
	fill := int(frac * width)
	rate, eta := "", ""
	if secs := elapsed.Seconds(); secs > 0 && p.n > 0 {
		rate = fmt.Sprintf("  %.0f/s", float64(p.n)/secs)
		if frac > 0 && frac < 1 {
			left := time.Duration(float64(elapsed) * (1 - frac) / frac)
			eta = "  ETA " + clock(left)
		}
	}
	return fmt.Sprintf("[%s%s] %3.0f%%  %s%s%s ", strings.Repeat("#", fill), strings.Repeat(".", width-fill), frac*100,
		casefile.Count(p.n, "message", "messages"), rate, eta)
}

// finish ends the bar with what was done.
func (p *progressBar) finish() {
	if p == nil {
		return
	}
	took := time.Since(p.start)
	rate := ""
	if took > 0 {
		rate = fmt.Sprintf(" (%.0f/s)", float64(p.n)/took.Seconds())
	}
	fmt.Fprintf(p.w, "\r%s filed in %s%s%s\n", casefile.Count(p.n, "message", "messages"), clock(took), rate, strings.Repeat(" ", 40))
}

// clock is a duration as m:ss (h:mm:ss from an hour).
func clock(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func runQuarantineList(ctx context.Context, m *Main, g *globals, args []string) error {
	fs := newFlagSet("quarantine list")
	all := fs.Bool("all", false, "include messages already dealt with")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return g.withStore(m, func(s *sqlite.Store) error {
		recs, err := s.QuarantineList(ctx, *all)
		if err != nil {
			return err
		}
		if *asJSON {
			if recs == nil {
				recs = []casefile.QuarantineRecord{}
			}
			return writeJSON(m.Stdout, recs)
		}
		if len(recs) == 0 {
			fmt.Fprintln(m.Stdout, "nothing in quarantine")
			return nil
		}
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tRECEIVED\tATTEMPTS\tSIZE\tSTATE\tMESSAGE\tERROR")
		for _, r := range recs {
			state := "waiting"
			if r.ResolvedAt != nil {
				state = "resolved"
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\t%s\t%s\n", r.ID, r.CreatedAt.Format("2006-01-02 15:04"), r.Attempts, r.Size, state, r.MessageKey, r.Error)
		}
		return tw.Flush()
	})
}

func runQuarantineRetry(ctx context.Context, m *Main, g *globals, args []string) error {
	fs := newFlagSet("quarantine retry")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("quarantine retry: give the ID from 'trigger quarantine list'")
	}
	var id int64
	if _, err := fmt.Sscan(fs.Arg(0), &id); err != nil {
		return usagef("quarantine retry: %q is not a quarantine ID", fs.Arg(0))
	}
	return g.withStore(m, func(s *sqlite.Store) error {
		res, err := (&mailin.Intake{Store: s, Config: s.Config}).Retry(ctx, id)
		if err != nil {
			return domainError(err)
		}
		ref := "-"
		if res.Case != nil {
			ref = *res.Case
		}
		fmt.Fprintf(m.Stdout, "%s %s %s\n", res.Outcome, ref, res.Reason)
		return nil
	})
}
