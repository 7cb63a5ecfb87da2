package main

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

func init() {
	register(command{name: "outbox list", summary: "outbox jobs not done: pending and ended [--dead] [--case REF] [--json]", run: runOutboxList})
	register(command{name: "outbox retry", summary: "try ended outbox jobs again now: ID… | --all-dead [--by NAME]", run: runOutboxRetry})
}

func runOutboxList(ctx context.Context, m *Main, g *globals, args []string) error {
	fs := newFlagSet("outbox list")
	dead := fs.Bool("dead", false, "only the jobs that ended without being done")
	ref := fs.String("case", "", "only the jobs of this case")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("outbox list: unexpected %q", fs.Arg(0))
	}
	f := casefile.JobFilter{Case: strings.ToUpper(*ref)}
	if *dead {
		f.State = casefile.JobStateDead
	}
	return g.withStore(m, func(s *sqlite.Store) error {
		jobs, err := s.ListJobs(ctx, f)
		if err != nil {
			return domainError(err)
		}
		if *asJSON {
			if jobs == nil {
				jobs = []casefile.JobInfo{}
			}
			return writeJSON(m.Stdout, jobs)
		}
		if len(jobs) == 0 {
			if *dead {
				fmt.Fprintln(m.Stdout, "no ended jobs")
			} else {
				fmt.Fprintln(m.Stdout, "the outbox is empty: every job is done")
			}
			return nil
		}
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCASE\tKIND\tSTATE\tATTEMPTS\tFIRST ERROR\tNEXT RUN\tLAST ERROR")
		for _, j := range jobs {
			state := j.State
			if j.State == casefile.JobStateDead && j.EndReason != "" {
				state += " (" + j.EndReason + ")"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", j.ID, orDash(j.CaseRef), j.Kind, state, j.Attempts,
				shortTime(j.FirstErrorAt), shortTime(j.NextRun), orDash(oneLine(j.LastError, 100)))
		}
		return tw.Flush()
	})
}

func runOutboxRetry(ctx context.Context, m *Main, g *globals, args []string) error {
	fs := newFlagSet("outbox retry")
	allDead := fs.Bool("all-dead", false, "every job that ended")
	by := fs.String("by", osUserName(m), "who asks, for the audit trail (default: the OS user)")
	// Job ids may stand before or after the flags.
	var ids []int64
	var flags []string
	for _, a := range args {
		if id, err := strconv.ParseInt(a, 10, 64); err == nil && id > 0 {
			ids = append(ids, id)
			continue
		}
		flags = append(flags, a)
	}
	if err := parseFlags(fs, flags); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef("outbox retry: %q is not a job ID (see 'trigger outbox list')", fs.Arg(0))
	case *allDead && len(ids) > 0:
		return usagef("outbox retry: give job IDs or --all-dead, not both")
	case !*allDead && len(ids) == 0:
		return usagef("outbox retry: give the IDs from 'trigger outbox list', or --all-dead")
	case strings.TrimSpace(*by) == "":
		return usagef("outbox retry: --by NAME is required: the audit trail records who")
	}
	return g.withStore(m, func(s *sqlite.Store) error {
		jobs, err := s.RetryJobs(ctx, casefile.Admin(*by), ids, *allDead)
		if err != nil {
			return domainError(err)
		}
		if len(jobs) == 0 {
			fmt.Fprintln(m.Stdout, "no ended jobs: nothing to retry")
			return nil
		}
		for _, j := range jobs {
			fmt.Fprintf(m.Stdout, "job %d (%s, %s): pending, to run now\n", j.ID, orDash(j.CaseRef), j.Kind)
		}
		fmt.Fprintln(m.Stdout, "'trigger serve' does them as soon as it sees them (within a second while it runs).")
		return nil
	})
}

// osUserName is the name of the user running the command, for --by.
func osUserName(m *Main) string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if v := m.Getenv("USER"); v != "" {
		return v
	}
	return os.Getenv("USER")
}

func shortTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.In(casefile.London).Format("2006-01-02 15:04:05")
}

// oneLine is s on one line, at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
