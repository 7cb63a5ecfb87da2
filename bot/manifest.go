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
//	views.open, auth.test                                none
//
// Socket Mode's apps.connections.open takes the app-level token, whose
// connections:write scope is granted when that token is made, not here.
var botScopes = []string{"chat:write", "groups:history", "groups:read", "groups:write", "im:write", "users:read", "users:read.email"}

// Scopes are the bot token scopes the manifest asks for: what a token
// installed from it carries (the Slack emulator's default, too).
func Scopes() []string { return slices.Clone(botScopes) }

// Events are the bot events the manifest subscribes to.
func Events() []string { return slices.Clone(botEvents) }

// botEvents are the Events API events the bot subscribes to: messages in
// the private case channels, for agencies' replies in a request's thread.
var botEvents = []string{"message.groups"}

// Manifest is the Slack app manifest (JSON, which Slack accepts as it does
// YAML) for installing the bot: its scopes, interactivity, the events it
// needs and, with socketMode, Socket Mode. Without Socket Mode Slack calls
// requestURL (the public base URL of `trigger serve`, https) at
// /slack/interactivity and /slack/events.
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
	if !socketMode {
		interactivity.RequestURL = base + "/slack/interactivity"
		events.RequestURL = base + "/slack/events"
	}
	m := struct {
		DisplayInformation struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		} `json:"display_information"`
		Features struct {
			BotUser struct {
				DisplayName  string `json:"display_name"`
				AlwaysOnline bool   `json:"always_online"`
			} `json:"bot_user"`
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
