package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/csp/trigger/casefile"
)

// socketWorkers is how many Socket Mode payloads are handled at once: a
// slow one (a submission waiting on the database) does not hold up the
// others' answers, and a flood does not start unbounded work.
const socketWorkers = 16

// RunSocketMode connects to Slack over Socket Mode (the app-level token; it
// needs no inbound port, so it works behind a council firewall) and serves
// interactions and events until ctx is cancelled, several at once
// (socketWorkers). slack-go reconnects after a dropped socket; Slack
// redelivers what was not acknowledged.
func (b *Bot) RunSocketMode(ctx context.Context) error {
	client := socketmode.New(b.API)
	var wg sync.WaitGroup
	defer wg.Wait()
	done := make(chan struct{})
	defer close(done)
	slots := make(chan struct{}, socketWorkers)
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case evt, ok := <-client.Events:
				if !ok {
					return
				}
				if evt.Request == nil {
					b.socketEvent(ctx, client, evt, &wg) // the connection's state, in order
					continue
				}
				select {
				case slots <- struct{}{}:
				case <-done:
					return
				}
				wg.Go(func() {
					defer func() { <-slots }()
					b.socketEvent(ctx, client, evt, &wg)
				})
			}
		}
	})
	err := client.RunContext(ctx)
	b.connected.Store(false)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (b *Bot) socketEvent(ctx context.Context, client *socketmode.Client, evt socketmode.Event, wg starter) {
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
		ack, work := b.receive(ctx, ev, evt.Request.Payload)
		if !ack {
			return // not recorded: unacknowledged, Slack sends it again
		}
		client.Ack(*evt.Request)
		b.after(ctx, Response{After: work}, wg)
	case socketmode.EventTypeSlashCommand:
		if evt.Request == nil {
			return
		}
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok {
			client.Ack(*evt.Request)
			return
		}
		resp := b.HandleCommand(ctx, cmd)
		client.Ack(*evt.Request)
		b.after(ctx, resp, wg)
	}
}

// starter starts work that is waited for on shutdown: a sync.WaitGroup, or
// a tracker.
type starter interface{ Go(func()) }

// after runs the work that follows an acknowledgement, owned by wg so that
// shutdown waits for it.
func (b *Bot) after(ctx context.Context, resp Response, wg starter) {
	if resp.After == nil {
		return
	}
	wg.Go(func() {
		defer b.recovered("after an interaction")
		resp.After(context.WithoutCancel(ctx))
	})
}

// tracker counts running work and waits for none to be running. Unlike a
// sync.WaitGroup, work may start while someone waits (Slack's requests keep
// arriving while a test or a shutdown waits for the work in flight).
type tracker struct {
	mu   sync.Mutex
	n    int
	idle *sync.Cond
}

func (t *tracker) Go(fn func()) {
	t.mu.Lock()
	t.n++
	t.mu.Unlock()
	go func() {
		defer t.done()
		fn()
	}()
}

func (t *tracker) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n--; t.n == 0 && t.idle != nil {
		t.idle.Broadcast()
	}
}

// Wait waits until no work is running.
func (t *tracker) Wait() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.idle == nil {
		t.idle = sync.NewCond(&t.mu)
	}
	for t.n > 0 {
		t.idle.Wait()
	}
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

// The inbox of events. Slack does not send again an event it was told
// arrived, so each is recorded in the store first (a failure to record it
// leaves it unacknowledged, for Slack to send again), then handled; one
// that cannot be handled yet (the database or Slack hiccuped, the bot
// stopped) is offered again by RunBackground, with a growing wait, until it
// is done or eventAttempts have failed.
const (
	eventLease    = time.Minute // while one handler has it
	eventAttempts = 20          // about two hours of trying, with eventWait
	eventBatch    = 20
)

// eventWait is the wait after the n-th failed attempt: 2s, 4s, … 10 minutes.
func eventWait(n int) time.Duration {
	return min(2*time.Second<<min(n, 12), 10*time.Minute)
}

// receive records an event before it is acknowledged. It reports whether
// Slack may be told the event arrived, and the work that handles it now
// (nil for an event that needs none, or that was recorded before: Slack's
// retry, which the inbox handles).
func (b *Bot) receive(ctx context.Context, ev slackevents.EventsAPIEvent, raw []byte) (ack bool, work func(context.Context)) {
	if ev.Type != slackevents.CallbackEvent {
		return true, nil
	}
	id := ""
	if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok {
		id = cb.EventID
	}
	if id == "" {
		sum := sha256.Sum256(raw)
		id = "sha256:" + hex.EncodeToString(sum[:16])
	}
	fresh, err := b.Store.KeepEvent(ctx, id, raw, eventLease)
	if err != nil {
		b.Logger.Error("slack: event not recorded: left for Slack to send again", "event", id, "err", err)
		return false, nil
	}
	if !fresh {
		return true, nil
	}
	e := casefile.SlackEvent{ID: id, Payload: raw, ReceivedAt: b.Store.Now()}
	return true, func(ctx context.Context) { b.handleKept(ctx, e, &ev) }
}

