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

// conversation finds the conversation a call names by its id, as the bot
// sees it: a private channel the bot is not in does not exist. Like Slack's
// conversations.* methods it takes ids only, not names.
func (e *Emulator) conversation(id string) (*channel, error) {
	c := e.channels[id]
	if c == nil || c.Private && !c.isMember(e.bot.ID) {
		return nil, fail("channel_not_found")
	}
	return c, nil
}

// postTarget finds where chat.postMessage or chat.postEphemeral posts: a
// conversation id, a channel name ("#name" or "name"), or a person's user
// id, which means the app's DM with them (opened if need be).
func (e *Emulator) postTarget(p params) (*channel, error) {
	id := p.Get("channel")
	if u := e.users[id]; u != nil && !u.IsBot {
		if u.Deleted {
			return nil, fail("channel_not_found")
		}
		return e.openIMLocked(u), nil
	}
	if c := e.channels[id]; c != nil || id == "" {
		return e.conversation(id)
	}
	c := e.channelByNameLocked(strings.TrimPrefix(id, "#"))
	if c == nil {
		return nil, fail("channel_not_found")
	}
	return e.conversation(c.ID)
}

// postableLocked checks that the app may post in c: it must be a member,
// and the channel not archived.
func (e *Emulator) postableLocked(c *channel) error {
	if !c.isMember(e.bot.ID) {
		return fail("not_in_channel")
	}
	if c.Archived {
		return fail("is_archived")
	}
	return nil
}

func (e *Emulator) channelJSON(c *channel) map[string]any {
	if c.IM {
		return map[string]any{
			"id":              c.ID,
			"created":         c.created.Unix(),
			"is_im":           true,
			"is_org_shared":   false,
			"user":            c.User,
			"is_user_deleted": e.users[c.User].Deleted,
			"priority":        0,
		}
	}
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
	private := isTrue(p.Get("is_private"))
	typ := "public"
	if private {
		typ = "private"
	}
	if err := e.needFor(opCreate, typ); err != nil {
		return nil, err
	}
	name := p.Get("name")
	if code := e.checkChannelName(name); code != "" {
		return nil, fail(code)
	}
	c := e.createChannelLocked(name, private, e.bot.ID)
	c.Members = []string{e.bot.ID}
	return reply{"channel": e.channelJSON(c)}, nil
}

func (e *Emulator) conversationsInfo(p params) (reply, error) {
	c, err := e.conversation(p.Get("channel"))
	if err != nil {
		return nil, err
	}
	if err := e.needFor(opRead, c.convType()); err != nil {
		return nil, err
	}
	return reply{"channel": e.channelJSON(c)}, nil
}

// listTypes reads a types argument ("public_channel,private_channel,im")
// into conversation types, checking the read scope of each.
func (e *Emulator) listTypes(p params) (map[string]bool, error) {
	arg := p.Get("types")
	if arg == "" {
		arg = "public_channel"
	}
	names := map[string]string{"public_channel": "public", "private_channel": "private", "im": "im", "mpim": "mpim"}
	types := map[string]bool{}
	for t := range strings.SplitSeq(arg, ",") {
		typ, ok := names[strings.TrimSpace(t)]
		if !ok {
			return nil, fail("invalid_types")
		}
		if typ == "mpim" {
			if !e.hasScope("mpim:read") {
				return nil, e.missingScope([]string{"mpim:read"})
			}
			continue // the emulator has no group DMs
		}
		if err := e.needFor(opRead, typ); err != nil {
			return nil, err
		}
		types[typ] = true
	}
	return types, nil
}

func (e *Emulator) conversationsList(p params) (reply, error) {
	types, err := e.listTypes(p)
	if err != nil {
		return nil, err
	}
	var list []*channel
	for _, id := range e.channelOrder {
		c := e.channels[id]
		switch {
		case c.Archived && isTrue(p.Get("exclude_archived")):
		case !types[c.convType()]:
		case c.Private && !c.isMember(e.bot.ID):
		default:
			list = append(list, c)
		}
	}
	return e.channelPage(list, p)
}

