package bot_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/casefile"
)

// withinSlackLimits fails the test when a message or modal breaks a rule
// Slack enforces: at most 50 blocks in a message and 100 in a modal; a
// modal's title, submit and close at most 24 characters; a button's text
// and an option's text at most 75; a section's text at most 3,000; a
// static select at most 100 options.
func withinSlackLimits(t *testing.T, name string, v any, modal bool) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if bytes.HasPrefix(b, []byte("[")) {
		var blocks []any
		json.Unmarshal(b, &blocks)
		doc = map[string]any{"blocks": blocks}
	} else {
		json.Unmarshal(b, &doc)
	}
	blocks, _ := doc["blocks"].([]any)
	if limit := map[bool]int{true: 100, false: 50}[modal]; len(blocks) > limit {
		t.Errorf("%s: %d blocks, over Slack's %d", name, len(blocks), limit)
	}
	for _, k := range []string{"title", "submit", "close"} {
		if o, ok := doc[k].(map[string]any); ok {
			if s, _ := o["text"].(string); len([]rune(s)) > 24 {
				t.Errorf("%s: %s %q is over 24 characters", name, k, s)
			}
		}
	}
	var walk func(x any, parent string)
	walk = func(x any, parent string) {
		switch x := x.(type) {
		case map[string]any:
			typ, _ := x["type"].(string)
			if typ == "button" || parent == "option" {
				if t0, ok := x["text"].(map[string]any); ok {
					if s, _ := t0["text"].(string); len([]rune(s)) > 75 {
						t.Errorf("%s: %s text %q is over 75 characters", name, map[bool]string{true: "button", false: "option"}[typ == "button"], s)
					}
				}
			}
			if typ == "section" {
				if t0, ok := x["text"].(map[string]any); ok {
					if s, _ := t0["text"].(string); len([]rune(s)) > 3000 {
						t.Errorf("%s: section text of %d characters, over 3,000", name, len([]rune(s)))
					}
				}
			}
			if typ == "static_select" {
				if opts, _ := x["options"].([]any); len(opts) > 100 {
					t.Errorf("%s: a static select of %d options, over 100", name, len(opts))
				}
			}
			for k, v := range x {
				p := ""
				if k == "options" || k == "initial_options" || k == "initial_option" {
					p = "option"
				}
				if arr, ok := v.([]any); ok && p == "option" {
					for _, e := range arr {
						walk(e, "option")
					}
					continue
				}
				if p == "option" {
					walk(v, "option")
					continue
				}
				walk(v, "")
			}
		case []any:
			for _, e := range x {
				walk(e, parent)
			}
		}
	}
	walk(doc, "")
}

