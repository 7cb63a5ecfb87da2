package mailauth_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csp/trigger/internal/mailauth"
	"github.com/csp/trigger/internal/oauthemu"
)

const officer = "officer@contoso.example"

func (e *emulator) deviceConfig() mailauth.Config {
	return mailauth.Config{Provider: mailauth.Microsoft, Flow: mailauth.DeviceCode, Tenant: tenant, ClientID: clientID, BaseURL: e.URL}
}

// approver is the login's output: when the code is printed, it signs the
// officer in at the emulator, as the person would in a browser.
type approver struct {
	e    *emulator
	user string
	mu   sync.Mutex
	out  bytes.Buffer
	err  error
}

var codeRE = regexp.MustCompile(`enter the code ([A-Z0-9]+)`)

func (a *approver) Write(b []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.out.Write(b)
	if m := codeRE.FindSubmatch(b); m != nil && a.user != "" {
		a.err = a.e.Approve(string(m[1]), a.user)
	}
	return len(b), nil
}

func (a *approver) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.out.String()
}

// login runs the device code login with polls that do not wait, and
// returns the waits asked for.
func login(t *testing.T, e *emulator, store mailauth.TokenStore, out *approver, o mailauth.Options) ([]time.Duration, error) {
	t.Helper()
	var waits []time.Duration
	o.Store = store
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	mailauth.SetPollWait(&o, func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		if len(waits) > 50 {
			t.Fatal("still polling after 50 polls")
		}
		return ctx.Err()
	})
	err := mailauth.Login(context.Background(), e.deviceConfig(), o, out)
	if out.err != nil {
		t.Fatal(out.err)
	}
	return waits, err
}

