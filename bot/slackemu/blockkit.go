package slackemu

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// surface is where blocks are shown; Slack allows different blocks and
// elements on each.
type surface int

const (
	inMessage surface = iota
	inModal
	inHome
)

func (s surface) String() string { return [...]string{"messages", "modals", "home tabs"}[s] }

var everywhere = []surface{inMessage, inModal, inHome}

// Limits from Slack's Block Kit reference, in characters (Unicode code
// points, as Slack counts them) or items.
const (
	maxMessageBlocks   = 50
	maxViewBlocks      = 100
	maxBlockID         = 255
	maxActionID        = 255
	maxTextObject      = 3000 // any text object, section text included
	maxSectionFields   = 10
	maxFieldText       = 2000
	maxHeaderText      = 150
	maxLabelText       = 2000 // input label and hint, image title, image alt_text
	maxPlaceholder     = 150
	maxContextElements = 10
	maxActionsElements = 25
	maxButtonText      = 75
	maxButtonValue     = 2000
	maxURL             = 3000
	maxChoiceOptions   = 10  // checkboxes, radio buttons
	maxSelectOptions   = 100 // static selects: options, option groups, options in a group
	maxOverflowOptions = 5
	maxOptionText      = 75 // option text, description and group label
	maxOptionValue     = 150
	maxInputLength     = 3000 // plain_text_input min_length and max_length
	maxMarkdownText    = 12000
	maxTableRows       = 100
	maxTableCells      = 20
	maxContextActions  = 5
	maxConfirmTitle    = 100
	maxConfirmText     = 300
	maxConfirmButton   = 30
	maxModalTitle      = 24 // title, submit and close of a modal
	maxPrivateMetadata = 3000
	maxCallbackID      = 255
	maxExternalID      = 255

	// maxMessageBlocksText is the most text all of a message's blocks may
	// hold together (msg_blocks_too_long). Slack documents the error but
	// not its number; a Slack engineer gave "12,000 text characters" on
	// slackapi/bolt-js#2509.
	maxMessageBlocksText = 12000
	// maxViewBytes is views.publish's limit on a view ("greater than
	// 250kb": view_too_large), taken as 250,000 bytes of JSON.
	maxViewBytes = 250_000
)

// blockSurfaces are the surfaces each block type is available in (Slack's
// block reference, "Available in surfaces").
var blockSurfaces = map[string][]surface{
	"actions":         everywhere,
	"context":         everywhere,
	"divider":         everywhere,
	"header":          everywhere,
	"image":           everywhere,
	"input":           everywhere,
	"rich_text":       everywhere,
	"section":         everywhere,
	"video":           everywhere,
	"file":            {inMessage},
	"markdown":        {inMessage},
	"table":           {inMessage},
	"context_actions": {inMessage},
}

// elementRule is where a block element may be used: on which surfaces and
// in which blocks ("section" meaning a section's accessory).
type elementRule struct {
	surfaces []surface
	blocks   []string
}

var (
	sectionActionsInput = []string{"section", "actions", "input"}
	modalsOnly          = []surface{inModal}
)

// elementRules follow Slack's block element reference ("Available in
// surfaces", "Works with block types"), widened where the actions block's
// own list names more (multi-select menus, rich text input).
var elementRules = map[string]elementRule{
	"button":                     {everywhere, []string{"section", "actions"}},
	"checkboxes":                 {everywhere, sectionActionsInput},
	"datepicker":                 {everywhere, sectionActionsInput},
	"datetimepicker":             {[]surface{inModal, inMessage}, []string{"actions", "input"}},
	"email_text_input":           {modalsOnly, []string{"input"}},
	"file_input":                 {modalsOnly, []string{"input"}},
	"image":                      {everywhere, []string{"section", "context"}},
	"multi_static_select":        {everywhere, sectionActionsInput},
	"multi_external_select":      {everywhere, sectionActionsInput},
	"multi_users_select":         {everywhere, sectionActionsInput},
	"multi_conversations_select": {everywhere, sectionActionsInput},
	"multi_channels_select":      {everywhere, sectionActionsInput},
	"number_input":               {modalsOnly, []string{"input"}},
	"overflow":                   {everywhere, []string{"section", "actions"}},
	"plain_text_input":           {everywhere, []string{"input"}},
	"radio_buttons":              {everywhere, sectionActionsInput},
	"rich_text_input":            {[]surface{inModal, inHome}, []string{"actions", "input"}},
	"static_select":              {everywhere, sectionActionsInput},
	"external_select":            {everywhere, sectionActionsInput},
	"users_select":               {everywhere, sectionActionsInput},
	"conversations_select":       {everywhere, sectionActionsInput},
	"channels_select":            {everywhere, sectionActionsInput},
	"timepicker":                 {everywhere, sectionActionsInput},
	"url_text_input":             {modalsOnly, []string{"input"}},
	"workflow_button":            {[]surface{inMessage}, []string{"section", "actions"}},
}

