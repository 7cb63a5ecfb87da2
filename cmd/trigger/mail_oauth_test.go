package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/csp/trigger/casefile/config"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/internal/dovecot"
	"github.com/csp/trigger/internal/testcert"
	"github.com/csp/trigger/mailin/memimap"
)

// checkResult is `mail check --json`.
type checkResult struct {
	OK    bool        `json:"ok"`
	Steps []checkStep `json:"steps"`
}

func (r checkResult) step(t *testing.T, name string) checkStep {
	t.Helper()
	s, ok := r.find(name)
	if !ok {
		t.Fatalf("no step %q in %+v", name, r.Steps)
	}
	return s
}

func (r checkResult) find(name string) (checkStep, bool) {
	for _, s := range r.Steps {
		if s.Step == name {
			return s, true
		}
	}
	return checkStep{}, false
}

func (w *oauthWorld) check(t *testing.T, configPath string, env map[string]string) (int, checkResult, string) {
	t.Helper()
	code, out, stderr := w.run(t, env, "--config", configPath, "mail", "check", "--json")
	var r checkResult
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("mail check --json printed no JSON object (%v):\n%s\n%s", err, out, stderr)
	}
	if dec.More() {
		t.Fatalf("mail check --json printed more than one object:\n%s", out)
	}
	return code, r, stderr
}

