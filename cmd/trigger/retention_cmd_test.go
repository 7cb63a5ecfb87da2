package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/mailin/memimap"
	"github.com/csp/trigger/mailout/mailsink"
)

// TestRetentionCommand: the dry run lists exactly what the real run
// removes; the year's published figures are byte for byte the same after;
// `case show` of a purged case shows no personal data; a case not due
// keeps everything.
func TestRetentionCommand(t *testing.T) {
	dir := t.TempDir()
	sd := seedReportDB(t, dir)
	report := func() string {
		t.Helper()
		var all string
		for _, format := range [][]string{nil, {"--csv"}, {"--html"}} {
			code, out, stderr := run(t, dir, "", nil, append([]string{"report", "--year", "2019"}, format...)...)
			if code != 0 {
				t.Fatalf("report %v: %d %s", format, code, stderr)
			}
			all += out
		}
		return all
	}
	before := report()

	code, dry, stderr := run(t, dir, "", nil, "retention", "run", "--dry-run")
	if code != 0 {
		t.Fatalf("dry run: %d %s", code, stderr)
	}
	code, real, stderr := run(t, dir, "", nil, "retention", "run")
	if code != 0 {
		t.Fatalf("run: %d %s", code, stderr)
	}
	cases := func(out string) []string {
		var lines []string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "CT-") {
				lines = append(lines, l)
			}
		}
		return lines
	}
	dl, rl := cases(dry), cases(real)
	if len(dl) != 2 || !strings.HasPrefix(dl[0], sd.X+"  closed") || !strings.HasPrefix(dl[1], sd.Y+"  withdrawn") ||
		!strings.Contains(dl[0], "messages 1  attachments 2  letters 1") {
		t.Errorf("dry run:\n%s", dry)
	}
	if strings.Join(dl, "\n") != strings.Join(rl, "\n") {
		t.Errorf("the dry run listed\n%s\nthe real run removed\n%s", dry, real)
	}
	if !strings.Contains(dry, "Dry run: 2 cases would be purged; nothing was changed.") || !strings.Contains(real, "2 cases purged") {
		t.Errorf("summaries:\n%s\n%s", dry, real)
	}
	if after := report(); after != before {
		t.Errorf("the published figures changed with the purge:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if _, again, _ := run(t, dir, "", nil, "retention", "run", "--json"); !strings.Contains(again, `"cases": []`) {
		t.Errorf("a second run: %s", again)
	}

	for _, ref := range []string{sd.X, sd.Y} {
		for _, args := range [][]string{{"case", "show", ref}, {"case", "show", ref, "--json"}, {"case", "events", ref}} {
			code, out, _ := run(t, dir, "", nil, args...)
			if code != 0 {
				t.Fatalf("%v: %d", args, code)
			}
			for _, pd := range []string{"Lucy", "Fielding", "lucy.fielding@example.net", "07700 900123", "DE12 7HS", "Mill Street", "Measham",
				"0345 of 08/01/2019", "ASB/2019/0981", "FH-20931", "diary", "noise recording", "moved away", "one agency only", "Nothing new"} {
				if strings.Contains(out, pd) {
					t.Errorf("%v still shows %q:\n%s", args, pd, out)
				}
			}
		}
	}
	_, show, _ := run(t, dir, "", nil, "case", "show", sd.X, "--json")
	var c map[string]any
	if err := json.Unmarshal([]byte(show), &c); err != nil || c["purged"] != true || c["route"] != "individual" || len(c["incidents"].([]any)) != 3 {
		t.Errorf("purged case: %v\n%s", err, show)
	}
	if _, show, _ := run(t, dir, "", nil, "case", "show", sd.Z); !strings.Contains(show, "Lucy Fielding") {
		t.Errorf("a case not due lost its data:\n%s", show)
	}
}

// lockedBuffer collects log output written from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// residents' personal data in the demo's sample mail: the web-form
// applicant, the free-text applicant, and the out-of-office sender.
var demoPersonalData = []string{
	"Lucy Fielding", "Fielding", "lucy.fielding", "07700 900123", "07700900123", "DE12 7HS", "DE127HS", "27 Mill Street",
	"Arjun Mehta", "Mehta", "arjun.mehta", "07700 900456", "07700900456", "LE65 1HX", "LE651HX", "8 Oak Court", "6 Oak Court",
	"Janet Price", "janet.price",
}

