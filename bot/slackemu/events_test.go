package slackemu_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/csp/trigger/bot/slackemu"
)

// nextEvent is the inner event of the next events_api envelope the bot
// receives, as JSON and as slack-go parses it.
func nextEvent(tb testing.TB, b *socketBot) (map[string]any, *slackevents.MessageEvent) {
	tb.Helper()
	for {
		req := receive(tb, b.requests, "an event")
		if req.Type != string(socketmode.EventTypeEventsAPI) {
			continue
		}
		var cb struct {
			Event json.RawMessage `json:"event"`
		}
		if err := json.Unmarshal(req.Payload, &cb); err != nil {
			tb.Fatal(err)
		}
		var inner map[string]any
		if err := json.Unmarshal(cb.Event, &inner); err != nil {
			tb.Fatal(err)
		}
		ev, err := slackevents.ParseEvent(req.Payload, slackevents.OptionNoVerifyToken())
		if err != nil {
			tb.Fatalf("slackevents: %v", err)
		}
		msg, _ := ev.InnerEvent.Data.(*slackevents.MessageEvent)
		return inner, msg
	}
}

// eventsWorld is a case channel with an officer in it and a card, over
// Socket Mode, with the officer's channel_join event already read.
func eventsWorld(t *testing.T, opts slackemu.Options) (*slackemu.Emulator, *socketBot, slackemu.User, string, string) {
	t.Helper()
	opts.Rates = socketOptions.Rates
	e := startEmulator(t, opts)
	b := startSocketBot(t, e, ackAll)
	receive(t, b.hellos, "hello")
	officer := e.AddUser("officer", "officer@police.example")
	ch := caseChannel(t, b.api, "ct-2026-0001")
	if _, err := b.api.InviteUsersToConversation(ch.ID, officer.ID); err != nil {
		t.Fatal(err)
	}
	join, _ := nextEvent(t, b)
	if join["subtype"] != "channel_join" || join["user"] != officer.ID || join["inviter"] != e.BotUserID() || join["channel_type"] != "group" {
		t.Fatalf("first event %v, want the officer's channel_join", join)
	}
	_, card, err := b.api.PostMessage(ch.ID, slack.MsgOptionText("request", false))
	if err != nil {
		t.Fatal(err)
	}
	return e, b, officer, ch.ID, card
}

