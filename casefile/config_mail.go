package casefile

import (
	"net/mail"
	"strings"
	"time"
)

// validateMail checks [mail] and, when Microsoft Graph reads or sends the
// mail, [graph] and what Graph needs of [oauth2], [imap] and [smtp].
func (c *Config) validateMail(bad func(key, format string, args ...any) error) error {
	switch c.Mail.Source {
	case "", MailIMAP, MailGraph:
	default:
		return bad("mail.source", "%q is not one of %s, %s", c.Mail.Source, MailIMAP, MailGraph)
	}
	switch c.Mail.Sender {
	case "", MailSMTP, MailGraph:
	default:
		return bad("mail.sender", "%q is not one of %s, %s", c.Mail.Sender, MailSMTP, MailGraph)
	}
	if !c.UsesGraph() {
		return nil
	}
	via := "mail.source"
	if !c.ReadsGraph() {
		via = "mail.sender"
	}
	o := c.OAuth2
	if o.Provider != "microsoft" || (o.Flow != "" && o.Flow != "client_credentials") {
		return bad(via, `"graph" needs [oauth2] provider = "microsoft" with flow = "client_credentials": the app's own credentials, which Exchange's RBAC for Applications limits to the one mailbox`)
	}
	g := c.Graph
	if g.Mailbox == "" {
		return bad("graph.mailbox", `required when %s = "graph": the mailbox's address (its user principal name)`, via)
	}
	if a, err := mail.ParseAddress(g.Mailbox); err != nil || a.Address != strings.TrimSpace(g.Mailbox) {
		return bad("graph.mailbox", "%q is not an email address (the mailbox's user principal name, without a display name)", g.Mailbox)
	}
	if g.APIURL != "" {
		if err := checkAPIURL(g.APIURL, "the app's token"); err != "" {
			return bad("graph.api_url", "%s", err)
		}
	}
	if c.ReadsGraph() {
		if c.IMAP.Address != "" {
			return bad("imap.address", `set, but mail.source = "graph" reads the mailbox through Microsoft Graph: leave imap.address empty, or set mail.source = "imap"`)
		}
		if strings.TrimSpace(g.Processed) == "" || strings.TrimSpace(g.Quarantine) == "" {
			return bad("graph.processed", "the processed and quarantine folders must be named")
		}
		if strings.EqualFold(g.Processed, g.Quarantine) {
			return bad("graph.quarantine", "%q is also graph.processed: quarantined mail needs a folder of its own", g.Quarantine)
		}
		for _, f := range []struct{ key, name string }{{"graph.processed", g.Processed}, {"graph.quarantine", g.Quarantine}} {
			if strings.EqualFold(f.name, "inbox") {
				return bad(f.key, "%q is the Inbox the service reads: name another folder", f.name)
			}
		}
		if g.PollInterval.Duration < time.Second {
			return bad("graph.poll_interval", "must be at least 1s")
		}
	}
	if c.SendsGraph() {
		if c.SMTP.Address != "" {
			return bad("smtp.address", `set, but mail.sender = "graph" sends through Microsoft Graph: leave smtp.address empty, or set mail.sender = "smtp"`)
		}
		if a, err := mail.ParseAddress(c.SMTP.From); err != nil || !strings.EqualFold(a.Address, strings.TrimSpace(g.Mailbox)) {
			return bad("smtp.from", `with mail.sender = "graph" mail is sent as graph.mailbox itself: its address must be %s (the display name may be anything)`, g.Mailbox)
		}
	}
	return nil
}

// checkAPIURL says what is wrong with an override of a service's URL that
// carries what (a token), "" when nothing is: https, or http to this
// machine only.
func checkAPIURL(u, what string) string {
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return "must start with http:// or https://"
	}
	if rest, ok := strings.CutPrefix(u, "http://"); ok {
		host, _, _ := strings.Cut(rest, "/")
		if _, h, ok := strings.Cut(host, "@"); ok {
			host = h
		}
		if !loopback(host) {
			return "http:// would send " + what + " in clear: use https:// (http:// is allowed only to a loopback address)"
		}
	}
	return ""
}
