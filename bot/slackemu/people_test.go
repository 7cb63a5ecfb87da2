package slackemu_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/bot/slackemu"
)

// inviteFailures lists a conversations.invite refusal's errors as
// "user:code".
func inviteFailures(err error) []string {
	var se slack.SlackErrorResponse
	errors.As(err, &se)
	var out []string
	for _, f := range se.Errors {
		if f.ConversationsInviteResponseError != nil {
			out = append(out, f.ConversationsInviteResponseError.User+":"+f.ConversationsInviteResponseError.Error)
		}
	}
	return out
}

func TestInviteRules(t *testing.T) {
	e := startEmulator(t, slackemu.Options{NoRateLimits: true})
	api := botClient(e)
	police := e.AddUser("police", "police@example.org")
	housing := e.AddUser("housing", "housing@example.org")
	guest := e.AddGuest("guest", "guest@partner.example", true)
	multi := e.AddGuest("multi", "multi@partner.example", false)
	gone := e.AddUser("gone", "gone@council.example")
	if err := e.Deactivate(gone.ID); err != nil {
		t.Fatal(err)
	}
	first := caseChannel(t, api, "ct-2026-0001")
	second := caseChannel(t, api, "ct-2026-0002")

	t.Run("SingleChannelGuestOnce", func(t *testing.T) {
		if _, err := api.InviteUsersToConversation(first.ID, guest.ID); err != nil {
			t.Fatalf("the guest's first channel: %v", err)
		}
		_, err := api.InviteUsersToConversation(second.ID, guest.ID)
		wantCode(t, err, "ura_max_channels")
		if slices.Contains(e.Members(second.ID), guest.ID) {
			t.Error("a single-channel guest is in two channels")
		}
	})
	t.Run("MultiChannelGuestOK", func(t *testing.T) {
		if _, err := api.InviteUsersToConversation(first.ID, multi.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := api.InviteUsersToConversation(second.ID, multi.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrDeactivated", func(t *testing.T) {
		_, err := api.InviteUsersToConversation(second.ID, gone.ID)
		wantCode(t, err, "cant_invite")
	})
	t.Run("AllOrNothingWithoutForce", func(t *testing.T) {
		_, err := api.InviteUsersToConversation(second.ID, police.ID, "U404", gone.ID, guest.ID)
		wantCode(t, err, "user_not_found")
		want := []string{"U404:user_not_found", gone.ID + ":cant_invite", guest.ID + ":ura_max_channels"}
		if got := inviteFailures(err); !slices.Equal(got, want) {
			t.Errorf("errors = %v, want every failure %v", got, want)
		}
		if slices.Contains(e.Members(second.ID), police.ID) {
			t.Error("without force a failed invite still invited someone")
		}
	})
	t.Run("ForceInvitesTheOthers", func(t *testing.T) {
		got, err := api.ForceInviteUsersToConversation(second.ID, police.ID, guest.ID, housing.ID)
		wantCode(t, err, "ura_max_channels")
		if f := inviteFailures(err); !slices.Equal(f, []string{guest.ID + ":ura_max_channels"}) {
			t.Errorf("errors = %v", f)
		}
		if got == nil || got.ID != second.ID {
			t.Errorf("channel = %+v", got)
		}
		members := e.Members(second.ID)
		if !slices.Contains(members, police.ID) || !slices.Contains(members, housing.ID) || slices.Contains(members, guest.ID) {
			t.Errorf("members = %v", members)
		}
	})
	t.Run("ChannelJoinPosted", func(t *testing.T) {
		var joins []string
		for _, m := range e.Messages(second.ID) {
			if m.Subtype == "channel_join" {
				if m.Inviter != e.BotUserID() || m.Text != fmt.Sprintf("<@%s> has joined the channel", m.User) {
					t.Errorf("join message %+v", m)
				}
				joins = append(joins, m.User)
			}
		}
		if want := []string{multi.ID, police.ID, housing.ID}; !slices.Equal(joins, want) {
			t.Errorf("joins = %v, want %v", joins, want)
		}
	})
	t.Run("ErrTooManyUsers", func(t *testing.T) {
		var ids []string
		for i := range 101 {
			ids = append(ids, fmt.Sprintf("U%08d", i))
		}
		_, err := api.InviteUsersToConversation(first.ID, ids...)
		wantCode(t, err, "too_many_users")
	})
	t.Run("ErrDM", func(t *testing.T) {
		dm, _, _, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{police.ID}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = api.InviteUsersToConversation(dm.ID, housing.ID)
		wantCode(t, err, "method_not_supported_for_channel_type")
	})
}

func TestPeople(t *testing.T) {
	e := startEmulator(t, slackemu.Options{})
	api := botClient(e)
	guest := e.AddGuest("guest", "guest@partner.example", true)
	gone := e.AddUser("gone", "gone@council.example")
	ch, err := e.AddChannel("ct-2026-0001", true, e.BotUserID(), gone.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Deactivate(gone.ID); err != nil {
		t.Fatal(err)
	}

	t.Run("GuestInfo", func(t *testing.T) {
		u, err := api.GetUserInfo(guest.ID)
		if err != nil || !u.IsRestricted || !u.IsUltraRestricted || u.Deleted {
			t.Errorf("users.info = %+v, %v", u, err)
		}
	})
	t.Run("DeactivatedInfo", func(t *testing.T) {
		u, err := api.GetUserInfo(gone.ID)
		if err != nil || !u.Deleted {
			t.Errorf("users.info = %+v, %v; want deleted", u, err)
		}
	})
	t.Run("ErrDeactivatedByEmail", func(t *testing.T) {
		_, err := api.GetUserByEmail("gone@council.example")
		wantCode(t, err, "users_not_found")
	})
	t.Run("ErrDeactivatedDM", func(t *testing.T) {
		_, _, _, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{gone.ID}})
		wantCode(t, err, "user_disabled")
	})
	t.Run("ErrDeactivatedEphemeral", func(t *testing.T) {
		_, err := api.PostEphemeral(ch.ID, gone.ID, slack.MsgOptionText("x", false))
		wantCode(t, err, "user_not_in_channel")
	})
	t.Run("ErrDeactivatedCannotAct", func(t *testing.T) {
		if _, err := e.Say(gone.ID, ch.ID, "still here?"); err == nil {
			t.Error("a deactivated person posted")
		}
	})
}
