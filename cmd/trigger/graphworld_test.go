package main

import (
	"fmt"
	"net/http/httptest"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/internal/graphemu"
	"github.com/csp/trigger/internal/mailauth"
	"github.com/csp/trigger/internal/oauthemu"
)

// graphMailbox is the service's mailbox in the Microsoft 365 tenant of the
// tests: where residents write, and what the service sends as.
const graphMailbox = "communitytrigger@example-council.gov.uk"

// oauthBaseURLEnv tells a child `trigger serve` (crash_test.go) the token
// endpoint of the tests' tenant, as serverDeps.oauthBaseURL does in
// process.
const oauthBaseURLEnv = "TRIGGER_TEST_OAUTH_BASE_URL"

// graphTenant is a Microsoft 365 tenant whose IMAP and SMTP AUTH are off:
// Entra ID's token endpoint (oauthemu) and Graph's mail API (graphemu),
// which takes the tokens Entra ID issued for Graph to the app. The
// council's app has Mail.ReadWrite and Mail.Send on the one mailbox (RBAC
// for Applications), and every download of a message gives other bytes, as
// Exchange's may.
type graphTenant struct {
	entra    *oauthemu.Server
	entraURL string
	graph    *graphemu.Emulator
}

func newGraphTenant(t testing.TB, opts graphemu.Options) *graphTenant {
	t.Helper()
	g := &graphTenant{entra: oauthemu.New()}
	g.entra.AddApp(oauthemu.App{Tenant: testTenant, ClientID: testClient, Secret: testSecret})
	hs := httptest.NewServer(g.entra)
	t.Cleanup(hs.Close)
	g.entraURL = hs.URL
	opts.MIMEVaries = true
	opts.VerifyToken = func(tok string) (string, bool) {
		app, scope, active := g.entra.AppToken(tok)
		return app, active && scope == mailauth.MicrosoftGraphScope
	}
	g.graph = graphemu.New(opts)
	if err := g.graph.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.graph.Close() })
	g.graph.AddMailbox(graphMailbox)
	g.graph.AddApp(testClient)
	g.graph.Grant(testClient, graphMailbox, graphemu.MailReadWrite, graphemu.MailSend)
	return g
}

// configure makes cfg read and send through the tenant's Graph.
func (g *graphTenant) configure(cfg *casefile.Config) {
	cfg.Mail = casefile.MailConfig{Source: casefile.MailGraph, Sender: casefile.MailGraph}
	cfg.Graph.Mailbox, cfg.Graph.APIURL = graphMailbox, g.graph.URL()
	cfg.Graph.PollInterval = casefile.Duration{Duration: time.Second}
	cfg.SMTP.From = "Community Trigger <" + graphMailbox + ">"
	cfg.OAuth2 = casefile.OAuth2Config{Provider: "microsoft", Flow: "client_credentials", Tenant: testTenant, ClientID: testClient}
	cfg.Secrets.OAuth2ClientSecret = testSecret
}

// toml is configure as trigger.toml says it.
func (g *graphTenant) toml() string {
	return fmt.Sprintf(`[mail]
source = "graph"
sender = "graph"

[graph]
mailbox = %q
api_url = %q
poll_interval = "1s"

[smtp]
from = "Community Trigger <%s>"

[oauth2]
provider = "microsoft"
tenant = %q
client_id = %q

`, graphMailbox, g.graph.URL(), graphMailbox, testTenant, testClient)
}

// env is the secret, and the token endpoint, of a child process.
func (g *graphTenant) env() []string {
	return []string{"TRIGGER_OAUTH2_CLIENT_SECRET=" + testSecret, oauthBaseURLEnv + "=" + g.entraURL}
}

// count is the number of messages in a folder ("INBOX" is the Inbox).
func (g *graphTenant) count(folder string) int {
	if folder == "INBOX" {
		folder = "inbox"
	}
	return len(g.graph.Messages(graphMailbox, folder))
}

// sent is what the service sent, with the recipients its To names.
func (g *graphTenant) sent() []sentMail {
	var out []sentMail
	for _, m := range g.graph.Sent(graphMailbox) {
		s := sentMail{Data: m.Raw}
		if msg, err := mail.ReadMessage(strings.NewReader(string(m.Raw))); err == nil {
			list, _ := msg.Header.AddressList("To")
			for _, a := range list {
				s.To = append(s.To, a.Address)
			}
		}
		out = append(out, s)
	}
	return out
}

// sentMail is a message the service sent, as its recipients got it.
type sentMail struct {
	To   []string
	Data []byte
}