var (
	plainOnly    = []string{"plain_text"}
	plainOrMrkdn = []string{"plain_text", "mrkdwn"}
	datePattern  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	timePattern  = regexp.MustCompile(`^([01]\d|2[0-3]):[0-5]\d$`)
)

// kit checks blocks the way Slack does and collects every problem as
// Slack words them: "<what> [json-pointer:<where>]".
type kit struct {
	surface  surface
	problems []string
	blockIDs map[string]bool
	text     int // characters of text in all blocks (msg_blocks_too_long)
}

func (k *kit) bad(ptr, format string, args ...any) {
	k.problems = append(k.problems, fmt.Sprintf(format, args...)+" [json-pointer:"+ptr+"]")
}

// messages are the problems as response_metadata.messages holds them.
func (k *kit) messages() []string {
	out := make([]string, len(k.problems))
	for i, p := range k.problems {
		out[i] = "[ERROR] " + p
	}
	return out
}

// chars counts characters as Slack does: Unicode code points, not bytes.
func chars(s string) int { return utf8.RuneCountInString(s) }

// tooLong is Slack's wording for a string over max characters.
func tooLong(max int) string { return fmt.Sprintf("must be less than %d characters", max+1) }

// decodeJSON decodes raw keeping numbers exact.
func decodeJSON(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

// encodeJSON encodes v as compact JSON, leaving <, > and & as they are.
func encodeJSON(v any) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimSpace(buf.Bytes())
}

// checkMessageBlocks validates the blocks argument of a message: a JSON
// array of at most 50 blocks, each allowed in messages. It returns the
// blocks with the block_ids and action_ids Slack fills in, how many there
// are, and the number of text characters they hold.
func checkMessageBlocks(raw string) (json.RawMessage, int, int, error) {
	var list []any
	if err := decodeJSON([]byte(raw), &list); err != nil || !allObjects(list) {
		return nil, 0, 0, fail("invalid_blocks_format", "[ERROR] blocks must be a JSON array of objects")
	}
	k := &kit{surface: inMessage, blockIDs: map[string]bool{}}
	k.blocks("/blocks", list, maxMessageBlocks)
	if len(k.problems) > 0 {
		return nil, 0, 0, &apiError{code: "invalid_blocks", messages: k.messages(), fields: map[string]any{"errors": k.problems}}
	}
	return encodeJSON(list), len(list), k.text, nil
}

func allObjects(list []any) bool {
	for _, v := range list {
		if _, ok := v.(map[string]any); !ok {
			return false
		}
	}
	return true
}

// blocks checks a blocks array at ptr.
func (k *kit) blocks(ptr string, list []any, max int) {
	if len(list) > max {
		k.bad(ptr, "no more than %d items allowed", max)
		return
	}
	for i, b := range list {
		k.block(fmt.Sprintf("%s/%d", ptr, i), b)
	}
}

