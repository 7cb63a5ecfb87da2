package bot_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
)

// signedPost posts body to the app as Slack would, signed with secret at
// time at; extra headers are added (X-Slack-Retry-Num). sign false sends no
// signature at all.
// It may be called from any goroutine: a failure to post is an error, and
// the status is then 0.
func (h *harness) signedPost(path, ctype string, body []byte, secret string, at time.Time, sign bool, extra http.Header) (int, string) {
	req, err := http.NewRequest(http.MethodPost, h.url+path, bytes.NewReader(body))
	if err != nil {
		h.t.Error(err)
		return 0, ""
	}
	req.Header.Set("Content-Type", ctype)
	for k, v := range extra {
		req.Header[k] = v
	}
	if sign {
		ts := strconv.FormatInt(at.Unix(), 10)
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", slackemu.Sign(secret, ts, body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(answer)
}

// acceptPayload is the block_actions Slack sends when user presses Accept
// for review on the card.
func (h *harness) acceptPayload(user, ref, channel, cardTS string) []byte {
	p, _ := json.Marshal(map[string]any{
		"type":       "block_actions",
		"api_app_id": h.emu.AppID(),
		"team":       map[string]any{"id": h.emu.TeamID()},
		"user":       map[string]any{"id": user},
		"trigger_id": "13345224609.738474920.8088930838d88f008e0",
		"channel":    map[string]any{"id": channel},
		"container":  map[string]any{"type": "message", "message_ts": cardTS, "channel_id": channel},
		"actions": []any{map[string]any{
			"type": "button", "action_id": bot.ActionAccept, "block_id": "card_actions", "value": ref, "action_ts": "1760000000.000001",
		}},
	})
	return []byte("payload=" + url.QueryEscape(string(p)))
}

// threadReplyEvent is the event_callback for a reply by user in a thread.
func (h *harness) threadReplyEvent(eventID, user, channel, threadTS, ts, msg string) []byte {
	b, _ := json.Marshal(map[string]any{
		"type": "event_callback", "team_id": h.emu.TeamID(), "api_app_id": h.emu.AppID(),
		"event_id": eventID, "event_time": time.Now().Unix(),
		"event": map[string]any{
			"type": "message", "channel": channel, "user": user, "text": msg,
			"ts": ts, "thread_ts": threadTS, "channel_type": "group", "event_ts": ts,
		},
	})
	return b
}

// TestHTTPSignatures checks HTTP mode's door: a request without Slack's
// signature, signed with another secret, altered after signing, or older
// than five minutes gets 401 and changes nothing; url_verification gets its
// challenge back; a retried event is recorded once.
func TestHTTPSignatures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{mode: "http"})
	c := h.newCase()
	ch := h.channel(c.Ref)
	card := h.card(c.Ref)
	secret := h.emu.SigningSecret()
	const form = "application/x-www-form-urlencoded"
	accept := h.acceptPayload(h.coord, c.Ref, ch.ID, card.TS)
	evsBefore, _ := h.store.Events(h.ctx, c.Ref)

	refused := []struct {
		name   string
		body   []byte
		signed []byte // what was signed, when not body
		secret string
		at     time.Time
		sign   bool
	}{
		{name: "Unsigned", body: accept},
		{name: "ForgedSignature", body: accept, secret: "not-the-signing-secret", at: time.Now(), sign: true},
		{name: "AlteredAfterSigning", body: accept, signed: h.acceptPayload(h.police, c.Ref, ch.ID, card.TS), secret: secret, at: time.Now(), sign: true},
		{name: "SixMinutesOld", body: accept, secret: secret, at: time.Now().Add(-6 * time.Minute), sign: true},
		{name: "SixMinutesAhead", body: accept, secret: secret, at: time.Now().Add(6 * time.Minute), sign: true},
	}
	for _, r := range refused {
		t.Run("Interactivity"+r.name, func(t *testing.T) {
			body := r.body
			var code int
			if r.signed != nil {
				code = h.postAltered("/slack/interactivity", form, r.signed, body, r.secret, r.at)
			} else {
				code, _ = h.signedPost("/slack/interactivity", form, body, r.secret, r.at, r.sign, nil)
			}
			if code != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", code)
			}
		})
	}
	h.http.Wait() // any work a refused request had started would be done now
	if s := h.status(c.Ref); s != casefile.StatusReceived {
		t.Fatalf("a refused request changed the case: %s", s)
	}
	if evs, _ := h.store.Events(h.ctx, c.Ref); len(evs) != len(evsBefore) {
		t.Fatalf("a refused request added %d events", len(evs)-len(evsBefore))
	}
	if e := h.emu.Ephemerals(h.coord); len(e) != 0 {
		t.Fatalf("a refused request answered the coordinator: %+v", e)
	}

	// The same click, signed as Slack signs it, is done: the refusals above
	// were for the signature, not the payload.
	if code, _ := h.signedPost("/slack/interactivity", form, accept, secret, time.Now(), true, nil); code != http.StatusOK {
		t.Fatalf("a properly signed click: status %d", code)
	}
	h.http.Wait()
	if s := h.status(c.Ref); s != casefile.StatusGathering {
		t.Fatalf("status %s after a properly signed Accept", s)
	}
	h.ephemeral(h.coord, "is accepted for review")

	t.Run("URLVerification", func(t *testing.T) {
		body := []byte(`{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
		code, answer := h.signedPost("/slack/events", "application/json", body, secret, time.Now(), true, nil)
		if code != http.StatusOK || answer != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
			t.Errorf("url_verification: %d %q", code, answer)
		}
		if code, answer := h.signedPost("/slack/events", "application/json", body, "not-the-signing-secret", time.Now(), true, nil); code != http.StatusUnauthorized {
			t.Errorf("a forged url_verification: %d %q", code, answer)
		}
	})

	council := h.waitMessage(ch.ID, `"request-`+c.Ref+`-council"`)
	police := h.waitMessage(ch.ID, `"request-`+c.Ref+`-police"`)
	h.waitStore("the requests recorded", func() bool {
		reqs, _ := h.store.Requests(h.ctx, c.Ref)
		return len(reqs) == 3 && reqs[0].MessageTS != "" && reqs[1].MessageTS != "" && reqs[2].MessageTS != ""
	})
	replies := func(agency string) int {
		reqs, _ := h.store.Requests(h.ctx, c.Ref)
		for _, r := range reqs {
			if r.Agency == agency {
				return len(r.Replies)
			}
		}
		return -1
	}

	t.Run("EventsRefused", func(t *testing.T) {
		ev := h.threadReplyEvent("Ev0FORGED01", h.council, ch.ID, council.TS, "1760000100.000100", "We hold nothing.")
		for name, at := range map[string]time.Time{"ForgedSignature": time.Now(), "SixMinutesOld": time.Now().Add(-6 * time.Minute)} {
			s := secret
			if name == "ForgedSignature" {
				s = "not-the-signing-secret"
			}
			if code, _ := h.signedPost("/slack/events", "application/json", ev, s, at, true, nil); code != http.StatusUnauthorized {
				t.Errorf("%s: status %d, want 401", name, code)
			}
		}
		if code, _ := h.signedPost("/slack/events", "application/json", ev, "", time.Time{}, false, nil); code != http.StatusUnauthorized {
			t.Errorf("unsigned: status %d, want 401", code)
		}
		h.http.Wait()
		if n := replies("council"); n != 0 {
			t.Errorf("a refused event recorded %d replies", n)
		}
	})

	t.Run("EventRetry", func(t *testing.T) {
		// Slack did not hear our 200 in time and sends the event again,
		// the same event_id, with X-Slack-Retry-Num.
		ev := h.threadReplyEvent("Ev0RETRY001", h.council, ch.ID, council.TS, "1760000200.000200", "CPW served on 2 October.")
		if code, _ := h.signedPost("/slack/events", "application/json", ev, secret, time.Now(), true, nil); code != http.StatusOK {
			t.Fatalf("first delivery: %d", code)
		}
		h.http.Wait()
		for n := 1; n <= 2; n++ {
			retry := http.Header{"X-Slack-Retry-Num": {strconv.Itoa(n)}, "X-Slack-Retry-Reason": {"http_timeout"}}
			if code, _ := h.signedPost("/slack/events", "application/json", ev, secret, time.Now(), true, retry); code != http.StatusOK {
				t.Fatalf("retry %d: %d", n, code)
			}
		}
		// And a retry that overtakes the first delivery: both at once.
		ev2 := h.threadReplyEvent("Ev0RETRY002", h.police, ch.ID, police.TS, "1760000300.000300", "Two warnings given.")
		var wg sync.WaitGroup
		for n := range 2 {
			wg.Go(func() {
				var hdr http.Header
				if n == 1 {
					hdr = http.Header{"X-Slack-Retry-Num": {"1"}, "X-Slack-Retry-Reason": {"http_timeout"}}
				}
				if code, _ := h.signedPost("/slack/events", "application/json", ev2, secret, time.Now(), true, hdr); code != http.StatusOK {
					t.Errorf("concurrent delivery %d: %d", n, code)
				}
			})
		}
		wg.Wait()
		h.http.Wait()
		if n := replies("council"); n != 1 {
			t.Errorf("council: %d replies recorded, want 1", n)
		}
		if n := replies("police"); n != 1 {
			t.Errorf("police: %d replies recorded, want 1", n)
		}
		if n := h.events(c.Ref, "agency.replied"); n != 2 {
			t.Errorf("%d agency.replied events, want 2", n)
		}
		h.waitFor("the council request to show one reply", func() bool {
			m, _ := h.message(ch.ID, `"request-`+c.Ref+`-council"`)
			return bytes.Count([]byte(text(m)), []byte("Received from District Council")) == 1
		})
	})
}

// postAltered signs one body and sends another, as a man in the middle
// would.
func (h *harness) postAltered(path, ctype string, signed, sent []byte, secret string, at time.Time) int {
	req, err := http.NewRequest(http.MethodPost, h.url+path, bytes.NewReader(sent))
	if err != nil {
		h.t.Error(err)
		return 0
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", slackemu.Sign(secret, ts, signed))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Error(err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
