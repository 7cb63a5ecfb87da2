package imapwatch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/csp/trigger/internal/mailauth"
)

// conn is one signed-in connection.
type conn struct {
	c     *imapclient.Client
	token mailauth.Token // the token it signed in with; zero with a password
	bye   *byeWatch      // with a token: how the server ended the session
	stop  func() bool    // stops closing c when ctx is cancelled
}

// close ends the connection, saying LOGOUT first when polite.
func (cn *conn) close(logout bool) {
	cn.stop()
	if logout {
		cn.c.Logout().Wait()
	}
	cn.c.Close()
}

// renewal fires when the token should be replaced: the connection is then
// re-opened with a fresh one before the server ends it (Exchange does, with
// "BYE Session invalidated - AccessTokenExpired"). nil with a password.
func (cn *conn) renewal() (<-chan time.Time, func() bool) {
	if cn.token.RenewAt.IsZero() {
		return nil, func() bool { return false }
	}
	t := time.NewTimer(time.Until(cn.token.RenewAt))
	return t.C, t.Stop
}

// tokenExpired reports whether the server ended the session because the
// token expired.
func (cn *conn) tokenExpired() bool { return cn.bye != nil && cn.bye.tokenExpired() }

// errRenew ends a wait when the connection's token is due for renewal.
var errRenew = errors.New("imap: the sign-in's token is due for renewal")

