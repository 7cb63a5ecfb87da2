package slackemu_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/bot/slackemu"
)

func TestAuth(t *testing.T) {
	e := startEmulator(t, slackemu.Options{})

	t.Run("OK", func(t *testing.T) {
		resp, err := botClient(e).AuthTest()
		if err != nil {
			t.Fatal(err)
		}
		if resp.UserID != e.BotUserID() || resp.BotID != e.BotID() || resp.TeamID != e.TeamID() {
			t.Errorf("auth.test = %+v, want bot %s/%s in %s", resp, e.BotUserID(), e.BotID(), e.TeamID())
		}
	})
	t.Run("BearerHeader", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, e.APIURL()+"auth.test", nil)
		req.Header.Set("Authorization", "Bearer "+e.BotToken())
		if got := rawCall(t, req)["ok"]; got != true {
			t.Errorf("ok = %v with the token in the Authorization header", got)
		}
	})
	t.Run("ErrInvalidAuth", func(t *testing.T) {
		_, err := slack.New("xoxb-wrong", slack.OptionAPIURL(e.APIURL())).AuthTest()
		wantCode(t, err, "invalid_auth")
	})
	t.Run("ErrNotAuthed", func(t *testing.T) {
		_, err := slack.New("", slack.OptionAPIURL(e.APIURL())).AuthTest()
		wantCode(t, err, "not_authed")
	})
	t.Run("ErrAppTokenOnWebAPI", func(t *testing.T) {
		_, err := slack.New(e.AppToken(), slack.OptionAPIURL(e.APIURL())).AuthTest()
		wantCode(t, err, "not_allowed_token_type")
	})
	t.Run("ErrUnknownMethod", func(t *testing.T) {
		resp := rawCall(t, postForm(e, "chat.scheduleMessage", url.Values{"token": {e.BotToken()}}))
		if resp["error"] != "unknown_method" {
			t.Errorf("answer = %v, want unknown_method", resp)
		}
	})
	t.Run("CallLogHidesToken", func(t *testing.T) {
		calls := e.Calls("auth.test")
		if len(calls) == 0 {
			t.Fatal("no auth.test calls logged")
		}
		for _, c := range calls {
			if c.Params.Has("token") {
				t.Errorf("call log holds the token: %v", c.Params)
			}
		}
		if last := calls[len(calls)-1]; last.OK || last.Error != "not_allowed_token_type" {
			t.Errorf("last auth.test logged as %+v", last)
		}
	})
}

func postForm(e *slackemu.Emulator, method string, v url.Values) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, e.APIURL()+method, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func rawCall(tb testing.TB, req *http.Request) map[string]any {
	tb.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		tb.Fatal(err)
	}
	return body
}

func TestUsers(t *testing.T) {
	e := startEmulator(t, slackemu.Options{})
	api := botClient(e)
	alice := e.AddUser("alice", "alice@council.example")

	t.Run("Info", func(t *testing.T) {
		u, err := api.GetUserInfo(alice.ID)
		if err != nil || u.Name != "alice" || u.Profile.Email != "alice@council.example" {
			t.Fatalf("users.info = %+v, %v", u, err)
		}
	})
	t.Run("LookupByEmail", func(t *testing.T) {
		u, err := api.GetUserByEmail("Alice@Council.example")
		if err != nil || u.ID != alice.ID {
			t.Fatalf("users.lookupByEmail = %+v, %v", u, err)
		}
	})
	t.Run("ErrUserNotFound", func(t *testing.T) {
		_, err := api.GetUserInfo("U404")
		wantCode(t, err, "user_not_found")
	})
	t.Run("ErrUsersNotFound", func(t *testing.T) {
		_, err := api.GetUserByEmail("nobody@example.org")
		wantCode(t, err, "users_not_found")
	})
}

