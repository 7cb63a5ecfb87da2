package slackemu_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/csp/trigger/bot/slackemu"
)

// httpApp is an app in HTTP mode: it verifies every request's signature
// and answers with answer.
type httpApp struct {
	tb     testing.TB
	secret string
	answer func(r *http.Request, body []byte) (int, string)

	mu       sync.Mutex
	requests []httpRequest
}

type httpRequest struct {
	header http.Header
	body   []byte
}

func newHTTPApp(tb testing.TB, secret string, answer func(r *http.Request, body []byte) (int, string)) (*httpApp, string) {
	a := &httpApp{tb: tb, secret: secret, answer: answer}
	srv := httptest.NewServer(a)
	tb.Cleanup(srv.Close)
	return a, srv.URL
}

func (a *httpApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	sv, err := slack.NewSecretsVerifier(r.Header, a.secret)
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		a.tb.Errorf("request signature: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if wrong, err := slack.NewSecretsVerifier(r.Header, "not-the-secret"); err == nil {
		_, _ = wrong.Write(body)
		if wrong.Ensure() == nil {
			a.tb.Error("signature also verifies with another secret")
		}
	}
	a.mu.Lock()
	a.requests = append(a.requests, httpRequest{r.Header.Clone(), body})
	a.mu.Unlock()
	status, reply := a.answer(r, body)
	if reply != "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, reply)
}

func (a *httpApp) received() []httpRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]httpRequest(nil), a.requests...)
}

// interaction decodes a form-encoded interaction payload.
func interaction(tb testing.TB, body []byte) slack.InteractionCallback {
	tb.Helper()
	form, err := url.ParseQuery(string(body))
	if err != nil {
		tb.Fatal(err)
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		tb.Fatalf("payload: %v", err)
	}
	return cb
}

// caseWithOfficer sets up a case channel with an officer in it and a card
// with a button; it returns the officer, the channel and the card's ts.
func caseWithOfficer(tb testing.TB, e *slackemu.Emulator) (slackemu.User, string, string) {
	tb.Helper()
	api := botClient(e)
	officer := e.AddUser("officer", "officer@police.example")
	ch := caseChannel(tb, api, "ct-2026-0001")
	if _, err := api.InviteUsersToConversation(ch.ID, officer.ID); err != nil {
		tb.Fatal(err)
	}
	_, ts, err := api.PostMessage(ch.ID, slack.MsgOptionText("card", false), buttonBlocks("accept", "CT-2026-0001"))
	if err != nil {
		tb.Fatal(err)
	}
	return officer, ch.ID, ts
}

func TestSignedInteraction(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusOK)
	app, appURL := newHTTPApp(t, "s3cret", func(r *http.Request, _ []byte) (int, string) {
		if status.Load() == 0 { // too slow: answer only when Slack has given up
			<-r.Context().Done()
			return http.StatusOK, ""
		}
		return int(status.Load()), ""
	})
	e := startEmulator(t, slackemu.Options{SigningSecret: "s3cret", InteractivityURL: appURL})
	officer, ch, ts := caseWithOfficer(t, e)

	t.Run("OK", func(t *testing.T) {
		res, err := e.ClickButton(officer.ID, ch, ts, "accept", "")
		if err != nil {
			t.Fatal(err)
		}
		if !res.Acked || res.Problem != "" || res.TriggerID == "" || res.ResponseURL == "" {
			t.Fatalf("click = %+v", res)
		}
		reqs := app.received()
		if len(reqs) != 1 {
			t.Fatalf("app received %d requests, want 1", len(reqs))
		}
		if ct := reqs[0].header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("Content-Type %q", ct)
		}
		cb := interaction(t, reqs[0].body)
		if cb.Type != slack.InteractionTypeBlockActions || cb.User.ID != officer.ID || cb.Channel.ID != ch ||
			cb.Container.MessageTs != ts || cb.Message.Timestamp != ts || cb.TriggerID != res.TriggerID ||
			cb.ResponseURL != res.ResponseURL || cb.Team.ID != e.TeamID() {
			t.Errorf("payload = %+v", cb)
		}
		if acts := cb.ActionCallback.BlockActions; len(acts) != 1 || acts[0].ActionID != "accept" ||
			acts[0].Value != "CT-2026-0001" || acts[0].BlockID != "decision" {
			t.Errorf("actions = %+v", acts)
		}
	})
	t.Run("ErrHTTPStatus", func(t *testing.T) {
		status.Store(http.StatusInternalServerError)
		res, err := e.ClickButton(officer.ID, ch, ts, "accept", "")
		if err != nil || res.Acked || res.Problem != slackemu.ProblemHTTPStatus {
			t.Errorf("click = %+v, %v", res, err)
		}
	})
	t.Run("ErrTimeout", func(t *testing.T) {
		status.Store(0)
		// 3 emulated seconds pass in 100ms.
		fast := startEmulator(t, slackemu.Options{SigningSecret: "s3cret", InteractivityURL: appURL, TimeScale: 30})
		officer, ch, ts := caseWithOfficer(t, fast)
		res, err := fast.ClickButton(officer.ID, ch, ts, "accept", "")
		if err != nil || res.Acked || res.Problem != slackemu.ProblemTimeout {
			t.Errorf("click = %+v, %v", res, err)
		}
	})
	t.Run("ErrNoSuchButton", func(t *testing.T) {
		if _, err := e.ClickButton(officer.ID, ch, ts, "reject", ""); err == nil {
			t.Error("clicked a button the message does not have")
		}
		if _, err := e.ClickButton(officer.ID, ch, ts, "accept", "CT-2026-9999"); err == nil {
			t.Error("clicked a button with a value it does not carry")
		}
	})
	t.Run("ErrNotInChannel", func(t *testing.T) {
		stranger := e.AddUser("stranger", "")
		if _, err := e.ClickButton(stranger.ID, ch, ts, "accept", ""); err == nil {
			t.Error("someone outside a private channel clicked in it")
		}
	})
}

