package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/bot/slackemu"
)

func init() {
	register(command{
		name:    "slack emulator",
		summary: "run the Slack emulator (Web API, Socket Mode, signed interactivity) for trying a client",
		run:     runSlackEmulator,
	})
}

// emulatorPeople are the people seeded into the emulator's workspace.
var emulatorPeople = []struct{ name, email string }{
	{"coordinator", "coordinator@council.example"},
	{"police-officer", "officer@police.example"},
	{"council-officer", "asb@council.example"},
	{"housing-officer", "tenancy@housing.example"},
	{"chair", "chair@csp.example"},
}

func runSlackEmulator(ctx context.Context, m *Main, _ *globals, args []string) error {
	fs := flag.NewFlagSet("trigger slack emulator", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", "127.0.0.1:0", "address to serve on (port 0: any free port)")
	botToken := fs.String("bot-token", m.Getenv("TRIGGER_SLACK_BOT_TOKEN"), "xoxb- token to accept (default $TRIGGER_SLACK_BOT_TOKEN, else xoxb-emulator)")
	appToken := fs.String("app-token", m.Getenv("TRIGGER_SLACK_APP_TOKEN"), "xapp- token to accept (default $TRIGGER_SLACK_APP_TOKEN, else xapp-emulator)")
	secret := fs.String("signing-secret", m.Getenv("TRIGGER_SLACK_SIGNING_SECRET"), "signing secret for HTTP deliveries (default $TRIGGER_SLACK_SIGNING_SECRET)")
	interactivity := fs.String("interactivity-url", "", "POST interactions there, signed, instead of over Socket Mode")
	events := fs.String("events-url", "", "POST events there, signed, instead of over Socket Mode")
	scopes := fs.String("scopes", strings.Join(bot.Scopes(), ","), "the bot token's scopes, comma-separated (default: the manifest's); a call without its scope answers missing_scope")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(m.Stdout, "usage: trigger slack emulator [--listen ADDR] [--bot-token T] [--app-token T] [--signing-secret S] [--interactivity-url URL] [--events-url URL] [--scopes S,S…]")
			return errHelp
		}
		return usagef("slack emulator: %v", err)
	}
	if fs.NArg() > 0 {
		return usagef("slack emulator: unexpected argument %q", fs.Arg(0))
	}
	tokenScopes := []string{}
	for sc := range strings.SplitSeq(*scopes, ",") {
		sc = strings.TrimSpace(sc)
		if sc == "" {
			continue
		}
		if !slices.Contains(slackemu.AllScopes, sc) {
			return usagef("slack emulator: --scopes: %q is not a bot scope the emulator knows (%s)", sc, strings.Join(slackemu.AllScopes, ", "))
		}
		tokenScopes = append(tokenScopes, sc)
	}

	e := slackemu.New(slackemu.Options{
		BotToken:         *botToken,
		AppToken:         *appToken,
		SigningSecret:    *secret,
		InteractivityURL: *interactivity,
		EventsURL:        *events,
		Scopes:           tokenScopes,
		Logger:           slog.New(slog.NewTextHandler(m.Stderr, nil)),
	})
	defer e.Close()
	if err := e.Start(*listen); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Slack emulator listening on %s\n", e.URL())
	fmt.Fprintf(m.Stdout, "  Web API base URL (slack.OptionAPIURL, [slack] api_url): %s\n", e.APIURL())
	fmt.Fprintf(m.Stdout, "  bot token:      %s\n", e.BotToken())
	fmt.Fprintf(m.Stdout, "  app token:      %s (Socket Mode via apps.connections.open)\n", e.AppToken())
	fmt.Fprintf(m.Stdout, "  signing secret: %s\n", e.SigningSecret())
	fmt.Fprintf(m.Stdout, "  bot scopes:     %s\n", strings.Join(e.Scopes(), ","))
	fmt.Fprintf(m.Stdout, "  team %s, bot user %s (bot %s, app %s)\n", e.TeamID(), e.BotUserID(), e.BotID(), e.AppID())
	fmt.Fprintln(m.Stdout, "  people:")
	for _, p := range emulatorPeople {
		u := e.AddUser(p.name, p.email)
		fmt.Fprintf(m.Stdout, "    %-16s %s  %s\n", p.name, u.ID, p.email)
	}
	fmt.Fprintln(m.Stdout, "Press Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}
