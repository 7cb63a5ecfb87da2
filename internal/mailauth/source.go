package mailauth

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/oauth2/jwt"
)

// Token is an access token for signing in to IMAP or SMTP.
type Token struct {
	AccessToken string
	// Expiry is when the provider said the token ends (zero: it did not
	// say). RenewAt is when the Source hands out a fresh one instead: a
	// connection signed in with this token should be re-opened by then.
	Expiry, RenewAt time.Time
}

// TokenStore keeps the refresh token of the device code flow (in production
// casefile/sqlite's MailTokens, also a RefreshLocker). Microsoft hands out a new refresh token with
// every renewal and each lives 90 days from its last use: Save is called with
// every new one, so the newest is what a restarted service loads.
type TokenStore interface {
	// Load returns the stored refresh token, "" when there is none.
	Load(ctx context.Context) (string, error)
	Save(ctx context.Context, refresh string) error
}

// RefreshLocker is a TokenStore that several processes share: `trigger
// serve` and a command such as `trigger mail check` on one database. Each
// use of a refresh token rotates it, and a provider may refuse the old one
// once it has issued the new one (Entra ID keeps it valid a while; others
// do not, and oauthemu does not), so two processes redeeming the same
// refresh token at once could leave one of them signed out. When the Store
// is a RefreshLocker, a renewal holds its lock from loading the refresh
// token until the new one is saved: the second process waits, then loads
// the token the first one saved.
type RefreshLocker interface {
	// LockRefresh waits for the lock (or ctx) and returns the function
	// that releases it.
	LockRefresh(ctx context.Context) (unlock func(), err error)
}

// Options are a Source's collaborators and knobs.
type Options struct {
	// Protocols the tokens are for, which decide the default delegated
	// scopes (both when empty). Login and the Source of one configuration
	// must be given the same.
	Protocols []Protocol
	// Store keeps the refresh token: required for the device code flow.
	Store TokenStore
	// HTTPClient talks to the token endpoint; default a client with a 30s
	// timeout.
	HTTPClient *http.Client
	// Margin is how long before its expiry a token is renewed: default 5
	// minutes, at most half a token's lifetime.
	Margin time.Duration
	// Now is the clock; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger

	pollWait func(ctx context.Context, d time.Duration) error // device code polling (tests shorten it)
}

