package slackemu_test

import (
	"slices"
	"testing"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/bot/slackemu"
)

func TestDirectMessages(t *testing.T) {
	opts := socketOptions
	opts.Events = []string{"message.groups", "message.im"}
	e := startEmulator(t, opts)
	b := startSocketBot(t, e, ackAll)
	receive(t, b.hellos, "hello")
	coord := e.AddUser("coordinator", "coord@council.example")

	var dm string
	t.Run("Open", func(t *testing.T) {
		ch, noOp, already, err := b.api.OpenConversation(&slack.OpenConversationParameters{Users: []string{coord.ID}})
		if err != nil || noOp || already || ch.ID == "" || ch.ID[0] != 'D' {
			t.Fatalf("conversations.open = %+v %v %v, %v", ch, noOp, already, err)
		}
		dm = ch.ID
		again, _, already, err := b.api.OpenConversation(&slack.OpenConversationParameters{Users: []string{coord.ID}})
		if err != nil || again.ID != dm || !already {
			t.Errorf("second open = %+v, already %v, %v", again, already, err)
		}
	})
	t.Run("PostByChannelOrUser", func(t *testing.T) {
		if _, _, err := b.api.PostMessage(dm, slack.MsgOptionText("An agency job ended: CT-2026-0001", false)); err != nil {
			t.Fatal(err)
		}
		ch, _, err := b.api.PostMessage(coord.ID, slack.MsgOptionText("and another", false))
		if err != nil || ch != dm {
			t.Fatalf("post to the user id went to %q, %v; want the DM %s", ch, err, dm)
		}
		if msgs := e.Messages(dm); len(msgs) != 2 || msgs[0].Text != "An agency job ended: CT-2026-0001" {
			t.Errorf("DM holds %+v", msgs)
		}
	})
	t.Run("PersonReplies", func(t *testing.T) {
		if _, err := e.Say(coord.ID, dm, "thanks"); err != nil {
			t.Fatal(err)
		}
		ev, _ := nextEvent(t, b)
		if ev["channel"] != dm || ev["channel_type"] != "im" || ev["text"] != "thanks" || ev["user"] != coord.ID {
			t.Errorf("event %v", ev)
		}
	})
	t.Run("Info", func(t *testing.T) {
		info, err := b.api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: dm})
		if err != nil || !info.IsIM || info.User != coord.ID {
			t.Errorf("conversations.info = %+v, %v", info, err)
		}
	})
	t.Run("ErrStranger", func(t *testing.T) {
		stranger := e.AddUser("stranger", "")
		if _, err := e.Say(stranger.ID, dm, "let me in"); err == nil {
			t.Error("someone else posted in the coordinator's DM")
		}
	})
}

// TestMembership is what the bot checks of a digest channel: is it a
// member, can it post, and can it find a channel by name.
func TestMembership(t *testing.T) {
	e := startEmulator(t, slackemu.Options{})
	api := botClient(e)
	coord := e.AddUser("coordinator", "")
	digest, _ := e.AddChannel("community-trigger", false, coord.ID)
	joined, _ := e.AddChannel("asb-team", false, e.BotUserID(), coord.ID)
	hidden, _ := e.AddChannel("hr-private", true, coord.ID)
	mine := caseChannel(t, api, "ct-2026-0001")

	t.Run("PublicNotAMember", func(t *testing.T) {
		info, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: digest.ID})
		if err != nil || info.IsMember || info.Name != "community-trigger" {
			t.Errorf("conversations.info = %+v, %v", info, err)
		}
		_, _, err = api.PostMessage(digest.ID, slack.MsgOptionText("digest", false))
		wantCode(t, err, "not_in_channel")
		_, _, err = api.PostMessage("#community-trigger", slack.MsgOptionText("digest", false))
		wantCode(t, err, "not_in_channel")
		members, _, err := api.GetUsersInConversation(&slack.GetUsersInConversationParameters{ChannelID: digest.ID})
		if err != nil || !slices.Equal(members, []string{coord.ID}) {
			t.Errorf("conversations.members = %v, %v", members, err)
		}
	})
	t.Run("ByName", func(t *testing.T) {
		// chat.postMessage takes a name; conversations.* methods take ids.
		if _, _, err := api.PostMessage("#asb-team", slack.MsgOptionText("digest", false)); err != nil {
			t.Errorf("post by name: %v", err)
		}
		_, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: "asb-team"})
		wantCode(t, err, "channel_not_found")
		_, err = api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: "#asb-team"})
		wantCode(t, err, "channel_not_found")
	})
	t.Run("ErrPrivateNotAMember", func(t *testing.T) {
		_, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: hidden.ID})
		wantCode(t, err, "channel_not_found")
		_, _, err = api.PostMessage(hidden.ID, slack.MsgOptionText("x", false))
		wantCode(t, err, "channel_not_found")
		_, _, err = api.PostMessage("#hr-private", slack.MsgOptionText("x", false))
		wantCode(t, err, "channel_not_found")
	})
	t.Run("UsersConversations", func(t *testing.T) {
		list, _, err := api.GetConversationsForUser(&slack.GetConversationsForUserParameters{Types: []string{"public_channel", "private_channel"}})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range list {
			ids = append(ids, c.ID)
		}
		if want := []string{joined.ID, mine.ID}; !slices.Equal(ids, want) {
			t.Errorf("users.conversations = %v, want %v", ids, want)
		}
		// Another person's: only what the bot can see of it.
		list, _, err = api.GetConversationsForUser(&slack.GetConversationsForUserParameters{UserID: coord.ID, Types: []string{"public_channel", "private_channel"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = nil
		for _, c := range list {
			ids = append(ids, c.ID)
		}
		if want := []string{digest.ID, joined.ID}; !slices.Equal(ids, want) {
			t.Errorf("users.conversations for the coordinator = %v, want %v", ids, want)
		}
	})
}
