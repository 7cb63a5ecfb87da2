package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/slack-go/slack"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/config"
)

func init() {
	register(command{name: "config check", summary: "validate the configuration and print it, secrets masked", run: runConfigCheck})
}

func runConfigCheck(ctx context.Context, m *Main, g *globals, args []string) error {
	fs := newFlagSet("config check")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := g.config(m)
	if err != nil {
		return err
	}
	src := g.configPath
	if src == "" {
		src = "built-in defaults (no trigger.toml)"
	}
	fmt.Fprintf(m.Stdout, "# configuration OK: %s\n", src)
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(m.Stdout, "# warning: %s\n", w)
	}
	if line := checkDigestChannel(ctx, cfg); line != "" {
		fmt.Fprintln(m.Stdout, line)
	}
	shown := *cfg
	maskURLCredentials(reflect.ValueOf(&shown).Elem())
	if err := toml.NewEncoder(m.Stdout).Encode(shown); err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, "\n# secrets (from the environment)")
	for _, s := range config.Secrets(cfg) {
		fmt.Fprintf(m.Stdout, "# %s = %s\n", s.Env, mask(*s.Value))
	}
	return nil
}

// checkDigestChannel asks Slack whether the app is a member of [slack]
// digest_channel, as `serve` does at start, and says what to do when it
// is not; "" when no digest channel is configured.
func checkDigestChannel(ctx context.Context, cfg *casefile.Config) string {
	if cfg.Slack.DigestChannel == "" {
		return ""
	}
	name := cfg.Slack.DigestChannelName()
	if cfg.Secrets.SlackBotToken == "" {
		return "# slack.digest_channel: " + name + " not checked (TRIGGER_SLACK_BOT_TOKEN is not set)"
	}
	opts := []slack.Option{slack.OptionHTTPClient(&http.Client{Timeout: 15 * time.Second})}
	if cfg.Slack.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(cfg.Slack.APIURL))
	}
	b := bot.New(slack.New(cfg.Secrets.SlackBotToken, opts...), nil, cfg, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	problem, err := b.CheckDigestChannel(ctx)
	switch {
	case err != nil:
		return "# warning: slack.digest_channel: " + name + " not checked: Slack did not answer (" + errorCodeLabel(slackErrorCode(err)) + ")"
	case problem != "":
		return "# warning: " + problem
	}
	return "# slack: the app is a member of " + name + " (slack.digest_channel)"
}

// slackErrorCode is Slack's error code of err, or its text.
func slackErrorCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return err.Error()
}

// maskURLCredentials replaces the user information of every URL in the
// configuration's strings (a proxy's https://user:password@host/ in
// slack.api_url, a token endpoint's) with "xxxxx", so that config check
// prints no credential from the file either. v must be settable; slices
// are copied before they are changed, so the configuration in use keeps
// its values.
func maskURLCredentials(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); strings.Contains(s, "@") && strings.Contains(s, "://") {
			v.SetString(maskURL(s))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				maskURLCredentials(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.IsNil() {
			return
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		v.Set(c)
		for i := range c.Len() {
			maskURLCredentials(c.Index(i))
		}
	}
}

// mask shows whether a secret is set without showing it.
func mask(s string) string {
	if s == "" {
		return "(not set)"
	}
	return fmt.Sprintf("(set, %d characters)", len(s))
}

// maskURL hides a password or token written into a URL
// (https://user:secret@proxy/…), keeping the rest readable.
func maskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = url.User("xxxxx")
	return u.String()
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("trigger "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses and turns a flag error into a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return usagef("usage of %s:\n%s", fs.Name(), flagUsage(fs))
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	return nil
}

func flagUsage(fs *flag.FlagSet) string {
	var b []byte
	fs.VisitAll(func(f *flag.Flag) {
		b = fmt.Appendf(b, "  --%s  %s\n", f.Name, f.Usage)
	})
	return string(b)
}
