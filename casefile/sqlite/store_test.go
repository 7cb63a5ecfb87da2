package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

func TestCreateCase(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpenStore(t)
	c := mustCreate(t, s, sampleApplication())

	if c.Ref != "CT-2026-0001" || c.Status != casefile.StatusReceived {
		t.Fatalf("got %s %s, want CT-2026-0001 received", c.Ref, c.Status)
	}
	if c.Applicant.Postcode != "DE12 7HS" {
		t.Errorf("postcode %q, want DE12 7HS", c.Applicant.Postcode)
	}
	if c.Threshold.Assessment != casefile.Met || c.Threshold.QualifyingComplaints != 3 {
		t.Errorf("threshold %s/%d, want met/3", c.Threshold.Assessment, c.Threshold.QualifyingComplaints)
	}
	if got := fmt.Sprint(c.Agencies); got != "[police council housing]" {
		t.Errorf("agencies %s", got)
	}
	// Received Monday 12 October 2026: 5 working days → Monday 19, 10 → Monday 26.
	if d := c.Deadlines[casefile.DeadlineAcknowledge].Due; d != casefile.MustDate("2026-10-19") {
		t.Errorf("acknowledge due %s, want 2026-10-19", d)
	}
	if d := c.Deadlines[casefile.DeadlineThresholdDecision].Due; d != casefile.MustDate("2026-10-26") {
		t.Errorf("threshold decision due %s, want 2026-10-26", d)
	}
	evs, err := s.Events(ctx, c.Ref)
	if err != nil || len(evs) != 1 || evs[0].Kind != "case.created" || evs[0].Actor != "test" || evs[0].Seq != 1 {
		t.Fatalf("events %+v, %v", evs, err)
	}
	jobs, err := s.Jobs(ctx, c.Ref)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, j := range jobs {
		kinds[j.Kind] = j.DedupeKey
	}
	if kinds[casefile.JobSlackCreateChannel] != "channel:CT-2026-0001" || kinds[casefile.JobEmailAck] != "ack:CT-2026-0001" {
		t.Errorf("outbox jobs %v", kinds)
	}
}

func TestCreateCaseInvalid(t *testing.T) {
	s, _ := MustOpenStore(t)
	for name, mutate := range map[string]func(*casefile.Application){
		"route":    func(a *casefile.Application) { a.Route = "sideways" },
		"postcode": func(a *casefile.Application) { a.Applicant.Postcode = "NOT A CODE" },
		"agency":   func(a *casefile.Application) { a.Incidents[0].Agency = "fire" },
		"dates":    func(a *casefile.Application) { a.Incidents[0].ReportedOn = casefile.MustDate("2026-08-01") },
	} {
		t.Run(name, func(t *testing.T) {
			app := sampleApplication()
			mutate(&app)
			_, err := s.CreateCase(context.Background(), casefile.NewCase{Application: app, Actor: who("test")})
			if casefile.ErrorCode(err) != casefile.EINVALID {
				t.Fatalf("err %v, want invalid", err)
			}
		})
	}
	if cs, _ := s.Cases(context.Background(), ""); len(cs) != 0 {
		t.Fatalf("%d cases after invalid input, want 0", len(cs))
	}
}

func TestAckOncePerRecipientPerHour(t *testing.T) {
	ctx := context.Background()
	s, clk := MustOpenStore(t)
	a := mustCreate(t, s, sampleApplication())
	b := mustCreate(t, s, sampleApplication())
	clk.Add(61 * time.Minute)
	c := mustCreate(t, s, sampleApplication())
	noreply := sampleApplication()
	noreply.Applicant.Email = "noreply@forms.example-council.gov.uk"
	d := mustCreate(t, s, noreply)
	for _, tc := range []struct {
		ref  string
		want bool
	}{{a.Ref, true}, {b.Ref, false}, {c.Ref, true}, {d.Ref, false}} {
		jobs, _ := s.Jobs(ctx, tc.ref)
		got := false
		for _, j := range jobs {
			got = got || j.Kind == casefile.JobEmailAck
		}
		if got != tc.want {
			t.Errorf("%s: ack queued %v, want %v", tc.ref, got, tc.want)
		}
	}
	// The coordinator is asked to acknowledge the skipped ones another way,
	// and records it: the deadline is met once.
	jobs, _ := s.Jobs(ctx, d.Ref)
	if len(jobs) != 2 || jobs[1].Kind != casefile.JobSlackNotify || jobs[1].DedupeKey != "ack-skipped:"+d.Ref {
		t.Fatalf("jobs of %s: %+v", d.Ref, jobs)
	}
	if ch, err := s.RecordAcknowledgement(ctx, who("U-COORD"), d.Ref, "letter posted"); err != nil || !ch {
		t.Fatal(ch, err)
	}
	if ch, _ := s.RecordAcknowledgement(ctx, who("U-COORD"), d.Ref, "again"); ch {
		t.Error("a second acknowledgement changed the case")
	}
	got, _ := s.Case(ctx, d.Ref)
	if got.Deadlines[casefile.DeadlineAcknowledge].DoneAt == nil {
		t.Error("the acknowledge deadline is still open")
	}
}

