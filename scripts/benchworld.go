//go:build ignore

// benchworld measures the README's two figures against a real `trigger
// serve` binary: a rootless Dovecot (IMAP IDLE), the project's Slack
// emulator and mail sink, both in this process. scripts/bench-latency.sh
// and scripts/bench-memory.sh build the binary and run it:
//
//	go run scripts/benchworld.go latency -bin ./trigger [-n 200]
//	go run scripts/benchworld.go memory -bin ./trigger [-idle 5s]
//
// latency appends n web-form applications to INBOX one after another (IMAP
// APPEND) and times each from just before the APPEND until its case's
// channel exists in the emulator; it prints the median, 90th and 99th
// percentiles, and splits each into mail (APPEND to the case committed, from
// the case's created_at) and Slack (case to channel). Before serve starts it
// times Dovecot alone (APPEND to the EXISTS an idling client is sent), the
// part of the figure that is the IMAP server's. Between one channel and the
// next APPEND it waits -gap (300ms), so that every message arrives while the
// watcher idles, as mail usually does. memory reads VmRSS of
// an idle serve, once fully configured (Dovecot, emulator, sink) and once
// with nothing configured but a database.
//
// The emulator runs without rate limits: at one message after another,
// Slack's 20 conversations.create a minute would be the figure otherwise.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/internal/dovecot"
	"github.com/csp/trigger/mailout/mailsink"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go run scripts/benchworld.go latency|memory -bin PATH [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	bin := fs.String("bin", "", "the trigger binary")
	n := fs.Int("n", 200, "latency: messages")
	idle := fs.Duration("idle", 5*time.Second, "memory: how long serve idles before RSS is read")
	gap := fs.Duration("gap", 300*time.Millisecond, "latency: pause between one channel appearing and the next APPEND")
	fs.Parse(os.Args[2:])
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "benchworld: -bin is required")
		os.Exit(2)
	}
	dir, err := os.MkdirTemp("", "benchworld-")
	if err != nil {
		fatal(err)
	}
	w := &world{dir: dir, bin: *bin}
	defer w.close()
	go func() { // ^C: clean up Dovecot and serve
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		w.close()
		os.Exit(1)
	}()
	switch os.Args[1] {
	case "latency":
		err = w.latency(*n, *gap)
	case "memory":
		err = w.memory(*idle)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		w.close()
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchworld:", err)
	os.Exit(1)
}

type world struct {
	dir, bin string
	imapAddr string
	dovecot  *dovecot.Server
	serve    *exec.Cmd
	emu      *slackemu.Emulator
	sink     *mailsink.Sink
	users    map[string]string
	once     sync.Once
}

func (w *world) close() { w.once.Do(w.closeAll) }

func (w *world) closeAll() {
	if w.dovecot != nil {
		w.dovecot.Close()
	}
	for _, c := range []*exec.Cmd{w.serve} {
		if c != nil && c.Process != nil && c.ProcessState == nil {
			c.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { c.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				c.Process.Kill()
			}
		}
	}
	if w.emu != nil {
		w.emu.Close()
	}
	if w.sink != nil {
		w.sink.Close()
	}
	if w.dir != "" {
		os.RemoveAll(w.dir)
	}
}

// startAll starts Dovecot, the emulator and the sink.
func (w *world) startAll() error {
	if err := w.startDovecot(); err != nil {
		return err
	}
	var err error
	if w.sink, err = mailsink.Start(mailsink.Options{Quiet: true}); err != nil {
		return err
	}
	w.emu = slackemu.New(slackemu.Options{NoRateLimits: true})
	if err := w.emu.Start("127.0.0.1:0"); err != nil {
		return err
	}
	w.users = map[string]string{}
	for _, u := range []struct{ role, name string }{{"coord", "sam.patel"}, {"chair", "csp.chair"}, {"police", "pc.jones"}, {"council", "asb.officer"}, {"housing", "housing.officer"}} {
		w.users[u.role] = w.emu.AddUser(u.name, u.name+"@example.gov.uk").ID
	}
	return nil
}

