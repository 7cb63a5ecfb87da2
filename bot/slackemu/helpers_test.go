package slackemu_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/bot/slackemu"
)

// startEmulator starts an emulator on a free port, closed when the test ends.
func startEmulator(tb testing.TB, opts slackemu.Options) *slackemu.Emulator {
	tb.Helper()
	e := slackemu.New(opts)
	if err := e.Start("127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = e.Close() })
	return e
}

// botClient is the Web API client a bot would build.
func botClient(e *slackemu.Emulator, opts ...slack.Option) *slack.Client {
	opts = append([]slack.Option{slack.OptionAPIURL(e.APIURL()), slack.OptionAppLevelToken(e.AppToken())}, opts...)
	return slack.New(e.BotToken(), opts...)
}

// slackCode is the Slack error code a client got, or "" for none.
func slackCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	if err != nil {
		return "not a Slack error: " + err.Error()
	}
	return ""
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := slackCode(err); got != code {
		tb.Fatalf("error = %q (%v), want %q", got, err, code)
	}
}

// waitFor waits until cond holds, failing the test after 5 seconds.
func waitFor(tb testing.TB, e *slackemu.Emulator, what string, cond func() bool) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Wait(ctx, cond); err != nil {
		tb.Fatalf("waiting for %s: %v", what, err)
	}
}

// caseChannel creates a private channel through the Web API, as the bot does.
func caseChannel(tb testing.TB, api *slack.Client, name string) *slack.Channel {
	tb.Helper()
	ch, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: name, IsPrivate: true})
	if err != nil {
		tb.Fatalf("create %s: %v", name, err)
	}
	return ch
}

// buttonBlocks is a message with one button.
func buttonBlocks(actionID, value string) slack.MsgOption {
	btn := slack.NewButtonBlockElement(actionID, value, slack.NewTextBlockObject(slack.PlainTextType, "Accept", false, false))
	return slack.MsgOptionBlocks(
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "Case CT-2026-0001", false, false), nil, nil),
		slack.NewActionBlock("decision", btn),
	)
}

// reasonModal is a modal with one required text input, block "reason".
func reasonModal(callbackID string) slack.ModalViewRequest {
	input := slack.NewInputBlock("reason",
		slack.NewTextBlockObject(slack.PlainTextType, "Reason", false, false), nil,
		slack.NewPlainTextInputBlockElement(nil, "reason_input"))
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Decision", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Save", false, false),
		CallbackID:      callbackID,
		PrivateMetadata: "CT-2026-0001",
		Blocks:          slack.Blocks{BlockSet: []slack.Block{input}},
	}
}

// messageAt is the message with ts in a channel's history.
func messageAt(tb testing.TB, e *slackemu.Emulator, channel, ts string) slackemu.Message {
	tb.Helper()
	for _, m := range e.Messages(channel) {
		if m.TS == ts {
			return m
		}
	}
	tb.Fatalf("no message %s in %s", ts, channel)
	return slackemu.Message{}
}
