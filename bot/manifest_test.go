package bot_test

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
)

// slackGoMethods maps slack-go's Client functions to the Web API method
// they call.
var slackGoMethods = map[string]string{
	"AuthTestContext":                       "auth.test",
	"CreateConversationContext":             "conversations.create",
	"InviteUsersToConversationContext":      "conversations.invite",
	"ForceInviteUsersToConversationContext": "conversations.invite",
	"SetTopicOfConversationContext":         "conversations.setTopic",
	"GetConversationsContext":               "conversations.list",
	"GetConversationInfoContext":            "conversations.info",
	"GetUsersInConversationContext":         "conversations.members",
	"GetConversationHistoryContext":         "conversations.history",
	"GetConversationRepliesContext":         "conversations.replies",
	"PostMessageContext":                    "chat.postMessage",
	"UpdateMessageContext":                  "chat.update",
	"PostEphemeralContext":                  "chat.postEphemeral",
	"GetPermalinkContext":                   "chat.getPermalink",
	"OpenViewContext":                       "views.open",
	"PushViewContext":                       "views.push",
	"UpdateViewContext":                     "views.update",
	"PublishViewContext":                    "views.publish",
	"GetUserByEmailContext":                 "users.lookupByEmail",
	"GetUserInfoContext":                    "users.info",
	"GetConversationsForUserContext":        "users.conversations",
	"OpenConversationContext":               "conversations.open",
}

// methodScopes are the bot token scopes each Web API method needs, for the
// private channels the bot works in (Slack's method reference, "Required
// scopes", bot token; users:read.email is granted only with users:read).
var methodScopes = map[string][]string{
	"auth.test":              {},
	"conversations.create":   {"groups:write"},
	"conversations.invite":   {"groups:write"},
	"conversations.setTopic": {"groups:write"},
	"conversations.list":     {"groups:read"},
	"conversations.info":     {"channels:read", "groups:read"}, // the digest channel may be public
	"conversations.members":  {"groups:read"},
	"conversations.history":  {"groups:history"},
	"conversations.replies":  {"groups:history"},
	"chat.postMessage":       {"chat:write"},
	"chat.update":            {"chat:write"},
	"chat.postEphemeral":     {"chat:write"},
	"chat.getPermalink":      {},
	"views.open":             {},
	"views.push":             {},
	"views.update":           {},
	"views.publish":          {},
	"users.lookupByEmail":    {"users:read", "users:read.email"},
	"users.info":             {"users:read"},
	"users.conversations":    {"channels:read", "groups:read"}, // public and private channels, for the digest channel
	"conversations.open":     {"im:write"},
}

// eventScopes are the scopes each subscribed event needs.
var eventScopes = map[string][]string{
	"message.groups":  {"groups:history"},
	"app_home_opened": {}, // its reference: no scopes required
}

type manifest struct {
	DisplayInformation struct {
		Name string `json:"name"`
	} `json:"display_information"`
	Features struct {
		AppHome struct {
			HomeTabEnabled bool `json:"home_tab_enabled"`
		} `json:"app_home"`
		BotUser struct {
			DisplayName string `json:"display_name"`
		} `json:"bot_user"`
		SlashCommands []struct {
			Command     string `json:"command"`
			URL         string `json:"url"`
			Description string `json:"description"`
			UsageHint   string `json:"usage_hint"`
		} `json:"slash_commands"`
	} `json:"features"`
	OAuthConfig struct {
		Scopes struct {
			Bot  []string `json:"bot"`
			User []string `json:"user"`
		} `json:"scopes"`
	} `json:"oauth_config"`
	Settings struct {
		EventSubscriptions struct {
			RequestURL string   `json:"request_url"`
			BotEvents  []string `json:"bot_events"`
			UserEvents []string `json:"user_events"`
		} `json:"event_subscriptions"`
		Interactivity struct {
			IsEnabled  bool   `json:"is_enabled"`
			RequestURL string `json:"request_url"`
		} `json:"interactivity"`
		SocketModeEnabled bool `json:"socket_mode_enabled"`
	} `json:"settings"`
}

