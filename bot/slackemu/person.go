package slackemu

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ClickResult is what a person's click produced.
type ClickResult struct {
	TriggerID   string // handed to the app with the click
	ResponseURL string
	Acked       bool   // the app acknowledged within 3 seconds
	Problem     string // what Slack showed instead (ProblemTimeout, ...), "" when acked
}

// ViewResult is what a person sees after submitting a modal.
type ViewResult struct {
	TriggerID string
	Acked     bool
	Problem   string            // Slack's error instead of the app's answer, "" when none
	Errors    map[string]string // messages shown under the inputs, by block_id
	Closed    bool              // the submitted modal closed
	View      *View             // the modal on screen afterwards, nil when none
}

// SlashResult is what a person's slash command produced.
type SlashResult struct {
	TriggerID   string
	ResponseURL string
	Acked       bool
	Problem     string
}

// errPerson reports an action the person could not have taken in Slack.
func errPerson(format string, args ...any) error {
	return fmt.Errorf("slackemu: "+format, args...)
}

func (e *Emulator) userRef(u *User) map[string]any {
	return map[string]any{"id": u.ID, "username": u.Name, "name": u.Name, "team_id": e.teamID}
}

func (e *Emulator) teamRef() map[string]any {
	return map[string]any{"id": e.teamID, "domain": e.opts.TeamName}
}

// personInChannelLocked checks that user exists and can see the channel.
func (e *Emulator) personInChannelLocked(userID, channelID string, mustBeMember bool) (*User, *channel, error) {
	u := e.users[userID]
	if u == nil || u.IsBot {
		return nil, nil, errPerson("no person %s", userID)
	}
	if u.Deleted {
		return nil, nil, errPerson("%s is deactivated", userID)
	}
	c := e.channels[channelID]
	if c == nil {
		return nil, nil, errPerson("no channel %s", channelID)
	}
	if (c.Private || mustBeMember) && !c.isMember(userID) {
		return nil, nil, errPerson("%s is not in channel %s: not_in_channel", userID, c.Name)
	}
	return u, c, nil
}

// ClickButton has a person click an interactive element of a message: a
// button (value must be empty or the button's own value), or choose value
// in a select, overflow menu, date picker. The app receives block_actions
// with a fresh trigger_id and response_url; ClickButton returns once it
// acknowledged or 3 emulated seconds passed.
func (e *Emulator) ClickButton(userID, channelID, messageTS, actionID, value string) (ClickResult, error) {
	e.mu.Lock()
	u, c, err := e.personInChannelLocked(userID, channelID, false)
	if err != nil {
		e.mu.Unlock()
		return ClickResult{}, err
	}
	m := c.message(messageTS)
	if m == nil {
		e.mu.Unlock()
		return ClickResult{}, errPerson("no message %s in %s", messageTS, c.Name)
	}
	container := map[string]any{"type": "message", "message_ts": m.TS, "channel_id": c.ID, "is_ephemeral": false}
	if m.ThreadTS != "" && m.ThreadTS != m.TS {
		container["thread_ts"] = m.ThreadTS
	}
	return e.clickLocked(u, m.Blocks, actionID, value, func(res *ClickResult) map[string]any {
		res.ResponseURL = e.newResponseURLLocked(userID, c.ID, m.TS)
		return map[string]any{
			"container":    container,
			"channel":      map[string]any{"id": c.ID, "name": c.Name},
			"message":      e.messageJSON(m),
			"state":        map[string]any{"values": map[string]any{}},
			"response_url": res.ResponseURL,
		}
	})
}

// clickLocked sends the app the block_actions of person u choosing value
// in the element actionID of blocks, with a fresh trigger_id, and what
// differs by surface (container, channel, message or view, response_url)
// from surface; it unlocks e.mu before the app is called, and returns once
// the app acknowledged or 3 emulated seconds passed.
func (e *Emulator) clickLocked(u *User, blocks json.RawMessage, actionID, value string, surface func(*ClickResult) map[string]any) (ClickResult, error) {
	action, err := blockAction(blocks, actionID, value)
	if err != nil {
		e.mu.Unlock()
		return ClickResult{}, err
	}
	action["action_ts"] = e.newTS()
	res := ClickResult{TriggerID: e.issueTriggerLocked(u.ID)}
	payload := map[string]any{
		"type":                  "block_actions",
		"token":                 e.opts.VerificationToken,
		"api_app_id":            e.appID,
		"team":                  e.teamRef(),
		"enterprise":            nil,
		"is_enterprise_install": false,
		"user":                  e.userRef(u),
		"trigger_id":            res.TriggerID,
		"actions":               []any{action},
	}
	maps.Copy(payload, surface(&res))
	e.mu.Unlock()

	ack := e.interact("interactive", payload, false)
	res.Acked, res.Problem = ack.acked, ack.problem
	return res, nil
}

