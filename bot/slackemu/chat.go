package slackemu

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Limits on a message's text, in characters.
const (
	// maxMessageText is where Slack truncates a posted message's text,
	// with the warning message_truncated.
	maxMessageText = 40000
	// maxUpdateText is chat.update's limit on text: "The text field
	// cannot exceed 4,000 characters" (msg_too_long).
	maxUpdateText = 4000
	// maxAttachments is how many attachments a message may carry.
	maxAttachments = 100
)

// content is a message's text, blocks and attachments as a call gave them.
type content struct {
	text        string
	blocks      json.RawMessage
	hasBlocks   bool
	nblocks     int
	attachments json.RawMessage
	blocksText  int  // characters of text in the blocks
	truncated   bool // text was cut to maxMessageText
}

// readContent validates the text, blocks and attachments arguments of
// method (chat.postMessage, chat.update, chat.postEphemeral).
func readContent(p params, method string) (content, error) {
	c := content{text: p.Get("text")}
	switch n := chars(c.text); {
	case method == "chat.update" && n > maxUpdateText,
		method == "chat.postEphemeral" && n > maxMessageText:
		return c, fail("msg_too_long")
	case n > maxMessageText:
		c.text, c.truncated = string([]rune(c.text)[:maxMessageText]), true
	}
	if raw := p.Get("blocks"); raw != "" {
		blocks, count, n, err := checkMessageBlocks(raw)
		if err != nil {
			return c, err
		}
		c.blocks, c.nblocks, c.blocksText, c.hasBlocks = blocks, count, n, true
		if method != "chat.postEphemeral" && n > maxMessageBlocksText {
			return c, fail("msg_blocks_too_long")
		}
	}
	if raw := p.Get("attachments"); raw != "" {
		var list []any
		if decodeJSON([]byte(raw), &list) != nil || !allObjects(list) {
			return c, fail("invalid_attachments")
		}
		if len(list) > maxAttachments {
			return c, fail("too_many_attachments")
		}
		if len(list) > 0 {
			c.attachments = encodeJSON(list)
		}
	}
	if c.text == "" && c.nblocks == 0 && c.attachments == nil {
		return c, fail("no_text")
	}
	return c, nil
}

// warn adds Slack's warning for truncated text to a reply.
func (c content) warn(r reply) reply {
	if c.truncated {
		r["warning"] = "message_truncated"
		r["response_metadata"] = map[string]any{"warnings": []string{"message_truncated"}}
	}
	return r
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
	c, err := e.postTarget(p)
	if err != nil {
		return nil, err
	}
	if err := e.postableLocked(c); err != nil {
		return nil, err
	}
	body, err := readContent(p, "chat.postMessage")
	if err != nil {
		return nil, err
	}
	m := &Message{User: e.bot.ID, BotID: e.botID, Text: body.text, Blocks: body.blocks, Attachments: body.attachments, ThreadTS: p.Get("thread_ts")}
	if m.ThreadTS != "" && isTrue(p.Get("reply_broadcast")) {
		m.Subtype = "thread_broadcast"
	}
	if err := e.addMessageLocked(c, m); err != nil {
		return nil, err
	}
	return body.warn(reply{"channel": c.ID, "ts": m.TS, "message": e.messageJSON(m)}), nil
}

func (e *Emulator) chatPostEphemeral(p params) (reply, error) {
	c, err := e.postTarget(p)
	if err != nil {
		return nil, err
	}
	if err := e.postableLocked(c); err != nil {
		return nil, err
	}
	user := e.users[p.Get("user")]
	if user == nil {
		return nil, fail("user_not_found")
	}
	if !c.isMember(user.ID) || user.Deleted {
		return nil, fail("user_not_in_channel")
	}
	body, err := readContent(p, "chat.postEphemeral")
	if err != nil {
		return nil, err
	}
	ts := e.newTS()
	e.ephemerals = append(e.ephemerals, Ephemeral{
		Channel: c.ID, User: user.ID, TS: ts, ThreadTS: p.Get("thread_ts"), Text: body.text, Blocks: body.blocks,
	})
	return reply{"message_ts": ts}, nil
}

// chatUpdate edits a message the app itself posted.
func (e *Emulator) chatUpdate(p params) (reply, error) {
	c, err := e.conversation(p.Get("channel"))
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
	body, err := readContent(p, "chat.update")
	if err != nil {
		return nil, err
	}
	m.Text = body.text
	if body.hasBlocks {
		m.Blocks = body.blocks
	}
	if body.attachments != nil {
		m.Attachments = body.attachments
	}
	m.Edited = true
	return body.warn(reply{"channel": c.ID, "ts": m.TS, "text": m.Text, "message": e.messageJSON(m)}), nil
}

func (e *Emulator) chatGetPermalink(p params) (reply, error) {
	c, err := e.conversation(p.Get("channel"))
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
