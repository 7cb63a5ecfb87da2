package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/internal/graphemu"
)

// graphRun runs a trigger command with the tenant's token endpoint, on a
// database in dir, and returns its exit status, output and errors.
func (g *graphTenant) run(t *testing.T, dir string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }, oauthBaseURL: g.entraURL}
	code := m.Run(context.Background(), append([]string{"--db", filepath.Join(dir, "trigger.db")}, args...))
	return code, out.String(), errb.String()
}

// writeConfig writes body as trigger.toml in dir and returns its path.
func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "trigger.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMailCheckGraph: `trigger mail check` through Graph: the app's token,
// the mailbox, the folders it would make, and its permission to send —
// probed without sending anything; with the same output as over IMAP and
// SMTP, and `--json` one object.
func TestMailCheckGraph(t *testing.T) {
	check := func(t *testing.T, g *graphTenant, cfg string, env map[string]string) (int, checkResult) {
		t.Helper()
		code, out, stderr := g.run(t, t.TempDir(), env, "--config", cfg, "mail", "check", "--json")
		var r checkResult
		dec := json.NewDecoder(strings.NewReader(out))
		if err := dec.Decode(&r); err != nil || dec.More() {
			t.Fatalf("mail check --json did not print one JSON object (%v):\n%s\n%s", err, out, stderr)
		}
		noSecrets(t, out+stderr)
		return code, r
	}
	names := func(r checkResult) string {
		var n []string
		for _, s := range r.Steps {
			n = append(n, s.Step)
		}
		return strings.Join(n, ", ")
	}

	t.Run("OK", func(t *testing.T) {
		g := newGraphTenant(t, graphemu.Options{})
		cfg := writeConfig(t, t.TempDir(), g.toml())
		code, r := check(t, g, cfg, secretEnv)
		if code != 0 || !r.OK {
			t.Fatalf("exit %d: %+v", code, r)
		}
		if got, want := names(r), "graph token, graph mailbox, graph folder Processed, graph folder Quarantine, graph send"; got != want {
			t.Errorf("steps\n%s\nwant\n%s", got, want)
		}
		for step, detail := range map[string]string{
			"graph token":             "a token for Microsoft Graph from microsoft (the app's own credentials), valid until",
			"graph mailbox":           "the Inbox of " + graphMailbox + " is readable",
			"graph folder Processed":  "was missing and has been created",
			"graph folder Quarantine": "was missing and has been created",
			"graph send":              "Mail.Send is granted",
		} {
			if s := r.step(t, step); !s.OK || !strings.Contains(s.Detail, detail) {
				t.Errorf("%s: %+v; want it to say %q", step, s, detail)
			}
		}
		if n := len(g.graph.Sent(graphMailbox)); n != 0 {
			t.Errorf("mail check sent %d messages", n)
		}
		code, out, _ := g.run(t, t.TempDir(), secretEnv, "--config", cfg, "mail", "check")
		if code != 0 || !strings.Contains(out, "✓ graph folder Processed: folder Processed exists") || !strings.Contains(out, "mail check: all 5 steps passed") {
			t.Errorf("text, again: exit %d\n%s", code, out)
		}
	})
	t.Run("NoSendRole", func(t *testing.T) {
		g := newGraphTenant(t, graphemu.Options{})
		g.graph.Revoke(testClient, graphMailbox, graphemu.MailSend)
		code, r := check(t, g, writeConfig(t, t.TempDir(), g.toml()), secretEnv)
		send := r.step(t, "graph send")
		if code != exitFail || r.OK || send.OK || !strings.Contains(send.Detail, "403 ErrorAccessDenied") || !strings.Contains(send.Detail, `"Application Mail.Send"`) {
			t.Errorf("exit %d, send step %+v", code, send)
		}
		if s := r.step(t, "graph mailbox"); !s.OK {
			t.Errorf("reading is granted: %+v", s)
		}
	})
	t.Run("WrongSecret", func(t *testing.T) {
		g := newGraphTenant(t, graphemu.Options{})
		code, r := check(t, g, writeConfig(t, t.TempDir(), g.toml()), map[string]string{"TRIGGER_OAUTH2_CLIENT_SECRET": "the-secret-id-not-its-value"})
		tok := r.step(t, "graph token")
		if code != exitFail || tok.OK || !strings.Contains(tok.Detail, "AADSTS7000215") || !strings.Contains(tok.Detail, "What to do: The client secret is wrong") {
			t.Errorf("exit %d, token step %+v", code, tok)
		}
		if len(r.Steps) != 1 {
			t.Errorf("steps after a failed token: %s", names(r))
		}
	})
	t.Run("NoSecret", func(t *testing.T) {
		// Every command checks what Graph needs as it loads the
		// configuration, naming the missing piece.
		g := newGraphTenant(t, graphemu.Options{})
		cfg := writeConfig(t, t.TempDir(), g.toml())
		for _, args := range [][]string{{"mail", "check"}, {"config", "check"}, {"case", "list"}} {
			code, _, stderr := g.run(t, t.TempDir(), nil, append([]string{"--config", cfg}, args...)...)
			if code == 0 || !strings.Contains(stderr, "TRIGGER_OAUTH2_CLIENT_SECRET") {
				t.Errorf("%v without the secret: exit %d\n%s", args, code, stderr)
			}
		}
	})
	t.Run("SendOnly", func(t *testing.T) {
		// Mail read elsewhere (here: nowhere), sent through Graph: the app
		// needs no role to read the mailbox.
		g := newGraphTenant(t, graphemu.Options{})
		g.graph.Revoke(testClient, graphMailbox, graphemu.MailReadWrite)
		body := strings.Replace(g.toml(), "source = \"graph\"\n", "", 1)
		code, r := check(t, g, writeConfig(t, t.TempDir(), body), secretEnv)
		if got := names(r); code != 0 || got != "imap, graph token, graph send" {
			t.Errorf("exit %d, steps %s: %+v", code, got, r.Steps)
		}
	})
}

