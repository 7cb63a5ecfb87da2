package slackemu

import (
	"encoding/json"
	"slices"
	"strings"
)

// Names Slack keeps for itself.
var reservedChannelNames = []string{
	"all", "archive", "archived", "archives", "channel", "channels", "create", "delete",
	"deleted-channel", "edit", "everyone", "general", "group", "groups", "here", "me",
	"ms", "slack", "slackbot", "today", "you",
}

// checkChannelName returns the error code Slack gives for a bad channel
// name, or "".
func (e *Emulator) checkChannelName(name string) string {
	switch {
	case name == "":
		return "invalid_name_required"
	case len([]rune(name)) > 80:
		return "invalid_name_maxlength"
	case strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}):
		return "invalid_name_specials"
	case strings.Trim(name, "-_") == "":
		return "invalid_name_punctuation"
	case slices.Contains(reservedChannelNames, name):
		return "invalid_name"
	case e.channelByNameLocked(name) != nil:
		return "name_taken"
	}
	return ""
}

// channelFor finds the channel a call names, as the bot sees it: a private
// channel the bot is not in does not exist.
func (e *Emulator) channelFor(p params) (*channel, error) {
	id := p.Get("channel")
	c := e.channels[id]
	if c == nil && id != "" {
		c = e.channelByNameLocked(strings.TrimPrefix(id, "#"))
	}
	if c == nil || c.Private && !c.isMember(e.bot.ID) {
		return nil, fail("channel_not_found")
	}
	return c, nil
}

// memberChannelFor is channelFor for methods the bot must be in the
// channel to use.
func (e *Emulator) memberChannelFor(p params) (*channel, error) {
	c, err := e.channelFor(p)
	if err != nil {
		return nil, err
	}
	if !c.isMember(e.bot.ID) {
		return nil, fail("not_in_channel")
	}
	if c.Archived {
		return nil, fail("is_archived")
	}
	return c, nil
}

func (e *Emulator) channelJSON(c *channel) map[string]any {
	return map[string]any{
		"id":              c.ID,
		"name":            c.Name,
		"name_normalized": c.Name,
		"is_channel":      !c.Private,
		"is_group":        false,
		"is_im":           false,
		"is_mpim":         false,
		"is_private":      c.Private,
		"is_archived":     c.Archived,
		"is_general":      false,
		"is_shared":       false,
		"is_ext_shared":   false,
		"is_org_shared":   false,
		"is_member":       c.isMember(e.bot.ID),
		"created":         c.created.Unix(),
		"creator":         c.Creator,
		"num_members":     len(c.Members),
		"topic":           map[string]any{"value": c.Topic, "creator": c.Creator, "last_set": 0},
		"purpose":         map[string]any{"value": "", "creator": "", "last_set": 0},
		"previous_names":  []string{},
	}
}

func (e *Emulator) conversationsCreate(p params) (reply, error) {
	name := p.Get("name")
	if code := e.checkChannelName(name); code != "" {
		return nil, fail(code)
	}
	c := e.createChannelLocked(name, isTrue(p.Get("is_private")), e.bot.ID)
	c.Members = []string{e.bot.ID}
	return reply{"channel": e.channelJSON(c)}, nil
}

func (e *Emulator) conversationsInfo(p params) (reply, error) {
	c, err := e.channelFor(p)
	if err != nil {
		return nil, err
	}
	return reply{"channel": e.channelJSON(c)}, nil
}

func (e *Emulator) conversationsList(p params) (reply, error) {
	types := strings.Split(p.Get("types"), ",")
	if p.Get("types") == "" {
		types = []string{"public_channel"}
	}
	var list []*channel
	for _, id := range e.channelOrder {
		c := e.channels[id]
		switch {
		case c.Archived && isTrue(p.Get("exclude_archived")):
		case !c.Private && slices.Contains(types, "public_channel"),
			c.Private && slices.Contains(types, "private_channel") && c.isMember(e.bot.ID):
			list = append(list, c)
		}
	}
	from, to, next, err := page(len(list), p, 100)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, c := range list[from:to] {
		out = append(out, e.channelJSON(c))
	}
	return reply{"channels": out, "response_metadata": map[string]any{"next_cursor": next}}, nil
}

func (e *Emulator) conversationsMembers(p params) (reply, error) {
	c, err := e.channelFor(p)
	if err != nil {
		return nil, err
	}
	from, to, next, err := page(len(c.Members), p, 100)
	if err != nil {
		return nil, err
	}
	return reply{"members": slices.Clone(c.Members[from:to]), "response_metadata": map[string]any{"next_cursor": next}}, nil
}