func TestTransitionTable(t *testing.T) {
	allowed := map[[2]casefile.Status]bool{}
	for _, p := range [][2]casefile.Status{
		{"received", "accepted"}, {"received", "threshold_not_met"}, {"received", "withdrawn"},
		{"accepted", "gathering"}, {"accepted", "withdrawn"},
		{"threshold_not_met", "awaiting_approval"}, {"threshold_not_met", "withdrawn"},
		{"gathering", "meeting"}, {"gathering", "withdrawn"},
		{"meeting", "drafting"}, {"meeting", "withdrawn"},
		{"drafting", "awaiting_approval"}, {"drafting", "withdrawn"},
		{"awaiting_approval", "responded"}, {"awaiting_approval", "drafting"}, {"awaiting_approval", "withdrawn"},
		{"responded", "escalated"}, {"responded", "closed"},
		{"escalated", "escalation_review"}, {"escalated", "responded"}, {"escalated", "closed"},
		{"escalation_review", "awaiting_approval"}, {"escalation_review", "responded"},
		{"closed", "escalated"},
	} {
		allowed[p] = true
	}
	for _, from := range casefile.Statuses {
		for _, to := range casefile.Statuses {
			t.Run(string(from)+"→"+string(to), func(t *testing.T) {
				err := casefile.CanTransition(from, to)
				if allowed[[2]casefile.Status{from, to}] {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					return
				}
				if casefile.ErrorCode(err) != casefile.ECONFLICT {
					t.Fatalf("got %v, want a conflict", err)
				}
			})
		}
	}
	if casefile.ErrorCode(casefile.CanTransition("limbo", "closed")) != casefile.EINVALID {
		t.Error("an unknown status is not invalid")
	}
}

