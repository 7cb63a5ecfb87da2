package main

import (
	"context"
	"fmt"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

func init() {
	register(command{name: "case export", summary: "write everything held about case REF into --out DIR (subject access, appeal bundle)", run: runCaseExport})
}

func runCaseExport(ctx context.Context, m *Main, g *globals, args []string) error {
	fs := newFlagSet("case export")
	out := fs.String("out", "", "a new or empty directory to write into (required)")
	by := fs.String("by", "command line", "who is exporting, for the audit trail")
	ref, err := parseRefArgs(fs, "case export", args)
	if err != nil {
		return err
	}
	if *out == "" {
		return usagef("case export: --out DIR is required")
	}
	return g.withStore(m, func(s *sqlite.Store) error {
		idx, err := s.Export(ctx, casefile.Admin(*by), ref, *out)
		if err != nil {
			return domainError(err)
		}
		fmt.Fprintf(m.Stdout, "%s exported to %s: %s; index.json lists each with its sha256\n", ref, *out, casefile.Count(len(idx.Files), "file", "files"))
		if idx.Purged {
			fmt.Fprintln(m.Stdout, "The personal data of this case was purged under the retention policy: the bundle holds what was kept.")
		}
		return nil
	})
}
