package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/casefile"
)

// Bot is the Slack side of the service.
type Bot struct {
	API    *slack.Client
	Store  Store
	Config *casefile.Config
	// Cal is the working-day calendar of Config.
	Cal    *casefile.Calendar
	Logger *slog.Logger
	// OnRefusal, if set, counts refused clicks (for metrics).
	OnRefusal func(action string)
	// OnSlackError, if set, counts failed Slack calls by method and code.
	OnSlackError func(method, code string)

	pace pacer

	mu        sync.Mutex
	byEmail   map[string]string // officer email → Slack user id
	connected atomic.Bool
}

// New returns a bot using api for Slack and store for the case file.
func New(api *slack.Client, store Store, cfg *casefile.Config, logger *slog.Logger) *Bot {
	if logger == nil {
		logger = slog.Default()
	}
	return &Bot{API: api, Store: store, Config: cfg, Cal: cfg.WorkingCalendar(), Logger: logger, byEmail: map[string]string{}}
}

// Connected reports whether the Socket Mode connection is up (HTTP mode is
// always "connected": Slack calls us).
func (b *Bot) Connected() bool { return b.connected.Load() }

// ChannelName is the case channel's name: the prefix and the reference,
// never personal data.
func (b *Bot) ChannelName(ref string) string {
	return b.Config.Slack.ChannelPrefix + strings.ToLower(strings.TrimPrefix(ref, "CT-"))
}

// Roles.

// actor is the Slack user with the roles the configuration gives them,
// including the agencies whose officers are named by email address and
// looked up in Slack. The actor is returned even when a look-up failed, with
// the roles known without it, and the error: a refusal then says "try again"
// (see permit) rather than refusing a real officer because Slack hiccuped.
func (b *Bot) actor(ctx context.Context, user string) (casefile.Actor, error) {
	a := casefile.ActorFor(b.Config, user)
	var lookupErr error
	for _, ag := range b.Config.Agencies {
		if slices.Contains(a.Agencies, ag.ID) || !slices.ContainsFunc(ag.SlackUsers, func(u string) bool { return strings.Contains(u, "@") }) {
			continue
		}
		ids, _, err := b.resolveOfficers(ctx, ag)
		if err != nil {
			lookupErr = err
			continue
		}
		if slices.Contains(ids, user) {
			a = a.OfficerOf(ag.ID)
		}
	}
	return a, lookupErr
}

// isOfficer reports whether user is a Slack officer of the agency, named by
// user id or email address in the configuration. An error means Slack could
// not be asked (an email address to look up).
func (b *Bot) isOfficer(ctx context.Context, user, agency string) (bool, error) {
	a, ok := b.Config.Agency(agency)
	if !ok {
		return false, nil
	}
	ids, _, err := b.resolveOfficers(ctx, a)
	if err != nil {
		return false, err
	}
	return slices.Contains(ids, user), nil
}

// slackBusy is what a person is told when Slack could not be asked who
// they are.
const slackBusy = "Slack did not answer in time, so nothing was changed. Please try again in a minute."

// resolveOfficers turns the configured officers (user ids, or email
// addresses looked up in Slack) into user ids; missing are those Slack says
// it does not know. Any other failure (a 429 past its retries, a 500) is an
// error, never "missing": an officer must not be left out of a case, or
// refused, because Slack hiccuped.
func (b *Bot) resolveOfficers(ctx context.Context, a casefile.Agency) (ids, missing []string, err error) {
	for _, u := range a.SlackUsers {
		if !strings.Contains(u, "@") {
			ids = append(ids, u)
			continue
		}
		key := strings.ToLower(u)
		b.mu.Lock()
		id, ok := b.byEmail[key]
		b.mu.Unlock()
		if !ok {
			var user *slack.User
			err := b.call(ctx, "users.lookupByEmail", func() error {
				var err error
				user, err = b.API.GetUserByEmailContext(ctx, u)
				return err
			})
			switch code := slackCode(err); {
			case err == nil:
			case code == "users_not_found" || code == "user_not_found":
				missing = append(missing, u)
				continue
			default:
				return nil, nil, err
			}
			id = user.ID
			b.mu.Lock()
			b.byEmail[key] = id
			b.mu.Unlock()
		}
		ids = append(ids, id)
	}
	return ids, missing, nil
}

// permanentCodes are Slack errors that retrying cannot fix.
var permanentCodes = map[string]bool{
	"channel_not_found": true, "not_in_channel": true, "is_archived": true, "invalid_auth": true,
	"not_authed": true, "account_inactive": true, "token_revoked": true, "missing_scope": true,
	"invalid_blocks": true, "invalid_blocks_format": true, "msg_too_long": true, "no_text": true,
	"cant_update_message": true, "message_not_found": true, "invalid_arguments": true,
	"unknown_method": true, "invalid_name": true, "invalid_name_specials": true,
	"invalid_name_required": true, "invalid_name_maxlength": true, "restricted_action": true,
	"too_many_attachments": true, "invalid_ts_latest": true, "thread_not_found": true,
}

// classify turns a Slack error into what the outbox does with it: wait for
// Retry-After on 429, give up on permanent errors, retry with backoff on
// the rest (5xx, timeouts, network).
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("%s: %w", op, err)
	var rl *slack.RateLimitedError
	var se slack.SlackErrorResponse
	var ne net.Error
	switch {
	case errors.As(err, &rl):
		return &casefile.RetryAfterError{Err: err, After: rl.RetryAfter}
	case errors.As(err, &se) && permanentCodes[se.Err]:
		return casefile.Permanent(err)
	case errors.As(err, &ne):
		return err
	}
	if permanentCodes[slackCode(err)] {
		return casefile.Permanent(err)
	}
	return err
}

// slackCode is Slack's error code of err, where it has one.
func slackCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	if err == nil {
		return ""
	}
	// slack-go returns some API errors as plain errors with the code as text.
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}
