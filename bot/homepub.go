package bot

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/csp/trigger/casefile"
)

// Publishing the Home tab.
//
// A person's Home tab is published when they open it (app_home_opened),
// when they choose a filter or a page on it, and — refreshed — when a case
// they are concerned by changes: after the bot has done a job about a case
// (its card, a request, a reply, a draft), the people concerned are marked,
// and a refresher publishes their tabs again once the case has been quiet
// for HomeDebounce (a burst of changes is one publish), at most HomeLimit
// publishes in any HomeWindow (views.publish is Tier 4: 100+ a minute per
// workspace; the default 90 leaves room for the publishes of people opening
// their tab, which are never held back). Concerned are: the coordinator and
// the Chair (every case, and the counts, are on their tab); an approver,
// for a case whose letter awaits approval or was on their tab; an agency's
// officer, for a case their agency is asked about. Nobody else.
//
// This is kept in memory, not in the outbox: a Home tab is rendered afresh
// from the case file whenever it is opened, so a refresh lost in a restart
// costs nothing, and only people who opened their tab since the start are
// refreshed. What a person chose (filter, page) is in the view's
// private_metadata, which Slack sends back with app_home_opened, so it
// survives a restart too. Each publish carries the hash of the last one, so
// that a view published meanwhile by someone else (another process) is not
// overwritten blindly: on hash_conflict the tab is rendered again and
// published over it.

// homeUser is what the bot knows of one person's Home tab.
type homeUser struct {
	mu    sync.Mutex // one publish at a time per person: the newest render is the last
	state HomeState
	hash  string

	// Guarded by Bot.homeMu: what the last publish showed, and whether a
	// change since calls for another.
	who     casefile.Actor
	known   bool            // who and shown are from a publish
	shown   map[string]bool // the cases on the tab (drafts, requests), for an approver or officer
	dirty   bool
	changed time.Time
}

// Home tab pacing defaults.
const (
	defaultHomeLimit    = 90
	defaultHomeWindow   = time.Minute
	defaultHomeDebounce = 2 * time.Second
	defaultHomeTick     = time.Second
	homeWorkers         = 4
)

func (b *Bot) homeUserOf(user string) *homeUser {
	b.homeMu.Lock()
	defer b.homeMu.Unlock()
	if b.homes == nil {
		b.homes = map[string]*homeUser{}
	}
	hu := b.homes[user]
	if hu == nil {
		hu = &homeUser{state: HomeState{Filter: FilterAll, Page: 1}}
		b.homes[user] = hu
	}
	return hu
}

// deskQuery is what a person's Home tab needs to read.
func deskQuery(who casefile.Actor) casefile.DeskQuery {
	return casefile.DeskQuery{
		Cases:    who.Permit(casefile.ActSeeAllCases) == nil,
		Agencies: who.Agencies,
		Drafts:   who.Has(casefile.RoleApprover) || who.Has(casefile.RoleChair),
	}
}

// PublishHome publishes a person's Home tab, rendered from the case file
// now: with st, showing that filter and page (else what they chose last);
// hash is the view's hash as Slack last reported it, if known.
func (b *Bot) PublishHome(ctx context.Context, user string, st *HomeState, hash string) error {
	return b.publishHome(ctx, user, st, hash, false)
}

// publishHome is PublishHome; reserved says the refresher has counted this
// publish in the window already.
func (b *Bot) publishHome(ctx context.Context, user string, st *HomeState, hash string, reserved bool) error {
	hu := b.homeUserOf(user)
	hu.mu.Lock()
	defer hu.mu.Unlock()
	if st != nil {
		hu.state = *st
	}
	if hu.hash == "" {
		hu.hash = hash
	}
	who, err := b.actor(ctx, user)
	if err != nil {
		return err // a role unknown for want of Slack's answer: not published with the wrong one
	}
	d, err := b.Store.Desk(ctx, deskQuery(who))
	if err != nil {
		return err
	}
	view := HomeView(d, who, b.Config, hu.state)
	resp, err := b.publish(ctx, user, view, hu.hash, reserved)
	if slackCode(err) == "hash_conflict" {
		// Published meanwhile by someone else: what was just rendered is
		// the case file as it is now, so it goes over it.
		resp, err = b.publish(ctx, user, view, "", false)
	}
	if err != nil {
		b.Logger.Warn("slack: home tab not published", "user", user, "error", slackCode(err))
		return err
	}
	shown := map[string]bool{}
	for _, dr := range d.Drafts {
		shown[dr.Ref] = true
	}
	for _, r := range d.Requests {
		shown[r.Ref] = true
	}
	hu.hash = resp.Hash
	b.homeMu.Lock()
	hu.who, hu.known, hu.shown = who, true, shown
	b.homeMu.Unlock()
	return nil
}

