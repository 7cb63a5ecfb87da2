package graphemu

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/csp/trigger/internal/emuclock"
)

// Options configure an Emulator. The zero value is Graph's documented
// behaviour in real time.
type Options struct {
	// TimeScale is how fast emulated time runs: 60 makes an emulated minute
	// pass in a real second. Zero means 1.
	TimeScale float64
	// Start is the emulated time at New (default: now).
	Start time.Time

	// ConcurrencyLimit is the number of requests one app may have in flight
	// against one mailbox (default 4, Outlook's limit).
	ConcurrencyLimit int
	// ConcurrencyRetryAfter is the Retry-After of a MailboxConcurrency
	// refusal, in emulated time (default 1s).
	ConcurrencyRetryAfter time.Duration
	// RateLimit requests per RateWindow per app per mailbox (default 10,000
	// in 10 minutes).
	RateLimit  int
	RateWindow time.Duration

	// DeltaTokenCapacity is how many delta state tokens a mailbox keeps;
	// the oldest are dropped beyond it (default 1,000).
	DeltaTokenCapacity int
	// DefaultPageSize is a delta or list page without Prefer:
	// odata.maxpagesize (default 10).
	DefaultPageSize int
	// MaxRequestBytes caps a request body (default 4 MB).
	MaxRequestBytes int64
	// MIMEVaries makes every $value download of a message differ from the
	// last (a header of its own, X-Graphemu-Download), as Exchange, which
	// writes a message's MIME afresh from its own store for a download,
	// does not promise the same bytes twice.
	MIMEVaries bool

	// VerifyToken accepts bearer tokens issued elsewhere (by an OAuth
	// emulator's client credentials grant, with the audience
	// https://graph.microsoft.com): it returns the app's client id, and ok
	// false for a token that is unknown, expired or for another audience.
	// Tokens from IssueToken are accepted without it. It runs with the
	// emulator locked, so it must not call the emulator.
	VerifyToken func(token string) (clientID string, ok bool)

	// Logger receives one line per refused request (default: discard).
	Logger *slog.Logger
}

// Emulator is one Microsoft 365 tenant's Graph mail endpoint. It is an
// http.Handler; Start serves it on an address of its own.
type Emulator struct {
	opts  Options
	clock *emuclock.Clock
	log   *slog.Logger

	mu        sync.Mutex
	baseURL   string
	mailboxes map[string]*mailbox // by lower-case UPN
	byID      map[string]*mailbox // by object id
	apps      map[string]*app
	tokens    map[string]*token
	msgSeq    int64
	folderSeq int64

	inflight  map[string]int // app|mailbox → requests in flight
	peak      map[string]int
	rate      map[string][]time.Time
	throttled map[string]time.Time // app|mailbox → refused until
	throttleN int
	throttleD time.Duration
	faults    []*faultState
	hold      *Hold

	// cmu guards the call log, apart from mu: handlers write their answers
	// holding mu, and a status goes to the log as it is written.
	cmu       sync.Mutex
	onRequest func(Call)
	calls     []Call
	active    int           // requests being answered
	changed   chan struct{} // closed and replaced when one is done

	srv *http.Server
	ln  net.Listener
}

type app struct {
	clientID string
	grants   map[string]map[Permission]bool // mailbox id → roles
}

type token struct {
	app     *app
	expires time.Time
}

// New makes an empty tenant: no mailboxes, no apps.
func New(opts Options) *Emulator {
	opts.ConcurrencyLimit = cmp.Or(opts.ConcurrencyLimit, 4)
	opts.ConcurrencyRetryAfter = cmp.Or(opts.ConcurrencyRetryAfter, time.Second)
	opts.RateLimit = cmp.Or(opts.RateLimit, 10000)
	opts.RateWindow = cmp.Or(opts.RateWindow, 10*time.Minute)
	opts.DeltaTokenCapacity = cmp.Or(opts.DeltaTokenCapacity, 1000)
	opts.DefaultPageSize = cmp.Or(opts.DefaultPageSize, 10)
	opts.MaxRequestBytes = cmp.Or(opts.MaxRequestBytes, 4<<20)
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	start := opts.Start
	if start.IsZero() {
		start = time.Now()
	}
	return &Emulator{
		opts:      opts,
		clock:     emuclock.New(start.UTC(), opts.TimeScale), // Graph's times are UTC
		log:       log,
		baseURL:   "http://graph.emulator",
		mailboxes: map[string]*mailbox{},
		byID:      map[string]*mailbox{},
		apps:      map[string]*app{},
		tokens:    map[string]*token{},
		inflight:  map[string]int{},
		peak:      map[string]int{},
		rate:      map[string][]time.Time{},
		throttled: map[string]time.Time{},
		changed:   make(chan struct{}),
	}
}

