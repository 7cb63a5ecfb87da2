package main

import (
	"context"
	"fmt"
	"io"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

func init() {
	register(command{name: "retention run", summary: "remove the personal data of cases closed longer ago than [retention] years [--dry-run] [--json]", run: runRetention})
}

func runRetention(ctx context.Context, m *Main, g *globals, args []string) error {
	fs := newFlagSet("retention run")
	dry := fs.Bool("dry-run", false, "list what would be removed, change nothing")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("retention run: unexpected %q", fs.Arg(0))
	}
	return g.withStore(m, func(s *sqlite.Store) error {
		var (
			ps    []casefile.Purge
			loose casefile.LooseMail
			err   error
		)
		if *dry {
			ps, err = s.RetentionDue(ctx)
			if err == nil {
				loose, err = s.LooseMailDue(ctx)
			}
		} else {
			ps, err = s.PurgeExpired(ctx)
			if err == nil {
				loose, err = s.PurgeLooseMail(ctx)
			}
		}
		if *asJSON {
			if ps == nil {
				ps = []casefile.Purge{}
			}
			if werr := writeJSON(m.Stdout, map[string]any{"dry_run": *dry, "cases": ps, "mail_with_no_case": loose}); werr != nil {
				return werr
			}
			return err
		}
		printRetention(m.Stdout, s, ps, *dry)
		verb := "removed"
		if *dry {
			verb = "would be removed"
		}
		fmt.Fprintf(m.Stdout, "Mail with no case (automatic replies, bounces) received before then: %d %s; quarantined mail: %d %s.\n",
			loose.Messages, verb, loose.Quarantined, verb)
		return err
	})
}

func printRetention(w io.Writer, s *sqlite.Store, ps []casefile.Purge, dry bool) {
	fmt.Fprintf(w, "Retention: personal data is removed %s after a case is closed or withdrawn: here, cases closed before %s (Europe/London).\n",
		casefile.Count(s.Config.Retention.Years, "year", "years"), s.RetentionCutoff().Format("2 January 2006 15:04"))
	for _, p := range ps {
		fmt.Fprintf(w, "%s  %-9s  closed %s  messages %d  attachments %d  letters %d  agency replies %d  audit events %d\n",
			p.Ref, p.Status, p.ClosedAt.Format("2006-01-02"), p.Messages, p.Attachments, p.Letters, p.Replies, p.Events)
	}
	switch {
	case len(ps) == 0:
		fmt.Fprintln(w, "No case is due: nothing to remove.")
	case dry:
		fmt.Fprintf(w, "Dry run: %d %s would be purged; nothing was changed.\n", len(ps), reportPlural(len(ps), "case", "cases"))
	default:
		fmt.Fprintf(w, "%d %s purged: personal data removed, the anonymous figures kept.\n", len(ps), reportPlural(len(ps), "case", "cases"))
	}
}