func TestDecide(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		s, _ := MustOpenStore(t)
		c := mustCreate(t, s, sampleApplication())
		changed, err := s.Decide(ctx, who("U-COORD"), c.Ref, casefile.Met, "three complaints")
		if err != nil || !changed {
			t.Fatalf("changed %v err %v", changed, err)
		}
		got, _ := s.Case(ctx, c.Ref)
		if got.Status != casefile.StatusGathering {
			t.Errorf("status %s, want gathering (accepted, agencies asked)", got.Status)
		}
		if d := got.Threshold.Decision; d == nil || d.By != "U-COORD" || d.Reason != "three complaints" || d.Outcome != casefile.Met {
			t.Errorf("decision %+v", got.Threshold.Decision)
		}
		if got.Deadlines[casefile.DeadlineThresholdDecision].DoneAt == nil {
			t.Error("threshold decision deadline still open")
		}
		// Decided Monday 12 October: replies due in 10 working days, meeting in 20.
		if d := got.Deadlines[casefile.DeadlineAgencyReplies].Due; d != casefile.MustDate("2026-10-26") {
			t.Errorf("agency replies due %s", d)
		}
		if d := got.Deadlines[casefile.DeadlineReviewMeeting].Due; d != casefile.MustDate("2026-11-09") {
			t.Errorf("review meeting due %s", d)
		}
		jobs, _ := s.Jobs(ctx, c.Ref)
		requests := 0
		for _, j := range jobs {
			if j.Kind == casefile.JobSlackPostRequest {
				requests++
			}
		}
		if requests != 3 {
			t.Errorf("%d agency requests queued, want 3", requests)
		}
		evs, _ := s.Events(ctx, c.Ref)
		var kinds []string
		for _, e := range evs {
			kinds = append(kinds, e.Kind)
		}
		// Accepting also drafts the letter telling the applicant (s.104(6)).
		if fmt.Sprint(kinds) != "[case.created threshold.decided agencies.asked letter.drafted]" {
			t.Errorf("events %v", kinds)
		}
	})
	t.Run("AlreadyDone", func(t *testing.T) {
		s, _ := MustOpenStore(t)
		c := mustCreate(t, s, sampleApplication())
		s.Decide(ctx, who("U-COORD"), c.Ref, casefile.Met, "")
		before, _ := s.Events(ctx, c.Ref)
		changed, err := s.Decide(ctx, who("U-COORD"), c.Ref, casefile.Met, "")
		if err != nil || changed {
			t.Fatalf("second decision: changed %v err %v, want already done", changed, err)
		}
		after, _ := s.Events(ctx, c.Ref)
		if len(after) != len(before) {
			t.Errorf("a repeated decision added %d events", len(after)-len(before))
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		s, _ := MustOpenStore(t)
		c := mustCreate(t, s, sampleApplication())
		s.Decide(ctx, who("U-COORD"), c.Ref, casefile.Met, "")
		_, err := s.Decide(ctx, who("U-COORD"), c.Ref, casefile.NotMet, "changed my mind")
		if casefile.ErrorCode(err) != casefile.ECONFLICT {
			t.Fatalf("err %v, want conflict", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		s, _ := MustOpenStore(t)
		_, err := s.Decide(ctx, who("U"), "CT-2026-0099", casefile.Met, "")
		if casefile.ErrorCode(err) != casefile.ENOTFOUND || err.Error() != "no case CT-2026-0099" {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		s, _ := MustOpenStore(t)
		c := mustCreate(t, s, sampleApplication())
		for _, call := range []func() error{
			func() error { _, err := s.Decide(ctx, who("U"), c.Ref, casefile.NotMet, ""); return err },
			func() error { _, err := s.Decide(ctx, who(""), c.Ref, casefile.Met, ""); return err },
			func() error { _, err := s.Decide(ctx, who("U"), c.Ref, casefile.Unknown, "x"); return err },
		} {
			if err := call(); casefile.ErrorCode(err) != casefile.EINVALID {
				t.Errorf("err %v, want invalid", err)
			}
		}
		got, _ := s.Case(ctx, c.Ref)
		if got.Status != casefile.StatusReceived {
			t.Errorf("status %s after invalid decisions", got.Status)
		}
	})
	t.Run("NotMet", func(t *testing.T) {
		s, _ := MustOpenStore(t)
		c := mustCreate(t, s, sampleApplication())
		if _, err := s.Decide(ctx, who("U-COORD"), c.Ref, casefile.NotMet, "one complaint only"); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Case(ctx, c.Ref)
		// threshold_not_met, then its letter is drafted and awaits approval.
		if got.Status != casefile.StatusAwaitingApproval || got.Deadlines[casefile.DeadlineResponse].Due.IsZero() {
			t.Errorf("status %s deadlines %v", got.Status, got.Deadlines)
		}
		letters, _ := s.Letters(ctx, c.Ref)
		if len(letters) != 1 || letters[0].Kind != casefile.LetterNotMet || !strings.Contains(letters[0].Text, "one complaint only") {
			t.Errorf("letters %+v", letters)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		s, _ := MustOpenStore(t)
		c := mustCreate(t, s, sampleApplication())
		var wg sync.WaitGroup
		results := make([]casefile.Changed, 10)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ch, err := s.Decide(ctx, who("U-COORD"), c.Ref, casefile.Met, "")
				if err != nil {
					t.Error(err)
				}
				results[i] = ch
			}()
		}
		wg.Wait()
		n := 0
		for _, r := range results {
			if r {
				n++
			}
		}
		evs, _ := s.Events(ctx, c.Ref)
		if n != 1 || len(evs) != 4 {
			t.Fatalf("%d decisions changed the case, %d events; want 1 and 4", n, len(evs))
		}
	})
}

func TestWithdraw(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpenStore(t)
	c := mustCreate(t, s, sampleApplication())
	if ch, err := s.Withdraw(ctx, who("U-COORD"), c.Ref, "resolved with neighbour"); err != nil || !ch {
		t.Fatal(ch, err)
	}
	if ch, err := s.Withdraw(ctx, who("U-COORD"), c.Ref, "again"); err != nil || ch {
		t.Fatalf("second withdrawal: %v %v", ch, err)
	}
	if _, err := s.Decide(ctx, who("U"), c.Ref, casefile.Met, ""); casefile.ErrorCode(err) != casefile.ECONFLICT {
		t.Fatalf("decision on a withdrawn case: %v", err)
	}
}

// TestConcurrentReferences: 50 goroutines creating cases at once get 50
// distinct, consecutive references.
func TestConcurrentReferences(t *testing.T) {
	s, _ := MustOpenStore(t)
	refs := make([]string, 50)
	var wg sync.WaitGroup
	for i := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.CreateCase(context.Background(), casefile.NewCase{Application: sampleApplication(), Actor: who("test")})
			if err != nil {
				t.Error(err)
				return
			}
			refs[i] = c.Ref
		}()
	}
	wg.Wait()
	checkConsecutive(t, refs, 50)
}