func TestCreateChannel(t *testing.T) {
	e := startEmulator(t, slackemu.Options{})
	api := botClient(e)

	t.Run("OK", func(t *testing.T) {
		ch := caseChannel(t, api, "ct-2026-0001")
		if !ch.IsPrivate || ch.Name != "ct-2026-0001" || !ch.IsMember {
			t.Errorf("created %+v", ch)
		}
		got, ok := e.ChannelByName("ct-2026-0001")
		if !ok || got.ID != ch.ID || !got.Private || !slices.Equal(got.Members, []string{e.BotUserID()}) {
			t.Errorf("emulator holds %+v, %v", got, ok)
		}
		info, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: ch.ID})
		if err != nil || info.Name != ch.Name {
			t.Errorf("conversations.info = %+v, %v", info, err)
		}
	})
	for _, tc := range []struct{ name, channel, code string }{
		{"ErrNameTaken", "ct-2026-0001", "name_taken"},
		{"ErrUpperCase", "CT-2026-0002", "invalid_name_specials"},
		{"ErrSpace", "ct 2026", "invalid_name_specials"},
		{"ErrEmpty", "", "invalid_name_required"},
		{"ErrTooLong", strings.Repeat("a", 81), "invalid_name_maxlength"},
		{"ErrPunctuationOnly", "--_", "invalid_name_punctuation"},
		{"ErrReserved", "here", "invalid_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: tc.channel, IsPrivate: true})
			wantCode(t, err, tc.code)
		})
	}
	t.Run("MaxLengthAllowed", func(t *testing.T) {
		caseChannel(t, api, strings.Repeat("b", 80))
	})
	t.Run("PrivateChannelHiddenFromNonMemberBot", func(t *testing.T) {
		other, err := e.AddChannel("hr-private", true, e.AddUser("hr", "hr@example.org").ID)
		if err != nil {
			t.Fatal(err)
		}
		_, err = api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: other.ID})
		wantCode(t, err, "channel_not_found")
		list, _, err := api.GetConversations(&slack.GetConversationsParameters{Types: []string{"private_channel"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list {
			if c.ID == other.ID {
				t.Error("conversations.list shows a private channel the bot is not in")
			}
		}
	})
}

func TestInvite(t *testing.T) {
	e := startEmulator(t, slackemu.Options{})
	api := botClient(e)
	police := e.AddUser("police", "police@example.org")
	housing := e.AddUser("housing", "housing@example.org")
	ch := caseChannel(t, api, "ct-2026-0001")

	t.Run("ErrUserNotFoundWithoutForce", func(t *testing.T) {
		_, err := api.InviteUsersToConversation(ch.ID, police.ID, "U404")
		wantCode(t, err, "user_not_found")
		if got := e.Members(ch.ID); slices.Contains(got, police.ID) {
			t.Errorf("members %v: a failed invite without force invited someone", got)
		}
	})
	t.Run("ForceInvitesTheValidOnes", func(t *testing.T) {
		got, err := api.ForceInviteUsersToConversation(ch.ID, police.ID, "U404", e.BotUserID())
		wantCode(t, err, "user_not_found")
		var se slack.SlackErrorResponse
		errors.As(err, &se)
		var failed []string
		for _, f := range se.Errors {
			if f.ConversationsInviteResponseError != nil {
				failed = append(failed, f.ConversationsInviteResponseError.User+":"+f.ConversationsInviteResponseError.Error)
			}
		}
		want := []string{"U404:user_not_found", e.BotUserID() + ":cant_invite_self"}
		if !slices.Equal(failed, want) {
			t.Errorf("errors = %v, want %v", failed, want)
		}
		if got == nil || got.ID != ch.ID {
			t.Errorf("channel = %+v, want the channel back", got)
		}
		if !slices.Contains(e.Members(ch.ID), police.ID) {
			t.Errorf("members %v lack the valid invitee", e.Members(ch.ID))
		}
	})
	t.Run("OK", func(t *testing.T) {
		if _, err := api.InviteUsersToConversation(ch.ID, housing.ID); err != nil {
			t.Fatal(err)
		}
		members, _, err := api.GetUsersInConversation(&slack.GetUsersInConversationParameters{ChannelID: ch.ID})
		if err != nil || !slices.Equal(members, []string{e.BotUserID(), police.ID, housing.ID}) {
			t.Errorf("conversations.members = %v, %v", members, err)
		}
	})
	t.Run("ErrAlreadyInChannel", func(t *testing.T) {
		_, err := api.InviteUsersToConversation(ch.ID, housing.ID)
		wantCode(t, err, "already_in_channel")
	})
	t.Run("ErrCantInviteSelf", func(t *testing.T) {
		_, err := api.InviteUsersToConversation(ch.ID, e.BotUserID())
		wantCode(t, err, "cant_invite_self")
	})
	t.Run("ErrChannelNotFound", func(t *testing.T) {
		_, err := api.InviteUsersToConversation("C404", police.ID)
		wantCode(t, err, "channel_not_found")
	})
	t.Run("ErrNotInChannel", func(t *testing.T) {
		public, err := e.AddChannel("asb-general", false)
		if err != nil {
			t.Fatal(err)
		}
		_, err = api.InviteUsersToConversation(public.ID, police.ID)
		wantCode(t, err, "not_in_channel")
	})
}

func TestChannelHousekeeping(t *testing.T) {
	e := startEmulator(t, slackemu.Options{})
	api := botClient(e)
	public, _ := e.AddChannel("asb-team", false)
	private := caseChannel(t, api, "ct-2026-0003")

	t.Run("SetTopic", func(t *testing.T) {
		if _, err := api.SetTopicOfConversation(private.ID, "Case CT-2026-0003"); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.ChannelByName("ct-2026-0003"); got.Topic != "Case CT-2026-0003" {
			t.Errorf("topic = %q", got.Topic)
		}
		_, err := api.SetTopicOfConversation(public.ID, "x")
		wantCode(t, err, "not_in_channel")
	})
	t.Run("Join", func(t *testing.T) {
		_, _, err := api.PostMessage(public.ID, slack.MsgOptionText("hello", false))
		wantCode(t, err, "not_in_channel")
		if _, _, _, err := api.JoinConversation(public.ID); err != nil {
			t.Fatal(err)
		}
		_, warning, _, err := api.JoinConversation(public.ID)
		if err != nil || warning != "already_in_channel" {
			t.Errorf("second join: warning %q, %v", warning, err)
		}
		if _, _, err := api.PostMessage(public.ID, slack.MsgOptionText("hello", false)); err != nil {
			t.Errorf("post after join: %v", err)
		}
		hidden, _ := e.AddChannel("secret", true)
		_, _, _, err = api.JoinConversation(hidden.ID)
		wantCode(t, err, "channel_not_found")
	})
	t.Run("HistoryAndReplies", func(t *testing.T) {
		_, parent, err := api.PostMessage(private.ID, slack.MsgOptionText("card", false))
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{"one", "two"} {
			if _, _, err := api.PostMessage(private.ID, slack.MsgOptionText(text, false), slack.MsgOptionTS(parent)); err != nil {
				t.Fatal(err)
			}
		}
		hist, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: private.ID})
		if err != nil || len(hist.Messages) != 2 || hist.Messages[0].ReplyCount != 2 || hist.Messages[0].Text != "card" {
			t.Fatalf("history = %+v, %v", hist, err)
		}
		// Slack's own message about the topic set in SetTopic, newest last.
		if topic := hist.Messages[1]; topic.SubType != "channel_topic" || topic.Topic != "Case CT-2026-0003" || topic.User != e.BotUserID() {
			t.Errorf("system message = %+v, want the channel_topic", topic.Msg)
		}
		msgs, _, _, err := api.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: private.ID, Timestamp: parent})
		if err != nil || len(msgs) != 3 || msgs[0].Text != "card" || msgs[2].Text != "two" {
			t.Fatalf("replies = %+v, %v", msgs, err)
		}
		_, _, _, err = api.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: private.ID, Timestamp: "1.000001"})
		wantCode(t, err, "thread_not_found")
		if got := e.Thread(private.ID, parent); len(got) != 3 {
			t.Errorf("Thread() = %d messages, want 3", len(got))
		}
	})
	t.Run("Pagination", func(t *testing.T) {
		var names []string
		params := &slack.GetConversationsParameters{Types: []string{"public_channel", "private_channel"}, Limit: 1}
		for {
			list, next, err := api.GetConversations(params)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range list {
				names = append(names, c.Name)
			}
			if next == "" {
				break
			}
			params.Cursor = next
		}
		if want := []string{"asb-team", "ct-2026-0003"}; !slices.Equal(names, want) {
			t.Errorf("paged list = %v, want %v", names, want)
		}
	})
}