func TestDeviceCode(t *testing.T) {
	t.Run("LoginThenRotationAcrossARestart", func(t *testing.T) {
		e := startEmulator(t)
		e.microsoftApp(oauthemu.App{PublicClient: true})
		store := &memStore{}
		out := &approver{e: e, user: officer}
		if _, err := login(t, e, store, out, mailauth.Options{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "open https://microsoft.com/devicelogin and enter the code") || !strings.Contains(out.String(), "Signed in") {
			t.Errorf("login printed:\n%s", out)
		}
		saved := store.history()
		if len(saved) != 1 {
			t.Fatalf("%d refresh tokens saved at login; want 1", len(saved))
		}
		dc := e.Requests()[0].Form
		if dc.Get("scope") != "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access" {
			t.Errorf("device code scope = %q", dc.Get("scope"))
		}

		// The service: its first token rotates the refresh token.
		src := mustSource(t, e.deviceConfig(), mailauth.Options{Store: store})
		tok, err := src.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if user, ok := e.TokenUser(tok.AccessToken); !ok || user != officer {
			t.Errorf("token for %q (active %v); want the officer's", user, ok)
		}
		saved = store.history()
		if len(saved) != 2 || saved[1] == saved[0] {
			t.Fatalf("after a renewal %d refresh tokens saved; want the rotated one too", len(saved))
		}

		// A restart: a new Source on the same store uses the rotated token.
		restarted := mustSource(t, e.deviceConfig(), mailauth.Options{Store: store})
		if _, err := restarted.Token(context.Background()); err != nil {
			t.Fatalf("after a restart: %v", err)
		}
		last := e.Requests()[len(e.Requests())-1]
		if last.Form.Get("refresh_token") != saved[1] {
			t.Error("the restarted source did not use the rotated refresh token")
		}
		if len(store.history()) != 3 {
			t.Errorf("%d saved; want the third rotation stored", len(store.history()))
		}

		// A service that kept the login's refresh token is refused.
		stale := &memStore{saved: []string{saved[0]}}
		_, err = mustSource(t, e.deviceConfig(), mailauth.Options{Store: stale}).Token(context.Background())
		wantCode(t, err, mailauth.CodeGrantRevoked)
	})

	t.Run("NinetyDaysUnused", func(t *testing.T) {
		e := startEmulator(t)
		e.microsoftApp(oauthemu.App{PublicClient: true})
		store := &memStore{}
		if _, err := login(t, e, store, &approver{e: e, user: officer}, mailauth.Options{}); err != nil {
			t.Fatal(err)
		}
		// Used every 89 days, it lives on: each use restarts the 90 days.
		for range 3 {
			e.Advance(89 * 24 * time.Hour)
			if _, err := mustSource(t, e.deviceConfig(), mailauth.Options{Store: store}).Token(context.Background()); err != nil {
				t.Fatalf("after 89 days: %v", err)
			}
		}
		e.Advance(90 * 24 * time.Hour)
		_, err := mustSource(t, e.deviceConfig(), mailauth.Options{Store: store}).Token(context.Background())
		me := wantCode(t, err, mailauth.CodeRefreshExpired)
		if me.ProviderCode != "AADSTS700082" || !strings.Contains(me.Advice, "trigger mail login") {
			t.Errorf("error %v, advice %q", err, me.Advice)
		}
	})

	t.Run("NotSignedIn", func(t *testing.T) {
		e := startEmulator(t)
		e.microsoftApp(oauthemu.App{PublicClient: true})
		_, err := mustSource(t, e.deviceConfig(), mailauth.Options{Store: &memStore{}}).Token(context.Background())
		if me := wantCode(t, err, mailauth.CodeNotSignedIn); !strings.Contains(me.Advice, "trigger mail login") {
			t.Errorf("advice %q", me.Advice)
		}
	})

	t.Run("PendingAndSlowDown", func(t *testing.T) {
		e := startEmulator(t)
		e.microsoftApp(oauthemu.App{PublicClient: true})
		e.SlowDown(2)
		waits, err := login(t, e, &memStore{}, &approver{e: e, user: officer}, mailauth.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := []time.Duration{5 * time.Second, 10 * time.Second, 15 * time.Second}
		if len(waits) != 3 || waits[0] != want[0] || waits[1] != want[1] || waits[2] != want[2] {
			t.Errorf("waited %v; want %v (the server's 5s, then 5s more per slow_down)", waits, want)
		}
	})

	t.Run("CodeExpires", func(t *testing.T) {
		e := startEmulator(t)
		e.microsoftApp(oauthemu.App{PublicClient: true})
		polls := 0
		o := mailauth.Options{}
		store := &memStore{}
		out := &approver{e: e} // nobody signs in
		mailauth.SetPollWait(&o, func(ctx context.Context, d time.Duration) error {
			polls++
			e.Advance(4 * time.Minute)
			return nil
		})
		o.Store, o.Now, o.Logger = store, e.Now, testLogger(t)
		err := mailauth.Login(context.Background(), e.deviceConfig(), o, out)
		wantCode(t, err, mailauth.CodeDeviceCodeExpired)
		if len(store.history()) != 0 || polls < 3 {
			t.Errorf("saved %d, polled %d times", len(store.history()), polls)
		}
	})

	t.Run("ServerSaysExpired", func(t *testing.T) {
		e := startEmulator(t)
		e.microsoftApp(oauthemu.App{PublicClient: true})
		o := mailauth.Options{Store: &memStore{}, Logger: testLogger(t)}
		mailauth.SetPollWait(&o, func(ctx context.Context, d time.Duration) error {
			e.Advance(16 * time.Minute) // the service's clock is behind the server's
			return nil
		})
		err := mailauth.Login(context.Background(), e.deviceConfig(), o, &approver{e: e})
		if me := wantCode(t, err, mailauth.CodeDeviceCodeExpired); me.ProviderCode != "AADSTS70019" {
			t.Errorf("provider code %q", me.ProviderCode)
		}
	})

	t.Run("Declined", func(t *testing.T) {
		e := startEmulator(t)
		e.microsoftApp(oauthemu.App{PublicClient: true})
		o := mailauth.Options{Store: &memStore{}, Logger: testLogger(t)}
		out := &approver{e: e}
		mailauth.SetPollWait(&o, func(ctx context.Context, d time.Duration) error {
			if m := codeRE.FindStringSubmatch(out.String()); m != nil {
				e.Decline(m[1])
			}
			return nil
		})
		err := mailauth.Login(context.Background(), e.deviceConfig(), o, out)
		wantCode(t, err, mailauth.CodeDeclined)
	})

	t.Run("PublicClientFlowsOff", func(t *testing.T) {
		e := startEmulator(t)
		e.microsoftApp(oauthemu.App{PublicClient: false})
		_, err := login(t, e, &memStore{}, &approver{e: e, user: officer}, mailauth.Options{})
		if me := wantCode(t, err, mailauth.CodePublicClientDisabled); !strings.Contains(me.Advice, "Allow public client flows") {
			t.Errorf("advice %q", me.Advice)
		}
	})

	t.Run("PasswordReset", func(t *testing.T) {
		e := startEmulator(t)
		e.microsoftApp(oauthemu.App{PublicClient: true})
		store := &memStore{}
		if _, err := login(t, e, store, &approver{e: e, user: officer}, mailauth.Options{}); err != nil {
			t.Fatal(err)
		}
		e.RevokeSignIns(officer)
		_, err := mustSource(t, e.deviceConfig(), mailauth.Options{Store: store}).Token(context.Background())
		if me := wantCode(t, err, mailauth.CodeGrantRevoked); me.ProviderCode != "AADSTS50173" {
			t.Errorf("provider code %q", me.ProviderCode)
		}
	})

	t.Run("IMAPOnlyScopes", func(t *testing.T) {
		e := startEmulator(t)
		e.microsoftApp(oauthemu.App{PublicClient: true})
		if _, err := login(t, e, &memStore{}, &approver{e: e, user: officer}, mailauth.Options{Protocols: []mailauth.Protocol{mailauth.IMAP}}); err != nil {
			t.Fatal(err)
		}
		if form := e.Requests()[0].Form; form.Get("scope") != "https://outlook.office.com/IMAP.AccessAsUser.All offline_access" {
			t.Errorf("scope = %q", form.Get("scope"))
		}
	})
}

// TestSharedStore: `trigger serve` and a command such as `trigger mail
// check` renew from one database at the same time. The emulator refuses a
// refresh token once it has been used, as a strict provider does.
func TestSharedStore(t *testing.T) {
	signedIn := func(t *testing.T) (*emulator, string) {
		e := startEmulator(t)
		e.microsoftApp(oauthemu.App{PublicClient: true})
		store := &memStore{}
		if _, err := login(t, e, store, &approver{e: e, user: officer}, mailauth.Options{}); err != nil {
			t.Fatal(err)
		}
		rt, _ := store.Load(context.Background())
		return e, rt
	}
	renewBoth := func(t *testing.T, e *emulator, store mailauth.TokenStore) []error {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			src := mustSource(t, e.deviceConfig(), mailauth.Options{Store: store})
			wg.Go(func() { _, errs[i] = src.Token(context.Background()) })
		}
		wg.Wait()
		return errs
	}

	t.Run("WithoutALockOneIsSignedOut", func(t *testing.T) {
		// Why the lock: both load the same refresh token, and the
		// provider honours it once.
		e, rt := signedIn(t)
		store := &racyStore{token: rt, loaded: make(chan struct{})}
		errs := renewBoth(t, e, store)
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("errors %v; want exactly one renewal refused", errs)
		}
	})

	t.Run("WithTheLockBothRenew", func(t *testing.T) {
		e, rt := signedIn(t)
		store := &lockingStore{t: t, token: rt, lock: make(chan struct{}, 1)}
		for _, err := range renewBoth(t, e, store) {
			if err != nil {
				t.Fatalf("a renewal failed: %v", err)
			}
		}
		// The second renewal used the refresh token the first one saved.
		var used []string
		for _, r := range e.Requests() {
			if r.Grant == oauthemu.GrantRefreshToken {
				used = append(used, r.Form.Get("refresh_token"))
			}
		}
		if len(used) != 2 || used[0] != rt || used[1] == rt || len(store.saved) != 2 || used[1] != store.saved[0] {
			t.Errorf("refresh tokens used %d, saved %d: the second renewal did not load the first one's token", len(used), len(store.saved))
		}
	})
}