func checkConsecutive(t *testing.T, refs []string, n int) {
	t.Helper()
	sort.Strings(refs)
	if len(refs) != n {
		t.Fatalf("%d references, want %d", len(refs), n)
	}
	for i, r := range refs {
		if want := fmt.Sprintf("CT-2026-%04d", i+1); r != want {
			t.Fatalf("reference %d is %s, want %s (all: %v)", i, r, want, refs)
		}
	}
}

// The helper process: when TRIGGER_TEST_HELPER is set, the test binary
// creates cases in the database it names and prints their references.
func TestMain(m *testing.M) {
	if path := os.Getenv("TRIGGER_TEST_HELPER_DB"); path != "" {
		os.Exit(helperProcess(path))
	}
	os.Exit(m.Run())
}

func helperProcess(path string) int {
	s, err := sqlite.Open(path, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	s.Clock = func() time.Time { return time.Date(2026, 10, 12, 10, 0, 0, 0, casefile.London) }
	n, _ := strconv.Atoi(os.Getenv("TRIGGER_TEST_HELPER_N"))
	for i := 0; i < n || n == 0; i++ { // n == 0: until killed
		c, err := s.CreateCase(context.Background(), casefile.NewCase{Application: sampleApplication(), Actor: who("helper")})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if _, err := s.Decide(context.Background(), who("helper"), c.Ref, casefile.Met, ""); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(c.Ref)
	}
	return 0
}

func helperCmd(t *testing.T, db string, n int) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TRIGGER_TEST_HELPER_DB="+db, "TRIGGER_TEST_HELPER_N="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	return cmd
}

// TestConcurrentReferencesProcesses: several processes creating cases in
// one database file get distinct, consecutive references.
func TestConcurrentReferencesProcesses(t *testing.T) {
	db := filepath.Join(t.TempDir(), "trigger.db")
	MustOpenStoreAt(t, db) // create the schema first
	const procs, each = 4, 10
	outs := make([][]byte, procs)
	var wg sync.WaitGroup
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := helperCmd(t, db, each).Output()
			if err != nil {
				t.Errorf("helper %d: %v", p, err)
			}
			outs[p] = out
		}()
	}
	wg.Wait()
	var refs []string
	for _, o := range outs {
		for _, line := range splitLines(string(o)) {
			refs = append(refs, line)
		}
	}
	checkConsecutive(t, refs, procs*each)
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