func (k *kit) block(ptr string, v any) {
	b, ok := v.(map[string]any)
	if !ok {
		k.bad(ptr, "must provide an object")
		return
	}
	typ, _ := b["type"].(string)
	if typ == "" {
		k.bad(ptr, "missing required field: type")
		return
	}
	surfaces, known := blockSurfaces[typ]
	switch {
	case !known:
		k.bad(ptr+"/type", "unsupported block type: %s", typ)
		return
	case !slices.Contains(surfaces, k.surface):
		k.bad(ptr+"/type", "block type %s is not supported in %s", typ, k.surface)
		return
	}
	switch id := b["block_id"].(type) {
	case nil:
		b["block_id"] = k.freshID(5)
	case string:
		switch {
		case id == "":
			k.bad(ptr+"/block_id", "must be more than 0 characters")
		case chars(id) > maxBlockID:
			k.bad(ptr+"/block_id", "%s", tooLong(maxBlockID))
		case k.blockIDs[id]:
			k.bad(ptr+"/block_id", "duplicate block_id: %s", id)
		}
		k.blockIDs[id] = true
	default:
		k.bad(ptr+"/block_id", "must be a string")
	}

	switch typ {
	case "section":
		k.section(ptr, b)
	case "header":
		k.textObject(ptr+"/text", b["text"], maxHeaderText, plainOnly, true)
	case "context":
		els, _ := k.array(ptr+"/elements", b["elements"], 1, maxContextElements, true)
		for i, el := range els {
			p := fmt.Sprintf("%s/elements/%d", ptr, i)
			if m, _ := el.(map[string]any); m != nil && m["type"] != "image" {
				k.textObject(p, el, maxTextObject, plainOrMrkdn, true)
				continue
			}
			k.element(p, el, "context", nil)
		}
	case "actions":
		els, _ := k.array(ptr+"/elements", b["elements"], 1, maxActionsElements, true)
		ids := map[string]bool{}
		for i, el := range els {
			k.element(fmt.Sprintf("%s/elements/%d", ptr, i), el, "actions", ids)
		}
	case "divider":
	case "image":
		k.image(ptr, b)
	case "input":
		k.textObject(ptr+"/label", b["label"], maxLabelText, plainOnly, true)
		if b["hint"] != nil {
			k.textObject(ptr+"/hint", b["hint"], maxLabelText, plainOnly, true)
		}
		k.boolean(ptr+"/optional", b["optional"])
		k.boolean(ptr+"/dispatch_action", b["dispatch_action"])
		if b["element"] == nil {
			k.bad(ptr, "missing required field: element")
			return
		}
		k.element(ptr+"/element", b["element"], "input", map[string]bool{})
		if el, _ := b["element"].(map[string]any); el["type"] == "file_input" && b["dispatch_action"] == true {
			k.bad(ptr+"/dispatch_action", "unsupported type: dispatch_action is incompatible with file_input")
		}
	case "rich_text":
		k.array(ptr+"/elements", b["elements"], 0, -1, true)
	case "video":
		for _, f := range []string{"alt_text", "thumbnail_url", "video_url"} {
			k.str(ptr+"/"+f, b[f], 1, maxURL, true)
		}
		k.textObject(ptr+"/title", b["title"], 199, plainOnly, true)
	case "file":
		k.str(ptr+"/external_id", b["external_id"], 1, -1, true)
		k.str(ptr+"/source", b["source"], 1, -1, true)
	case "markdown":
		if n := k.str(ptr+"/text", b["text"], 1, maxMarkdownText, true); n > 0 {
			k.text += n
		}
	case "table":
		rows, _ := k.array(ptr+"/rows", b["rows"], 1, maxTableRows, true)
		for i, r := range rows {
			k.array(fmt.Sprintf("%s/rows/%d", ptr, i), r, 1, maxTableCells, true)
		}
	case "context_actions":
		k.array(ptr+"/elements", b["elements"], 1, maxContextActions, true)
	}
}

func (k *kit) section(ptr string, b map[string]any) {
	if b["text"] == nil && b["fields"] == nil {
		k.bad(ptr, "missing required field: text")
		return
	}
	if b["text"] != nil {
		k.textObject(ptr+"/text", b["text"], maxTextObject, plainOrMrkdn, true)
	}
	if b["fields"] != nil {
		fields, _ := k.array(ptr+"/fields", b["fields"], 1, maxSectionFields, true)
		for i, f := range fields {
			k.textObject(fmt.Sprintf("%s/fields/%d", ptr, i), f, maxFieldText, plainOrMrkdn, true)
		}
	}
	if b["accessory"] != nil {
		k.element(ptr+"/accessory", b["accessory"], "section", map[string]bool{})
	}
	k.boolean(ptr+"/expand", b["expand"])
}

