package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csp/trigger/internal/dovecot"
	"github.com/csp/trigger/internal/oauthemu"
	"github.com/csp/trigger/mailout/mailsink"
)

// The council's app registration as the tests configure it.
const (
	testTenant = "example-council.onmicrosoft.com"
	testClient = "00000000-1111-2222-3333-444444444444"
	testSecret = "Qx8Q~s3cr3t-value-not-the-id"
)

// oauthWorld is what `mail check` and `serve` sign in to in these tests: an
// OAuth emulator (Entra ID), a real Dovecot whose oauth2 passdb asks the
// emulator about tokens, and a go-smtp server that checks them (XOAUTH2 as
// Exchange and Gmail run it).
type oauthWorld struct {
	emu  *oauthemu.Server
	url  string
	dove *dovecot.Server
	sink *mailsink.Sink
	dir  string
}

func newOAuthWorld(t *testing.T) *oauthWorld {
	t.Helper()
	w := &oauthWorld{emu: oauthemu.New(), dir: t.TempDir()}
	w.emu.TokenSize = 5000 // Microsoft's pass 4 KB
	hs := httptest.NewServer(w.emu)
	t.Cleanup(hs.Close)
	w.url = hs.URL
	d, err := dovecot.StartWith(t.TempDir(), dovecot.Options{IntrospectionURL: hs.URL + "/introspect"})
	if errors.Is(err, dovecot.ErrNotInstalled) {
		t.Skip(err.Error() + " to run this test")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Close()
		if t.Failed() {
			t.Logf("dovecot log:\n%s", d.Log())
		}
	})
	w.dove = d
	w.sink, err = mailsink.Start(mailsink.Options{Quiet: true, VerifyToken: w.emu.Verify})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.sink.Close() })
	return w
}

// app registers an app whose app-only tokens open mailbox.
func (w *oauthWorld) app(clientID, mailbox string) {
	w.emu.AddApp(oauthemu.App{Tenant: testTenant, ClientID: clientID, Secret: testSecret, Mailbox: mailbox, PublicClient: true})
}

// config writes trigger.toml signing in to Dovecot (IMAP) and the sink
// (SMTP) with tokens of clientID, and returns its path. extra is appended.
func (w *oauthWorld) config(t *testing.T, clientID, extra string) string {
	t.Helper()
	body := fmt.Sprintf(`[imap]
address = %q
tls = "none"
auth = "oauth2"
username = %q

[smtp]
address = %q
tls = "none"
auth = "oauth2"
username = %q
from = "Community Trigger <%s@localhost>"

[oauth2]
provider = "microsoft"
tenant = %q
client_id = %q
%s`, w.dove.Addr, dovecot.User, w.sink.Addr(), dovecot.User, dovecot.User, testTenant, clientID, extra)
	p := filepath.Join(t.TempDir(), "trigger.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// run runs the trigger command against this world's token endpoint.
func (w *oauthWorld) run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }, oauthBaseURL: w.url}
	code := m.Run(context.Background(), append([]string{"--db", filepath.Join(w.dir, "trigger.db")}, args...))
	return code, out.String(), errb.String()
}

var secretEnv = map[string]string{"TRIGGER_OAUTH2_CLIENT_SECRET": testSecret}

// noSecrets fails the test if a secret shows in what a command printed.
func noSecrets(t *testing.T, printed string, secrets ...string) {
	t.Helper()
	for _, s := range append(secrets, testSecret) {
		if s != "" && strings.Contains(printed, s) {
			t.Errorf("a secret was printed: …%s…", s[:min(8, len(s))])
		}
	}
}
