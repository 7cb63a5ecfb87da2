package slackemu

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// A response_url takes this many posts within this long.
const (
	responseURLUses     = 5
	responseURLLifetime = 30 * time.Minute
)

// responseURL is where the app may answer one interaction.
type responseURL struct {
	user      string
	channel   string
	messageTS string // the message clicked in, "" for a slash command
	created   time.Time
	uses      int
}

// responseMessage is a post to a response_url (or a slash command's ack).
type responseMessage struct {
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	ResponseType    string          `json:"response_type"`
	ReplaceOriginal bool            `json:"replace_original"`
	DeleteOriginal  bool            `json:"delete_original"`
	ThreadTS        string          `json:"thread_ts"`
}

func (e *Emulator) newResponseURLLocked(user, channel, messageTS string) string {
	id := randomHex(12)
	e.responseURLs[id] = &responseURL{user: user, channel: channel, messageTS: messageTS, created: e.clock.Now()}
	return e.baseURL + "/response/" + id
}

// serveResponseURL takes the app's posts to a response_url.
func (e *Emulator) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/response/")
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(body)); err == nil && form.Has("payload") {
			body = []byte(form.Get("payload"))
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.changedLocked()
	now := e.clock.Now()
	call := Call{Method: "response_url", Params: url.Values{"body": {string(body)}}, At: now, Status: http.StatusOK}
	answer := func(code string) {
		call.OK, call.Error = code == "", code
		e.calls = append(e.calls, call)
		if code == "" {
			writeJSON(w, call.Status, map[string]any{"ok": true})
			return
		}
		writeJSON(w, call.Status, map[string]any{"ok": false, "error": code})
	}
	ru := e.responseURLs[id]
	var msg responseMessage
	switch {
	case ru == nil:
		call.Status = http.StatusNotFound
		answer("invalid_url")
		return
	case now.Sub(ru.created) > responseURLLifetime:
		answer("expired_url")
		return
	case ru.uses >= responseURLUses:
		answer("used_url")
		return
	case json.Unmarshal(body, &msg) != nil:
		answer("invalid_payload")
		return
	}
	ru.uses++
	if err := e.showResponseLocked(ru, msg); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			call.OK, call.Error, call.Detail = false, ae.code, ae.messages
			e.calls = append(e.calls, call)
			body := map[string]any{"ok": false, "error": ae.code}
			for k, v := range ae.fields {
				body[k] = v
			}
			if len(ae.messages) > 0 {
				body["response_metadata"] = map[string]any{"messages": ae.messages}
			}
			writeJSON(w, call.Status, body)
			return
		}
		answer(err.Error())
		return
	}
	answer("")
}

// showResponseLocked shows an answer to an interaction as Slack does:
// deleting or replacing the message clicked in, posting in the channel, or
// (the default) showing it to the person alone.
func (e *Emulator) showResponseLocked(ru *responseURL, msg responseMessage) error {
	c := e.channels[ru.channel]
	if c == nil {
		return errors.New("channel_not_found")
	}
	var original *Message
	if ru.messageTS != "" {
		original = c.message(ru.messageTS)
	}
	if msg.DeleteOriginal {
		if original == nil {
			return errors.New("message_not_found")
		}
		e.deleteMessageLocked(c, original)
		return nil
	}
	var blocks json.RawMessage
	if len(msg.Blocks) > 0 && string(msg.Blocks) != "null" {
		b, _, _, err := checkMessageBlocks(string(msg.Blocks))
		if err != nil {
			return err
		}
		blocks = b
	}
	if msg.Text == "" && blocks == nil {
		return errors.New("no_text")
	}
	if chars(msg.Text) > maxMessageText {
		return errors.New("msg_too_long")
	}
	switch {
	case msg.ReplaceOriginal && original != nil:
		original.Text, original.Blocks = msg.Text, blocks
	case msg.ResponseType == "in_channel":
		m := &Message{User: e.bot.ID, BotID: e.botID, Text: msg.Text, Blocks: blocks, ThreadTS: msg.ThreadTS}
		if err := e.addMessageLocked(c, m); err != nil {
			return errors.New("thread_not_found")
		}
	default:
		e.ephemerals = append(e.ephemerals, Ephemeral{
			Channel: c.ID, User: ru.user, TS: e.newTS(), ThreadTS: msg.ThreadTS, Text: msg.Text, Blocks: blocks,
		})
	}
	return nil
}

func (e *Emulator) deleteMessageLocked(c *channel, m *Message) {
	c.messages = slices.DeleteFunc(c.messages, func(x *Message) bool { return x == m })
	if m.ThreadTS != "" && m.ThreadTS != m.TS {
		if parent := c.message(m.ThreadTS); parent != nil {
			parent.ReplyCount--
		}
	}
}
