package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/mailin"
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
	return g.withStore(m, func(s *sqlite.Store) error {
		in := &mailin.Intake{Store: s, Config: s.Config}
		out := newIngestPrinter(m.Stdout, *asJSON)
		failed := 0
		handle := func(raw []byte) error {
			res, err := in.IngestRaw(ctx, raw, time.Time{})
			if err != nil {
				// A database failure: this message was not filed. Say so
				// and go on with the others.
				failed++
				fmt.Fprintf(m.Stderr, "trigger: ingest: %v\n", err)
				return nil
			}
			out.print(res)
			return nil
		}
		files := fs.Args()
		if len(files) == 0 {
			if err := ingestStdin(ctx, m.Stdin, in, handle, out); err != nil {
				return err
			}
		}
		for _, name := range files {
			f, err := os.Open(name)
			if err != nil {
				return err
			}
			var progress *progressBar
			if st, err := f.Stat(); err == nil && isTerminal(m.Stderr) && !*asJSON {
				progress = &progressBar{w: m.Stderr, total: st.Size(), name: name}
			}
			err = ingestReader(f, name, handle, progress)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			progress.done()
		}
		out.flush()
		if failed > 0 {
			return fmt.Errorf("%d message(s) could not be stored; nothing else was lost — run the command again for them", failed)
		}
		return nil
	})
}

// ingestReader hands each message in r to fn: every message of an mbox
// (a .mbox file, or text starting with a "From " line), else r as one.
func ingestReader(r io.Reader, name string, fn func([]byte) error, p *progressBar) error {
	br := bufio.NewReaderSize(p.wrap(r), 64<<10)
	head, _ := br.Peek(5)
	if strings.HasSuffix(name, ".mbox") || bytes.Equal(head, []byte("From ")) {
		return mailin.SplitMbox(br, func(raw []byte) error {
			p.message()
			return fn(raw)
		})
	}
	var buf bytes.Buffer
	if p != nil && p.total > 0 {
		buf.Grow(int(p.total) + 1) // one allocation of the right size, not a doubling series
	} else if f, ok := r.(interface{ Stat() (os.FileInfo, error) }); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			buf.Grow(int(st.Size()) + 1)
		}
	}
	if _, err := buf.ReadFrom(br); err != nil {
		return err
	}
	return fn(buf.Bytes())
}

// ingestStdin files what a mail server pipes in: an mbox, or one message,
// read no further than the size limit and one byte. A message over the
// limit is quarantined with its header only, and the rest of it is never
// read: 300 MB on stdin costs what 25 MB does.
func ingestStdin(ctx context.Context, r io.Reader, in *mailin.Intake, handle func([]byte) error, out *ingestPrinter) error {
	oversize := func(read []byte) error {
		res, err := in.QuarantineOversize(ctx, read)
		if err != nil {
			return fmt.Errorf("quarantine: %w", err)
		}
		out.print(res)
		return nil
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if head, _ := br.Peek(5); bytes.Equal(head, []byte("From ")) {
		// An mbox (or one message with its envelope line, as postfix's
		// pipe(8) flag F writes it): each message kept up to the limit.
		return mailin.SplitMboxLimited(br, in.MaxSize(), func(raw []byte, over bool) error {
			if over {
				return oversize(raw)
			}
			return handle(raw)
		})
	}
	raw, over, err := mailin.ReadMessage(br, in.MaxSize())
	if err != nil {
		return err
	}
	if over {
		return oversize(raw)
	}
	return handle(raw)
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

// progressBar shows how far through a large mbox file ingestion is.
type progressBar struct {
	w     io.Writer
	name  string
	total int64
	read  int64
	n     int
	last  time.Time
}

func (p *progressBar) wrap(r io.Reader) io.Reader {
	if p == nil {
		return r
	}
	return readerFunc(func(b []byte) (int, error) {
		n, err := r.Read(b)
		p.read += int64(n)
		return n, err
	})
}

func (p *progressBar) message() {
	if p == nil {
		return
	}
	p.n++
	if time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	pct := 100.0
	if p.total > 0 {
		pct = float64(p.read) * 100 / float64(p.total)
	}
	width := 30
	fill := int(pct / 100 * float64(width))
	fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%% %s", p.name, strings.Repeat("#", fill), strings.Repeat(".", width-fill), pct, casefile.Count(p.n, "message", "messages"))
}

func (p *progressBar) done() {
	if p == nil {
		return
	}
	fmt.Fprintf(p.w, "\r%s: %s%s\n", p.name, casefile.Count(p.n, "message", "messages"), strings.Repeat(" ", 40))
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(b []byte) (int, error) { return f(b) }

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
