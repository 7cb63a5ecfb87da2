package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/internal/dovecot"
	"github.com/csp/trigger/internal/oauthemu"
	"github.com/csp/trigger/mailout/mailsink"
)

// slackWorkspace is the Slack emulator with the coordinator in it.
func slackWorkspace(t *testing.T) (*slackemu.Emulator, string) {
	t.Helper()
	emu := slackemu.New(slackemu.Options{NoRateLimits: true})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu, emu.AddUser("sam.patel", "sam.patel@example-council.gov.uk").ID
}

// oauthServeConfig is serve's configuration: the mailbox on Dovecot and
// the mail server, both signed in to with tokens of clientID, and Slack.
func (w *oauthWorld) serveConfig(t *testing.T, emu *slackemu.Emulator, coord, clientID string) *casefile.Config {
	t.Helper()
	cfg := casefile.DefaultConfig()
	cfg.Database.Path = filepath.Join(w.dir, "trigger.db")
	cfg.IMAP.Address, cfg.IMAP.TLS, cfg.IMAP.Auth, cfg.IMAP.Username = w.dove.Addr, "none", casefile.AuthOAuth2, dovecot.User
	cfg.IMAP.PollInterval = casefile.Duration{Duration: time.Second}
	cfg.SMTP.Address, cfg.SMTP.TLS, cfg.SMTP.Auth, cfg.SMTP.Username = w.sink.Addr(), "none", casefile.AuthOAuth2, dovecot.User
	cfg.SMTP.From = "Community Trigger <ct@localhost>"
	cfg.OAuth2 = casefile.OAuth2Config{Provider: "microsoft", Flow: "client_credentials", Tenant: testTenant, ClientID: clientID}
	cfg.Slack.APIURL = emu.APIURL()
	cfg.HTTP.Listen = freeAddr(t)
	cfg.Roles.Coordinator = casefile.IDList{coord}
	cfg.Roles.Approvers = casefile.IDList{coord}
	cfg.Log.Level = "warn"
	cfg.Secrets = casefile.Secrets{SlackBotToken: emu.BotToken(), SlackAppToken: emu.AppToken(), OAuth2ClientSecret: testSecret}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := checkOAuth(&cfg); err != nil {
		t.Fatal(err)
	}
	return &cfg
}

// serveOAuth runs the real serve wiring with deps until the test ends.
func serveOAuth(t *testing.T, cfg *casefile.Config, deps serverDeps) (*server, func()) {
	t.Helper()
	store, err := sqlite.Open(cfg.Database.Path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	srv, err := newServer(cfg, store, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})), deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- srv.run(ctx, started) }()
	<-started
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
			store.Close()
			if t.Failed() {
				t.Logf("serve's log:\n%s", logs.String())
			}
		})
	}
	t.Cleanup(stop)
	return srv, stop
}

// directMessages are the bot's direct messages to user, oldest first.
func directMessages(emu *slackemu.Emulator, user string) []string {
	var out []string
	for _, c := range emu.Channels() {
		if c.IM && c.User == user {
			for _, m := range emu.Messages(c.ID) {
				out = append(out, m.Text)
			}
		}
	}
	return out
}

