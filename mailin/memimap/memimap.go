// Package memimap is an in-process IMAP server on a loopback port, holding
// one user's mailboxes in memory: the mailbox of `trigger demo` and of the
// end-to-end tests. It is go-imap's imapmemserver with an IDLE that reports
// every new message (imapmemserver's own can miss one appended while IDLE
// starts).
package memimap

import (
	"bytes"
	"net"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// Server is a running in-memory IMAP server.
type Server struct {
	User *imapmemserver.User
	Addr string
	srv  *imapserver.Server
}

// Start serves username/password's mailboxes (INBOX and the given others)
// without TLS on 127.0.0.1.
func Start(username, password string, mailboxes ...string) (*Server, error) {
	u := imapmemserver.NewUser(username, password)
	for _, name := range append([]string{"INBOX"}, mailboxes...) {
		if err := u.Create(name, nil); err != nil {
			return nil, err
		}
	}
	return Serve("127.0.0.1:0", u)
}

// Serve serves an existing user's mailboxes without TLS on addr
// ("127.0.0.1:0" for any free port). Serving a closed server's User on its
// Addr again is a server restart: the mailboxes, their messages, UIDs and
// UIDVALIDITY are as they were.
func Serve(addr string, u *imapmemserver.User) (*Server, error) {
	s := &Server{User: u}
	mem := imapmemserver.New()
	mem.AddUser(s.User)
	s.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return session{mem.NewSession().(imapserver.SessionIMAP4rev2)}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
		Logger:       discard{},
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s.Addr = ln.Addr().String()
	go s.srv.Serve(ln)
	return s, nil
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