func (k *kit) image(ptr string, b map[string]any) {
	switch {
	case b["image_url"] != nil:
		k.str(ptr+"/image_url", b["image_url"], 1, maxURL, true)
	case b["slack_file"] != nil:
		if _, ok := b["slack_file"].(map[string]any); !ok {
			k.bad(ptr+"/slack_file", "must provide an object")
		}
	default:
		k.bad(ptr, "missing required field: image_url")
	}
	k.str(ptr+"/alt_text", b["alt_text"], 1, maxLabelText, true)
	if b["title"] != nil {
		k.textObject(ptr+"/title", b["title"], maxLabelText, plainOnly, true)
	}
}

// textObject checks a text object of one of kinds holding 1 to max
// characters, and counts its text.
func (k *kit) textObject(ptr string, v any, max int, kinds []string, required bool) {
	if v == nil {
		if required {
			k.bad(ptr, "missing required field")
		}
		return
	}
	obj, ok := v.(map[string]any)
	if !ok {
		k.bad(ptr, "must provide an object")
		return
	}
	typ, _ := obj["type"].(string)
	if !slices.Contains(kinds, typ) {
		k.bad(ptr+"/type", "must be one of: %s", strings.Join(kinds, ", "))
		return
	}
	n := k.str(ptr+"/text", obj["text"], 1, max, true)
	k.text += n
	k.boolean(ptr+"/emoji", obj["emoji"])
	k.boolean(ptr+"/verbatim", obj["verbatim"])
	switch {
	case typ == "plain_text" && obj["verbatim"] != nil:
		k.bad(ptr+"/verbatim", "verbatim is only allowed for mrkdwn text")
	case typ == "mrkdwn" && obj["emoji"] != nil:
		k.bad(ptr+"/emoji", "emoji is only allowed for plain_text")
	}
}

// str checks a string of min to max characters (max < 0: no limit) and
// returns its length.
func (k *kit) str(ptr string, v any, min, max int, required bool) int {
	if v == nil {
		if required {
			k.bad(ptr, "missing required field: %s", ptr[strings.LastIndexByte(ptr, '/')+1:])
		}
		return 0
	}
	s, ok := v.(string)
	if !ok {
		k.bad(ptr, "must be a string")
		return 0
	}
	n := chars(s)
	switch {
	case n < min:
		k.bad(ptr, "must be more than %d characters", min-1)
	case max >= 0 && n > max:
		k.bad(ptr, "%s", tooLong(max))
	}
	return n
}

// array checks an array of min to max items (max < 0: no limit).
func (k *kit) array(ptr string, v any, min, max int, required bool) ([]any, bool) {
	if v == nil {
		if required {
			k.bad(ptr, "missing required field: %s", ptr[strings.LastIndexByte(ptr, '/')+1:])
		}
		return nil, false
	}
	list, ok := v.([]any)
	switch {
	case !ok:
		k.bad(ptr, "must be an array")
		return nil, false
	case len(list) < min:
		k.bad(ptr, "must provide at least %d items", min)
		return nil, false
	case max >= 0 && len(list) > max:
		k.bad(ptr, "no more than %d items allowed", max)
		return nil, false
	}
	return list, true
}

func (k *kit) boolean(ptr string, v any) {
	if _, ok := v.(bool); v != nil && !ok {
		k.bad(ptr, "must be a boolean")
	}
}

// integer checks an optional whole number between min and max.
func (k *kit) integer(ptr string, v any, min, max int) (int, bool) {
	if v == nil {
		return 0, false
	}
	num, ok := v.(json.Number)
	n, err := strconv.Atoi(string(num))
	switch {
	case !ok || err != nil:
		k.bad(ptr, "must be an integer")
		return 0, false
	case n < min:
		k.bad(ptr, "must be greater than or equal to %d", min)
	case n > max:
		k.bad(ptr, "must be less than or equal to %d", max)
	}
	return n, true
}

