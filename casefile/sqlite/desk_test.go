package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// TestDesk: what the Home tab reads, from a real database. Four cases on
// Monday 12 October 2026: one received (the coordinator's threshold
// decision next), one with the agencies asked and the police's reply in,
// one not met (its letter awaiting approval), one withdrawn (off the desk).
// Three weeks on, the agencies that did not reply and the threshold
// decision are overdue.
func TestDesk(t *testing.T) {
	ctx := context.Background()
	s, clk := MustOpenStore(t)
	clk.Set(london("2026-10-12 10:00"))
	received := mustCreate(t, s, applicationFrom(1))
	gathering := mustCreate(t, s, applicationFrom(2))
	notMet := mustCreate(t, s, applicationFrom(3))
	withdrawn := mustCreate(t, s, applicationFrom(4))
	must(t)(s.Decide(ctx, who("U-COORD"), gathering.Ref, casefile.Met, ""))
	must(t)(s.RecordReply(ctx, who("U-PC"), casefile.ReplyInput{Ref: gathering.Ref, Agency: "police", Author: "U-PC", Source: "form", NoInfo: true, DedupeKey: "p1"}))
	must(t)(s.Decide(ctx, who("U-COORD"), notMet.Ref, casefile.NotMet, "one complaint only"))
	must(t)(s.Withdraw(ctx, who("U-COORD"), withdrawn.Ref, "moved away"))
	if err := s.SetChannel(ctx, gathering.Ref, "G0GATHER01", "ct-2026-0002"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRequestMessage(ctx, gathering.Ref, "council", "1760000000.000100", false); err != nil {
		t.Fatal(err)
	}
	remCompleteEmail(t, s) // the acknowledgements went

	t.Run("OnTheDay", func(t *testing.T) {
		d, err := s.Desk(ctx, casefile.DeskQuery{Cases: true, Agencies: []string{"council"}, Drafts: true})
		if err != nil {
			t.Fatal(err)
		}
		if d.Counts != (casefile.DeskCounts{Open: 3, Overdue: 0, Year: 2026, ThisYear: 4}) {
			t.Errorf("counts %+v", d.Counts)
		}
		var refs []string
		for _, c := range d.Cases {
			refs = append(refs, c.Ref)
		}
		// Nearest deadline first: the agencies' replies (26 October) and
		// the threshold decision (also 26 October) before the not-met
		// letter's response (also 26 October): ties by reference.
		if want := []string{received.Ref, gathering.Ref, notMet.Ref}; !slices.Equal(refs, want) {
			t.Fatalf("cases %v, want %v", refs, want)
		}
		r, g, n := d.Cases[0], d.Cases[1], d.Cases[2]
		if r.Next == nil || r.Next.Deadline != casefile.DeadlineThresholdDecision || r.Next.Owner != casefile.PartyCoordinator || r.Next.Due != casefile.MustDate("2026-10-26") {
			t.Errorf("received: next %+v", r.Next)
		}
		if g.Channel != "G0GATHER01" || !slices.Equal(g.Waiting, []string{"council", "housing"}) ||
			g.Next == nil || g.Next.Deadline != casefile.DeadlineAgencyReplies || g.Next.Owner != casefile.PartyAgencies || !slices.Equal(g.Next.Agencies, []string{"council", "housing"}) {
			t.Errorf("gathering: %+v next %+v", g, g.Next)
		}
		if n.Status != casefile.StatusAwaitingApproval || n.LetterKind != casefile.LetterNotMet || n.Next == nil || n.Next.Owner != casefile.PartyApprovers {
			t.Errorf("not met: %+v next %+v", n, n.Next)
		}
		if len(d.Requests) != 1 || d.Requests[0].Ref != gathering.Ref || d.Requests[0].MessageTS != "1760000000.000100" || d.Requests[0].Channel != "G0GATHER01" {
			t.Errorf("council's requests %+v", d.Requests)
		}
		if len(d.Drafts) != 1 || d.Drafts[0].Ref != notMet.Ref || d.Drafts[0].Kind != casefile.LetterNotMet || d.Drafts[0].Version != 1 {
			t.Errorf("drafts %+v", d.Drafts)
		}
	})

	t.Run("ThreeWeeksOn", func(t *testing.T) {
		clk.Set(london("2026-11-02 10:00"))
		d, err := s.Desk(ctx, casefile.DeskQuery{Cases: true})
		if err != nil {
			t.Fatal(err)
		}
		// Overdue: the threshold decision of the first, the council's and
		// housing's replies of the second, the not-met letter's response.
		if d.Counts.Open != 3 || d.Counts.Overdue != 4 {
			t.Errorf("counts %+v", d.Counts)
		}
		byRef := map[string]casefile.DeskCase{}
		for _, c := range d.Cases {
			byRef[c.Ref] = c
		}
		if o := byRef[gathering.Ref].Overdue; len(o) != 2 || o[0].Agency != "council" || o[1].Agency != "housing" || o[0].WorkingDays != 5 {
			t.Errorf("gathering overdue %+v", o)
		}
		if !byRef[received.Ref].AwaitsAny([]casefile.Party{casefile.PartyCoordinator}) || byRef[gathering.Ref].AwaitsAny([]casefile.Party{casefile.PartyCoordinator}) {
			t.Error("awaiting the coordinator: the received case does, the gathering one does not")
		}
		if !byRef[notMet.Ref].AwaitsAny([]casefile.Party{casefile.PartyApprovers}) || byRef[notMet.Ref].AwaitsAny([]casefile.Party{casefile.PartyChair}) {
			t.Error("the not-met letter awaits approvers, not the Chair alone")
		}
		if got := byRef[received.Ref].DaysOpen(d.Today); got != 21 {
			t.Errorf("days open %d", got)
		}
	})

	t.Run("OnlyWhatWasAsked", func(t *testing.T) {
		d, err := s.Desk(ctx, casefile.DeskQuery{Agencies: []string{"police"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Cases) != 0 || d.Counts != (casefile.DeskCounts{}) || len(d.Requests) != 0 || len(d.Drafts) != 0 {
			t.Errorf("an officer of the police, who replied, reads %+v", d)
		}
	})
}

// TestDeskIndexed: the desk's queries go through indexes, not through
// every row of a table (the Home tab is published for many people after
// each change).
func TestDeskIndexed(t *testing.T) {
	s, _ := MustOpenStore(t)
	plans, err := sqlite.DeskQueryPlans(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	for query, plan := range plans {
		// A SEARCH goes to the rows it needs; the one SCAN allowed reads
		// the partial index of open cases, which holds nothing else.
		for _, line := range strings.Split(plan, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "SCAN") && !strings.Contains(line, "INDEX cases_open") {
				t.Errorf("%s\nreads a whole table or index:\n%s", query, plan)
			}
		}
	}
}

// TestFindCases: the coordinator finds cases by the applicant's name, the
// location or an agency reference; nobody else may search; every search is
// audited, without what was searched for.
func TestFindCases(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpenStore(t)
	lucy := mustCreate(t, s, sampleApplication())
	other := sampleApplication()
	other.Applicant = casefile.Person{Name: "Omar Haddad", Postcode: "LE67 3FJ"}
	other.Location = "Acacia Avenue car park"
	other.Incidents = []casefile.Incident{{Agency: "police", Reference: "PC_100%"}}
	omar := mustCreate(t, s, other)
	coord := casefile.Actor{ID: "U-COORD", Roles: []casefile.Role{casefile.RoleCoordinator}}

	for _, tc := range []struct {
		text string
		want []string
	}{
		{"fielding", []string{lucy.Ref}},
		{"ACACIA", []string{omar.Ref}},
		{"asb/2026/0981", []string{lucy.Ref}},
		{"100%", []string{omar.Ref}}, // % is the character, not a wildcard
		{"Street", []string{lucy.Ref}},
		{"nobody here", nil},
	} {
		got, total, err := s.FindCases(ctx, coord, tc.text, 20)
		if err != nil {
			t.Fatalf("find %q: %v", tc.text, err)
		}
		var refs []string
		for _, c := range got {
			refs = append(refs, c.Ref)
		}
		if !slices.Equal(refs, tc.want) || total != len(tc.want) {
			t.Errorf("find %q = %v (%d), want %v", tc.text, refs, total, tc.want)
		}
	}
	t.Run("Limit", func(t *testing.T) {
		got, total, err := s.FindCases(ctx, coord, "example", 1) // nobody's name: no match
		if err != nil || len(got) != 0 || total != 0 {
			t.Errorf("%v %d %v", got, total, err)
		}
		got, total, err = s.FindCases(ctx, coord, "e", 1)
		if casefile.ErrorCode(err) != casefile.EINVALID {
			t.Errorf("one character: %v %d %v", got, total, err)
		}
		got, total, err = s.FindCases(ctx, coord, "police", 1) // no name, place or reference says police
		if err != nil || total != 0 {
			t.Errorf("police: %v %d %v", got, total, err)
		}
		got, total, err = s.FindCases(ctx, coord, "Mill", 1)
		if err != nil || len(got) != 1 || total != 1 {
			t.Errorf("Mill: %v %d %v", got, total, err)
		}
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		for _, a := range []casefile.Actor{
			{ID: "U-CHAIR", Roles: []casefile.Role{casefile.RoleChair}},
			{ID: "U-PC", Roles: []casefile.Role{casefile.RoleOfficer}, Agencies: []string{"police"}},
			{ID: "U-X"},
		} {
			if _, _, err := s.FindCases(ctx, a, "fielding", 20); casefile.ErrorCode(err) != casefile.EFORBIDDEN {
				t.Errorf("%s searched: %v", a.ID, err)
			}
		}
	})
	t.Run("Audited", func(t *testing.T) {
		evs, err := s.ServiceEvents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var searches []casefile.Event
		for _, e := range evs {
			if e.Kind == "cases.searched" {
				searches = append(searches, e)
			}
		}
		if len(searches) != 9 {
			t.Fatalf("%d searches audited, want 9", len(searches))
		}
		first := searches[0]
		if first.Actor != "U-COORD" || first.Details["matched"] != float64(1) || !slices.Equal(anyStrings(first.Details["shown"]), []string{lucy.Ref}) {
			t.Errorf("first search audited as %+v", first)
		}
		for _, e := range searches {
			for _, v := range e.Details {
				if s, ok := v.(string); ok && strings.Contains(strings.ToLower(s), "fielding") {
					t.Errorf("the audit trail holds what was searched for: %+v", e)
				}
			}
		}
	})
}

// applicationFrom is the sample application from the n-th resident: each
// gets an acknowledgement (one an hour per address).
func applicationFrom(n int) casefile.Application {
	app := sampleApplication()
	app.Applicant.Email = fmt.Sprintf("resident%d@example.net", n)
	return app
}

func anyStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// TestCaseKey: a form sent twice opens one case.
func TestCaseKey(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpenStore(t)
	nc := casefile.NewCase{Application: sampleApplication(), Source: "staff", Via: "phone", Key: "view:V123", Actor: who("U-COORD")}
	first, err := s.CreateCase(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.CreateCase(ctx, nc)
	if err != nil || second.Ref != first.Ref {
		t.Fatalf("second: %+v %v", second, err)
	}
	if cs, _ := s.Cases(ctx, ""); len(cs) != 1 {
		t.Errorf("%d cases", len(cs))
	}
	evs, _ := s.Events(ctx, first.Ref)
	if len(evs) == 0 || evs[0].Kind != "case.created" || evs[0].Details["via"] != "phone" {
		t.Errorf("audit %+v", evs)
	}
	if _, err := s.CreateCase(ctx, casefile.NewCase{Application: sampleApplication(), Via: "pigeon", Actor: who("U-COORD")}); casefile.ErrorCode(err) != casefile.EINVALID {
		t.Errorf("via pigeon: %v", err)
	}
}

// TestDigestChannel: with [slack] digest_channel set, the day's digest is
// one job for every case with something overdue, queued once a day, with
// an audit event about no case; without it, one per case channel.
func TestDigestChannel(t *testing.T) {
	ctx := context.Background()
	cfg := casefile.DefaultConfig()
	cfg.Slack.DigestChannel = "#community-trigger"
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "trigger.db"), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	clk := &Clock{}
	s.Clock = clk.Now
	clk.Set(london("2026-10-12 10:00"))
	a := mustCreate(t, s, applicationFrom(1))
	b := mustCreate(t, s, applicationFrom(2))
	must(t)(s.Decide(ctx, who("U-COORD"), b.Ref, casefile.Met, ""))
	for _, ag := range []string{"police", "council", "housing"} {
		if err := s.SetRequestMessage(ctx, b.Ref, ag, "1760000000.0001"+ag, false); err != nil {
			t.Fatal(err)
		}
	}
	remCompleteEmail(t, s)

	clk.Set(london("2026-11-02 10:00"))
	if n, err := s.RunReminders(ctx); err != nil || n == 0 {
		t.Fatalf("RunReminders: %d %v", n, err)
	}
	clk.Set(london("2026-11-02 15:00"))
	if n, err := s.RunReminders(ctx); err != nil || n != 0 {
		t.Fatalf("second run: %d %v", n, err)
	}
	jobs, err := s.Jobs(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var digests []casefile.JobInfo
	for _, j := range jobs {
		if j.Kind == casefile.JobSlackDigest {
			digests = append(digests, j)
		}
		if j.Kind == casefile.JobSlackNotify && strings.HasPrefix(j.DedupeKey, "digest:") {
			t.Errorf("a digest in a case channel: %+v", j)
		}
	}
	if len(digests) != 1 || digests[0].DedupeKey != "digest:2026-11-02" || digests[0].CaseRef != "" {
		t.Fatalf("digest jobs %+v", digests)
	}
	p, err := s.JobPayload(ctx, digests[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	dj, err := casefile.PayloadOf[casefile.DigestJob](casefile.Job{Kind: casefile.JobSlackDigest, Payload: p})
	if err != nil {
		t.Fatal(err)
	}
	if dj.Day != casefile.MustDate("2026-11-02") || len(dj.Cases) != 2 || dj.Cases[0].Ref != a.Ref || dj.Cases[1].Ref != b.Ref || len(dj.Cases[1].Overdue) != 3 || dj.Cases[1].Overdue[0].Agency != "police" {
		t.Errorf("digest %+v", dj)
	}
	evs, _ := s.ServiceEvents(ctx)
	if len(evs) != 1 || evs[0].Kind != "reminder.digest" || evs[0].ID != dj.Event {
		t.Errorf("service events %+v, job's event %d", evs, dj.Event)
	}
	clk.Set(london("2026-11-03 10:00"))
	if _, err := s.RunReminders(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countKind(t, s, casefile.JobSlackDigest); n != 2 {
		t.Errorf("%d digests after two days", n)
	}
}

func countKind(t *testing.T, s *sqlite.Store, kind string) int {
	t.Helper()
	jobs, err := s.Jobs(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, j := range jobs {
		if j.Kind == kind {
			n++
		}
	}
	return n
}
