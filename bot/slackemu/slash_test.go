package slackemu_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/csp/trigger/bot/slackemu"
)

func TestSlashCommandOverSocket(t *testing.T) {
	var answer atomic.Value // the ack's payload
	answer.Store(map[string]any{"response_type": "ephemeral", "text": "CT-2026-0001: gathering"})
	var mu sync.Mutex
	var got []slack.SlashCommand
	opts := socketOptions
	opts.Commands = []string{"/trigger"}
	e := startEmulator(t, opts)
	b := startSocketBot(t, e, func(_ *socketBot, evt socketmode.Event) (bool, any) {
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok {
			return true, nil
		}
		mu.Lock()
		got = append(got, cmd)
		mu.Unlock()
		return true, answer.Load()
	})
	receive(t, b.hellos, "hello")
	coord := e.AddUser("coordinator", "coord@council.example")
	ch, err := e.AddChannel("ct-2026-0001", true, e.BotUserID(), coord.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := func() slack.SlashCommand {
		mu.Lock()
		defer mu.Unlock()
		return got[len(got)-1]
	}

	t.Run("EphemeralAnswer", func(t *testing.T) {
		res, err := e.SlashCommand(coord.ID, ch.ID, "/trigger", "CT-2026-0001")
		if err != nil || !res.Acked || res.Problem != "" || res.TriggerID == "" || res.ResponseURL == "" {
			t.Fatalf("command = %+v, %v", res, err)
		}
		cmd := last()
		if cmd.Command != "/trigger" || cmd.Text != "CT-2026-0001" || cmd.UserID != coord.ID || cmd.ChannelID != ch.ID ||
			cmd.ChannelName != "privategroup" || cmd.TriggerID != res.TriggerID || cmd.ResponseURL != res.ResponseURL || cmd.TeamID != e.TeamID() {
			t.Errorf("payload %+v", cmd)
		}
		if eph := e.Ephemerals(coord.ID); len(eph) != 1 || eph[0].Text != "CT-2026-0001: gathering" || eph[0].Channel != ch.ID {
			t.Errorf("the coordinator saw %+v", eph)
		}
		if len(e.Messages(ch.ID)) != 0 {
			t.Errorf("an ephemeral answer reached the channel: %+v", e.Messages(ch.ID))
		}
	})
	t.Run("TriggerOpensModal", func(t *testing.T) {
		res, err := e.SlashCommand(coord.ID, ch.ID, "/trigger", "new")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.api.OpenView(res.TriggerID, reasonModal("new_case")); err != nil {
			t.Fatal(err)
		}
		if v := e.OpenViews(coord.ID); len(v) != 1 || v[0].CallbackID != "new_case" {
			t.Errorf("open views %+v", v)
		}
	})
	t.Run("ResponseURLFiveTimes", func(t *testing.T) {
		answer.Store(map[string]any(nil)) // acked without a payload
		res, err := e.SlashCommand(coord.ID, ch.ID, "/trigger", "find Acacia")
		if err != nil {
			t.Fatal(err)
		}
		before := len(e.Ephemerals(coord.ID))
		for i := range 5 {
			if _, _, err := b.api.PostMessage("", slack.MsgOptionResponseURL(res.ResponseURL, slack.ResponseTypeEphemeral), slack.MsgOptionText("page", false)); err != nil {
				t.Fatalf("post %d: %v", i+1, err)
			}
		}
		_, _, err = b.api.PostMessage("", slack.MsgOptionResponseURL(res.ResponseURL, slack.ResponseTypeEphemeral), slack.MsgOptionText("sixth", false))
		wantCode(t, err, "used_url")
		if n := len(e.Ephemerals(coord.ID)) - before; n != 5 {
			t.Errorf("%d answers shown, want 5", n)
		}
	})
	t.Run("InChannelWithoutMembership", func(t *testing.T) {
		answer.Store(map[string]any{"response_type": "in_channel", "text": "Community Trigger help"})
		public, err := e.AddChannel("asb-team", false, coord.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.SlashCommand(coord.ID, public.ID, "/trigger", "help"); err != nil {
			t.Fatal(err)
		}
		if cmd := last(); cmd.ChannelName != "asb-team" {
			t.Errorf("channel_name %q", cmd.ChannelName)
		}
		if msgs := e.Messages(public.ID); len(msgs) != 1 || msgs[0].Text != "Community Trigger help" || msgs[0].BotID != e.BotID() {
			t.Errorf("channel holds %+v", msgs)
		}
	})
	t.Run("DirectMessage", func(t *testing.T) {
		dm, err := e.OpenDM(coord.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.SlashCommand(coord.ID, dm, "/trigger", "help"); err != nil {
			t.Fatal(err)
		}
		if cmd := last(); cmd.ChannelName != "directmessage" || cmd.ChannelID != dm {
			t.Errorf("payload %+v", cmd)
		}
	})
	t.Run("ErrInvalidBlocksInAnswer", func(t *testing.T) {
		answer.Store(map[string]any{"blocks": []any{map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": strings.Repeat("h", 151)}}}})
		before := len(e.Ephemerals(coord.ID))
		res, err := e.SlashCommand(coord.ID, ch.ID, "/trigger", "CT-2026-0001")
		if err != nil || res.Problem != slackemu.ProblemBadResponse {
			t.Errorf("command = %+v, %v", res, err)
		}
		if len(e.Ephemerals(coord.ID)) != before {
			t.Error("an invalid answer was shown")
		}
	})
	t.Run("ErrUnknownCommand", func(t *testing.T) {
		n := len(e.Deliveries())
		if _, err := e.SlashCommand(coord.ID, ch.ID, "/trigga", ""); err == nil {
			t.Error("a command the app does not have ran")
		}
		if len(e.Deliveries()) != n {
			t.Error("the app heard a command it does not have")
		}
	})
	t.Run("ErrNotAcked", func(t *testing.T) {
		slow := startEmulator(t, slackemu.Options{TimeScale: 30})
		person := slow.AddUser("coordinator", "")
		c, err := slow.AddChannel("ct-2026-0001", true, slow.BotUserID(), person.ID)
		if err != nil {
			t.Fatal(err)
		}
		// No socket at all: 3 emulated seconds (100 ms) pass unanswered.
		res, err := slow.SlashCommand(person.ID, c.ID, "/trigger", "help")
		if err != nil || res.Acked || res.Problem != slackemu.ProblemTimeout {
			t.Errorf("command = %+v, %v", res, err)
		}
	})
	t.Run("ErrNoCommandsScope", func(t *testing.T) {
		bare := startEmulator(t, slackemu.Options{Scopes: []string{"chat:write"}})
		person := bare.AddUser("coordinator", "")
		c, err := bare.AddChannel("ct-2026-0001", false, person.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bare.SlashCommand(person.ID, c.ID, "/trigger", "help"); err == nil {
			t.Error("an app without the commands scope got a command")
		}
	})
}

func TestSlashCommandHTTPAnswers(t *testing.T) {
	var ctype, body atomic.Value
	var status atomic.Int32
	// An app that chooses the Content-Type of each answer.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sv, err := slack.NewSecretsVerifier(r.Header, "s3cret")
		if err != nil {
			http.Error(w, "unsigned", http.StatusUnauthorized)
			return
		}
		raw, _ := io.ReadAll(r.Body)
		_, _ = sv.Write(raw)
		if sv.Ensure() != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if form, _ := url.ParseQuery(string(raw)); form.Get("command") != "/trigger" || form.Get("trigger_id") == "" || form.Get("response_url") == "" {
			http.Error(w, "not a slash command form", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", ctype.Load().(string))
		w.WriteHeader(int(status.Load()))
		_, _ = w.Write([]byte(body.Load().(string)))
	}))
	t.Cleanup(srv.Close)
	e := startEmulator(t, slackemu.Options{SigningSecret: "s3cret", CommandsURL: srv.URL + "/commands"})
	coord := e.AddUser("coordinator", "")
	ch, err := e.AddChannel("ct-2026-0001", true, e.BotUserID(), coord.ID)
	if err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, code int, contentType, answer string) slackemu.SlashResult {
		t.Helper()
		status.Store(int32(code))
		ctype.Store(contentType)
		body.Store(answer)
		res, err := e.SlashCommand(coord.ID, ch.ID, "/trigger", "help")
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	lastSeen := func() string {
		eph := e.Ephemerals(coord.ID)
		if len(eph) == 0 {
			return ""
		}
		return eph[len(eph)-1].Text
	}

	t.Run("JSON", func(t *testing.T) {
		if res := run(t, 200, "application/json", `{"text":"Use /trigger CT-YYYY-NNNN"}`); !res.Acked || lastSeen() != "Use /trigger CT-YYYY-NNNN" {
			t.Errorf("command = %+v, shown %q", res, lastSeen())
		}
	})
	t.Run("JSONWithoutContentTypeShownAsText", func(t *testing.T) {
		if res := run(t, 200, "text/plain", `{"text":"hi"}`); !res.Acked || lastSeen() != `{"text":"hi"}` {
			t.Errorf("command = %+v, shown %q", res, lastSeen())
		}
	})
	t.Run("ErrHTTPStatus", func(t *testing.T) {
		if res := run(t, 500, "text/plain", "oops"); res.Acked || res.Problem != slackemu.ProblemHTTPStatus {
			t.Errorf("command = %+v", res)
		}
	})
	t.Run("ErrBadJSON", func(t *testing.T) {
		if res := run(t, 200, "application/json", `{"text":`); res.Problem != slackemu.ProblemBadResponse {
			t.Errorf("command = %+v", res)
		}
	})
}
