package main

import (
	"context"

	"github.com/csp/trigger/bot"
)

func init() {
	register(command{
		name:    "slack manifest",
		summary: "print the Slack app manifest (scopes, interactivity, events, Socket Mode)",
		run:     runSlackManifest,
	})
}

// runSlackManifest prints the app manifest to paste into Slack's "Create
// an app → From a manifest". In HTTP mode Slack calls --url at
// /slack/events and /slack/interactivity.
func runSlackManifest(_ context.Context, m *Main, _ *globals, args []string) error {
	fs := newFlagSet("slack manifest")
	name := fs.String("name", "Community Trigger", "the app's name in Slack (at most 35 characters)")
	url := fs.String("url", "", "public https base URL of 'trigger serve', for HTTP mode (--socket=false)")
	socket := fs.Bool("socket", true, "Socket Mode: no public URL needed; --socket=false for HTTP mode with --url")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("slack manifest: unexpected argument %q", fs.Arg(0))
	}
	if !*socket && *url == "" {
		return usagef("slack manifest: HTTP mode (--socket=false) needs --url, the public base URL Slack calls")
	}
	b, err := bot.Manifest(*name, *url, *socket)
	if err != nil {
		return usagef("slack %v", err)
	}
	_, err = m.Stdout.Write(b)
	return err
}
