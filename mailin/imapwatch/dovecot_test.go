package imapwatch_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/internal/dovecot"
	"github.com/csp/trigger/mailin/imapwatch"
)

// dovecotServer is a real Dovecot started by the test (internal/dovecot).
type dovecotServer struct {
	*dovecot.Server
}

// startDovecot starts Dovecot, or skips the test where it is not installed.
func startDovecot(tb testing.TB) *dovecotServer {
	tb.Helper()
	s, err := dovecot.Start(tb.TempDir())
	if errors.Is(err, dovecot.ErrNotInstalled) {
		tb.Skip(err.Error() + " to run this test")
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		s.Close()
		if tb.Failed() {
			tb.Logf("dovecot log:\n%s", s.Log())
		}
	})
	return &dovecotServer{s}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// client logs in to Dovecot as the test user, for the test's own appends
// and counts.
func (d *dovecotServer) client(tb testing.TB) *imapclient.Client {
	tb.Helper()
	c, err := imapclient.DialInsecure(d.Addr, nil)
	must(tb, err)
	must(tb, c.Login("ct", "secret").Wait())
	tb.Cleanup(func() { c.Close() })
	return c
}

func (d *dovecotServer) append(tb testing.TB, c *imapclient.Client, mailbox string, raw []byte) {
	tb.Helper()
	cmd := c.Append(mailbox, int64(len(raw)), &imap.AppendOptions{Time: mailDate})
	_, err := cmd.Write(raw)
	must(tb, err)
	must(tb, cmd.Close())
	_, err = cmd.Wait()
	must(tb, err)
}

func (d *dovecotServer) count(tb testing.TB, c *imapclient.Client, mailbox string) int {
	tb.Helper()
	st, err := c.Status(mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		if strings.Contains(err.Error(), "NONEXISTENT") || strings.Contains(err.Error(), "doesn't exist") {
			return 0
		}
		tb.Fatal(err)
	}
	return int(*st.NumMessages)
}

func dovecotWatcher(tb testing.TB, d *dovecotServer, s *sqlite.Store, o *outcomes) *imapwatch.Watcher {
	return newWatcher(tb, d.Addr, s, StoreIngest(s), o)
}

func TestDovecot(t *testing.T) {
	t.Run("FetchAndMoveToProcessed", func(t *testing.T) {
		d := startDovecot(t)
		c := d.client(t)
		for i := range 3 {
			d.append(t, c, "INBOX", testMessage("dv"+strconv.Itoa(i), ""))
		}
		s := MustOpenStore(t)
		w := dovecotWatcher(t, d, s, nil)
		st, err := w.FetchOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Outcomes[casefile.OutcomeCreated] != 3 || st.Moved != 3 {
			t.Errorf("stats = %+v", st)
		}
		if in, done := d.count(t, c, "INBOX"), d.count(t, c, "Processed"); in != 0 || done != 3 {
			t.Errorf("INBOX %d, Processed %d; want 0 and 3", in, done)
		}
		if n := messagesStored(t, s); n != 3 {
			t.Errorf("%d messages stored, want 3", n)
		}
		// Each was received at the INTERNALDATE its APPEND gave, not at
		// the time on Dovecot's clock.
		cases, err := s.Cases(context.Background(), "")
		if err != nil || len(cases) != 3 {
			t.Fatalf("cases %+v, %v", cases, err)
		}
		for _, c := range cases {
			if at, err := time.Parse(time.RFC3339, c.ReceivedAt); err != nil || !at.Equal(mailDate) {
				t.Errorf("%s received at %s, want the INTERNALDATE %s", c.Ref, c.ReceivedAt, mailDate)
			}
		}
		// Again: nothing new, nothing twice.
		st, err = w.FetchOnce(context.Background())
		if err != nil || st.Handled() != 0 {
			t.Errorf("second FetchOnce = %+v, %v; want nothing handled", st, err)
		}
	})

	t.Run("IdleWakes", func(t *testing.T) {
		d := startDovecot(t)
		c := d.client(t)
		s := MustOpenStore(t)
		o := newOutcomes()
		w := dovecotWatcher(t, d, s, o)
		idling := make(chan struct{}, 10)
		imapwatch.SetIdleHook(w, func() { idling <- struct{}{} })
		runWatcher(t, w)
		<-idling
		d.append(t, c, "INBOX", testMessage("dvidle", ""))
		if got := o.waitFor(t, 1); got[0] != casefile.OutcomeCreated {
			t.Errorf("outcome %q, want created", got[0])
		}
		<-idling
		if done := d.count(t, c, "Processed"); done != 1 {
			t.Errorf("Processed %d, want 1", done)
		}
	})

	t.Run("OversizeQuarantined", func(t *testing.T) {
		d := startDovecot(t)
		c := d.client(t)
		d.append(t, c, "INBOX", testMessage("dvsmall", ""))
		d.append(t, c, "INBOX", testMessage("dvbig", strings.Repeat("a large attachment\r\n", 500)))
		s := MustOpenStore(t)
		w := dovecotWatcher(t, d, s, nil)
		w.Config.MaxMessageSize = 4096
		st, err := w.FetchOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Oversize != 1 {
			t.Errorf("stats = %+v, want one oversize", st)
		}
		if q, done, in := d.count(t, c, "Quarantine"), d.count(t, c, "Processed"), d.count(t, c, "INBOX"); q != 1 || done != 1 || in != 0 {
			t.Errorf("Quarantine %d, Processed %d, INBOX %d; want 1, 1, 0", q, done, in)
		}
		list, err := s.QuarantineList(context.Background(), false)
		if err != nil || len(list) != 1 || !strings.Contains(list[0].Error, "limit of 4096 bytes") || list[0].MessageKey != "dvbig@example.org" {
			t.Errorf("quarantine = %+v, %v", list, err)
		}
	})
}
