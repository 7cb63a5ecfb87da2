package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// The resident's side of a case, end to end: the real serve wiring with
// the mailbox, the mail sink and Slack in the process, on a clock that
// starts on Monday 12 October 2026 at 09:30 (London).

var residentStart = time.Date(2026, 10, 12, 9, 30, 0, 0, casefile.London)

// residentWorld is a world serving a case file on a clock the test moves.
type residentWorld struct {
	*world
	store *sqlite.Store
	clock *testClock
	srv   *server
}

func newResidentWorld(t *testing.T, shape func(*casefile.Config)) *residentWorld {
	t.Helper()
	w := newWorld(t, worldOptions{})
	cfg := w.config()
	if shape != nil {
		shape(&cfg)
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	store, err := sqlite.Open(w.db, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clock := &testClock{base: residentStart, since: time.Now(), rate: 1}
	store.Clock = clock.Now
	var logs syncBuffer
	srv, _ := w.serveInProcess(&cfg, store, &logs)
	return &residentWorld{world: w, store: store, clock: clock, srv: srv}
}

// sunk is a message of the mail sink with its subject and plain text.
type sunk struct {
	to, subject, id, text string
}

func (w *residentWorld) sunk(t *testing.T) []sunk {
	t.Helper()
	var out []sunk
	for _, m := range w.sink.Messages() {
		r, err := mail.CreateReader(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatalf("sink: %v", err)
		}
		s := sunk{to: strings.Join(m.To, ",")}
		s.subject, _ = r.Header.Subject()
		s.id, _ = r.Header.MessageID()
		for {
			p, err := r.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h, ok := p.Header.(*mail.InlineHeader); ok {
				if ct, _, _ := h.ContentType(); ct == "text/plain" {
					b, _ := io.ReadAll(p.Body)
					s.text = string(b)
				}
			}
		}
		out = append(out, s)
	}
	return out
}

// waitMail waits for the emails whose subject holds s and returns them;
// there must be exactly one.
func (w *residentWorld) waitMail(t *testing.T, s string) sunk {
	t.Helper()
	var found []sunk
	waitFor(t, 20*time.Second, "an email "+s, func() bool {
		found = found[:0]
		for _, m := range w.sunk(t) {
			if strings.Contains(m.subject, s) {
				found = append(found, m)
			}
		}
		return len(found) > 0
	})
	time.Sleep(100 * time.Millisecond) // a second copy would be on its way
	found = found[:0]
	for _, m := range w.sunk(t) {
		if strings.Contains(m.subject, s) {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d emails with %q in the subject, want exactly 1", len(found), s)
	}
	return found[0]
}

func flat(s string) string { return strings.Join(strings.Fields(s), " ") }

func (w *residentWorld) caseOf(t *testing.T, ref string) *casefile.Case {
	t.Helper()
	c, err := w.store.Case(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// firstCase waits for the first case to be filed and returns its reference.
func (w *residentWorld) firstCase(t *testing.T) string {
	t.Helper()
	var ref string
	waitFor(t, 20*time.Second, "a case", func() bool {
		cs, _ := w.store.Cases(t.Context(), "")
		if len(cs) > 0 {
			ref = cs[len(cs)-1].Ref
		}
		return ref != ""
	})
	return ref
}

// channelOf waits for the case channel and its card.
func (w *residentWorld) channelOf(t *testing.T, ref string) (slackemu.Channel, slackemu.Message) {
	t.Helper()
	name := "ct-" + strings.ToLower(strings.TrimPrefix(ref, "CT-"))
	var ch slackemu.Channel
	var card slackemu.Message
	waitFor(t, 20*time.Second, "the channel and card of "+ref, func() bool {
		var ok bool
		if ch, ok = w.emu.ChannelByName(name); !ok {
			return false
		}
		card, ok = w.find(ch.ID, `"card-`+ref+`"`)
		return ok
	})
	return ch, card
}

func (w *residentWorld) find(channel, s string) (slackemu.Message, bool) {
	for _, m := range w.emu.Messages(channel) {
		if bytes.Contains(m.Blocks, []byte(s)) || strings.Contains(m.Text, s) {
			return m, true
		}
	}
	return slackemu.Message{}, false
}

func (w *residentWorld) waitFind(t *testing.T, channel, s string) slackemu.Message {
	t.Helper()
	var m slackemu.Message
	waitFor(t, 20*time.Second, "a message with "+s, func() bool {
		var ok bool
		m, ok = w.find(channel, s)
		return ok
	})
	return m
}

func (w *residentWorld) click(t *testing.T, user, channel, ts, action, value string) {
	t.Helper()
	res, err := w.emu.ClickButton(user, channel, ts, action, value)
	if err != nil || !res.Acked {
		t.Fatalf("click %s: %+v %v", action, res, err)
	}
}

func (w *residentWorld) submit(t *testing.T, user, callbackID string, values map[string]string) {
	t.Helper()
	var view slackemu.View
	waitFor(t, 20*time.Second, "the "+callbackID+" form", func() bool {
		for _, v := range w.emu.OpenViews(user) {
			if v.CallbackID == callbackID {
				view = v
				return true
			}
		}
		return false
	})
	res, err := w.emu.SubmitView(user, view.ID, values)
	if err != nil || !res.Closed {
		t.Fatalf("submit %s: %+v %v", callbackID, res, err)
	}
}

// approve approves the newest letter of a kind by the Chair's click.
func (w *residentWorld) approve(t *testing.T, ref, channel, kind string) {
	t.Helper()
	var l casefile.Letter
	waitFor(t, 20*time.Second, "a "+kind+" letter", func() bool {
		ls, _ := w.store.Letters(t.Context(), ref)
		for i := len(ls) - 1; i >= 0; i-- {
			if ls[i].Kind == kind {
				l = ls[i]
				return true
			}
		}
		return false
	})
	draft := w.waitFind(t, channel, fmt.Sprintf(`"draft-%s-%d"`, ref, l.ID))
	w.click(t, w.chair, channel, draft.TS, bot.ActionApprove, fmt.Sprintf("%s|%d|%s", ref, l.ID, l.SHA256))
}

// reply delivers the resident's reply to one of our emails, threaded to it.
func (w *residentWorld) reply(t *testing.T, from string, to sunk, id, body string) {
	t.Helper()
	w.deliver(application{messageID: id, raw: crlf(fmt.Sprintf("From: %s\nTo: communitytrigger@example-council.gov.uk\nSubject: Re: %s\n"+
		"Date: Mon, 12 Oct 2026 12:00:00 +0100\nMessage-ID: <%s>\nIn-Reply-To: <%s>\nReferences: <%s>\nMIME-Version: 1.0\n"+
		"Content-Type: text/plain; charset=utf-8\n\n%s\n\nOn Mon, 12 Oct 2026, Community Trigger wrote:\n> %s\n",
		from, to.subject, id, to.id, to.id, body, strings.ReplaceAll(strings.TrimSpace(to.text), "\n", "\n> ")))})
}

// TestResidentWorkflow follows the resident through a case: the met letter
// drafted and approved while the case gathers; their reply choosing to be
// invited; the invitation when the meeting is set; the consultation with
// its reply-by date, ending when the date passes; the response; the
// closure email when the window for a further review ends — each email
// once, with the right dates.
func TestResidentWorkflow(t *testing.T) {
	w := newResidentWorld(t, nil)
	app := applications("resident", 1)[0] // from the resident's own address
	w.deliver(app)
	ref := w.firstCase(t)
	ack := w.waitMail(t, "["+ref+"] Your Community Trigger application has been received")
	if ack.to != app.email {
		t.Errorf("acknowledgement to %s", ack.to)
	}
	ch, card := w.channelOf(t, ref)
	w.click(t, w.coord, ch.ID, card.TS, bot.ActionAccept, ref)

	// The met letter: approved while the case gathers; the case stays.
	w.approve(t, ref, ch.ID, casefile.LetterMet)
	met := w.waitMail(t, "["+ref+"] Your Community Trigger application: our decision")
	// Accepted Monday 12 October 2026: replies due in 10 working days,
	// the meeting within 20.
	for _, want := range []string{"Your application meets the threshold", "They should reply by Monday 26 October 2026",
		"meet to review your case, by Monday 9 November 2026", "How involved would you like to be?", "Please quote " + ref} {
		if !strings.Contains(flat(met.text), want) {
			t.Errorf("the met letter lacks %q:\n%s", want, met.text)
		}
	}
	if c := w.caseOf(t, ref); c.Status != casefile.StatusGathering {
		t.Fatalf("the met letter moved the case to %s", c.Status)
	}

	// The resident answers: invite me.
	w.reply(t, app.email, met, "resident-reply-1@example.net", "A - I would like to come to the meeting, please.")
	waitFor(t, 20*time.Second, "the involvement to be recorded", func() bool {
		return w.caseOf(t, ref).Involvement.Choice == casefile.InvolvementMeeting
	})
	if c := w.caseOf(t, ref); c.Involvement.Source != casefile.SourceReply {
		t.Errorf("involvement %+v, want from the reply", c.Involvement)
	}
	w.waitFind(t, ch.ID, "they want to be invited to the meeting (recorded)")

	// The agencies reply; the meeting is set: the resident is invited.
	reqs, _ := w.store.Requests(t.Context(), ref)
	for i, r := range reqs {
		if _, err := w.store.RecordReply(t.Context(), casefile.Admin("test"), casefile.ReplyInput{Ref: ref, Agency: r.Agency, Author: "U-" + r.Agency, Source: "form", Taken: "Warnings", DedupeKey: fmt.Sprint("rw", i)}); err != nil {
			t.Fatal(err)
		}
	}
	prompt := w.waitFind(t, ch.ID, "Every agency has replied")
	w.click(t, w.coord, ch.ID, prompt.TS, bot.ActionScheduleMeeting, ref)
	w.submit(t, w.coord, bot.ViewScheduleMeeting, map[string]string{bot.BlockDate: "2026-10-28", bot.BlockTime: "14:00", bot.BlockPlace: "Council offices, Committee Room 2"})
	inv := w.waitMail(t, "["+ref+"] Invitation to the meeting that reviews your case")
	for _, want := range []string{"Date: Wednesday 28 October 2026", "Time: 14:00", "Place: Council offices, Committee Room 2"} {
		if !strings.Contains(inv.text, want) {
			t.Errorf("the invitation lacks %q:\n%s", want, inv.text)
		}
	}
	if inv.to != app.email {
		t.Errorf("invitation to %s", inv.to)
	}

	// The meeting's outcome: the recommendations go to the resident, with
	// a reply-by date five working days on.
	w.clock.Advance(time.Date(2026, 10, 28, 16, 0, 0, 0, casefile.London).Sub(w.clock.Now()))
	card = w.waitFind(t, ch.ID, bot.ActionRecordOutcome)
	w.click(t, w.coord, ch.ID, card.TS, bot.ActionRecordOutcome, ref)
	w.submit(t, w.coord, bot.ViewRecordOutcome, map[string]string{bot.BlockSummary: "Nobody joined the reports up.", bot.BlockAdequate: "no",
		"rec1_text": "Gate the alleyway", "rec1_owner": "council", "rec1_due": "2026-12-15"})
	cons := w.waitMail(t, "["+ref+"] Your case review: tell us what you think of the proposed actions")
	for _, want := range []string{"Please reply to this email by Wednesday 4 November 2026", "1. Gate the alleyway", "Who will do it: District Council. By 15 December 2026."} {
		if !strings.Contains(flat(cons.text), want) {
			t.Errorf("the consultation lacks %q:\n%s", want, cons.text)
		}
	}
	if c := w.caseOf(t, ref); c.Status != casefile.StatusDrafting || c.Consultation.ReplyBy.String() != "2026-11-04" {
		t.Fatalf("status %s, consultation %+v", c.Status, c.Consultation)
	}

	// No comments by then: the next day the scheduler drafts the response.
	w.clock.Advance(time.Date(2026, 11, 5, 9, 0, 0, 0, casefile.London).Sub(w.clock.Now()))
	if n, err := w.store.EndConsultations(t.Context()); err != nil || n != 1 {
		t.Fatalf("EndConsultations: %d %v", n, err)
	}
	w.waitFind(t, ch.ID, "No comments from the applicant arrived by 4 November 2026")
	w.approve(t, ref, ch.ID, casefile.LetterOutcome)
	resp := w.waitMail(t, "["+ref+"] Your Community Trigger case review: the partnership's response")
	if !strings.Contains(flat(resp.text), "Please write to us by 3 December 2026") {
		t.Errorf("the response's further-review date:\n%s", resp.text)
	}
	if strings.Contains(resp.text, "Thank you for your comments") {
		t.Error("the response thanks the resident for comments they did not make")
	}

	// The window for a further review ends: the case closes, and the
	// resident is told when and why.
	w.clock.Advance(time.Date(2026, 12, 4, 9, 0, 0, 0, casefile.London).Sub(w.clock.Now()))
	if n, err := w.store.CloseAfterFurtherReviewWindow(t.Context()); err != nil || n != 1 {
		t.Fatalf("closed %d, %v", n, err)
	}
	closure := w.waitMail(t, "["+ref+"] Your case is closed")
	if !strings.Contains(flat(closure.text), "We closed your case on Friday 4 December 2026. This is because we sent you our response, and the time to ask for a further review has ended.") {
		t.Errorf("the closure email:\n%s", closure.text)
	}

	// Every email went once, to the resident, and is on the case.
	c := w.caseOf(t, ref)
	kinds := map[string]int{}
	for _, m := range c.Messages {
		if m.Direction == "out" {
			kinds[m.Kind]++
		}
	}
	if fmt.Sprint(kinds) != "map[ack:1 closure:1 consultation:1 invitation:1 letter:2]" {
		t.Errorf("emails on the case: %v", kinds)
	}
	if n := len(w.sink.Messages()); n != 6 {
		t.Errorf("%d emails in the sink, want 6", n)
	}
}

// welshApplication is the Welsh free-text application of mailin's test
// data.
func welshApplication(t *testing.T) application {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "mailin", "testdata", "resident", "welsh-freetext.eml"))
	if err != nil {
		t.Fatal(err)
	}
	return application{messageID: "cais-1@example.net", email: "gwenllian.jones@example.net", raw: crlf(strings.ReplaceAll(string(raw), "\r\n", "\n"))}
}

// In a partnership in Wales, an application written in Welsh is
// acknowledged in Welsh, and one whose language is not known is answered in
// both, Welsh first: the acknowledgement and the letters, approved as one.
func TestWelshPartnership(t *testing.T) {
	w := newResidentWorld(t, func(c *casefile.Config) {
		c.Partnership.Languages = []string{"cy", "en"}
		c.Partnership.NameCy = "Partneriaeth Diogelwch Cymunedol Gogledd Orllewin Swydd Gaerlŷr"
	})
	w.deliver(welshApplication(t))
	cy := w.firstCase(t)
	ack := w.waitMail(t, "["+cy+"] Mae eich cais am y Sbardun Cymunedol wedi dod i law")
	if !strings.HasPrefix(ack.text, "Annwyl Gwenllian Jones,") || strings.Contains(ack.text, "Dear ") || ack.to != "gwenllian.jones@example.net" {
		t.Errorf("the acknowledgement of a Welsh application (to %s):\n%s", ack.to, ack.text)
	}
	if c := w.caseOf(t, cy); c.Language != casefile.LangWelsh || c.LanguageSource != casefile.SourceDetected {
		t.Errorf("language %q (%s)", c.Language, c.LanguageSource)
	}

	app := applications("welsh-partnership", 1)[0]
	w.deliver(app)
	var en string
	waitFor(t, 20*time.Second, "the second case", func() bool {
		cs, _ := w.store.Cases(t.Context(), "")
		if len(cs) == 2 {
			en = cs[0].Ref
		}
		return en != ""
	})
	ack = w.waitMail(t, "["+en+"] Mae eich cais am y Sbardun Cymunedol wedi dod i law / Your Community Trigger application has been received")
	if cyAt, enAt := strings.Index(ack.text, "Annwyl"), strings.Index(ack.text, "Dear"); cyAt < 0 || enAt < cyAt {
		t.Errorf("the acknowledgement is not Welsh then English:\n%s", ack.text)
	}
	ch, card := w.channelOf(t, en)
	w.click(t, w.coord, ch.ID, card.TS, bot.ActionAccept, en)
	draft := w.waitFind(t, ch.ID, "In Welsh and English (Welsh first): one fingerprint covers both")
	if !strings.Contains(string(draft.Blocks), "threshold met, version 1") {
		t.Error("the bilingual note is not on the met letter's draft")
	}
	w.approve(t, en, ch.ID, casefile.LetterMet)
	letter := w.waitMail(t, "["+en+"] Eich cais am y Sbardun Cymunedol: ein penderfyniad / Your Community Trigger application: our decision")
	cyAt, brk, enAt := strings.Index(letter.text, "Annwyl"), strings.Index(letter.text, casefile.LanguageBreak), strings.Index(letter.text, "Dear")
	if cyAt < 0 || !(cyAt < brk && brk < enAt) {
		t.Errorf("the letter is not Welsh, then English:\n%s", letter.text)
	}
	for _, want := range []string{"Rydym yn croesawu gohebiaeth yn Gymraeg", "We welcome correspondence in Welsh", "ar ran Partneriaeth Diogelwch Cymunedol Gogledd Orllewin Swydd Gaerlŷr"} {
		if !strings.Contains(letter.text, want) {
			t.Errorf("the letter lacks %q", want)
		}
	}
}

// The not-met letter names the body that reviews the decision when one is
// configured; the resident's request by email is forwarded to it, with
// their details (they consented to sharing on the form). With no body
// configured, the letter says nothing of it.
func TestNotMetReviewRoute(t *testing.T) {
	for _, route := range []bool{true, false} {
		t.Run(map[bool]string{true: "Configured", false: "NotConfigured"}[route], func(t *testing.T) {
			w := newResidentWorld(t, func(c *casefile.Config) {
				if route {
					c.FurtherReview.ThresholdDecision = "the Office of the Police and Crime Commissioner"
					c.FurtherReview.ThresholdDecisionEmail = "reviews@opcc.example.gov.uk"
				}
			})
			app := applications("notmet", 1)[0]
			w.deliver(app)
			ref := w.firstCase(t)
			ch, card := w.channelOf(t, ref)
			w.click(t, w.coord, ch.ID, card.TS, bot.ActionNotMet, ref)
			w.submit(t, w.coord, bot.ViewNotMet, map[string]string{bot.BlockReason: "The reports were about different problems."})
			w.approve(t, ref, ch.ID, casefile.LetterNotMet)
			letter := w.waitMail(t, "["+ref+"] Your Community Trigger application: our decision")
			named := strings.Contains(flat(letter.text), "The Office of the Police and Crime Commissioner does this review")
			if named != route {
				t.Fatalf("the letter names the route: %v, want %v:\n%s", named, route, letter.text)
			}
			if !route {
				if strings.Contains(letter.text, "Commissioner") || !strings.Contains(letter.text, "you can ask for a further review") {
					t.Errorf("with no route, the letter:\n%s", letter.text)
				}
				return
			}
			w.reply(t, app.email, letter, "appeal-1@example.net", "I think this is wrong and I want to appeal this decision.")
			fw := w.waitMail(t, "["+ref+"] Community Trigger: request to review a threshold decision")
			if fw.to != "reviews@opcc.example.gov.uk" {
				t.Errorf("forwarded to %s", fw.to)
			}
			for _, want := range []string{"Case reference: " + ref, "Resident 1", app.email, "I want to appeal this decision", "The reports were about different problems."} {
				if !strings.Contains(flat(fw.text), want) {
					t.Errorf("the forward lacks %q:\n%s", want, fw.text)
				}
			}
			c := w.caseOf(t, ref)
			if len(c.ThresholdReviews) != 1 || c.Status != casefile.StatusResponded {
				t.Fatalf("status %s, reviews %+v", c.Status, c.ThresholdReviews)
			}
			prompt := w.waitFind(t, ch.ID, "The request was forwarded by email to the Office of the Police and Crime Commissioner")
			w.click(t, w.coord, ch.ID, prompt.TS, bot.ActionThresholdReviewResult, ref)
			w.submit(t, w.coord, bot.ViewThresholdResult, map[string]string{bot.BlockUpheld: "no", bot.BlockNotes: "The OPCC agreed with the decision."})
			waitFor(t, 20*time.Second, "the result", func() bool { return w.caseOf(t, ref).ThresholdReviews[0].Result == casefile.ReviewNotUpheld })
		})
	}
}