func TestTriggerID(t *testing.T) {
	_, appURL := newHTTPApp(t, "s3cret", func(*http.Request, []byte) (int, string) { return http.StatusOK, "" })
	e := startEmulator(t, slackemu.Options{SigningSecret: "s3cret", InteractivityURL: appURL})
	officer, ch, ts := caseWithOfficer(t, e)
	api := botClient(e)
	click := func(t *testing.T) string {
		t.Helper()
		res, err := e.ClickButton(officer.ID, ch, ts, "accept", "")
		if err != nil || !res.Acked {
			t.Fatalf("click = %+v, %v", res, err)
		}
		return res.TriggerID
	}

	t.Run("OK", func(t *testing.T) {
		trigger := click(t)
		v, err := api.OpenView(trigger, reasonModal("decision"))
		if err != nil {
			t.Fatal(err)
		}
		open := e.OpenViews(officer.ID)
		if len(open) != 1 || open[0].ID != v.ID || open[0].CallbackID != "decision" || open[0].PrivateMetadata != "CT-2026-0001" {
			t.Errorf("open views = %+v", open)
		}
		_, err = api.OpenView(trigger, reasonModal("decision"))
		wantCode(t, err, "exchanged_trigger_id")
	})
	t.Run("ErrExpiredAfterAdvance", func(t *testing.T) {
		trigger := click(t)
		e.Advance(3*time.Second + time.Millisecond)
		_, err := api.OpenView(trigger, reasonModal("decision"))
		wantCode(t, err, "expired_trigger_id")
	})
	t.Run("ErrExpiredOnScaledClock", func(t *testing.T) {
		fast := startEmulator(t, slackemu.Options{SigningSecret: "s3cret", InteractivityURL: appURL, TimeScale: 20})
		officer, ch, ts := caseWithOfficer(t, fast)
		res, err := fast.ClickButton(officer.ID, ch, ts, "accept", "")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond) // 4 emulated seconds at TimeScale 20
		_, err = botClient(fast).OpenView(res.TriggerID, reasonModal("decision"))
		wantCode(t, err, "expired_trigger_id")
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		_, err := api.OpenView("12345.98765.abcd", reasonModal("decision"))
		wantCode(t, err, "invalid_trigger_id")
	})
	t.Run("ErrInvalidArguments", func(t *testing.T) {
		long := reasonModal("decision")
		long.Title = slack.NewTextBlockObject(slack.PlainTextType, "A title far longer than Slack allows", false, false)
		_, err := api.OpenView(click(t), long)
		wantCode(t, err, "invalid_arguments")
		noSubmit := reasonModal("decision")
		noSubmit.Submit = nil
		_, err = api.OpenView(click(t), noSubmit)
		wantCode(t, err, "invalid_arguments")
	})
}