// ClickInView has a person click an interactive element of a view on
// their screen: their Home tab, or the modal on top of their stack. The app
// receives block_actions with container type "view", the view as it is
// (with its hash), a fresh trigger_id and no response_url (Slack gives none
// for a view); ClickInView returns once it acknowledged or 3 emulated
// seconds passed.
func (e *Emulator) ClickInView(userID, viewID, actionID, value string) (ClickResult, error) {
	e.mu.Lock()
	u := e.users[userID]
	v := e.views[viewID]
	stack := e.stacks[userID]
	switch {
	case u == nil || u.IsBot || u.Deleted:
		e.mu.Unlock()
		return ClickResult{}, errPerson("no active person %s", userID)
	case v == nil || v.User != userID:
		e.mu.Unlock()
		return ClickResult{}, errPerson("view %s is not %s's", viewID, userID)
	case v.Type == "modal" && (len(stack) == 0 || stack[len(stack)-1] != viewID):
		e.mu.Unlock()
		return ClickResult{}, errPerson("modal %s is not on top of %s's screen", viewID, userID)
	}
	return e.clickLocked(u, v.Blocks, actionID, value, func(*ClickResult) map[string]any {
		return map[string]any{
			"container": map[string]any{"type": "view", "view_id": v.ID},
			"view":      e.viewJSON(v, nil),
		}
	})
}

// ClickEphemeral has a person click an interactive element of an ephemeral
// message they were shown (Ephemerals gives its TS). As Slack does, the
// payload's container says is_ephemeral and carries no message: the app
// knows only the channel, the element and its value. It comes with a
// trigger_id and a response_url (which can replace or delete the ephemeral
// message).
func (e *Emulator) ClickEphemeral(userID, ts, actionID, value string) (ClickResult, error) {
	e.mu.Lock()
	var eph *Ephemeral
	for i := range e.ephemerals {
		if m := &e.ephemerals[i]; m.User == userID && m.TS == ts {
			eph = m
		}
	}
	if eph == nil {
		e.mu.Unlock()
		return ClickResult{}, errPerson("no ephemeral message %s shown to %s", ts, userID)
	}
	u, c, err := e.personInChannelLocked(userID, eph.Channel, false)
	if err != nil {
		e.mu.Unlock()
		return ClickResult{}, err
	}
	return e.clickLocked(u, eph.Blocks, actionID, value, func(res *ClickResult) map[string]any {
		res.ResponseURL = e.newResponseURLLocked(userID, c.ID, "")
		return map[string]any{
			"container":    map[string]any{"type": "message", "message_ts": eph.TS, "channel_id": c.ID, "is_ephemeral": true},
			"channel":      map[string]any{"id": c.ID, "name": c.Name},
			"state":        map[string]any{"values": map[string]any{}},
			"response_url": res.ResponseURL,
		}
	})
}

// blockAction finds the element actionID in a message's blocks and returns
// the action Slack reports for choosing value in it.
func blockAction(blocks json.RawMessage, actionID, value string) (map[string]any, error) {
	var list []map[string]any
	_ = json.Unmarshal(blocks, &list)
	for _, b := range list {
		var elements []any
		if els, ok := b["elements"].([]any); ok && b["type"] == "actions" {
			elements = els
		}
		if acc, ok := b["accessory"].(map[string]any); ok {
			elements = append(elements, acc)
		}
		for _, el := range elements {
			el, _ := el.(map[string]any)
			if el["action_id"] != actionID {
				continue
			}
			return elementAction(el, b["block_id"], value)
		}
	}
	return nil, errPerson("no element with action_id %q in the message", actionID)
}