// handleKept handles a recorded event (parsed from its payload when ev is
// nil) and records how it went.
func (b *Bot) handleKept(ctx context.Context, e casefile.SlackEvent, ev *slackevents.EventsAPIEvent) {
	if ev == nil {
		parsed, err := slackevents.ParseEvent(json.RawMessage(e.Payload), slackevents.OptionNoVerifyToken())
		if err != nil {
			b.Logger.Error("slack: a recorded event cannot be read: dropped", "code", "event_unreadable", "event", e.ID)
			b.eventDone(ctx, e.ID, "gave_up")
			return
		}
		ev = &parsed
	}
	if b.HandleEvent(ctx, e.ID, ev.InnerEvent) {
		b.eventDone(ctx, e.ID, "handled")
		return
	}
	if e.Attempts+1 >= eventAttempts {
		b.Logger.Error("slack: an event could not be handled: given up", "code", "event_gave_up", "event", e.ID, "attempts", e.Attempts+1)
		b.eventDone(ctx, e.ID, "gave_up")
		return
	}
	if err := b.Store.EventLater(ctx, e.ID, eventWait(e.Attempts)); err != nil {
		b.Logger.Warn("slack: event attempt not recorded", "event", e.ID, "err", err) // its lease runs out: it is offered again
	}
}

func (b *Bot) eventDone(ctx context.Context, id, outcome string) {
	if err := b.Store.EventDone(ctx, id, outcome); err != nil {
		b.Logger.Warn("slack: event outcome not recorded", "event", id, "err", err) // offered again; the reply's dedupe key keeps it once
	}
}

// handlePending handles the recorded events whose time has come, and
// reports how many there were.
func (b *Bot) handlePending(ctx context.Context) int {
	evs, err := b.Store.PendingEvents(ctx, eventBatch, eventLease)
	if err != nil {
		if ctx.Err() == nil {
			b.Logger.Warn("slack: pending events", "err", err)
		}
		return 0
	}
	for _, e := range evs {
		func() {
			defer b.recovered("recorded event")
			b.handleKept(ctx, e, nil)
		}()
	}
	return len(evs)
}

// HTTPHandler serves Slack's HTTP mode: /slack/events (Events API, with
// url_verification), /slack/interactivity and /slack/commands. Every request's signature is
// checked (v0, 5-minute window) before anything else: a forged or replayed
// request gets 401 and changes nothing.
type HTTPHandler struct {
	Bot           *Bot
	SigningSecret string

	work tracker
}

// Wait waits for the work started after answering Slack.
func (h *HTTPHandler) Wait() { h.work.Wait() }

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
	ack, work := h.Bot.receive(r.Context(), ev, body)
	if !ack {
		http.Error(w, "not recorded: please send it again", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
	h.Bot.after(r.Context(), Response{After: work}, &h.work)
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
	h.Bot.after(r.Context(), resp, &h.work)
}

// Commands serves /slack/commands: the /trigger slash command, signed like
// every request, acknowledged at once with an empty 200 (the answer
// follows through the command's response_url).
func (h *HTTPHandler) Commands(w http.ResponseWriter, r *http.Request) {
	defer h.Bot.recovered("commands endpoint")
	body, ok := h.verified(w, r)
	if !ok {
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("command") == "" {
		http.Error(w, "not a slash command", http.StatusBadRequest)
		return
	}
	cmd := slack.SlashCommand{
		Token: form.Get("token"), TeamID: form.Get("team_id"), TeamDomain: form.Get("team_domain"),
		EnterpriseID: form.Get("enterprise_id"), EnterpriseName: form.Get("enterprise_name"),
		IsEnterpriseInstall: form.Get("is_enterprise_install") == "true",
		ChannelID:           form.Get("channel_id"), ChannelName: form.Get("channel_name"),
		UserID: form.Get("user_id"), UserName: form.Get("user_name"),
		Command: form.Get("command"), Text: form.Get("text"),
		ResponseURL: form.Get("response_url"), TriggerID: form.Get("trigger_id"), APIAppID: form.Get("api_app_id"),
	}
	resp := h.Bot.HandleCommand(context.WithoutCancel(r.Context()), cmd)
	w.WriteHeader(http.StatusOK)
	h.Bot.after(r.Context(), resp, &h.work)
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