// startDovecot starts a rootless Dovecot (internal/dovecot) with user ct,
// password secret.
func (w *world) startDovecot() error {
	dir := filepath.Join(w.dir, "dovecot")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	d, err := dovecot.Start(dir)
	if err != nil {
		return err
	}
	w.dovecot, w.imapAddr = d, d.Addr
	return nil
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServe writes trigger.toml and starts `trigger serve`; full says
// whether it points at Dovecot, the sink and the emulator, or at nothing
// but a database.
func (w *world) startServe(full bool) (httpAddr string, err error) {
	httpAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort()))
	db := filepath.Join(w.dir, "trigger.db")
	var b strings.Builder
	fmt.Fprintf(&b, "[database]\npath = %q\n\n[http]\nlisten = %q\n\n[log]\nlevel = \"warn\"\n\n", db, httpAddr)
	env := os.Environ()
	if full {
		fmt.Fprintf(&b, "[imap]\naddress = %q\ntls = \"none\"\nusername = \"ct\"\npoll_interval = \"1m\"\n\n", w.imapAddr)
		fmt.Fprintf(&b, "[smtp]\naddress = %q\ntls = \"none\"\n\n", w.sink.Addr())
		// The council's form system sends every application: its forms
		// count per resident for the acknowledgements' rate limit.
		b.WriteString("[intake]\nform_senders = [\"noreply@forms.example-council.gov.uk\"]\n\n")
		fmt.Fprintf(&b, "[slack]\napi_url = %q\nmode = \"socket\"\n\n", w.emu.APIURL())
		fmt.Fprintf(&b, "[roles]\ncoordinator = [%q]\nchair = [%q]\napprovers = [%q, %q]\n\n", w.users["coord"], w.users["chair"], w.users["coord"], w.users["chair"])
		for _, a := range []struct{ id, name, role string }{{"police", "Police", "police"}, {"council", "District Council", "council"}, {"housing", "Housing provider", "housing"}} {
			fmt.Fprintf(&b, "[[agency]]\nid = %q\nname = %q\naliases = [%q]\nslack_users = [%q]\n\n", a.id, a.name, a.id, w.users[a.role])
		}
		env = append(env, "TRIGGER_SLACK_BOT_TOKEN="+w.emu.BotToken(), "TRIGGER_SLACK_APP_TOKEN="+w.emu.AppToken(), "TRIGGER_IMAP_PASSWORD=secret")
	}
	cfg := filepath.Join(w.dir, "trigger.toml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		return "", err
	}
	logf, err := os.Create(filepath.Join(w.dir, "serve.log"))
	if err != nil {
		return "", err
	}
	w.serve = exec.Command(w.bin, "--config", cfg, "serve")
	w.serve.Env = env
	w.serve.Stdout, w.serve.Stderr = logf, logf
	if err := w.serve.Start(); err != nil {
		return "", err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return httpAddr, nil
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(w.dir, "serve.log"))
			return "", fmt.Errorf("serve was not ready within 30s:\n%s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *world) stopServe() error {
	w.serve.Process.Signal(syscall.SIGTERM)
	err := w.serve.Wait()
	w.serve = nil
	return err
}

// rss reads VmRSS and VmHWM (peak) of a process, in KiB.
func rss(pid int) (cur, peak int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "VmRSS:" {
			cur, _ = strconv.Atoi(f[1])
		}
		if len(f) >= 2 && f[0] == "VmHWM:" {
			peak, _ = strconv.Atoi(f[1])
		}
	}
	if cur == 0 {
		return 0, 0, errors.New("no VmRSS in /proc/PID/status")
	}
	return cur, peak, nil
}