func readManifest(t *testing.T, name, url string, socket bool) manifest {
	t.Helper()
	b, err := bot.Manifest(name, url, socket)
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("the manifest is not JSON: %v\n%s", err, b)
	}
	return m
}

func TestManifest(t *testing.T) {
	t.Run("SocketMode", func(t *testing.T) {
		m := readManifest(t, "Community Trigger", "", true)
		if m.DisplayInformation.Name != "Community Trigger" || m.Features.BotUser.DisplayName != "Community Trigger" {
			t.Errorf("names: %+v %+v", m.DisplayInformation, m.Features)
		}
		s := m.Settings
		if !s.SocketModeEnabled || !s.Interactivity.IsEnabled || s.Interactivity.RequestURL != "" || s.EventSubscriptions.RequestURL != "" {
			t.Errorf("socket mode settings: %+v", s)
		}
		if !slices.Equal(s.EventSubscriptions.BotEvents, []string{"app_home_opened", "message.groups"}) || len(s.EventSubscriptions.UserEvents) != 0 {
			t.Errorf("events: %+v", s.EventSubscriptions)
		}
		if !m.Features.AppHome.HomeTabEnabled {
			t.Error("the Home tab is not enabled")
		}
		if cmds := m.Features.SlashCommands; len(cmds) != 1 || cmds[0].Command != "/trigger" || cmds[0].URL != "" || cmds[0].Description == "" || cmds[0].UsageHint == "" {
			t.Errorf("slash commands in Socket Mode: %+v", cmds)
		}
		if len(m.OAuthConfig.Scopes.User) != 0 {
			t.Errorf("user scopes: %v", m.OAuthConfig.Scopes.User)
		}
	})
	t.Run("HTTPMode", func(t *testing.T) {
		m := readManifest(t, "CT bot", "https://trigger.example.gov.uk/", false)
		s := m.Settings
		if s.SocketModeEnabled || !s.Interactivity.IsEnabled ||
			s.Interactivity.RequestURL != "https://trigger.example.gov.uk/slack/interactivity" ||
			s.EventSubscriptions.RequestURL != "https://trigger.example.gov.uk/slack/events" {
			t.Errorf("HTTP mode settings: %+v", s)
		}
		if cmds := m.Features.SlashCommands; len(cmds) != 1 || cmds[0].URL != "https://trigger.example.gov.uk/slack/commands" {
			t.Errorf("slash commands in HTTP mode: %+v", cmds)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		for _, c := range []struct {
			name, url string
			socket    bool
		}{
			{"", "", true},
			{"A name far longer than Slack's thirty-five characters", "", true},
			{"CT", "", false},
			{"CT", "http://trigger.example.gov.uk", false},
			{"CT", "trigger.example.gov.uk", false},
			{"CT", "https://trigger.example.gov.uk/?x=1", false},
		} {
			if b, err := bot.Manifest(c.name, c.url, c.socket); err == nil {
				t.Errorf("Manifest(%q, %q, %v) = %s, want an error", c.name, c.url, c.socket, b)
			}
		}
	})
}

// sourceMethods lists the Web API methods the bot's code calls through
// b.API, by reading the package's source.
func sourceMethods(t *testing.T) map[string][]string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{} // method → where
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if recv, ok := sel.X.(*ast.SelectorExpr); !ok || recv.Sel.Name != "API" {
				return true
			}
			where := fset.Position(call.Pos()).String()
			method, ok := slackGoMethods[sel.Sel.Name]
			if !ok {
				t.Errorf("%s: b.API.%s: add it to slackGoMethods with the Web API method it calls, and that method's scopes to methodScopes", where, sel.Sel.Name)
				return true
			}
			out[method] = append(out[method], where)
			return true
		})
	}
	return out
}

