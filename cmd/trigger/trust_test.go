package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/config"
	"github.com/csp/trigger/casefile/outbox"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/mailout"
	"github.com/csp/trigger/mailout/mailsink"
)

// trustWorld is the command line on a database, with the real mail
// dispatcher sending to a mail sink: what a resident would receive.
type trustWorld struct {
	t      *testing.T
	dir    string
	cfg    string
	store  *sqlite.Store
	sink   *mailsink.Sink
	disp   *outbox.Dispatcher
	lastID int64
}

const gateway = "mx.example-council.gov.uk"

func newTrustWorld(t *testing.T) *trustWorld {
	t.Helper()
	w := &trustWorld{t: t, dir: t.TempDir()}
	var err error
	if w.sink, err = mailsink.Start(mailsink.Options{Quiet: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.sink.Close() })
	w.cfg = filepath.Join(w.dir, "trigger.toml")
	toml := fmt.Sprintf(`[imap]
trusted_authserv_id = %q

[smtp]
address = %q
tls = "none"

[intake]
form_senders = ["noreply@forms.example-council.gov.uk"]

[[agency]]
id = "police"
name = "Police"
aliases = ["police"]
email = "asb.unit@police.example"

[[agency]]
id = "council"
name = "District Council"
aliases = ["council", "district council"]

[[agency]]
id = "housing"
name = "Housing provider"
aliases = ["housing", "housing association"]
`, gateway, w.sink.Addr())
	if err := os.WriteFile(w.cfg, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

// run runs trigger with the world's database and configuration.
func (w *trustWorld) run(stdin string, args ...string) (string, string) {
	w.t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	if code := m.Run(context.Background(), append([]string{"--db", filepath.Join(w.dir, "trigger.db"), "--config", w.cfg}, args...)); code != 0 {
		w.t.Fatalf("trigger %v: exit %d: %s", args, code, errb.String())
	}
	return out.String(), errb.String()
}

// ingest pipes raw to `trigger ingest --json` and returns its line, and
// the line as JSON keys (to see which are there).
func (w *trustWorld) ingest(raw string) (casefile.IngestResult, map[string]any) {
	w.t.Helper()
	out, _ := w.run(raw, "ingest", "--json")
	var res casefile.IngestResult
	var keys map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		w.t.Fatalf("ingest --json: %v: %q", err, out)
	}
	json.Unmarshal([]byte(out), &keys)
	return res, keys
}

// show is `trigger case show REF --json`.
func (w *trustWorld) show(ref string) casefile.Case {
	w.t.Helper()
	out, _ := w.run("", "case", "show", ref, "--json")
	var c casefile.Case
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		w.t.Fatalf("case show --json: %v", err)
	}
	return c
}

