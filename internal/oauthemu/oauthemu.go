// Package oauthemu is an OAuth 2.0 token server for tests, as strict as the
// real ones it stands for: Microsoft Entra ID's v2.0 endpoints
// (/{tenant}/oauth2/v2.0/token and /devicecode: client credentials with a
// secret or a certificate assertion, the device code flow, refresh tokens
// that rotate and lapse after 90 days unused) and Google's
// (/token: the JWT bearer grant of a service account with domain-wide
// delegation; client credentials for a "custom" provider). It answers
// errors with the providers' bodies (AADSTS codes, Google's descriptions),
// has switches to make it fail (an expired secret, an app removed, a
// sign-in revoked) and a clock tests can move.
//
// It also serves RFC 7662 token introspection at /introspect, the way
// Dovecot's oauth2 passdb asks (introspection_mode = post), so the tokens
// it issues are the ones a real Dovecot accepts.
//
// A Server is an http.Handler: serve it with httptest.NewServer.
package oauthemu

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// The grants.
const (
	GrantClientCredentials = "client_credentials"
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	GrantRefreshToken      = "refresh_token"
	GrantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	assertionType          = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// App is an application registration (Microsoft) or a client (custom).
type App struct {
	Tenant   string // Microsoft's tenant; "" for a custom client (served at /token)
	ClientID string
	Secret   string            // "" when it has none
	Cert     *x509.Certificate // a certificate credential, or nil
	// PublicClient allows the device code flow ("Allow public client
	// flows" in the portal).
	PublicClient bool
	// Mailbox is what the app's app-only tokens may open: the username
	// introspection answers (Exchange's Add-MailboxPermission).
	Mailbox string
}

// ServiceAccount is a Google service account.
type ServiceAccount struct {
	Email  string
	KeyID  string
	Key    any // its public key (*rsa.PublicKey)
	Scopes []string
	// Delegated is domain-wide delegation for Scopes.
	Delegated bool
}

// Server is the emulator. Set its fields before serving.
type Server struct {
	// TokenLifetime is an access token's life; default 3599s, as Microsoft.
	TokenLifetime time.Duration
	// TokenSize pads access tokens to at least this many characters
	// (Microsoft's exceed 4 KB); default 1,200.
	TokenSize int
	// RefreshInactivity is how long a refresh token lives unused; default
	// 90 days.
	RefreshInactivity time.Duration

	mu       sync.Mutex
	offset   time.Duration
	apps     map[string]*appState
	sas      map[string]*ServiceAccount
	users    map[string]bool // the Google domain's users
	tokens   map[string]*accessToken
	refresh  map[string]*refreshToken
	devices  map[string]*deviceGrant
	slowDown int
	issued   int
	log      []Request
	seen     []string // tokens introspected, in order
}

type appState struct {
	App
	secretExpired bool
}

type accessToken struct {
	user, clientID, scope string
	expires               time.Time
	revoked               bool
}

type refreshToken struct {
	user, clientID, scope string
	lastUsed              time.Time
	used, revoked         bool
}

type deviceGrant struct {
	clientID, scope, userCode string
	expires                   time.Time
	approvedBy                string
	declined, redeemed        bool
}

// Request is a request the server answered, for tests to inspect.
type Request struct {
	Path, Grant string
	Form        url.Values // as sent, secrets included: tests only
	Status      int
}

// New returns an empty server.
func New() *Server {
	return &Server{
		apps: map[string]*appState{}, sas: map[string]*ServiceAccount{}, users: map[string]bool{},
		tokens: map[string]*accessToken{}, refresh: map[string]*refreshToken{}, devices: map[string]*deviceGrant{},
	}
}

// Now is the server's clock: the real time moved by Advance.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Server) now() time.Time { return time.Now().Add(s.offset) }

// Advance moves the server's clock forward.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	s.offset += d
	s.mu.Unlock()
}

// AddApp registers an application.
func (s *Server) AddApp(a App) {
	s.mu.Lock()
	s.apps[a.ClientID] = &appState{App: a}
	s.mu.Unlock()
}

// RemoveApp deletes an application: its client id is then unknown
// (AADSTS700016).
func (s *Server) RemoveApp(clientID string) {
	s.mu.Lock()
	delete(s.apps, clientID)
	s.mu.Unlock()
}

// ExpireSecret makes the app's client secret expired (AADSTS7000222).
func (s *Server) ExpireSecret(clientID string) {
	s.mu.Lock()
	if a := s.apps[clientID]; a != nil {
		a.secretExpired = true
	}
	s.mu.Unlock()
}

// AddServiceAccount registers a Google service account.
func (s *Server) AddServiceAccount(sa ServiceAccount) {
	s.mu.Lock()
	s.sas[sa.Email] = &sa
	s.mu.Unlock()
}

// AddGoogleUser adds a user of the Google Workspace domain: a subject a
// delegated service account may act for.
func (s *Server) AddGoogleUser(email string) {
	s.mu.Lock()
	s.users[strings.ToLower(email)] = true
	s.mu.Unlock()
}

// Approve signs user in for the device code userCode, as a person does at
// the verification page.
func (s *Server) Approve(userCode, user string) error {
	return s.decide(userCode, func(g *deviceGrant) { g.approvedBy = user })
}

