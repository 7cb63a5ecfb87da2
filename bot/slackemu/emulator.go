package slackemu

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/csp/trigger/internal/emuclock"
)

// Options configure an Emulator. The zero value works: fixed tokens, real
// time, Socket Mode delivery.
type Options struct {
	BotToken          string // xoxb- token accepted by the Web API (default "xoxb-emulator")
	AppToken          string // xapp- token accepted by apps.connections.open (default "xapp-emulator")
	SigningSecret     string // signs HTTP deliveries (default "emulator-signing-secret")
	VerificationToken string // the legacy "token" field of payloads (default "emulator-verification")
	TeamName          string // workspace name and domain (default "emulator")
	BotName           string // the bot user's name (default "trigger")

	// Scopes are the bot token's scopes. Nil means every scope the
	// emulator checks (AllScopes); a method called without the scope
	// Slack's reference names for it answers missing_scope.
	Scopes []string
	// Events are the bot events the app subscribes to ("message.groups",
	// "message.channels", "message.im", "app_mention", "app_home_opened").
	// Nil means all of them. A message event also needs the token's
	// history scope for the conversation's type.
	Events []string
	// NoHomeTab is an app whose manifest does not enable the Home tab
	// (features.app_home.home_tab_enabled): views.publish answers
	// not_enabled, and nobody can open it.
	NoHomeTab bool
	// Commands are the app's slash commands ("/trigger"). Nil accepts any
	// command; a person running another one gets Slack's "not a valid
	// command" and the app hears nothing.
	Commands []string

	// TimeScale is how fast emulated time runs: 60 makes an emulated minute
	// pass in a real second. Zero means 1.
	TimeScale float64
	// Start is the emulated time at New (default: now).
	Start time.Time

	// Rates overrides the rate limit of single methods ("chat.postMessage" is
	// per channel). A zero Rate means unlimited.
	Rates map[string]Rate
	// NoRateLimits turns every rate limit off.
	NoRateLimits bool

	// When set, interactions, events and slash commands are POSTed there,
	// signed, instead of being sent over Socket Mode.
	InteractivityURL string
	EventsURL        string
	CommandsURL      string

	// PingInterval is the real time between WebSocket pings (default 10s).
	PingInterval time.Duration

	// Logger receives one line per notable happening (default: discard).
	Logger *slog.Logger
}

// Emulator is one Slack workspace with one installed app. It is an
// http.Handler; Start serves it on an address of its own.
type Emulator struct {
	opts   Options
	clock  *emuclock.Clock
	log    *slog.Logger
	client *http.Client

	mu           sync.Mutex
	baseURL      string
	nextID       int
	lastTS       int64 // microseconds of the newest ts handed out
	teamID       string
	appID        string
	botID        string
	bot          *User
	scopes       map[string]bool
	users        map[string]*User
	userOrder    []string
	files        map[string]*storedFile
	channels     map[string]*channel
	channelOrder []string
	views        map[string]*View
	stacks       map[string][]string // user id → open modal view ids, bottom first
	homes        map[string]string   // user id → home tab view id
	triggers     map[string]*trigger
	responseURLs map[string]*responseURL
	ephemerals   []Ephemeral
	calls        []Call
	deliveries   []*Delivery
	limiter      limiter
	faults       []*faultState
	sockets      map[*socketConn]bool
	tickets      map[string]time.Time
	envelopes    []*envelope
	changed      chan struct{} // closed and replaced on every state change

	server   *http.Server
	kick     chan struct{}
	ctx      context.Context // ends at Close
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// New returns an emulator with a bot user and no other users or channels.
// It runs a background loop until Close.
func New(opts Options) *Emulator {
	opts.BotToken = cmp.Or(opts.BotToken, "xoxb-emulator")
	opts.AppToken = cmp.Or(opts.AppToken, "xapp-emulator")
	opts.SigningSecret = cmp.Or(opts.SigningSecret, "emulator-signing-secret")
	opts.VerificationToken = cmp.Or(opts.VerificationToken, "emulator-verification")
	opts.TeamName = cmp.Or(opts.TeamName, "emulator")
	opts.BotName = cmp.Or(opts.BotName, "trigger")
	if opts.PingInterval <= 0 {
		opts.PingInterval = 10 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Emulator{
		opts:         opts,
		clock:        emuclock.New(opts.Start, opts.TimeScale),
		log:          log,
		client:       &http.Client{},
		scopes:       map[string]bool{},
		users:        map[string]*User{},
		files:        map[string]*storedFile{},
		channels:     map[string]*channel{},
		views:        map[string]*View{},
		stacks:       map[string][]string{},
		homes:        map[string]string{},
		triggers:     map[string]*trigger{},
		responseURLs: map[string]*responseURL{},
		sockets:      map[*socketConn]bool{},
		tickets:      map[string]time.Time{},
		changed:      make(chan struct{}),
		kick:         make(chan struct{}, 1),
	}
	scopes := opts.Scopes
	if scopes == nil {
		scopes = AllScopes
	}
	for _, sc := range scopes {
		e.scopes[strings.TrimSpace(sc)] = true
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.limiter = limiter{windows: map[string][]time.Time{}}
	e.teamID = e.newID("T")
	e.appID = e.newID("A")
	e.botID = e.newID("B")
	e.bot = &User{ID: e.newID("U"), Name: opts.BotName, RealName: opts.BotName, IsBot: true}
	e.users[e.bot.ID] = e.bot
	e.userOrder = append(e.userOrder, e.bot.ID)
	e.wg.Go(e.loop)
	return e
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves the emulator until
// Close. URL then reports the address actually bound.
func (e *Emulator) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("slackemu: listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	e.mu.Lock()
	e.server = srv
	e.baseURL = "http://" + ln.Addr().String()
	e.mu.Unlock()
	e.wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("slackemu: serve", "err", err)
		}
	})
	return nil
}

// SetBaseURL tells an emulator served by someone else (httptest.Server) the
// URL it is reachable at, for the response_urls and Socket Mode URLs it
// hands out. Without it the emulator takes the Host of the first request.
func (e *Emulator) SetBaseURL(u string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.baseURL = strings.TrimSuffix(u, "/")
}

// URL is the emulator's base URL, e.g. "http://127.0.0.1:4390".
func (e *Emulator) URL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.baseURL
}