// conversationsInvite invites users one by one. Without force the first
// failure fails the call and nobody is invited; with force the valid users
// are invited and every failure is reported in errors.
func (e *Emulator) conversationsInvite(p params) (reply, error) {
	c, err := e.memberChannelFor(p)
	if err != nil {
		return nil, err
	}
	var users []string
	for u := range strings.SplitSeq(p.Get("users"), ",") {
		if u = strings.TrimSpace(u); u != "" {
			users = append(users, u)
		}
	}
	if len(users) == 0 {
		return nil, fail("no_user")
	}
	if len(users) > 1000 {
		return nil, fail("too_many_users")
	}
	force := isTrue(p.Get("force"))
	var ok []string
	var failures []map[string]any
	for _, u := range users {
		code := ""
		switch {
		case e.users[u] == nil:
			code = "user_not_found"
		case u == e.bot.ID:
			code = "cant_invite_self"
		case c.isMember(u) || slices.Contains(ok, u):
			code = "already_in_channel"
		}
		if code == "" {
			ok = append(ok, u)
			continue
		}
		failures = append(failures, map[string]any{"user": u, "ok": false, "error": code})
		if !force {
			return nil, &apiError{code: code, fields: map[string]any{"errors": failures}}
		}
	}
	c.Members = append(c.Members, ok...)
	if len(failures) > 0 {
		return nil, &apiError{code: failures[0]["error"].(string), fields: map[string]any{
			"errors": failures, "channel": e.channelJSON(c),
		}}
	}
	return reply{"channel": e.channelJSON(c)}, nil
}

func (e *Emulator) conversationsSetTopic(p params) (reply, error) {
	c, err := e.memberChannelFor(p)
	if err != nil {
		return nil, err
	}
	topic := p.Get("topic")
	if len([]rune(topic)) > 250 {
		return nil, fail("too_long")
	}
	c.Topic = topic
	return reply{"channel": e.channelJSON(c)}, nil
}

func (e *Emulator) conversationsJoin(p params) (reply, error) {
	c, err := e.channelFor(p)
	if err != nil {
		return nil, err
	}
	if c.Private {
		return nil, fail("method_not_supported_for_channel_type")
	}
	if c.Archived {
		return nil, fail("is_archived")
	}
	if c.isMember(e.bot.ID) {
		return reply{
			"channel":           e.channelJSON(c),
			"warning":           "already_in_channel",
			"response_metadata": map[string]any{"warnings": []string{"already_in_channel"}},
		}, nil
	}
	c.Members = append(c.Members, e.bot.ID)
	return reply{"channel": e.channelJSON(c)}, nil
}

// conversationsHistory lists top-level messages, newest first.
func (e *Emulator) conversationsHistory(p params) (reply, error) {
	c, err := e.channelFor(p)
	if err != nil {
		return nil, err
	}
	if !c.isMember(e.bot.ID) {
		return nil, fail("not_in_channel")
	}
	var list []*Message
	for _, m := range slices.Backward(c.messages) {
		if (m.ThreadTS == "" || m.ThreadTS == m.TS) && inRange(m.TS, p) {
			list = append(list, m)
		}
	}
	from, to, next, err := page(len(list), p, 100)
	if err != nil {
		return nil, err
	}
	return reply{
		"messages":          e.messagesJSON(list[from:to]),
		"has_more":          next != "",
		"pin_count":         0,
		"response_metadata": map[string]any{"next_cursor": next},
	}, nil
}

// conversationsReplies lists a thread, parent first; ts may name the
// parent or any reply.
func (e *Emulator) conversationsReplies(p params) (reply, error) {
	c, err := e.channelFor(p)
	if err != nil {
		return nil, err
	}
	if !c.isMember(e.bot.ID) {
		return nil, fail("not_in_channel")
	}
	m := c.message(p.Get("ts"))
	if m == nil {
		return nil, fail("thread_not_found")
	}
	root := m.TS
	if m.ThreadTS != "" {
		root = m.ThreadTS
	}
	var list []*Message
	for _, m := range c.messages {
		if (m.TS == root || m.ThreadTS == root) && inRange(m.TS, p) {
			list = append(list, m)
		}
	}
	from, to, next, err := page(len(list), p, 1000)
	if err != nil {
		return nil, err
	}
	return reply{
		"messages":          e.messagesJSON(list[from:to]),
		"has_more":          next != "",
		"response_metadata": map[string]any{"next_cursor": next},
	}, nil
}

// inRange applies the oldest, latest and inclusive arguments. Timestamps
// of the form "1700000000.000100" compare correctly as strings of equal
// length, which all of the emulator's are.
func inRange(ts string, p params) bool {
	incl := isTrue(p.Get("inclusive"))
	if o := p.Get("oldest"); o != "" && o != "0" && (ts < o || ts == o && !incl) {
		return false
	}
	if l := p.Get("latest"); l != "" && (ts > l || ts == l && !incl) {
		return false
	}
	return true
}

func (e *Emulator) messagesJSON(list []*Message) []map[string]any {
	out := make([]map[string]any, 0, len(list))
	for _, m := range list {
		out = append(out, e.messageJSON(m))
	}
	return out
}

func (e *Emulator) messageJSON(m *Message) map[string]any {
	j := map[string]any{"type": "message", "ts": m.TS, "user": m.User, "text": m.Text, "team": e.teamID}
	if m.BotID != "" {
		j["bot_id"], j["app_id"] = m.BotID, e.appID
	}
	if m.Blocks != nil {
		j["blocks"] = json.RawMessage(m.Blocks)
	}
	if m.ThreadTS != "" {
		j["thread_ts"] = m.ThreadTS
	}
	if m.ReplyCount > 0 {
		j["reply_count"] = m.ReplyCount
	}
	if m.Edited {
		j["edited"] = map[string]any{"user": m.User, "ts": m.TS}
	}
	return j
}