// freshID is an id like the ones Slack makes up for a block or action
// that has none.
func (k *kit) freshID(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// element checks a block element used in block (whose action_ids so far
// are in ids).
func (k *kit) element(ptr string, v any, block string, ids map[string]bool) {
	el, ok := v.(map[string]any)
	if !ok {
		k.bad(ptr, "must provide an object")
		return
	}
	typ, _ := el["type"].(string)
	rule, known := elementRules[typ]
	switch {
	case typ == "":
		k.bad(ptr, "missing required field: type")
		return
	case !known:
		k.bad(ptr+"/type", "unsupported type: %s", typ)
		return
	case !slices.Contains(rule.blocks, block):
		k.bad(ptr+"/type", "element type %s is not supported in %s blocks", typ, block)
		return
	case !slices.Contains(rule.surfaces, k.surface):
		k.bad(ptr+"/type", "element type %s is not supported in %s", typ, k.surface)
		return
	}
	if typ != "image" {
		switch id := el["action_id"].(type) {
		case nil:
			el["action_id"] = k.freshID(5)
		case string:
			switch {
			case id == "":
				k.bad(ptr+"/action_id", "must be more than 0 characters")
			case chars(id) > maxActionID:
				k.bad(ptr+"/action_id", "%s", tooLong(maxActionID))
			case ids != nil && ids[id]:
				k.bad(ptr+"/action_id", "duplicate action_id: %s", id)
			}
			if ids != nil {
				ids[id] = true
			}
		default:
			k.bad(ptr+"/action_id", "must be a string")
		}
		if el["confirm"] != nil {
			k.confirm(ptr+"/confirm", el["confirm"])
		}
	}
	if el["placeholder"] != nil {
		k.textObject(ptr+"/placeholder", el["placeholder"], maxPlaceholder, plainOnly, true)
	}
	switch typ {
	case "button", "workflow_button":
		k.textObject(ptr+"/text", el["text"], maxButtonText, plainOnly, true)
		k.str(ptr+"/value", el["value"], 1, maxButtonValue, false)
		k.str(ptr+"/url", el["url"], 1, maxURL, false)
		k.str(ptr+"/accessibility_label", el["accessibility_label"], 1, maxButtonText, false)
		if s, ok := el["style"]; ok && s != "primary" && s != "danger" {
			k.bad(ptr+"/style", "must be one of: primary, danger")
		}
	case "checkboxes":
		opts := k.options(ptr+"/options", el["options"], 1, maxChoiceOptions, plainOrMrkdn, false)
		k.initialOptions(ptr+"/initial_options", el["initial_options"], opts)
	case "radio_buttons":
		opts := k.options(ptr+"/options", el["options"], 1, maxChoiceOptions, plainOrMrkdn, false)
		k.initialOption(ptr+"/initial_option", el["initial_option"], opts)
	case "static_select", "multi_static_select":
		var opts []map[string]any
		switch {
		case el["options"] != nil && el["option_groups"] != nil:
			k.bad(ptr, "must provide either options or option_groups, not both")
		case el["options"] != nil:
			opts = k.options(ptr+"/options", el["options"], 1, maxSelectOptions, plainOnly, false)
		case el["option_groups"] != nil:
			groups, _ := k.array(ptr+"/option_groups", el["option_groups"], 1, maxSelectOptions, true)
			for i, g := range groups {
				gp := fmt.Sprintf("%s/option_groups/%d", ptr, i)
				gm, ok := g.(map[string]any)
				if !ok {
					k.bad(gp, "must provide an object")
					continue
				}
				k.textObject(gp+"/label", gm["label"], maxOptionText, plainOnly, true)
				opts = append(opts, k.options(gp+"/options", gm["options"], 1, maxSelectOptions, plainOnly, false)...)
			}
		default:
			k.bad(ptr, "missing required field: options")
		}
		if typ == "static_select" {
			k.initialOption(ptr+"/initial_option", el["initial_option"], opts)
		} else {
			k.initialOptions(ptr+"/initial_options", el["initial_options"], opts)
			k.integer(ptr+"/max_selected_items", el["max_selected_items"], 1, 1<<31-1)
		}
	case "overflow":
		k.options(ptr+"/options", el["options"], 1, maxOverflowOptions, plainOnly, true)
	case "plain_text_input":
		minLen, hasMin := k.integer(ptr+"/min_length", el["min_length"], 0, maxInputLength)
		maxLen, hasMax := k.integer(ptr+"/max_length", el["max_length"], 1, maxInputLength)
		if !hasMax {
			maxLen = maxInputLength
		}
		if hasMin && hasMax && minLen > maxLen {
			k.bad(ptr+"/min_length", "must be less than or equal to max_length")
		}
		k.str(ptr+"/initial_value", el["initial_value"], 0, maxLen, false)
		k.boolean(ptr+"/multiline", el["multiline"])
	case "datepicker":
		if d, ok := el["initial_date"].(string); ok && !datePattern.MatchString(d) {
			k.bad(ptr+"/initial_date", "must match format YYYY-MM-DD")
		}
	case "timepicker":
		if t, ok := el["initial_time"].(string); ok && !timePattern.MatchString(t) {
			k.bad(ptr+"/initial_time", "must match format HH:mm")
		}
	case "image":
		k.image(ptr, el)
	}
}

func (k *kit) confirm(ptr string, v any) {
	c, ok := v.(map[string]any)
	if !ok {
		k.bad(ptr, "must provide an object")
		return
	}
	k.textObject(ptr+"/title", c["title"], maxConfirmTitle, plainOnly, true)
	k.textObject(ptr+"/text", c["text"], maxConfirmText, plainOrMrkdn, true)
	k.textObject(ptr+"/confirm", c["confirm"], maxConfirmButton, plainOnly, true)
	k.textObject(ptr+"/deny", c["deny"], maxConfirmButton, plainOnly, true)
}

// options checks an array of option objects and returns them.
func (k *kit) options(ptr string, v any, min, max int, kinds []string, urls bool) []map[string]any {
	list, ok := k.array(ptr, v, min, max, true)
	if !ok {
		return nil
	}
	var out []map[string]any
	for i, o := range list {
		op := fmt.Sprintf("%s/%d", ptr, i)
		om, ok := o.(map[string]any)
		if !ok {
			k.bad(op, "must provide an object")
			continue
		}
		k.textObject(op+"/text", om["text"], maxOptionText, kinds, true)
		k.str(op+"/value", om["value"], 1, maxOptionValue, true)
		if om["description"] != nil {
			k.textObject(op+"/description", om["description"], maxOptionText, plainOnly, true)
		}
		if om["url"] != nil {
			if !urls {
				k.bad(op+"/url", "url is only allowed in overflow menu options")
			}
			k.str(op+"/url", om["url"], 1, maxURL, true)
		}
		out = append(out, om)
	}
	return out
}

// initialOption checks that an initial option is one of the options:
// Slack compares the option's value and text.
func (k *kit) initialOption(ptr string, v any, opts []map[string]any) {
	if v == nil {
		return
	}
	if !hasOption(opts, v) {
		k.bad(ptr, "must exactly match one of the provided options")
	}
}

func (k *kit) initialOptions(ptr string, v any, opts []map[string]any) {
	if v == nil {
		return
	}
	list, ok := k.array(ptr, v, 1, -1, true)
	if !ok {
		return
	}
	for i, o := range list {
		if !hasOption(opts, o) {
			k.bad(fmt.Sprintf("%s/%d", ptr, i), "must exactly match one of the provided options")
		}
	}
}

func hasOption(opts []map[string]any, v any) bool {
	o, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for _, opt := range opts {
		if opt["value"] == o["value"] && textOf(opt["text"]) == textOf(o["text"]) {
			return true
		}
	}
	return false
}

func textOf(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["text"].(string)
	return s
}
