package mailout_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// sink is an SMTP server on 127.0.0.1 that keeps what it is sent, the mail
// sink of the tests. It can refuse recipients, require AUTH PLAIN, offer
// STARTTLS or speak implicit TLS, and be stopped and started again on the
// same address.
type sink struct {
	Addr string

	// set before use
	RcptError error       // returned to every RCPT TO
	User      string      // AUTH PLAIN required when set
	Pass      string      //
	TLS       *tls.Config // offered with STARTTLS, or implicit when Implicit
	Implicit  bool

	mu       sync.Mutex
	msgs     []sunk
	dataFail int // answer the next DATAs with 451
	srv      *smtp.Server
	tb       testing.TB
}

// failData makes the next n messages fail at the end of DATA with 451.
func (s *sink) failData(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dataFail = n
}

type sunk struct {
	From string
	To   []string
	Data []byte
	User string // who authenticated
}

// newSink reserves an address; start the server with Start.
func newSink(tb testing.TB) *sink {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &sink{Addr: addr, tb: tb}
	tb.Cleanup(s.Stop)
	return s
}

func startSink(tb testing.TB) *sink {
	s := newSink(tb)
	s.Start()
	return s
}

// Start serves on the sink's address.
func (s *sink) Start() {
	s.tb.Helper()
	var l net.Listener
	var err error
	for range 50 { // the port was ours a moment ago; it may linger
		if l, err = net.Listen("tcp", s.Addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.tb.Fatal(err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &sinkSession{sink: s}, nil
	}))
	srv.Domain = "sink.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = nopLogger{}
	if s.TLS != nil {
		srv.TLSConfig = s.TLS
		if s.Implicit {
			l = tls.NewListener(l, s.TLS)
		}
	} else {
		srv.AllowInsecureAuth = true
	}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go srv.Serve(l)
}

// Stop closes the server: connections are refused until Start.
func (s *sink) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

func (s *sink) Messages() []sunk {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sunk(nil), s.msgs...)
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}

type sinkSession struct {
	sink *sink
	user string
	msg  sunk
}

func (ss *sinkSession) AuthMechanisms() []string {
	if ss.sink.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *sinkSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != ss.sink.User || pass != ss.sink.Pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		ss.user = user
		return nil
	}), nil
}

func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.sink.User != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.msg = sunk{From: from, User: ss.user}
	return nil
}

func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.sink.RcptError != nil {
		return ss.sink.RcptError
	}
	ss.msg.To = append(ss.msg.To, to)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.msg.Data = b
	ss.sink.mu.Lock()
	defer ss.sink.mu.Unlock()
	if ss.sink.dataFail > 0 {
		ss.sink.dataFail--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	ss.sink.msgs = append(ss.sink.msgs, ss.msg)
	return nil
}

func (ss *sinkSession) Reset()        { ss.msg = sunk{} }
func (ss *sinkSession) Logout() error { return nil }

var _ smtp.AuthSession = (*sinkSession)(nil)

func isSMTPCode(err error, code int) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code == code
}
