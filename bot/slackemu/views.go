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
	now := e.clock.now()
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
	case e.clock.now().Sub(t.issued) > triggerLifetime:
		return nil, fail("expired_trigger_id")
	}
	t.used = true
	return t, nil
}

// parseView validates a view argument like Slack does and returns it with
// the block and action ids Slack would fill in.
func (e *Emulator) parseView(raw, wantType string) (*View, error) {
	if raw == "" {
		return nil, fail("invalid_arguments", "[ERROR] missing required field: view")
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		return nil, fail("invalid_arguments", "[ERROR] view must be a JSON object")
	}
	bad := func(msg, pointer string) error {
		return fail("invalid_arguments", fmt.Sprintf("[ERROR] %s [json-pointer:/view%s]", msg, pointer))
	}
	if t, _ := obj["type"].(string); t != wantType {
		return nil, bad("must be "+strconv.Quote(wantType), "/type")
	}
	v := &View{Type: wantType}
	v.CallbackID, _ = obj["callback_id"].(string)
	v.PrivateMetadata, _ = obj["private_metadata"].(string)
	v.ExternalID, _ = obj["external_id"].(string)
	if len(v.PrivateMetadata) > 3000 {
		return nil, bad("must be less than 3001 characters", "/private_metadata")
	}
	if len(v.CallbackID) > 255 {
		return nil, bad("must be less than 256 characters", "/callback_id")
	}
	if wantType == "modal" {
		title, _ := obj["title"].(map[string]any)
		v.Title, _ = title["text"].(string)
		if v.Title == "" {
			return nil, bad("missing required field: title", "/title")
		}
		if len([]rune(v.Title)) > 24 {
			return nil, bad("must be less than 25 characters", "/title/text")
		}
	}
	blocks, ok := obj["blocks"].([]any)
	if !ok {
		return nil, bad("missing required field: blocks", "/blocks")
	}
	if len(blocks) > 100 {
		return nil, bad("no more than 100 items allowed", "/blocks")
	}
	seen := map[string]bool{}
	inputs := 0
	for i, b := range blocks {
		block, _ := b.(map[string]any)
		typ, _ := block["type"].(string)
		if typ == "" {
			return nil, bad("missing required field: type", fmt.Sprintf("/blocks/%d", i))
		}
		id, _ := block["block_id"].(string)
		if id == "" {
			id = randomHex(3)
			block["block_id"] = id
		}
		if seen[id] {
			return nil, bad("duplicate block_id "+strconv.Quote(id), fmt.Sprintf("/blocks/%d/block_id", i))
		}
		seen[id] = true
		if typ != "input" {
			continue
		}
		inputs++
		el, _ := block["element"].(map[string]any)
		if t, _ := el["type"].(string); t == "" {
			return nil, bad("missing required field: element", fmt.Sprintf("/blocks/%d/element", i))
		}
		if _, ok := block["label"].(map[string]any); !ok {
			return nil, bad("missing required field: label", fmt.Sprintf("/blocks/%d/label", i))
		}
		if a, _ := el["action_id"].(string); a == "" {
			el["action_id"] = randomHex(3)
		}
	}
	if _, ok := obj["submit"].(map[string]any); wantType == "modal" && inputs > 0 && !ok {
		return nil, bad("must provide a submit property when using input blocks", "/submit")
	}
	v.Blocks, _ = json.Marshal(blocks)
	v.JSON, _ = json.Marshal(obj)
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
	return fmt.Sprintf("%d.%s", e.clock.now().Unix(), randomHex(4))
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

func (e *Emulator) viewsPublish(p params) (reply, error) {
	user := p.Get("user_id")
	if e.users[user] == nil {
		return nil, fail("user_not_found")
	}
	v, err := e.parseView(p.Get("view"), "home")
	if err != nil {
		return nil, err
	}
	if old := e.views[e.homes[user]]; old != nil {
		if h := p.Get("hash"); h != "" && h != old.Hash {
			return nil, fail("hash_conflict")
		}
		e.replaceViewLocked(old, v)
	} else {
		v.ID, v.User, v.Hash, v.RootViewID = e.newID("V"), user, e.newHash(), ""
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