// TestManifestScopes derives the scopes the bot needs from what it does:
// every b.API call in its source, and every method it really called while
// a case went through channel creation (name taken, a retried card), a
// refused click, a modal and the acceptance. The manifest must ask for
// exactly those: a new Slack call without its scope fails here, and so
// does a scope nothing uses any more.
func TestManifestScopes(t *testing.T) {
	t.Parallel()
	inSource := sourceMethods(t)

	// TimeScale 5: the click's 3-second trigger_id is 600 ms of real time,
	// so a loaded machine still opens the modal.
	h := newHarness(t, harnessOpts{mode: "socket", emuClock: true, emu: slackemu.Options{TimeScale: 5}})
	// A channel of the case's name exists already (made by hand, or by an
	// attempt whose answer was lost): name_taken, conversations.list.
	name := fmt.Sprintf("ct-%d-0001", casefile.DateOf(time.Now()).Year)
	if _, err := h.emu.AddChannel(name, true, h.emu.BotUserID()); err != nil {
		t.Fatal(err)
	}
	// The card's post fails once: the retry looks for it in the history.
	h.emu.InjectFault(slackemu.Fault{Method: "chat.postMessage", Status: http.StatusInternalServerError})
	c := h.newCase()
	ch := h.channel(c.Ref)
	card := h.card(c.Ref)
	h.click(h.police, ch.ID, card.TS, bot.ActionAccept, c.Ref)
	h.ephemeral(h.police, "only the coordinator")
	h.click(h.council, ch.ID, card.TS, bot.ActionViewDetails, c.Ref)
	h.modal(h.council, bot.ViewDetails)
	h.click(h.coord, ch.ID, card.TS, bot.ActionAccept, c.Ref)
	h.waitFor("the card updated", func() bool {
		m, _ := h.message(ch.ID, `"card-`+c.Ref+`"`)
		return m.Edited
	})
	h.waitMessage(ch.ID, `"request-`+c.Ref+`-housing"`)

	called := map[string]bool{}
	for _, call := range h.emu.Calls() {
		if call.Method == "apps.connections.open" {
			continue // the app-level token's connections:write, not a bot scope
		}
		called[call.Method] = true
	}
	for _, m := range []string{"conversations.list", "conversations.history", "users.lookupByEmail", "chat.postEphemeral", "views.open", "chat.update"} {
		if !called[m] {
			t.Errorf("the flow did not call %s: it no longer tests what it says", m)
		}
	}
	for m := range called {
		if _, ok := inSource[m]; !ok {
			t.Errorf("the bot called %s, which the source scan did not find: fix slackGoMethods", m)
		}
	}
	for m, where := range inSource {
		if !called[m] {
			t.Logf("%s (%s) is not exercised here; its scopes come from the source", m, strings.Join(where, ", "))
		}
	}

	want := map[string]bool{}
	for m := range maps.Keys(inSource) {
		scopes, ok := methodScopes[m]
		if !ok {
			t.Errorf("%s: no scopes known: add it to methodScopes", m)
		}
		for _, s := range scopes {
			want[s] = true
		}
	}
	got := readManifest(t, "Community Trigger", "", true)
	for _, ev := range got.Settings.EventSubscriptions.BotEvents {
		scopes, ok := eventScopes[ev]
		if !ok {
			t.Errorf("event %s: no scopes known: add it to eventScopes", ev)
		}
		for _, s := range scopes {
			want[s] = true
		}
	}
	// A slash command needs the commands scope.
	if len(got.Features.SlashCommands) > 0 {
		want["commands"] = true
	}
	wantList := slices.Sorted(maps.Keys(want))
	gotList := slices.Sorted(slices.Values(got.OAuthConfig.Scopes.Bot))
	if !slices.Equal(gotList, wantList) {
		t.Errorf("the manifest asks for bot scopes %v; the bot needs %v", gotList, wantList)
	}
	if n := len(slices.Compact(slices.Clone(gotList))); n != len(gotList) {
		t.Errorf("duplicate scopes: %v", gotList)
	}
}
