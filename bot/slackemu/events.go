package slackemu

import "slices"

// eventScopes are the scopes the app's token needs to hear each event.
var eventScopes = map[string][]string{
	"message.channels": {"channels:history"},
	"message.groups":   {"groups:history"},
	"message.im":       {"im:history"},
	"app_mention":      {"app_mentions:read"},
	"app_home_opened":  nil,
}

// subscribedLocked reports whether the app hears event: it subscribes to
// it (Options.Events nil: to every event) and its token has the scope the
// event needs.
func (e *Emulator) subscribedLocked(event string) bool {
	if e.opts.Events != nil && !slices.Contains(e.opts.Events, event) {
		return false
	}
	need := eventScopes[event]
	return len(need) == 0 || e.hasScope(need...)
}

// messageEvent is the Events API subscription that carries message
// events from c.
func (c *channel) messageEvent() string {
	switch {
	case c.IM:
		return "message.im"
	case c.Private:
		return "message.groups"
	}
	return "message.channels"
}

// channelType is a message event's channel_type for c.
func (c *channel) channelType() string {
	switch {
	case c.IM:
		return "im"
	case c.Private:
		return "group"
	}
	return "channel"
}

// messageEventLocked is the message event for m as posted in c.
func (e *Emulator) messageEventLocked(c *channel, m *Message) map[string]any {
	ev := e.messageJSON(m)
	ev["channel"], ev["event_ts"], ev["channel_type"] = c.ID, m.TS, c.channelType()
	if m.ThreadTS != "" && m.ThreadTS != m.TS {
		if parent := c.message(m.ThreadTS); parent != nil {
			ev["parent_user_id"] = parent.User
			if m.Subtype == "thread_broadcast" {
				ev["root"] = e.messageJSON(parent)
			}
		}
	}
	return ev
}

// emitMessageLocked tells the app about a message event in c, when the app
// is in c and subscribed to c's message events.
func (e *Emulator) emitMessageLocked(c *channel, ev map[string]any) {
	if !c.isMember(e.bot.ID) || !e.subscribedLocked(c.messageEvent()) {
		return
	}
	e.emitEventLocked(ev)
}

// postSystemLocked adds a message Slack itself posts (channel_join,
// channel_topic) to c and tells the app, as Slack does.
func (e *Emulator) postSystemLocked(c *channel, m *Message) {
	_ = e.addMessageLocked(c, m)
	e.emitMessageLocked(c, e.messageEventLocked(c, m))
}
