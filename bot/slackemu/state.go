package slackemu

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// User is a member of the workspace.
type User struct {
	ID       string
	Name     string
	RealName string
	Email    string
	IsBot    bool
	// Restricted is a guest; UltraRestricted a single-channel guest, who
	// can be in one channel only.
	Restricted      bool
	UltraRestricted bool
	// Deleted is a deactivated account: users.info shows deleted=true,
	// users.lookupByEmail no longer finds it, nobody can invite or DM it.
	Deleted bool
}

// Channel is a public or private channel, or a direct message (IM)
// between the app and one person, as a test sees it.
type Channel struct {
	ID       string
	Name     string // "" for a DM
	Private  bool
	IM       bool   // a direct message; User is the person
	User     string // the person in a DM
	Topic    string
	Creator  string
	Archived bool
	Members  []string
}

// Message is one message in a channel; a thread reply has ThreadTS set to
// its parent's TS.
type Message struct {
	Channel    string
	TS         string
	ThreadTS   string
	User       string // author: a person's id, or the bot user for the app
	BotID      string // set when the app posted it
	Text       string
	Blocks     json.RawMessage // as posted (with the ids Slack fills in), nil when none
	Edited     bool
	ReplyCount int
	// Subtype is Slack's message subtype: "" for an ordinary message,
	// "thread_broadcast" for a reply also sent to the channel,
	// "file_share", "channel_join", "channel_topic", "tombstone" (a
	// deleted thread parent).
	Subtype     string
	Files       []File // file_share
	Inviter     string // channel_join: who invited the user
	Topic       string // channel_topic
	Attachments json.RawMessage
}

// TopLevel reports whether the message shows in the channel itself: not a
// thread reply, unless it was also sent to the channel.
func (m Message) TopLevel() bool {
	return m.ThreadTS == "" || m.ThreadTS == m.TS || m.Subtype == "thread_broadcast"
}

// Ephemeral is a message only one person sees: chat.postEphemeral, an
// ephemeral response_url post or a slash command's answer.
type Ephemeral struct {
	Channel  string
	User     string // who sees it
	TS       string
	ThreadTS string
	Text     string
	Blocks   json.RawMessage
}

// View is a modal or home tab as it is on screen.
type View struct {
	ID              string
	User            string
	Type            string // "modal" or "home"
	CallbackID      string
	PrivateMetadata string
	ExternalID      string
	Hash            string
	RootViewID      string
	PreviousViewID  string
	Title           string
	Blocks          json.RawMessage
	JSON            json.RawMessage // the view as the app sent it, with the ids Slack filled in
}

// Call is one Web API call (or response_url post) as the emulator saw it.
type Call struct {
	Method string
	Params url.Values // without the token
	OK     bool
	Error  string // Slack error code, "ratelimited", or "" when OK
	// Detail is the answer's response_metadata.messages: for invalid_blocks
	// and invalid_arguments, Slack's "[ERROR] … [json-pointer:…]" lines.
	Detail []string
	Status int // HTTP status
	At     time.Time
}

// Delivery is one envelope or HTTP delivery of an event, interaction or
// slash command, and what became of it.
type Delivery struct {
	ID        string // envelope_id or event_id
	Type      string // "events_api", "interactive" or "slash_commands"
	Transport string // "socket" or "http"
	Attempts  int
	Acked     bool
	Failed    bool // retries exhausted
}

type channel struct {
	Channel
	created  time.Time
	messages []*Message // in ts order, replies included
}

func (c *channel) isMember(user string) bool { return slices.Contains(c.Members, user) }

