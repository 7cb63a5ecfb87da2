package sqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// personalData are the things the known cases say about the applicant and
// that must be gone from a purged case.
var personalData = []string{
	"Lucy", "Fielding", "lucy.fielding", "07700", "DE12", "Mill Street", "Measham", "0345 of 03/08/2026", "ASB/2026/0981", "FH-20931",
	"Alleyway", "diary", "photo", "moved house", "reported once", "patrols missed", "distressed", "handled separately", "Calls logged",
}

// TestRetention: the dry run lists exactly what the real run removes; the
// year's figures are the same before and after; nothing personal is left
// of a purged case; a second run removes nothing.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	s, clk := MustOpenStore(t)
	rc := buildReportCases(t, s, clk)

	// Five years on, nothing is due yet.
	clk.Set(london("2031-06-01 10:00"))
	if due, err := s.RetentionDue(ctx); err != nil || len(due) != 0 {
		t.Fatalf("after five years: %+v %v", due, err)
	}
	clk.Set(london("2033-01-10 10:00"))
	before, err := s.YearReport(ctx, 2026)
	if err != nil {
		t.Fatal(err)
	}
	dry, err := s.RetentionDue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, p := range dry {
		refs = append(refs, p.Ref)
	}
	// Closed (A, B) or withdrawn (D) more than six years ago; C has a
	// response but was never closed; E and F are open.
	if strings.Join(refs, " ") != strings.Join([]string{rc.B, rc.A, rc.D}, " ") {
		t.Fatalf("due: %v, want B A D", refs)
	}
	a := dry[1]
	// Letters: the met, outcome and further-review letters, and the
	// consultation, meeting-date and closure emails. Events: the further
	// review's and the skipped consultation's reasons.
	if a.Messages != 1 || a.Attachments != 2 || a.Letters != 6 || a.Replies != 3 || a.Events != 2 {
		t.Errorf("A's purge: %+v", a)
	}

	done, err := s.PurgeExpired(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(done, dry) {
		t.Errorf("the real run removed\n%+v\nthe dry run listed\n%+v", done, dry)
	}
	after, err := s.YearReport(ctx, 2026)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Errorf("the 2026 figures changed with the purge:\nbefore %+v\nafter  %+v", before, after)
	}
	if again, err := s.PurgeExpired(ctx); err != nil || len(again) != 0 {
		t.Errorf("a second run: %+v %v", again, err)
	}

	for _, ref := range []string{rc.A, rc.B, rc.D} {
		c, err := s.Case(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Purged {
			t.Errorf("%s is not marked purged", ref)
		}
		evs, _ := s.Events(ctx, ref)
		if last := evs[len(evs)-1]; last.Kind != "case.purged" || last.Actor != "retention" {
			t.Errorf("%s: last event %+v", ref, last)
		}
		held := caseHeld(t, s, ref)
		for _, pd := range personalData {
			if strings.Contains(held, pd) {
				t.Errorf("%s still holds %q after the purge", ref, pd)
			}
		}
	}
	// What the figures and the record need is kept.
	ca, _ := s.Case(ctx, rc.A)
	if ca.Route != casefile.RouteIndividual || len(ca.Incidents) != 3 || ca.Incidents[0].OccurredOn != casefile.MustDate("2026-08-02") ||
		ca.Incidents[0].Agency != "police" || len(ca.Attachments) != 2 || ca.Attachments[0].Size != int64(len(reportAttachment)) ||
		ca.Threshold.Decision == nil || ca.Threshold.Decision.Outcome != casefile.Met {
		t.Errorf("A after the purge: %+v", ca)
	}
	// A case not due keeps everything.
	if held := caseHeld(t, s, rc.C); !strings.Contains(held, "Lucy Fielding") {
		t.Errorf("C lost its personal data")
	}
}