func elementAction(el map[string]any, blockID any, value string) (map[string]any, error) {
	typ, _ := el["type"].(string)
	a := map[string]any{"type": typ, "action_id": el["action_id"], "block_id": blockID}
	switch typ {
	case "button":
		own, _ := el["value"].(string)
		if value != "" && value != own {
			return nil, errPerson("button %v has value %q, not %q", el["action_id"], own, value)
		}
		a["text"], a["value"] = el["text"], own
		if s, ok := el["style"]; ok {
			a["style"] = s
		}
	case "static_select", "overflow", "radio_buttons":
		opt, ok := findOption(el, value)
		if !ok {
			return nil, errPerson("%s %v has no option %q", typ, el["action_id"], value)
		}
		a["selected_option"] = opt
	case "users_select":
		a["selected_user"] = value
	case "conversations_select":
		a["selected_conversation"] = value
	case "channels_select":
		a["selected_channel"] = value
	case "datepicker":
		a["selected_date"] = value
	default:
		a["value"] = value
	}
	return a, nil
}

// findOption finds the option with value among an element's options and
// option groups.
func findOption(el map[string]any, value string) (map[string]any, bool) {
	opts, _ := el["options"].([]any)
	groups, _ := el["option_groups"].([]any)
	for _, g := range groups {
		if g, ok := g.(map[string]any); ok {
			more, _ := g["options"].([]any)
			opts = append(opts, more...)
		}
	}
	for _, o := range opts {
		if o, ok := o.(map[string]any); ok && o["value"] == value {
			return o, true
		}
	}
	return nil, false
}

// SubmitView has a person fill in the modal on their screen and press its
// submit button. values maps an input block's block_id to what the person
// typed or chose (an option's value; several comma-separated for multi
// selects and checkboxes). Like Slack's client it refuses to send a form
// with a required input left empty, and shows the errors instead. Then it
// applies the app's response_action and returns what the person sees.
func (e *Emulator) SubmitView(userID, viewID string, values map[string]string) (ViewResult, error) {
	e.mu.Lock()
	u := e.users[userID]
	stack := e.stacks[userID]
	if u == nil || len(stack) == 0 || stack[len(stack)-1] != viewID {
		e.mu.Unlock()
		return ViewResult{}, errPerson("view %s is not on %s's screen", viewID, userID)
	}
	v := e.views[viewID]
	state, missing, err := viewState(v, values)
	if err != nil || len(missing) > 0 {
		e.mu.Unlock()
		shown := *v
		return ViewResult{Errors: missing, View: &shown}, err
	}
	res := ViewResult{TriggerID: e.issueTriggerLocked(userID)}
	payload := map[string]any{
		"type":                  "view_submission",
		"token":                 e.opts.VerificationToken,
		"api_app_id":            e.appID,
		"team":                  e.teamRef(),
		"enterprise":            nil,
		"is_enterprise_install": false,
		"user":                  e.userRef(u),
		"trigger_id":            res.TriggerID,
		"view":                  e.viewJSON(v, state),
		"response_urls":         []any{},
	}
	e.mu.Unlock()

	ack := e.interact("interactive", payload, true)
	res.Acked, res.Problem = ack.acked, ack.problem

	e.mu.Lock()
	defer e.mu.Unlock()
	if ack.acked {
		res.Problem, res.Errors, res.Closed = e.applyViewResponseLocked(userID, viewID, ack.payload)
	}
	if stack := e.stacks[userID]; len(stack) > 0 {
		top := *e.views[stack[len(stack)-1]]
		res.View = &top
	}
	e.changedLocked()
	return res, nil
}

// applyViewResponseLocked does what Slack does with the answer to a view
// submission.
func (e *Emulator) applyViewResponseLocked(userID, viewID string, answer json.RawMessage) (problem string, errs map[string]string, closed bool) {
	var resp struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
		View           json.RawMessage   `json:"view"`
	}
	if len(answer) > 0 && json.Unmarshal(answer, &resp) != nil {
		return ProblemBadResponse, nil, false
	}
	pos := slices.Index(e.stacks[userID], viewID)
	if pos < 0 {
		return "", nil, true // the app closed it meanwhile
	}
	v := e.views[viewID]
	switch resp.ResponseAction {
	case "":
		e.closeViewsLocked(userID, pos)
		return "", nil, true
	case "clear":
		e.closeViewsLocked(userID, 0)
		return "", nil, true
	case "errors":
		inputs := map[string]bool{}
		for _, b := range inputBlocks(v) {
			inputs[b["block_id"].(string)] = true
		}
		for id := range resp.Errors {
			if !inputs[id] {
				return ProblemBadResponse, nil, false
			}
		}
		return "", resp.Errors, false
	case "update", "push":
		nv, err := e.parseView(string(resp.View), "modal")
		if err != nil {
			return ProblemBadResponse, nil, false
		}
		if resp.ResponseAction == "update" {
			e.replaceViewLocked(v, nv)
			return "", nil, false
		}
		if len(e.stacks[userID]) >= maxModalStack {
			return ProblemBadResponse, nil, false
		}
		e.openViewLocked(nv, userID, true)
		return "", nil, false
	}
	return ProblemBadResponse, nil, false
}

