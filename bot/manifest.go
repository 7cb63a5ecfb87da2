package bot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// botScopes are the bot token scopes the bot needs, and no more. Each
// Web API method it calls, or event it receives, needs:
//
//	conversations.create, .invite, .setTopic (private)   groups:write
//	conversations.list (after name_taken), .members      groups:read
//	conversations.history, .replies; message.groups      groups:history
//	chat.postMessage, chat.update, chat.postEphemeral    chat:write
//	conversations.open (a direct message to a person)    im:write
//	users.lookupByEmail                                  users:read.email, with users:read
//	users.conversations, conversations.info: is the app  channels:read (public), groups:read (private)
//	  in [slack] digest_channel, a public or private one
//	the /trigger slash command                           commands
//	views.open, views.publish (the Home tab), auth.test  none
//
// Socket Mode's apps.connections.open takes the app-level token, whose
// connections:write scope is granted when that token is made, not here.
var botScopes = []string{"channels:read", "chat:write", "commands", "groups:history", "groups:read", "groups:write", "im:write", "users:read", "users:read.email"}

// Scopes are the bot token scopes the manifest asks for: what a token
// installed from it carries (the Slack emulator's default, too).
func Scopes() []string { return slices.Clone(botScopes) }

// Events are the bot events the manifest subscribes to.
func Events() []string { return slices.Clone(botEvents) }

// Commands are the slash commands the manifest declares.
func Commands() []string { return []string{Command} }

// botEvents are the Events API events the bot subscribes to: messages in
// the private case channels, for agencies' replies in a request's thread,
// and a person opening the app's Home tab, to publish it.
var botEvents = []string{"app_home_opened", "message.groups"}

// Manifest is the Slack app manifest (JSON, which Slack accepts as it does
// YAML) for installing the bot: its scopes, interactivity, the events it
// needs, the Home tab (and the messages tab, read-only, where notices about
// the service reach the coordinators when there is no digest channel), the
// /trigger command and, with socketMode, Socket Mode. Without Socket Mode
// Slack calls requestURL (the public base URL of `trigger serve`, https) at
// /slack/interactivity, /slack/events and /slack/commands.
func Manifest(appName, requestURL string, socketMode bool) ([]byte, error) {
	appName = strings.TrimSpace(appName)
	switch n := utf8.RuneCountInString(appName); {
	case n == 0:
		return nil, fmt.Errorf("manifest: the app needs a name")
	case n > 35:
		return nil, fmt.Errorf("manifest: the app name %q is longer than Slack's 35 characters", appName)
	}
	base := strings.TrimRight(strings.TrimSpace(requestURL), "/")
	if !socketMode || base != "" {
		u, err := url.Parse(base)
		switch {
		case base == "":
			return nil, fmt.Errorf("manifest: HTTP mode needs the public URL Slack calls (Socket Mode needs none)")
		case err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
			return nil, fmt.Errorf("manifest: %q is not a base URL such as https://trigger.example.gov.uk", requestURL)
		case u.Scheme != "https":
			return nil, fmt.Errorf("manifest: Slack calls request URLs over https only, not %q", requestURL)
		}
	}

	type requestURLs struct {
		IsEnabled  *bool    `json:"is_enabled,omitempty"`
		RequestURL string   `json:"request_url,omitempty"`
		BotEvents  []string `json:"bot_events,omitempty"`
	}
	enabled := true
	interactivity := requestURLs{IsEnabled: &enabled}
	events := requestURLs{BotEvents: botEvents}
	type slashCommand struct {
		Command      string `json:"command"`
		URL          string `json:"url,omitempty"`
		Description  string `json:"description"`
		UsageHint    string `json:"usage_hint"`
		ShouldEscape bool   `json:"should_escape"`
	}
	command := slashCommand{Command: Command, Description: "Community Trigger cases: a summary, a new application, a search",
		UsageHint: "CT-2026-0012 | new | find TEXT | help"}
	if !socketMode {
		interactivity.RequestURL = base + "/slack/interactivity"
		events.RequestURL = base + "/slack/events"
		command.URL = base + "/slack/commands"
	}
	m := struct {
		DisplayInformation struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		} `json:"display_information"`
		Features struct {
			AppHome struct {
				HomeTabEnabled             bool `json:"home_tab_enabled"`
				MessagesTabEnabled         bool `json:"messages_tab_enabled"`
				MessagesTabReadOnlyEnabled bool `json:"messages_tab_read_only_enabled"`
			} `json:"app_home"`
			BotUser struct {
				DisplayName  string `json:"display_name"`
				AlwaysOnline bool   `json:"always_online"`
			} `json:"bot_user"`
			SlashCommands []slashCommand `json:"slash_commands"`
		} `json:"features"`
		OAuthConfig struct {
			Scopes struct {
				Bot []string `json:"bot"`
			} `json:"scopes"`
		} `json:"oauth_config"`
		Settings struct {
			EventSubscriptions   requestURLs `json:"event_subscriptions"`
			Interactivity        requestURLs `json:"interactivity"`
			OrgDeployEnabled     bool        `json:"org_deploy_enabled"`
			SocketModeEnabled    bool        `json:"socket_mode_enabled"`
			TokenRotationEnabled bool        `json:"token_rotation_enabled"`
		} `json:"settings"`
	}{}
	m.DisplayInformation.Name = appName
	m.DisplayInformation.Description = "Community Trigger (ASB Case Review): a private channel per case, threshold decisions, agency requests and the review meeting."
	m.Features.BotUser.DisplayName = appName
	m.Features.BotUser.AlwaysOnline = true
	m.Features.AppHome.HomeTabEnabled = true
	m.Features.AppHome.MessagesTabEnabled = true
	m.Features.AppHome.MessagesTabReadOnlyEnabled = true
	m.Features.SlashCommands = []slashCommand{command}
	m.OAuthConfig.Scopes.Bot = botScopes
	m.Settings.EventSubscriptions = events
	m.Settings.Interactivity = interactivity
	m.Settings.SocketModeEnabled = socketMode

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
