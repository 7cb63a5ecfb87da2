package mailout_test

import (
	"context"
	"strings"
	"testing"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/mailout"
)

// sunkWith returns the one message of the sink whose subject contains s.
func (e *env) sunkWith(tb testing.TB, s string) (sunk, string, string) {
	tb.Helper()
	var found []sunk
	for _, m := range e.Sink.Messages() {
		h, _ := readMail(tb, m.Data)
		if subj, _ := h.Subject(); strings.Contains(subj, s) {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		tb.Fatalf("%d messages with %q in the subject, want 1", len(found), s)
	}
	h, body := readMail(tb, found[0].Data)
	subj, _ := h.Subject()
	return found[0], subj, body
}

// A Welsh application to a partnership in Wales is acknowledged in Welsh,
// by the same job and as soon as an English one; one whose language is not
// known gets both, Welsh first; an English partnership writes English.
func TestWelshAcknowledgement(t *testing.T) {
	ctx := context.Background()
	e := newEnvWith(t, startSink(t), func(c *casefile.Config) { c.Partnership.Languages = []string{"cy", "en"} })
	app := casefile.Application{Route: casefile.RouteIndividual, Applicant: casefile.Person{Name: "Gwenllian Jones", Email: "gwenllian@example.net"}}
	cy, err := e.Store.CreateCase(ctx, casefile.NewCase{Application: app, Source: "email", Actor: who("intake"),
		Preferences: casefile.Preferences{Language: casefile.LangWelsh, LanguageSource: casefile.SourceDetected}})
	if err != nil {
		t.Fatal(err)
	}
	app.Applicant.Email = "owen@example.net"
	both, err := e.Store.CreateCase(ctx, casefile.NewCase{Application: app, Source: "email", Actor: who("intake")})
	if err != nil {
		t.Fatal(err)
	}
	e.drain(t)

	_, subj, body := e.sunkWith(t, cy.Ref)
	if subj != "["+cy.Ref+"] Mae eich cais am y Sbardun Cymunedol wedi dod i law" {
		t.Errorf("Welsh subject %q", subj)
	}
	for _, want := range []string{"Annwyl Gwenllian Jones,", "Eich cyfeirnod yw " + cy.Ref + ".", "erbyn dydd Llun 16 Mawrth 2026",
		"Rydym yn croesawu gohebiaeth yn Gymraeg", `<html lang="cy">`} {
		if !strings.Contains(strings.Join(strings.Fields(body), " "), want) {
			t.Errorf("the Welsh acknowledgement lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "Dear ") || strings.Contains(body, "Cymraeg neu Saesneg?") {
		t.Error("the Welsh acknowledgement has English in it, or asks a preference it knows")
	}

	_, subj, body = e.sunkWith(t, both.Ref)
	if !strings.HasPrefix(subj, "["+both.Ref+"] Mae eich cais am y Sbardun Cymunedol wedi dod i law / Your Community Trigger application has been received") {
		t.Errorf("bilingual subject %q", subj)
	}
	cyAt, enAt := strings.Index(body, "Annwyl"), strings.Index(body, "Dear")
	if cyAt < 0 || enAt < cyAt || !strings.Contains(body, "Cymraeg neu Saesneg?") {
		t.Errorf("the bilingual acknowledgement is not Welsh first, asking the preference:\n%s", body)
	}
}

// An email the case file wrote to the resident (here the closure, after a
// withdrawal) is sent once, as stored, with our Message-ID and tag, and
// kept on the case so that a reply threads.
func TestResidentEmail(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, startSink(t))
	c := e.newCase(t)
	e.drain(t)
	if _, err := e.Store.Withdraw(ctx, who("U-COORD"), c.Ref, "the neighbours moved"); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	e.drain(t)
	m, subj, body := e.sunkWith(t, "Your case is closed")
	if subj != "["+c.Ref+"] Your case is closed" || len(m.To) != 1 || m.To[0] != "jane.resident@example.org" {
		t.Errorf("subject %q to %v", subj, m.To)
	}
	h, _ := readMail(t, m.Data)
	job := e.job(t, c.Ref, casefile.JobEmailResident)
	id, _ := h.MessageID()
	key, err := e.Store.MessageIDKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := mailout.MessageID(key, c.Ref, casefile.MailClosure, job.ID, "example-council.gov.uk"); id != want || strings.Contains(id, c.Ref) {
		t.Errorf("Message-ID %q, want %q: ours, and not to be guessed from the case", id, want)
	}
	if h.Get("Auto-Submitted") != "auto-generated" || !strings.HasPrefix(h.Get("Content-Type"), "multipart/alternative") {
		t.Errorf("Auto-Submitted %q, Content-Type %q", h.Get("Auto-Submitted"), h.Get("Content-Type"))
	}
	if !strings.Contains(strings.Join(strings.Fields(body), " "), "This is because you told us that you want to withdraw your application.") {
		t.Errorf("body:\n%s", body)
	}
	got, _ := e.Store.Case(ctx, c.Ref)
	n := 0
	for _, msg := range got.Messages {
		if msg.Direction == "out" && msg.Kind == "closure" && msg.MessageID == id {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the closure is not on the case once: %+v", got.Messages)
	}
	stored, _ := e.Store.ResidentEmails(ctx, c.Ref)
	if len(stored) != 1 || stored[0].SentAt == nil {
		t.Errorf("stored %+v, want sent", stored)
	}
	e.drain(t)
	if len(e.Sink.Messages()) != 2 {
		t.Errorf("%d messages after draining again, want 2 (acknowledgement, closure)", len(e.Sink.Messages()))
	}
}

// A request to review a not-met decision is forwarded to the body that
// hears it: with the applicant's details and words when they consented,
// without any personal data when they did not.
func TestThresholdReviewForwarded(t *testing.T) {
	ctx := context.Background()
	for _, consent := range []bool{true, false} {
		t.Run(map[bool]string{true: "Consent", false: "NoConsent"}[consent], func(t *testing.T) {
			e := newEnvWith(t, startSink(t), func(c *casefile.Config) {
				c.FurtherReview.ThresholdDecision = "the Office of the Police and Crime Commissioner"
				c.FurtherReview.ThresholdDecisionEmail = "reviews@opcc.example.gov.uk"
			})
			c := e.newCase(t)
			if _, err := e.Store.Decide(ctx, who("U-COORD"), c.Ref, casefile.NotMet, "One complaint only, in March"); err != nil {
				t.Fatal(err)
			}
			ls, _ := e.Store.Letters(ctx, c.Ref)
			if _, err := e.Store.ApproveLetter(ctx, who("U-CHAIR"), c.Ref, ls[0].ID, ls[0].SHA256); err != nil {
				t.Fatal(err)
			}
			if _, err := e.Store.RequestThresholdReview(ctx, who("U-COORD"), c.Ref, &consent); err != nil {
				t.Fatal(err)
			}
			e.drain(t)
			m, subj, body := e.sunkWith(t, "request to review a threshold decision")
			if subj != "["+c.Ref+"] Community Trigger: request to review a threshold decision" || m.To[0] != "reviews@opcc.example.gov.uk" {
				t.Errorf("subject %q to %v", subj, m.To)
			}
			flat := strings.Join(strings.Fields(body), " ")
			for _, want := range []string{"To the Office of the Police and Crime Commissioner", "Case reference: " + c.Ref, "Qualifying complaints found: 0"} {
				if !strings.Contains(flat, want) {
					t.Errorf("the forward lacks %q:\n%s", want, body)
				}
			}
			private := []string{"Jane Resident", "jane.resident@example.org", "Acacia", "One complaint only"}
			for _, p := range private {
				if strings.Contains(flat, p) != consent {
					t.Errorf("consent %v: the forward holding %q is %v", consent, p, !consent)
				}
			}
		})
	}
}