// TestGoldenResident pins the blocks of what the resident features add:
// the card's resident lines and buttons, the involvement prompt, the
// forms, and the reminders on a draft.
func TestGoldenResident(t *testing.T) {
	w := newGoldenWorld(t)
	cfg := w.cfg
	cfg.Partnership.Languages = []string{"cy", "en"}
	cfg.FurtherReview.ThresholdDecision = "the Office of the Police and Crime Commissioner"
	cfg.FurtherReview.ThresholdDecisionEmail = "reviews@opcc.example.gov.uk"
	cfg.Officers = []casefile.Officer{
		{SlackID: goldenCoord, Name: "Sam Patel", Title: "Community Safety Team Leader", Email: "sam.patel@example-council.gov.uk", Phone: "01234 567891"},
		{SlackID: "U0RHIAN01", Name: "Rhian Evans", Title: "Anti-social Behaviour Officer with a very long title indeed for the select", Email: "rhian@example-council.gov.uk"},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, name string, v any, modal bool, wants ...string) {
		t.Helper()
		got := golden(t, name, v)
		withinSlackLimits(t, name, v, modal)
		for _, want := range wants {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("%s lacks %s", name, want)
			}
		}
	}

	w.at("2026-10-06 09:30")
	ref := w.create(applicationAt(casefile.MustDate("2026-10-06")))
	w.must(w.store.SetPreferences(w.ctx, who(goldenCoord), ref, casefile.LangWelsh, []string{casefile.FormatLargePrint}))
	w.at("2026-10-08 14:15")
	w.must(w.store.Decide(w.ctx, who(goldenCoord), ref, casefile.Met, ""))
	w.must(w.store.RecordInvolvement(w.ctx, who(goldenCoord), ref, casefile.InvolvementWriting))
	met := latest(t, w, ref, casefile.LetterMet)
	t.Run("DraftMet", func(t *testing.T) {
		text, blocks := bot.DraftMessageFor(met, w.load(ref), false)
		check(t, "draft_met_welsh", map[string]any{"text": text, "blocks": blocks}, false,
			"threshold met, version 1", "Approving sends this letter now", "In Welsh, as the applicant prefers", "*large print*")
	})
	for i, a := range []string{"police", "council", "housing"} {
		w.must(w.store.RecordReply(w.ctx, who("U-"+a), casefile.ReplyInput{Ref: ref, Agency: a, Author: "U-" + a, Source: "form", Taken: "Warnings", DedupeKey: fmt.Sprint("g", i)}))
	}
	w.at("2026-10-14 09:00")
	w.must(w.store.ScheduleMeeting(w.ctx, who(goldenCoord), ref, casefile.MeetingPlan{When: time.Date(2026, 10, 28, 14, 0, 0, 0, casefile.London), Place: "Room 2", ClosedSession: true}))
	w.at("2026-10-28 16:00")
	no := false
	w.must(w.store.RecordOutcome(w.ctx, who(goldenCoord), ref, casefile.MeetingOutcome{Summary: "Not joined up.", Adequate: &no,
		Recommendations: []casefile.Recommendation{{Text: "Joint plan", Owner: "council", Due: casefile.MustDate("2026-12-15")}}}))
	t.Run("CardConsultation", func(t *testing.T) {
		check(t, "card_consultation", bot.CaseCard(w.load(ref), cfg, w.requests(ref), false), false,
			`"Skip consultation"`, "waiting for the applicant's comments on the recommendations until *Wed 4 Nov 2026*",
			"contact officer <@"+goldenCoord+">", "involvement: views in writing", "language: Welsh", "format: large print")
	})

	obRef := w.create(onBehalfApplication())
	w.must(w.store.Decide(w.ctx, who(goldenCoord), obRef, casefile.NotMet, "One complaint in six months."))
	nm := latest(t, w, obRef, casefile.LetterNotMet)
	w.must(w.store.ApproveLetter(w.ctx, who("U0CHAIR01"), obRef, nm.ID, nm.SHA256))
	t.Run("CardThresholdRoute", func(t *testing.T) {
		got := bot.CaseCard(w.load(obRef), cfg, nil, false)
		check(t, "card_threshold_route", got, false, `"Record threshold-review request"`, "language: not known (letters in Welsh and English)")
		if b, _ := json.Marshal(got); bytes.Contains(b, []byte(bot.ActionRecordFurther)) {
			t.Error("a not-met case with a route for its decision offers the further review")
		}
	})
	t.Run("NoticeInvolvement", func(t *testing.T) {
		check(t, "notice_involvement", bot.NoticeMessage(ref, "The applicant wrote: it does not say clearly how involved they want to be.", []string{goldenCoord}, "involvement"), false,
			`"Invite to the meeting"`, `"action_id": "record_involvement_writing"`)
	})
	t.Run("NoticeReadReply", func(t *testing.T) {
		check(t, "notice_read_reply", bot.NoticeMessage(ref, "The applicant replied to the consultation.", []string{goldenCoord}, "read_message:r1@example.net"), false,
			`"Read their reply"`, `"value": "`+ref+`|r1@example.net"`)
	})
	t.Run("ContactOfficerModal", func(t *testing.T) {
		check(t, "modal_contact_officer", bot.ContactOfficerModal(ref, cfg, w.load(ref).ContactOfficer), true,
			`"callback_id": "contact_officer"`, `"The coordinator (default)"`, `"value": "U0RHIAN01"`)
	})
	t.Run("ResidentNeedsModal", func(t *testing.T) {
		check(t, "modal_resident_needs", bot.ResidentNeedsModal(w.load(ref), cfg), true,
			`"Welsh (Cymraeg)"`, `"Large print"`, `"initial_options"`)
	})
	t.Run("ThresholdModals", func(t *testing.T) {
		check(t, "modal_threshold_review", bot.ThresholdReviewModal(obRef, cfg.FurtherReview.ThresholdDecision), true, `"block_id": "consent"`, "Police and Crime Commissioner")
		check(t, "modal_threshold_result", bot.ThresholdResultModal(obRef, cfg.FurtherReview.ThresholdDecision), true, `"block_id": "upheld"`, `"block_id": "notes"`)
	})
	t.Run("OutcomeModalWithViews", func(t *testing.T) {
		views := []casefile.MessageText{{At: time.Date(2026, 10, 20, 9, 0, 0, 0, casefile.London), Text: strings.Repeat("The bikes came back on Friday. ", 200)}}
		check(t, "modal_record_outcome_views", bot.RecordOutcomeModal(ref, cfg, views...), true, "*The applicant's views in writing*", "20 Oct: The bikes came back")
	})
	t.Run("MessageModal", func(t *testing.T) {
		check(t, "modal_read_message", bot.MessageModal(ref, casefile.MessageText{MessageID: "r1@example.net", Subject: "Re: your case", At: time.Date(2026, 10, 30, 9, 0, 0, 0, casefile.London), Text: "Please add the car park."}), true, "Please add the car park.")
	})
}