// caseHeld is everything the store gives out about a case, as text: the
// record, requests, meeting, letters, further reviews, the audit trail, and
// the export with every file's bytes.
func caseHeld(t *testing.T, s *sqlite.Store, ref string) string {
	t.Helper()
	ctx := context.Background()
	var all []any
	c, err := s.Case(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	reqs, _ := s.Requests(ctx, ref)
	m, _ := s.MeetingOf(ctx, ref)
	ls, _ := s.Letters(ctx, ref)
	es, _ := s.FurtherReviews(ctx, ref)
	evs, _ := s.Events(ctx, ref)
	jobs, _ := s.Jobs(ctx, ref)
	mails, _ := s.ResidentEmails(ctx, ref)
	all = append(all, c, reqs, m, ls, es, evs, jobs, mails)
	b, _ := json.Marshal(all)
	out := string(b)
	dir := filepath.Join(t.TempDir(), "export")
	if _, err := s.Export(ctx, who("test"), ref, dir); err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(path)
			out += "\n" + path + "\n" + string(b)
		}
		return nil
	})
	return out
}

// TestRetentionCutoffLeapDay: six years before 29 February 2028 is the
// end of February 2022, which has no 29th: a case closed on the morning of
// 1 March 2022 has not been closed for six years at noon on 29 February 2028.
func TestRetentionCutoffLeapDay(t *testing.T) {
	s, _ := MustOpenStore(t)
	for now, want := range map[string]string{
		"2028-02-29 12:00": "2022-02-28 12:00",
		"2028-03-01 12:00": "2022-03-01 12:00",
		"2028-02-28 12:00": "2022-02-28 12:00",
		"2027-01-04 10:00": "2021-01-04 10:00",
		"2027-06-26 23:30": "2021-06-26 23:30",
	} {
		if got := s.RetentionCutoffAt(london(now)); !got.Equal(london(want)) {
			t.Errorf("at %s the cutoff is %s, want %s", now, got.Format("2006-01-02 15:04"), want)
		}
	}
}

// TestPurgeLooseMail: automatic replies and quarantined mail with no case
// go after the retention period too; their Message-IDs and hashes stay
// known.
func TestPurgeLooseMail(t *testing.T) {
	ctx := context.Background()
	s, clk := MustOpenStore(t)
	if _, err := s.Ingest(ctx, casefile.Inbound{MessageID: "ooo@x", Raw: []byte("Subject: away\r\n\r\nI am away until Monday. Lucy Fielding"),
		Subject: "away", From: "lucy.fielding@example.net", Machine: casefile.MachineAutoReply, Text: "I am away. Lucy Fielding"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Quarantine(ctx, "broken@x", []byte("broken mail from Lucy Fielding"), errors.New("bad boundary")); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.LooseMailDue(ctx); l.Messages != 0 || l.Quarantined != 0 {
		t.Fatalf("due before the retention period: %+v", l)
	}
	clk.Add(7 * 366 * 24 * time.Hour)
	due, err := s.LooseMailDue(ctx)
	if err != nil || due.Messages != 1 || due.Quarantined != 1 {
		t.Fatalf("due: %+v %v", due, err)
	}
	done, err := s.PurgeLooseMail(ctx)
	if err != nil || done != due {
		t.Fatalf("purged %+v, the dry run said %+v (%v)", done, due, err)
	}
	if again, _ := s.LooseMailDue(ctx); again.Messages != 0 || again.Quarantined != 0 {
		t.Errorf("still due after the purge: %+v", again)
	}
	if q, _ := s.QuarantineList(ctx, true); len(q) != 0 {
		t.Errorf("quarantine still holds %d messages", len(q))
	}
	// The same message again (its sha256 is kept with its Message-ID).
	res, err := s.Ingest(ctx, casefile.Inbound{MessageID: "ooo@x", Raw: []byte("Subject: away\r\n\r\nI am away until Monday. Lucy Fielding"), Machine: casefile.MachineAutoReply})
	if err != nil || res.Outcome != casefile.OutcomeDuplicate {
		t.Errorf("the purged message is not known any more: %+v %v", res, err)
	}
}
