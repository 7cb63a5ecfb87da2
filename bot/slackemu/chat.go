package slackemu

import (
	"encoding/json"
	"fmt"
	"strings"
)

// content is a message's text and blocks as a call gave them.
type content struct {
	text      string
	blocks    json.RawMessage
	hasBlocks bool
}

// readContent validates the text, blocks and attachments arguments.
func readContent(p params) (content, error) {
	c := content{text: p.Get("text")}
	if len(c.text) > 40000 {
		return c, fail("msg_too_long")
	}
	if raw := p.Get("blocks"); raw != "" {
		blocks, err := checkBlocks(raw, 50)
		if err != nil {
			return c, err
		}
		c.blocks, c.hasBlocks = blocks, true
	}
	if c.text == "" && len(c.blocks) == 0 && p.Get("attachments") == "" {
		return c, fail("no_text")
	}
	return c, nil
}

// checkBlocks validates a JSON array of blocks the way Slack refuses them:
// not an array, too many, a block without a type, a repeated block_id.
func checkBlocks(raw string, maxBlocks int) (json.RawMessage, error) {
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		return nil, fail("invalid_blocks_format", "[ERROR] blocks must be a JSON array of objects")
	}
	if len(blocks) > maxBlocks {
		return nil, fail("invalid_blocks", fmt.Sprintf("[ERROR] no more than %d items allowed [json-pointer:/blocks]", maxBlocks))
	}
	seen := map[string]bool{}
	for i, b := range blocks {
		if t, _ := b["type"].(string); t == "" {
			return nil, fail("invalid_blocks", fmt.Sprintf("[ERROR] missing required field: type [json-pointer:/blocks/%d]", i))
		}
		if id, _ := b["block_id"].(string); id != "" {
			if seen[id] {
				return nil, fail("invalid_blocks", fmt.Sprintf("[ERROR] duplicate block_id %q [json-pointer:/blocks/%d/block_id]", id, i))
			}
			seen[id] = true
		}
	}
	compact, _ := json.Marshal(blocks)
	return compact, nil
}

// addMessageLocked stores a message, attaching it to its thread's root.
func (e *Emulator) addMessageLocked(c *channel, m *Message) error {
	if m.ThreadTS != "" {
		parent := c.message(m.ThreadTS)
		if parent == nil {
			return fail("thread_not_found")
		}
		if parent.ThreadTS != "" {
			parent = c.message(parent.ThreadTS)
		}
		parent.ThreadTS = parent.TS
		parent.ReplyCount++
		m.ThreadTS = parent.TS
	}
	m.Channel = c.ID
	m.TS = e.newTS()
	c.messages = append(c.messages, m)
	return nil
}

func (e *Emulator) chatPostMessage(p params) (reply, error) {
	c, err := e.memberChannelFor(p)
	if err != nil {
		return nil, err
	}
	body, err := readContent(p)
	if err != nil {
		return nil, err
	}
	m := &Message{User: e.bot.ID, BotID: e.botID, Text: body.text, Blocks: body.blocks, ThreadTS: p.Get("thread_ts")}
	if err := e.addMessageLocked(c, m); err != nil {
		return nil, err
	}
	return reply{"channel": c.ID, "ts": m.TS, "message": e.messageJSON(m)}, nil
}

func (e *Emulator) chatPostEphemeral(p params) (reply, error) {
	c, err := e.memberChannelFor(p)
	if err != nil {
		return nil, err
	}
	user := p.Get("user")
	if e.users[user] == nil {
		return nil, fail("user_not_found")
	}
	if !c.isMember(user) {
		return nil, fail("user_not_in_channel")
	}
	body, err := readContent(p)
	if err != nil {
		return nil, err
	}
	ts := e.newTS()
	e.ephemerals = append(e.ephemerals, Ephemeral{
		Channel: c.ID, User: user, TS: ts, ThreadTS: p.Get("thread_ts"), Text: body.text, Blocks: body.blocks,
	})
	return reply{"message_ts": ts}, nil
}

// chatUpdate edits a message the app itself posted.
func (e *Emulator) chatUpdate(p params) (reply, error) {
	c, err := e.channelFor(p)
	if err != nil {
		return nil, err
	}
	m := c.message(p.Get("ts"))
	if m == nil {
		return nil, fail("message_not_found")
	}
	if m.BotID != e.botID {
		return nil, fail("cant_update_message")
	}
	body, err := readContent(p)
	if err != nil {
		return nil, err
	}
	m.Text = body.text
	if body.hasBlocks {
		m.Blocks = body.blocks
	}
	m.Edited = true
	return reply{"channel": c.ID, "ts": m.TS, "text": m.Text, "message": e.messageJSON(m)}, nil
}

func (e *Emulator) chatGetPermalink(p params) (reply, error) {
	c, err := e.channelFor(p)
	if err != nil {
		return nil, err
	}
	m := c.message(p.Get("message_ts"))
	if m == nil {
		return nil, fail("message_not_found")
	}
	link := fmt.Sprintf("https://%s.slack.com/archives/%s/p%s", e.opts.TeamName, c.ID, strings.ReplaceAll(m.TS, ".", ""))
	if m.ThreadTS != "" && m.ThreadTS != m.TS {
		link += "?thread_ts=" + m.ThreadTS + "&cid=" + c.ID
	}
	return reply{"channel": c.ID, "permalink": link}, nil
}
