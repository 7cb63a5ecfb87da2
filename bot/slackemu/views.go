package slackemu

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// triggerLifetime is how long a trigger_id can be exchanged for a view.
const triggerLifetime = 3 * time.Second

// maxModalStack is how many modals Slack stacks at most.
const maxModalStack = 3

type trigger struct {
	user   string
	issued time.Time
	used   bool
}

// issueTriggerLocked hands out a trigger_id for something user just did.
func (e *Emulator) issueTriggerLocked(user string) string {
	now := e.clock.Now()
	id := fmt.Sprintf("%d.%s.%s", now.UnixMicro(), e.teamID, randomHex(8))
	e.triggers[id] = &trigger{user: user, issued: now}
	return id
}

// useTriggerLocked exchanges a trigger_id once, within its lifetime.
func (e *Emulator) useTriggerLocked(id string) (*trigger, error) {
	t := e.triggers[id]
	switch {
	case id == "":
		return nil, fail("invalid_arguments", "[ERROR] missing required field: trigger_id")
	case t == nil:
		return nil, fail("invalid_trigger_id")
	case t.used:
		return nil, fail("exchanged_trigger_id")
	case e.clock.Now().Sub(t.issued) > triggerLifetime:
		return nil, fail("expired_trigger_id")
	}
	t.used = true
	return t, nil
}

// parseView validates a view argument like Slack does and returns it with
// the block and action ids Slack would fill in. Every problem is reported
// as invalid_arguments with Slack's "[ERROR] <what> [json-pointer:/view…]"
// messages.
func (e *Emulator) parseView(raw, wantType string) (*View, error) {
	if raw == "" {
		return nil, fail("invalid_arguments", "[ERROR] missing required field: view")
	}
	var obj map[string]any
	if err := decodeJSON([]byte(raw), &obj); err != nil || obj == nil {
		return nil, fail("invalid_arguments", "[ERROR] must provide an object [json-pointer:/view]")
	}
	k := &kit{surface: inModal, blockIDs: map[string]bool{}}
	if wantType == "home" {
		k.surface = inHome
	}
	if t, _ := obj["type"].(string); t != wantType {
		k.bad("/view/type", "must be %s", strconv.Quote(wantType))
		return nil, fail("invalid_arguments", k.messages()...)
	}
	if wantType == "modal" {
		k.textObject("/view/title", obj["title"], maxModalTitle, plainOnly, true)
		for _, f := range []string{"submit", "close"} {
			if obj[f] != nil {
				k.textObject("/view/"+f, obj[f], maxModalTitle, plainOnly, true)
			}
		}
	}
	k.str("/view/private_metadata", obj["private_metadata"], 0, maxPrivateMetadata, false)
	k.str("/view/callback_id", obj["callback_id"], 0, maxCallbackID, false)
	k.str("/view/external_id", obj["external_id"], 0, maxExternalID, false)
	blocks, ok := obj["blocks"].([]any)
	if !ok {
		k.bad("/view/blocks", "missing required field: blocks")
	} else {
		k.blocks("/view/blocks", blocks, maxViewBlocks)
	}
	inputs := 0
	for _, b := range blocks {
		if m, _ := b.(map[string]any); m["type"] == "input" {
			inputs++
		}
	}
	if wantType == "modal" && inputs > 0 && obj["submit"] == nil {
		k.bad("/view/submit", "must provide a submit property when using input blocks")
	}
	if len(k.problems) > 0 {
		return nil, fail("invalid_arguments", k.messages()...)
	}
	v := &View{Type: wantType}
	v.CallbackID, _ = obj["callback_id"].(string)
	v.PrivateMetadata, _ = obj["private_metadata"].(string)
	v.ExternalID, _ = obj["external_id"].(string)
	if title, ok := obj["title"].(map[string]any); ok {
		v.Title, _ = title["text"].(string)
	}
	v.Blocks = encodeJSON(blocks)
	v.JSON = encodeJSON(obj)
	return v, nil
}

