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

func (e *Emulator) usersLookupByEmail(p params) (reply, error) {
	email := p.Get("email")
	for _, id := range e.userOrder {
		if u := e.users[id]; email != "" && strings.EqualFold(u.Email, email) {
			return reply{"user": e.userJSON(u)}, nil
		}
	}
	return nil, fail("users_not_found")
}

func (e *Emulator) userJSON(u *User) map[string]any {
	return map[string]any{
		"id":        u.ID,
		"team_id":   e.teamID,
		"name":      u.Name,
		"real_name": u.RealName,
		"deleted":   false,
		"is_bot":    u.IsBot,
		"tz":        "Europe/London",
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
	now := e.clock.now()
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
