package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/mailin"
	"github.com/csp/trigger/mailin/imapwatch"
)

func init() {
	register(command{name: "mail fetch", summary: "fetch mail from the IMAP mailbox [--once]; without --once, keep watching (IDLE)", run: runMailFetch})
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
	if cfg.IMAP.Address == "" {
		return usagef("mail fetch: imap.address is not set in the configuration")
	}
	token := cfg.IMAP.Auth == casefile.AuthOAuth2
	if !token && cfg.Secrets.IMAPPassword == "" {
		return fmt.Errorf("TRIGGER_IMAP_PASSWORD: not set (or TRIGGER_IMAP_PASSWORD_FILE), or imap.auth = \"oauth2\"")
	}
	logger := newLogger(m.Stderr, cfg.Log)
	return g.withStore(m, func(s *sqlite.Store) error {
		intake := &mailin.Intake{Store: s, Config: cfg}
		w := &imapwatch.Watcher{Config: cfg.IMAP, Store: s,
			Logger: logger, Ingest: intake.IngestRaw, IngestBatch: intake.IngestBatch}
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
		var outcomes []string
		for o := range st.Outcomes {
			outcomes = append(outcomes, o)
		}
		sort.Strings(outcomes)
		fmt.Fprintf(m.Stdout, "%s in %s (%d bytes)", casefile.Count(st.Handled(), "message", "messages"), time.Since(start).Round(time.Millisecond), st.Bytes)
		for _, o := range outcomes {
			fmt.Fprintf(m.Stdout, ", %s %d", o, st.Outcomes[o])
		}
		fmt.Fprintln(m.Stdout)
		return nil
	})
}
