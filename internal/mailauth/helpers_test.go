package mailauth_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csp/trigger/internal/mailauth"
	"github.com/csp/trigger/internal/oauthemu"
)

const (
	tenant   = "contoso.onmicrosoft.com"
	clientID = "00000000-1111-2222-3333-444444444444"
	secret   = "Qx8Q~s3cr3t-value-not-the-id"
	mailbox  = "communitytrigger@contoso.example"
)

// emulator is an oauthemu server on a loopback port.
type emulator struct {
	*oauthemu.Server
	URL string
}

func startEmulator(tb testing.TB) *emulator {
	tb.Helper()
	e := oauthemu.New()
	srv := httptest.NewServer(e)
	tb.Cleanup(srv.Close)
	return &emulator{Server: e, URL: srv.URL}
}

// microsoftApp registers the app a Microsoft configuration names.
func (e *emulator) microsoftApp(a oauthemu.App) oauthemu.App {
	if a.Tenant == "" {
		a.Tenant = tenant
	}
	if a.ClientID == "" {
		a.ClientID = clientID
	}
	if a.Mailbox == "" {
		a.Mailbox = mailbox
	}
	e.AddApp(a)
	return a
}

func (e *emulator) microsoftConfig() mailauth.Config {
	return mailauth.Config{Provider: mailauth.Microsoft, Tenant: tenant, ClientID: clientID, ClientSecret: secret, BaseURL: e.URL}
}

func mustSource(tb testing.TB, cfg mailauth.Config, o mailauth.Options) *mailauth.Source {
	tb.Helper()
	if o.Logger == nil {
		o.Logger = testLogger(tb)
	}
	s, err := mailauth.NewSource(cfg, o)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// clock is a test clock: the real time moved by Advance, so that tokens
// whose expiry x/oauth2 reckons from the real clock stay comparable.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// memStore is a TokenStore in memory, with a history of what was saved.
type memStore struct {
	mu    sync.Mutex
	saved []string
}

func (m *memStore) Load(context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.saved) == 0 {
		return "", nil
	}
	return m.saved[len(m.saved)-1], nil
}

func (m *memStore) Save(_ context.Context, rt string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.saved = append(m.saved, rt)
	return nil
}

func (m *memStore) history() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.saved...)
}

func wantCode(tb testing.TB, err error, code string) *mailauth.Error {
	tb.Helper()
	if err == nil {
		tb.Fatalf("no error; want %s", code)
	}
	var e *mailauth.Error
	if !errors.As(err, &e) {
		tb.Fatalf("error %v (%T) is not a *mailauth.Error; want %s", err, err, code)
	}
	if e.Code != code {
		tb.Fatalf("code %s (%v); want %s", e.Code, err, code)
	}
	if e.Advice == "" {
		tb.Errorf("error %v has no advice", err)
	}
	return e
}

func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