// publish makes one views.publish call, counted in the window unless it
// was reserved there.
func (b *Bot) publish(ctx context.Context, user string, view slack.HomeTabViewRequest, hash string, reserved bool) (*slack.ViewResponse, error) {
	if !reserved {
		b.homeMu.Lock()
		b.homeSent = append(b.homeSent, b.now())
		b.homeMu.Unlock()
	}
	var resp *slack.ViewResponse
	err := b.call(ctx, "views.publish", func() error {
		req := slack.PublishViewContextRequest{UserID: user, View: view}
		if hash != "" {
			req.Hash = &hash
		}
		var err error
		resp, err = b.API.PublishViewContext(ctx, req)
		return err
	})
	return resp, err
}

// caseChanged marks the people concerned by a change of the case for a
// refresh of their Home tab.
func (b *Bot) caseChanged(ctx context.Context, ref string) {
	b.homeMu.Lock()
	n := len(b.homes)
	b.homeMu.Unlock()
	if n == 0 {
		return // nobody has opened their Home tab
	}
	c, err := b.Store.Case(ctx, ref)
	if err != nil {
		b.Logger.Warn("slack: home tabs: case not read", "case", ref, "error", err)
		return
	}
	agencies := casefile.CaseAgencies(c, b.Config)
	now := b.now()
	b.homeMu.Lock()
	unknown := map[string]*homeUser{}
	for user, hu := range b.homes {
		switch {
		case !hu.known:
			unknown[user] = hu // its first publish is under way
		case homeConcerned(hu.who, hu.shown, c, agencies):
			hu.dirty, hu.changed = true, now
		}
	}
	b.homeMu.Unlock()
	// A tab being published for the first time may have been rendered
	// before the change: refreshed if the change concerns the person, by
	// their roles (as the configuration and what Slack said before give
	// them; when that is not known, refreshed anyway).
	for user, hu := range unknown {
		who, err := b.actorNow(user)
		if err == nil && !homeConcerned(who, nil, c, agencies) {
			continue
		}
		b.homeMu.Lock()
		hu.dirty, hu.changed = true, now
		b.homeMu.Unlock()
	}
}

// homeConcerned reports whether a change of case c shows on the Home tab
// of a person with who's roles whose tab showed the cases in shown.
func homeConcerned(who casefile.Actor, shown map[string]bool, c *casefile.Case, agencies []string) bool {
	switch {
	case who.Permit(casefile.ActSeeAllCases) == nil, shown[c.Ref]:
		return true
	case (who.Has(casefile.RoleApprover) || who.Has(casefile.RoleChair)) && c.Status == casefile.StatusAwaitingApproval:
		return true
	case c.Status == casefile.StatusGathering || c.Status == casefile.StatusMeeting:
		return slices.ContainsFunc(who.Agencies, func(a string) bool { return slices.Contains(agencies, a) })
	}
	return false
}

// newDay marks every Home tab for a refresh when the date has turned since
// the last look: "open N days", "due today" and "overdue" are counted from
// today, so a tab left open overnight would otherwise say yesterday's.
func (b *Bot) newDay(now time.Time) {
	today := casefile.DateOf(now)
	b.homeMu.Lock()
	defer b.homeMu.Unlock()
	if b.homeDay != today && b.homeDay != (casefile.Date{}) {
		for _, hu := range b.homes {
			if hu.known {
				hu.dirty, hu.changed = true, now.Add(-time.Hour) // no quiet spell to wait for
			}
		}
	}
	b.homeDay = today
}

