package slackemu_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/csp/trigger/bot/slackemu"
)

// socketOptions lets a test reconnect without waiting out Tier 1.
var socketOptions = slackemu.Options{Rates: map[string]slackemu.Rate{"apps.connections.open": slackemu.Tier4}}

// socketBot is a bot on slack-go's Socket Mode client. handle decides, for
// each envelope, whether to ack it and with what payload.
type socketBot struct {
	api      *slack.Client
	client   *socketmode.Client
	requests chan socketmode.Request
	hellos   chan struct{}
}

func startSocketBot(tb testing.TB, e *slackemu.Emulator, handle func(b *socketBot, evt socketmode.Event) (ack bool, payload any)) *socketBot {
	tb.Helper()
	b := &socketBot{api: botClient(e), requests: make(chan socketmode.Request, 100), hellos: make(chan struct{}, 10)}
	b.client = socketmode.New(b.api)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = b.client.RunContext(ctx) })
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-b.client.Events:
				switch evt.Type {
				case socketmode.EventTypeHello:
					b.hellos <- struct{}{}
				case socketmode.EventTypeEventsAPI, socketmode.EventTypeInteractive, socketmode.EventTypeSlashCommand:
					b.requests <- *evt.Request
					if ack, payload := handle(b, evt); ack {
						_ = b.client.Ack(*evt.Request, payload)
					}
				}
			}
		}
	})
	tb.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return b
}

func ackAll(*socketBot, socketmode.Event) (bool, any) { return true, nil }

// ackRetries leaves every first delivery unacked.
func ackRetries(_ *socketBot, evt socketmode.Event) (bool, any) {
	return evt.Request.RetryAttempt > 0, nil
}