func (c *channel) message(ts string) *Message {
	for _, m := range c.messages {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

// AddUser adds a person to the workspace and returns them.
func (e *Emulator) AddUser(name, email string) User {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := &User{ID: e.newID("U"), Name: name, RealName: name, Email: email}
	e.users[u.ID] = u
	e.userOrder = append(e.userOrder, u.ID)
	e.changedLocked()
	return *u
}

// AddGuest adds a guest to the workspace: a multi-channel guest, or with
// singleChannel a single-channel guest, who can be in one channel only
// (inviting them to a second answers ura_max_channels).
func (e *Emulator) AddGuest(name, email string, singleChannel bool) User {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := &User{ID: e.newID("U"), Name: name, RealName: name, Email: email, Restricted: true, UltraRestricted: singleChannel}
	e.users[u.ID] = u
	e.userOrder = append(e.userOrder, u.ID)
	e.changedLocked()
	return *u
}

// Deactivate deactivates a person's account, as a workspace admin does:
// users.info then shows deleted=true, users.lookupByEmail answers
// users_not_found, invites answer cant_invite and the person can no longer
// act. They stay listed in the channels they were in.
func (e *Emulator) Deactivate(userID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.users[userID]
	if u == nil || u.IsBot {
		return fmt.Errorf("slackemu: deactivate %s: no such person", userID)
	}
	u.Deleted = true
	e.changedLocked()
	return nil
}

// AddChannel creates a channel directly, without the Web API and its rules
// (but still refusing invalid or taken names). Include BotUserID in members
// for the app to be in it.
func (e *Emulator) AddChannel(name string, private bool, members ...string) (Channel, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if code := e.checkChannelName(name); code != "" {
		return Channel{}, fmt.Errorf("slackemu: channel %q: %s", name, code)
	}
	for _, m := range members {
		if e.users[m] == nil {
			return Channel{}, fmt.Errorf("slackemu: channel %q: user %s: user_not_found", name, m)
		}
	}
	c := e.createChannelLocked(name, private, e.bot.ID)
	c.Members = slices.Compact(slices.Clone(members))
	e.changedLocked()
	return c.snapshot(), nil
}

func (e *Emulator) createChannelLocked(name string, private bool, creator string) *channel {
	c := &channel{Channel: Channel{ID: e.newID("C"), Name: name, Private: private, Creator: creator}, created: e.clock.Now()}
	e.channels[c.ID] = c
	e.channelOrder = append(e.channelOrder, c.ID)
	return c
}

func (c *channel) snapshot() Channel {
	s := c.Channel
	s.Members = slices.Clone(c.Members)
	return s
}

// Users lists the workspace's users, the bot first.
func (e *Emulator) Users() []User {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]User, 0, len(e.userOrder))
	for _, id := range e.userOrder {
		out = append(out, *e.users[id])
	}
	return out
}

// Channels lists every channel in creation order.
func (e *Emulator) Channels() []Channel {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Channel, 0, len(e.channelOrder))
	for _, id := range e.channelOrder {
		out = append(out, e.channels[id].snapshot())
	}
	return out
}

// ChannelByName finds a channel by its name.
func (e *Emulator) ChannelByName(name string) (Channel, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.channelByNameLocked(name); c != nil {
		return c.snapshot(), true
	}
	return Channel{}, false
}

func (e *Emulator) channelByNameLocked(name string) *channel {
	for _, id := range e.channelOrder {
		if c := e.channels[id]; !c.IM && strings.EqualFold(c.Name, name) {
			return c
		}
	}
	return nil
}

// Members lists a channel's members (nil for an unknown channel).
func (e *Emulator) Members(channelID string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.channels[channelID]; c != nil {
		return slices.Clone(c.Members)
	}
	return nil
}

// Messages lists a channel's top-level messages, oldest first, with the
// system messages Slack posts (channel_join, channel_topic) and replies
// also sent to the channel (thread_broadcast).
func (e *Emulator) Messages(channelID string) []Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Message
	if c := e.channels[channelID]; c != nil {
		for _, m := range c.messages {
			if m.TopLevel() {
				out = append(out, *m)
			}
		}
	}
	return out
}

// Thread lists a thread: its parent first, then the replies, oldest first.
// It is empty when the channel has no message ts.
func (e *Emulator) Thread(channelID, ts string) []Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Message
	if c := e.channels[channelID]; c != nil {
		for _, m := range c.messages {
			if m.TS == ts || m.ThreadTS == ts {
				out = append(out, *m)
			}
		}
	}
	return out
}

// OpenViews lists the modals open for a person, the bottom of the stack
// first; the last one is on screen.
func (e *Emulator) OpenViews(userID string) []View {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []View
	for _, id := range e.stacks[userID] {
		out = append(out, *e.views[id])
	}
	return out
}

// HomeView is the home tab published for a person.
func (e *Emulator) HomeView(userID string) (View, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id, ok := e.homes[userID]; ok {
		return *e.views[id], true
	}
	return View{}, false
}

// Ephemerals lists the ephemeral messages a person has received.
func (e *Emulator) Ephemerals(userID string) []Ephemeral {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Ephemeral
	for _, m := range e.ephemerals {
		if m.User == userID {
			out = append(out, m)
		}
	}
	return out
}

// Calls lists the Web API calls so far, oldest first. With methods given,
// only calls of those methods.
func (e *Emulator) Calls(methods ...string) []Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Call
	for _, c := range e.calls {
		if len(methods) == 0 || slices.Contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

// Deliveries lists every delivery to the app so far, oldest first.
func (e *Emulator) Deliveries() []Delivery {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Delivery, 0, len(e.deliveries))
	for _, d := range e.deliveries {
		out = append(out, *d)
	}
	return out
}