// TestKilledMidWrite: a process killed with SIGKILL in the middle of writes
// leaves a database that opens, passes integrity_check, and holds no
// half-written case: every case has its creation event and channel job, and
// every decided case its agency requests.
func TestKilledMidWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	db := filepath.Join(t.TempDir(), "trigger.db")
	s0, _ := MustOpenStoreAt(t, db)
	s0.Close()
	for round := range 3 {
		cmd := helperCmd(t, db, 0)
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Let it write a few cases, then kill it mid-stream.
		buf := make([]byte, 64)
		for total := 0; total < 13*(round+2); {
			n, err := stdout.Read(buf)
			if err != nil {
				break
			}
			total += n
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	s, _ := MustOpenStoreAt(t, db)
	ctx := context.Background()
	if v, err := s.IntegrityCheck(ctx); err != nil || v != "ok" {
		t.Fatalf("integrity_check: %q %v", v, err)
	}
	cases, err := s.Cases(ctx, "")
	if err != nil || len(cases) == 0 {
		t.Fatalf("%d cases, err %v", len(cases), err)
	}
	var refs []string
	for _, c := range cases {
		refs = append(refs, c.Ref)
		evs, _ := s.Events(ctx, c.Ref)
		jobs, _ := s.Jobs(ctx, c.Ref)
		if len(evs) == 0 || evs[0].Kind != "case.created" {
			t.Errorf("%s has no creation event", c.Ref)
		}
		for i, e := range evs {
			if e.Seq != i+1 {
				t.Errorf("%s: event %d has seq %d: a gap", c.Ref, i, e.Seq)
			}
		}
		kinds := map[string]int{}
		for _, j := range jobs {
			kinds[j.Kind]++
		}
		want := map[string]int{casefile.JobSlackCreateChannel: 1}
		if c.Ref == "CT-2026-0001" {
			want[casefile.JobEmailAck] = 1
		} else { // the same address was acknowledged within the hour: the coordinator is asked to acknowledge another way
			want[casefile.JobSlackNotify] = 1
		}
		switch c.Status {
		case casefile.StatusGathering:
			want[casefile.JobSlackPostRequest] = 3
			want[casefile.JobSlackUpdateCard] = 1
			want[casefile.JobSlackPostDraft] = 1 // the letter saying the threshold is met
		case casefile.StatusReceived:
		default:
			t.Errorf("%s is %s", c.Ref, c.Status)
		}
		if fmt.Sprint(kinds) != fmt.Sprint(want) {
			t.Errorf("%s (%s): outbox jobs %v, want %v", c.Ref, c.Status, kinds, want)
		}
	}
	checkConsecutive(t, refs, len(refs))
}

func TestIsNoReply(t *testing.T) {
	for addr, want := range map[string]bool{
		"noreply@forms.example-council.gov.uk": true, "no-reply@x.org": true, "no_reply@x.org": true, "no.reply@x.org": true,
		"donotreply@x.org": true, "do-not-reply@x.org": true, "MAILER-DAEMON@mx.x.org": true, "bounces+123@x.org": true,
		"lucy.fielding@example.net": false, "norah@example.net": false, "replyall@example.net": false,
	} {
		if got := casefile.IsNoReply(addr); got != want {
			t.Errorf("IsNoReply(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestIngestBatch: messages filed together are filed as one by one would
// be, and one that fails is rolled back alone.
func TestIngestBatch(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpenStore(t)
	bad := sampleApplication()
	bad.Route = "sideways" // the store refuses it
	ins := []casefile.Inbound{
		{MessageID: "a@x", Raw: []byte("a"), From: "a@example.net", Application: sampleApplication()},
		{MessageID: "b@x", Raw: []byte("b"), From: "b@example.net", Application: bad},
		{MessageID: "a@x", Raw: []byte("a"), From: "a@example.net", Application: sampleApplication()},
		{MessageID: "c@x", Raw: []byte("c"), From: "c@example.net", Application: sampleApplication()},
	}
	res, errs, err := s.IngestBatch(ctx, ins)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{casefile.OutcomeCreated, "", casefile.OutcomeDuplicate, casefile.OutcomeCreated}
	for i, w := range want {
		if res[i].Outcome != w || (errs[i] != nil) != (w == "") {
			t.Errorf("message %d: %+v %v, want %q", i, res[i], errs[i], w)
		}
	}
	cases, _ := s.Cases(ctx, "")
	if len(cases) != 2 || cases[1].Ref != "CT-2026-0001" || cases[0].Ref != "CT-2026-0002" {
		t.Fatalf("cases %+v: want CT-2026-0001 and 0002, no gap for the failed one", cases)
	}
	if has, _ := s.HasMessage(ctx, "b@x"); has {
		t.Error("the failed message was stored")
	}
}

// TestWriterConnection checks the writers' connection has the page cache
// and checkpoint interval that keep filing a large mailbox fast (see dsn).
func TestWriterConnection(t *testing.T) {
	s, _ := MustOpenStore(t)
	for name, want := range map[string]int64{"cache_size": -32768, "wal_autocheckpoint": 10000, "synchronous": 2, "foreign_keys": 1} {
		got, err := sqlite.WriterPragma(s, name)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %d on the writers' connection, want %d", name, got, want)
		}
	}
}