// viewJSON is a view as Slack reports it, with its state.
func (e *Emulator) viewJSON(v *View, state map[string]any) map[string]any {
	var j map[string]any
	_ = json.Unmarshal(v.JSON, &j)
	if state == nil {
		state = map[string]any{}
	}
	for k, val := range map[string]any{
		"id": v.ID, "team_id": e.teamID, "type": v.Type, "blocks": json.RawMessage(v.Blocks),
		"private_metadata": v.PrivateMetadata, "callback_id": v.CallbackID, "external_id": v.ExternalID,
		"state": map[string]any{"values": state}, "hash": v.Hash,
		"root_view_id": v.RootViewID, "previous_view_id": nilIfEmpty(v.PreviousViewID),
		"app_id": e.appID, "bot_id": e.botID, "app_installed_team_id": e.teamID,
	} {
		j[k] = val
	}
	return j
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (e *Emulator) newHash() string {
	return fmt.Sprintf("%d.%s", e.clock.Now().Unix(), randomHex(4))
}

func (e *Emulator) checkExternalID(v *View, except string) error {
	if v.ExternalID == "" {
		return nil
	}
	for id, other := range e.views {
		if id != except && other.ExternalID == v.ExternalID {
			return fail("duplicate_external_id")
		}
	}
	return nil
}

// openViewLocked puts a new modal on user's screen: alone, or pushed onto
// the stack.
func (e *Emulator) openViewLocked(v *View, user string, push bool) {
	v.ID, v.User, v.Hash = e.newID("V"), user, e.newHash()
	stack := e.stacks[user]
	if push && len(stack) > 0 {
		v.RootViewID, v.PreviousViewID = e.views[stack[0]].ID, stack[len(stack)-1]
	} else {
		e.closeViewsLocked(user, 0)
		stack, v.RootViewID = nil, v.ID
	}
	e.views[v.ID] = v
	e.stacks[user] = append(stack, v.ID)
}

// closeViewsLocked closes user's modals from stack position from upwards.
func (e *Emulator) closeViewsLocked(user string, from int) {
	stack := e.stacks[user]
	if from >= len(stack) {
		return
	}
	for _, id := range stack[from:] {
		delete(e.views, id)
	}
	if from == 0 {
		delete(e.stacks, user)
	} else {
		e.stacks[user] = stack[:from]
	}
}

// replaceViewLocked gives an open view new content, keeping its id.
func (e *Emulator) replaceViewLocked(old, v *View) {
	v.ID, v.User, v.Hash = old.ID, old.User, e.newHash()
	v.RootViewID, v.PreviousViewID = old.RootViewID, old.PreviousViewID
	e.views[v.ID] = v
}

func (e *Emulator) viewsOpen(p params) (reply, error) {
	v, err := e.parseView(p.Get("view"), "modal")
	if err != nil {
		return nil, err
	}
	if err := e.checkExternalID(v, ""); err != nil {
		return nil, err
	}
	t, err := e.useTriggerLocked(p.Get("trigger_id"))
	if err != nil {
		return nil, err
	}
	e.openViewLocked(v, t.user, false)
	return reply{"view": e.viewJSON(v, nil)}, nil
}

func (e *Emulator) viewsPush(p params) (reply, error) {
	v, err := e.parseView(p.Get("view"), "modal")
	if err != nil {
		return nil, err
	}
	if err := e.checkExternalID(v, ""); err != nil {
		return nil, err
	}
	t, err := e.useTriggerLocked(p.Get("trigger_id"))
	if err != nil {
		return nil, err
	}
	switch n := len(e.stacks[t.user]); {
	case n == 0:
		return nil, fail("invalid_arguments", "[ERROR] no modal is open to push onto")
	case n >= maxModalStack:
		return nil, fail("push_limit_reached")
	}
	e.openViewLocked(v, t.user, true)
	return reply{"view": e.viewJSON(v, nil)}, nil
}

func (e *Emulator) viewsUpdate(p params) (reply, error) {
	var old *View
	switch id, ext := p.Get("view_id"), p.Get("external_id"); {
	case id != "":
		old = e.views[id]
	case ext != "":
		for _, v := range e.views {
			if v.ExternalID == ext {
				old = v
			}
		}
	default:
		return nil, fail("invalid_arguments", "[ERROR] either view_id or external_id is required")
	}
	if old == nil {
		return nil, fail("not_found")
	}
	v, err := e.parseView(p.Get("view"), old.Type)
	if err != nil {
		return nil, err
	}
	if err := e.checkExternalID(v, old.ID); err != nil {
		return nil, err
	}
	if h := p.Get("hash"); h != "" && h != old.Hash {
		return nil, fail("hash_conflict")
	}
	e.replaceViewLocked(old, v)
	return reply{"view": e.viewJSON(v, nil)}, nil
}

// viewsPublish publishes a person's Home tab. user_id must be a person
// in the workspace (not the bot, not deactivated); a hash, when given,
// must be the current view's; the view must be under 250 kB.
func (e *Emulator) viewsPublish(p params) (reply, error) {
	if e.opts.NoHomeTab {
		return nil, fail("not_enabled") // "a home view is published but the Home tab isn't enabled for the app"
	}
	user := p.Get("user_id")
	if u := e.users[user]; u == nil || u.IsBot || u.Deleted {
		return nil, fail("invalid_arguments", "invalid `user_id`")
	}
	raw := p.Get("view")
	if len(raw) > maxViewBytes {
		return nil, fail("view_too_large")
	}
	v, err := e.parseView(raw, "home")
	if err != nil {
		return nil, err
	}
	old := e.views[e.homes[user]]
	except := ""
	if old != nil {
		except = old.ID
	}
	if err := e.checkExternalID(v, except); err != nil {
		return nil, err
	}
	if old != nil {
		if h := p.Get("hash"); h != "" && h != old.Hash {
			return nil, fail("hash_conflict")
		}
		e.replaceViewLocked(old, v)
	} else {
		v.ID, v.User, v.Hash = e.newID("V"), user, e.newHash()
		v.RootViewID = v.ID
		e.views[v.ID] = v
		e.homes[user] = v.ID
	}
	return reply{"view": e.viewJSON(v, nil)}, nil
}

// inputBlocks lists a view's input blocks.
func inputBlocks(v *View) []map[string]any {
	var blocks []map[string]any
	_ = json.Unmarshal(v.Blocks, &blocks)
	return slices.DeleteFunc(blocks, func(b map[string]any) bool { return b["type"] != "input" })
}
