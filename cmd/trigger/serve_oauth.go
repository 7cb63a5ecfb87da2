package main

import (
	"context"
	"fmt"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/internal/mailauth"
)

// sources are the process's token Sources: IMAP and SMTP's, Graph's.
func (s *server) sources() []*mailauth.Source {
	var out []*mailauth.Source
	for _, src := range []*mailauth.Source{s.mailAuth, s.graphAuth} {
		if src != nil {
			out = append(out, src)
		}
	}
	return out
}

// registerOAuthMetrics adds the token Sources' counters to /metrics.
func (s *server) registerOAuthMetrics() {
	srcs := s.sources()
	if len(srcs) == 0 {
		return
	}
	sum := func(f func(*mailauth.Source) int64) func() float64 {
		return func() float64 {
			n := int64(0)
			for _, src := range srcs {
				n += f(src)
			}
			return float64(n)
		}
	}
	s.metrics.counterFunc("trigger_oauth2_token_renewals_total", "Access tokens obtained for the mail sign-in.",
		sum((*mailauth.Source).Renewals))
	s.metrics.counterFunc("trigger_oauth2_token_failures_total", "Attempts to get an access token for the mail sign-in that failed.",
		sum((*mailauth.Source).Failures))
	s.metrics.counterFunc("trigger_oauth2_signin_refusals_total", "Sign-ins with a token that the IMAP or SMTP server or Microsoft Graph refused (each is retried once with a fresh token).",
		sum((*mailauth.Source).Refusals))
}

// credentialSource is a Source whose credential's expiry is known (a
// certificate), nil when there is none: every Source of the process signs
// in with the same [oauth2] credential.
func (s *server) credentialSource() *mailauth.Source {
	for _, src := range s.sources() {
		if !src.CredentialExpiry().IsZero() {
			return src
		}
	}
	return nil
}

// oauthGauges is the credential's expiry, when it is known.
func (s *server) oauthGauges() []gauge {
	src := s.credentialSource()
	if src == nil {
		return nil
	}
	return []gauge{{"trigger_oauth2_credential_expiry_timestamp_seconds", "When the certificate the service signs in with expires (Unix time).",
		func(context.Context) (float64, error) { return float64(src.CredentialExpiry().Unix()), nil }}}
}

// credentialWarnings are how long before the credential expires the
// coordinators are told, each once: a month ahead, a week, the day before,
// and when it has expired.
var credentialWarnings = []time.Duration{30 * 24 * time.Hour, 7 * 24 * time.Hour, 24 * time.Hour, 0}

// watchCredential tells the coordinators ahead of the certificate's expiry,
// through the outbox: checked at start and twice a day.
func (s *server) watchCredential(ctx context.Context) error {
	for {
		if err := s.checkCredential(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.logger.Error("oauth2: could not queue the certificate's expiry notice; tried again later", "err", err)
		}
		t := time.NewTimer(12 * time.Hour)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// checkCredential queues the most urgent expiry notice due at now, once.
func (s *server) checkCredential(ctx context.Context, now time.Time) error {
	expiry := s.credentialSource().CredentialExpiry()
	left := expiry.Sub(now)
	due := time.Duration(-1)
	for _, w := range credentialWarnings {
		if left <= w {
			due = w
		}
	}
	if due < 0 {
		return nil
	}
	day := expiry.In(casefile.London).Format("2 January 2006")
	var text string
	if left <= 0 {
		text = "The certificate the Community Trigger signs in to its mailbox with (TRIGGER_OAUTH2_CERTIFICATE) expired on " + day + ": mail is not being read or sent."
	} else {
		text = fmt.Sprintf("The certificate the Community Trigger signs in to its mailbox with (TRIGGER_OAUTH2_CERTIFICATE) expires on %s, in %s. When it does, mail stops being read and sent.", day, casefile.Count(int(left.Hours()/24)+1, "day", "days"))
	}
	text += "\nWhat to do: make a new certificate, upload its public part to the app registration (Certificates & secrets), put the certificate and its key in TRIGGER_OAUTH2_CERTIFICATE, restart the service, and run `trigger mail check`."
	key := fmt.Sprintf("credential-expiry:%s:%d", expiry.UTC().Format("2006-01-02"), int(due.Hours()/24))
	queued, err := s.store.NotifyCoordinators(ctx, key, "service.credential_expiring", text, map[string]any{"expires": expiry.UTC().Format(time.RFC3339), "days_before": int(due.Hours() / 24)})
	if queued {
		s.logger.Warn("oauth2: the certificate expires soon; the coordinators are told", "expires", expiry)
	}
	return err
}