func latest(t *testing.T, w *goldenWorld, ref, kind string) *casefile.Letter {
	t.Helper()
	ls, err := w.store.Letters(w.ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(ls) - 1; i >= 0; i-- {
		if ls[i].Kind == kind {
			return &ls[i]
		}
	}
	t.Fatalf("no %s letter", kind)
	return nil
}

// TestResidentInSlack works the resident's side of a case through Slack:
// the met letter approved while gathering, an unclear reply answered with
// the involvement buttons, their needs and contact officer recorded, a
// closed-session meeting, and the consultation skipped with a reason — each
// refused to anyone but the coordinator.
func TestResidentInSlack(t *testing.T) {
	h := newHarness(t, harnessOpts{mode: "socket"})
	h.cfg.Officers = []casefile.Officer{{SlackID: h.council, Name: "Rhian Evans", Title: "ASB Officer", Email: "rhian@council.example", Phone: "01234 567892"}}
	c := h.newCase()
	ch := h.channel(c.Ref)
	card := h.card(c.Ref)
	h.click(h.coord, ch.ID, card.TS, bot.ActionAccept, c.Ref)

	// The met letter: posted for approval, approved by the Chair, sent;
	// the case still gathering.
	draft := h.waitMessage(ch.ID, "threshold met, version 1")
	if !strings.Contains(text(draft), "Approving sends this letter now") {
		t.Error("the met draft does not say what approving does")
	}
	met := latestKind(t, h, c.Ref, casefile.LetterMet)
	h.click(h.chair, ch.ID, draft.TS, bot.ActionApprove, fmt.Sprintf("%s|%d|%s", c.Ref, met.ID, met.SHA256))
	h.ephemeral(h.chair, "You approved version 1")
	if s := h.status(c.Ref); s != casefile.StatusGathering {
		t.Fatalf("approving the met letter moved the case to %s", s)
	}

	// A reply intake could not read for a choice: the coordinator is asked.
	if _, err := h.store.Ingest(h.ctx, casefile.Inbound{MessageID: "r1@example.net", From: "lucy.fielding@example.net",
		Subject: "Re: [" + c.Ref + "] our decision", SubjectRefs: []string{c.Ref}, Raw: []byte("x"), Text: "Can I ring you about it?"}); err != nil {
		t.Fatal(err)
	}
	prompt := h.waitMessage(ch.ID, "does not say clearly how involved")
	h.click(h.police, ch.ID, prompt.TS, bot.ActionInvolvementWriting, c.Ref)
	h.ephemeral(h.police, "only the coordinator")
	h.click(h.coord, ch.ID, prompt.TS, bot.ActionInvolvementWriting, c.Ref)
	h.ephemeral(h.coord, "Recorded: the applicant wants to send their views in writing")

	// Their needs, as they said on the phone.
	card = h.card(c.Ref)
	h.click(h.coord, ch.ID, card.TS, bot.ActionResidentNeeds, c.Ref)
	form := h.modal(h.coord, bot.ViewResidentNeeds)
	if res, err := h.emu.SubmitView(h.coord, form.ID, map[string]string{bot.BlockInvolvement: "writing", bot.BlockLanguage: "en", bot.BlockFormats: "large_print,easy_read"}); err != nil || !res.Closed {
		t.Fatalf("needs: %+v %v", res, err)
	}
	// A new contact officer: the resident is told.
	h.click(h.coord, ch.ID, card.TS, bot.ActionChangeContact, c.Ref)
	form = h.modal(h.coord, bot.ViewContactOfficer)
	if res, err := h.emu.SubmitView(h.coord, form.ID, map[string]string{bot.BlockOfficer: h.council}); err != nil || !res.Closed {
		t.Fatalf("contact: %+v %v", res, err)
	}
	got, _ := h.store.Case(h.ctx, c.Ref)
	if got.Language != casefile.LangEnglish || strings.Join(got.AccessibleFormat, ",") != "large_print,easy_read" || got.ContactOfficer.Name != "Rhian Evans" {
		t.Errorf("language %q formats %v contact %+v", got.Language, got.AccessibleFormat, got.ContactOfficer)
	}
	h.waitFor("the card to show the resident", func() bool {
		m, _ := h.message(ch.ID, `"card-`+c.Ref+`"`)
		return strings.Contains(text(m), "contact officer <@"+h.council+">") && strings.Contains(text(m), "format: large print, easy read")
	})

	// The agencies reply; a closed-session meeting.
	for i, a := range []string{"police", "council", "housing"} {
		if _, err := h.store.RecordReply(h.ctx, who("U-"+a), casefile.ReplyInput{Ref: c.Ref, Agency: a, Author: "U-" + a, Source: "form", Taken: "Warnings", DedupeKey: fmt.Sprint("r", i)}); err != nil {
			t.Fatal(err)
		}
	}
	prompt = h.waitMessage(ch.ID, "Every agency has replied")
	if !strings.Contains(text(prompt), "The applicant asked to send their views in writing") {
		t.Error("the meeting prompt does not say how the applicant wants to be involved")
	}
	h.click(h.coord, ch.ID, prompt.TS, bot.ActionScheduleMeeting, c.Ref)
	form = h.modal(h.coord, bot.ViewScheduleMeeting)
	when := time.Now().AddDate(0, 0, 7).Format("2006-01-02")
	if res, err := h.emu.SubmitView(h.coord, form.ID, map[string]string{bot.BlockDate: when, bot.BlockTime: "10:00", bot.BlockPlace: "Room 2", bot.BlockClosed: "closed"}); err != nil || !res.Closed {
		t.Fatalf("schedule: %+v %v", res, err)
	}
	if m, _ := h.store.MeetingOf(h.ctx, c.Ref); m == nil || !m.ClosedSession {
		t.Fatalf("meeting %+v, want a closed session", m)
	}
	h.waitMessage(ch.ID, "It is a closed session")

	// The outcome: the recommendations go to the applicant; the
	// coordinator skips the wait, with a reason; the response is drafted.
	card = h.card(c.Ref)
	h.waitFor("Record outcome", func() bool {
		card = h.card(c.Ref)
		return strings.Contains(string(card.Blocks), bot.ActionRecordOutcome)
	})
	h.click(h.coord, ch.ID, card.TS, bot.ActionRecordOutcome, c.Ref)
	form = h.modal(h.coord, bot.ViewRecordOutcome)
	if res, err := h.emu.SubmitView(h.coord, form.ID, map[string]string{bot.BlockSummary: "Not joined up.", bot.BlockAdequate: "no",
		"rec1_text": "Joint plan", "rec1_owner": "council", "rec1_due": "2026-12-15"}); err != nil || !res.Closed {
		t.Fatalf("outcome: %+v %v", res, err)
	}
	h.waitFor("the card to show the consultation", func() bool {
		card = h.card(c.Ref)
		return strings.Contains(text(card), "waiting for the applicant's comments") && strings.Contains(string(card.Blocks), bot.ActionSkipConsultation)
	})
	if s := h.status(c.Ref); s != casefile.StatusDrafting {
		t.Fatalf("status %s during the consultation, want drafting", s)
	}
	h.click(h.police, ch.ID, card.TS, bot.ActionSkipConsultation, c.Ref)
	h.ephemeral(h.police, "only the coordinator can skip the consultation")
	h.click(h.coord, ch.ID, card.TS, bot.ActionSkipConsultation, c.Ref)
	form = h.modal(h.coord, bot.ViewSkipConsult)
	if res, err := h.emu.SubmitView(h.coord, form.ID, map[string]string{bot.BlockComment: "She agreed the plan by phone."}); err != nil || !res.Closed {
		t.Fatalf("skip: %+v %v", res, err)
	}
	h.waitMessage(ch.ID, "case review outcome, version 1")
	if s := h.status(c.Ref); s != casefile.StatusAwaitingApproval {
		t.Errorf("status %s after the skip", s)
	}
	draft = h.waitMessage(ch.ID, "case review outcome, version 1")
	for _, want := range []string{"*large print*", "*easy read*"} {
		if !strings.Contains(text(draft), want) {
			t.Errorf("the draft does not remind of %s", want)
		}
	}
}

func latestKind(t *testing.T, h *harness, ref, kind string) *casefile.Letter {
	t.Helper()
	ls, _ := h.store.Letters(h.ctx, ref)
	for i := len(ls) - 1; i >= 0; i-- {
		if ls[i].Kind == kind {
			return &ls[i]
		}
	}
	t.Fatalf("no %s letter", kind)
	return nil
}

// The applicant's comments on the recommendations show in the channel —
// the words themselves when the partnership lets the channel carry personal
// data — with a button that shows the whole email to a person with a role.
func TestConsultationReplyInChannel(t *testing.T) {
	h := newHarness(t, harnessOpts{mode: "socket"})
	h.cfg.Slack.SharePersonalData = true
	c := h.newCase()
	ctx := h.ctx
	ok := func(_ bool, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ok(h.store.Decide(ctx, who(h.coord), c.Ref, casefile.Met, ""))
	for i, a := range []string{"police", "council", "housing"} {
		ok(h.store.RecordReply(ctx, who("U-"), casefile.ReplyInput{Ref: c.Ref, Agency: a, Author: "U-" + a, Source: "form", Taken: "Warnings", DedupeKey: fmt.Sprint(i)}))
	}
	ok(h.store.ScheduleMeeting(ctx, who(h.coord), c.Ref, casefile.MeetingPlan{When: time.Now().Add(24 * time.Hour), Place: "Room 2"}))
	no := false
	ok(h.store.RecordOutcome(ctx, who(h.coord), c.Ref, casefile.MeetingOutcome{Summary: "Not joined up.", Adequate: &no,
		Recommendations: []casefile.Recommendation{{Text: "Joint plan", Owner: "council", Due: casefile.MustDate("2026-12-15")}}}))
	if _, err := h.store.Ingest(ctx, casefile.Inbound{MessageID: "comments-1@example.net", From: "lucy.fielding@example.net",
		Subject: "Re: [" + c.Ref + "] Your case review", SubjectRefs: []string{c.Ref}, Raw: []byte("x"),
		Text: "Please add the car park to the plan.\n\nOn Mon, Community Trigger wrote:\n> The actions proposed"}); err != nil {
		t.Fatal(err)
	}
	ch := h.channel(c.Ref)
	notice := h.waitMessage(ch.ID, "The applicant replied to the consultation")
	if !strings.Contains(text(notice), "Please add the car park to the plan.") || strings.Contains(text(notice), "The actions proposed") {
		t.Errorf("the notice does not show their words (and only theirs):\n%s", text(notice))
	}
	h.click(h.coord, ch.ID, notice.TS, bot.ActionReadMessage, c.Ref+"|comments-1@example.net")
	m := h.modal(h.coord, bot.ViewReadMessage)
	if !strings.Contains(string(m.Blocks), "Please add the car park") {
		t.Errorf("the email modal: %s", m.Blocks)
	}
	if n := h.events(c.Ref, "details.viewed"); n != 1 {
		t.Errorf("%d details.viewed events, want 1 (the coordinator's reading)", n)
	}
	h.waitMessage(ch.ID, "case review outcome, version 1")
}