// homeAllowed reports whether another refresh fits in the window now, and
// reserves its place if so.
func (b *Bot) homeAllowed(now time.Time) bool {
	limit, window := b.HomeLimit, b.HomeWindow
	if limit <= 0 {
		limit = defaultHomeLimit
	}
	if window <= 0 {
		window = defaultHomeWindow
	}
	b.homeMu.Lock()
	defer b.homeMu.Unlock()
	b.homeSent = slices.DeleteFunc(b.homeSent, func(t time.Time) bool { return !t.After(now.Add(-window)) })
	if len(b.homeSent) >= limit {
		return false
	}
	b.homeSent = append(b.homeSent, now)
	return true
}

// refreshHomes publishes again the Home tabs marked by caseChanged whose
// case has been quiet for HomeDebounce, as many as the window allows, and
// reports how many it published.
func (b *Bot) refreshHomes(ctx context.Context) int {
	debounce := b.HomeDebounce
	if debounce <= 0 {
		debounce = defaultHomeDebounce
	}
	now := b.now()
	b.newDay(now)
	type due struct {
		user    string
		changed time.Time
	}
	var list []due
	b.homeMu.Lock()
	for user, hu := range b.homes {
		if hu.dirty && !now.Before(hu.changed.Add(debounce)) {
			list = append(list, due{user, hu.changed})
		}
	}
	b.homeMu.Unlock()
	slices.SortFunc(list, func(a, b due) int { return a.changed.Compare(b.changed) })

	var wg sync.WaitGroup
	slots := make(chan struct{}, homeWorkers)
	done := 0
	for _, d := range list {
		if ctx.Err() != nil || !b.homeAllowed(b.now()) {
			break
		}
		hu := b.homeUserOf(d.user)
		b.homeMu.Lock()
		hu.dirty = false
		b.homeMu.Unlock()
		done++
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := b.publishHome(ctx, d.user, nil, "", true); err != nil && ctx.Err() == nil {
				b.homeMu.Lock()
				hu.dirty, hu.changed = true, b.now() // tried again after the next quiet spell
				b.homeMu.Unlock()
			}
		})
	}
	wg.Wait()
	return done
}

// HomesPending counts the Home tabs waiting for a refresh.
func (b *Bot) HomesPending() int {
	b.homeMu.Lock()
	defer b.homeMu.Unlock()
	n := 0
	for _, hu := range b.homes {
		if hu.dirty {
			n++
		}
	}
	return n
}

// runHomeRefresher refreshes Home tabs every HomeTick until ctx ends.
func (b *Bot) runHomeRefresher(ctx context.Context) {
	tick := b.HomeTick
	if tick <= 0 {
		tick = defaultHomeTick
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.refreshHomes(ctx)
		}
	}
}

// homeOpened publishes the Home tab of the person who opened it, showing
// what they chose last (the view Slack sends back says, after a restart).
// It reports false when it could not, for the event to be handled again.
func (b *Bot) homeOpened(ctx context.Context, ev *slackevents.AppHomeOpenedEvent) bool {
	if ev.Tab != "home" || ev.User == "" {
		return true
	}
	var st *HomeState
	hash := ""
	if ev.View != nil && ev.View.ID != "" {
		s := ParseHomeState(ev.View.PrivateMetadata)
		b.homeMu.Lock()
		known := b.homes[ev.User] != nil
		b.homeMu.Unlock()
		if !known {
			st = &s
		}
		hash = ev.View.Hash
	}
	err := b.PublishHome(ctx, ev.User, st, hash)
	return err == nil || casefile.ErrorCode(err) == casefile.EFORBIDDEN || permanentCodes[slackCode(err)]
}

// homeClick is a filter or a page chosen on the Home tab.
func (b *Bot) homeClick(ctx context.Context, cb *slack.InteractionCallback, a *slack.BlockAction) {
	st := ParseHomeState(cb.View.PrivateMetadata)
	switch a.ActionID {
	case ActionHomeFilter:
		st = ParseHomeState(a.SelectedOption.Value + "|1")
	case ActionHomePage:
		st = ParseHomeState(a.Value)
	}
	if err := b.PublishHome(ctx, cb.User.ID, &st, cb.View.Hash); err != nil {
		b.Logger.Warn("slack: home tab not updated after a click", "user", cb.User.ID, "error", slackCode(err))
	}
}