// viewState builds view.state.values from what a person entered, and the
// "required" errors Slack's client shows for empty required inputs.
func viewState(v *View, values map[string]string) (map[string]any, map[string]string, error) {
	blocks := inputBlocks(v)
	for id := range values {
		if !slices.ContainsFunc(blocks, func(b map[string]any) bool { return b["block_id"] == id }) {
			return nil, nil, errPerson("view %s has no input block %q", v.ID, id)
		}
	}
	state := map[string]any{}
	missing := map[string]string{}
	for _, b := range blocks {
		id := b["block_id"].(string)
		el, _ := b["element"].(map[string]any)
		typ, _ := el["type"].(string)
		actionID, _ := el["action_id"].(string)
		val := values[id]
		if val == "" && b["optional"] != true {
			missing[id] = "Please complete this required field."
		}
		if typ == "plain_text_input" && val != "" {
			most, least := float64(maxInputLength), 0.0
			if n, ok := el["max_length"].(float64); ok {
				most = n
			}
			if n, ok := el["min_length"].(float64); ok {
				least = n
			}
			switch n := float64(chars(val)); {
			case n > most:
				return nil, nil, errPerson("input %q takes at most %v characters; Slack's client stops typing there", id, most)
			case n < least:
				missing[id] = fmt.Sprintf("Please enter at least %v characters.", least)
			}
		}
		entry, err := inputValue(el, typ, val)
		if err != nil {
			return nil, nil, err
		}
		state[id] = map[string]any{actionID: entry}
	}
	if len(missing) == 0 {
		missing = nil
	}
	return state, missing, nil
}

// inputValue is one input's entry in view.state.values.
func inputValue(el map[string]any, typ, val string) (map[string]any, error) {
	entry := map[string]any{"type": typ}
	var parts []string
	if val != "" {
		parts = strings.Split(val, ",")
	}
	switch typ {
	case "static_select", "radio_buttons":
		entry["selected_option"] = nil
		if val != "" {
			opt, ok := findOption(el, val)
			if !ok {
				return nil, errPerson("%s %v has no option %q", typ, el["action_id"], val)
			}
			entry["selected_option"] = opt
		}
	case "multi_static_select", "checkboxes":
		chosen := []any{}
		for _, p := range parts {
			opt, ok := findOption(el, p)
			if !ok {
				return nil, errPerson("%s %v has no option %q", typ, el["action_id"], p)
			}
			chosen = append(chosen, opt)
		}
		entry["selected_options"] = chosen
	case "users_select":
		entry["selected_user"] = nilIfEmpty(val)
	case "multi_users_select":
		entry["selected_users"] = append([]string{}, parts...)
	case "conversations_select":
		entry["selected_conversation"] = nilIfEmpty(val)
	case "channels_select":
		entry["selected_channel"] = nilIfEmpty(val)
	case "datepicker":
		entry["selected_date"] = nilIfEmpty(val)
	case "timepicker":
		entry["selected_time"] = nilIfEmpty(val)
	default:
		entry["value"] = nilIfEmpty(val)
	}
	return entry, nil
}

// Say has a person post a top-level message; the app gets a message event
// when it is in the channel.
func (e *Emulator) Say(userID, channelID, text string) (string, error) {
	m, err := e.personPost(userID, channelID, &Message{Text: text})
	return m.TS, err
}

// ReplyInThread has a person reply in a thread; the app gets a message
// event with thread_ts when it is in the channel.
func (e *Emulator) ReplyInThread(userID, channelID, threadTS, text string) (string, error) {
	if threadTS == "" {
		return "", errPerson("a thread reply needs a thread_ts")
	}
	m, err := e.personPost(userID, channelID, &Message{Text: text, ThreadTS: threadTS})
	return m.TS, err
}

