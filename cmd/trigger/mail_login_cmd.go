package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/internal/mailauth"
)

func init() {
	register(command{name: "mail login", summary: "sign in to the mailbox once with a code (Microsoft 365, oauth2.flow = \"device_code\")", run: runMailLogin})
}

// runMailLogin is Microsoft's device code flow: it prints a page and a code,
// waits while a person signs in with them on any device, and stores the
// refresh token in the database, from which serve and the other commands
// renew their access (and store each rotation).
func runMailLogin(ctx context.Context, m *Main, g *globals, args []string) error {
	if err := parseFlags(newFlagSet("mail login"), args); err != nil {
		return err
	}
	cfg, err := g.config(m)
	if err != nil {
		return err
	}
	if !cfg.UsesOAuth2() {
		return usagef("mail login: imap.auth and smtp.auth are both %q: nothing signs in with a token (set imap.auth = \"oauth2\" and smtp.auth = \"oauth2\" with an [oauth2] section)", cfg.IMAP.Auth)
	}
	o := cfg.OAuth2
	if o.Provider != mailauth.Microsoft || o.Flow != mailauth.DeviceCode {
		return usagef("mail login: the configuration has oauth2.provider = %q, oauth2.flow = %q, where the service signs in with its own credentials and nobody needs to: `trigger mail login` is for provider = %q, flow = %q. Run `trigger mail check` to test the sign-in.",
			o.Provider, o.Flow, mailauth.Microsoft, mailauth.DeviceCode)
	}
	return g.withStore(m, func(s *sqlite.Store) error {
		oc := oauthConfig(cfg, m.oauthBaseURL)
		fmt.Fprintf(m.Stdout, "Sign in as the mailbox's user, or as a person with Full Access to it (%s).\n", cfg.IMAP.Username)
		err := mailauth.Login(ctx, oc, mailauth.Options{
			Protocols: oauthProtocols(cfg),
			Store:     s.MailTokens(tokenStoreName(oc)),
			Logger:    newLogger(m.Stderr, cfg.Log),
		}, m.Stdout)
		if err != nil {
			var me *mailauth.Error
			if errors.As(err, &me) && me.Advice != "" {
				return fmt.Errorf("mail login: %w\n%s", err, me.Advice)
			}
			return fmt.Errorf("mail login: %w", err)
		}
		fmt.Fprintln(m.Stdout, "Run `trigger mail check` to see every step of reading and sending mail work.")
		return nil
	})
}
