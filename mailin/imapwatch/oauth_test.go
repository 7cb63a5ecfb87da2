package imapwatch_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/internal/dovecot"
	"github.com/csp/trigger/internal/mailauth"
	"github.com/csp/trigger/internal/oauthemu"
	"github.com/csp/trigger/mailin/imapwatch"
)

const (
	oauthTenant = "contoso.onmicrosoft.com"
	oauthClient = "00000000-1111-2222-3333-444444444444"
	oauthSecret = "s3cret-value"
)

// oauthWorld is a real Dovecot whose oauth2 passdb asks an OAuth emulator
// about tokens, and a token Source for the test user's mailbox (app-only,
// as a council would set it up).
type oauthWorld struct {
	*dovecotServer
	emu *oauthemu.Server
	src *mailauth.Source
}

func startOAuthWorld(t *testing.T, lifetime, margin time.Duration) *oauthWorld {
	t.Helper()
	emu := oauthemu.New()
	emu.TokenLifetime = lifetime
	emu.AddApp(oauthemu.App{Tenant: oauthTenant, ClientID: oauthClient, Secret: oauthSecret, Mailbox: dovecot.User})
	hs := httptest.NewServer(emu)
	t.Cleanup(hs.Close)
	d, err := dovecot.StartWith(t.TempDir(), dovecot.Options{IntrospectionURL: hs.URL + "/introspect"})
	if errors.Is(err, dovecot.ErrNotInstalled) {
		t.Skip(err.Error() + " to run this test")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Close()
		if t.Failed() {
			t.Logf("dovecot log:\n%s", d.Log())
		}
	})
	src, err := mailauth.NewSource(mailauth.Config{
		Provider: mailauth.Microsoft, Tenant: oauthTenant, ClientID: oauthClient, ClientSecret: oauthSecret, BaseURL: hs.URL,
	}, mailauth.Options{Margin: margin, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return &oauthWorld{dovecotServer: &dovecotServer{d}, emu: emu, src: src}
}

// watcher signs in to addr with the world's tokens, no password.
func (o *oauthWorld) watcher(t *testing.T, addr string, s *sqlite.Store, out *outcomes) *imapwatch.Watcher {
	w := newWatcher(t, addr, s, StoreIngest(s), out)
	w.Password = ""
	w.OAuth = o.src
	return w
}

func TestOAuthDovecot(t *testing.T) {
	t.Run("FetchOnceWithAToken", func(t *testing.T) {
		o := startOAuthWorld(t, time.Hour, 5*time.Minute)
		c := o.client(t)
		o.append(t, c, "INBOX", testMessage("oa1", ""))
		s := MustOpenStore(t)
		st, err := o.watcher(t, o.Addr, s, nil).FetchOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Outcomes[casefile.OutcomeCreated] != 1 || o.count(t, c, "Processed") != 1 {
			t.Errorf("stats %+v, Processed %d; want the message filed and moved", st, o.count(t, c, "Processed"))
		}
	})

	t.Run("RevokedTokenRenewedOnce", func(t *testing.T) {
		o := startOAuthWorld(t, time.Hour, 5*time.Minute)
		tok, err := o.src.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		o.emu.RevokeToken(tok.AccessToken) // still cached by the Source
		c := o.client(t)
		o.append(t, c, "INBOX", testMessage("oa2", ""))
		s := MustOpenStore(t)
		if _, err := o.watcher(t, o.Addr, s, nil).FetchOnce(context.Background()); err != nil {
			t.Fatalf("FetchOnce = %v; want a sign-in with a fresh token", err)
		}
		if o.src.Refusals() != 1 || o.src.Renewals() != 2 || messagesStored(t, s) != 1 {
			t.Errorf("refusals %d, renewals %d, stored %d; want 1, 2, 1", o.src.Refusals(), o.src.Renewals(), messagesStored(t, s))
		}
	})

	t.Run("NoTokenNothingMoved", func(t *testing.T) {
		o := startOAuthWorld(t, time.Hour, 5*time.Minute)
		o.emu.ExpireSecret(oauthClient)
		c := o.client(t)
		o.append(t, c, "INBOX", testMessage("oa3", ""))
		s := MustOpenStore(t)
		_, err := o.watcher(t, o.Addr, s, nil).FetchOnce(context.Background())
		if mailauth.ErrorCode(err) != mailauth.CodeSecretExpired {
			t.Fatalf("FetchOnce = %v; want the expired secret", err)
		}
		if in := o.count(t, c, "INBOX"); in != 1 || messagesStored(t, s) != 0 {
			t.Errorf("INBOX %d, stored %d: the mail must wait in the mailbox", in, messagesStored(t, s))
		}
	})

	t.Run("RunSaysWhy", func(t *testing.T) {
		// While the secret is expired Run keeps trying, tells OnError
		// the token endpoint's refusal each time, and leaves the mail in
		// the mailbox; a new secret and it connects and files it.
		o := startOAuthWorld(t, time.Hour, 5*time.Minute)
		o.emu.ExpireSecret(oauthClient)
		c := o.client(t)
		o.append(t, c, "INBOX", testMessage("oa4", ""))
		s := MustOpenStore(t)
		out := newOutcomes()
		w := o.watcher(t, o.Addr, s, out)
		errs := make(chan error, 100)
		w.OnError = func(err error) {
			select {
			case errs <- err:
			default:
			}
		}
		runWatcher(t, w)
		for range 2 {
			select {
			case err := <-errs:
				if mailauth.ErrorCode(err) != mailauth.CodeSecretExpired {
					t.Fatalf("OnError(%v); want the expired secret", err)
				}
			case <-time.After(60 * time.Second): // only keeps a broken test from hanging
				t.Fatal("OnError was not called")
			}
		}
		if in := o.count(t, c, "INBOX"); in != 1 || messagesStored(t, s) != 0 {
			t.Errorf("INBOX %d, stored %d: the mail must wait in the mailbox", in, messagesStored(t, s))
		}
		o.emu.AddApp(oauthemu.App{Tenant: oauthTenant, ClientID: oauthClient, Secret: oauthSecret, Mailbox: dovecot.User}) // a new secret
		if got := out.waitFor(t, 1); got[0] != casefile.OutcomeCreated {
			t.Errorf("outcome %q, want created", got[0])
		}
	})

	t.Run("TokenExpiringDuringIdleIsReplaced", func(t *testing.T) {
		// Tokens live 4s and are renewed 2s before: the IDLE connection
		// is re-opened with a fresh token, and a message appended after
		// that is filed once.
		o := startOAuthWorld(t, 4*time.Second, 2*time.Second)
		c := o.client(t)
		s := MustOpenStore(t)
		out := newOutcomes()
		w := o.watcher(t, o.Addr, s, out)
		idling := make(chan struct{}, 100)
		imapwatch.SetIdleHook(w, func() { idling <- struct{}{} })
		runWatcher(t, w)
		<-idling
		first := o.emu.Introspected()
		waitUntil(t, "a renewed token", func() bool { return o.src.Renewals() >= 2 })
		<-idling // idling again, on the new connection
		asked := o.emu.Introspected()
		if len(asked) <= len(first) || asked[len(asked)-1] == first[len(first)-1] {
			t.Fatal("the connection was not re-opened with the fresh token")
		}
		o.append(t, c, "INBOX", testMessage("oaidle", ""))
		if got := out.waitFor(t, 1); got[0] != casefile.OutcomeCreated {
			t.Errorf("outcome %q, want created", got[0])
		}
		waitUntil(t, "the message moved", func() bool { return o.count(t, c, "Processed") == 1 })
		if n := messagesStored(t, s); n != 1 {
			t.Errorf("%d messages stored, want 1", n)
		}
		if n := out.get(casefile.OutcomeCreated) + out.get(casefile.OutcomeDuplicate); n != 1 {
			t.Errorf("handled %d times, want once", n)
		}
	})

	t.Run("ByeAccessTokenExpired", func(t *testing.T) {
		// Exchange ends a session whose token expired with a BYE: the
		// watcher renews and reconnects at once, without calling the
		// mailbox down.
		o := startOAuthWorld(t, time.Hour, 5*time.Minute)
		p := startByeProxy(t, o.Addr)
		c := o.client(t)
		s := MustOpenStore(t)
		out := newOutcomes()
		w := o.watcher(t, p.addr, s, out)
		idling := make(chan struct{}, 100)
		imapwatch.SetIdleHook(w, func() { idling <- struct{}{} })
		var mu sync.Mutex
		var changes []bool
		w.OnConnected = func(up bool) { mu.Lock(); changes = append(changes, up); mu.Unlock() }
		runWatcher(t, w)
		<-idling
		p.bye("* BYE Session invalidated - AccessTokenExpired\r\n")
		<-idling
		if o.src.Renewals() != 2 {
			t.Errorf("renewals %d; want a fresh token after the BYE", o.src.Renewals())
		}
		o.append(t, c, "INBOX", testMessage("oabye", ""))
		if got := out.waitFor(t, 1); got[0] != casefile.OutcomeCreated {
			t.Errorf("outcome %q, want created", got[0])
		}
		mu.Lock()
		defer mu.Unlock()
		if len(changes) != 1 || !changes[0] {
			t.Errorf("connected changes %v; want only the first up: a token renewal is not an outage", changes)
		}
	})
}

// waitUntil polls cond; the deadline only keeps a broken test from hanging.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("waited for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// byeProxy forwards IMAP connections to a server and can end them the way
// Exchange does when a token expires: a BYE line, then closing.
type byeProxy struct {
	addr string
	mu   sync.Mutex
	live []*proxied
}

type proxied struct {
	mu             sync.Mutex // one writer to the client at a time
	client, server net.Conn
}

func startByeProxy(t *testing.T, target string) *byeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &byeProxy{addr: ln.Addr().String()}
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.live {
			c.client.Close()
			c.server.Close()
		}
	})
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			pc := &proxied{client: client, server: server}
			p.mu.Lock()
			p.live = append(p.live, pc)
			p.mu.Unlock()
			go func() { io.Copy(server, client); server.Close() }()
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := server.Read(buf)
					if n > 0 {
						pc.mu.Lock()
						_, werr := client.Write(buf[:n])
						pc.mu.Unlock()
						if werr != nil {
							return
						}
					}
					if err != nil {
						client.Close()
						return
					}
				}
			}()
		}
	}()
	return p
}

// bye sends line to every client connected so far and closes them.
func (p *byeProxy) bye(line string) {
	p.mu.Lock()
	live := p.live
	p.live = nil
	p.mu.Unlock()
	for _, c := range live {
		c.mu.Lock()
		io.WriteString(c.client, line)
		c.client.Close()
		c.mu.Unlock()
		c.server.Close()
	}
}