// metricValue reads one series from /metrics.
func metricValue(t *testing.T, srv *server, series string) float64 {
	t.Helper()
	_, body := httpGet(t, "http://"+srv.HTTPAddr()+"/metrics")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` ([0-9.e+]+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// dovecotIMAP signs in to Dovecot's mailbox with the password, as the
// council's mail system delivering to it.
func (w *oauthWorld) dovecotIMAP(t *testing.T) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(w.dove.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(dovecot.User, dovecot.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

func (w *oauthWorld) deliver(t *testing.T, c *imapclient.Client, raw []byte) {
	t.Helper()
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	cmd.Write(raw)
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

func (w *oauthWorld) inbox(t *testing.T, c *imapclient.Client) uint32 {
	t.Helper()
	d, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	return *d.NumMessages
}

func refusedTokenRequests(emu *oauthemu.Server) int {
	n := 0
	for _, r := range emu.Requests() {
		if r.Grant == oauthemu.GrantClientCredentials && r.Status != 200 {
			n++
		}
	}
	return n
}

// TestServeSignInOutage: while the mailbox's sign-in is refused, serve
// keeps retrying, mail waits in the mailbox, /readyz says which part is
// down and why, /metrics counts it, and the coordinator is told once; and
// once again when it works. The same for sending.
func TestServeSignInOutage(t *testing.T) {
	w := newOAuthWorld(t)
	var refuseSMTP sync.Map
	w.sink.Close()
	sink, err := startTokenSink(w.emu.Verify, &refuseSMTP)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	w.sink = sink
	emu, coord := slackWorkspace(t)
	w.app("app-serve", dovecot.User)
	w.emu.ExpireSecret("app-serve")
	cfg := w.serveConfig(t, emu, coord, "app-serve")
	imapc := w.dovecotIMAP(t)
	apps := applications("oauth", 2)
	w.deliver(t, imapc, apps[0].raw)

	srv, _ := serveOAuth(t, cfg, serverDeps{oauthBaseURL: w.url, reconnectMax: 100 * time.Millisecond})
	readyz := "http://" + srv.HTTPAddr() + "/readyz"

	t.Run("SecretExpired", func(t *testing.T) {
		waitFor(t, 60*time.Second, "the coordinator told", func() bool { return len(directMessages(emu, coord)) > 0 })
		n := refusedTokenRequests(w.emu)
		waitFor(t, 60*time.Second, "three more refused attempts", func() bool { return refusedTokenRequests(w.emu) >= n+3 })
		dms := directMessages(emu, coord)
		if len(dms) != 1 {
			t.Fatalf("%d direct messages after %d refused attempts; want 1:\n%s", len(dms), refusedTokenRequests(w.emu), strings.Join(dms, "\n---\n"))
		}
		for _, want := range []string{"not reading its mailbox", "oauth2_secret_expired, AADSTS7000222", "nothing is lost", "Add a new client secret", "trigger mail check"} {
			if !strings.Contains(dms[0], want) {
				t.Errorf("the notice lacks %q:\n%s", want, dms[0])
			}
		}
		code, body := httpGet(t, readyz)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "imap: sign-in refused (oauth2_secret_expired, AADSTS7000222)") {
			t.Errorf("/readyz %d:\n%s", code, body)
		}
		noSecrets(t, body+strings.Join(dms, ""))
		if in := w.inbox(t, imapc); in != 1 {
			t.Errorf("INBOX holds %d; the mail must wait there", in)
		}
		if v := metricValue(t, srv, `trigger_mail_signin_failures_total{part="imap",code="oauth2_secret_expired"}`); v < 3 {
			t.Errorf("sign-in failures counted: %v", v)
		}
		if v := metricValue(t, srv, "trigger_oauth2_token_failures_total"); v < 3 {
			t.Errorf("token failures counted: %v", v)
		}
	})

	t.Run("Recovered", func(t *testing.T) {
		w.app("app-serve", dovecot.User) // a new secret in the app registration
		waitFor(t, 60*time.Second, "the mail filed and acknowledged", func() bool {
			return w.inbox(t, imapc) == 0 && len(w.sink.Messages()) == 1
		})
		waitFor(t, 60*time.Second, "the coordinator told of the recovery", func() bool { return len(directMessages(emu, coord)) == 2 })
		if dm := directMessages(emu, coord)[1]; !strings.Contains(dm, "reading its mailbox again") {
			t.Errorf("recovery notice: %s", dm)
		}
		if code, body := httpGet(t, readyz); code != http.StatusOK {
			t.Errorf("/readyz %d:\n%s", code, body)
		}
		if v := metricValue(t, srv, "trigger_oauth2_token_renewals_total"); v < 1 {
			t.Errorf("renewals counted: %v", v)
		}
	})

	t.Run("SendingRefused", func(t *testing.T) {
		refuseSMTP.Store("on", true) // Exchange without SendAs, say
		w.deliver(t, imapc, apps[1].raw)
		waitFor(t, 60*time.Second, "the coordinator told mail cannot be sent", func() bool { return len(directMessages(emu, coord)) == 3 })
		dm := directMessages(emu, coord)[2]
		for _, want := range []string{"cannot send email", "mailbox_permission", "wait in the outbox", "Add-RecipientPermission"} {
			if !strings.Contains(dm, want) {
				t.Errorf("the notice lacks %q:\n%s", want, dm)
			}
		}
		code, body := httpGet(t, readyz)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "smtp: sign-in refused by the server (mailbox_permission)") {
			t.Errorf("/readyz %d:\n%s", code, body)
		}
		refuseSMTP.Delete("on")
		waitFor(t, 60*time.Second, "the acknowledgement sent on a retry", func() bool { return len(w.sink.Messages()) == 2 })
		waitFor(t, 60*time.Second, "the coordinator told of the recovery", func() bool { return len(directMessages(emu, coord)) == 4 })
		if dm := directMessages(emu, coord)[3]; !strings.Contains(dm, "sending email again") {
			t.Errorf("recovery notice: %s", dm)
		}
	})
}

// startTokenSink is a mail sink that checks tokens and refuses every one
// while refuse holds "on".
func startTokenSink(verify func(user, token string) error, refuse *sync.Map) (*mailsink.Sink, error) {
	return mailsink.Start(mailsink.Options{Quiet: true, VerifyToken: func(user, token string) error {
		if _, on := refuse.Load("on"); on {
			return errors.New("refused")
		}
		return verify(user, token)
	}})
}

// TestServeCertificateExpiry: a certificate credential that expires within
// the month is told to the coordinator ahead, once, restarts or not.
func TestServeCertificateExpiry(t *testing.T) {
	emu, coord := slackWorkspace(t)
	certPEM, _, err := oauthemu.NewCertificate(20 * 24 * time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cfg := casefile.DefaultConfig()
	cfg.Database.Path = filepath.Join(t.TempDir(), "trigger.db")
	cfg.SMTP.Auth = casefile.AuthOAuth2 // no address: mail waits in the outbox
	cfg.OAuth2 = casefile.OAuth2Config{Provider: "microsoft", Flow: "client_credentials", Tenant: testTenant, ClientID: testClient}
	cfg.Slack.APIURL = emu.APIURL()
	cfg.HTTP.Listen = freeAddr(t)
	cfg.Roles.Coordinator = casefile.IDList{coord}
	cfg.Secrets = casefile.Secrets{SlackBotToken: emu.BotToken(), SlackAppToken: emu.AppToken(), OAuth2Certificate: certPEM}
	if err := checkOAuth(&cfg); err != nil {
		t.Fatal(err)
	}
	for restart := range 2 {
		srv, stop := serveOAuth(t, &cfg, serverDeps{})
		waitFor(t, 30*time.Second, "the coordinator told", func() bool { return len(directMessages(emu, coord)) > 0 })
		if v := metricValue(t, srv, "trigger_oauth2_credential_expiry_timestamp_seconds"); v <= float64(time.Now().Unix()) {
			t.Errorf("expiry gauge %v", v)
		}
		stop()
		dms := directMessages(emu, coord)
		if len(dms) != 1 {
			t.Fatalf("after %d restarts, %d notices; want 1", restart, len(dms))
		}
		day := time.Now().Add(20 * 24 * time.Hour).In(casefile.London).Format("2 January 2006")
		if !strings.Contains(dms[0], "expires on "+day+", in 20 days") || !strings.Contains(dms[0], "TRIGGER_OAUTH2_CERTIFICATE") {
			t.Errorf("notice: %s", dms[0])
		}
	}
}

// TestServeMailboxUnreachable: a mailbox out of reach (here: its server
// stopped) is a fault that usually passes: /readyz says so at once, the
// coordinator is told only once it has lasted the grace period, once, and
// again when the mailbox is back. With a password, as before issue 12.
func TestServeMailboxUnreachable(t *testing.T) {
	w := newWorld(t, worldOptions{})
	cfg := w.config()
	srv, _ := serveOAuth(t, &cfg, serverDeps{grace: time.Second, reconnectMax: 100 * time.Millisecond})
	readyz := "http://" + srv.HTTPAddr() + "/readyz"
	waitFor(t, 30*time.Second, "ready", func() bool { code, _ := httpGet(t, readyz); return code == http.StatusOK })

	w.stopIMAP()
	waitFor(t, 30*time.Second, "/readyz to say why", func() bool {
		_, body := httpGet(t, readyz)
		return strings.Contains(body, "imap: not connected (connection refused)")
	})
	waitFor(t, 30*time.Second, "the coordinator told", func() bool { return len(directMessages(w.emu, w.coord)) == 1 })
	dm := directMessages(w.emu, w.coord)[0]
	if !strings.Contains(dm, "not reading its mailbox: the mailbox (IMAP) has not answered for some time (connection refused)") || !strings.Contains(dm, "firewall") {
		t.Errorf("notice: %s", dm)
	}
	if v := metricValue(t, srv, `trigger_mail_signin_failures_total{part="imap",code="unreachable"}`); v != -1 {
		t.Errorf("an unreachable server counted as a sign-in failure: %v", v)
	}

	w.startIMAP()
	w.deliver(applications("back", 1)...)
	waitFor(t, 30*time.Second, "the mail filed", func() bool { return w.count("INBOX") == 0 })
	waitFor(t, 30*time.Second, "the coordinator told of the recovery", func() bool { return len(directMessages(w.emu, w.coord)) == 2 })
	if dm := directMessages(w.emu, w.coord)[1]; !strings.Contains(dm, "reading its mailbox again") {
		t.Errorf("recovery notice: %s", dm)
	}
}