func TestPostMessage(t *testing.T) {
	e := startEmulator(t, slackemu.Options{Rates: map[string]slackemu.Rate{"chat.postMessage": {}}})
	api := botClient(e)
	ch := caseChannel(t, api, "ct-2026-0001")

	t.Run("UniqueTSUnderConcurrency", func(t *testing.T) {
		const n = 50
		var mu sync.Mutex
		seen := map[string]bool{}
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, ts, err := api.PostMessage(ch.ID, slack.MsgOptionText("msg", false))
				if err != nil {
					t.Errorf("post %d: %v", i, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if seen[ts] {
					t.Errorf("ts %s handed out twice", ts)
				}
				seen[ts] = true
			})
		}
		wg.Wait()
		if got := len(e.Messages(ch.ID)); got != n {
			t.Errorf("channel holds %d messages, want %d", got, n)
		}
	})
	t.Run("BlocksKept", func(t *testing.T) {
		_, ts, err := api.PostMessage(ch.ID, slack.MsgOptionText("card", false), buttonBlocks("accept", "CT-2026-0001"))
		if err != nil {
			t.Fatal(err)
		}
		msgs := e.Messages(ch.ID)
		last := msgs[len(msgs)-1]
		if last.TS != ts || last.BotID != e.BotID() || !strings.Contains(string(last.Blocks), `"action_id":"accept"`) {
			t.Errorf("stored %+v", last)
		}
	})
	for _, tc := range []struct {
		name, channel, code string
		opts                []slack.MsgOption
	}{
		{"ErrChannelNotFound", "C404", "channel_not_found", []slack.MsgOption{slack.MsgOptionText("x", false)}},
		{"ErrNoText", ch.ID, "no_text", nil},
		{"ErrThreadNotFound", ch.ID, "thread_not_found", []slack.MsgOption{slack.MsgOptionText("x", false), slack.MsgOptionTS("1.000001")}},
		{"ErrInvalidBlocks", ch.ID, "invalid_blocks", []slack.MsgOption{slack.MsgOptionBlocks(slack.NewDividerBlock(), slack.NewDividerBlock(),
			slack.NewActionBlock("same"), slack.NewActionBlock("same"))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := api.PostMessage(tc.channel, tc.opts...)
			wantCode(t, err, tc.code)
		})
	}
}

func TestUpdateMessage(t *testing.T) {
	e := startEmulator(t, slackemu.Options{})
	api := botClient(e)
	officer := e.AddUser("officer", "officer@example.org")
	ch := caseChannel(t, api, "ct-2026-0001")
	if _, err := api.InviteUsersToConversation(ch.ID, officer.ID); err != nil {
		t.Fatal(err)
	}
	_, ts, err := api.PostMessage(ch.ID, slack.MsgOptionText("status: received", false))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("OK", func(t *testing.T) {
		if _, _, _, err := api.UpdateMessage(ch.ID, ts, slack.MsgOptionText("status: accepted", false)); err != nil {
			t.Fatal(err)
		}
		if got := messageAt(t, e, ch.ID, ts); got.Text != "status: accepted" || !got.Edited {
			t.Errorf("message now %+v", got)
		}
	})
	t.Run("ErrCantUpdateMessage", func(t *testing.T) {
		theirs, err := e.Say(officer.ID, ch.ID, "I am on it")
		if err != nil {
			t.Fatal(err)
		}
		_, _, _, err = api.UpdateMessage(ch.ID, theirs, slack.MsgOptionText("edited by the bot", false))
		wantCode(t, err, "cant_update_message")
	})
	t.Run("ErrMessageNotFound", func(t *testing.T) {
		_, _, _, err := api.UpdateMessage(ch.ID, "1.000001", slack.MsgOptionText("x", false))
		wantCode(t, err, "message_not_found")
	})
	t.Run("Ephemeral", func(t *testing.T) {
		if _, err := api.PostEphemeral(ch.ID, officer.ID, slack.MsgOptionText("only you", false)); err != nil {
			t.Fatal(err)
		}
		if got := e.Ephemerals(officer.ID); len(got) != 1 || got[0].Text != "only you" {
			t.Errorf("ephemerals = %+v", got)
		}
		stranger := e.AddUser("stranger", "")
		_, err := api.PostEphemeral(ch.ID, stranger.ID, slack.MsgOptionText("x", false))
		wantCode(t, err, "user_not_in_channel")
	})
	t.Run("Permalink", func(t *testing.T) {
		link, err := api.GetPermalink(&slack.PermalinkParameters{Channel: ch.ID, Ts: ts})
		if err != nil || !strings.Contains(link, ch.ID) {
			t.Errorf("permalink %q, %v", link, err)
		}
	})
}

func TestServedByHTTPTest(t *testing.T) {
	e := slackemu.New(slackemu.Options{})
	t.Cleanup(func() { _ = e.Close() })
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	api := slack.New(e.BotToken(), slack.OptionAPIURL(srv.URL+"/api/"), slack.OptionAppLevelToken(e.AppToken()))
	if _, err := api.AuthTest(); err != nil {
		t.Fatal(err)
	}
	_, wsURL, err := api.StartSocketModeContext(t.Context())
	if err != nil || !strings.HasPrefix(wsURL, "ws"+strings.TrimPrefix(srv.URL, "http")+"/link/") {
		t.Errorf("socket URL %q, %v; want one on %s", wsURL, err, srv.URL)
	}
}