// Decline declines the device code userCode.
func (s *Server) Decline(userCode string) error {
	return s.decide(userCode, func(g *deviceGrant) { g.declined = true })
}

func (s *Server) decide(userCode string, f func(*deviceGrant)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.devices {
		if g.userCode == userCode {
			f(g)
			return nil
		}
	}
	return fmt.Errorf("oauthemu: no device code with user code %q", userCode)
}

// SlowDown answers the next n device code polls with slow_down.
func (s *Server) SlowDown(n int) {
	s.mu.Lock()
	s.slowDown = n
	s.mu.Unlock()
}

// RevokeSignIns revokes user's refresh tokens, as a password reset does
// (AADSTS50173).
func (s *Server) RevokeSignIns(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.refresh {
		if r.user == user {
			r.revoked = true
		}
	}
}

// RevokeToken makes an access token inactive before its expiry.
func (s *Server) RevokeToken(token string) {
	s.mu.Lock()
	if t := s.tokens[token]; t != nil {
		t.revoked = true
	}
	s.mu.Unlock()
}

// Issued counts the access tokens issued.
func (s *Server) Issued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// Requests returns the token requests answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// Introspected returns the tokens introspection was asked about, in order.
func (s *Server) Introspected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen)
}

// TokenUser returns whom an access token is for and whether it is active.
func (s *Server) TokenUser(token string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[token]
	if t == nil {
		return "", false
	}
	return t.user, s.active(t)
}

// AppToken reports the app an access token was issued to, the scope it
// was issued for, and whether it is active (not expired, not revoked):
// what a resource server such as graphemu checks of a bearer token.
func (s *Server) AppToken(token string) (clientID, scope string, active bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[token]
	if t == nil {
		return "", "", false
	}
	return t.clientID, t.scope, s.active(t)
}

func (s *Server) active(t *accessToken) bool {
	return !t.revoked && s.now().Before(t.expires)
}

// ServeHTTP routes: POST /{tenant}/oauth2/v2.0/token and /devicecode
// (Microsoft), POST /token (Google and custom), POST /introspect.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		http.Error(w, "want application/x-www-form-urlencoded", http.StatusUnsupportedMediaType)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rw := &recorder{ResponseWriter: w, status: 200}
	defer func() {
		s.mu.Lock()
		s.log = append(s.log, Request{Path: r.URL.Path, Grant: r.PostForm.Get("grant_type"), Form: r.PostForm, Status: rw.status})
		s.mu.Unlock()
	}()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.URL.Path == "/introspect":
		s.introspect(rw, r)
	case r.URL.Path == "/token":
		s.googleToken(rw, r)
	case len(parts) == 4 && parts[1] == "oauth2" && parts[2] == "v2.0" && parts[3] == "token":
		s.microsoftToken(rw, r, parts[0])
	case len(parts) == 4 && parts[1] == "oauth2" && parts[2] == "v2.0" && parts[3] == "devicecode":
		s.deviceCode(rw, r, parts[0])
	default:
		http.NotFound(rw, r)
	}
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// introspect answers RFC 7662 for Dovecot: 200 with active false for any
// token it does not know or that ended.
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	token := r.PostForm.Get("token")
	s.mu.Lock()
	s.seen = append(s.seen, token)
	t := s.tokens[token]
	ok := t != nil && s.active(t)
	var answer map[string]any
	if ok {
		answer = map[string]any{
			"active": true, "username": t.user, "client_id": t.clientID, "scope": t.scope,
			"token_type": "Bearer", "exp": t.expires.Unix(),
		}
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	writeJSON(w, http.StatusOK, answer)
}

// jwtPrefix makes Microsoft's tokens look like theirs (JWTs).
const jwtPrefix = "eyJ0eXAiOiJKV1QifQ."

// issue makes an access token starting with prefix; the caller holds s.mu.
func (s *Server) issue(prefix, user, clientID, scope string) (string, int64) {
	life := s.TokenLifetime
	if life <= 0 {
		life = 3599 * time.Second
	}
	size := s.TokenSize
	if size <= 0 {
		size = 1200
	}
	tok := prefix + randomString(max(size-len(prefix), 32))
	s.tokens[tok] = &accessToken{user: user, clientID: clientID, scope: scope, expires: s.now().Add(life)}
	s.issued++
	return tok, int64(life / time.Second)
}

func (s *Server) newRefresh(user, clientID, scope string) string {
	rt := "0.AAAA" + randomString(600)
	s.refresh[rt] = &refreshToken{user: user, clientID: clientID, scope: scope, lastUsed: s.now()}
	return rt
}

func randomString(n int) string {
	b := make([]byte, (n*3+3)/4)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// clientSecret reads the client's secret from the form or HTTP Basic
// authentication (RFC 6749 §2.3.1), and the client id with it.
func clientSecret(r *http.Request) (id, secret string, basic bool) {
	if u, p, ok := r.BasicAuth(); ok {
		uid, err1 := url.QueryUnescape(u)
		pw, err2 := url.QueryUnescape(p)
		if err1 == nil && err2 == nil {
			return uid, pw, true
		}
		return u, p, true
	}
	return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), false
}
