package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

func init() {
	register(command{name: "mail check", summary: "try each step of reading the mailbox and sending mail, and say what to do about a failure [--json]", run: runMailCheck})
}

// runMailCheck is the command an administrator runs first, and monitoring
// after: one line per step (✓ or ✗, "skipped" where a step does not apply,
// which counts as passed), exit status 0 only when every step passed.
// --json prints one object, {"ok": …, "steps": [{"step", "ok", "detail"}]}.
func runMailCheck(ctx context.Context, m *Main, g *globals, args []string) error {
	fs := newFlagSet("mail check")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("mail check takes no arguments")
	}
	cfg, err := g.config(m)
	if err != nil {
		return err
	}
	if cfg.IMAP.Address == "" && cfg.SMTP.Address == "" && !cfg.UsesGraph() {
		return usagef("mail check: neither imap.address nor smtp.address is set in the configuration, nor mail.source or mail.sender = \"graph\": there is no mail server to check")
	}
	// The database holds the device code flow's sign-in; the other flows
	// need none, and a check does not create one.
	var store *sqlite.Store
	if needsTokenStore(cfg) {
		if store, err = g.openStore(m); err != nil {
			return err
		}
		defer store.Close()
	}
	logger := slog.New(slog.DiscardHandler) // what goes wrong is in the steps
	c := &mailChecker{cfg: cfg, tlsConfig: m.mailTLS, timeout: 30 * time.Second}
	if c.src, err = newMailSource(cfg, store, m.oauthBaseURL, logger); err != nil {
		return err
	}
	if c.graphSrc, err = newGraphSource(cfg, m.oauthBaseURL, logger); err != nil {
		return err
	}
	if c.graphSrc != nil {
		c.graph = newGraphClient(cfg, c.graphSrc, logger)
	}
	steps := c.run(ctx)
	failed := 0
	for _, st := range steps {
		if !st.OK {
			failed++
		}
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(struct {
			OK    bool        `json:"ok"`
			Steps []checkStep `json:"steps"`
		}{failed == 0, steps}); err != nil {
			return err
		}
	} else {
		for _, st := range steps {
			mark := "✓"
			if !st.OK {
				mark = "✗"
			}
			fmt.Fprintf(m.Stdout, "%s %s: %s\n", mark, st.Step, st.Detail)
		}
	}
	if failed > 0 {
		return fmt.Errorf("mail check: %d of %s failed", failed, casefile.Count(len(steps), "step", "steps"))
	}
	if !*asJSON {
		fmt.Fprintf(m.Stdout, "mail check: all %d steps passed\n", len(steps))
	}
	return nil
}