// TestMailFetchGraph: `trigger mail fetch --once` through Graph files the
// Inbox and says what became of it.
func TestMailFetchGraph(t *testing.T) {
	g := newGraphTenant(t, graphemu.Options{})
	apps, autos := applications("fetch", 2), autoReplies("fetch", 1)
	for _, a := range append(apps, autos...) {
		if _, err := g.graph.Deliver(graphMailbox, "inbox", a.raw); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	cfg := writeConfig(t, dir, g.toml())
	code, out, stderr := g.run(t, dir, secretEnv, "--config", cfg, "mail", "fetch", "--once")
	if code != 0 || !regexp.MustCompile(`^3 messages in \S+ \(\d+ bytes\), auto_reply 1, created 2\n$`).MatchString(out) {
		t.Errorf("exit %d:\n%s\n%s", code, out, stderr)
	}
	if in, done := g.count("INBOX"), g.count("Processed"); in != 0 || done != 3 {
		t.Errorf("Inbox %d, Processed %d", in, done)
	}
	code, out, _ = g.run(t, dir, secretEnv, "--config", cfg, "mail", "fetch", "--once")
	if code != 0 || !strings.HasPrefix(out, "0 messages in ") {
		t.Errorf("again: exit %d\n%s", code, out)
	}
}

// TestServeGraphRefused: serve reading and sending through Graph tells the
// coordinator once when the app loses its role on the mailbox — reading
// (Mail.ReadWrite), then sending (Mail.Send) — with what to do, /readyz
// says which part and why, the mail waits; and tells again when it works.
func TestServeGraphRefused(t *testing.T) {
	g := newGraphTenant(t, graphemu.Options{})
	emu, coord := slackWorkspace(t)
	cfg := casefile.DefaultConfig()
	g.configure(&cfg)
	cfg.Database.Path = filepath.Join(t.TempDir(), "trigger.db")
	cfg.Slack.APIURL = emu.APIURL()
	cfg.HTTP.Listen = freeAddr(t)
	cfg.Roles.Coordinator = casefile.IDList{coord}
	cfg.Roles.Approvers = casefile.IDList{coord}
	cfg.Log.Level = "warn"
	cfg.Secrets.SlackBotToken, cfg.Secrets.SlackAppToken = emu.BotToken(), emu.AppToken()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g.graph.Revoke(testClient, graphMailbox, graphemu.MailReadWrite)
	apps := applications("graphrefused", 2)
	g.graph.Deliver(graphMailbox, "inbox", apps[0].raw)
	srv, _ := serveOAuth(t, &cfg, serverDeps{oauthBaseURL: g.entraURL, reconnectMax: 100 * time.Millisecond})
	readyz := "http://" + srv.HTTPAddr() + "/readyz"

	t.Run("ReadingRefused", func(t *testing.T) {
		waitFor(t, 60*time.Second, "the coordinator told", func() bool { return len(directMessages(emu, coord)) > 0 })
		dms := directMessages(emu, coord)
		for _, want := range []string{"not reading its mailbox", "mailbox (Microsoft Graph)", "graph_access_denied, ErrorAccessDenied", "nothing is lost",
			`New-ManagementRoleAssignment -App <its service principal> -Role "Application Mail.ReadWrite"`, "Test-ServicePrincipalAuthorization", "trigger mail check"} {
			if !strings.Contains(dms[0], want) {
				t.Errorf("the notice lacks %q:\n%s", want, dms[0])
			}
		}
		code, body := httpGet(t, readyz)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "graph_read: refused by Microsoft Graph (graph_access_denied, ErrorAccessDenied)") {
			t.Errorf("/readyz %d:\n%s", code, body)
		}
		if v := metricValue(t, srv, `trigger_mail_signin_failures_total{part="graph_read",code="graph_access_denied"}`); v < 1 {
			t.Errorf("refusals counted: %v", v)
		}
		if in := g.count("INBOX"); in != 1 {
			t.Errorf("the Inbox holds %d; the mail waits there", in)
		}
	})
	t.Run("ReadingRecovered", func(t *testing.T) {
		g.graph.Grant(testClient, graphMailbox, graphemu.MailReadWrite)
		waitFor(t, 60*time.Second, "the mail filed and acknowledged", func() bool {
			return g.count("INBOX") == 0 && len(g.graph.Sent(graphMailbox)) == 1
		})
		waitFor(t, 60*time.Second, "the coordinator told of the recovery", func() bool { return len(directMessages(emu, coord)) == 2 })
		if dm := directMessages(emu, coord)[1]; !strings.Contains(dm, "reading its mailbox again") {
			t.Errorf("recovery notice: %s", dm)
		}
		if code, body := httpGet(t, readyz); code != http.StatusOK {
			t.Errorf("/readyz %d:\n%s", code, body)
		}
	})
	t.Run("SendingRefused", func(t *testing.T) {
		g.graph.Revoke(testClient, graphMailbox, graphemu.MailSend)
		g.graph.Deliver(graphMailbox, "inbox", apps[1].raw)
		waitFor(t, 60*time.Second, "the coordinator told mail cannot be sent", func() bool { return len(directMessages(emu, coord)) == 3 })
		dm := directMessages(emu, coord)[2]
		for _, want := range []string{"cannot send email", "sending (Microsoft Graph)", "graph_access_denied", "wait in the outbox", `"Application Mail.Send"`} {
			if !strings.Contains(dm, want) {
				t.Errorf("the notice lacks %q:\n%s", want, dm)
			}
		}
		code, body := httpGet(t, readyz)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "graph_send: refused by Microsoft Graph (graph_access_denied, ErrorAccessDenied)") {
			t.Errorf("/readyz %d:\n%s", code, body)
		}
		g.graph.Grant(testClient, graphMailbox, graphemu.MailSend)
		waitFor(t, 90*time.Second, "the acknowledgement sent on a retry", func() bool { return len(g.graph.Sent(graphMailbox)) == 2 })
		waitFor(t, 60*time.Second, "the coordinator told of the recovery", func() bool { return len(directMessages(emu, coord)) == 4 })
		if dm := directMessages(emu, coord)[3]; !strings.Contains(dm, "sending email again") {
			t.Errorf("recovery notice: %s", dm)
		}
	})
}
