package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/outbox"
	"github.com/csp/trigger/casefile/sqlite"
)

// harness is a bot wired to a real store on a temporary file and the Slack
// emulator, in Socket Mode or HTTP mode, with the outbox dispatcher running.
type harness struct {
	t     testing.TB
	ctx   context.Context
	emu   *slackemu.Emulator
	store *sqlite.Store
	cfg   *casefile.Config
	bot   *bot.Bot
	url   string           // the app's own HTTP server (HTTP mode: /slack/events, /slack/interactivity)
	http  *bot.HTTPHandler // HTTP mode's handler; Wait waits for the work after its answers
	// dispatch starts the outbox dispatcher (newHarness does, unless
	// harnessOpts.manualDispatch).
	dispatch func()

	coord, police, council, housing, chair, stranger string
}

type harnessOpts struct {
	mode    string // socket, http
	emu     slackemu.Options
	workers int
	// emuClock runs the store on the emulator's clock (TimeScale 60: an
	// emulated minute in a real second), so the outbox's backoff, seconds
	// to minutes after a 5xx, passes at the speed Slack's time does. What
	// Slack answers is unchanged; the bot's pacer still waits Retry-After
	// in real seconds, as the header says.
	emuClock bool
	// manualDispatch leaves the outbox dispatcher to the test: it calls
	// h.dispatch when the work is queued.
	manualDispatch bool
	// configure, if set, changes the configuration (and the emulator's
	// people) before the bot starts.
	configure func(h *harness, cfg *casefile.Config)
	// wrap, if set, is the store the bot uses, around the real one (a
	// store that fails or stalls on purpose).
	wrap func(s *sqlite.Store) bot.Store
	// logs, if set, receives the bot's log.
	logs io.Writer
	// clock, if set, is the store's clock (a test's fixed days).
	clock func() time.Time
	// home, if set, changes the bot's Home tab pacing before it starts.
	home func(b *bot.Bot)
}