// BroadcastReply has a person reply in a thread and tick "Also send to
// #channel": the reply shows in the thread and in the channel, and the app
// gets a message event with subtype thread_broadcast and the thread's root.
func (e *Emulator) BroadcastReply(userID, channelID, threadTS, text string) (string, error) {
	if threadTS == "" {
		return "", errPerson("a thread reply needs a thread_ts")
	}
	m, err := e.personPost(userID, channelID, &Message{Text: text, ThreadTS: threadTS, Subtype: "thread_broadcast"})
	return m.TS, err
}

// UploadFile has a person upload a file into a channel, or into a thread
// when threadTS is set, with up.Text as the message: the app gets a message
// event with subtype file_share and the file (id, name, mimetype,
// permalink). It returns the file and the message's ts.
func (e *Emulator) UploadFile(userID, channelID, threadTS string, up Upload) (File, string, error) {
	if up.Name == "" {
		return File{}, "", errPerson("an upload needs a file name")
	}
	m, err := e.personPost(userID, channelID, &Message{Text: up.Text, ThreadTS: threadTS, Subtype: "file_share"}, up)
	if err != nil {
		return File{}, "", err
	}
	return m.Files[0], m.TS, nil
}

func (e *Emulator) personPost(userID, channelID string, m *Message, uploads ...Upload) (Message, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, c, err := e.personInChannelLocked(userID, channelID, true)
	if err != nil {
		return Message{}, err
	}
	if m.ThreadTS != "" && c.message(m.ThreadTS) == nil {
		return Message{}, errPerson("no message %s in %s to reply to", m.ThreadTS, c.ID)
	}
	m.User = userID
	for _, up := range uploads {
		m.Files = append(m.Files, e.newFileLocked(u, c, up))
	}
	if err := e.addMessageLocked(c, m); err != nil {
		return Message{}, errPerson("no message %s in %s to reply to", m.ThreadTS, c.ID)
	}
	e.changedLocked()
	event := e.messageEventLocked(c, m)
	event["client_msg_id"] = uuid()
	e.emitMessageLocked(c, event)
	if strings.Contains(m.Text, "<@"+e.bot.ID+">") && c.isMember(e.bot.ID) && e.subscribedLocked("app_mention") {
		mention := map[string]any{}
		for k, v := range event {
			mention[k] = v
		}
		mention["type"] = "app_mention"
		delete(mention, "channel_type")
		e.emitEventLocked(mention)
	}
	return *m, nil
}

// ownMessageLocked finds a message a person posted, for them to edit or
// delete.
func (e *Emulator) ownMessageLocked(userID, channelID, ts string) (*channel, *Message, error) {
	_, c, err := e.personInChannelLocked(userID, channelID, true)
	if err != nil {
		return nil, nil, err
	}
	m := c.message(ts)
	switch {
	case m == nil:
		return nil, nil, errPerson("no message %s in %s", ts, c.ID)
	case m.User != userID || m.BotID != "" || m.Subtype == "channel_join" || m.Subtype == "channel_topic" || m.Subtype == "tombstone":
		return nil, nil, errPerson("%s cannot change message %s: it is not theirs", userID, ts)
	}
	return c, m, nil
}

// EditMessage has a person edit their message: the app gets a message
// event with subtype message_changed, the message as it is now and as it
// was (previous_message).
func (e *Emulator) EditMessage(userID, channelID, ts, text string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, m, err := e.ownMessageLocked(userID, channelID, ts)
	if err != nil {
		return err
	}
	previous := e.messageJSON(m)
	m.Text, m.Edited = text, true
	e.changedLocked()
	now := e.newTS()
	e.emitMessageLocked(c, map[string]any{
		"type": "message", "subtype": "message_changed", "hidden": true,
		"channel": c.ID, "ts": now, "event_ts": now, "channel_type": c.channelType(),
		"message": e.messageJSON(m), "previous_message": previous,
	})
	return nil
}

// DeleteMessage has a person delete their message: it leaves the channel
// (a thread's parent with replies stays as a "This message was deleted."
// tombstone) and the app gets a message event with subtype
// message_deleted, deleted_ts and previous_message.
func (e *Emulator) DeleteMessage(userID, channelID, ts string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, m, err := e.ownMessageLocked(userID, channelID, ts)
	if err != nil {
		return err
	}
	previous := e.messageJSON(m)
	if m.ReplyCount > 0 {
		*m = Message{Channel: m.Channel, TS: m.TS, ThreadTS: m.ThreadTS, ReplyCount: m.ReplyCount,
			User: "USLACKBOT", Subtype: "tombstone", Text: "This message was deleted."}
	} else {
		e.deleteMessageLocked(c, m)
	}
	e.changedLocked()
	now := e.newTS()
	e.emitMessageLocked(c, map[string]any{
		"type": "message", "subtype": "message_deleted", "hidden": true,
		"channel": c.ID, "ts": now, "event_ts": now, "channel_type": c.channelType(),
		"deleted_ts": ts, "previous_message": previous,
	})
	return nil
}

