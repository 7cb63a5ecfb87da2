package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
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
		// The response, the further-review decline, and the email telling the
		// applicant the case closed.
		!strings.Contains(dl[0], "messages 1  attachments 2  letters 3") {
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
	if _, show, _ := run(t, dir, "", nil, "case", "show", sd.X); !strings.Contains(show, "removed under the retention policy") {
		t.Errorf("case show does not say the personal data was removed:\n%s", show)
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
			metrics, err := runDemoLogged(t, logger)
			if err != nil {
				t.Fatalf("the demo failed: %v\nlog:\n%s", err, logs.String())
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
	var scrape string
	d := &demo{out: io.Discard, start: time.Now(), beforeStop: func(srv *server) {
		resp, err := http.Get("http://" + srv.HTTPAddr() + "/metrics")
		if err != nil {
			t.Errorf("scrape /metrics: %v", err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		scrape = string(b)
	}}
	err := d.run(ctx, filepath.Join(t.TempDir(), "trigger.db"), logger)
	return scrape, err
}
