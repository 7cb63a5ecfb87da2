package sqlite_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

func london(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, casefile.London)
	if err != nil {
		panic(err)
	}
	return t
}

func TestWorkingHours(t *testing.T) {
	cal := casefile.NewCalendar(nil)
	for _, tc := range []struct {
		at   string
		in   bool
		next string
	}{
		{"2026-12-23 08:59", false, "2026-12-23 09:00"},
		{"2026-12-23 09:00", true, "2026-12-23 09:00"},
		{"2026-12-23 16:59", true, "2026-12-23 16:59"},
		{"2026-12-23 17:00", false, "2026-12-24 09:00"},
		{"2026-12-24 17:30", false, "2026-12-29 09:00"}, // Christmas, a weekend, Boxing Day's substitute
		{"2026-12-25 10:00", false, "2026-12-29 09:00"},
		{"2026-12-28 10:00", false, "2026-12-29 09:00"},
		{"2027-03-25 17:00", false, "2027-03-30 09:00"}, // Good Friday and Easter Monday
		{"2027-03-29 12:00", false, "2027-03-30 09:00"},
		{"2027-03-27 12:00", false, "2027-03-30 09:00"},
	} {
		at := london(tc.at)
		if got := cal.InWorkingHours(at); got != tc.in {
			t.Errorf("InWorkingHours(%s) = %v", tc.at, got)
		}
		if got := cal.NextWorkingHours(at); !got.Equal(london(tc.next)) {
			t.Errorf("NextWorkingHours(%s) = %s, want %s", tc.at, got, tc.next)
		}
	}
}

// remCompleteEmail marks every email job done, as the mail dispatcher would:
// the acknowledgement closes its deadline, so only the agencies' deadlines
// are left to remind about.
func remCompleteEmail(t *testing.T, s *sqlite.Store) {
	t.Helper()
	ctx := context.Background()
	jobs, err := s.ClaimJobs(ctx, "email.", 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		done := casefile.JobDone{}
		if j.Kind == casefile.JobEmailAck {
			done.Sent = &casefile.Outbound{MessageID: "ack-" + j.CaseRef + "@test", Kind: "ack", Subject: "ack", Raw: []byte("Subject: ack\r\n\r\nack\r\n")}
		}
		if err := s.CompleteJob(ctx, j, done); err != nil {
			t.Fatal(err)
		}
	}
}

func reminderKeys(rs []casefile.Reminder) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Key)
	}
	slices.Sort(out)
	return out
}

