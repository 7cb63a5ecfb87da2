package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode connects to Slack over Socket Mode (the app-level token; it
// needs no inbound port, so it works behind a council firewall) and serves
// interactions and events until ctx is cancelled. slack-go reconnects after
// a dropped socket; Slack redelivers what was not acknowledged.
func (b *Bot) RunSocketMode(ctx context.Context) error {
	client := socketmode.New(b.API)
	var wg sync.WaitGroup
	defer wg.Wait()
	done := make(chan struct{})
	defer close(done)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case evt, ok := <-client.Events:
				if !ok {
					return
				}
				b.socketEvent(ctx, client, evt, &wg)
			}
		}
	}()
	err := client.RunContext(ctx)
	b.connected.Store(false)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (b *Bot) socketEvent(ctx context.Context, client *socketmode.Client, evt socketmode.Event, wg *sync.WaitGroup) {
	defer b.recovered("socket mode event")
	switch evt.Type {
	case socketmode.EventTypeConnected, socketmode.EventTypeHello:
		b.connected.Store(true)
	case socketmode.EventTypeConnecting, socketmode.EventTypeDisconnect, socketmode.EventTypeConnectionError:
		b.connected.Store(false)
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok || evt.Request == nil {
			return
		}
		resp := b.interactSafely(ctx, &cb)
		if resp.Ack != nil {
			client.Ack(*evt.Request, resp.Ack)
		} else {
			client.Ack(*evt.Request)
		}
		b.after(ctx, resp, wg)
	case socketmode.EventTypeEventsAPI:
		ev, ok := evt.Data.(slackevents.EventsAPIEvent)
		if !ok || evt.Request == nil {
			return
		}
		client.Ack(*evt.Request)
		b.event(ctx, ev, wg)
	case socketmode.EventTypeSlashCommand:
		if evt.Request != nil {
			client.Ack(*evt.Request)
		}
	}
}

// after runs the work that follows an acknowledgement, owned by wg so that
// shutdown waits for it.
func (b *Bot) after(ctx context.Context, resp Response, wg *sync.WaitGroup) {
	if resp.After == nil {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer b.recovered("after an interaction")
		resp.After(context.WithoutCancel(ctx))
	}()
}

// recovered, deferred, turns a panic into a log line with a code (never
// the payload, which may hold personal data), so that one bad payload does
// not stop the service.
func (b *Bot) recovered(what string) {
	if r := recover(); r != nil {
		b.Logger.Error("slack: panic handled", "code", "panic", "in", what, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	}
}

// interactSafely is HandleInteraction with a panic answered as an error:
// the interaction is acknowledged (Slack would otherwise send it again, to
// panic again), and a form shows that something went wrong.
func (b *Bot) interactSafely(ctx context.Context, cb *slack.InteractionCallback) (resp Response) {
	defer func() {
		if r := recover(); r != nil {
			b.Logger.Error("slack: panic handled", "code", "panic", "in", "interaction", "type", string(cb.Type),
				"callback", cb.View.CallbackID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			resp = Response{}
			if cb.Type == slack.InteractionTypeViewSubmission {
				if block := firstInput(cb.View); block != "" {
					resp.Ack = viewErrors(map[string]string{block: explain(fmt.Errorf("panic"))})
				}
			}
		}
	}()
	return b.HandleInteraction(ctx, cb)
}

func (b *Bot) event(ctx context.Context, ev slackevents.EventsAPIEvent, wg *sync.WaitGroup) {
	if ev.Type != slackevents.CallbackEvent {
		return
	}
	id := ""
	if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok {
		id = cb.EventID
	}
	if id != "" {
		if seen, err := b.Store.Seen(ctx, "event:"+id); err == nil && seen {
			return // Slack's retry of an event we handled
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer b.recovered("event")
		ctx := context.WithoutCancel(ctx)
		if !b.HandleEvent(ctx, id, ev.InnerEvent) {
			return // not marked seen: Slack's retry gets another chance
		}
		if id != "" {
			// Marked after the work: a crash in between means the retry
			// does it again, and the reply's own dedupe key keeps it once.
			b.Store.FirstSeen(ctx, "event:"+id)
		}
	}()
}

// HTTPHandler serves Slack's HTTP mode: /slack/events (Events API, with
// url_verification) and /slack/interactivity. Every request's signature is
// checked (v0, 5-minute window) before anything else: a forged or replayed
// request gets 401 and changes nothing.
type HTTPHandler struct {
	Bot           *Bot
	SigningSecret string

	wg sync.WaitGroup
}

// Wait waits for the work started after answering Slack.
func (h *HTTPHandler) Wait() { h.wg.Wait() }

func (h *HTTPHandler) verified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read the request", http.StatusBadRequest)
		return nil, false
	}
	sv, err := slack.NewSecretsVerifier(r.Header, h.SigningSecret)
	if err == nil {
		sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		h.Bot.Logger.Warn("slack: request refused: bad signature", "path", r.URL.Path, "reason", err.Error())
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

// Events serves /slack/events.
func (h *HTTPHandler) Events(w http.ResponseWriter, r *http.Request) {
	defer h.Bot.recovered("events endpoint")
	body, ok := h.verified(w, r)
	if !ok {
		return
	}
	ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
	if err != nil {
		http.Error(w, "not an Events API payload", http.StatusBadRequest)
		return
	}
	if ev.Type == slackevents.URLVerification {
		var ch slackevents.ChallengeResponse
		json.Unmarshal(body, &ch)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, ch.Challenge)
		return
	}
	w.WriteHeader(http.StatusOK)
	h.Bot.event(r.Context(), ev, &h.wg)
}

// Interactivity serves /slack/interactivity.
func (h *HTTPHandler) Interactivity(w http.ResponseWriter, r *http.Request) {
	defer h.Bot.recovered("interactivity endpoint")
	body, ok := h.verified(w, r)
	if !ok {
		return
	}
	form, err := parseForm(string(body))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form), &cb); err != nil {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	resp := h.Bot.interactSafely(context.WithoutCancel(r.Context()), &cb)
	if resp.Ack != nil {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp.Ack)
	} else {
		w.WriteHeader(http.StatusOK)
	}
	h.Bot.after(r.Context(), resp, &h.wg)
}

func parseForm(body string) (string, error) {
	vals, err := url.ParseQuery(body)
	if err != nil {
		return "", err
	}
	p := vals.Get("payload")
	if strings.TrimSpace(p) == "" {
		return "", io.ErrUnexpectedEOF
	}
	return p, nil
}
