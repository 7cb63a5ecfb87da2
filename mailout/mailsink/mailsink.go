// Package mailsink is an in-process SMTP server that keeps what it
// receives: the mail sink of the tests and of `trigger demo`. It speaks real
// SMTP (go-smtp), so the sender under test goes through its whole path.
package mailsink

import (
	"bytes"
	"errors"
	"io"
	"log"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/csp/trigger/internal/oauthemu"
)

// Message is one delivered message.
type Message struct {
	From string
	To   []string
	Data []byte
	At   time.Time
}

// Sink is a running SMTP server on a loopback address.
type Sink struct {
	srv  *smtp.Server
	ln   net.Listener
	addr string

	mu       sync.Mutex
	msgs     []Message
	changed  chan struct{}
	rejectTo map[string]string // recipient → permanent error text
	down     bool              // answer every transaction with a temporary error
	user     string
	pass     string
	verify   func(user, token string) error
}

// Options configure a Sink.
type Options struct {
	Addr     string // default 127.0.0.1:0
	Username string // when set, AUTH PLAIN with Password is required
	Password string
	// VerifyToken, when set, offers XOAUTH2 and OAUTHBEARER (as Gmail
	// runs them: the token after the 334, an error challenge for a refused
	// one) and requires sign-in; it checks a mailbox and its token
	// (oauthemu's Server.Verify).
	VerifyToken func(user, token string) error
	// Quiet drops the server's log of broken sessions (go-smtp writes them
	// to stderr): the crash tests kill senders mid-session on purpose.
	Quiet bool
}

// Start starts a sink.
func Start(o Options) (*Sink, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	s := &Sink{changed: make(chan struct{}), rejectTo: map[string]string{}, user: o.Username, pass: o.Password, verify: o.VerifyToken}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "sink.localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.MaxMessageBytes = 64 << 20
	s.srv.ReadTimeout = time.Minute
	s.srv.WriteTimeout = time.Minute
	if o.VerifyToken != nil {
		s.srv.MaxLineLength = 16 << 10 // a token's line: Microsoft's pass 4 KB
	}
	if o.Quiet {
		s.srv.ErrorLog = log.New(io.Discard, "", 0)
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, err
	}
	s.ln, s.addr = ln, ln.Addr().String()
	go s.srv.Serve(ln)
	return s, nil
}

// Addr is the host:port the sink listens on.
func (s *Sink) Addr() string { return s.addr }

// Close stops the sink.
func (s *Sink) Close() error { return s.srv.Close() }

// Messages returns what was delivered so far.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Changed returns a channel closed at the next delivery.
func (s *Sink) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Reject makes every message to addr fail with 550.
func (s *Sink) Reject(addr, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectTo[addr] = text
}

// SetDown makes the sink answer 421 (try later) while down is true.
func (s *Sink) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

type backend struct{ s *Sink }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.s.mu.Lock()
	down := b.s.down
	b.s.mu.Unlock()
	if down {
		return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "sink is down, try later"}
	}
	return &session{s: b.s}, nil
}

type session struct {
	s      *Sink
	authed bool
	from   string
	to     []string
}

func (ss *session) AuthMechanisms() []string {
	var mechs []string
	if ss.s.user != "" {
		mechs = append(mechs, sasl.Plain)
	}
	if ss.s.verify != nil {
		mechs = append(mechs, "XOAUTH2", sasl.OAuthBearer)
	}
	return mechs
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if ss.s.verify != nil && (mech == "XOAUTH2" || mech == sasl.OAuthBearer) {
		return oauthemu.NewSASLServer(mech, func(user, token string) error {
			if err := ss.s.verify(user, token); err != nil {
				return err
			}
			ss.authed = true
			return nil
		}), nil
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.user || password != ss.s.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "authentication failed"}
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if (ss.s.user != "" || ss.s.verify != nil) && !ss.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	text, reject := ss.s.rejectTo[to]
	ss.s.mu.Unlock()
	if reject {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: text}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return err
	}
	if len(ss.to) == 0 {
		return errors.New("no recipients")
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	ss.s.msgs = append(ss.s.msgs, Message{From: ss.from, To: ss.to, Data: buf.Bytes(), At: time.Now()})
	close(ss.s.changed)
	ss.s.changed = make(chan struct{})
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }
