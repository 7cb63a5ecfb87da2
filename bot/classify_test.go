package bot

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/casefile"
)

// TestClassify: Slack's refusals that a retry meets again end the job (the
// coordinator is told); a 429 waits as Slack says; the rest is retried
// (issue 14, point 6: no job retries forever on a permanent error).
func TestClassify(t *testing.T) {
	var perm *casefile.PermanentError
	for _, code := range []string{"invalid_blocks", "invalid_arguments", "msg_blocks_too_long", "msg_too_long", "missing_scope",
		"ura_max_channels", "cant_invite", "too_many_users", "channel_not_found", "not_in_channel", "view_too_large"} {
		err := classify("chat.postMessage", slack.SlackErrorResponse{Err: code})
		if !errors.As(err, &perm) {
			t.Errorf("%s is retried: %v", code, err)
		}
	}
	for _, err := range []error{
		slack.SlackErrorResponse{Err: "internal_error"},
		slack.StatusCodeError{Code: http.StatusServiceUnavailable, Status: "503"},
		fmt.Errorf("dial tcp: connection refused"),
	} {
		if got := classify("chat.postMessage", err); errors.As(got, &perm) {
			t.Errorf("%v ends the job", err)
		}
	}
	var wait *casefile.RetryAfterError
	if err := classify("chat.postMessage", &slack.RateLimitedError{RetryAfter: 3 * time.Second}); !errors.As(err, &wait) || wait.After != 3*time.Second {
		t.Errorf("a 429: %v", err)
	}
}