// OpenDM returns the app's direct message conversation with a person,
// opening it if need be; the person can then Say things in it.
func (e *Emulator) OpenDM(userID string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.users[userID]
	if u == nil || u.IsBot || u.Deleted {
		return "", errPerson("no active person %s", userID)
	}
	c := e.openIMLocked(u)
	e.changedLocked()
	return c.ID, nil
}

// OpenHome has a person open the app's Home tab: the app gets an
// app_home_opened event (tab "home", the DM channel, and the view now
// published for them, if any). HomeView shows what they then see.
func (e *Emulator) OpenHome(userID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.users[userID]
	if u == nil || u.IsBot || u.Deleted {
		return errPerson("no active person %s", userID)
	}
	if e.opts.NoHomeTab {
		return errPerson("the app has no Home tab (its manifest does not enable it)")
	}
	c := e.openIMLocked(u)
	ts := e.newTS()
	event := map[string]any{"type": "app_home_opened", "user": u.ID, "channel": c.ID, "tab": "home", "event_ts": ts}
	if v := e.views[e.homes[u.ID]]; v != nil {
		event["view"] = e.viewJSON(v, nil)
	}
	if e.subscribedLocked("app_home_opened") {
		e.emitEventLocked(event)
	}
	e.changedLocked()
	return nil
}

// SlashCommand has a person run a slash command in a channel (or a DM).
// The app gets it as a slash_commands envelope, or a signed form POST to
// CommandsURL, with a trigger_id and a response_url (5 posts within 30
// minutes), and has 3 seconds to acknowledge. What the acknowledgement
// carries is shown as Slack shows it: in the channel for response_type
// "in_channel", else to the person alone (Ephemerals). Over HTTP a body
// is read as JSON only with Content-Type application/json; any other body
// is shown as plain text.
func (e *Emulator) SlashCommand(userID, channelID, command, text string) (SlashResult, error) {
	e.mu.Lock()
	u, c, err := e.personInChannelLocked(userID, channelID, false)
	if err != nil {
		e.mu.Unlock()
		return SlashResult{}, err
	}
	if !strings.HasPrefix(command, "/") || len(command) < 2 || strings.ContainsAny(command, " \t\n") ||
		!e.scopes["commands"] || e.opts.Commands != nil && !slices.Contains(e.opts.Commands, command) {
		e.mu.Unlock()
		return SlashResult{}, errPerson("%s is not a valid command", command)
	}
	name := c.Name
	switch {
	case c.IM:
		name = "directmessage"
	case c.Private:
		name = "privategroup"
	}
	res := SlashResult{TriggerID: e.issueTriggerLocked(userID), ResponseURL: e.newResponseURLLocked(userID, c.ID, "")}
	payload := map[string]any{
		"token": e.opts.VerificationToken, "team_id": e.teamID, "team_domain": e.opts.TeamName,
		"channel_id": c.ID, "channel_name": name, "user_id": u.ID, "user_name": u.Name,
		"command": command, "text": text, "api_app_id": e.appID, "is_enterprise_install": "false",
		"response_url": res.ResponseURL, "trigger_id": res.TriggerID,
	}
	e.mu.Unlock()

	ack := e.interact("slash_commands", payload, true)
	res.Acked, res.Problem = ack.acked, ack.problem
	if !ack.acked || len(ack.payload) == 0 || string(ack.payload) == "null" {
		return res, nil // acknowledged without an answer: nothing is shown
	}
	var msg responseMessage
	switch {
	case ack.contentType != "" && ack.contentType != "application/json":
		msg = responseMessage{Text: string(ack.payload)} // shown as text, as Slack does
	case json.Unmarshal(ack.payload, &msg) != nil:
		res.Problem = ProblemBadResponse
		return res, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.showResponseLocked(&responseURL{user: userID, channel: c.ID}, msg); err != nil {
		res.Problem = ProblemBadResponse
	}
	e.changedLocked()
	return res, nil
}
