package slackemu_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/bot/slackemu"
)

// wantMissingScope checks Slack's missing_scope answer: the scope(s) that
// would do, and the token's own.
func wantMissingScope(tb testing.TB, err error, needed string, provided []string) {
	tb.Helper()
	wantCode(tb, err, "missing_scope")
	var se slack.SlackErrorResponse
	errors.As(err, &se)
	if se.Needed != needed {
		tb.Errorf("needed = %q, want %q", se.Needed, needed)
	}
	if got := strings.Split(se.Provided, ","); !slices.Equal(got, provided) {
		tb.Errorf("provided = %q, want %q", se.Provided, provided)
	}
}

func TestScopes(t *testing.T) {
	t.Run("DefaultTokenHasEveryScope", func(t *testing.T) {
		e := startEmulator(t, slackemu.Options{})
		if got := e.Scopes(); !slices.Equal(got, slices.Sorted(slices.Values(slackemu.AllScopes))) {
			t.Errorf("scopes = %v", got)
		}
	})

	// The manifest's scopes: private channels, no public ones, no DMs.
	manifest := []string{"chat:write", "groups:history", "groups:read", "groups:write", "users:read", "users:read.email"}
	e := startEmulator(t, slackemu.Options{Scopes: manifest})
	api := botClient(e)
	officer := e.AddUser("officer", "officer@police.example")
	private := caseChannel(t, api, "ct-2026-0001")
	public, err := e.AddChannel("asb-team", false, e.BotUserID())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("PrivateChannelWorkOK", func(t *testing.T) {
		if _, err := api.InviteUsersToConversation(private.ID, officer.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := api.SetTopicOfConversation(private.ID, "CT-2026-0001"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := api.PostMessage(private.ID, slack.MsgOptionText("card", false)); err != nil {
			t.Fatal(err)
		}
		if _, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: private.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := api.GetUserByEmail("officer@police.example"); err != nil {
			t.Fatal(err)
		}
	})
	for _, tc := range []struct {
		name, needed string
		call         func() error
	}{
		{"CreatePublicChannel", "channels:manage", func() error {
			_, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: "asb-public"})
			return err
		}},
		{"InfoOfPublicChannel", "channels:read", func() error {
			_, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: public.ID})
			return err
		}},
		{"HistoryOfPublicChannel", "channels:history", func() error {
			_, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: public.ID})
			return err
		}},
		{"InviteToPublicChannel", "channels:manage,channels:write.invites", func() error {
			_, err := api.InviteUsersToConversation(public.ID, officer.ID)
			return err
		}},
		{"TopicOfPublicChannel", "channels:manage,channels:write.topic", func() error {
			_, err := api.SetTopicOfConversation(public.ID, "x")
			return err
		}},
		{"ListPublicChannels", "channels:read", func() error {
			_, _, err := api.GetConversations(&slack.GetConversationsParameters{Types: []string{"public_channel", "private_channel"}})
			return err
		}},
		{"JoinPublicChannel", "channels:join", func() error {
			_, _, _, err := api.JoinConversation(public.ID)
			return err
		}},
		{"FileInfo", "files:read", func() error {
			_, _, _, err := api.GetFileInfo("F404", 0, 0)
			return err
		}},
	} {
		t.Run("Err"+tc.name, func(t *testing.T) {
			wantMissingScope(t, tc.call(), tc.needed, manifest)
		})
	}
	t.Run("ErrOpenDM", func(t *testing.T) {
		// groups:write lets the call in; a DM itself needs im:write.
		_, _, _, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{officer.ID}})
		wantMissingScope(t, err, "im:write", manifest)
	})
	t.Run("ErrNoChatWrite", func(t *testing.T) {
		ro := startEmulator(t, slackemu.Options{Scopes: []string{"groups:write"}})
		rapi := botClient(ro)
		ch := caseChannel(t, rapi, "ct-2026-0002")
		_, _, err := rapi.PostMessage(ch.ID, slack.MsgOptionText("x", false))
		wantMissingScope(t, err, "chat:write", []string{"groups:write"})
		_, err = rapi.GetUserInfo(ro.BotUserID())
		wantMissingScope(t, err, "users:read", []string{"groups:write"})
		_, err = rapi.GetUserByEmail("a@example.org")
		wantMissingScope(t, err, "users:read.email", []string{"groups:write"})
		_, err = rapi.CreateConversation(slack.CreateConversationParams{ChannelName: "ct-2026-0003", IsPrivate: true})
		if err != nil {
			t.Errorf("groups:write creates private channels: %v", err)
		}
		if got := ro.Messages(ch.ID); len(got) != 0 {
			t.Errorf("a refused post reached the channel: %+v", got)
		}
	})
	t.Run("ScopelessMethodsOK", func(t *testing.T) {
		none := startEmulator(t, slackemu.Options{Scopes: []string{}})
		if _, err := botClient(none).AuthTest(); err != nil {
			t.Errorf("auth.test needs no scope: %v", err)
		}
	})
	t.Run("NoEventsWithoutHistoryScope", func(t *testing.T) {
		// groups:history is what message.groups needs: without it Slack
		// delivers nothing, however the app subscribes.
		deaf := startEmulator(t, slackemu.Options{Scopes: []string{"chat:write", "groups:write"}})
		person := deaf.AddUser("officer", "")
		ch, err := deaf.AddChannel("ct-2026-0004", true, deaf.BotUserID(), person.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := deaf.Say(person.ID, ch.ID, "hello"); err != nil {
			t.Fatal(err)
		}
		if got := deaf.Deliveries(); len(got) != 0 {
			t.Errorf("deliveries = %+v, want none", got)
		}
	})
}