// TestReminders runs the scheduler on a fake clock around Christmas 2026:
// the agencies' replies are due on Tuesday 29 December, after Christmas Day,
// a weekend and Boxing Day's substitute Monday. Nothing goes out of hours,
// each reminder goes exactly once, across restarts, and a snoozed one comes
// back on the next working day unless a later one replaces it.
func TestReminders(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "trigger.db")
	s, clk := MustOpenStoreAt(t, path)
	clk.Set(london("2026-12-11 10:00"))
	c := mustCreate(t, s, sampleApplication())
	ref := c.Ref
	must(t)(s.Decide(ctx, who("U-COORD"), ref, casefile.Met, "three complaints"))
	for i, a := range []string{"police", "council", "housing"} {
		if err := s.SetRequestMessage(ctx, ref, a, "1765450000.00010"+string(rune('0'+i)), false); err != nil {
			t.Fatal(err)
		}
	}
	reqs, err := s.Requests(ctx, ref)
	if err != nil || len(reqs) != 3 || reqs[0].Due != casefile.MustDate("2026-12-29") {
		t.Fatalf("requests %+v %v", reqs, err)
	}
	must(t)(s.RecordReply(ctx, who("U-PC"), casefile.ReplyInput{Ref: ref, Agency: "police", Author: "U-PC", Source: "form", NoInfo: true, DedupeKey: "p1"}))
	remCompleteEmail(t, s)

	run := func(at string, want ...string) {
		t.Helper()
		clk.Set(london(at))
		due, err := s.DueReminders(ctx)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)
		if got := reminderKeys(due); !slices.Equal(got, want) {
			t.Fatalf("%s: due %q, want %q", at, got, want)
		}
		n, err := s.RunReminders(ctx)
		if err != nil || n != len(want) {
			t.Fatalf("%s: RunReminders queued %d (%v), want %d", at, n, err, len(want))
		}
		if n, _ := s.RunReminders(ctx); n != 0 {
			t.Fatalf("%s: a second run queued %d more", at, n)
		}
	}
	key := func(agency, stage string) string { return casefile.ReminderKey(ref, agency, stage) }

	run("2026-12-22 10:00") // three working days before: nothing yet
	run("2026-12-23 08:59") // two working days before, but before 09:00
	run("2026-12-23 09:00", key("council", "before2"), key("housing", "before2"))
	run("2026-12-23 17:00")
	run("2026-12-24 10:00") // one working day before: the reminder went yesterday
	run("2026-12-25 10:00") // Christmas Day
	run("2026-12-26 10:00") // Saturday
	run("2026-12-28 10:00") // Boxing Day, observed
	run("2026-12-29 08:30")
	run("2026-12-29 10:00", key("council", "due"), key("housing", "due"))

	// The housing officer snoozes the reminder of the day: it would come
	// back tomorrow, but tomorrow the overdue reminder takes its place.
	until, changed, err := s.SnoozeReminder(ctx, who("U-HO"), key("housing", "due"))
	if err != nil || !changed || until != casefile.MustDate("2026-12-30") {
		t.Fatalf("snooze: %s %v %v", until, changed, err)
	}
	if until2, changed, err := s.SnoozeReminder(ctx, who("U-HO"), key("housing", "due")); err != nil || changed || until2 != until {
		t.Fatalf("second snooze: %s %v %v", until2, changed, err)
	}

	// A restart: the same file, a new store.
	s.Close()
	s, clk = MustOpenStoreAt(t, path)
	run("2026-12-29 11:00")
	run("2026-12-30 10:00", key("council", "overdue"), key("housing", "overdue"), "digest:"+ref+":2026-12-30")

	// The council officer snoozes the overdue reminder: it comes back on
	// the next working day beside the digest.
	if _, _, err := s.SnoozeReminder(ctx, who("U-ASB"), key("council", "overdue")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, clk = MustOpenStoreAt(t, path)
	run("2026-12-30 15:00")
	run("2026-12-31 10:00", key("council", "overdue")+":snoozed:2026-12-31", "digest:"+ref+":2026-12-31")
	run("2027-01-01 10:00") // New Year's Day
	run("2027-01-02 10:00") // Saturday

	// Housing replies: from then on only the council is chased.
	must(t)(s.RecordReply(ctx, who("U-HO"), casefile.ReplyInput{Ref: ref, Agency: "housing", Author: "U-HO", Source: "thread", Text: "Nothing held", DedupeKey: "h1"}))
	run("2027-01-04 09:30", "digest:"+ref+":2027-01-04")

	// What was queued: each key once, each with its audit event.
	jobs, err := s.Jobs(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, j := range jobs {
		count[j.DedupeKey]++
		if strings.HasPrefix(j.DedupeKey, "reminder:") && j.Kind != casefile.JobSlackReminder {
			t.Errorf("%s is a %s job", j.DedupeKey, j.Kind)
		}
	}
	for k, n := range count {
		if n != 1 {
			t.Errorf("%s queued %d times", k, n)
		}
	}
	evs, _ := s.Events(ctx, ref)
	kinds := map[string]int{}
	for _, e := range evs {
		kinds[e.Kind]++
	}
	if kinds["reminder.queued"] != 7 || kinds["reminder.digest"] != 3 || kinds["reminder.snoozed"] != 2 {
		t.Errorf("audit trail: %v", kinds)
	}
	// The digest names deadlines and agencies, never the resident.
	clk.Set(london("2027-01-05 10:00"))
	due, err := s.DueReminders(ctx)
	if err != nil || len(due) != 1 || due[0].Stage != casefile.StageDigest {
		t.Fatalf("digest: %+v %v", due, err)
	}
	digest := casefile.DigestText(ref, casefile.MustDate("2027-01-05"), due[0].Overdue, s.Config)
	if !strings.Contains(digest, "reply from District Council: due Tue 29 Dec 2026, 4 working days overdue") || strings.Contains(digest, "Housing") {
		t.Errorf("digest:\n%s", digest)
	}
	for _, pd := range []string{"Lucy", "Fielding", "lucy.fielding", "07700", "DE12", "Mill Street"} {
		if strings.Contains(digest, pd) {
			t.Errorf("the digest contains %q", pd)
		}
	}
}

// TestSnoozeRefusals: a reminder that does not exist, or whose agency has
// replied, cannot be snoozed.
func TestSnoozeRefusals(t *testing.T) {
	ctx := context.Background()
	s, clk := MustOpenStore(t)
	clk.Set(london("2026-12-11 10:00"))
	ref := mustCreate(t, s, sampleApplication()).Ref
	must(t)(s.Decide(ctx, who("U-COORD"), ref, casefile.Met, ""))
	if err := s.SetRequestMessage(ctx, ref, "police", "1765450000.000100", false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SnoozeReminder(ctx, who("U-PC"), "reminder:CT-2026-0099:police:due"); casefile.ErrorCode(err) != casefile.ENOTFOUND {
		t.Errorf("unknown reminder: %v", err)
	}
	clk.Set(london("2026-12-29 10:00"))
	if _, err := s.RunReminders(ctx); err != nil {
		t.Fatal(err)
	}
	must(t)(s.RecordReply(ctx, who("U-PC"), casefile.ReplyInput{Ref: ref, Agency: "police", Author: "U-PC", Source: "form", NoInfo: true, DedupeKey: "p1"}))
	_, _, err := s.SnoozeReminder(ctx, who("U-PC"), casefile.ReminderKey(ref, "police", casefile.StageDue))
	if casefile.ErrorCode(err) != casefile.ECONFLICT || !strings.Contains(err.Error(), "Police has replied") {
		t.Errorf("snooze after the reply: %v", err)
	}
}