func receive[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		tb.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestSocketModeHandshake(t *testing.T) {
	opts := socketOptions
	opts.PingInterval = 20 * time.Millisecond
	e := startEmulator(t, opts)
	_, wsURL, err := botClient(e).StartSocketModeContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	var hello socketmode.Request
	if err := conn.ReadJSON(&hello); err != nil || hello.Type != "hello" || hello.NumConnections != 1 || hello.ConnectionInfo.AppID != e.AppID() {
		t.Fatalf("first message %+v, %v", hello, err)
	}
	pings, pongs := make(chan string, 100), make(chan string, 1)
	conn.SetPingHandler(func(data string) error {
		select {
		case pings <- data:
		default:
		}
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	conn.SetPongHandler(func(data string) error { pongs <- data; return nil })
	go func() {
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	receive(t, pings, "a ping from the emulator")
	if err := conn.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, pongs, "a pong"); got != "are you there" {
		t.Errorf("pong %q", got)
	}

	t.Run("ErrTicketUsed", func(t *testing.T) {
		_, resp, err := websocket.DefaultDialer.Dial(wsURL, nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("second dial with one ticket: %v", err)
		}
	})
	t.Run("ErrAppToken", func(t *testing.T) {
		_, _, err := slack.New(e.BotToken(), slack.OptionAPIURL(e.APIURL()), slack.OptionAppLevelToken("xapp-wrong")).StartSocketModeContext(context.Background())
		wantCode(t, err, "invalid_auth")
		_, _, err = slack.New(e.BotToken(), slack.OptionAPIURL(e.APIURL()), slack.OptionAppLevelToken(e.BotToken())).StartSocketModeContext(context.Background())
		wantCode(t, err, "not_allowed_token_type")
	})
}

func TestSocketModeDelivery(t *testing.T) {
	setup := func(t *testing.T, handle func(*socketBot, socketmode.Event) (bool, any)) (*slackemu.Emulator, *socketBot, slackemu.User, string) {
		e := startEmulator(t, socketOptions)
		b := startSocketBot(t, e, handle)
		receive(t, b.hellos, "hello")
		officer := e.AddUser("officer", "officer@example.org")
		// Made directly: an invite would post (and deliver) a channel_join.
		ch, err := e.AddChannel("ct-2026-0001", true, e.BotUserID(), officer.ID)
		if err != nil {
			t.Fatal(err)
		}
		return e, b, officer, ch.ID
	}
	acked := func(e *slackemu.Emulator) func() bool {
		return func() bool {
			d := e.Deliveries()
			return len(d) == 1 && d[0].Acked
		}
	}

	t.Run("AckWithinDeadline", func(t *testing.T) {
		e, b, officer, ch := setup(t, ackAll)
		if _, err := e.Say(officer.ID, ch, "hello"); err != nil {
			t.Fatal(err)
		}
		req := receive(t, b.requests, "the event")
		if req.Type != "events_api" || req.RetryAttempt != 0 {
			t.Errorf("envelope %s attempt %d", req.Type, req.RetryAttempt)
		}
		waitFor(t, e, "the ack", acked(e))
		if d := e.Deliveries()[0]; d.Attempts != 1 || d.Transport != "socket" || d.ID != req.EnvelopeID {
			t.Errorf("delivery %+v", d)
		}
	})
	t.Run("RedeliveredWhenNotAcked", func(t *testing.T) {
		e, b, officer, ch := setup(t, ackRetries)
		if _, err := e.Say(officer.ID, ch, "hello"); err != nil {
			t.Fatal(err)
		}
		first := receive(t, b.requests, "the event")
		e.Advance(3 * time.Second) // the ack deadline passes
		retry := receive(t, b.requests, "the redelivery")
		if retry.EnvelopeID != first.EnvelopeID || retry.RetryAttempt != 1 || retry.RetryReason != "timeout" {
			t.Errorf("redelivery %s attempt %d (%s), want %s attempt 1 (timeout)", retry.EnvelopeID, retry.RetryAttempt, retry.RetryReason, first.EnvelopeID)
		}
		waitFor(t, e, "the ack", acked(e))
	})
	t.Run("DisconnectThenReconnect", func(t *testing.T) {
		e, b, officer, ch := setup(t, ackRetries)
		if _, err := e.Say(officer.ID, ch, "hello"); err != nil {
			t.Fatal(err)
		}
		first := receive(t, b.requests, "the event")
		e.Disconnect("refresh_requested")
		receive(t, b.hellos, "hello on the new connection")
		retry := receive(t, b.requests, "the redelivery")
		if retry.EnvelopeID != first.EnvelopeID || retry.RetryAttempt != 1 {
			t.Errorf("redelivery %s attempt %d, want %s attempt 1", retry.EnvelopeID, retry.RetryAttempt, first.EnvelopeID)
		}
		waitFor(t, e, "the ack", acked(e))
		waitFor(t, e, "one connection left", func() bool { return e.SocketConnections() == 1 })
	})
	t.Run("DroppedSocket", func(t *testing.T) {
		e, b, officer, ch := setup(t, ackRetries)
		if _, err := e.Say(officer.ID, ch, "hello"); err != nil {
			t.Fatal(err)
		}
		first := receive(t, b.requests, "the event")
		e.DropSockets()
		receive(t, b.hellos, "hello after reconnecting")
		retry := receive(t, b.requests, "the redelivery")
		if retry.EnvelopeID != first.EnvelopeID || retry.RetryAttempt != 1 {
			t.Errorf("redelivery %s attempt %d, want %s attempt 1", retry.EnvelopeID, retry.RetryAttempt, first.EnvelopeID)
		}
		waitFor(t, e, "the ack", acked(e))
	})
}

// TestViewSubmissionErrors is the whole round trip over Socket Mode: a
// click, views.open with its trigger, a submission answered with
// response_action errors, then a good one that closes the modal.
func TestViewSubmissionErrors(t *testing.T) {
	e := startEmulator(t, socketOptions)
	var opened sync.WaitGroup
	opened.Add(1)
	b := startSocketBot(t, e, func(b *socketBot, evt socketmode.Event) (bool, any) {
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			return true, nil
		}
		switch cb.Type {
		case slack.InteractionTypeBlockActions:
			go func() { // ack first, work after
				defer opened.Done()
				if _, err := b.api.OpenView(cb.TriggerID, reasonModal("decision")); err != nil {
					t.Errorf("views.open: %v", err)
				}
			}()
		case slack.InteractionTypeViewSubmission:
			if reason := cb.View.State.Values["reason"]["reason_input"].Value; len(reason) < 10 {
				return true, slack.NewErrorsViewSubmissionResponse(map[string]string{"reason": "Please give more detail"})
			}
		}
		return true, nil
	})
	receive(t, b.hellos, "hello")
	officer := e.AddUser("officer", "officer@example.org")
	ch := caseChannel(t, b.api, "ct-2026-0001")
	if _, err := b.api.InviteUsersToConversation(ch.ID, officer.ID); err != nil {
		t.Fatal(err)
	}
	_, ts, err := b.api.PostMessage(ch.ID, slack.MsgOptionText("card", false), buttonBlocks("accept", "CT-2026-0001"))
	if err != nil {
		t.Fatal(err)
	}

	click, err := e.ClickButton(officer.ID, ch.ID, ts, "accept", "")
	if err != nil || !click.Acked {
		t.Fatalf("click = %+v, %v", click, err)
	}
	opened.Wait()
	views := e.OpenViews(officer.ID)
	if len(views) != 1 {
		t.Fatalf("open views %+v", views)
	}

	bad, err := e.SubmitView(officer.ID, views[0].ID, map[string]string{"reason": "noise"})
	if err != nil || bad.Closed || bad.Errors["reason"] != "Please give more detail" || bad.View == nil || bad.View.ID != views[0].ID {
		t.Fatalf("short reason: %+v, %v", bad, err)
	}
	good, err := e.SubmitView(officer.ID, views[0].ID, map[string]string{"reason": "loud music every night since May"})
	if err != nil || !good.Closed || good.Errors != nil || good.View != nil {
		t.Fatalf("good reason: %+v, %v", good, err)
	}
	if got := e.OpenViews(officer.ID); len(got) != 0 {
		t.Errorf("still open: %+v", got)
	}
}
