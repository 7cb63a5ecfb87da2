package slackemu

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// What a person sees instead of the app's answer.
const (
	ProblemTimeout     = "timeout"      // no acknowledgement within 3 seconds
	ProblemHTTPStatus  = "http_error"   // the app answered with a non-2xx status
	ProblemBadResponse = "bad_response" // the acknowledgement's payload was unusable
)

// eventRetryDelays are the emulated waits before the Events API's retries.
var eventRetryDelays = []time.Duration{0, time.Minute, 5 * time.Minute}

// interact delivers an interaction ("interactive") or a slash command
// ("slash_commands") and waits, as the person's Slack client does, for the
// acknowledgement, at most 3 emulated seconds. acceptsResponse tells the
// app it may answer with a payload (view submissions, slash commands).
func (e *Emulator) interact(typ string, payload map[string]any, acceptsResponse bool) ackResult {
	raw, _ := json.Marshal(payload)
	target, ctype, body := e.opts.InteractivityURL, "application/x-www-form-urlencoded", []byte("payload="+url.QueryEscape(string(raw)))
	if typ == "slash_commands" {
		form := url.Values{}
		for k, v := range payload {
			form.Set(k, fmt.Sprint(v))
		}
		target, body = e.opts.CommandsURL, []byte(form.Encode())
	}
	if target == "" {
		return e.interactOverSocket(typ, raw, acceptsResponse)
	}

	d := &Delivery{ID: uuid(), Type: typ, Transport: "http", Attempts: 1}
	e.mu.Lock()
	e.deliveries = append(e.deliveries, d)
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(e.ctx, e.clock.Real(ackDeadline))
	defer cancel()
	status, answer, answerType, err := e.postSigned(ctx, target, ctype, body, nil)
	res := ackResult{acked: err == nil && status/100 == 2, payload: answer, contentType: answerType}
	switch {
	case err != nil:
		res.problem = ProblemTimeout
	case !res.acked:
		res.problem = ProblemHTTPStatus
	}
	e.mu.Lock()
	d.Acked = res.acked
	e.changedLocked()
	e.mu.Unlock()
	return res
}

func (e *Emulator) interactOverSocket(typ string, raw json.RawMessage, acceptsResponse bool) ackResult {
	e.mu.Lock()
	env := e.queueEnvelopeLocked(typ, raw, acceptsResponse, true)
	waiter := env.waiter
	e.mu.Unlock()
	select {
	case res := <-waiter:
		return res
	case <-e.ctx.Done():
		return ackResult{problem: ProblemTimeout}
	}
}

// emitEventLocked delivers an Events API event to the app.
func (e *Emulator) emitEventLocked(inner map[string]any) {
	now := e.clock.Now()
	eventID := "Ev" + e.newID("")
	callback := map[string]any{
		"token":      e.opts.VerificationToken,
		"team_id":    e.teamID,
		"api_app_id": e.appID,
		"event":      inner,
		"type":       "event_callback",
		"event_id":   eventID,
		"event_time": now.Unix(),
		"authorizations": []map[string]any{{
			"enterprise_id": nil, "team_id": e.teamID, "user_id": e.bot.ID, "is_bot": true, "is_enterprise_install": false,
		}},
		"is_ext_shared_channel": false,
		"event_context":         "4-" + randomHex(12),
	}
	raw, _ := json.Marshal(callback)
	if e.opts.EventsURL == "" {
		e.queueEnvelopeLocked("events_api", raw, false, false)
		return
	}
	if e.ctx.Err() != nil {
		return
	}
	d := &Delivery{ID: eventID, Type: "events_api", Transport: "http"}
	e.deliveries = append(e.deliveries, d)
	e.wg.Go(func() { e.postEvent(raw, d) })
}

// postEvent POSTs an event, retrying like Slack: up to three times, at
// once, a minute and five minutes after a failure, when the app does not
// answer 2xx within 3 seconds.
func (e *Emulator) postEvent(raw []byte, d *Delivery) {
	var header http.Header
	var next time.Time
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if e.clock.SleepUntil(e.ctx, next) != nil {
				return
			}
		}
		ctx, cancel := context.WithTimeout(e.ctx, e.clock.Real(ackDeadline))
		status, _, _, err := e.postSigned(ctx, e.opts.EventsURL, "application/json", raw, header)
		cancel()

		e.mu.Lock()
		d.Attempts++
		d.Acked = err == nil && status/100 == 2
		last := d.Acked || attempt == len(eventRetryDelays)
		d.Failed = !d.Acked && last
		if !last {
			next = e.clock.Now().Add(eventRetryDelays[attempt])
		}
		e.changedLocked()
		e.mu.Unlock()
		if d.Failed {
			e.log.Warn("slackemu: event never acknowledged", "event_id", d.ID)
		}
		if last || e.ctx.Err() != nil {
			return
		}
		reason := "http_error"
		if err != nil {
			reason = "http_timeout"
		}
		header = http.Header{"X-Slack-Retry-Num": {strconv.Itoa(attempt + 1)}, "X-Slack-Retry-Reason": {reason}}
	}
}

// postSigned POSTs body with Slack's v0 request signature and returns the
// answer's status, body and media type. The timestamp is real time: the
// receiver checks it against its own clock.
func (e *Emulator) postSigned(ctx context.Context, target, ctype string, body []byte, header http.Header) (int, []byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, "", err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", Sign(e.opts.SigningSecret, ts, body))
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return resp.StatusCode, bytes.TrimSpace(answer), mediaType, err
}

// Sign is Slack's v0 request signature of body sent at timestamp ts.
func Sign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}