func TestViewSubmissionOverHTTP(t *testing.T) {
	var reply atomic.Value
	reply.Store("")
	app, appURL := newHTTPApp(t, "s3cret", func(_ *http.Request, body []byte) (int, string) {
		if interaction(t, body).Type == slack.InteractionTypeViewSubmission {
			return http.StatusOK, reply.Load().(string)
		}
		return http.StatusOK, ""
	})
	e := startEmulator(t, slackemu.Options{SigningSecret: "s3cret", InteractivityURL: appURL})
	officer, ch, ts := caseWithOfficer(t, e)
	api := botClient(e)
	openModal := func(t *testing.T) slackemu.View {
		t.Helper()
		res, err := e.ClickButton(officer.ID, ch, ts, "accept", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := api.OpenView(res.TriggerID, reasonModal("decision")); err != nil {
			t.Fatal(err)
		}
		return e.OpenViews(officer.ID)[0]
	}

	t.Run("PayloadCarriesState", func(t *testing.T) {
		v := openModal(t)
		reply.Store("")
		res, err := e.SubmitView(officer.ID, v.ID, map[string]string{"reason": "repeated noise at night"})
		if err != nil || !res.Closed || res.View != nil {
			t.Fatalf("submit = %+v, %v", res, err)
		}
		reqs := app.received()
		cb := interaction(t, reqs[len(reqs)-1].body)
		if cb.Type != slack.InteractionTypeViewSubmission || cb.View.ID != v.ID || cb.View.CallbackID != "decision" ||
			cb.View.PrivateMetadata != "CT-2026-0001" || cb.User.ID != officer.ID || cb.TriggerID == "" {
			t.Errorf("payload = %+v", cb)
		}
		if got := cb.View.State.Values["reason"]["reason_input"].Value; got != "repeated noise at night" {
			t.Errorf("state value = %q", got)
		}
	})
	t.Run("RequiredFieldNeverSent", func(t *testing.T) {
		v := openModal(t)
		before := len(app.received())
		res, err := e.SubmitView(officer.ID, v.ID, nil)
		if err != nil || res.Errors["reason"] == "" || res.Closed {
			t.Errorf("submit = %+v, %v", res, err)
		}
		if len(app.received()) != before {
			t.Error("a form with an empty required field reached the app")
		}
	})
	t.Run("ErrorsForUnknownBlockRejected", func(t *testing.T) {
		v := e.OpenViews(officer.ID)[0]
		reply.Store(`{"response_action":"errors","errors":{"no_such_block":"wrong"}}`)
		res, err := e.SubmitView(officer.ID, v.ID, map[string]string{"reason": "x"})
		if err != nil || res.Problem != slackemu.ProblemBadResponse || res.Errors != nil || res.View == nil {
			t.Errorf("submit = %+v, %v", res, err)
		}
	})
	t.Run("Update", func(t *testing.T) {
		v := e.OpenViews(officer.ID)[0]
		next := reasonModal("step2")
		next.Title = slack.NewTextBlockObject(slack.PlainTextType, "Step 2", false, false)
		b, _ := json.Marshal(slack.NewUpdateViewSubmissionResponse(&next))
		reply.Store(string(b))
		res, err := e.SubmitView(officer.ID, v.ID, map[string]string{"reason": "x"})
		if err != nil || res.Closed || res.View == nil || res.View.ID != v.ID || res.View.Title != "Step 2" || res.View.CallbackID != "step2" {
			t.Errorf("submit = %+v, %v", res, err)
		}
	})
	t.Run("Clear", func(t *testing.T) {
		v := e.OpenViews(officer.ID)[0]
		reply.Store(`{"response_action":"clear"}`)
		res, err := e.SubmitView(officer.ID, v.ID, map[string]string{"reason": "x"})
		if err != nil || !res.Closed || len(e.OpenViews(officer.ID)) != 0 {
			t.Errorf("submit = %+v, %v", res, err)
		}
		_, err = api.UpdateView(reasonModal("decision"), "", "", v.ID)
		wantCode(t, err, "not_found")
	})
}

func TestResponseURL(t *testing.T) {
	_, appURL := newHTTPApp(t, "s3cret", func(*http.Request, []byte) (int, string) { return http.StatusOK, "" })
	e := startEmulator(t, slackemu.Options{SigningSecret: "s3cret", InteractivityURL: appURL})
	officer, ch, ts := caseWithOfficer(t, e)
	api := botClient(e)
	click := func(t *testing.T) string {
		t.Helper()
		res, err := e.ClickButton(officer.ID, ch, ts, "accept", "")
		if err != nil {
			t.Fatal(err)
		}
		return res.ResponseURL
	}
	respond := func(responseURL string, opts ...slack.MsgOption) error {
		_, _, err := api.PostMessage("", append(opts, slack.MsgOptionResponseURL(responseURL, slack.ResponseTypeEphemeral))...)
		return err
	}

	t.Run("FivePostsThenUsedURL", func(t *testing.T) {
		u := click(t)
		for i := range 5 {
			if err := respond(u, slack.MsgOptionText("noted", false)); err != nil {
				t.Fatalf("post %d: %v", i+1, err)
			}
		}
		wantCode(t, respond(u, slack.MsgOptionText("noted", false)), "used_url")
		if got := e.Ephemerals(officer.ID); len(got) != 5 || got[0].Text != "noted" || got[0].Channel != ch {
			t.Errorf("officer saw %+v", got)
		}
	})
	t.Run("ErrExpired", func(t *testing.T) {
		u := click(t)
		e.Advance(31 * time.Minute)
		wantCode(t, respond(u, slack.MsgOptionText("late", false)), "expired_url")
	})
	t.Run("ReplaceOriginal", func(t *testing.T) {
		u := click(t)
		_, _, err := api.PostMessage("", slack.MsgOptionReplaceOriginal(u), slack.MsgOptionText("accepted by officer", false))
		if err != nil {
			t.Fatal(err)
		}
		if got := messageAt(t, e, ch, ts); got.Text != "accepted by officer" {
			t.Errorf("card now %+v", got)
		}
	})
}

func TestEventsOverHTTP(t *testing.T) {
	var mu sync.Mutex
	answers := []int{http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusOK}
	app, appURL := newHTTPApp(t, "s3cret", func(_ *http.Request, body []byte) (int, string) {
		if strings.Contains(string(body), `"subtype":"channel_join"`) {
			return http.StatusOK, "" // the officer joining, before the reply
		}
		mu.Lock()
		defer mu.Unlock()
		status := answers[0]
		answers = answers[1:]
		return status, ""
	})
	e := startEmulator(t, slackemu.Options{SigningSecret: "s3cret", EventsURL: appURL})
	officer, ch, ts := caseWithOfficer(t, e)
	waitFor(t, e, "the officer's channel_join acked", func() bool {
		d := e.Deliveries()
		return len(d) == 1 && d[0].Acked
	})
	joined := len(app.received())

	reply, err := e.ReplyInThread(officer.ID, ch, ts, "Police reference 123/45")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, e, "the first retry answered", func() bool {
		d := e.Deliveries()
		return len(d) == 2 && d[1].Attempts == 2
	})
	e.Advance(time.Minute) // the second retry comes a minute after the first failed
	waitFor(t, e, "the event acked", func() bool {
		d := e.Deliveries()
		return len(d) == 2 && d[1].Acked
	})

	reqs := app.received()[joined:]
	if len(reqs) != 3 {
		t.Fatalf("app received %d requests for the reply, want 3", len(reqs))
	}
	for i, want := range []string{"", "1", "2"} {
		if got := reqs[i].header.Get("X-Slack-Retry-Num"); got != want {
			t.Errorf("request %d: X-Slack-Retry-Num %q, want %q", i, got, want)
		}
	}
	if got := reqs[1].header.Get("X-Slack-Retry-Reason"); got != "http_error" {
		t.Errorf("retry reason %q", got)
	}
	ev, err := slackevents.ParseEvent(reqs[2].body, slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatal(err)
	}
	msg, ok := ev.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok || msg.User != officer.ID || msg.Channel != ch || msg.ThreadTimeStamp != ts || msg.TimeStamp != reply || msg.Text != "Police reference 123/45" {
		t.Errorf("event = %+v", ev.InnerEvent.Data)
	}
	if got := e.Thread(ch, ts); len(got) != 2 || got[1].User != officer.ID {
		t.Errorf("thread = %+v", got)
	}
}

func TestSlashCommandOverHTTP(t *testing.T) {
	app, appURL := newHTTPApp(t, "s3cret", func(*http.Request, []byte) (int, string) {
		return http.StatusOK, `{"response_type":"ephemeral","text":"Case CT-2026-0001 is gathering"}`
	})
	e := startEmulator(t, slackemu.Options{SigningSecret: "s3cret", CommandsURL: appURL})
	officer, ch, _ := caseWithOfficer(t, e)
	res, err := e.SlashCommand(officer.ID, ch, "/trigger", "status CT-2026-0001")
	if err != nil || !res.Acked {
		t.Fatalf("command = %+v, %v", res, err)
	}
	form, _ := url.ParseQuery(string(app.received()[0].body))
	if form.Get("command") != "/trigger" || form.Get("text") != "status CT-2026-0001" || form.Get("user_id") != officer.ID {
		t.Errorf("app received %v", form)
	}
	if got := e.Ephemerals(officer.ID); len(got) != 1 || got[0].Text != "Case CT-2026-0001 is gathering" {
		t.Errorf("officer saw %+v", got)
	}
}