// APIURL is the Web API base for slack.OptionAPIURL: URL()+"/api/".
func (e *Emulator) APIURL() string { return e.URL() + "/api/" }

// BotToken, AppToken and SigningSecret are the credentials the emulator accepts.
func (e *Emulator) BotToken() string      { return e.opts.BotToken }
func (e *Emulator) AppToken() string      { return e.opts.AppToken }
func (e *Emulator) SigningSecret() string { return e.opts.SigningSecret }

// BotUserID, BotID, AppID and TeamID identify the installed app.
func (e *Emulator) BotUserID() string { return e.bot.ID }
func (e *Emulator) BotID() string     { return e.botID }
func (e *Emulator) AppID() string     { return e.appID }
func (e *Emulator) TeamID() string    { return e.teamID }

// Now is the emulated time.
func (e *Emulator) Now() time.Time { return e.clock.Now() }

// Advance moves emulated time forward by d at once.
func (e *Emulator) Advance(d time.Duration) {
	e.clock.Advance(d)
	e.poke()
}

// Close stops serving, drops every socket and waits for the emulator's
// goroutines.
func (e *Emulator) Close() error {
	e.stopOnce.Do(func() {
		e.mu.Lock()
		e.cancel()
		srv := e.server
		conns := make([]*socketConn, 0, len(e.sockets))
		for c := range e.sockets {
			conns = append(conns, c)
		}
		e.mu.Unlock()
		if srv != nil {
			_ = srv.Close()
		}
		for _, c := range conns {
			c.close()
		}
	})
	e.wg.Wait()
	return nil
}

// ServeHTTP routes the Web API, the Socket Mode endpoint and response URLs.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	if e.baseURL == "" {
		e.baseURL = "http://" + r.Host // served by someone else, e.g. httptest
	}
	e.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/"):
		e.serveAPI(w, r)
	case strings.HasPrefix(r.URL.Path, "/link"):
		e.serveSocket(w, r)
	case strings.HasPrefix(r.URL.Path, "/response/"):
		e.serveResponseURL(w, r)
	case strings.HasPrefix(r.URL.Path, "/files/"):
		e.serveFile(w, r)
	default:
		http.NotFound(w, r)
	}
}

// Wait blocks until cond reports true, re-checking it after every change of
// the emulator's state, or until ctx ends. cond may call the accessors.
func (e *Emulator) Wait(ctx context.Context, cond func() bool) error {
	for {
		e.mu.Lock()
		ch := e.changed
		e.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// changedLocked wakes Wait; e.mu must be held.
func (e *Emulator) changedLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// poke wakes the background loop early.
func (e *Emulator) poke() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// newID returns a fresh Slack-looking id such as "C0000000A"; e.mu must be
// held (or the emulator not yet shared).
func (e *Emulator) newID(prefix string) string {
	e.nextID++
	return fmt.Sprintf("%s%08X", prefix, e.nextID)
}

// newTS returns a message timestamp unique in the workspace; e.mu must be held.
func (e *Emulator) newTS() string {
	us := max(e.clock.Now().UnixMicro(), e.lastTS+1)
	e.lastTS = us
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// loop redelivers unacknowledged envelopes and closes draining sockets.
func (e *Emulator) loop() {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-tick.C:
		case <-e.kick:
		}
		e.sweepSockets()
	}
}