func (w *world) memory(idle time.Duration) error {
	if _, err := w.startServe(false); err != nil {
		return err
	}
	time.Sleep(idle)
	bare, barePeak, err := rss(w.serve.Process.Pid)
	if err != nil {
		return err
	}
	if err := w.stopServe(); err != nil {
		return fmt.Errorf("serve (database only) did not stop cleanly: %w", err)
	}
	os.Remove(filepath.Join(w.dir, "trigger.db"))

	if err := w.startAll(); err != nil {
		return err
	}
	if _, err := w.startServe(true); err != nil {
		return err
	}
	time.Sleep(idle)
	full, fullPeak, err := rss(w.serve.Process.Pid)
	if err != nil {
		return err
	}
	if err := w.stopServe(); err != nil {
		return fmt.Errorf("serve did not stop cleanly: %w", err)
	}
	fmt.Printf("idle RSS after %s (VmRSS; peak VmHWM):\n", idle)
	fmt.Printf("  serve with IMAP (Dovecot, IDLE), SMTP and Slack (Socket Mode) connected: %.1f MB (peak %.1f MB)\n", mb(full), mb(fullPeak))
	fmt.Printf("  serve with nothing configured but a database:                           %.1f MB (peak %.1f MB)\n", mb(bare), mb(barePeak))
	fmt.Printf("BENCH memory idle_rss_full_mb=%.1f idle_rss_bare_mb=%.1f goal_mb=40\n", mb(full), mb(bare))
	return nil
}

func mb(kib int) float64 { return float64(kib) / 1024 }