// dial connects and signs in: with a token from w.OAuth (renewed and tried
// once more when the server refuses it) or with the password. wake receives
// a signal whenever the server says the mailbox has messages (EXISTS),
// which is how IDLE wakes us. Cancelling ctx closes the connection.
func (w *Watcher) dial(ctx context.Context, wake chan<- struct{}) (*conn, error) {
	var cn *conn
	if w.OAuth == nil {
		c, err := w.connect(wake, nil)
		if err != nil {
			return nil, err
		}
		if err := w.login(c); err != nil {
			c.Close()
			return nil, err
		}
		cn = &conn{c: c}
	} else {
		err := w.OAuth.SignIn(ctx, func(tok mailauth.Token) error {
			bye := &byeWatch{}
			c, err := w.connect(wake, bye)
			if err != nil {
				return err
			}
			if err := w.authenticate(c, tok.AccessToken); err != nil {
				// An AUTHENTICATE cut short leaves the server waiting
				// for an answer: the connection cannot be used again.
				c.Close()
				return err
			}
			cn = &conn{c: c, token: tok, bye: bye}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	// imapclient takes no contexts: closing the connection is how a
	// cancelled ctx interrupts whatever command is running.
	cn.stop = context.AfterFunc(ctx, func() { cn.c.Close() })
	return cn, nil
}

// connect opens a connection and waits for the greeting. bye, if set, sees
// what the server sends (and what is sent to it), to tell why the server
// ended the session.
func (w *Watcher) connect(wake chan<- struct{}, bye *byeWatch) (*imapclient.Client, error) {
	opts := &imapclient.Options{
		TLSConfig: w.TLSConfig,
		Dialer:    &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil && *d.NumMessages > 0 {
					select {
					case wake <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	if bye != nil {
		opts.DebugWriter = bye
	}
	addr := w.Config.Address
	var (
		c   *imapclient.Client
		err error
	)
	switch w.Config.TLS {
	case "none":
		c, err = imapclient.DialInsecure(addr, opts)
	case "starttls":
		c, err = imapclient.DialStartTLS(addr, opts)
	default:
		c, err = imapclient.DialTLS(addr, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("imap: connect to %s (tls %s): %w", addr, w.tlsMode(), err)
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("imap: greeting from %s: %w", addr, err)
	}
	return c, nil
}

func (w *Watcher) tlsMode() string {
	if w.Config.TLS == "" {
		return "implicit"
	}
	return w.Config.TLS
}

// login uses AUTHENTICATE PLAIN when the server offers it and LOGIN
// otherwise.
func (w *Watcher) login(c *imapclient.Client) error {
	user := w.Config.Username
	var err error
	if c.Caps().Has(imap.AuthCap(sasl.Plain)) {
		err = c.Authenticate(sasl.NewPlainClient("", user, w.Password))
	} else {
		err = c.Login(user, w.Password).Wait()
	}
	if err != nil {
		return fmt.Errorf("imap: log in as %s: %w", user, err)
	}
	return nil
}

// authenticate signs in with an access token: XOAUTH2 (which Exchange
// offers), else OAUTHBEARER. A refusal is marked as one (mailauth.Refused),
// so that a fresh token is tried.
func (w *Watcher) authenticate(c *imapclient.Client, token string) error {
	user := w.Config.Username
	mech := mailauth.PickMechanism(func(m string) bool { return c.Caps().Has(imap.AuthCap(m)) })
	if mech == "" {
		return fmt.Errorf("imap: %s offers neither XOAUTH2 nor OAUTHBEARER: it cannot sign in with a token", w.Config.Address)
	}
	sc := mailauth.NewSASLClient(mailauth.IMAP, mech, user, token)
	if err := c.Authenticate(sc); err != nil {
		err = fmt.Errorf("imap: %s sign-in as %s: %w", mech, user, err)
		var ie *imap.Error
		if errors.As(err, &ie) || sc.Refusal() != nil {
			return mailauth.Refused(err)
		}
		return err
	}
	return nil
}

// byeWatch keeps the last bytes of a connection's traffic: imapclient drops
// the text of the server's BYE, and "BYE Session invalidated -
// AccessTokenExpired" means renew the token and reconnect, not a failure.
type byeWatch struct {
	mu   sync.Mutex
	tail []byte
}

const byeTail = 512

func (b *byeWatch) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(p) >= byeTail {
		b.tail = append(b.tail[:0], p[len(p)-byeTail:]...)
	} else {
		b.tail = append(b.tail, p...)
		if over := len(b.tail) - byeTail; over > 0 {
			b.tail = append(b.tail[:0], b.tail[over:]...)
		}
	}
	return len(p), nil
}

func (b *byeWatch) tokenExpired() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := bytes.LastIndex(b.tail, []byte("* BYE "))
	return i >= 0 && bytes.Contains(b.tail[i:], []byte("AccessTokenExpired"))
}

// ensureFolders creates the Processed and Quarantine folders if missing.
func (w *Watcher) ensureFolders(c *imapclient.Client) error {
	for _, name := range []string{w.Config.Processed, w.Config.Quarantine} {
		if name == w.Config.Mailbox {
			continue
		}
		found, err := c.List("", name, nil).Collect()
		if err != nil {
			return fmt.Errorf("imap: list %s: %w", name, err)
		}
		if len(found) > 0 {
			continue
		}
		if err := c.Create(name, nil).Wait(); err != nil {
			var ie *imap.Error
			if errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists {
				continue
			}
			return fmt.Errorf("imap: create folder %s: %w", name, err)
		}
		w.log().Info("imap: created folder", "folder", name)
	}
	return nil
}

// session is one connection: it drains the mailbox, then (watch) waits for
// more with IDLE or polling until the connection fails or ctx is cancelled.
// Without watch it returns once the mailbox holds nothing more to do. ready
// reports whether it got as far as the selected mailbox. A connection signed
// in with a token is re-opened with a fresh one before the token expires, or
// at once when the server ends it for an expired token; that is not a
// failure.
func (w *Watcher) session(ctx context.Context, watch bool, st *Stats) (ready bool, err error) {
	wake := make(chan struct{}, 1)
	cn, err := w.dial(ctx, wake)
	if err != nil {
		return false, err
	}
	defer func() {
		w.setConnected(false)
		cn.close(!watch && err == nil)
	}()
	if err := w.ensureFolders(cn.c); err != nil {
		return false, err
	}
	idle := !w.noIdle && cn.c.Caps().Has(imap.CapIdle)
	var seen imap.UID   // the highest UID the previous pass found
	var byeAt time.Time // when the server last ended a session for its token
	for {
		select {
		case <-wake:
		default:
		}
		p, err := w.pass(ctx, cn.c, st)
		ready = ready || p.selected
		if ctx.Err() != nil {
			return ready, ctx.Err()
		}
		if err == nil {
			fresh := p.maxUID > seen
			seen = max(seen, p.maxUID)
			err = w.wait(ctx, cn, watch && idle, watch, fresh, p.retry, wake)
			if errors.Is(err, errDone) {
				return true, nil
			}
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, errRenew) && !cn.tokenExpired() {
			return ready, err
		}
		if cn.tokenExpired() {
			// A server that keeps calling fresh tokens expired (a clock
			// far off) gets the reconnection backoff, not a busy loop.
			if time.Since(byeAt) < time.Minute {
				return ready, fmt.Errorf("%w (the server ended the session for an expired token twice within a minute)", err)
			}
			byeAt = time.Now()
		}
		if cn, err = w.reopen(ctx, cn, wake); err != nil {
			return ready, err
		}
	}
}

// reopen replaces a connection whose token is due or expired with one
// signed in with a fresh token, then closes the old one.
func (w *Watcher) reopen(ctx context.Context, old *conn, wake chan<- struct{}) (*conn, error) {
	expired := old.tokenExpired()
	if expired {
		w.OAuth.Invalidate(old.token.AccessToken)
	}
	w.log().Info("imap: re-opening the connection with a fresh token", "server_ended_it", expired)
	cn, err := w.dial(ctx, wake)
	if err != nil {
		return old, err
	}
	old.close(!expired)
	if err := w.ensureFolders(cn.c); err != nil {
		return cn, err
	}
	return cn, nil
}

// errDone ends a FetchOnce session: nothing more to do.
var errDone = errors.New("done")

// wait waits for the next pass: new mail, a retry falling due, the poll
// interval; without watch, only for a retry (and errDone when none).
func (w *Watcher) wait(ctx context.Context, cn *conn, idle, watch, fresh, needRetry bool, wake chan struct{}) error {
	var retry <-chan time.Time
	if needRetry {
		t := time.NewTimer(w.RetryDelay)
		defer t.Stop()
		retry = t.C
	}
	if !watch {
		switch {
		case fresh:
			return nil // look again: more may have come meanwhile
		case !needRetry:
			return errDone
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-retry:
			return nil
		}
	}
	renew, stopRenew := cn.renewal()
	defer stopRenew()
	if idle {
		return w.idle(ctx, cn.c, wake, retry, renew)
	}
	poll := time.NewTimer(w.Config.PollInterval.Duration)
	defer poll.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-cn.c.Closed():
		return errors.New("imap: connection closed by the server")
	case <-renew:
		return errRenew
	case <-retry:
	case <-wake:
	case <-poll.C:
	}
	return nil
}

// idle waits in IDLE until new mail (EXISTS), a retry is due, IdleRefresh
// has passed, the token is due for renewal (errRenew), or the connection
// ends.
func (w *Watcher) idle(ctx context.Context, c *imapclient.Client, wake <-chan struct{}, retry, renew <-chan time.Time) error {
	cmd, err := c.Idle()
	if err != nil {
		return fmt.Errorf("imap: idle: %w", err)
	}
	if w.idleHook != nil {
		w.idleHook()
	}
	refresh := time.NewTimer(w.IdleRefresh)
	defer refresh.Stop()
	renewing := false
	select {
	case <-ctx.Done():
	case <-c.Closed():
	case <-wake:
	case <-retry:
	case <-refresh.C:
	case <-renew:
		renewing = true
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("imap: stop idle: %w", err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("imap: idle: %w", err)
	}
	if renewing {
		return errRenew
	}
	return nil
}
