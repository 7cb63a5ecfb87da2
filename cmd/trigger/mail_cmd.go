package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/mailin"
	"github.com/csp/trigger/mailin/graphwatch"
	"github.com/csp/trigger/mailin/imapwatch"
)

func init() {
	register(command{name: "mail fetch", summary: "fetch mail from the mailbox (IMAP, or Graph with mail.source = \"graph\") [--once]; without --once, keep watching", run: runMailFetch})
}

func runMailFetch(ctx context.Context, m *Main, g *globals, args []string) error {
	fs := newFlagSet("mail fetch")
	once := fs.Bool("once", false, "drain the mailbox once and exit")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := g.config(m)
	if err != nil {
		return err
	}
	if cfg.ReadsGraph() {
		return fetchGraph(ctx, m, g, cfg, *once)
	}
	if cfg.IMAP.Address == "" {
		return usagef("mail fetch: imap.address is not set in the configuration (nor mail.source = \"graph\")")
	}
	token := cfg.IMAP.Auth == casefile.AuthOAuth2
	if !token && cfg.Secrets.IMAPPassword == "" {
		return fmt.Errorf("TRIGGER_IMAP_PASSWORD: not set (or TRIGGER_IMAP_PASSWORD_FILE), or imap.auth = \"oauth2\"")
	}
	logger := newLogger(m.Stderr, cfg.Log)
	return g.withStore(m, func(s *sqlite.Store) error {
		intake := &mailin.Intake{Store: s, Config: cfg}
		w := &imapwatch.Watcher{Config: cfg.IMAP, Store: s,
			Logger: logger, Ingest: intake.IngestRaw, ReadBatch: intake.ReadBatch}
		if token {
			src, err := newMailSource(cfg, s, m.oauthBaseURL, logger)
			if err != nil {
				return err
			}
			w.OAuth = src
		} else {
			w.Password = cfg.Secrets.IMAPPassword
		}
		if !*once {
			return w.Run(ctx)
		}
		start := time.Now()
		st, err := w.FetchOnce(ctx)
		if err != nil {
			return err
		}
		printFetched(m.Stdout, st.Handled(), st.Outcomes, time.Since(start), st.Bytes)
		return nil
	})
}

// fetchGraph is `mail fetch` through Microsoft Graph.
func fetchGraph(ctx context.Context, m *Main, g *globals, cfg *casefile.Config, once bool) error {
	logger := newLogger(m.Stderr, cfg.Log)
	src, err := newGraphSource(cfg, m.oauthBaseURL, logger)
	if err != nil {
		return err
	}
	return g.withStore(m, func(s *sqlite.Store) error {
		intake := &mailin.Intake{Store: s, Config: cfg}
		w := &graphwatch.Watcher{Client: newGraphClient(cfg, src, logger), Config: cfg.Graph, MaxMessageSize: intake.MaxSize(),
			Store: s, Ingest: intake.IngestFetched, Logger: logger}
		if !once {
			return w.Run(ctx)
		}
		start := time.Now()
		st, err := w.FetchOnce(ctx)
		if err != nil {
			return err
		}
		printFetched(m.Stdout, st.Handled(), st.Outcomes, time.Since(start), st.Bytes)
		return nil
	})
}

// printFetched is `mail fetch --once`'s line: how many messages, how long,
// how many bytes, and the count of each outcome.
func printFetched(w io.Writer, handled int, outcomes map[string]int, took time.Duration, bytes int64) {
	var names []string
	for o := range outcomes {
		names = append(names, o)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "%s in %s (%d bytes)", casefile.Count(handled, "message", "messages"), took.Round(time.Millisecond), bytes)
	for _, o := range names {
		fmt.Fprintf(w, ", %s %d", o, outcomes[o])
	}
	fmt.Fprintln(w)
}
