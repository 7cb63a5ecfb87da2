package mailout

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/internal/mailauth"
)

// Send composes m and delivers it to the configured SMTP server (through
// Microsoft Graph when Graph is set: see sendGraph). It fills
// From from smtp.from and Date from the store's clock when they are empty,
// and returns the bytes sent.
//
// Its errors say what to do: a *casefile.PermanentError when the server
// refused this message for good (5xx to RCPT TO or DATA, or no recipient
// accepted); anything else is temporary and worth retrying (network, TLS,
// 4xx, and 5xx before the message is named, which are configuration or
// server faults that retrying after a fix will cure).
func (s *Sender) Send(ctx context.Context, m Message) ([]byte, error) {
	return s.send(ctx, m, nil)
}

// send is Send with a hook called just before the message is handed over
// (DATA): an error from it stops the transaction before anything is sent.
func (s *Sender) send(ctx context.Context, m Message, handOver func() error) ([]byte, error) {
	if m.From == "" {
		m.From = s.Config.From
	}
	if m.Date.IsZero() {
		m.Date = s.now()
	}
	raw, err := Compose(m)
	if err != nil {
		return nil, casefile.Permanent(err)
	}
	from, err := bareAddress(m.From)
	if err != nil {
		return nil, casefile.Permanent(err)
	}
	var to []string
	for _, r := range m.To {
		a, err := bareAddress(r)
		if err != nil {
			return nil, casefile.Permanent(err)
		}
		to = append(to, a)
	}
	if s.Graph != nil {
		err = s.sendGraph(ctx, raw, handOver)
	} else {
		err = s.sendRaw(ctx, from, to, raw, handOver)
	}
	if err != nil {
		return nil, err
	}
	return raw, nil
}

// SendRaw runs one SMTP transaction: connect (implicit TLS, STARTTLS or
// none), AUTH with a token when OAuth is set (else PLAIN when a username is
// set), MAIL FROM, RCPT TO, DATA.
func (s *Sender) SendRaw(ctx context.Context, from string, to []string, raw []byte) error {
	return s.sendRaw(ctx, from, to, raw, nil)
}