// TestNoPersonalDataInLogsOrMetrics runs the demo's whole workflow on the
// real serve wiring with the service log at debug level, as text and as
// JSON, scrapes /metrics at the end, and scans every line for the
// residents' names, addresses, phone numbers and postcodes. The demo's
// standard output (which prints the letter on purpose) is not scanned.
func TestNoPersonalDataInLogsOrMetrics(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var logs lockedBuffer
			logger := newLogger(&logs, casefile.LogConfig{Format: format, Level: "debug"})
			// A known race outside this test can lose the council's reply in
			// the thread (see knownThreadRace): try the run again then. The
			// log of every attempt is scanned.
			var metrics string
			for attempt := 1; ; attempt++ {
				var err error
				metrics, err = runDemoLogged(t, logger)
				if err == nil {
					break
				}
				if attempt == 3 || !strings.Contains(err.Error(), knownThreadRace) {
					t.Fatalf("the demo failed: %v\nlog:\n%s", err, logs.String())
				}
				t.Logf("attempt %d: %v; trying again", attempt, strings.SplitN(err.Error(), "\n", 2)[0])
			}
			lines := strings.Split(logs.String(), "\n")
			if len(lines) < 20 || !strings.Contains(logs.String(), "outbox job done") {
				t.Fatalf("the debug log is too short to prove anything (%d lines):\n%s", len(lines), logs.String())
			}
			if !strings.Contains(metrics, "trigger_outbox_pending") {
				t.Fatalf("no metrics scraped:\n%s", metrics)
			}
			for src, text := range map[string]string{"log": logs.String(), "metrics": metrics} {
				for i, line := range strings.Split(text, "\n") {
					for _, pd := range demoPersonalData {
						if strings.Contains(strings.ToLower(line), strings.ToLower(pd)) {
							t.Errorf("%s line %d holds %q: %s", src, i+1, pd, line)
						}
					}
				}
			}
			if format == "json" {
				for _, line := range lines {
					if line != "" && !json.Valid([]byte(line)) {
						t.Errorf("not a JSON log line: %s", line)
					}
				}
			}
		})
	}
}

// knownThreadRace is how the demo fails when an officer's reply in a
// request's thread arrives before the bot has recorded the request's
// message ts: bot/jobs.go postRequest posts, then records the ts;
// bot/interact.go HandleEvent drops a reply whose thread it cannot match.
const knownThreadRace = "timed out waiting for every agency to have replied"

// runDemoLogged is `trigger demo` with the service's log going to logger
// (slog's default too, so nothing logs around it) and /metrics scraped once
// the letter is sent. It returns the scrape.
func runDemoLogged(t *testing.T, logger *slog.Logger) (string, error) {
	t.Helper()
	prev := slog.Default()
	slog.SetDefault(logger)
	defer slog.SetDefault(prev)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	imapSrv, err := memimap.Start("trigger", "demo-password", "Processed", "Quarantine")
	if err != nil {
		t.Fatal(err)
	}
	defer imapSrv.Close()
	d := &demo{out: io.Discard, start: time.Now()}
	if d.sink, err = mailsink.Start(mailsink.Options{}); err != nil {
		t.Fatal(err)
	}
	defer d.sink.Close()
	d.emu = slackemu.New(slackemu.Options{TimeScale: 1})
	if err := d.emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer d.emu.Close()
	d.coord = d.emu.AddUser("sam.patel", "sam.patel@example-council.gov.uk").ID
	d.police = d.emu.AddUser("pc.jones", "pc.jones@police.example").ID
	d.council = d.emu.AddUser("asb.officer", "asb.officer@example-council.gov.uk").ID
	d.housing = d.emu.AddUser("housing.officer", "officer@housing.example").ID
	d.chair = d.emu.AddUser("csp.chair", "chair@example-council.gov.uk").ID

	cfg := casefile.DefaultConfig()
	cfg.Database.Path = filepath.Join(t.TempDir(), "trigger.db")
	cfg.IMAP.Address, cfg.IMAP.TLS, cfg.IMAP.Username = imapSrv.Addr, "none", "trigger"
	cfg.IMAP.PollInterval = casefile.Duration{Duration: time.Second}
	cfg.SMTP.Address, cfg.SMTP.TLS = d.sink.Addr(), "none"
	cfg.Slack.APIURL, cfg.Slack.Mode = d.emu.APIURL(), "socket"
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Log = casefile.LogConfig{Format: "text", Level: "debug"}
	cfg.Roles.Coordinator = casefile.IDList{d.coord}
	cfg.Roles.Chair = casefile.IDList{d.chair}
	cfg.Roles.Approvers = casefile.IDList{d.coord, d.chair}
	cfg.Agencies[0].SlackUsers = []string{d.police}
	cfg.Agencies[1].SlackUsers = []string{d.council}
	cfg.Agencies[2].SlackUsers = []string{"officer@housing.example"}
	cfg.Partnership.Name = "North West Leicestershire Community Safety Partnership"
	cfg.Secrets = casefile.Secrets{SlackBotToken: d.emu.BotToken(), SlackAppToken: d.emu.AppToken(), IMAPPassword: "demo-password"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.store, err = casefile.Open(cfg.Database.Path, &cfg); err != nil {
		t.Fatal(err)
	}
	defer d.store.Close()
	srv, err := newServer(&cfg, d.store, logger)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	done := make(chan error, 1)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { done <- srv.run(runCtx, started) }()
	<-started
	if err := d.script(ctx, imapSrv); err != nil {
		reqs, _ := d.store.Requests(context.Background(), "CT-2026-0001")
		stop()
		<-done
		lines := []string{fmt.Sprintf("requests: %+v", reqs)}
		for _, ch := range d.emu.Channels() {
			for _, m := range d.emu.Messages(ch.ID) {
				lines = append(lines, ch.Name+": "+m.Text)
				for _, r := range d.emu.Thread(ch.ID, m.TS) {
					lines = append(lines, "   thread: "+r.User+" "+r.Text)
				}
			}
		}
		return "", fmt.Errorf("%w\nSlack:\n%s", err, strings.Join(lines, "\n"))
	}
	resp, err := http.Get("http://" + srv.HTTPAddr() + "/metrics")
	if err != nil {
		return "", err
	}
	scrape, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	stop()
	if err := <-done; err != nil {
		return "", err
	}
	return string(scrape), nil
}