func (e *Emulator) channelPage(list []*channel, p params) (reply, error) {
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
	c, err := e.conversation(p.Get("channel"))
	if err != nil {
		return nil, err
	}
	if err := e.needFor(opRead, c.convType()); err != nil {
		return nil, err
	}
	from, to, next, err := page(len(c.Members), p, 100)
	if err != nil {
		return nil, err
	}
	return reply{"members": slices.Clone(c.Members[from:to]), "response_metadata": map[string]any{"next_cursor": next}}, nil
}

// maxInvitees is how many users one conversations.invite may name.
const maxInvitees = 100

// conversationsInvite checks every user first. Without force, any failure
// fails the call and nobody is invited; with force the valid users are
// invited and the call still answers ok=false with every failure. Either
// way error is the first failure and errors lists them all.
func (e *Emulator) conversationsInvite(p params) (reply, error) {
	c, err := e.conversation(p.Get("channel"))
	if err != nil {
		return nil, err
	}
	if c.IM {
		return nil, fail("method_not_supported_for_channel_type")
	}
	if err := e.needFor(opInvite, c.convType()); err != nil {
		return nil, err
	}
	if err := e.postableLocked(c); err != nil {
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
	if len(users) > maxInvitees {
		return nil, fail("too_many_users")
	}
	var ok []string
	var failures []map[string]any
	for _, id := range users {
		code := e.inviteProblemLocked(c, id, ok)
		if code == "" {
			ok = append(ok, id)
			continue
		}
		failures = append(failures, map[string]any{"user": id, "ok": false, "error": code})
	}
	if len(failures) > 0 && !isTrue(p.Get("force")) {
		return nil, &apiError{code: failures[0]["error"].(string), fields: map[string]any{"errors": failures}}
	}
	for _, id := range ok {
		c.Members = append(c.Members, id)
		e.postSystemLocked(c, &Message{User: id, Subtype: "channel_join", Inviter: e.bot.ID, Text: "<@" + id + "> has joined the channel"})
	}
	if len(failures) > 0 {
		return nil, &apiError{code: failures[0]["error"].(string), fields: map[string]any{
			"errors": failures, "channel": e.channelJSON(c),
		}}
	}
	return reply{"channel": e.channelJSON(c)}, nil
}

// inviteProblemLocked is why user id cannot be invited to c (besides the
// users ok already in this call), or "".
func (e *Emulator) inviteProblemLocked(c *channel, id string, ok []string) string {
	u := e.users[id]
	switch {
	case u == nil:
		return "user_not_found"
	case id == e.bot.ID:
		return "cant_invite_self"
	case u.Deleted:
		return "cant_invite"
	case c.isMember(id) || slices.Contains(ok, id):
		return "already_in_channel"
	case u.UltraRestricted && len(e.channelsOfLocked(id)) > 0:
		return "ura_max_channels"
	}
	return ""
}

// channelsOfLocked lists the channels (not DMs) user is in.
func (e *Emulator) channelsOfLocked(user string) []*channel {
	var out []*channel
	for _, id := range e.channelOrder {
		if c := e.channels[id]; !c.IM && c.isMember(user) {
			out = append(out, c)
		}
	}
	return out
}

// maxTopic is the longest topic Slack takes, in characters.
const maxTopic = 250

func (e *Emulator) conversationsSetTopic(p params) (reply, error) {
	c, err := e.conversation(p.Get("channel"))
	if err != nil {
		return nil, err
	}
	if err := e.needFor(opTopic, c.convType()); err != nil {
		return nil, err
	}
	if err := e.postableLocked(c); err != nil {
		return nil, err
	}
	topic := p.Get("topic")
	if chars(topic) > maxTopic {
		return nil, fail("too_long")
	}
	c.Topic = topic
	e.postSystemLocked(c, &Message{User: e.bot.ID, Subtype: "channel_topic", Topic: topic, Text: "set the channel topic: " + topic})
	return reply{"channel": e.channelJSON(c)}, nil
}

func (e *Emulator) conversationsJoin(p params) (reply, error) {
	c, err := e.conversation(p.Get("channel"))
	if err != nil {
		return nil, err
	}
	if c.Private || c.IM {
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
	e.postSystemLocked(c, &Message{User: e.bot.ID, Subtype: "channel_join", Text: "<@" + e.bot.ID + "> has joined the channel"})
	return reply{"channel": e.channelJSON(c)}, nil
}

// historyConversation finds a conversation whose messages the bot may read.
func (e *Emulator) historyConversation(p params) (*channel, error) {
	c, err := e.conversation(p.Get("channel"))
	if err != nil {
		return nil, err
	}
	if err := e.needFor(opHistory, c.convType()); err != nil {
		return nil, err
	}
	if !c.isMember(e.bot.ID) {
		return nil, fail("not_in_channel")
	}
	return c, nil
}

// conversationsHistory lists top-level messages, newest first.
func (e *Emulator) conversationsHistory(p params) (reply, error) {
	c, err := e.historyConversation(p)
	if err != nil {
		return nil, err
	}
	var list []*Message
	for _, m := range slices.Backward(c.messages) {
		if m.TopLevel() && inRange(m.TS, p) {
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
	c, err := e.historyConversation(p)
	if err != nil {
		return nil, err
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

// openIMLocked returns the app's DM with u, opening it if need be.
func (e *Emulator) openIMLocked(u *User) *channel {
	for _, id := range e.channelOrder {
		if c := e.channels[id]; c.IM && c.User == u.ID {
			return c
		}
	}
	c := &channel{Channel: Channel{ID: e.newID("D"), IM: true, Private: true, User: u.ID, Creator: e.bot.ID}, created: e.clock.Now()}
	c.Members = []string{e.bot.ID, u.ID}
	e.channels[c.ID] = c
	e.channelOrder = append(e.channelOrder, c.ID)
	return c
}

// conversationsOpen opens (or finds) the app's DM with one person. Group
// DMs (several users) are not emulated.
func (e *Emulator) conversationsOpen(p params) (reply, error) {
	var c *channel
	already := false
	switch users, id := p.Get("users"), p.Get("channel"); {
	case id != "":
		var err error
		if c, err = e.conversation(id); err != nil {
			return nil, err
		}
		if !c.IM {
			return nil, fail("method_not_supported_for_channel_type")
		}
		already = true
	case users == "":
		return nil, fail("users_list_not_supplied")
	default:
		list := strings.Split(users, ",")
		if len(list) > 8 {
			return nil, fail("too_many_users")
		}
		if len(list) > 1 {
			return nil, fail("method_not_supported_for_channel_type", "[ERROR] the emulator has no group DMs")
		}
		u := e.users[strings.TrimSpace(list[0])]
		switch {
		case u == nil, u.ID == e.bot.ID:
			return nil, fail("user_not_found")
		case u.Deleted:
			return nil, fail("user_disabled")
		}
		if err := e.needFor(opCreate, "im"); err != nil {
			return nil, err
		}
		for _, cid := range e.channelOrder {
			if ch := e.channels[cid]; ch.IM && ch.User == u.ID {
				already = true
			}
		}
		c = e.openIMLocked(u)
	}
	ch := map[string]any{"id": c.ID}
	if isTrue(p.Get("return_im")) {
		ch = e.channelJSON(c)
	}
	return reply{"no_op": already, "already_open": already, "channel": ch}, nil
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
	if m.Subtype != "" {
		j["subtype"] = m.Subtype
	}
	if m.Inviter != "" {
		j["inviter"] = m.Inviter
	}
	if m.Subtype == "channel_topic" {
		j["topic"] = m.Topic
	}
	if len(m.Files) > 0 {
		files := make([]map[string]any, 0, len(m.Files))
		for _, f := range m.Files {
			files = append(files, e.fileJSON(f))
		}
		j["files"], j["upload"], j["display_as_bot"] = files, true, false
	}
	if m.Attachments != nil {
		j["attachments"] = json.RawMessage(m.Attachments)
	}
	return j
}