func (s *Sender) sendRaw(ctx context.Context, from string, to []string, raw []byte, handOver func() error) (err error) {
	addr := s.Config.Address
	if addr == "" {
		return errors.New("smtp: smtp.address is not set: the email waits in the outbox")
	}
	defer func() { err = scrub(err) }() // runs last: after the deadline note below
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()

	c, err := s.dial(ctx)
	if err != nil {
		return err
	}
	// go-smtp takes no contexts: closing the connection interrupts it.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	quitting := false
	defer func() {
		stop()
		if !quitting {
			c.Close()
		}
		if ctx.Err() != nil && err != nil {
			err = fmt.Errorf("%w (%v)", err, ctx.Err())
		}
	}()

	if err := c.Hello(s.domain()); err != nil {
		return fmt.Errorf("smtp: EHLO: %w", err)
	}
	if s.OAuth != nil {
		if err := s.authToken(ctx, c); err != nil {
			return err
		}
	} else if s.Config.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return fmt.Errorf("smtp: %s offers no AUTH, but smtp.username is set", addr)
		}
		if err := c.Auth(sasl.NewPlainClient("", s.Config.Username, s.Password)); err != nil {
			return fmt.Errorf("smtp: AUTH PLAIN as %s: %w", s.Config.Username, err)
		}
	}
	if err := c.Mail(from, nil); err != nil {
		return fmt.Errorf("smtp: MAIL FROM: %w", err)
	}
	accepted := 0
	var refused error
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			if !isPermanent(err) {
				return fmt.Errorf("smtp: RCPT TO: %w", err)
			}
			refused = err
			continue
		}
		accepted++
	}
	if accepted == 0 {
		return casefile.Permanent(fmt.Errorf("smtp: RCPT TO: the recipient was refused: %w", refused))
	}
	if handOver != nil {
		if err := handOver(); err != nil {
			return fmt.Errorf("record the hand-over: %w", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return classify("DATA", err)
	}
	if _, err := w.Write(raw); err != nil {
		return classify("DATA", err)
	}
	if err := w.Close(); err != nil {
		return classify("end of DATA", err)
	}
	if refused != nil {
		s.log().Warn("smtp: some recipients were refused", "err", scrub(refused))
	}
	// The server has the message: report it sent at once, so that the
	// moment in which a crash would make the outbox send it again is as
	// short as it can be, and say goodbye to the server on the side.
	quitting = true
	go func() {
		c.Quit()
		c.Close()
	}()
	return nil
}

// authToken signs in as smtp.username with a token from s.OAuth: XOAUTH2
// (which Exchange offers), else OAUTHBEARER, the token sent after the 334.
// A refused token (535) is renewed and tried once more.
func (s *Sender) authToken(ctx context.Context, c *smtp.Client) error {
	addr, user := s.Config.Address, s.Config.Username
	if user == "" {
		return errors.New("smtp: smtp.username (the mailbox to send as) is needed to sign in with a token")
	}
	ok, offered := c.Extension("AUTH")
	mechs := strings.Fields(strings.ToUpper(offered))
	mech := mailauth.PickMechanism(func(m string) bool { return slices.Contains(mechs, m) })
	if !ok || mech == "" {
		return fmt.Errorf("smtp: %s offers AUTH %q: neither XOAUTH2 nor OAUTHBEARER, so it cannot sign in with a token", addr, offered)
	}
	return s.OAuth.SignIn(ctx, func(tok mailauth.Token) error {
		sc := mailauth.NewSASLClient(mailauth.SMTP, mech, user, tok.AccessToken)
		if err := c.Auth(sc); err != nil {
			err = fmt.Errorf("smtp: AUTH %s as %s: %w", mech, user, err)
			if r := sc.Refusal(); r != nil {
				err = fmt.Errorf("%w (%v)", err, r)
			}
			var se *smtp.SMTPError
			if errors.As(err, &se) && se.Code == 535 {
				return mailauth.Refused(err)
			}
			return err
		}
		return nil
	})
}

// dial connects and says hello over the configured kind of TLS.
func (s *Sender) dial(ctx context.Context) (*smtp.Client, error) {
	addr := s.Config.Address
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, casefile.Permanent(fmt.Errorf("smtp: smtp.address %q: %w", addr, err))
	}
	cfg := &tls.Config{}
	if s.TLSConfig != nil {
		cfg = s.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	d := net.Dialer{Timeout: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("smtp: connect to %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	switch s.Config.TLS {
	case "none":
		return smtp.NewClient(conn), nil
	case "implicit":
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("smtp: TLS with %s: %w", addr, err)
		}
		return smtp.NewClient(tc), nil
	default: // starttls
		c, err := smtp.NewClientStartTLS(conn, cfg)
		if err != nil {
			return nil, fmt.Errorf("smtp: STARTTLS with %s: %w", addr, err)
		}
		return c, nil
	}
}

// classify marks a 5xx answer about the message as permanent.
func classify(stage string, err error) error {
	err = fmt.Errorf("smtp: %s: %w", stage, err)
	if isPermanent(err) {
		return casefile.Permanent(err)
	}
	return err
}

// smtpRefused reports an answer of the SMTP server: it did not take the
// message.
func smtpRefused(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se)
}

func isPermanent(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code >= 500 && se.Code < 600
}

func bareAddress(s string) (string, error) {
	a, err := parseAddress(s)
	if err != nil {
		return "", err
	}
	return a.Address, nil
}

// addressRE finds email addresses in a server's reply, with their angle
// brackets: "<resident@example.net>" becomes "<address>".
var addressRE = regexp.MustCompile(`<?[^\s<>"'(),;:]+@[^\s<>"'(),;:]+>?`)

// scrubbedError is an SMTP error with the addresses in its text replaced:
// a server's refusal usually quotes the recipient, and the error goes to
// the log and the audit trail, where no resident's address may go. The
// original stays reachable with errors.As for classifying it.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

func scrub(err error) error {
	if err == nil {
		return nil
	}
	return &scrubbedError{msg: addressRE.ReplaceAllString(err.Error(), "<address>"), err: err}
}
