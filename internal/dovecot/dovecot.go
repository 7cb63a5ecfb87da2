// Package dovecot starts a real Dovecot IMAP server for the integration
// tests and the benchmark scripts: rootless (every process runs as one
// unprivileged user), on 127.0.0.1 on a free port, with its configuration,
// log, state and maildirs in a directory of its own. The one user is "ct"
// with password "secret".
package dovecot

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Bin is where Debian's dovecot-imapd puts the server.
const Bin = "/usr/sbin/dovecot"

// User and Password are the test user's.
const (
	User     = "ct"
	Password = "secret"
)

// ErrNotInstalled says Dovecot is absent: apt-get install dovecot-imapd.
var ErrNotInstalled = errors.New("Dovecot is not installed (" + Bin + " is absent): apt-get install dovecot-imapd")

// Options add to the default server.
type Options struct {
	// IntrospectionURL, when set, adds Dovecot's oauth2 passdb: XOAUTH2
	// and OAUTHBEARER sign-ins whose tokens Dovecot checks by RFC 7662
	// introspection (introspection_mode = post) at this URL, which must
	// name an IP address (a host name needs Dovecot's dns-client). The
	// introspection's "username" must be the login name. Refused sign-ins
	// are then not penalised (anvil's growing delay), so a test can provoke
	// several.
	IntrospectionURL string
	// SubmissionRelay, when set, starts Dovecot's submission service
	// (SMTP, on SubmissionAddr) relaying the mail it accepts to this
	// host:port (an IP address).
	SubmissionRelay string
}

// Server is a running Dovecot.
type Server struct {
	Addr           string
	SubmissionAddr string // with Options.SubmissionRelay
	Dir            string
	Maildir        string // the user's INBOX, a maildir
	cmd            *exec.Cmd
	exited         chan error
	run            runUser
}

// Own gives Dovecot's user the files under path (written by a test into
// the maildir) when running as root; otherwise they are the user's already.
func (s *Server) Own(path string) error {
	if os.Getuid() != 0 {
		return nil
	}
	return filepath.Walk(path, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, s.run.uid, s.run.gid)
	})
}

// Start starts Dovecot with dir (which must exist, and be empty) as its
// home, and waits for its greeting.
func Start(dir string) (*Server, error) { return StartWith(dir, Options{}) }

// SubmissionBin is Debian's dovecot-submissiond, which the submission
// service needs.
const SubmissionBin = "/usr/lib/dovecot/submission"

// ErrNoSubmission says the submission service is absent.
var ErrNoSubmission = errors.New("Dovecot's submission service is not installed (" + SubmissionBin + " is absent): apt-get install dovecot-submissiond")

// StartWith is Start with options.
func StartWith(dir string, o Options) (*Server, error) {
	if _, err := os.Stat(Bin); err != nil {
		return nil, ErrNotInstalled
	}
	run, err := runAs()
	if err != nil {
		return nil, fmt.Errorf("no unprivileged user to run Dovecot as: %w", err)
	}
	if o.SubmissionRelay != "" {
		if _, err := os.Stat(SubmissionBin); err != nil {
			return nil, ErrNoSubmission
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: dir, Maildir: filepath.Join(dir, "mail", User), run: run}
	extra, err := s.extraConfig(o)
	if err != nil {
		return nil, err
	}
	for _, sub := range []string{"run", "state", "mail"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	conf := fmt.Sprintf(`# Written by internal/dovecot for the tests and benchmarks (Dovecot 2.3).
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
info_log_path = %[1]s/dovecot.log
protocols = imap%[8]s
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login%[9]s
default_login_user = %[2]s
default_internal_user = %[2]s
default_internal_group = %[3]s
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:%[1]s/mail/%%n
mailbox_idle_check_interval = 1 secs
passdb {
  driver = passwd-file
  mechanisms = plain login
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
%[7]s`, dir, run.name, run.group, run.uid, run.gid, port, extra.conf, extra.protocols, extra.mechanisms)
	if err := os.WriteFile(filepath.Join(dir, "dovecot.conf"), []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(User+":{PLAIN}"+Password+"\n"), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(Bin, "-F", "-c", filepath.Join(dir, "dovecot.conf"))
	if os.Getuid() == 0 {
		// Run unprivileged even as root: the directory (and the way to it)
		// must be the Dovecot user's.
		if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
			return nil, err
		}
		if err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, run.uid, run.gid)
		}); err != nil {
			return nil, err
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(run.uid), Gid: uint32(run.gid)}}
	}
	out, err := os.Create(filepath.Join(dir, "dovecot.stderr"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start dovecot: %w", err)
	}
	s.cmd, s.exited = cmd, make(chan error, 1)
	go func() { s.exited <- cmd.Wait(); out.Close() }()
	for start := time.Now(); ; {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			buf := make([]byte, 64)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, _ := c.Read(buf)
			c.Close()
			if strings.HasPrefix(string(buf[:n]), "* OK") {
				return s, nil
			}
		}
		select {
		case err := <-s.exited:
			return nil, fmt.Errorf("dovecot exited: %v\n%s", err, s.Log())
		default:
		}
		if time.Since(start) > 20*time.Second {
			s.Close()
			return nil, fmt.Errorf("dovecot did not start listening:\n%s", s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type extraConfig struct{ conf, protocols, mechanisms string }

// extraConfig is the configuration the options add: the oauth2 passdb
// (with its args file) and the submission service.
func (s *Server) extraConfig(o Options) (extraConfig, error) {
	var x extraConfig
	if o.IntrospectionURL != "" {
		x.mechanisms = " xoauth2 oauthbearer"
		args := filepath.Join(s.Dir, "oauth2.conf.ext")
		// Dovecot posts token=…; the answer's username must be the login.
		ext := fmt.Sprintf(`introspection_mode = post
introspection_url = %s
username_attribute = username
active_attribute = active
active_value = true
force_introspection = yes
`, o.IntrospectionURL)
		if err := os.WriteFile(args, []byte(ext), 0o644); err != nil {
			return x, err
		}
		x.conf += fmt.Sprintf(`passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = %s
}
# Tests provoke refused sign-ins on purpose: no growing penalty for them.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`, args)
	}
	if o.SubmissionRelay != "" {
		host, port, err := net.SplitHostPort(o.SubmissionRelay)
		if err != nil {
			return x, fmt.Errorf("dovecot: submission relay %q: %w", o.SubmissionRelay, err)
		}
		sport, err := freePort()
		if err != nil {
			return x, err
		}
		s.SubmissionAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(sport))
		x.protocols = " submission"
		x.conf += fmt.Sprintf(`hostname = localhost
submission_relay_host = %s
submission_relay_port = %s
submission_relay_trusted = yes
submission_relay_ssl = no
service submission-login {
  chroot =
  inet_listener submission {
    address = 127.0.0.1
    port = %d
  }
}
`, host, port, sport)
	}
	return x, nil
}

// Log returns what Dovecot wrote to its log and standard error.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "dovecot.stderr"))
	l, _ := os.ReadFile(filepath.Join(s.Dir, "dovecot.log"))
	return string(b) + string(l)
}

// Close stops Dovecot (SIGTERM, then SIGKILL after 10 seconds).
func (s *Server) Close() error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		s.exited <- err
		return nil
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		return errors.New("dovecot did not stop in 10 seconds: killed")
	}
}

type runUser struct {
	name, group string
	uid, gid    int
}

// runAs is the user Dovecot runs as: the current one, or the "dovecot"
// system user (else nobody) when run as root.
func runAs() (runUser, error) {
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

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