// open opens the case file beside the command line, with the mail
// dispatcher that sends the outbox's email to the sink.
func (w *trustWorld) open() {
	w.t.Helper()
	cfg, err := config.Load(w.cfg, func(string) string { return "" })
	if err != nil {
		w.t.Fatal(err)
	}
	cfg.Database.Path = filepath.Join(w.dir, "trigger.db")
	if w.store, err = sqlite.Open(cfg.Database.Path, cfg); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { w.store.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	snd := &mailout.Sender{Config: cfg.SMTP, Store: w.store, Partnership: cfg.Partnership, Service: cfg, Logger: log, Timeout: 10 * time.Second}
	w.disp = &outbox.Dispatcher{Store: w.store, Prefix: "email.", Handler: snd, Logger: log}
}

// drain sends every email the outbox holds, and returns what the sink has.
func (w *trustWorld) drain() []mailsink.Message {
	w.t.Helper()
	for range 20 {
		n, err := w.disp.RunOnce(context.Background())
		if err != nil {
			w.t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	return w.sink.Messages()
}

// jobs lists the outbox jobs of every case.
func (w *trustWorld) jobs() []casefile.JobInfo {
	w.t.Helper()
	js, err := w.store.Jobs(context.Background(), "")
	if err != nil {
		w.t.Fatal(err)
	}
	return js
}

func (w *trustWorld) events(ref, kind string) int {
	evs, _ := w.store.Events(context.Background(), ref)
	n := 0
	for _, e := range evs {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func messageIDOf(t *testing.T, m mailsink.Message) string {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := r.Header.MessageID()
	return id
}

// TestHostileMail sends, through `trigger ingest --json`, the mail an
// attacker with ordinary email would write to steer someone else's answered
// case — and a resident's own mail around it. Each hostile message is kept
// (`case show --json` lists it, marked unverified with its reason) and
// changes nothing: the case stays responded, no further review is
// requested, and no email leaves (the outbox is drained to a mail sink).
func TestHostileMail(t *testing.T) {
	w := newTrustWorld(t)
	form, err := os.ReadFile("../../mailin/testdata/webform-sample.eml")
	if err != nil {
		t.Fatal(err)
	}
	created, keys := w.ingest(string(form))
	if created.Outcome != casefile.OutcomeCreated || !created.Verified || keys["verified"] != true {
		t.Fatalf("the application: %+v %v", created, keys)
	}
	ref := *created.Case
	w.open()
	sent := w.drain()
	if len(sent) != 1 || sent[0].To[0] != "lucy.fielding@example.net" {
		t.Fatalf("want the acknowledgement to Lucy: %+v", sent)
	}
	ackID := messageIDOf(t, sent[0])

	// The case is answered: threshold not met, the letter approved and sent.
	ctx := context.Background()
	admin := casefile.Admin("test")
	if _, err := w.store.Decide(ctx, admin, ref, casefile.NotMet, "Two complaints within the period, where three are needed."); err != nil {
		t.Fatal(err)
	}
	letters, _ := w.store.Letters(ctx, ref)
	if _, err := w.store.ApproveLetter(ctx, admin, ref, letters[0].ID, letters[0].SHA256); err != nil {
		t.Fatal(err)
	}
	sent = w.drain()
	if len(sent) != 2 {
		t.Fatalf("want the acknowledgement and the letter: %d emails", len(sent))
	}
	letterID := messageIDOf(t, sent[1])
	if w.show(ref).Status != casefile.StatusResponded {
		t.Fatal("the case is not answered")
	}

	const mallory = "From: Mallory <mallory@evil.example>\r\n"
	head := func(from, subject, extra string) string {
		return from + "To: communitytrigger@example-council.gov.uk\r\nSubject: " + subject + "\r\nDate: Tue, 17 Nov 2026 17:30:00 +0000\r\n" + extra +
			"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
	}
	const further = "I am not happy with the response and I want a further review of this case.\r\n"
	dsn := func(id, recipient, ourID string) string {
		return "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\nTo: communitytrigger@example-council.gov.uk\r\n" +
			"Subject: Undelivered Mail Returned to Sender\r\nDate: Tue, 17 Nov 2026 17:30:00 +0000\r\nMessage-ID: <" + id + ">\r\nAuto-Submitted: auto-replied\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n" +
			"--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n" +
			"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822; " + recipient +
			"\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n" +
			"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: Community Trigger <communitytrigger@example-council.gov.uk>\r\nTo: " + recipient +
			"\r\nSubject: [" + ref + "] Your Community Trigger application\r\nMessage-ID: <" + ourID + ">\r\n\r\n--b--\r\n"
	}
	application := "sub-40117.1760259731@forms.example-council.gov.uk"

	for _, tc := range []struct {
		name, raw, messageID string
		outcome, why         string // why: the unverified_reason; "" for verified
		noCase               bool   // it points to no case: kept on none
		check                func(t *testing.T, c casefile.Case)
	}{
		{name: "StrangerWithOurMessageIDInReferences", messageID: "s1@evil.example", outcome: casefile.OutcomeFollowup, why: casefile.UnverifiedNotAParty,
			raw: head(mallory, "Re: your letter", "Message-ID: <s1@evil.example>\r\nIn-Reply-To: <"+letterID+">\r\nReferences: <"+ackID+"> <"+letterID+">\r\n") + further},
		{name: "DisplayNameSpoof", messageID: "s2@evil.example", outcome: casefile.OutcomeFollowup, why: casefile.UnverifiedNotAParty,
			raw: head("From: \"lucy.fielding@example.net\" <mallory@evil.example>\r\n", "Re: ["+ref+"] your letter", "Message-ID: <s2@evil.example>\r\n") + further},
		{name: "CRLFInEncodedWord", messageID: "s3@evil.example", outcome: casefile.OutcomeFollowup, why: casefile.UnverifiedNotAParty,
			raw: head("From: =?utf-8?q?Lucy_Fielding=0D=0ABcc=3A_victim=40example=2Eorg?= <mallory@evil.example>\r\n", "Re: your letter",
				"Message-ID: <s3@evil.example>\r\nReferences: <"+letterID+">\r\n") + further},
		{name: "DMARCFailFromTheApplicantsAddress", messageID: "s4@evil.example", outcome: casefile.OutcomeFollowup, why: casefile.UnverifiedDMARCFail,
			raw: "Authentication-Results: " + gateway + "; spf=fail smtp.mailfrom=example.net; dkim=none; dmarc=fail header.from=example.net\r\n" +
				head("From: Lucy Fielding <lucy.fielding@example.net>\r\n", "Re: your letter", "Message-ID: <s4@evil.example>\r\nReferences: <"+letterID+">\r\n") + further},
		{name: "AgencyNotAskedAboutThisCase", messageID: "s5@police.example", outcome: casefile.OutcomeFollowup, why: casefile.UnverifiedNotAParty,
			raw: head("From: ASB Unit <asb.unit@police.example>\r\n", "Re: ["+ref+"] your letter", "Message-ID: <s5@police.example>\r\n") + further},
		{name: "SameMessageIDDifferentContent", messageID: application, outcome: casefile.OutcomeFollowup, why: casefile.UnverifiedNotAParty,
			raw: head(mallory, "["+ref+"] about my application", "Message-ID: <"+application+">\r\n") + further,
			check: func(t *testing.T, c casefile.Case) {
				n := 0
				for _, m := range c.Messages {
					if m.MessageID == application {
						n++
					}
				}
				if n != 2 {
					t.Errorf("%d messages with the application's Message-ID, want both kept", n)
				}
			}},
		{name: "ControlSequencesInSubjectAndFrom", messageID: "s7@evil.example", outcome: casefile.OutcomeFollowup, why: casefile.UnverifiedNotAParty,
			raw: head("From: =?utf-8?q?Lucy=1B[31m=07_Fielding?= <mallory@evil.example>\r\n", "=?utf-8?q?["+ref+"]_=1B[2J=1B]0;owned=07hello_=E2=80=AEtxt.exe?=",
				"Message-ID: <s7@evil.example>\r\n") + further,
			check: func(t *testing.T, c casefile.Case) {
				for _, m := range c.Messages {
					if m.MessageID == "s7@evil.example" && (m.Subject != "["+ref+"] hello txt.exe" || strings.ContainsAny(m.Subject, "\x1b\x07\u202e")) {
						t.Errorf("subject %q: control sequences not removed", m.Subject)
					}
				}
				out, _ := w.run("", "case", "show", ref)
				if strings.ContainsAny(out, "\x1b\x07\u202e") {
					t.Errorf("case show prints control characters:\n%q", out)
				}
				if !strings.Contains(out, "unverified (not_a_party): it changed nothing") {
					t.Errorf("case show does not mark the unverified mail:\n%s", out)
				}
			}},
		{name: "ForgedBounceWithoutOurMessageID", messageID: "b1@mx.example.net", outcome: casefile.OutcomeBounce, why: casefile.UnverifiedNotOurMessage, noCase: true,
			raw: dsn("b1@mx.example.net", "lucy.fielding@example.net", "ct."+ref+".ack.1@example-council.gov.uk")},
		{name: "BounceOfOurMessageNamingAnotherAddress", messageID: "b2@mx.example.net", outcome: casefile.OutcomeBounce, why: casefile.UnverifiedNotOurMessage,
			raw: dsn("b2@mx.example.net", "someone.else@example.net", ackID)},
		{name: "BounceOfOurLetterToTheApplicant", messageID: "b3@mx.example.net", outcome: casefile.OutcomeBounce,
			raw: dsn("b3@mx.example.net", "lucy.fielding@example.net", letterID),
			check: func(t *testing.T, c casefile.Case) {
				if bad, _ := w.store.Undeliverable(ctx, ref, "lucy.fielding@example.net"); !bad {
					t.Error("a bounce of our letter did not mark the address undeliverable for the case")
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jobsBefore := len(w.jobs())
			mailBefore := len(w.sink.Messages())
			res, keys := w.ingest(tc.raw)
			switch {
			case res.Outcome != tc.outcome:
				t.Errorf("ingest: %+v, want %s", res, tc.outcome)
			case tc.noCase && res.Case != nil:
				t.Errorf("ingest: %+v, want it on no case", res)
			case !tc.noCase && (res.Case == nil || *res.Case != ref):
				t.Errorf("ingest: %+v, want it on %s", res, ref)
			}
			if v, ok := keys["verified"]; !ok || v != (tc.why == "") || res.UnverifiedReason != tc.why {
				t.Errorf("verified %v (%v), unverified_reason %q; want %v, %q", v, ok, res.UnverifiedReason, tc.why == "", tc.why)
			}
			c := w.show(ref)
			if c.Status != casefile.StatusResponded {
				t.Errorf("the case is %s, want still responded", c.Status)
			}
			found := false
			for _, m := range c.Messages {
				if m.MessageID == tc.messageID && m.Direction == "in" && m.Verified == (tc.why == "") && m.UnverifiedReason == tc.why {
					found = true
				}
			}
			if found == tc.noCase {
				t.Errorf("case show --json does not list %s with verified=%v %q: %+v", tc.messageID, tc.why == "", tc.why, c.Messages)
			}
			if n := w.events(ref, "further_review.requested"); n != 0 {
				t.Errorf("%d further reviews requested", n)
			}
			for _, j := range w.jobs()[jobsBefore:] {
				if strings.HasPrefix(j.Kind, "email.") {
					t.Errorf("an email was queued: %+v", j)
				}
			}
			if got := w.drain(); len(got) != mailBefore {
				t.Errorf("%d emails left, want none: %+v", len(got)-mailBefore, got[mailBefore:])
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}

	t.Run("SameBytesAgainIsADuplicate", func(t *testing.T) {
		res, _ := w.ingest(string(form))
		if res.Outcome != casefile.OutcomeDuplicate || *res.Case != ref {
			t.Errorf("%+v, want a duplicate of %s", res, ref)
		}
	})

	t.Run("NewApplicationFailingDMARCWaitsForTheCoordinator", func(t *testing.T) {
		mailBefore := len(w.sink.Messages())
		raw := "Authentication-Results: " + gateway + "; dmarc=fail header.from=example.org\r\n" +
			head("From: Ann Example <ann@example.org>\r\n", "Please review my case", "Message-ID: <dmarc-app@example.org>\r\n") +
			"I have reported the noise from number 6 to the police three times since August. Please review my case.\r\nAnn Example\r\n"
		res, _ := w.ingest(raw)
		if res.Outcome != casefile.OutcomeCreated || res.Verified || res.UnverifiedReason != casefile.UnverifiedDMARCFail {
			t.Fatalf("%+v, want a case opened, unverified (dmarc_fail)", res)
		}
		held := false
		for _, j := range w.jobs() {
			if j.CaseRef == *res.Case && j.Kind == casefile.JobEmailAck {
				t.Errorf("an acknowledgement was queued: %+v", j)
			}
			held = held || (j.CaseRef == *res.Case && j.DedupeKey == "ack-skipped:"+*res.Case)
		}
		if !held {
			t.Error("the coordinator is not asked to acknowledge it")
		}
		if got := w.drain(); len(got) != mailBefore {
			t.Errorf("%d emails left", len(got)-mailBefore)
		}
	})

	t.Run("QuarantineListIsSafeToPrint", func(t *testing.T) {
		raw := "From: x@evil.example\r\nSubject: x\r\nMessage-ID: <q\x1b[31m-1@evil.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n" +
			"--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n--b--\r\n"
		if res, _ := w.ingest(raw); res.Outcome != casefile.OutcomeQuarantined {
			t.Fatalf("%+v", res)
		}
		for _, args := range [][]string{{"quarantine", "list"}, {"quarantine", "list", "--json"}} {
			if out, _ := w.run("", args...); strings.ContainsAny(out, "\x1b") || !strings.Contains(out, "q-1@evil.example") {
				t.Errorf("%v prints %q", args, out)
			}
		}
	})

	// The applicant's own reply still asks for the further review.
	t.Run("TheApplicantsOwnReplyStillCounts", func(t *testing.T) {
		raw := "Authentication-Results: " + gateway + "; spf=pass smtp.mailfrom=example.net; dmarc=pass header.from=example.net\r\n" +
			head("From: Lucy Fielding <lucy.fielding@example.net>\r\n", "Re: your letter", "Message-ID: <lucy-2@example.net>\r\nReferences: <"+letterID+">\r\n") + further
		res, keys := w.ingest(raw)
		if res.Outcome != casefile.OutcomeFurtherReview || keys["verified"] != true || *res.Case != ref {
			t.Fatalf("%+v, want a verified escalation of %s", res, ref)
		}
		if s := w.show(ref).Status; s != casefile.StatusFurtherReviewRequested {
			t.Errorf("status %s", s)
		}
	})
}
