package slackemu

import (
	"slices"
	"strings"
)

// AllScopes are the bot token scopes the emulator checks. A token made
// with Options.Scopes nil carries all of them.
var AllScopes = []string{
	"app_mentions:read",
	"channels:history", "channels:join", "channels:manage", "channels:read",
	"channels:write.invites", "channels:write.topic",
	"chat:write",
	"commands",
	"files:read",
	"groups:history", "groups:read", "groups:write", "groups:write.invites", "groups:write.topic",
	"im:history", "im:read", "im:write", "im:write.topic",
	"mpim:history", "mpim:read", "mpim:write", "mpim:write.topic",
	"users:read", "users:read.email",
}

// methodScopes are the bot scopes each Web API method lists in Slack's
// method reference. A token needs one of them to call the method at all;
// methods on conversations then need the one for the conversation's type
// (needFor). Methods not listed need none.
var methodScopes = map[string][]string{
	"chat.postMessage":       {"chat:write"},
	"chat.postEphemeral":     {"chat:write"},
	"chat.update":            {"chat:write"},
	"conversations.create":   {"channels:manage", "groups:write", "im:write", "mpim:write"},
	"conversations.history":  {"channels:history", "groups:history", "im:history", "mpim:history"},
	"conversations.info":     {"channels:read", "groups:read", "im:read", "mpim:read"},
	"conversations.invite":   {"channels:manage", "channels:write.invites", "groups:write", "groups:write.invites", "im:write", "mpim:write"},
	"conversations.join":     {"channels:join"},
	"conversations.list":     {"channels:read", "groups:read", "im:read", "mpim:read"},
	"conversations.members":  {"channels:read", "groups:read", "im:read", "mpim:read"},
	"conversations.open":     {"channels:manage", "groups:write", "im:write", "mpim:write"},
	"conversations.replies":  {"channels:history", "groups:history", "im:history", "mpim:history"},
	"conversations.setTopic": {"channels:manage", "channels:write.topic", "groups:write", "groups:write.topic", "im:write", "im:write.topic"},
	"files.info":             {"files:read"},
	"users.conversations":    {"channels:read", "groups:read", "im:read", "mpim:read"},
	"users.info":             {"users:read"},
	"users.lookupByEmail":    {"users:read.email"},
}

// What a call does to a conversation, for the scope its type needs.
const (
	opRead    = "read"    // conversations.info, .members, .list, users.conversations
	opHistory = "history" // conversations.history, .replies; message events
	opCreate  = "create"  // conversations.create, .open
	opInvite  = "invite"
	opTopic   = "topic"
)

// convScopes are the scopes (any one suffices) an operation needs on each
// conversation type: "public", "private", "im".
var convScopes = map[string]map[string][]string{
	opRead:    {"public": {"channels:read"}, "private": {"groups:read"}, "im": {"im:read"}},
	opHistory: {"public": {"channels:history"}, "private": {"groups:history"}, "im": {"im:history"}},
	opCreate:  {"public": {"channels:manage"}, "private": {"groups:write"}, "im": {"im:write"}},
	opInvite:  {"public": {"channels:manage", "channels:write.invites"}, "private": {"groups:write", "groups:write.invites"}},
	opTopic:   {"public": {"channels:manage", "channels:write.topic"}, "private": {"groups:write", "groups:write.topic"}, "im": {"im:write", "im:write.topic"}},
}

// convType is a conversation's type for scopes and list filters.
func (c *channel) convType() string {
	switch {
	case c.IM:
		return "im"
	case c.Private:
		return "private"
	}
	return "public"
}

// hasScope reports whether the bot token carries one of scopes.
func (e *Emulator) hasScope(scopes ...string) bool {
	return slices.ContainsFunc(scopes, func(s string) bool { return e.scopes[s] })
}

// missingScope is Slack's answer to a token without the scope a call
// needs: the scopes that would do, and the ones the token has.
func (e *Emulator) missingScope(needed []string) error {
	provided := make([]string, 0, len(e.scopes))
	for s := range e.scopes {
		provided = append(provided, s)
	}
	slices.Sort(provided)
	return &apiError{code: "missing_scope", fields: map[string]any{
		"needed":   strings.Join(needed, ","),
		"provided": strings.Join(provided, ","),
	}}
}

// checkMethodScopes is the first check of a call: the token must carry
// one of the scopes the method lists.
func (e *Emulator) checkMethodScopes(method string) error {
	if need := methodScopes[method]; len(need) > 0 && !e.hasScope(need...) {
		return e.missingScope(need)
	}
	return nil
}

// needFor checks the scope an operation needs on a conversation of type
// typ ("public", "private", "im").
func (e *Emulator) needFor(op, typ string) error {
	need := convScopes[op][typ]
	if len(need) == 0 {
		return fail("method_not_supported_for_channel_type")
	}
	if !e.hasScope(need...) {
		return e.missingScope(need)
	}
	return nil
}

// Scopes lists the bot token's scopes, sorted.
func (e *Emulator) Scopes() []string {
	out := make([]string, 0, len(e.scopes))
	for s := range e.scopes {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}