func (w *world) latency(n int, gap time.Duration) error {
	if err := w.startAll(); err != nil {
		return err
	}
	c, err := imapclient.DialInsecure(w.imapAddr, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login("ct", "secret").Wait(); err != nil {
		return err
	}
	// Dovecot on its own, for comparison.
	plain, err := w.idleBaseline(c, 20, gap, false)
	if err != nil {
		return err
	}
	cycled, err := w.idleBaseline(c, 20, gap, true)
	if err != nil {
		return err
	}
	if _, err := w.startServe(true); err != nil {
		return err
	}
	year := time.Now().In(casefile.London).Year()
	type sample struct {
		at    time.Time
		total time.Duration
	}
	samples := make([]sample, n)
	for i := range n {
		time.Sleep(gap)
		raw := application(i + 1)
		name := fmt.Sprintf("ct-%d-%04d", year, i+1)
		t0 := time.Now()
		cmd := c.Append("INBOX", int64(len(raw)), nil)
		if _, err := cmd.Write(raw); err != nil {
			return err
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		if _, err := cmd.Wait(); err != nil {
			return fmt.Errorf("append %d: %w", i+1, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := w.emu.Wait(ctx, func() bool { _, ok := w.emu.ChannelByName(name); return ok })
		cancel()
		if err != nil {
			b, _ := os.ReadFile(filepath.Join(w.dir, "serve.log"))
			return fmt.Errorf("message %d: no channel #%s within 30s:\n%s", i+1, name, b)
		}
		samples[i] = sample{at: t0, total: time.Since(t0)}
	}
	cur, peak, _ := rss(w.serve.Process.Pid)
	if err := w.stopServe(); err != nil {
		return fmt.Errorf("serve did not stop cleanly: %w", err)
	}

	// The split: the case's created_at (the ingest's commit time) is in
	// the database.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(w.dir, "trigger.db")+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var totals, mails, slacks []time.Duration
	for i, s := range samples {
		var created int64
		ref := fmt.Sprintf("CT-%d-%04d", year, i+1)
		if err := db.QueryRow(`SELECT created_at FROM cases WHERE ref = ?`, ref).Scan(&created); err != nil {
			return fmt.Errorf("%s: %w", ref, err)
		}
		mail := time.UnixMilli(created).Sub(s.at)
		totals = append(totals, s.total)
		mails = append(mails, mail)
		slacks = append(slacks, s.total-mail)
	}
	fmt.Printf("email-to-channel latency over %d messages (IMAP APPEND to Dovecot → IDLE → case → #channel in the emulator):\n", n)
	fmt.Printf("  total:                       %s\n", stats(totals))
	fmt.Printf("  APPEND → case committed:     %s\n", stats(mails))
	fmt.Printf("  case committed → channel:    %s\n", stats(slacks))
	fmt.Printf("Dovecot alone (no trigger), APPEND → EXISTS, %d messages each:\n", len(plain))
	fmt.Printf("  to a client that only idles:                          %s\n", stats(plain))
	fmt.Printf("  to a client that works as the watcher does (DONE, SELECT, UID SEARCH,\n")
	fmt.Printf("  UID MOVE, IDLE again):                                %s\n", stats(cycled))
	fmt.Printf("  serve RSS after the run: %.1f MB (peak %.1f MB)\n", mb(cur), mb(peak))
	fmt.Printf("BENCH latency n=%d median_ms=%.1f p99_ms=%.1f goal_ms=1000\n", n, ms(pct(totals, 50)), ms(pct(totals, 99)))
	return nil
}

func stats(d []time.Duration) string {
	return fmt.Sprintf("median %6.1f ms, p90 %6.1f ms, p99 %6.1f ms, max %6.1f ms",
		ms(pct(d, 50)), ms(pct(d, 90)), ms(pct(d, 99)), ms(pct(d, 100)))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// pct is the p-th percentile (nearest rank).
func pct(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// application is a web-form application (shared/samples/01-webform.eml)
// from resident i.
func application(i int) []byte {
	s := fmt.Sprintf(`From: Council Forms <noreply@forms.example-council.gov.uk>
To: communitytrigger@example-council.gov.uk
Subject: New submission: ASB Case Review (Community Trigger) #%d
Date: %s
Message-ID: <bench-%d-%d@forms.example-council.gov.uk>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Submission #%d - ASB Case Review (Community Trigger)

Name: Resident %d
Email: resident.%d@example.net
Phone: 07700 900123
Address: %d Mill Street, Measham
Postcode: DE12 7HS
Applying for someone else: No
Location of the ASB: Alleyway between Mill Street and the High Street
What has been happening: Motorbikes ridden through the alley at speed, fences kicked in, verbal abuse.
Hate related: No
Vulnerable: No

Complaint 1 date of incident: 02/08/2026
Complaint 1 date reported: 03/08/2026
Complaint 1 reported to: Police
Complaint 1 reference: 0345 of 03/08/2026

Complaint 2 date of incident: 28/08/2026
Complaint 2 date reported: 28/08/2026
Complaint 2 reported to: District council
Complaint 2 reference: ASB/2026/0981

Consent to share: Yes
`, i, time.Now().Format(time.RFC1123Z), i, time.Now().UnixNano(), i, i, i, i)
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

// idleBaseline measures Dovecot on its own: a client idles on a mailbox of
// its own and the time from APPEND (on c) to the EXISTS it is sent is taken
// n times. With cycle, the client does between messages what the watcher
// does (DONE, SELECT, UID SEARCH, UID MOVE, IDLE again).
func (w *world) idleBaseline(c *imapclient.Client, n int, gap time.Duration, cycle bool) ([]time.Duration, error) {
	box := "Probe"
	if cycle {
		box = "ProbeCycle"
	}
	for _, name := range []string{box, box + "Done"} {
		if err := c.Create(name, nil).Wait(); err != nil {
			return nil, err
		}
	}
	exists := make(chan struct{}, 16)
	ic, err := imapclient.DialInsecure(w.imapAddr, &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil && *d.NumMessages > 0 {
					select {
					case exists <- struct{}{}:
					default:
					}
				}
			},
		},
	})
	if err != nil {
		return nil, err
	}
	defer ic.Close()
	if err := ic.Login("ct", "secret").Wait(); err != nil {
		return nil, err
	}
	if _, err := ic.Select(box, nil).Wait(); err != nil {
		return nil, err
	}
	idle, err := ic.Idle()
	if err != nil {
		return nil, err
	}
	defer func() { idle.Close() }()
	var out []time.Duration
	for i := range n {
		time.Sleep(gap)
		raw := application(100000 + i)
		t0 := time.Now()
		cmd := c.Append(box, int64(len(raw)), nil)
		cmd.Write(raw)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			return nil, err
		}
		select {
		case <-exists:
			out = append(out, time.Since(t0))
		case <-time.After(10 * time.Second):
			return nil, errors.New("Dovecot sent no EXISTS to the idling client within 10s")
		}
		if !cycle {
			continue
		}
		if err := idle.Close(); err != nil {
			return nil, err
		}
		if err := idle.Wait(); err != nil {
			return nil, err
		}
		if _, err := ic.Select(box, nil).Wait(); err != nil {
			return nil, err
		}
		d, err := ic.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
		if err != nil {
			return nil, err
		}
		if _, err := ic.Move(imap.UIDSetNum(d.AllUIDs()...), box+"Done").Wait(); err != nil {
			return nil, err
		}
		for len(exists) > 0 {
			<-exists
		}
		if idle, err = ic.Idle(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
