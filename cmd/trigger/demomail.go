package main

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/internal/graphemu"
	"github.com/csp/trigger/internal/mailauth"
	"github.com/csp/trigger/internal/oauthemu"
	"github.com/csp/trigger/mailin/memimap"
	"github.com/csp/trigger/mailout/mailsink"
)

// demoMailbox is the service's mailbox as the demo's people see it: where
// residents' mail arrives, the folder it is filed to, and the mail the
// service sent.
type demoMailbox interface {
	// deliver puts a message in the Inbox, as mail from outside arrives.
	deliver(raw []byte) error
	// processed counts the messages filed to Processed.
	processed() int
	// sent is what the service sent, as its recipients receive it.
	sent() [][]byte
	// describe says what the mailbox is, for the demo's first line.
	describe() string
	close()
}

// imapDemo is an IMAP mailbox (memimap) and an SMTP mail sink: [imap] and
// [smtp] with passwords.
type imapDemo struct {
	imap *memimap.Server
	sink *mailsink.Sink
}

func newIMAPDemo(cfg *casefile.Config) (*imapDemo, error) {
	imapSrv, err := memimap.Start("trigger", "demo-password", "Processed", "Quarantine")
	if err != nil {
		return nil, err
	}
	sink, err := mailsink.Start(mailsink.Options{})
	if err != nil {
		imapSrv.Close()
		return nil, err
	}
	cfg.IMAP.Address, cfg.IMAP.TLS, cfg.IMAP.Username = imapSrv.Addr, "none", "trigger"
	cfg.IMAP.PollInterval = casefile.Duration{Duration: time.Second}
	cfg.SMTP.Address, cfg.SMTP.TLS = sink.Addr(), "none"
	cfg.Secrets.IMAPPassword = "demo-password"
	return &imapDemo{imap: imapSrv, sink: sink}, nil
}

func (m *imapDemo) deliver(raw []byte) error { return m.imap.Append("INBOX", raw, time.Now()) }

func (m *imapDemo) processed() int {
	n, _ := m.imap.Count("Processed")
	return n
}

func (m *imapDemo) sent() [][]byte {
	var out [][]byte
	for _, msg := range m.sink.Messages() {
		out = append(out, msg.Data)
	}
	return out
}

func (m *imapDemo) describe() string { return "an IMAP mailbox, a mail sink" }

func (m *imapDemo) close() {
	m.imap.Close()
	m.sink.Close()
}

// The demo's Microsoft 365 tenant.
const (
	demoTenant   = "example-council.onmicrosoft.com"
	demoClientID = "5b0c7d3e-0000-4000-8000-00000000c0de"
	demoSecret   = "demo~client-secret-value"
	demoMailAddr = "communitytrigger@example-council.gov.uk"
)

// graphDemo is a Microsoft 365 tenant: Entra ID's token endpoint (oauthemu)
// and Graph's mail API (graphemu), with the service's app granted
// Mail.ReadWrite and Mail.Send on the one mailbox by RBAC for
// Applications. The service reads and sends through Graph ([mail] source
// and sender = "graph").
type graphDemo struct {
	graph    *graphemu.Emulator
	tokens   *http.Server
	tokenURL string
}

func newGraphDemo(cfg *casefile.Config) (*graphDemo, error) {
	entra := oauthemu.New()
	entra.AddApp(oauthemu.App{Tenant: demoTenant, ClientID: demoClientID, Secret: demoSecret})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tokens := &http.Server{Handler: entra, ReadHeaderTimeout: 10 * time.Second}
	go tokens.Serve(ln)
	// Graph takes the tokens Entra ID issued for it, to this app.
	g := graphemu.New(graphemu.Options{VerifyToken: func(tok string) (string, bool) {
		app, scope, active := entra.AppToken(tok)
		return app, active && scope == mailauth.MicrosoftGraphScope
	}})
	if err := g.Start("127.0.0.1:0"); err != nil {
		tokens.Close()
		return nil, err
	}
	g.AddMailbox(demoMailAddr)
	g.AddApp(demoClientID)
	g.Grant(demoClientID, demoMailAddr, graphemu.MailReadWrite, graphemu.MailSend)

	cfg.Mail = casefile.MailConfig{Source: casefile.MailGraph, Sender: casefile.MailGraph}
	cfg.Graph.Mailbox, cfg.Graph.APIURL = demoMailAddr, g.URL()
	cfg.Graph.PollInterval = casefile.Duration{Duration: time.Second}
	cfg.SMTP.From = "Community Trigger <" + demoMailAddr + ">"
	cfg.OAuth2 = casefile.OAuth2Config{Provider: mailauth.Microsoft, Flow: mailauth.ClientCredentials, Tenant: demoTenant, ClientID: demoClientID}
	cfg.Secrets.OAuth2ClientSecret = demoSecret
	return &graphDemo{graph: g, tokens: tokens, tokenURL: "http://" + ln.Addr().String()}, nil
}

func (m *graphDemo) deliver(raw []byte) error {
	_, err := m.graph.Deliver(demoMailAddr, "inbox", raw)
	return err
}

func (m *graphDemo) processed() int { return len(m.graph.Messages(demoMailAddr, "Processed")) }

func (m *graphDemo) sent() [][]byte {
	var out [][]byte
	for _, msg := range m.graph.Sent(demoMailAddr) {
		out = append(out, msg.Raw)
	}
	return out
}

func (m *graphDemo) describe() string {
	return "a Microsoft 365 mailbox read and sent through Microsoft Graph (with Entra ID's token endpoint)"
}

func (m *graphDemo) close() {
	m.graph.Close()
	m.tokens.Close()
}

// errDemoMail is a --mail the demo has no world for.
var errDemoMail = errors.New(`--mail must be "imap" or "graph"`)