func (o *Options) defaults() {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Margin <= 0 {
		o.Margin = 5 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.pollWait == nil {
		o.pollWait = sleep
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Source hands out access tokens for one [oauth2] configuration, shared by
// the IMAP reader and the SMTP sender. It caches the token and renews it
// Margin before it expires, or at once after Invalidate; one renewal runs at
// a time, and callers waiting for it get its token. It is safe for
// concurrent use.
type Source struct {
	cfg   Config
	opts  Options
	fetch func(ctx context.Context) (*oauth2.Token, error)
	// credentialExpiry is when the certificate ends (zero: not known).
	credentialExpiry time.Time

	renewing chan struct{} // a one-slot lock that respects contexts
	mu       sync.Mutex
	cur      Token

	renewals, failures, refusals atomic.Int64
}

// NewSource checks cfg and returns a Source for it.
func NewSource(cfg Config, o Options) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o.defaults()
	s := &Source{cfg: cfg, opts: o, renewing: make(chan struct{}, 1)}
	tokenURL, _ := cfg.Endpoint()
	scopes := cfg.scopes(o.Protocols)
	switch {
	case cfg.Provider == Google:
		sa, _ := parseServiceAccount(cfg.ServiceAccountJSON) // Validate parsed it
		jc := &jwt.Config{
			Email: sa.ClientEmail, PrivateKey: []byte(sa.PrivateKey), PrivateKeyID: sa.PrivateKeyID,
			Subject: cfg.Subject, Scopes: scopes, TokenURL: tokenURL,
		}
		s.fetch = func(ctx context.Context) (*oauth2.Token, error) { return jc.TokenSource(ctx).Token() }
	case cfg.flow() == DeviceCode:
		if o.Store == nil {
			return nil, errors.New("mailauth: the device code flow needs a TokenStore for the refresh token")
		}
		r := &refresher{s: s, tokenURL: tokenURL, scopes: scopes}
		s.fetch = r.refresh
	case cfg.CertificatePEM != "":
		cert, _ := parseCertificate(cfg.CertificatePEM) // Validate parsed it
		s.credentialExpiry = cert.cert.NotAfter
		s.fetch = func(ctx context.Context) (*oauth2.Token, error) {
			a, err := cert.assertion(cfg.ClientID, tokenURL, o.Now())
			if err != nil {
				return nil, err
			}
			cc := clientcredentials.Config{
				ClientID: cfg.ClientID, TokenURL: tokenURL, Scopes: scopes, AuthStyle: oauth2.AuthStyleInParams,
				EndpointParams: url.Values{
					"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
					"client_assertion":      {a},
				},
			}
			return cc.Token(ctx)
		}
	default: // client secret: microsoft or custom
		style := oauth2.AuthStyleInParams
		if cfg.Provider == Custom {
			style = oauth2.AuthStyleAutoDetect
		}
		cc := &clientcredentials.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenURL: tokenURL, Scopes: scopes, AuthStyle: style}
		s.fetch = cc.Token
	}
	return s, nil
}

// Config returns the configuration the Source was made from.
func (s *Source) Config() Config { return s.cfg }

// Token returns a token valid for at least the margin: the cached one, or a
// fresh one. Its error is an *Error saying what to do.
func (s *Source) Token(ctx context.Context) (Token, error) {
	if t, ok := s.cached(); ok {
		return t, nil
	}
	select {
	case s.renewing <- struct{}{}:
	case <-ctx.Done():
		return Token{}, ctx.Err()
	}
	defer func() { <-s.renewing }()
	if t, ok := s.cached(); ok {
		return t, nil // renewed while we waited
	}
	start := s.opts.Now()
	ot, err := s.fetch(context.WithValue(ctx, oauth2.HTTPClient, s.opts.HTTPClient))
	if err == nil && ot.AccessToken == "" {
		err = errors.New("the token endpoint answered without an access_token")
	}
	if err != nil && ctx.Err() != nil {
		return Token{}, ctx.Err() // shutting down: not a failure of the provider
	}
	if err != nil {
		s.failures.Add(1)
		err = translate("get a token", s.cfg.Provider, err)
		s.opts.Logger.Warn("oauth2: no token", "provider", s.cfg.Provider, "code", ErrorCode(err), "err", err)
		return Token{}, err
	}
	t := Token{AccessToken: ot.AccessToken}
	switch secs := expiresIn(ot); {
	case secs > 0:
		t.Expiry = start.Add(time.Duration(secs) * time.Second)
	case !ot.Expiry.IsZero():
		t.Expiry = ot.Expiry
	}
	if !t.Expiry.IsZero() {
		t.RenewAt = t.Expiry.Add(-min(s.opts.Margin, t.Expiry.Sub(start)/2))
	}
	s.mu.Lock()
	s.cur = t
	s.mu.Unlock()
	s.renewals.Add(1)
	s.opts.Logger.Debug("oauth2: token renewed", "provider", s.cfg.Provider, "expiry", t.Expiry)
	return t, nil
}

// expiresIn is the token's lifetime in seconds as the endpoint said it
// (clientcredentials leaves it in the raw fields), 0 when it did not.
func expiresIn(t *oauth2.Token) int64 {
	if t.ExpiresIn > 0 {
		return t.ExpiresIn
	}
	switch v := t.Extra("expires_in").(type) {
	case float64:
		return int64(v)
	case string: // some endpoints send a string
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return 0
}

func (s *Source) cached() (Token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.cur
	ok := t.AccessToken != "" && (t.RenewAt.IsZero() || s.opts.Now().Before(t.RenewAt))
	return t, ok
}

// Invalidate drops the cached token after a server refused it, so the next
// Token renews. rejected is the refused token: when the cache already holds
// a newer one (another connection renewed first) nothing is dropped, so two
// connections refused at once cause one renewal. "" drops whatever is cached.
func (s *Source) Invalidate(rejected string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rejected == "" || s.cur.AccessToken == rejected {
		s.cur = Token{}
	}
}

// SignIn runs try with a token. When the server refuses it (try's error
// IsRefused), the token is invalidated and try runs once more with a fresh
// one: the server may know the token was revoked before its expiry. try
// must sign in on a connection of its own each time (an IMAP connection
// whose AUTHENTICATE failed is closed).
func (s *Source) SignIn(ctx context.Context, try func(Token) error) error {
	t, err := s.Token(ctx)
	if err != nil {
		return err
	}
	err = try(t)
	if err == nil || !IsRefused(err) {
		return err
	}
	s.refusals.Add(1)
	s.Invalidate(t.AccessToken)
	fresh, terr := s.Token(ctx)
	if terr != nil {
		return fmt.Errorf("%w; and renewing the token: %w", err, terr)
	}
	if err = try(fresh); err != nil && IsRefused(err) {
		s.refusals.Add(1)
	}
	return err
}

// OAuth2 returns the Source as an oauth2.TokenSource, for clients that take
// one (internal/graph's): a token expires for it at RenewAt, so that a
// client checking Valid asks again in time, and a token the server refused
// is passed on to Invalidate and counted among the refusals.
func (s *Source) OAuth2() oauth2.TokenSource { return sourceTokens{s} }

type sourceTokens struct{ s *Source }

func (t sourceTokens) Token() (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tok, err := t.s.Token(ctx)
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: tok.AccessToken, TokenType: "Bearer", Expiry: cmp.Or(tok.RenewAt, tok.Expiry)}, nil
}

// Invalidate drops a token the server refused (see Source.Invalidate).
func (t sourceTokens) Invalidate(rejected string) {
	t.s.refusals.Add(1)
	t.s.Invalidate(rejected)
}

// Renewals counts the tokens obtained, Failures the attempts that got none,
// Refusals the sign-ins a server refused (for /metrics).
func (s *Source) Renewals() int64 { return s.renewals.Load() }
func (s *Source) Failures() int64 { return s.failures.Load() }
func (s *Source) Refusals() int64 { return s.refusals.Load() }

// CredentialExpiry is when the credential itself ends, so it can be renewed
// ahead: the certificate's NotAfter. It is zero for a client secret (the
// token endpoints never say when a secret expires: Microsoft's token
// response has no such field; only an expired secret's AADSTS7000222 tells)
// and for a Google key.
func (s *Source) CredentialExpiry() time.Time { return s.credentialExpiry }

// refresher renews tokens of the device code flow with the stored refresh
// token, and stores each new one.
type refresher struct {
	s        *Source
	tokenURL string
	scopes   []string
	// unsaved is a refresh token the store failed to keep: used (and saved
	// again) next time, since the provider may refuse the older one.
	unsaved string
}

func (r *refresher) refresh(ctx context.Context) (*oauth2.Token, error) {
	if l, ok := r.s.opts.Store.(RefreshLocker); ok {
		unlock, err := l.LockRefresh(ctx)
		if err != nil {
			return nil, &Error{Op: "lock the refresh token", Provider: r.s.cfg.Provider, Code: CodeStore, Temporary: true, Err: err,
				Advice: "Another process sharing the database holds the sign-in's lock, or the database did not answer; the service retries."}
		}
		defer unlock()
	}
	rt := r.unsaved
	if rt == "" {
		var err error
		if rt, err = r.s.opts.Store.Load(ctx); err != nil {
			return nil, &Error{Op: "load the refresh token", Provider: r.s.cfg.Provider, Code: CodeStore, Temporary: true, Err: err,
				Advice: "The stored sign-in could not be read from the database; the service retries."}
		}
	}
	if rt == "" {
		return nil, &Error{Op: "get a token", Provider: r.s.cfg.Provider, Code: CodeNotSignedIn,
			Advice: "Nobody has signed in yet: run `trigger mail login`."}
	}
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {r.s.cfg.ClientID},
		"refresh_token": {rt},
	}
	if len(r.scopes) > 0 {
		form.Set("scope", strings.Join(r.scopes, " "))
	}
	t, err := postToken(ctx, r.s.opts.HTTPClient, r.tokenURL, form)
	if err != nil {
		return nil, err
	}
	if t.RefreshToken != "" && t.RefreshToken != rt {
		if err := r.s.opts.Store.Save(ctx, t.RefreshToken); err != nil {
			r.unsaved = t.RefreshToken
			r.s.opts.Logger.Error("oauth2: the new refresh token could not be stored; kept in memory and stored again at the next renewal", "err", err)
		} else {
			r.unsaved = ""
		}
	}
	return t, nil
}

// postToken POSTs form to a token endpoint and reads the answer: a token,
// or an *oauth2.RetrieveError with the endpoint's error fields.
func postToken(ctx context.Context, hc *http.Client, tokenURL string, form url.Values) (*oauth2.Token, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read the token endpoint's answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		re := &oauth2.RetrieveError{Response: resp, Body: body}
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
			URI         string `json:"error_uri"`
		}
		if json.Unmarshal(body, &e) == nil {
			re.ErrorCode, re.ErrorDescription, re.ErrorURI = e.Error, e.Description, e.URI
		}
		return nil, re
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct != "application/json" {
		return nil, fmt.Errorf("the token endpoint answered %q, not JSON", ct)
	}
	var tj struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tj); err != nil {
		return nil, fmt.Errorf("the token endpoint's answer does not parse: %w", err)
	}
	t := &oauth2.Token{AccessToken: tj.AccessToken, TokenType: tj.TokenType, RefreshToken: tj.RefreshToken, ExpiresIn: tj.ExpiresIn}
	if tj.ExpiresIn > 0 {
		t.Expiry = time.Now().Add(time.Duration(tj.ExpiresIn) * time.Second)
	}
	return t, nil
}
