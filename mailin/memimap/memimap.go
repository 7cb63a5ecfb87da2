// Package memimap is an in-process IMAP server on a loopback port, holding
// one user's mailboxes in memory: the mailbox of `trigger demo` and of the
// end-to-end tests. It is go-imap's imapmemserver with an IDLE that reports
// every new message (imapmemserver's own can miss one appended while IDLE
// starts).
package memimap

import (
	"bytes"
	"crypto/tls"
	"net"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// Server is a running in-memory IMAP server.
type Server struct {
	User    *imapmemserver.User
	Addr    string
	srv     *imapserver.Server
	accepts atomic.Int32
}

// Options configure a server beyond the defaults, for tests of how a
// client copes: fewer capabilities, TLS, connections that misbehave.
type Options struct {
	Caps      imap.CapSet // default IMAP4rev1 and IMAP4rev2 (so IDLE, MOVE …)
	TLS       string      // "" (none), "implicit" or "starttls"
	TLSConfig *tls.Config // the server's certificate, for TLS
	// Wrap, if set, wraps each accepted connection; n counts them from 1.
	Wrap func(n int32, c net.Conn) net.Conn
}

// Start serves username/password's mailboxes (INBOX and the given others)
// without TLS on 127.0.0.1.
func Start(username, password string, mailboxes ...string) (*Server, error) {
	u, err := NewUser(username, password, mailboxes...)
	if err != nil {
		return nil, err
	}
	return Serve("127.0.0.1:0", u)
}

// NewUser makes a user with INBOX and the given mailboxes.
func NewUser(username, password string, mailboxes ...string) (*imapmemserver.User, error) {
	u := imapmemserver.NewUser(username, password)
	for _, name := range append([]string{"INBOX"}, mailboxes...) {
		if err := u.Create(name, nil); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// Serve serves an existing user's mailboxes without TLS on addr
// ("127.0.0.1:0" for any free port). Serving a closed server's User on its
// Addr again is a server restart: the mailboxes, their messages, UIDs and
// UIDVALIDITY are as they were.
func Serve(addr string, u *imapmemserver.User) (*Server, error) {
	return ServeWith(addr, u, Options{})
}

// ServeWith is Serve with options.
func ServeWith(addr string, u *imapmemserver.User, o Options) (*Server, error) {
	s := &Server{User: u}
	mem := imapmemserver.New()
	mem.AddUser(s.User)
	caps := o.Caps
	if caps == nil {
		caps = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}
	}
	opts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return session{mem.NewSession().(imapserver.SessionIMAP4rev2)}, nil, nil
		},
		Caps:         caps,
		InsecureAuth: o.TLS == "",
		Logger:       discard{},
	}
	if o.TLS == "starttls" {
		opts.TLSConfig = o.TLSConfig
	}
	s.srv = imapserver.New(opts)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s.Addr = ln.Addr().String()
	var l net.Listener = &countingListener{Listener: ln, s: s, wrap: o.Wrap}
	if o.TLS == "implicit" {
		l = tls.NewListener(l, o.TLSConfig)
	}
	go s.srv.Serve(l)
	return s, nil
}

// Accepts counts the connections accepted so far.
func (s *Server) Accepts() int32 { return s.accepts.Load() }

type countingListener struct {
	net.Listener
	s    *Server
	wrap func(n int32, c net.Conn) net.Conn
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	n := l.s.accepts.Add(1)
	if l.wrap != nil {
		c = l.wrap(n, c)
	}
	return c, nil
}

// Close stops the server and drops every connection; the mailboxes stay
// in User.
func (s *Server) Close() error { return s.srv.Close() }

// Append delivers a message to a mailbox.
func (s *Server) Append(mailbox string, raw []byte, at time.Time) error {
	_, err := s.User.Append(mailbox, literal{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{Time: at})
	return err
}

// Count returns how many messages a mailbox holds.
func (s *Server) Count(mailbox string) (int, error) {
	st, err := s.User.Status(mailbox, &imap.StatusOptions{NumMessages: true})
	if err != nil {
		return 0, err
	}
	return int(*st.NumMessages), nil
}

type literal struct {
	*bytes.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }

type session struct {
	imapserver.SessionIMAP4rev2
}

// Idle polls for updates while idling, so that every EXISTS is sent, as a
// real server does.
func (s session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := s.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
	}
}

type discard struct{}

func (discard) Printf(string, ...any) {}