func TestMessageSubtypes(t *testing.T) {
	e, b, officer, ch, card := eventsWorld(t, slackemu.Options{})

	t.Run("FileShareInThread", func(t *testing.T) {
		file, ts, err := e.UploadFile(officer.ID, ch, card, slackemu.Upload{Name: "statement.pdf", Content: []byte("%PDF-1.4 statement"), Text: "Our statement"})
		if err != nil {
			t.Fatal(err)
		}
		raw, msg := nextEvent(t, b)
		if raw["subtype"] != "file_share" || msg.ThreadTimeStamp != card || msg.TimeStamp != ts || msg.Message.Text != "Our statement" {
			t.Fatalf("event %v", raw)
		}
		if fs := msg.Message.Files; len(fs) != 1 || fs[0].ID != file.ID || fs[0].Name != "statement.pdf" ||
			fs[0].Mimetype != "application/pdf" || fs[0].Permalink != file.Permalink || fs[0].Permalink == "" {
			t.Errorf("files %+v, want %+v", fs, file)
		}
		info, _, _, err := b.api.GetFileInfo(file.ID, 0, 0)
		if err != nil || info.Name != "statement.pdf" || info.Size != len("%PDF-1.4 statement") {
			t.Errorf("files.info = %+v, %v", info, err)
		}
		get := func(token string) (int, string) {
			req, _ := http.NewRequest(http.MethodGet, info.URLPrivate, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(body)
		}
		if status, body := get(e.BotToken()); status != http.StatusOK || body != "%PDF-1.4 statement" {
			t.Errorf("url_private with the token: %d %q", status, body)
		}
		if status, _ := get(""); status == http.StatusOK {
			t.Error("url_private answered without a token")
		}
		if got := e.Thread(ch, card); len(got) != 2 || got[1].Subtype != "file_share" || got[1].Files[0].ID != file.ID {
			t.Errorf("thread %+v", got)
		}
	})
	t.Run("ThreadBroadcast", func(t *testing.T) {
		ts, err := e.BroadcastReply(officer.ID, ch, card, "Done, see the thread")
		if err != nil {
			t.Fatal(err)
		}
		raw, msg := nextEvent(t, b)
		if raw["subtype"] != "thread_broadcast" || msg.ThreadTimeStamp != card || msg.TimeStamp != ts || msg.Root == nil || msg.Root.Timestamp != card {
			t.Fatalf("event %v", raw)
		}
		hist, err := b.api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: ch, Limit: 1})
		if err != nil || len(hist.Messages) != 1 || hist.Messages[0].Timestamp != ts || hist.Messages[0].SubType != "thread_broadcast" {
			t.Errorf("history's newest = %+v, %v; want the broadcast reply", hist, err)
		}
		replies, _, _, err := b.api.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: ch, Timestamp: card})
		if err != nil || replies[len(replies)-1].Timestamp != ts {
			t.Errorf("replies %+v, %v; want the broadcast reply in the thread", replies, err)
		}
	})
	t.Run("MessageChanged", func(t *testing.T) {
		ts, err := e.ReplyInThread(officer.ID, ch, card, "Ref 123/54")
		if err != nil {
			t.Fatal(err)
		}
		nextEvent(t, b)
		if err := e.EditMessage(officer.ID, ch, ts, "Ref 123/45"); err != nil {
			t.Fatal(err)
		}
		raw, msg := nextEvent(t, b)
		if raw["subtype"] != "message_changed" || raw["hidden"] != true || msg.Message == nil || msg.Message.Text != "Ref 123/45" ||
			msg.Message.Timestamp != ts || msg.Message.ThreadTimestamp != card || msg.PreviousMessage == nil || msg.PreviousMessage.Text != "Ref 123/54" {
			t.Fatalf("event %v", raw)
		}
		if got := e.Thread(ch, card); got[len(got)-1].Text != "Ref 123/45" || !got[len(got)-1].Edited {
			t.Errorf("thread ends %+v", got[len(got)-1])
		}
	})
	t.Run("MessageDeleted", func(t *testing.T) {
		ts, err := e.ReplyInThread(officer.ID, ch, card, "wrong case, sorry")
		if err != nil {
			t.Fatal(err)
		}
		nextEvent(t, b)
		if err := e.DeleteMessage(officer.ID, ch, ts); err != nil {
			t.Fatal(err)
		}
		raw, msg := nextEvent(t, b)
		if raw["subtype"] != "message_deleted" || raw["deleted_ts"] != ts || msg.PreviousMessage == nil || msg.PreviousMessage.Text != "wrong case, sorry" {
			t.Fatalf("event %v", raw)
		}
		for _, m := range e.Thread(ch, card) {
			if m.TS == ts {
				t.Errorf("deleted message still in the thread: %+v", m)
			}
		}
	})
	t.Run("DeletedParentLeavesTombstone", func(t *testing.T) {
		parent, err := e.Say(officer.ID, ch, "question")
		if err != nil {
			t.Fatal(err)
		}
		nextEvent(t, b)
		if _, err := e.ReplyInThread(officer.ID, ch, parent, "answer"); err != nil {
			t.Fatal(err)
		}
		nextEvent(t, b)
		if err := e.DeleteMessage(officer.ID, ch, parent); err != nil {
			t.Fatal(err)
		}
		nextEvent(t, b)
		if got := e.Thread(ch, parent); len(got) != 2 || got[0].Subtype != "tombstone" || got[0].Text != "This message was deleted." {
			t.Errorf("thread %+v", got)
		}
	})
	t.Run("ErrNotTheirs", func(t *testing.T) {
		if err := e.EditMessage(officer.ID, ch, card, "edited by someone else"); err == nil {
			t.Error("a person edited the app's message")
		}
		if err := e.DeleteMessage(officer.ID, ch, card); err == nil {
			t.Error("a person deleted the app's message")
		}
	})
	t.Run("ChannelTopic", func(t *testing.T) {
		if _, err := b.api.SetTopicOfConversation(ch, "CT-2026-0001: gathering"); err != nil {
			t.Fatal(err)
		}
		raw, msg := nextEvent(t, b)
		if raw["subtype"] != "channel_topic" || raw["topic"] != "CT-2026-0001: gathering" || msg.User != e.BotUserID() {
			t.Fatalf("event %v", raw)
		}
		msgs := e.Messages(ch)
		if last := msgs[len(msgs)-1]; last.Subtype != "channel_topic" || last.Topic != "CT-2026-0001: gathering" {
			t.Errorf("channel ends %+v", last)
		}
	})
}

func TestEventSubscriptions(t *testing.T) {
	// Subscribed to private channels' messages only, as the manifest is.
	e, b, officer, ch, _ := eventsWorld(t, slackemu.Options{Events: []string{"message.groups"}})
	public, err := e.AddChannel("asb-team", false, e.BotUserID(), officer.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Say(officer.ID, public.ID, "in public, <@"+e.BotUserID()+">"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Say(officer.ID, ch, "in private"); err != nil {
		t.Fatal(err)
	}
	// Neither message.channels nor app_mention: the private one comes first.
	raw, _ := nextEvent(t, b)
	if raw["text"] != "in private" || raw["channel"] != ch {
		t.Errorf("first event after subscribing to message.groups only: %v", raw)
	}
	if err := e.OpenHome(officer.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Say(officer.ID, ch, "after opening home"); err != nil {
		t.Fatal(err)
	}
	if raw, _ := nextEvent(t, b); raw["type"] != "message" || raw["text"] != "after opening home" {
		t.Errorf("app_home_opened delivered without subscribing: %v", raw)
	}
}