func TestMailCheck(t *testing.T) {
	w := newOAuthWorld(t)

	t.Run("OK", func(t *testing.T) {
		w.app("app-ok", dovecot.User)
		cfg := w.config(t, "app-ok", "")
		code, r, stderr := w.check(t, cfg, secretEnv)
		if code != 0 || !r.OK {
			t.Fatalf("exit %d, ok %v: %+v\n%s", code, r.OK, r.Steps, stderr)
		}
		var names []string
		for _, s := range r.Steps {
			names = append(names, s.Step)
			if !s.OK || s.Detail == "" {
				t.Errorf("step %+v", s)
			}
		}
		want := "imap resolve, imap connect, imap tls, oauth2 token, imap sign-in, imap capabilities, imap mailbox, imap folder processed, imap folder quarantine, smtp resolve, smtp connect, smtp tls, smtp sign-in, smtp sender"
		if got := strings.Join(names, ", "); got != want {
			t.Errorf("steps\n%s\nwant\n%s", got, want)
		}
		for step, detail := range map[string]string{
			"imap tls":               "skipped",
			"smtp tls":               "skipped",
			"imap sign-in":           "signed in as ct with XOAUTH2",
			"imap capabilities":      "IDLE yes, MOVE yes, UIDPLUS yes",
			"imap folder processed":  "Processed was missing and has been created",
			"imap folder quarantine": "Quarantine was missing and has been created",
			"smtp sign-in":           "signed in as ct with XOAUTH2",
			"smtp sender":            "MAIL FROM:<ct@localhost>",
		} {
			if s := r.step(t, step); !strings.Contains(s.Detail, detail) {
				t.Errorf("%s: %q; want it to say %q", step, s.Detail, detail)
			}
		}
		if n := len(w.sink.Messages()); n != 0 {
			t.Errorf("mail check sent %d messages", n)
		}

		// Again, in text: the folders exist now.
		code, out, _ := w.run(t, secretEnv, "--config", cfg, "mail", "check")
		if code != 0 || !strings.Contains(out, "✓ imap folder processed: Processed exists") || !strings.Contains(out, "✓ imap tls: skipped") ||
			!strings.Contains(out, "mail check: all 14 steps passed") || strings.Contains(out, "✗") {
			t.Errorf("exit %d:\n%s", code, out)
		}
		noSecrets(t, out)
	})

	t.Run("ExpiredSecret", func(t *testing.T) {
		w.app("app-expired", dovecot.User)
		w.emu.ExpireSecret("app-expired")
		code, r, stderr := w.check(t, w.config(t, "app-expired", ""), secretEnv)
		if code != 1 || r.OK || !strings.Contains(stderr, "steps failed") {
			t.Fatalf("exit %d, ok %v, stderr %q", code, r.OK, stderr)
		}
		tok := r.step(t, "oauth2 token")
		if tok.OK || !strings.Contains(tok.Detail, "AADSTS7000222") || !strings.Contains(tok.Detail, "What to do: The client secret has expired. Add a new client secret") {
			t.Errorf("oauth2 token: %+v", tok)
		}
		for _, name := range []string{"imap sign-in", "smtp sign-in"} {
			if s := r.step(t, name); s.OK || !strings.Contains(s.Detail, "not tried") {
				t.Errorf("%s: %+v", name, s)
			}
		}
		if s := r.step(t, "imap connect"); !s.OK {
			t.Errorf("the steps before the token failed too: %+v", s)
		}
	})

	t.Run("AppNotFound", func(t *testing.T) {
		code, r, _ := w.check(t, w.config(t, "no-such-app", ""), secretEnv)
		tok := r.step(t, "oauth2 token")
		if code != 1 || tok.OK || !strings.Contains(tok.Detail, "AADSTS700016") || !strings.Contains(tok.Detail, "No application with this oauth2.client_id exists in the tenant") {
			t.Errorf("exit %d, oauth2 token: %+v", code, tok)
		}
	})

	t.Run("TokenForAnotherMailbox", func(t *testing.T) {
		// The app gets a token, but Exchange has not given it this
		// mailbox (no service principal, no Add-MailboxPermission):
		// both servers refuse it.
		w.app("app-other", "someone.else")
		code, r, _ := w.check(t, w.config(t, "app-other", ""), secretEnv)
		if code != 1 || !r.step(t, "oauth2 token").OK {
			t.Fatalf("exit %d: %+v", code, r.Steps)
		}
		in := r.step(t, "imap sign-in")
		if in.OK || !strings.Contains(in.Detail, "the service principal or mailbox permission is missing") || !strings.Contains(in.Detail, "New-ServicePrincipal") || !strings.Contains(in.Detail, "Add-MailboxPermission") {
			t.Errorf("imap sign-in: %+v", in)
		}
		out := r.step(t, "smtp sign-in")
		if out.OK || !strings.Contains(out.Detail, "535") || !strings.Contains(out.Detail, "Add-RecipientPermission") {
			t.Errorf("smtp sign-in: %+v", out)
		}
		for _, name := range []string{"imap capabilities", "smtp sender"} {
			if _, ok := r.find(name); ok {
				t.Errorf("%s was checked after a refused sign-in", name)
			}
		}
	})

	t.Run("FetchOnce", func(t *testing.T) {
		// mail fetch signs in with the same Source as serve.
		w.app("app-fetch", dovecot.User)
		c := w.dovecotIMAP(t)
		w.deliver(t, c, applications("fetch", 1)[0].raw)
		code, out, stderr := w.run(t, secretEnv, "--config", w.config(t, "app-fetch", ""), "mail", "fetch", "--once")
		if code != 0 || !strings.HasPrefix(out, "1 message ") || !strings.Contains(out, "created 1") {
			t.Fatalf("exit %d: %s\n%s", code, out, stderr)
		}
		if in := w.inbox(t, c); in != 0 {
			t.Errorf("INBOX holds %d after the fetch", in)
		}
		noSecrets(t, out+stderr)
	})

	t.Run("Password", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "trigger.toml")
		os.WriteFile(p, []byte(fmt.Sprintf("[imap]\naddress = %q\ntls = \"none\"\nusername = %q\n", w.dove.Addr, dovecot.User)), 0o600)
		code, r, stderr := w.check(t, p, map[string]string{"TRIGGER_IMAP_PASSWORD": dovecot.Password})
		if code != 0 || !r.OK {
			t.Fatalf("exit %d: %+v\n%s", code, r.Steps, stderr)
		}
		if s, ok := r.find("oauth2 token"); ok {
			t.Errorf("a token step with passwords: %+v", s)
		}
		if s := r.step(t, "imap sign-in"); !strings.Contains(s.Detail, "with a password") {
			t.Errorf("imap sign-in: %+v", s)
		}
		if s := r.step(t, "smtp"); !s.OK || !strings.Contains(s.Detail, "skipped: smtp.address is not set") {
			t.Errorf("smtp: %+v", s)
		}

		code, r, _ = w.check(t, p, map[string]string{"TRIGGER_IMAP_PASSWORD": "not-the-password"})
		s := r.step(t, "imap sign-in")
		if code != 1 || s.OK || !strings.Contains(s.Detail, "AUTHENTICATIONFAILED") || !strings.Contains(s.Detail, "What to do:") {
			t.Errorf("exit %d, imap sign-in %+v", code, s)
		}
	})
}

// approver is a terminal running `trigger mail login`: when the code is
// printed, the person signs in with it (as user) at the emulator.
type approver struct {
	w    *oauthWorld
	user string
	mu   sync.Mutex
	out  bytes.Buffer
	err  error
}

var userCodeRE = regexp.MustCompile(`enter the code ([A-Z0-9]+)`)

func (a *approver) Write(b []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.out.Write(b)
	if m := userCodeRE.FindSubmatch(a.out.Bytes()); m != nil && a.err == nil && a.user != "" {
		a.err = a.w.emu.Approve(string(m[1]), a.user)
		a.user = "" // once
	}
	return len(b), nil
}

// storedRefreshToken reads the device code sign-in's refresh token from the
// database, as the service stores it.
func (w *oauthWorld) storedRefreshToken(t *testing.T) string {
	t.Helper()
	db := openDB(t, filepath.Join(w.dir, "trigger.db"))
	defer db.Close()
	var rt string
	if err := db.QueryRow(`SELECT refresh_token FROM mail_tokens WHERE name = ?`, "microsoft/"+testTenant+"/app-device").Scan(&rt); err != nil {
		t.Fatal(err)
	}
	return rt
}

// TestMailLogin: a person signs in once with the device code; every
// command after, and serve, renews from the refresh token in the database,
// storing each rotation, across restarts and side by side.
func TestMailLogin(t *testing.T) {
	w := newOAuthWorld(t)
	w.app("app-device", dovecot.User)
	cfg := w.config(t, "app-device", "flow = \"device_code\"\n")
	var printed strings.Builder

	t.Run("NotSignedInYet", func(t *testing.T) {
		code, r, _ := w.check(t, cfg, nil)
		s := r.step(t, "oauth2 token")
		if code != 1 || s.OK || !strings.Contains(s.Detail, "run `trigger mail login`") {
			t.Errorf("exit %d, oauth2 token %+v", code, s)
		}
	})

	t.Run("Login", func(t *testing.T) {
		a := &approver{w: w, user: dovecot.User}
		var errb bytes.Buffer
		m := &Main{Stdin: strings.NewReader(""), Stdout: a, Stderr: &errb, Getenv: func(string) string { return "" }, oauthBaseURL: w.url}
		code := m.Run(context.Background(), []string{"--db", filepath.Join(w.dir, "trigger.db"), "--config", cfg, "mail", "login"})
		out := a.out.String()
		printed.WriteString(out + errb.String())
		if code != 0 || a.err != nil {
			t.Fatalf("exit %d (%v):\n%s\n%s", code, a.err, out, errb.String())
		}
		for _, want := range []string{"To sign in, open https://microsoft.com/devicelogin and enter the code ", "Signed in.", "trigger mail check"} {
			if !strings.Contains(out, want) {
				t.Errorf("mail login printed:\n%s\nwant %q", out, want)
			}
		}
	})

	var seen []string
	t.Run("RotationAcrossRestarts", func(t *testing.T) {
		seen = append(seen, w.storedRefreshToken(t))
		for range 2 { // each command is a new process: it loads what the last one stored
			code, r, stderr := w.check(t, cfg, nil)
			printed.WriteString(fmt.Sprint(r.Steps) + stderr)
			if code != 0 {
				t.Fatalf("exit %d: %+v", code, r.Steps)
			}
			if s := r.step(t, "oauth2 token"); !strings.Contains(s.Detail, "the stored sign-in of `trigger mail login`") {
				t.Errorf("oauth2 token: %+v", s)
			}
			rt := w.storedRefreshToken(t)
			if rt == seen[len(seen)-1] {
				t.Fatal("the rotated refresh token was not stored")
			}
			seen = append(seen, rt)
		}
	})

	t.Run("SideBySide", func(t *testing.T) {
		// Processes renew at once (serve and a command), each with its own
		// connections to the database: the provider honours a refresh
		// token once, so without the database's lock all but one would
		// be signed out.
		conf, err := config.Load(cfg, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		for round := range 5 {
			var wg sync.WaitGroup
			errs := make([]error, 4)
			start := make(chan struct{})
			for i := range errs {
				store, err := sqlite.Open(filepath.Join(w.dir, "trigger.db"), conf)
				if err != nil {
					t.Fatal(err)
				}
				defer store.Close()
				src, err := newMailSource(conf, store, w.url, slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				wg.Go(func() {
					<-start
					_, errs[i] = src.Token(context.Background())
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("round %d, process %d: %v", round, i, err)
				}
			}
		}
		code, out, _ := w.run(t, nil, "--config", cfg, "mail", "check")
		printed.WriteString(out)
		if code != 0 {
			t.Errorf("after: exit %d\n%s", code, out)
		}
	})

	t.Run("NeverPrinted", func(t *testing.T) {
		all := printed.String()
		for _, rt := range append(seen, w.storedRefreshToken(t)) {
			noSecrets(t, all, rt)
		}
		if strings.Contains(all, "eyJ0eXAiOiJKV1QifQ.") {
			t.Error("an access token was printed")
		}
	})

	t.Run("ErrOtherFlows", func(t *testing.T) {
		code, _, stderr := w.run(t, secretEnv, "--config", w.config(t, "app-device", ""), "mail", "login")
		if code != 2 || !strings.Contains(stderr, "`trigger mail login` is for provider = \"microsoft\", flow = \"device_code\"") {
			t.Errorf("exit %d: %s", code, stderr)
		}
		p := filepath.Join(t.TempDir(), "trigger.toml")
		os.WriteFile(p, []byte("[imap]\naddress = \"127.0.0.1:1\"\nusername = \"ct\"\n"), 0o600)
		if code, _, stderr := w.run(t, nil, "--config", p, "mail", "login"); code != 2 || !strings.Contains(stderr, "nothing signs in with a token") {
			t.Errorf("with passwords: exit %d: %s", code, stderr)
		}
	})
}

// TestMailCheckTLS: implicit TLS and STARTTLS are negotiated and said so;
// a certificate the machine does not trust fails the TLS step, saying why.
func TestMailCheckTLS(t *testing.T) {
	srvTLS, cliTLS := testcert.New(t)
	for _, mode := range []string{"implicit", "starttls"} {
		t.Run(mode, func(t *testing.T) {
			u, err := memimap.NewUser("ct", "imap-secret", "Processed", "Quarantine")
			if err != nil {
				t.Fatal(err)
			}
			srv, err := memimap.ServeWith("127.0.0.1:0", u, memimap.Options{TLS: mode, TLSConfig: srvTLS})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Close() })
			p := writeTOML(t, fmt.Sprintf("[imap]\naddress = %q\ntls = %q\nusername = \"ct\"\n", srv.Addr, mode))
			env := map[string]string{"TRIGGER_IMAP_PASSWORD": "imap-secret"}
			check := func(trust *tls.Config) (int, checkResult) {
				var out, errb bytes.Buffer
				m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }, mailTLS: trust}
				code := m.Run(context.Background(), []string{"--db", filepath.Join(t.TempDir(), "trigger.db"), "--config", p, "mail", "check", "--json"})
				var r checkResult
				if err := json.Unmarshal(out.Bytes(), &r); err != nil {
					t.Fatalf("%v: %s %s", err, out.String(), errb.String())
				}
				return code, r
			}
			code, r := check(cliTLS)
			want := map[string]string{"implicit": "TLS 1.3, certificate for 127.0.0.1 valid until", "starttls": "STARTTLS"}[mode]
			if s := r.step(t, "imap tls"); code != 0 || !s.OK || !strings.HasPrefix(s.Detail, want) {
				t.Errorf("exit %d, imap tls %+v; want %q", code, s, want)
			}
			code, r = check(nil)
			if s := r.step(t, "imap tls"); code != 1 || s.OK || !strings.Contains(s.Detail, "certificate") {
				t.Errorf("an untrusted certificate: exit %d, imap tls %+v", code, s)
			}
			if _, ok := r.find("imap sign-in"); ok {
				t.Error("signed in over a connection whose certificate failed")
			}
		})
	}
}