func newHarness(t testing.TB, o harnessOpts) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, ctx: ctx}

	var handler http.Handler = http.NotFoundHandler()
	var hmu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hmu.Lock()
		hh := handler
		hmu.Unlock()
		hh.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL

	eo := o.emu
	if eo.TimeScale == 0 {
		// An emulated minute in twelve real seconds. Slack's 3 seconds to
		// acknowledge, and a trigger_id's life, are then 600 ms of real
		// time — still five times stricter than Slack: at 20 (150 ms) tests
		// failed now and then on a busy machine, under -race or beside the
		// other packages' tests, the bot's answer correct but late.
		eo.TimeScale = 5
	}
	if eo.Scopes == nil {
		// The token carries what the manifest asks for, no more: a Slack
		// call without its scope fails the test, as it would fail in a
		// workspace that installed the app from the manifest.
		eo.Scopes = bot.Scopes()
	}
	if eo.Events == nil {
		eo.Events = bot.Events()
	}
	if eo.Commands == nil {
		eo.Commands = bot.Commands()
	}
	// The Home tab exists when the manifest enables it, as in Slack.
	var m struct {
		Features struct {
			AppHome struct {
				HomeTabEnabled bool `json:"home_tab_enabled"`
			} `json:"app_home"`
		} `json:"features"`
	}
	if raw, err := bot.Manifest("Community Trigger", "", true); err != nil || json.Unmarshal(raw, &m) != nil {
		t.Fatalf("the manifest: %v", err)
	}
	eo.NoHomeTab = eo.NoHomeTab || !m.Features.AppHome.HomeTabEnabled
	if o.mode == "http" {
		eo.InteractivityURL = srv.URL + "/slack/interactivity"
		eo.EventsURL = srv.URL + "/slack/events"
		eo.CommandsURL = srv.URL + "/slack/commands"
	}
	h.emu = slackemu.New(eo)
	if err := h.emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.emu.Close() })

	h.coord = h.emu.AddUser("sam.coordinator", "sam@council.example").ID
	h.police = h.emu.AddUser("pc.jones", "jones@police.example").ID
	h.council = h.emu.AddUser("asb.officer", "asb@council.example").ID
	h.housing = h.emu.AddUser("housing.officer", "officer@housing.example").ID
	h.chair = h.emu.AddUser("csp.chair", "chair@council.example").ID
	h.stranger = h.emu.AddUser("someone.else", "else@example.org").ID

	cfg := casefile.DefaultConfig()
	cfg.Roles.Coordinator = casefile.IDList{h.coord}
	cfg.Roles.Chair = casefile.IDList{h.chair}
	cfg.Roles.Approvers = casefile.IDList{h.coord, h.chair}
	cfg.Agencies[0].SlackUsers = []string{h.police}
	cfg.Agencies[1].SlackUsers = []string{h.council}
	cfg.Agencies[2].SlackUsers = []string{"officer@housing.example"} // looked up by email
	cfg.Agencies[2].Email = "asb@housing.example"
	if o.configure != nil {
		o.configure(h, &cfg)
	}
	h.cfg = &cfg

	store, err := sqlite.Open(filepath.Join(t.TempDir(), "trigger.db"), h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h.store = store
	if o.emuClock {
		store.Clock = h.emu.Now
	}
	if o.clock != nil {
		store.Clock = o.clock
	}

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("BOT_TEST_LOG") != "" { // BOT_TEST_LOG=1 go test ./bot -run X -v: the bot's log on stderr
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if o.logs != nil {
		logger = slog.New(slog.NewTextHandler(o.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	api := slack.New(h.emu.BotToken(), slack.OptionAPIURL(h.emu.APIURL()), slack.OptionAppLevelToken(h.emu.AppToken()))
	var bs bot.Store = store
	if o.wrap != nil {
		bs = o.wrap(store)
	}
	h.bot = bot.New(api, bs, h.cfg, logger)

	h.bot.InboxPoll = 20 * time.Millisecond
	h.bot.HomeTick = 20 * time.Millisecond
	h.bot.HomeDebounce = 200 * time.Millisecond
	if o.home != nil {
		o.home(h.bot)
	}

	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() { h.bot.RunBackground(ctx) })
	switch o.mode {
	case "http":
		hh := &bot.HTTPHandler{Bot: h.bot, SigningSecret: h.emu.SigningSecret()}
		h.http = hh
		mux := http.NewServeMux()
		mux.HandleFunc("/slack/events", hh.Events)
		mux.HandleFunc("/slack/interactivity", hh.Interactivity)
		mux.HandleFunc("/slack/commands", hh.Commands)
		hmu.Lock()
		handler = mux
		hmu.Unlock()
		t.Cleanup(hh.Wait)
	default:
		wg.Go(func() { h.bot.RunSocketMode(ctx) })
		h.waitStore("the socket to connect", func() bool { return h.emu.SocketConnections() > 0 && h.bot.Connected() })
	}
	workers := o.workers
	if workers == 0 {
		workers = 1
	}
	d := &outbox.Dispatcher{Store: store, Prefix: "slack.", Handler: h.bot, Poll: 10 * time.Millisecond, Workers: workers, Logger: logger}
	h.dispatch = func() { wg.Go(func() { d.Run(ctx) }) }
	if !o.manualDispatch {
		h.dispatch()
	}
	return h
}

// waitFor waits (bounded) for a condition on what people would see.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, 20*time.Second)
	defer cancel()
	if err := h.emu.Wait(ctx, cond); err != nil {
		h.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// waitStore polls the store for a condition.
func (h *harness) waitStore(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("waiting for %s: timed out", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) newCase() *casefile.Case {
	h.t.Helper()
	c, err := h.store.CreateCase(h.ctx, casefile.NewCase{Application: applicationAt(h.today()), Actor: who("test")})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// today is the day it is on the store's clock, in London.
func (h *harness) today() casefile.Date { return casefile.DateOf(h.store.Now()) }

// applicationAt is Lucy Fielding's application as it would be made on the
// day given: three complaints, 65, 39 and 17 days before, each reported
// within two days, so that the threshold is met whatever the date.
func applicationAt(day casefile.Date) casefile.Application {
	yes := true
	incident := func(occurred, reported int, agency, ref string) casefile.Incident {
		return casefile.Incident{OccurredOn: day.AddDays(-occurred), ReportedOn: day.AddDays(-reported), Agency: agency, Reference: ref}
	}
	police := day.AddDays(-64)
	return casefile.Application{
		Route:     casefile.RouteIndividual,
		Applicant: casefile.Person{Name: "Lucy Fielding", Email: "lucy.fielding@example.net", Phone: "07700 900123", Address: "27 Mill Street, Measham", Postcode: "DE12 7HS"},
		Location:  "Alleyway between Mill Street and the High Street",
		Incidents: []casefile.Incident{
			incident(65, 64, "police", fmt.Sprintf("0345 of %02d/%02d/%d", police.Day, police.Month, police.Year)),
			incident(39, 39, "council", fmt.Sprintf("ASB/%d/0981", day.AddDays(-39).Year)),
			incident(17, 15, "housing", "FH-20931"),
		},
		ConsentToShare: &yes,
	}
}

// firstRef is the reference of the first case filed on the day, and its
// channel's name: CT-YYYY-0001 in the day's year.
func firstRef(day casefile.Date) (ref, channel string) {
	return fmt.Sprintf("CT-%d-0001", day.Year), fmt.Sprintf("ct-%d-0001", day.Year)
}

// channel waits for the case's channel and returns it as Slack has it.
func (h *harness) channel(ref string) slackemu.Channel {
	h.t.Helper()
	name := "ct-" + strings.ToLower(strings.TrimPrefix(ref, "CT-"))
	var ch slackemu.Channel
	h.waitFor("channel "+name, func() bool {
		var ok bool
		ch, ok = h.emu.ChannelByName(name)
		return ok
	})
	return ch
}

// card waits for the case card and returns its message.
func (h *harness) card(ref string) slackemu.Message {
	h.t.Helper()
	ch := h.channel(ref)
	var card slackemu.Message
	h.waitFor("the card of "+ref, func() bool {
		for _, m := range h.emu.Messages(ch.ID) {
			if strings.Contains(string(m.Blocks), `"card-`+ref+`"`) {
				card = m
				return true
			}
		}
		return false
	})
	return card
}

// message finds the channel's message whose blocks contain s.
func (h *harness) message(channel, s string) (slackemu.Message, bool) {
	for _, m := range h.emu.Messages(channel) {
		if strings.Contains(text(m), s) {
			return m, true
		}
	}
	return slackemu.Message{}, false
}

func (h *harness) waitMessage(channel, s string) slackemu.Message {
	h.t.Helper()
	var m slackemu.Message
	h.waitFor("a message with "+s, func() bool {
		var ok bool
		m, ok = h.message(channel, s)
		return ok
	})
	return m
}

// click has a person click and checks Slack saw the app acknowledge.
func (h *harness) click(user, channel, ts, action, value string) {
	h.t.Helper()
	res, err := h.emu.ClickButton(user, channel, ts, action, value)
	if err != nil {
		h.t.Fatal(err)
	}
	if !res.Acked {
		h.t.Fatalf("click %s not acknowledged: %s", action, res.Problem)
	}
}

// modal waits for a modal with the callback id on the person's screen.
func (h *harness) modal(user, callbackID string) slackemu.View {
	h.t.Helper()
	var v slackemu.View
	h.waitFor("modal "+callbackID, func() bool {
		for _, ov := range h.emu.OpenViews(user) {
			if ov.CallbackID == callbackID {
				v = ov
				return true
			}
		}
		return false
	})
	return v
}

// ephemeral waits for an ephemeral message to user containing s.
func (h *harness) ephemeral(user, s string) {
	h.t.Helper()
	h.waitFor("an ephemeral message with "+s, func() bool {
		for _, e := range h.emu.Ephemerals(user) {
			if strings.Contains(e.Text, s) {
				return true
			}
		}
		return false
	})
}

func (h *harness) status(ref string) casefile.Status {
	c, err := h.store.Case(h.ctx, ref)
	if err != nil {
		h.t.Fatal(err)
	}
	return c.Status
}

func (h *harness) events(ref, kind string) int {
	evs, _ := h.store.Events(h.ctx, ref)
	n := 0
	for _, e := range evs {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// text is a message's blocks as a person reads them: JSON, with the
// characters json.Marshal escapes put back.
func text(m slackemu.Message) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(m.Blocks)) + m.Text
}
