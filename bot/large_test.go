package bot_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
)

// TestLargeInputsWorkflow is issue 14's end-to-end check: a long, hostile
// email with 14 complaints, 18 agencies (15 with 80-character names), a
// single-channel guest and deactivated officers, 40 replies and files in a
// request's thread, an outcome with long findings and recommendations, a
// letter of over 6,000 characters edited and approved — through the bot on
// the strict emulator, in both modes, with no Slack call refused but the
// refusals Slack gives about people.
func TestLargeInputsWorkflow(t *testing.T) {
	for _, mode := range []string{"socket", "http"} {
		t.Run(mode, func(t *testing.T) { testLargeInputs(t, mode) })
	}
}

func testLargeInputs(t *testing.T, mode string) {
	var guest string
	h := newHarness(t, harnessOpts{mode: mode, emu: slackemu.Options{TimeScale: 5}, configure: func(h *harness, cfg *casefile.Config) {
		cfg.Slack.SharePersonalData = true
		for _, a := range longAgencies() {
			a.Email = "asb@" + a.ID + ".example"
			cfg.Agencies = append(cfg.Agencies, a)
		}
		guest = h.emu.AddGuest("pcso.guest", "pcso@police.example", true).ID
		if _, err := h.emu.AddChannel("neighbourhood-watch", true, guest); err != nil {
			h.t.Fatal(err)
		}
		gone := h.emu.AddUser("retired.officer", "retired@council.example").ID
		h.emu.Deactivate(gone)
		leaver := h.emu.AddUser("leaver", "leaver@housing.example").ID
		h.emu.Deactivate(leaver)
		cfg.Agencies[0].SlackUsers = []string{h.police, guest}
		cfg.Agencies[1].SlackUsers = []string{h.council, gone}
		cfg.Agencies[2].SlackUsers = []string{"officer@housing.example", "leaver@housing.example"}
	}})

	app := applicationAt(h.today())
	app.Applicant.Name = "Lucy Fielding " + hostile
	app.Location = "The alleyway " + hostile
	app.Description = hostile + "\n\n" + paragraphs(16, "Account")
	for i := range 11 {
		d := h.today().AddDays(-120 + i*4)
		app.Incidents = append(app.Incidents, casefile.Incident{OccurredOn: d, ReportedOn: d.AddDays(1), Agency: longAgencies()[i].ID, Reference: fmt.Sprintf("<@U0CHAIR> REF-%04d", i)})
	}
	c, err := h.store.CreateCase(h.ctx, casefile.NewCase{Application: app, Actor: who("test")})
	if err != nil {
		t.Fatal(err)
	}

	// The channel: the team but the guest, the card, who could not be added.
	ch := h.channel(c.Ref)
	card := h.card(c.Ref)
	noRaw(t, "the card", text(card))
	notice := h.waitMessage(ch.ID, "could not add every officer")
	if !strings.Contains(text(notice), "<@"+guest+">") || !strings.Contains(text(notice), "Housing provider: 1 officer not found in Slack") {
		t.Errorf("the notice: %s", text(notice))
	}
	h.waitFor("the team", func() bool {
		m := h.emu.Members(ch.ID)
		return slices.Contains(m, h.coord) && slices.Contains(m, h.police) && slices.Contains(m, h.council) && slices.Contains(m, h.housing)
	})

	// The details, then the decision.
	h.click(h.coord, ch.ID, card.TS, bot.ActionViewDetails, c.Ref)
	details := h.modal(h.coord, bot.ViewDetails)
	noRaw(t, "the details", strings.Join(blockTexts(t, details.Blocks), "\n"))
	h.click(h.coord, ch.ID, card.TS, bot.ActionAccept, c.Ref)
	h.waitStore("the decision", func() bool { return h.status(c.Ref) == casefile.StatusGathering })

	// The police thread gets busy: 40 replies, a file; the council's
	// reply goes to the channel too.
	police := h.waitMessage(ch.ID, `"request-`+c.Ref+`-police"`)
	council := h.waitMessage(ch.ID, `"request-`+c.Ref+`-council"`)
	if strings.Contains(text(police), "<@"+guest+">") {
		t.Error("the police request mentions the guest, who is not in the channel")
	}
	for i := range 40 {
		if _, err := h.emu.ReplyInThread(h.police, ch.ID, police.TS, fmt.Sprintf("Update %d.", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	// Events are handled side by side: the file comes last once the 40
	// are in, so that it is among the latest the request lists.
	h.waitStore("40 police replies", func() bool { return h.threadReplies(c.Ref, "police") == 40 })
	if _, _, err := h.emu.UploadFile(h.police, ch.ID, police.TS, slackemu.Upload{Name: "log.pdf", Content: []byte("%PDF")}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.emu.BroadcastReply(h.council, ch.ID, council.TS, "CPW served."); err != nil {
		t.Fatal(err)
	}
	h.waitStore("41 police replies and the council's", func() bool {
		return h.threadReplies(c.Ref, "police") == 41 && h.threadReplies(c.Ref, "council") == 1
	})
	h.waitFor("the police request to count its replies", func() bool {
		m, _ := h.message(ch.ID, `"request-`+c.Ref+`-police"`)
		return strings.Contains(text(m), "41 replies received; the latest 5") && strings.Contains(text(m), "with 1 file")
	})
	reqs, _ := h.store.Requests(h.ctx, c.Ref)
	for _, r := range reqs {
		if len(r.Replies) == 0 {
			if _, err := h.store.RecordReply(h.ctx, who("x@"+r.Agency+".example").OfficerOf(r.Agency), casefile.ReplyInput{Ref: c.Ref, Agency: r.Agency,
				Author: "x@" + r.Agency + ".example", Source: "email", NoInfo: true, DedupeKey: "large-" + r.Agency}); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The meeting, and its outcome in the form of 18 agencies.
	prompt := h.waitMessage(ch.ID, "Every agency has replied")
	h.click(h.coord, ch.ID, prompt.TS, bot.ActionScheduleMeeting, c.Ref)
	form := h.modal(h.coord, bot.ViewScheduleMeeting)
	if res, err := h.emu.SubmitView(h.coord, form.ID, map[string]string{bot.BlockDate: "2026-10-28", bot.BlockTime: "14:00", bot.BlockPlace: "Room 2"}); err != nil || !res.Closed {
		t.Fatalf("schedule: %+v %v", res, err)
	}
	h.waitFor("Record outcome on the card", func() bool {
		card = h.card(c.Ref)
		return strings.Contains(string(card.Blocks), bot.ActionRecordOutcome)
	})
	h.click(h.coord, ch.ID, card.TS, bot.ActionRecordOutcome, c.Ref)
	form = h.modal(h.coord, bot.ViewRecordOutcome)
	findings := strings.TrimSpace(paragraphs(7, "Finding"))
	res, err := h.emu.SubmitView(h.coord, form.ID, map[string]string{
		bot.BlockAttendance: "police,council,housing,agency01,agency02,agency03,agency04,agency05,agency06,agency07,agency08,agency09,agency15",
		bot.BlockSummary:    findings, bot.BlockAdequate: "no",
		"rec1_text": strings.TrimSpace(paragraphs(2, "First recommendation")), "rec1_owner": "agency15", "rec1_due": "2026-12-15",
		"rec2_text": strings.TrimSpace(paragraphs(2, "Second recommendation")), "rec2_owner": "police", "rec2_due": "2026-12-20",
	})
	if err != nil || !res.Closed {
		t.Fatalf("outcome: %+v %v", res, err)
	}
	// The recommendations went to the applicant for comment; they agreed
	// them by phone.
	if _, err := h.store.SkipConsultation(h.ctx, who(h.coord), c.Ref, "The applicant agreed the plan by phone."); err != nil {
		t.Fatal(err)
	}

	// The draft, over 6,000 characters: shown, read, edited, approved.
	v1 := h.waitMessage(ch.ID, "case review outcome, version 1")
	letters, _ := h.store.Letters(h.ctx, c.Ref)
	l1 := letters[len(letters)-1]
	if n := len([]rune(l1.Text)); n < 6000 {
		t.Fatalf("the letter has %d characters", n)
	}
	h.click(h.chair, ch.ID, v1.TS, bot.ActionReadLetter, fmt.Sprintf("%s|%d", c.Ref, l1.ID))
	h.modal(h.chair, bot.ViewReadLetter)
	h.click(h.coord, ch.ID, v1.TS, bot.ActionEditDraft, fmt.Sprintf("%s|%d", c.Ref, l1.ID))
	form = h.modal(h.coord, bot.ViewEditDraft)
	parts := editParts(t, form)
	if len(parts) < 3 {
		t.Fatalf("%d parts", len(parts))
	}
	for block, v := range parts {
		parts[block] = strings.Replace(v, "Finding paragraph 3: the riders", "Finding paragraph 3: the motorbike riders", 1)
	}
	if res, err := h.emu.SubmitView(h.coord, form.ID, parts); err != nil || !res.Closed {
		t.Fatalf("edit: %+v %v", res, err)
	}
	v2 := h.waitMessage(ch.ID, "case review outcome, version 2")
	letters, _ = h.store.Letters(h.ctx, c.Ref)
	l2 := letters[len(letters)-1]
	if want := strings.Replace(l1.Text, "Finding paragraph 3: the riders", "Finding paragraph 3: the motorbike riders", 1); l2.Text != want {
		t.Fatal("version 2 is not version 1 with the one change made")
	}
	h.click(h.chair, ch.ID, v2.TS, bot.ActionApprove, fmt.Sprintf("%s|%d|%s", c.Ref, l2.ID, l2.SHA256))
	h.waitStore("the approval", func() bool { return h.status(c.Ref) == casefile.StatusResponded })
	jobs, _ := h.store.Jobs(h.ctx, c.Ref)
	sent := 0
	for _, j := range jobs {
		if j.Kind == casefile.JobEmailLetter && strings.Contains(j.DedupeKey, fmt.Sprint(l2.ID)) {
			sent++
		}
	}
	if sent == 0 {
		t.Error("no email of version 2 queued")
	}

	// Slack refused nothing but what it says about people, and the pace.
	h.waitFor("the card updated", func() bool {
		m, _ := h.message(ch.ID, `"card-`+c.Ref+`"`)
		return strings.Contains(text(m), "Response sent")
	})
	people := map[string]bool{"users_not_found": true, "ura_max_channels": true, "cant_invite": true, "already_in_channel": true, "expired_trigger_id": true,
		"ratelimited": true} // a 429, waited for as Retry-After says
	for _, call := range h.emu.Calls() {
		if !call.OK && !people[call.Error] {
			t.Errorf("%s refused: %s", call.Method, call.Error)
		}
	}
}
