package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/internal/graph"
	"github.com/csp/trigger/internal/mailauth"
)

// checkStep is one line of `trigger mail check`, and one element of its
// --json "steps".
type checkStep struct {
	Step   string `json:"step"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// mailChecker tries, one step at a time, what the service does with the
// mailbox and the mail server: each step on its own, so that a failure
// says which step failed and what to do. It changes nothing but the
// folders the watcher would create, and sends nothing.
type mailChecker struct {
	cfg       *casefile.Config
	src       *mailauth.Source // nil when nothing signs in with a token
	graphSrc  *mailauth.Source // nil unless Graph reads or sends
	graph     *graph.Client    // on graphSrc's tokens
	tlsConfig *tls.Config      // tests: trust a test certificate
	timeout   time.Duration    // of one server's steps

	steps    []checkStep
	token    mailauth.Token
	tokenErr error
	tokenGot bool
}

// add records a step: ok with detail, or failed with err and what to do.
func (c *mailChecker) add(step string, err error, detail string) bool {
	s := checkStep{Step: step, OK: err == nil, Detail: detail}
	if err != nil {
		s.Detail = err.Error()
	}
	c.steps = append(c.steps, s)
	return err == nil
}

func (c *mailChecker) skip(step, why string) { c.add(step, nil, "skipped: "+why) }

// advise is a failure with what a person should do about it.
func advise(err error, advice string) error {
	if advice == "" {
		return err
	}
	sep := ". "
	if strings.HasSuffix(err.Error(), ".") {
		sep = " "
	}
	return fmt.Errorf("%w%sWhat to do: %s", err, sep, advice)
}

func (c *mailChecker) run(ctx context.Context) []checkStep {
	switch {
	case c.cfg.ReadsGraph(): // Graph's steps below
	case c.cfg.IMAP.Address == "":
		c.skip("imap", "imap.address is not set: no mailbox is read")
	default:
		c.checkIMAP(ctx)
	}
	switch {
	case c.cfg.SendsGraph():
	case c.cfg.SMTP.Address == "":
		c.skip("smtp", "smtp.address is not set: mail waits in the outbox")
	default:
		c.checkSMTP(ctx)
	}
	if c.graph != nil {
		c.checkGraph(ctx)
	}
	return c.steps
}

// checkGraph: the app's token for Graph, then what the service does
// through Graph: read the Inbox and find or create the folders it moves
// mail to (mail.source = "graph"), send from the mailbox (mail.sender =
// "graph", probed with a message that cannot be sent).
func (c *mailChecker) checkGraph(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*c.timeout)
	defer cancel()
	tok, err := c.graphSrc.Token(ctx)
	if err != nil {
		var me *mailauth.Error
		advice := ""
		if errors.As(err, &me) {
			advice = me.Advice
		}
		c.add("graph token", advise(err, advice), "")
		return
	}
	detail := "a token for Microsoft Graph from " + c.graphSrc.Config().Provider + " (the app's own credentials)"
	if !tok.Expiry.IsZero() {
		detail += ", valid until " + tok.Expiry.In(casefile.London).Format("15:04 on 2 January")
	}
	c.add("graph token", nil, detail)
	what := graph.Checks{Read: c.cfg.ReadsGraph(), Send: c.cfg.SendsGraph()}
	if what.Read {
		what.Folders = []string{c.cfg.Graph.Processed, c.cfg.Graph.Quarantine}
	}
	for _, st := range c.graph.CheckWith(ctx, c.cfg.Graph.Mailbox, what) {
		if st.Step == "graph token" {
			continue // taken above, with what to do about a failure
		}
		c.steps = append(c.steps, checkStep(st))
	}
}

// getToken is the "oauth2 token" step, taken once, before the first
// sign-in that needs it.
func (c *mailChecker) getToken(ctx context.Context) (mailauth.Token, bool) {
	if c.tokenGot {
		return c.token, c.tokenErr == nil
	}
	c.tokenGot = true
	c.token, c.tokenErr = c.src.Token(ctx)
	if c.tokenErr != nil {
		var me *mailauth.Error
		advice := ""
		if errors.As(c.tokenErr, &me) {
			advice = me.Advice
		}
		c.add("oauth2 token", advise(c.tokenErr, advice), "")
		return c.token, false
	}
	o := c.src.Config()
	detail := fmt.Sprintf("a token from %s (%s)", o.Provider, flowName(o.Flow))
	if !c.token.Expiry.IsZero() {
		detail += ", valid until " + c.token.Expiry.In(casefile.London).Format("15:04 on 2 January")
	}
	c.add("oauth2 token", nil, detail)
	return c.token, true
}

func flowName(flow string) string {
	if flow == mailauth.DeviceCode {
		return "the stored sign-in of `trigger mail login`"
	}
	return "the app's own credentials"
}

// dial is the resolve, connect steps of one server; it returns the
// connection and whether the host is this machine (where tls = "none" is
// harmless).
func (c *mailChecker) dial(ctx context.Context, proto, addr string) (net.Conn, bool, bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		c.add(proto+" resolve", fmt.Errorf("%s.address %q is not host:port: %w", proto, addr, err), "")
		return nil, false, false
	}
	var ips []string
	if ip := net.ParseIP(host); ip != nil {
		ips = []string{host}
		c.add(proto+" resolve", nil, host+" is an IP address")
	} else {
		ips, err = net.DefaultResolver.LookupHost(ctx, host)
		if err != nil {
			c.add(proto+" resolve", advise(fmt.Errorf("%s does not resolve: %w", host, err), "check "+proto+".address and this machine's DNS"), "")
			return nil, false, false
		}
		more := ""
		if len(ips) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(ips)-1)
		}
		c.add(proto+" resolve", nil, host+" is "+ips[0]+more)
	}
	loopback := host == "localhost"
	for _, a := range ips {
		ip := net.ParseIP(a)
		loopback = loopback || (ip != nil && ip.IsLoopback())
	}
	d := net.Dialer{Timeout: c.timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		advice := "check " + proto + ".address (its port: " + port + ") and that this machine may reach it (firewall, proxy)"
		c.add(proto+" connect", advise(fmt.Errorf("cannot connect to %s (%s): %w", addr, networkKind(err), err), advice), "")
		return nil, false, false
	}
	conn.SetDeadline(time.Now().Add(c.timeout))
	c.add(proto+" connect", nil, "connected to "+conn.RemoteAddr().String())
	return conn, loopback, true
}

func (c *mailChecker) tlsFor(addr string) *tls.Config {
	cfg := &tls.Config{}
	if c.tlsConfig != nil {
		cfg = c.tlsConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName, _, _ = net.SplitHostPort(addr)
	}
	return cfg
}

// tlsDetail says what was negotiated with addr: the version, and until
// when the certificate (verified for addr's host) is valid.
func tlsDetail(st tls.ConnectionState, addr string) string {
	d := tls.VersionName(st.Version)
	if len(st.PeerCertificates) > 0 {
		host, _, _ := net.SplitHostPort(addr)
		d += fmt.Sprintf(", certificate for %s valid until %s", host, st.PeerCertificates[0].NotAfter.Format("2 January 2006"))
	}
	return d
}

// noTLS is the TLS step with tls = "none": skipped on this machine, where
// nothing crosses a network; a failure elsewhere when a password or token
// would cross it in clear.
func (c *mailChecker) noTLS(proto string, loopback, signsIn bool) bool {
	switch {
	case loopback:
		c.skip(proto+" tls", `tls = "none" to this machine (a loopback address)`)
	case signsIn:
		return c.add(proto+" tls", advise(errors.New(`tls = "none" would send the sign-in unencrypted over the network`), "set "+proto+`.tls = "implicit" (port 993 for IMAP, 465 for SMTP) or "starttls" (587 for SMTP)`), "")
	default:
		c.add(proto+" tls", nil, `none: tls = "none" sends mail unencrypted over the network`)
	}
	return true
}

// checkIMAP: resolve, connect, TLS, token, sign in, capabilities, the
// mailbox and the folders the watcher moves mail to.
func (c *mailChecker) checkIMAP(ctx context.Context) {
	ic := c.cfg.IMAP
	conn, loopback, ok := c.dial(ctx, "imap", ic.Address)
	if !ok {
		return
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var cl *imapclient.Client
	switch ic.TLS {
	case "none":
		if !c.noTLS("imap", loopback, true) {
			return
		}
		cl = imapclient.New(conn, nil)
	case "starttls":
		var err error
		if cl, err = imapclient.NewStartTLS(conn, &imapclient.Options{TLSConfig: c.tlsFor(ic.Address)}); err != nil {
			c.add("imap tls", advise(fmt.Errorf("STARTTLS: %w", err), "check imap.tls: Microsoft 365 and Gmail take implicit TLS on port 993"), "")
			return
		}
		c.add("imap tls", nil, "STARTTLS")
	default:
		tc := tls.Client(conn, c.tlsFor(ic.Address))
		if err := tc.HandshakeContext(ctx); err != nil {
			c.add("imap tls", advise(fmt.Errorf("TLS: %w", err), "check imap.address and imap.tls (implicit TLS is port 993; starttls is port 143)"), "")
			return
		}
		c.add("imap tls", nil, tlsDetail(tc.ConnectionState(), ic.Address))
		cl = imapclient.New(tc, nil)
	}
	defer cl.Close()
	if err := cl.WaitGreeting(); err != nil {
		c.add("imap sign-in", fmt.Errorf("the server did not greet: %w", err), "")
		return
	}

	usesToken := ic.Auth == casefile.AuthOAuth2
	if usesToken {
		tok, ok := c.getToken(ctx)
		if !ok {
			c.add("imap sign-in", errors.New("not tried: no token (see oauth2 token)"), "")
			return
		}
		mech := mailauth.PickMechanism(func(m string) bool { return cl.Caps().Has(imap.AuthCap(m)) })
		if mech == "" {
			c.add("imap sign-in", advise(fmt.Errorf("%s offers neither XOAUTH2 nor OAUTHBEARER (it offers %s)", ic.Address, authCaps(cl.Caps())), "a server that takes tokens offers them: check imap.address"), "")
			return
		}
		sc := mailauth.NewSASLClient(mailauth.IMAP, mech, ic.Username, tok.AccessToken)
		if err := cl.Authenticate(sc); err != nil {
			c.add("imap sign-in", refusedFreshToken(fmt.Errorf("%s sign-in as %s: %w", mech, ic.Username, err)), "")
			return
		}
		c.add("imap sign-in", nil, "signed in as "+ic.Username+" with "+mech)
	} else {
		var err error
		switch {
		case c.cfg.Secrets.IMAPPassword == "":
			err = errors.New("TRIGGER_IMAP_PASSWORD is not set (nor TRIGGER_IMAP_PASSWORD_FILE)")
		case cl.Caps().Has(imap.AuthCap(sasl.Plain)):
			err = cl.Authenticate(sasl.NewPlainClient("", ic.Username, c.cfg.Secrets.IMAPPassword))
		default:
			err = cl.Login(ic.Username, c.cfg.Secrets.IMAPPassword).Wait()
		}
		if err != nil {
			err = fmt.Errorf("password sign-in as %s: %w", ic.Username, err)
			if p, ok := mailauth.ExplainSignIn(err, false); ok {
				err = advise(err, p.Advice)
			}
			c.add("imap sign-in", err, "")
			return
		}
		c.add("imap sign-in", nil, "signed in as "+ic.Username+" with a password")
	}

	caps := cl.Caps()
	var have, notes []string
	for _, x := range []struct {
		cap  imap.Cap
		note string
	}{
		{imap.CapIdle, fmt.Sprintf("without IDLE new mail is noticed every imap.poll_interval (%s)", ic.PollInterval.Duration)},
		{imap.CapMove, "without MOVE a message is copied to its folder, then deleted"},
		{imap.CapUIDPlus, "without UIDPLUS (and MOVE) the mailbox is expunged whole after a copy"},
	} {
		if caps.Has(x.cap) {
			have = append(have, string(x.cap)+" yes")
		} else {
			have = append(have, string(x.cap)+" no")
			notes = append(notes, x.note)
		}
	}
	detail := strings.Join(have, ", ")
	if len(notes) > 0 {
		detail += " (" + strings.Join(notes, "; ") + ")"
	}
	c.add("imap capabilities", nil, detail)

	sel, err := cl.Select(ic.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		c.add("imap mailbox", advise(fmt.Errorf("cannot open %s: %w", ic.Mailbox, err), "check imap.mailbox, and that "+ic.Username+" may open it"), "")
		return
	}
	c.add("imap mailbox", nil, ic.Mailbox+" holds "+casefile.Count(int(sel.NumMessages), "message", "messages"))
	for _, f := range []struct{ step, name string }{{"imap folder processed", ic.Processed}, {"imap folder quarantine", ic.Quarantine}} {
		c.checkFolder(cl, f.step, f.name)
	}
	cl.Logout().Wait()
}

// checkFolder finds a folder the watcher moves mail to, and creates it
// when it is missing, as the watcher would at its first connection.
func (c *mailChecker) checkFolder(cl *imapclient.Client, step, name string) {
	if name == c.cfg.IMAP.Mailbox {
		c.skip(step, name+" is the mailbox itself")
		return
	}
	found, err := cl.List("", name, nil).Collect()
	if err != nil {
		c.add(step, fmt.Errorf("cannot list %s: %w", name, err), "")
		return
	}
	if len(found) > 0 {
		c.add(step, nil, name+" exists")
		return
	}
	if err := cl.Create(name, nil).Wait(); err != nil {
		c.add(step, advise(fmt.Errorf("%s is missing and cannot be created: %w", name, err), "create the folder "+name+" in the mailbox by hand"), "")
		return
	}
	c.add(step, nil, name+" was missing and has been created (the service would have created it too)")
}

func authCaps(caps imap.CapSet) string {
	var out []string
	for cp := range caps {
		if strings.HasPrefix(string(cp), "AUTH=") {
			out = append(out, string(cp))
		}
	}
	if len(out) == 0 {
		return "no AUTH= mechanism"
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// refusedFreshToken explains a server's refusal of a token the provider
// issued moments ago: the token is good, so the server refuses the
// mailbox to it (Exchange's service principal or mailbox permission,
// Google's delegation) — whatever form the refusal takes.
func refusedFreshToken(err error) error {
	if !mailauth.IsRefused(err) {
		var se *smtp.SMTPError
		var ie *imap.Error
		if !errors.As(err, &se) && !errors.As(err, &ie) {
			return err // not the server's answer: a network failure
		}
	}
	if p, ok := mailauth.ExplainSignIn(err, true); ok && p.Code != mailauth.CodeTokenRefused {
		return advise(err, p.Advice)
	}
	// A refusal in an error challenge (Google, Dovecot) reads as a bad
	// token; but this token is fresh, so what is missing is the mailbox's
	// permission. ExplainSignIn says so of Exchange's plain refusal.
	p, _ := mailauth.ExplainSignIn(errors.New("AUTHENTICATE failed"), true)
	return advise(fmt.Errorf("%w: the token is fresh from the provider, so the mailbox is not open to it: the service principal or mailbox permission is missing, or the username is not the mailbox the app may open", err), p.Advice)
}

// checkSMTP: resolve, connect, TLS, sign in, and the sender address (MAIL
// FROM, then RSET and QUIT: nothing is sent).
func (c *mailChecker) checkSMTP(ctx context.Context) {
	sc := c.cfg.SMTP
	conn, loopback, ok := c.dial(ctx, "smtp", sc.Address)
	if !ok {
		return
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	usesToken := sc.Auth == casefile.AuthOAuth2
	signsIn := usesToken || sc.Username != ""
	var cl *smtp.Client
	switch sc.TLS {
	case "none":
		if !c.noTLS("smtp", loopback, signsIn) {
			return
		}
		cl = smtp.NewClient(conn)
	case "implicit":
		tc := tls.Client(conn, c.tlsFor(sc.Address))
		if err := tc.HandshakeContext(ctx); err != nil {
			c.add("smtp tls", advise(fmt.Errorf("TLS: %w", err), "check smtp.address and smtp.tls (implicit TLS is port 465; starttls is port 587)"), "")
			return
		}
		c.add("smtp tls", nil, tlsDetail(tc.ConnectionState(), sc.Address))
		cl = smtp.NewClient(tc)
	default:
		var err error
		if cl, err = smtp.NewClientStartTLS(conn, c.tlsFor(sc.Address)); err != nil {
			c.add("smtp tls", advise(fmt.Errorf("STARTTLS: %w", err), "check smtp.address and smtp.tls (Microsoft 365: smtp.office365.com:587 with starttls)"), "")
			return
		}
		detail := "STARTTLS"
		if st, ok := cl.TLSConnectionState(); ok {
			detail += ", " + tlsDetail(st, sc.Address)
		}
		c.add("smtp tls", nil, detail)
	}
	defer cl.Close()
	if err := cl.Hello(messageDomain(sc)); err != nil {
		c.add("smtp sign-in", fmt.Errorf("EHLO: %w", err), "")
		return
	}

	switch {
	case usesToken:
		tok, ok := c.getToken(ctx)
		if !ok {
			c.add("smtp sign-in", errors.New("not tried: no token (see oauth2 token)"), "")
			return
		}
		_, offered := cl.Extension("AUTH")
		mechs := strings.Fields(strings.ToUpper(offered))
		mech := mailauth.PickMechanism(func(m string) bool { return slices.Contains(mechs, m) })
		if mech == "" {
			err := fmt.Errorf("%s offers AUTH %q: neither XOAUTH2 nor OAUTHBEARER", sc.Address, offered)
			c.add("smtp sign-in", advise(err, "Microsoft 365: SMTP AUTH may be disabled for the tenant (Set-TransportConfig -SmtpClientAuthenticationDisabled $false) or the mailbox (Set-CASMailbox -SmtpClientAuthenticationDisabled $false)"), "")
			return
		}
		client := mailauth.NewSASLClient(mailauth.SMTP, mech, sc.Username, tok.AccessToken)
		if err := cl.Auth(client); err != nil {
			err = fmt.Errorf("AUTH %s as %s: %w", mech, sc.Username, err)
			if r := client.Refusal(); r != nil {
				err = fmt.Errorf("%w (%v)", err, r)
			}
			c.add("smtp sign-in", refusedFreshToken(err), "")
			return
		}
		c.add("smtp sign-in", nil, "signed in as "+sc.Username+" with "+mech)
	case sc.Username == "":
		c.skip("smtp sign-in", "smtp.username is not set: the server must accept mail from this machine without a sign-in")
	default:
		var err error
		if c.cfg.Secrets.SMTPPassword == "" {
			err = errors.New("TRIGGER_SMTP_PASSWORD is not set (nor TRIGGER_SMTP_PASSWORD_FILE)")
		} else {
			err = cl.Auth(sasl.NewPlainClient("", sc.Username, c.cfg.Secrets.SMTPPassword))
		}
		if err != nil {
			err = fmt.Errorf("password sign-in as %s: %w", sc.Username, err)
			if p, ok := mailauth.ExplainSignIn(err, false); ok {
				err = advise(err, p.Advice)
			}
			c.add("smtp sign-in", err, "")
			return
		}
		c.add("smtp sign-in", nil, "signed in as "+sc.Username+" with a password")
	}

	from, err := mail.ParseAddress(sc.From)
	if err != nil {
		c.add("smtp sender", fmt.Errorf("smtp.from %q is not an address: %w", sc.From, err), "")
		return
	}
	if err := cl.Mail(from.Address, nil); err != nil {
		err = fmt.Errorf("the server refuses MAIL FROM:<%s>: %w", from.Address, err)
		if p, ok := mailauth.ExplainSignIn(err, usesToken); ok {
			err = advise(err, p.Advice)
		} else {
			err = advise(err, "smtp.from must be an address the signed-in mailbox may send as (Microsoft 365: Add-RecipientPermission -AccessRights SendAs)")
		}
		c.add("smtp sender", err, "")
		return
	}
	cl.Reset()
	cl.Quit()
	c.add("smtp sender", nil, "the server accepts MAIL FROM:<"+from.Address+"> (then RSET: nothing was sent; Microsoft 365 checks send-as permission only when a message is sent)")
}

// messageDomain is the name the service says EHLO with: the domain of its
// Message-IDs, as the sender does.
func messageDomain(sc casefile.SMTPConfig) string {
	if sc.Domain != "" {
		return sc.Domain
	}
	if a, err := mail.ParseAddress(sc.From); err == nil {
		if i := strings.LastIndex(a.Address, "@"); i >= 0 {
			return a.Address[i+1:]
		}
	}
	return "localhost"
}
