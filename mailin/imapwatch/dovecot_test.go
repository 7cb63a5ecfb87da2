package imapwatch_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/mailin/imapwatch"
)

const dovecotBin = "/usr/sbin/dovecot"

// dovecot is a real Dovecot started by the test: rootless (every process
// runs as one unprivileged user), listening on 127.0.0.1 on a free port,
// with its configuration, log, state and maildirs in a temporary directory.
type dovecot struct {
	Addr    string
	Dir     string
	Maildir string // the user's INBOX, a maildir
	cmd     *exec.Cmd
}

// startDovecot starts Dovecot, or skips the test where it is not installed.
func startDovecot(tb testing.TB) *dovecot {
	tb.Helper()
	if _, err := os.Stat(dovecotBin); err != nil {
		tb.Skipf("Dovecot is not installed (%s is absent): apt-get install dovecot-imapd to run this test", dovecotBin)
	}
	dir := tb.TempDir()
	run, err := dovecotUser()
	if err != nil {
		tb.Skipf("no unprivileged user to run Dovecot as: %v", err)
	}
	port := freePort(tb)
	d := &dovecot{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: dir, Maildir: filepath.Join(dir, "mail", "ct")}
	for _, sub := range []string{"run", "state", "mail"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`# Written by the imapwatch tests (Dovecot 2.3).
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
info_log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = %[2]s
default_internal_user = %[2]s
default_internal_group = %[3]s
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:%[1]s/mail/%%n
mailbox_idle_check_interval = 1 secs
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%n %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[4]d gid=%[5]d home=%[1]s/mail/%%n
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = %[6]d
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
`, dir, run.name, run.group, run.uid, run.gid, port)
	must(tb, os.WriteFile(filepath.Join(dir, "dovecot.conf"), []byte(conf), 0o644))
	must(tb, os.WriteFile(filepath.Join(dir, "passwd"), []byte("ct:{PLAIN}secret\n"), 0o644))
	if os.Getuid() == 0 {
		// Run unprivileged even as root: the directory (and the way to it)
		// must be the Dovecot user's.
		must(tb, os.Chmod(filepath.Dir(dir), 0o711))
		must(tb, filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, run.uid, run.gid)
		}))
	}
	cmd := exec.Command(dovecotBin, "-F", "-c", filepath.Join(dir, "dovecot.conf"))
	if os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(run.uid), Gid: uint32(run.gid)}}
	}
	out, err := os.Create(filepath.Join(dir, "dovecot.stderr"))
	must(tb, err)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start dovecot: %v", err)
	}
	d.cmd = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); out.Close() }()
	tb.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if tb.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			tb.Logf("dovecot.log:\n%s", b)
		}
	})
	// Wait for the greeting.
	for start := time.Now(); ; {
		c, err := net.DialTimeout("tcp", d.Addr, time.Second)
		if err == nil {
			buf := make([]byte, 64)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, _ := c.Read(buf)
			c.Close()
			if strings.HasPrefix(string(buf[:n]), "* OK") {
				break
			}
		}
		select {
		case err := <-exited:
			b, _ := os.ReadFile(filepath.Join(dir, "dovecot.stderr"))
			l, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			tb.Fatalf("dovecot exited: %v\n%s\n%s", err, b, l)
		default:
		}
		if time.Since(start) > 20*time.Second {
			tb.Fatal("dovecot did not start listening")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return d
}

type runUser struct {
	name, group string
	uid, gid    int
}

// dovecotUser is the user Dovecot runs as: the current one, or the
// "dovecot" system user (else nobody) when the tests run as root.
func dovecotUser() (runUser, error) {
	var u *user.User
	var err error
	if os.Getuid() != 0 {
		u, err = user.Current()
	} else if u, err = user.Lookup("dovecot"); err != nil {
		u, err = user.Lookup("nobody")
	}
	if err != nil {
		return runUser{}, err
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		return runUser{}, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return runUser{name: u.Username, group: g.Name, uid: uid, gid: gid}, nil
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(tb, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// client logs in to Dovecot as the test user, for the test's own appends
// and counts.
func (d *dovecot) client(tb testing.TB) *imapclient.Client {
	tb.Helper()
	c, err := imapclient.DialInsecure(d.Addr, nil)
	must(tb, err)
	must(tb, c.Login("ct", "secret").Wait())
	tb.Cleanup(func() { c.Close() })
	return c
}

func (d *dovecot) append(tb testing.TB, c *imapclient.Client, mailbox string, raw []byte) {
	tb.Helper()
	cmd := c.Append(mailbox, int64(len(raw)), nil)
	_, err := cmd.Write(raw)
	must(tb, err)
	must(tb, cmd.Close())
	_, err = cmd.Wait()
	must(tb, err)
}

func (d *dovecot) count(tb testing.TB, c *imapclient.Client, mailbox string) int {
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

func dovecotWatcher(tb testing.TB, d *dovecot, s *casefile.Store, o *outcomes) *imapwatch.Watcher {
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
