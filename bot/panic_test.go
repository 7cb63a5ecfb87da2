package bot

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/casefile"
)

// TestPanicIsAnswered: a payload that makes a handler panic is answered
// (a form shows an error, so Slack does not send it again) and logged with
// a code, and the bot goes on. A submission without state no longer panics
// at all.
func TestPanicIsAnswered(t *testing.T) {
	cfg := casefile.DefaultConfig()
	cfg.Roles.Coordinator = casefile.IDList{"UCOORD"}
	var logs bytes.Buffer
	b := New(slack.New("xoxb-test"), nil, &cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	view := slack.View{CallbackID: ViewNotMet, PrivateMetadata: "CT-2026-0001", Blocks: slack.Blocks{BlockSet: []slack.Block{
		slack.NewInputBlock(BlockReason, slack.NewTextBlockObject(slack.PlainTextType, "Reason", false, false), nil,
			slack.NewPlainTextInputBlockElement(nil, "reason")),
	}}}

	// No state at all: refused politely, no panic.
	cb := &slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission, User: slack.User{ID: "UCOORD"}, View: view}
	if resp := b.interactSafely(context.Background(), cb); resp.Ack == nil {
		t.Fatalf("a submission without state got no answer")
	}
	if strings.Contains(logs.String(), "panic") {
		t.Fatalf("a submission without state panicked: %s", logs.String())
	}

	// A reason given, and a store that is not there: the handler panics.
	view.State = &slack.ViewState{Values: map[string]map[string]slack.BlockAction{BlockReason: {"reason": {Value: "one complaint"}}}}
	cb.View = view
	resp := b.interactSafely(context.Background(), cb)
	if resp.Ack == nil {
		t.Fatalf("a panicking submission got no answer")
	}
	if !strings.Contains(logs.String(), "code=panic") || strings.Contains(logs.String(), "one complaint") {
		t.Fatalf("the panic is not logged with its code, or the log holds the payload: %s", logs.String())
	}
}
