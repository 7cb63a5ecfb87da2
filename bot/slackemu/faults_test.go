package slackemu_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/bot/slackemu"
)

func TestFaults(t *testing.T) {
	e := startEmulator(t, slackemu.Options{})
	api := botClient(e)
	ch := caseChannel(t, api, "ct-2026-0001")
	post := func(c *slack.Client) error {
		_, _, err := c.PostMessage(ch.ID, slack.MsgOptionText("x", false))
		return err
	}

	t.Run("ServerErrorNextN", func(t *testing.T) {
		e.InjectFault(slackemu.Fault{Method: "chat.postMessage", Count: 2, Status: http.StatusInternalServerError})
		if _, err := api.AuthTest(); err != nil {
			t.Fatalf("another method failed too: %v", err)
		}
		for i := range 2 {
			var sc slack.StatusCodeError
			if err := post(api); !errors.As(err, &sc) || sc.Code != http.StatusInternalServerError {
				t.Fatalf("call %d: %v, want HTTP 500", i+1, err)
			}
		}
		if err := post(api); err != nil {
			t.Fatalf("third call: %v", err)
		}
		if got := len(e.Messages(ch.ID)); got != 1 {
			t.Errorf("%d messages stored, want only the one that succeeded", got)
		}
	})
	t.Run("ChosenError", func(t *testing.T) {
		e.InjectFault(slackemu.Fault{Method: "conversations.create", Error: "fatal_error"})
		_, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: "ct-2026-0002"})
		wantCode(t, err, "fatal_error")
		if _, ok := e.ChannelByName("ct-2026-0002"); ok {
			t.Error("the failed call created the channel")
		}
	})
	t.Run("TooManyRequestsWithoutRetryAfter", func(t *testing.T) {
		e.InjectFault(slackemu.Fault{Status: http.StatusTooManyRequests})
		err := post(api)
		var rl *slack.RateLimitedError
		var sc slack.StatusCodeError
		if errors.As(err, &rl) || !errors.As(err, &sc) || sc.Code != http.StatusTooManyRequests {
			t.Errorf("got %v, want a bare HTTP 429 (no Retry-After to honour)", err)
		}
	})
	t.Run("DelayTimesOut", func(t *testing.T) {
		e.InjectFault(slackemu.Fault{Method: "auth.test", Delay: 2 * time.Second})
		impatient := botClient(e, slack.OptionHTTPClient(&http.Client{Timeout: 100 * time.Millisecond}))
		if _, err := impatient.AuthTest(); err == nil {
			t.Fatal("a delayed answer arrived within the client's timeout")
		}
		if _, err := impatient.AuthTest(); err != nil {
			t.Errorf("next call: %v", err)
		}
	})
	t.Run("Clear", func(t *testing.T) {
		e.InjectFault(slackemu.Fault{Status: http.StatusServiceUnavailable, Count: 5})
		e.ClearFaults()
		if err := post(api); err != nil {
			t.Errorf("after ClearFaults: %v", err)
		}
	})
}
