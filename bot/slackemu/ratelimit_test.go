package slackemu_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/bot/slackemu"
)

// listChannels calls conversations.list, a Tier 2 method.
func listChannels(api *slack.Client) error {
	_, _, err := api.GetConversations(&slack.GetConversationsParameters{})
	return err
}

func TestRateLimit(t *testing.T) {
	t.Run("Tier2RetryAfterInRealSeconds", func(t *testing.T) {
		for _, tc := range []struct {
			scale float64
			want  time.Duration // the emulated minute's window in real time, rounded up
		}{{1, 60 * time.Second}, {30, 2 * time.Second}} {
			e := startEmulator(t, slackemu.Options{TimeScale: tc.scale})
			api := botClient(e)
			for i := range 20 {
				if err := listChannels(api); err != nil {
					t.Fatalf("scale %v: call %d within the rate: %v", tc.scale, i+1, err)
				}
			}
			err := listChannels(api)
			var rl *slack.RateLimitedError
			if !errors.As(err, &rl) {
				t.Fatalf("scale %v: 21st call: %v, want *slack.RateLimitedError", tc.scale, err)
			}
			// The window opened when the first call was made, a moment ago.
			if rl.RetryAfter > tc.want || rl.RetryAfter < tc.want-time.Second {
				t.Errorf("scale %v: RetryAfter = %v, want %v (or a second less)", tc.scale, rl.RetryAfter, tc.want)
			}
			calls := e.Calls("conversations.list")
			if last := calls[len(calls)-1]; last.Status != http.StatusTooManyRequests || last.Error != "ratelimited" {
				t.Errorf("scale %v: logged %+v", tc.scale, last)
			}
			e.Advance(time.Minute)
			if err := listChannels(api); err != nil {
				t.Errorf("scale %v: after the window: %v", tc.scale, err)
			}
		}
	})
	t.Run("PostMessagePerChannel", func(t *testing.T) {
		e := startEmulator(t, slackemu.Options{})
		api := botClient(e)
		a, b := caseChannel(t, api, "ct-a"), caseChannel(t, api, "ct-b")
		post := func(ch string) error {
			_, _, err := api.PostMessage(ch, slack.MsgOptionText("x", false))
			return err
		}
		for range slackemu.PostMessageRate.Limit {
			if err := post(a.ID); err != nil {
				t.Fatal(err)
			}
		}
		var rl *slack.RateLimitedError
		if err := post(a.ID); !errors.As(err, &rl) {
			t.Errorf("burst over the limit: %v, want rate limited", err)
		}
		if err := post(b.ID); err != nil {
			t.Errorf("another channel: %v", err)
		}
	})
	t.Run("Override", func(t *testing.T) {
		e := startEmulator(t, slackemu.Options{Rates: map[string]slackemu.Rate{"auth.test": {Limit: 1, Per: time.Hour}}})
		api := botClient(e)
		if _, err := api.AuthTest(); err != nil {
			t.Fatal(err)
		}
		var rl *slack.RateLimitedError
		if _, err := api.AuthTest(); !errors.As(err, &rl) || rl.RetryAfter != time.Hour {
			t.Errorf("second call: %v, want retry after 1h", err)
		}
	})
}
