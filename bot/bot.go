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
	"time"

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
	// InboxPoll is how often RunBackground looks for recorded events to
	// handle again (default 1s).
	InboxPoll time.Duration
	// The Home tab's refreshes (homepub.go): at most HomeLimit in any
	// HomeWindow (default 90 a minute, under views.publish's Tier 4), once
	// a case has been quiet for HomeDebounce (default 2s), looked for every
	// HomeTick (default 1s). Windows are measured on the store's clock.
	HomeLimit    int
	HomeWindow   time.Duration
	HomeDebounce time.Duration
	HomeTick     time.Duration

	pace pacer

	mu      sync.Mutex
	byEmail map[string]officerEntry // officer email (lower case) → what Slack said
	refresh chan struct{}           // asks RunBackground to look the officers up now
	// memberLists are channels' members as Slack last listed them.
	memberLists map[string]memberList
	connected   atomic.Bool

	homeMu   sync.Mutex
	homes    map[string]*homeUser // user id → their Home tab, since the start
	homeDay  casefile.Date        // the date of the last refresh round
	homeSent []time.Time          // views.publish calls in the last HomeWindow

	digest digestState
}

// officerEntry is what Slack last said of an officer's email address: the
// user id, or that it knows no such person (missing).
type officerEntry struct {
	id      string
	missing bool
	at      time.Time
}

// officerTTL is how long what Slack said of an officer's address is used
// before it is asked again (by RunBackground, ahead of time).
const officerTTL = 30 * time.Minute

// New returns a bot using api for Slack and store for the case file.
func New(api *slack.Client, store Store, cfg *casefile.Config, logger *slog.Logger) *Bot {
	if logger == nil {
		logger = slog.Default()
	}
	return &Bot{API: api, Store: store, Config: cfg, Cal: cfg.WorkingCalendar(), Logger: logger,
		byEmail: map[string]officerEntry{}, refresh: make(chan struct{}, 1)}
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
	return b.actorWith(user, func(a casefile.Agency) ([]string, error) {
		ids, _, err := b.resolveOfficers(ctx, a)
		return ids, err
	})
}

// actorNow is actor without asking Slack, for what must be answered within
// Slack's 3 seconds (a form's submission): officers named by email come
// from what Slack said before (RunBackground keeps it fresh). An address
// not known yet is an error, as a failed look-up is, and RunBackground is
// asked to look it up.
func (b *Bot) actorNow(user string) (casefile.Actor, error) {
	return b.actorWith(user, func(a casefile.Agency) ([]string, error) {
		ids, unknown := b.cachedOfficers(a)
		if unknown {
			b.wantRefresh()
			return ids, errNotLookedUp
		}
		return ids, nil
	})
}

var errNotLookedUp = errors.New("officers not looked up in Slack yet")

func (b *Bot) actorWith(user string, officers func(casefile.Agency) ([]string, error)) (casefile.Actor, error) {
	a := casefile.ActorFor(b.Config, user)
	var lookupErr error
	for _, ag := range b.Config.Agencies {
		if slices.Contains(a.Agencies, ag.ID) || !slices.ContainsFunc(ag.SlackUsers, func(u string) bool { return strings.Contains(u, "@") }) {
			continue
		}
		ids, err := officers(ag)
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
// refused, because Slack hiccuped. What Slack said is kept for officerTTL.
func (b *Bot) resolveOfficers(ctx context.Context, a casefile.Agency) (ids, missing []string, err error) {
	for _, u := range a.SlackUsers {
		if !strings.Contains(u, "@") {
			ids = append(ids, u)
			continue
		}
		e, ok := b.officer(u)
		if !ok || b.now().Sub(e.at) > officerTTL {
			if e, err = b.lookUp(ctx, u); err != nil {
				return nil, nil, err
			}
		}
		if e.missing {
			missing = append(missing, u)
			continue
		}
		ids = append(ids, e.id)
	}
	return ids, missing, nil
}

// cachedOfficers is resolveOfficers from what Slack said before, without
// asking it; unknown reports an address never looked up.
func (b *Bot) cachedOfficers(a casefile.Agency) (ids []string, unknown bool) {
	for _, u := range a.SlackUsers {
		if !strings.Contains(u, "@") {
			ids = append(ids, u)
			continue
		}
		switch e, ok := b.officer(u); {
		case !ok:
			unknown = true
		case !e.missing:
			ids = append(ids, e.id)
		}
	}
	return ids, unknown
}

func (b *Bot) officer(email string) (officerEntry, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.byEmail[strings.ToLower(email)]
	return e, ok
}

// lookUp asks Slack who has an email address, and keeps the answer.
func (b *Bot) lookUp(ctx context.Context, email string) (officerEntry, error) {
	var user *slack.User
	err := b.call(ctx, "users.lookupByEmail", func() error {
		var err error
		user, err = b.API.GetUserByEmailContext(ctx, email)
		return err
	})
	e := officerEntry{at: b.now()}
	switch code := slackCode(err); {
	case err == nil:
		e.id = user.ID
	case code == "users_not_found" || code == "user_not_found":
		e.missing = true
	default:
		return e, err
	}
	b.mu.Lock()
	b.byEmail[strings.ToLower(email)] = e
	b.mu.Unlock()
	return e, nil
}

// refreshOfficers looks up every officer named by email whose answer is
// older than half officerTTL (all, with force).
func (b *Bot) refreshOfficers(ctx context.Context, force bool) {
	for _, a := range b.Config.Agencies {
		for _, u := range a.SlackUsers {
			if !strings.Contains(u, "@") {
				continue
			}
			if e, ok := b.officer(u); ok && !force && b.now().Sub(e.at) < officerTTL/2 {
				continue
			}
			if _, err := b.lookUp(ctx, u); err != nil {
				b.Logger.Warn("slack: officer look-up failed; tried again later", "agency", a.ID, "error", slackCode(err))
			}
		}
	}
}

func (b *Bot) wantRefresh() {
	select {
	case b.refresh <- struct{}{}:
	default:
	}
}

func (b *Bot) now() time.Time {
	if b.Store != nil {
		return b.Store.Now()
	}
	return time.Now()
}

// RunBackground does the bot's work that answers no one in particular,
// until ctx is cancelled, in Socket Mode and in HTTP mode alike: it handles
// the recorded Events API events whose time has come (after a hiccup or a
// restart), and keeps what Slack says of the officers named by email fresh,
// so that a form's submission is answered without asking Slack.
func (b *Bot) RunBackground(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { b.runHomeRefresher(ctx) })
	wg.Go(func() { b.runDigestCheck(ctx) })
	wg.Go(func() {
		b.refreshOfficers(ctx, true)
		t := time.NewTicker(officerTTL / 4)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				b.refreshOfficers(ctx, false)
			case <-b.refresh:
				b.refreshOfficers(ctx, false)
			}
		}
	})
	poll := b.InboxPoll
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		for b.handlePending(ctx) == eventBatch && ctx.Err() == nil {
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
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
	// Slack's limits and refusals (issue 14): the same call is refused
	// again, so the job ends and the coordinator is told.
	"msg_blocks_too_long": true, "invalid_attachments": true, "view_too_large": true, "too_many_users": true,
	"method_not_supported_for_channel_type": true, "not_allowed_token_type": true, "ekm_access_denied": true,
	"team_access_not_granted": true, "access_denied": true, "no_permission": true, "user_disabled": true,
	"ura_max_channels": true, "cant_invite": true, "cant_invite_self": true, "user_is_restricted": true,
	"invalid_metadata_format": true, "metadata_too_large": true, "channel_is_archived": true,
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
