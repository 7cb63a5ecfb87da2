package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/casefile"
)

// Bot is the Slack side of the service.
type Bot struct {
	API    *slack.Client
	Store  *casefile.Store
	Config *casefile.Config
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
func New(api *slack.Client, store *casefile.Store, cfg *casefile.Config, logger *slog.Logger) *Bot {
	if logger == nil {
		logger = slog.Default()
	}
	return &Bot{API: api, Store: store, Config: cfg, Logger: logger, byEmail: map[string]string{}}
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

func (b *Bot) isCoordinator(user string) bool { return b.Config.Roles.Coordinator.Has(user) }
func (b *Bot) isChair(user string) bool       { return b.Config.Roles.Chair.Has(user) }
func (b *Bot) isApprover(user string) bool    { return b.Config.Roles.Approvers.Has(user) }

// isOfficer reports whether user is a Slack officer of the agency, named by
// user id or email address in the configuration.
func (b *Bot) isOfficer(ctx context.Context, user, agency string) bool {
	a, ok := b.Config.Agency(agency)
	if !ok {
		return false
	}
	ids, _ := b.resolveOfficers(ctx, a)
	for _, id := range ids {
		if id == user {
			return true
		}
	}
	return false
}

// officerAgency returns the agency user is an officer of, if any.
func (b *Bot) officerAgency(ctx context.Context, user string) string {
	for _, a := range b.Config.Agencies {
		if b.isOfficer(ctx, user, a.ID) {
			return a.ID
		}
	}
	return ""
}

// hasRole reports whether user has any role at all: the people who may see
// personal details.
func (b *Bot) hasRole(ctx context.Context, user string) bool {
	return b.isCoordinator(user) || b.isChair(user) || b.isApprover(user) || b.officerAgency(ctx, user) != ""
}

// resolveOfficers turns the configured officers (user ids, or email
// addresses looked up in Slack) into user ids; missing are those Slack
// could not find.
func (b *Bot) resolveOfficers(ctx context.Context, a casefile.Agency) (ids, missing []string) {
	for _, u := range a.SlackUsers {
		if !strings.Contains(u, "@") {
			ids = append(ids, u)
			continue
		}
		b.mu.Lock()
		id, ok := b.byEmail[strings.ToLower(u)]
		b.mu.Unlock()
		if !ok {
			user, err := b.API.GetUserByEmailContext(ctx, u)
			if err != nil {
				missing = append(missing, u)
				continue
			}
			id = user.ID
			b.mu.Lock()
			b.byEmail[strings.ToLower(u)] = id
			b.mu.Unlock()
		}
		ids = append(ids, id)
	}
	return ids, missing
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