// racyStore hands the same refresh token to two renewals: Load waits until
// both have loaded.
type racyStore struct {
	mu     sync.Mutex
	token  string
	loads  int
	loaded chan struct{}
}

func (s *racyStore) Load(ctx context.Context) (string, error) {
	s.mu.Lock()
	s.loads++
	if s.loads == 2 {
		close(s.loaded)
	}
	rt := s.token
	s.mu.Unlock()
	select {
	case <-s.loaded:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return rt, nil
}

func (s *racyStore) Save(_ context.Context, rt string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = rt
	return nil
}

// lockingStore is a RefreshLocker that fails the test when the token is
// loaded or saved without its lock held.
type lockingStore struct {
	t     *testing.T
	mu    sync.Mutex
	token string
	saved []string
	lock  chan struct{}
}

func (s *lockingStore) LockRefresh(ctx context.Context) (func(), error) {
	select {
	case s.lock <- struct{}{}:
		return func() { <-s.lock }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *lockingStore) held(op string) {
	if len(s.lock) == 0 {
		s.t.Errorf("%s without the refresh lock", op)
	}
}

func (s *lockingStore) Load(context.Context) (string, error) {
	s.held("Load")
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token, nil
}

func (s *lockingStore) Save(_ context.Context, rt string) error {
	s.held("Save")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = rt
	s.saved = append(s.saved, rt)
	return nil
}