// Start serves the emulator on addr ("127.0.0.1:0" for any free port).
func (e *Emulator) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("graphemu: listen %s: %w", addr, err)
	}
	e.mu.Lock()
	e.ln = ln
	e.baseURL = "http://" + ln.Addr().String()
	e.srv = &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	srv := e.srv
	e.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// Close stops a started emulator and releases held requests.
func (e *Emulator) Close() error {
	e.mu.Lock()
	srv, h := e.srv, e.hold
	e.hold = nil
	e.mu.Unlock()
	if h != nil {
		h.Release()
	}
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

// URL is the base URL clients use in place of https://graph.microsoft.com.
func (e *Emulator) URL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.baseURL
}

// SetBaseURL tells an emulator served by someone else (httptest) its URL,
// for the @odata.nextLink and @odata.deltaLink it hands out.
func (e *Emulator) SetBaseURL(u string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.baseURL = strings.TrimRight(u, "/")
}

// Now is the emulator's clock.
func (e *Emulator) Now() time.Time { return e.clock.Now() }

// Advance moves the emulator's clock forward.
func (e *Emulator) Advance(d time.Duration) { e.clock.Advance(d) }

// AddMailbox creates a user with an Exchange Online mailbox and its
// well-known folders, and returns the user's object id.
func (e *Emulator) AddMailbox(upn string) string { return e.addUser(upn, true) }

// AddUserWithoutMailbox creates a user with no Exchange Online mailbox
// (requests for it get MailboxNotEnabledForRESTAPI).
func (e *Emulator) AddUserWithoutMailbox(upn string) string { return e.addUser(upn, false) }

func (e *Emulator) addUser(upn string, enabled bool) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := strings.ToLower(upn)
	if mb, ok := e.mailboxes[key]; ok {
		return mb.id
	}
	mb := newMailbox(upn, enabled)
	e.mailboxes[key] = mb
	e.byID[mb.id] = mb
	return mb.id
}

// AddApp registers an application (a service principal) by client id.
func (e *Emulator) AddApp(clientID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.apps[clientID]; !ok {
		e.apps[clientID] = &app{clientID: clientID, grants: map[string]map[Permission]bool{}}
	}
}

// Grant assigns the app roles on one mailbox, as New-ManagementRoleAssignment
// with a management scope holding that mailbox does.
func (e *Emulator) Grant(clientID, mailbox string, perms ...Permission) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, mb := e.mustApp(clientID), e.mustMailbox(mailbox)
	if a.grants[mb.id] == nil {
		a.grants[mb.id] = map[Permission]bool{}
	}
	for _, p := range perms {
		a.grants[mb.id][p] = true
	}
}

// Revoke removes roles from the app on one mailbox.
func (e *Emulator) Revoke(clientID, mailbox string, perms ...Permission) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, mb := e.mustApp(clientID), e.mustMailbox(mailbox)
	for _, p := range perms {
		delete(a.grants[mb.id], p)
	}
}

// IssueToken hands out an access token for the app, valid for ttl of
// emulated time, as the token endpoint's client credentials grant would.
func (e *Emulator) IssueToken(clientID string, ttl time.Duration) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + newToken() + "." + newToken()
	e.tokens[t] = &token{app: e.mustApp(clientID), expires: e.clock.Now().Add(ttl)}
	return t
}

// RevokeToken makes a token unknown, as a token signed by a rotated key is.
func (e *Emulator) RevokeToken(t string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.tokens, t)
}

func (e *Emulator) mustApp(clientID string) *app {
	a, ok := e.apps[clientID]
	if !ok {
		panic("graphemu: no app " + clientID + ": call AddApp first")
	}
	return a
}

func (e *Emulator) mustMailbox(idOrUPN string) *mailbox {
	mb := e.lookupMailbox(idOrUPN)
	if mb == nil {
		panic("graphemu: no mailbox " + idOrUPN + ": call AddMailbox first")
	}
	return mb
}

func (e *Emulator) lookupMailbox(idOrUPN string) *mailbox {
	if mb, ok := e.byID[strings.ToLower(idOrUPN)]; ok {
		return mb
	}
	return e.mailboxes[strings.ToLower(idOrUPN)]
}
