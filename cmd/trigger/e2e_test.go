package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// TestDemoEndToEnd runs `trigger demo --keep` — the real serve wiring
// against an in-process mailbox, mail sink and Slack emulator — and checks
// what each person would see: the timeline, the letter, and the record.
func TestDemoEndToEnd(t *testing.T) { demoEndToEnd(t) }

// TestDemoGraph is TestDemoEndToEnd with `--mail graph`: serve reads and
// sends through Microsoft Graph (emulated, with Entra ID's token endpoint).
func TestDemoGraph(t *testing.T) {
	out := demoEndToEnd(t, "--mail", "graph")
	if !strings.Contains(out, "a Microsoft 365 mailbox read and sent through Microsoft Graph") {
		t.Errorf("the demo does not say it runs through Graph:\n%s", out)
	}
}

func demoEndToEnd(t *testing.T, args ...string) string {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)

	var out, errb bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	before := time.Now()
	if code := m.Run(context.Background(), append([]string{"demo", "--keep"}, args...)); code != 0 {
		t.Fatalf("demo exited %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	// The first case of the year it was filed in, in London: the year the
	// demo started in, unless a new year began while it ran.
	year := casefile.DateOf(before).Year
	if y := casefile.DateOf(time.Now()).Year; y != year && !strings.Contains(out.String(), fmt.Sprintf("case CT-%d-0001 ", year)) {
		year = y
	}
	ref := fmt.Sprintf("CT-%d-0001", year)
	for _, want := range []string{
		"email received → case " + ref + " (threshold assessment: met, 3 qualifying complaints)",
		"acknowledgement emailed to the applicant",
		fmt.Sprintf("private channel #ct-%d-0001 created", year),
		"one request per agency posted",
		"Police officer answered", "Council officer replied in the request's thread", "no information held",
		"decision letter (threshold met) approved by the Chair and emailed to the applicant", "the case is still gathering",
		"applicant replied \"A\" → recorded: invite them to the meeting",
		"review meeting scheduled", "invitation emailed to the applicant",
		"meeting outcome recorded", "proposed recommendations emailed to the applicant for comment by",
		"applicant replied with their comments", "draft response letter v1 posted for approval",
		"Chair clicked \"Approve and send\"", "letter emailed to the applicant",
		// The letter itself.
		"Dear Lucy Fielding", "Extra patrols on Friday nights", "Community Protection Warning",
		"1. Agree a joint problem-solving plan for the alleyway", "Responsible: District Council",
		"ask for a further review", "Ombudsman remains open", "Thank you for your comments on the proposed actions",
		"service stopped cleanly",
		// The phone call typed in with /trigger new, and the Home tab.
		fmt.Sprintf("a resident phoned: the coordinator typed /trigger new in Slack → case CT-%d-0003 (threshold assessment: not_met, 2 qualifying complaints), channel #ct-%d-0003", year, year),
		"──── the coordinator's Home tab ────", "Open cases: 3 · Overdue items: 0", "[Show: All open cases (3) ▾]",
		fmt.Sprintf("CT-%d-0003 · #ct-%d-0003 · Received: threshold decision needed", year, year),
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	// The meeting falls on a working day (not a weekend, not a bank holiday).
	cal := casefile.NewCalendar(nil)
	if m := regexp.MustCompile(`review meeting scheduled for (\d+ \w+ \d{4}) at 14:00`).FindStringSubmatch(out.String()); m == nil {
		t.Error("demo output lacks the meeting's day")
	} else if day, err := time.Parse("2 January 2006", m[1]); err != nil || !cal.IsWorkingDay(casefile.DateOf(day)) {
		t.Errorf("the meeting is on %s, not a working day (%v)", m[1], err)
	}
	if t.Failed() {
		t.Logf("output:\n%s", out.String())
	}

	// The kept database: what `trigger case show` reads.
	s, err := sqlite.Open(filepath.Join(dir, "trigger-demo.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	c, err := s.Case(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != casefile.StatusResponded || c.Channel == "" {
		t.Errorf("case %s, channel %q", c.Status, c.Channel)
	}
	mt, err := s.MeetingOf(ctx, ref)
	if err != nil || mt == nil || len(mt.Recommendations) != 2 {
		t.Fatalf("meeting %+v %v", mt, err)
	}
	for _, r := range mt.Recommendations {
		if !cal.IsWorkingDay(r.Due) {
			t.Errorf("recommendation %q is due on %s, not a working day", r.Text, r.Due)
		}
	}
	kinds := map[string]int{}
	for _, msg := range c.Messages {
		kinds[msg.Direction+":"+msg.Kind]++
	}
	// In: the application and the applicant's two replies. Out: the
	// acknowledgement, the met and response letters, the invitation and the
	// consultation.
	if kinds["in:application"] != 1 || kinds["in:followup"] != 2 || kinds["out:ack"] != 1 || kinds["out:letter"] != 2 ||
		kinds["out:invitation"] != 1 || kinds["out:consultation"] != 1 {
		t.Errorf("messages on the case: %v", kinds)
	}
	if c.Involvement.Choice != casefile.InvolvementMeeting || c.Consultation == nil || c.Consultation.RepliedAt == nil {
		t.Errorf("involvement %+v, consultation %+v", c.Involvement, c.Consultation)
	}
	evs, _ := s.Events(ctx, c.Ref)
	for i, e := range evs {
		if e.Seq != i+1 {
			t.Fatalf("audit trail has a gap at %d: seq %d", i+1, e.Seq)
		}
	}
	jobs, _ := s.Jobs(ctx, "")
	for _, j := range jobs {
		if j.State != "done" {
			t.Errorf("job %d %s is %s: %s", j.ID, j.Kind, j.State, j.LastError)
		}
	}
	// The out-of-office reply was stored and never answered; the phone
	// call is a case of its own, typed in by the coordinator.
	cases, _ := s.Cases(ctx, "")
	if len(cases) != 3 {
		t.Errorf("%d cases, want 3 (two emailed applications and a phone call; the out-of-office is not one)", len(cases))
	}
	phoned, err := s.Case(ctx, fmt.Sprintf("CT-%d-0003", year))
	if err != nil || phoned.Source != "staff" || phoned.Applicant.Name != "Margaret Okafor" || phoned.Applicant.Postcode != "LE65 1AB" || phoned.Channel == "" {
		t.Errorf("the phoned case: %+v %v", phoned, err)
	}
	// No personal data on the Home tab.
	if home := out.String()[strings.Index(out.String(), "──── the coordinator's Home tab"):]; strings.Contains(home[:strings.Index(home, "────────────────────────────────────")], "Okafor") {
		t.Error("the Home tab shows the phoned resident's name")
	}
	return out.String()
}
