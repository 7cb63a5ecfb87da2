package slackemu

import (
	"strings"
	"time"
)

func (e *Emulator) authTest(p params) (reply, error) {
	return reply{
		"url":     "https://" + e.opts.TeamName + ".slack.com/",
		"team":    e.opts.TeamName,
		"user":    e.bot.Name,
		"team_id": e.teamID,
		"user_id": e.bot.ID,
		"bot_id":  e.botID,
	}, nil
}

func (e *Emulator) usersInfo(p params) (reply, error) {
	u := e.users[p.Get("user")]
	if u == nil {
		return nil, fail("user_not_found")
	}
	return reply{"user": e.userJSON(u)}, nil
}

// usersLookupByEmail finds an active account by email. Slack: "If the
// user has been deactivated, users_not_found will be returned".
func (e *Emulator) usersLookupByEmail(p params) (reply, error) {
	email := p.Get("email")
	for _, id := range e.userOrder {
		if u := e.users[id]; email != "" && !u.Deleted && strings.EqualFold(u.Email, email) {
			return reply{"user": e.userJSON(u)}, nil
		}
	}
	return nil, fail("users_not_found")
}

// usersConversations lists the conversations the bot (or, with user, that
// person, among those the bot can see) is a member of.
func (e *Emulator) usersConversations(p params) (reply, error) {
	types, err := e.listTypes(p)
	if err != nil {
		return nil, err
	}
	who := e.bot.ID
	if u := p.Get("user"); u != "" {
		if e.users[u] == nil {
			return nil, fail("user_not_found")
		}
		who = u
	}
	var list []*channel
	for _, id := range e.channelOrder {
		c := e.channels[id]
		switch {
		case !c.isMember(who), !types[c.convType()]:
		case c.Archived && isTrue(p.Get("exclude_archived")):
		case c.Private && !c.isMember(e.bot.ID):
		default:
			list = append(list, c)
		}
	}
	return e.channelPage(list, p)
}

func (e *Emulator) userJSON(u *User) map[string]any {
	return map[string]any{
		"id":                  u.ID,
		"team_id":             e.teamID,
		"name":                u.Name,
		"real_name":           u.RealName,
		"deleted":             u.Deleted,
		"is_bot":              u.IsBot,
		"is_app_user":         false,
		"is_restricted":       u.Restricted,
		"is_ultra_restricted": u.UltraRestricted,
		"tz":                  "Europe/London",
		"profile": map[string]any{
			"real_name":    u.RealName,
			"display_name": u.Name,
			"email":        u.Email,
			"team":         e.teamID,
		},
	}
}

// appsConnectionsOpen hands out a single-use Socket Mode URL.
func (e *Emulator) appsConnectionsOpen(p params) (reply, error) {
	now := e.clock.Now()
	for t, expires := range e.tickets {
		if now.After(expires) {
			delete(e.tickets, t)
		}
	}
	ticket := randomHex(16)
	e.tickets[ticket] = now.Add(time.Minute)
	base := e.baseURL
	if base == "" {
		base = "http://" + p.host
	}
	ws := "ws" + strings.TrimPrefix(base, "http")
	return reply{"url": ws + "/link/?ticket=" + ticket + "&app_id=" + e.appID}, nil
}
