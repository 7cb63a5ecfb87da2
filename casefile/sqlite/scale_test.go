package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// What runs for every message must not slow down as the case file grows:
// each of its queries finds its rows through an index (O(log n)), never by
// reading a whole table. TestIntakeQueriesUseIndexes proves it of every
// query an email's intake runs, with SQLite's own query plans;
// BenchmarkIntakeAtScale shows it in time, with 10,000 and 100,000 cases
// filed.

const formSender = "noreply@forms.example-council.gov.uk"

// intakeConfig is the default configuration with the agencies' addresses
// (an officer's in slack_users) and a web-form system.
func intakeConfig() *casefile.Config {
	cfg := casefile.DefaultConfig()
	cfg.Agencies[0].Email = "asb@police.example.uk"
	cfg.Agencies[0].SlackUsers = []string{"mark.ellis@police.example.uk"}
	cfg.Agencies[1].Email = "asb@example-council.gov.uk"
	cfg.Agencies[2].Email = "tenancy@example-housing.org"
	cfg.Intake.FormSenders = []string{formSender}
	return &cfg
}

func openScaleStore(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(path, intakeConfig())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// formApplication is resident i's application from the web-form system.
func formApplication(id string, i int) casefile.Inbound {
	app := sampleApplication()
	app.Applicant.Name = fmt.Sprintf("Resident %d", i)
	app.Applicant.Email = fmt.Sprintf("resident.%d@example.net", i)
	raw := fmt.Sprintf("Message-ID: <%s>\r\nFrom: Council Forms <%s>\r\nSubject: New submission #%d\r\n\r\nName: Resident %d\r\n", id, formSender, i, i)
	return casefile.Inbound{MessageID: id, From: formSender, Subject: fmt.Sprintf("New submission #%d", i), Raw: []byte(raw), Application: app, Text: raw}
}

// fillCases files n applications from n residents, 1,000 to a transaction.
func fillCases(tb testing.TB, s *sqlite.Store, n int) {
	tb.Helper()
	for lo := 0; lo < n; lo += 1000 {
		var ins []casefile.Inbound
		for i := lo; i < min(lo+1000, n); i++ {
			ins = append(ins, formApplication(fmt.Sprintf("fill-%d@forms.example", i), 1000000+i))
		}
		res, errs, err := s.IngestBatch(context.Background(), ins)
		if err != nil {
			tb.Fatal(err)
		}
		for i := range ins {
			if errs[i] != nil || res[i].Outcome != casefile.OutcomeCreated {
				tb.Fatalf("filling case %d: %+v %v", lo+i, res[i], errs[i])
			}
		}
	}
}

// scaleWorld is the cases an email's every path needs: an acknowledged
// applicant, two cases answered "threshold not met", one whose agencies
// were asked.
type scaleWorld struct {
	ref, applicant, ack string // the acknowledged case, its applicant and our acknowledgement's Message-ID
	answered            [2]string
	asked               string
}

var staff = who("U0STAFF")

func prepareWorld(tb testing.TB, s *sqlite.Store) scaleWorld {
	tb.Helper()
	ctx := context.Background()
	var w scaleWorld
	var refs []string
	for i := range 4 {
		res := mustIngest(tb, s, formApplication(fmt.Sprintf("world-%d@forms.example", i), i))
		refs = append(refs, *res.Case)
	}
	w.ref, w.applicant, w.answered, w.asked = refs[0], "resident.0@example.net", [2]string{refs[1], refs[2]}, refs[3]
	w.ack = "ct.world-ack@example-council.gov.uk"
	jobs, err := s.ClaimJobs(ctx, casefile.JobEmailAck, 1000, 0)
	if err != nil {
		tb.Fatal(err)
	}
	for _, j := range jobs {
		if j.CaseRef != w.ref {
			continue
		}
		if err := s.CompleteJob(ctx, j, casefile.JobDone{Sent: &casefile.Outbound{MessageID: w.ack, Kind: "ack", To: w.applicant, Raw: []byte("ack")}}); err != nil {
			tb.Fatal(err)
		}
	}
	for _, ref := range w.answered {
		if _, err := s.Decide(ctx, staff, ref, casefile.NotMet, "Fewer than three qualifying complaints."); err != nil {
			tb.Fatal(err)
		}
		letters, err := s.Letters(ctx, ref)
		if err != nil || len(letters) == 0 {
			tb.Fatalf("letters of %s: %v %v", ref, letters, err)
		}
		l := letters[len(letters)-1]
		if _, err := s.ApproveLetter(ctx, staff, ref, l.ID, l.SHA256); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := s.Decide(ctx, staff, w.asked, casefile.Met, ""); err != nil {
		tb.Fatal(err)
	}
	return w
}

// everyKind is one email of each kind intake files, their Message-IDs made
// unique by i: applications from the form system and from a resident, the
// applicant writing again (by our tag, and by a reply to our
// acknowledgement), the same message twice and another with its
// Message-ID, someone not a party, an officer's automatic reply, list
// mail, a bounce of our acknowledgement and backscatter.
func everyKind(w scaleWorld, i int) []casefile.Inbound {
	id := func(k string) string { return fmt.Sprintf("%s-%d@example.net", k, i) }
	tag := func(k, from, ref string) casefile.Inbound {
		raw := fmt.Sprintf("Message-ID: <%s>\r\nFrom: %s\r\nSubject: [%s] more\r\n\r\nIt happened again.\r\n", id(k), from, ref)
		return casefile.Inbound{MessageID: id(k), From: from, Subject: "[" + ref + "] more", SubjectRefs: []string{ref}, Raw: []byte(raw), Text: "It happened again."}
	}
	resident := formApplication(id("direct"), 2000000+i)
	resident.From = resident.Application.Applicant.Email
	followup := tag("tag", w.applicant, w.ref)
	reply := tag("reply", w.applicant, w.ref)
	reply.SubjectRefs, reply.ReplyTo = nil, []string{"unknown@example.net", w.ack}
	variant := followup
	variant.Raw = append([]byte("X-Resent: yes\r\n"), followup.Raw...)
	officer := tag("ooo", "mark.ellis@police.example.uk", w.asked)
	officer.Machine = casefile.MachineAutoReply
	list := casefile.Inbound{MessageID: id("list"), From: "news@lists.example.org", Machine: casefile.MachineAutoReply, Raw: []byte("Message-ID: <" + id("list") + ">\r\n\r\nnews")}
	bounce := casefile.Inbound{MessageID: id("bounce"), From: "mailer-daemon@mx.example.net", Machine: casefile.MachineBounce, Raw: []byte("Message-ID: <" + id("bounce") + ">\r\n\r\nbounce"),
		Bounce: &casefile.Bounce{Recipient: w.applicant, Status: "5.1.1", OriginalMessageID: w.ack}}
	backscatter := bounce
	backscatter.MessageID, backscatter.Raw = id("backscatter"), []byte("Message-ID: <"+id("backscatter")+">\r\n\r\nbounce")
	backscatter.Bounce = &casefile.Bounce{Recipient: "info@example.biz", Status: "5.1.1", OriginalMessageID: "spam@example.biz"}
	return []casefile.Inbound{
		formApplication(id("form"), 3000000+i), resident, followup, reply, followup, variant,
		tag("stranger", "neighbour@example.org", w.ref), officer, list, bounce, backscatter,
	}
}

// placeholders counts a query's parameters: "?" each, or "?N" up to the
// highest N.
func placeholders(q string) int {
	n, high := 0, 0
	for _, m := range regexp.MustCompile(`\?(\d*)`).FindAllStringSubmatch(q, -1) {
		if m[1] == "" {
			n++
		} else {
			var k int
			fmt.Sscan(m[1], &k)
			high = max(high, k)
		}
	}
	return max(n, high)
}

// TestIntakeQueriesUseIndexes runs email of every kind through intake on a
// store that has run nothing else, then asks SQLite how it runs each query
// that took: a plan that reads a whole table ("SCAN cases") fails.
func TestIntakeQueriesUseIndexes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "trigger.db")
	setup := openScaleStore(t, path)
	w := prepareWorld(t, setup)
	unread := []byte("Message-ID: <unread@example.net>\r\nFrom: broken\r\n\r\n\xff")
	if _, err := setup.Quarantine(ctx, "unread@example.net", unread, fmt.Errorf("could not be read")); err != nil {
		t.Fatal(err)
	}
	setup.Close()

	// A store that has run nothing but what intake runs.
	s := openScaleStore(t, path)
	res, errs, err := s.IngestBatch(ctx, everyKind(w, 1))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{casefile.OutcomeCreated, casefile.OutcomeCreated, casefile.OutcomeFollowup, casefile.OutcomeFollowup, casefile.OutcomeDuplicate,
		casefile.OutcomeFollowup, casefile.OutcomeFollowup, casefile.OutcomeAutoReply, casefile.OutcomeAutoReply, casefile.OutcomeBounce, casefile.OutcomeBounce}
	for i, r := range res {
		if errs[i] != nil || r.Outcome != want[i] {
			t.Errorf("message %d: %+v %v, want %s", i, r, errs[i], want[i])
		}
	}
	// A further review by email, and a review of a "not met" decision.
	review := func(ref string) casefile.Inbound {
		in := mail("review-"+ref+"@example.net", "resident.1@example.net", ref)
		if ref == w.answered[1] {
			in.From = "resident.2@example.net"
		}
		in.WantsFurtherReview = true
		return in
	}
	if r := mustIngest(t, s, review(w.answered[0])); r.Outcome != casefile.OutcomeFurtherReview {
		t.Errorf("further review: %+v", r)
	}
	s.Config.FurtherReview.ThresholdDecision = "the Chair of the Community Safety Partnership"
	if r := mustIngest(t, s, review(w.answered[1])); r.Outcome != casefile.OutcomeFurtherReview {
		t.Errorf("review of the threshold decision: %+v", r)
	}
	// Mail that could not be read before, now read; mail that cannot be.
	mustIngest(t, s, casefile.Inbound{MessageID: "unread@example.net", Raw: unread, From: "someone@example.net", Application: sampleApplication()})
	if _, err := s.Quarantine(ctx, "broken@example.net", []byte("broken"), fmt.Errorf("could not be read")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetIMAPCheckpoint(ctx, "INBOX", 1, 10); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.IMAPCheckpoint(ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	queries := sqlite.PreparedQueries(s)
	if len(queries) < 30 {
		t.Fatalf("only %d queries ran: intake did not run every path", len(queries))
	}
	// Tables of a row or a few: reading them whole costs nothing.
	// An index on a column of a few values (a status, a direction)
	// narrows nothing as the case file grows.
	few := regexp.MustCompile(`USING (COVERING )?INDEX \S+ \((state|status|direction|kind)=\?\)$`)
	small := regexp.MustCompile(`^SCAN (CONSTANT ROW|\d+-ROW VALUES CLAUSE|imap_state|secrets)\b`)
	for _, q := range queries {
		verb := strings.ToUpper(strings.Fields(q)[0])
		if verb == "SAVEPOINT" || verb == "RELEASE" || verb == "ROLLBACK" {
			continue
		}
		rows, err := db.Query("EXPLAIN QUERY PLAN "+q, make([]any, placeholders(q))...)
		if err != nil {
			t.Errorf("explain %s: %v", q, err)
			continue
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if testing.Verbose() {
			t.Logf("%s\n  %s", oneLine(q), strings.Join(plan, "\n  "))
		}
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN") && !small.MatchString(step) {
				t.Errorf("a query intake runs for every message reads a whole table (%s):\n%s\nplan:\n  %s", step, oneLine(q), strings.Join(plan, "\n  "))
				break
			}
			if few.MatchString(step) {
				t.Errorf("a query intake runs for every message reads every row with one of a few values (%s), which grow with the case file:\n%s\nplan:\n  %s", step, oneLine(q), strings.Join(plan, "\n  "))
				break
			}
		}
	}
	t.Logf("%d queries, each through an index", len(queries))
}

func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }

// BenchmarkIntakeAtScale files email of every kind (everyKind: eleven
// messages, one transaction) into a case file that already holds 10,000 or
// 100,000 cases: the time per message must not grow with the case file.
//
//	go test ./casefile/sqlite -run '^$' -bench IntakeAtScale -benchtime 200x
func BenchmarkIntakeAtScale(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("cases=%d", n), func(b *testing.B) {
			s := openScaleStore(b, filepath.Join(b.TempDir(), "trigger.db"))
			fillCases(b, s, n)
			w := prepareWorld(b, s)
			ctx := context.Background()
			i, msgs := 0, 0
			b.ResetTimer()
			for b.Loop() {
				i++
				ins := everyKind(w, i)
				if _, _, err := s.IngestBatch(ctx, ins); err != nil {
					b.Fatal(err)
				}
				msgs += len(ins)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(msgs), "µs/message")
		})
	}
}
