package imapwatch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// dial connects and logs in. wake receives a signal whenever the server
// says the mailbox has messages (EXISTS), which is how IDLE wakes us.
func (w *Watcher) dial(wake chan<- struct{}) (*imapclient.Client, error) {
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
	if err := w.login(c); err != nil {
		c.Close()
		return nil, err
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
// reports whether it got as far as the selected mailbox.
func (w *Watcher) session(ctx context.Context, watch bool, st *Stats) (ready bool, err error) {
	wake := make(chan struct{}, 1)
	c, err := w.dial(wake)
	if err != nil {
		return false, err
	}
	// imapclient takes no contexts: closing the connection is how a
	// cancelled ctx interrupts whatever command is running.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer func() {
		stop()
		w.setConnected(false)
		if !watch && err == nil {
			c.Logout().Wait()
		}
		c.Close()
	}()
	if err := w.ensureFolders(c); err != nil {
		return false, err
	}
	idle := !w.noIdle && c.Caps().Has(imap.CapIdle)
	var seen imap.UID // the highest UID the previous pass found
	for {
		select {
		case <-wake:
		default:
		}
		p, err := w.pass(ctx, c, st)
		ready = ready || p.selected
		if ctx.Err() != nil {
			return ready, ctx.Err()
		}
		if err != nil {
			return ready, err
		}
		fresh := p.maxUID > seen
		seen = max(seen, p.maxUID)
		if err := w.wait(ctx, c, watch && idle, watch, fresh, p.retry, wake); err != nil {
			if errors.Is(err, errDone) {
				return true, nil
			}
			return true, err
		}
	}
}

// errDone ends a FetchOnce session: nothing more to do.
var errDone = errors.New("done")

// wait waits for the next pass: new mail, a retry falling due, the poll
// interval; without watch, only for a retry (and errDone when none).
func (w *Watcher) wait(ctx context.Context, c *imapclient.Client, idle, watch, fresh, needRetry bool, wake chan struct{}) error {
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
	if idle {
		return w.idle(ctx, c, wake, retry)
	}
	poll := time.NewTimer(w.Config.PollInterval.Duration)
	defer poll.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.Closed():
		return errors.New("imap: connection closed by the server")
	case <-retry:
	case <-wake:
	case <-poll.C:
	}
	return nil
}

// idle waits in IDLE until new mail (EXISTS), a retry is due, IdleRefresh
// has passed, or the connection ends.
func (w *Watcher) idle(ctx context.Context, c *imapclient.Client, wake <-chan struct{}, retry <-chan time.Time) error {
	cmd, err := c.Idle()
	if err != nil {
		return fmt.Errorf("imap: idle: %w", err)
	}
	if w.idleHook != nil {
		w.idleHook()
	}
	refresh := time.NewTimer(w.IdleRefresh)
	defer refresh.Stop()
	select {
	case <-ctx.Done():
	case <-c.Closed():
	case <-wake:
	case <-retry:
	case <-refresh.C:
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
	return nil
}
