package bot_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/casefile"
)

// TestWorkflow runs a case through the bot in both connection modes: the
// channel, the card, the threshold decision, the agencies' replies by form
// and in a thread, the meeting and its outcome — each checked where a person
// would see it.
func TestWorkflow(t *testing.T) {
	for _, mode := range []string{"socket", "http"} {
		t.Run(mode, func(t *testing.T) { testWorkflow(t, mode) })
	}
}

func testWorkflow(t *testing.T, mode string) {
	h := newHarness(t, harnessOpts{mode: mode})
	testWorkflowOf(t, h, h.newCase)
}

// testWorkflowOf runs the workflow on the case newCase opens.
func testWorkflowOf(t *testing.T, h *harness, newCase func() *casefile.Case) {
	c := newCase()

	// One private channel named from the reference, with the team in it.
	ch := h.channel(c.Ref)
	wantRef, wantName := firstRef(casefile.DateOf(c.ReceivedAt)) // filed now: the year it is in London
	if c.Ref != wantRef || ch.Name != wantName || !ch.Private {
		t.Fatalf("case %s, channel %+v; want %s, #%s", c.Ref, ch, wantRef, wantName)
	}
	card := h.card(c.Ref)
	h.waitFor("invites", func() bool {
		m := h.emu.Members(ch.ID)
		return slices.Contains(m, h.coord) && slices.Contains(m, h.police) && slices.Contains(m, h.council) && slices.Contains(m, h.housing)
	})
	if slices.Contains(h.emu.Members(ch.ID), h.stranger) {
		t.Error("a stranger was invited")
	}
	// No personal data in the channel: not in the name, the topic or the card.
	h.waitFor("the topic", func() bool { ch = h.channel(c.Ref); return ch.Topic != "" })
	for _, pd := range []string{"Lucy", "Fielding", "lucy.fielding", "07700", "Mill Street", "DE12 7HS"} {
		if strings.Contains(ch.Name+ch.Topic+string(card.Blocks)+card.Text, pd) {
			t.Errorf("personal data %q in the channel name, topic or card", pd)
		}
	}
	for _, want := range []string{"Accept for review", "Threshold not met", "View details", "threshold met: 3 qualifying complaints", "DE12"} {
		if !strings.Contains(string(card.Blocks), want) {
			t.Errorf("card lacks %q", want)
		}
	}

	// Someone who is not the coordinator presses Accept: refused, nothing changes.
	h.click(h.police, ch.ID, card.TS, bot.ActionAccept, c.Ref)
	h.ephemeral(h.police, "only the coordinator")
	if s := h.status(c.Ref); s != casefile.StatusReceived {
		t.Fatalf("status %s after a refused click", s)
	}

	// View details shows personal data in a modal, to a person with a role.
	h.click(h.council, ch.ID, card.TS, bot.ActionViewDetails, c.Ref)
	details := h.modal(h.council, bot.ViewDetails)
	if !strings.Contains(string(details.Blocks), "Lucy Fielding") {
		t.Error("details modal lacks the applicant's name")
	}
	// A stranger is not in the private channel, so cannot even click.
	if _, err := h.emu.ClickButton(h.stranger, ch.ID, card.TS, bot.ActionViewDetails, c.Ref); err == nil || len(h.emu.OpenViews(h.stranger)) != 0 {
		t.Errorf("a stranger could click View details: %v", err)
	}

	// The coordinator double-clicks Accept: one transition.
	h.click(h.coord, ch.ID, card.TS, bot.ActionAccept, c.Ref)
	h.click(h.coord, ch.ID, card.TS, bot.ActionAccept, c.Ref)
	h.ephemeral(h.coord, "already accepted")
	if n := h.events(c.Ref, "threshold.decided"); n != 1 {
		t.Fatalf("%d decisions recorded, want 1", n)
	}
	if s := h.status(c.Ref); s != casefile.StatusGathering {
		t.Fatalf("status %s, want gathering", s)
	}
	h.waitFor("the card to show the decision", func() bool {
		m, _ := h.message(ch.ID, `"card-`+c.Ref+`"`)
		return strings.Contains(string(m.Blocks), "accepted for review by")
	})

	// One request per agency, mentioning its officers, with the deadline.
	police := h.waitMessage(ch.ID, `"request-`+c.Ref+`-police"`)
	council := h.waitMessage(ch.ID, `"request-`+c.Ref+`-council"`)
	housing := h.waitMessage(ch.ID, `"request-`+c.Ref+`-housing"`)
	for _, want := range []string{"<@" + h.police + ">", "please provide details of the complaints received and the actions considered and taken", "Due by", "10 working days", "Provide details"} {
		if !strings.Contains(text(police), want) {
			t.Errorf("police request lacks %q", want)
		}
	}
	if !strings.Contains(text(housing), "<@"+h.housing+">") {
		t.Error("the housing officer (configured by email) is not mentioned")
	}

	// An officer of another agency cannot answer for the police.
	h.click(h.council, ch.ID, police.TS, bot.ActionProvideDetails, c.Ref+"|police")
	h.ephemeral(h.council, "only an officer of Police")

	// The police officer answers with the form.
	h.click(h.police, ch.ID, police.TS, bot.ActionProvideDetails, c.Ref+"|police")
	form := h.modal(h.police, bot.ViewProvideDetails)
	res, err := h.emu.SubmitView(h.police, form.ID, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors[bot.BlockComplaints] == "" {
		t.Fatalf("an empty form was accepted: %+v", res)
	}
	res, err = h.emu.SubmitView(h.police, form.ID, map[string]string{
		bot.BlockComplaints: "3 calls: 0345 of 03/08/2026 …", bot.BlockTaken: "Patrols increased; two warnings",
	})
	if err != nil || !res.Closed {
		t.Fatalf("submission: %+v %v", res, err)
	}
	h.waitFor("the police request to show the reply", func() bool {
		m, _ := h.message(ch.ID, `"request-`+c.Ref+`-police"`)
		return strings.Contains(text(m), "Received from Police by <@"+h.police+">")
	})

	// The council officer replies in the request's thread.
	if _, err := h.emu.ReplyInThread(h.council, ch.ID, council.TS, "We served a community protection warning on 2 October."); err != nil {
		t.Fatal(err)
	}
	h.waitStore("the thread reply", func() bool {
		reqs, _ := h.store.Requests(h.ctx, c.Ref)
		for _, r := range reqs {
			if r.Agency == "council" && len(r.Replies) == 1 && r.Replies[0].Source == "thread" && r.Replies[0].Author == h.council {
				return true
			}
		}
		return false
	})

	// Schedule meeting is refused until every agency has replied.
	card = h.card(c.Ref)
	h.click(h.coord, ch.ID, card.TS, bot.ActionScheduleMeeting, c.Ref)
	h.ephemeral(h.coord, "cannot be scheduled yet: 1 agency has not replied yet")

	// The housing officer has nothing: "no information held".
	h.click(h.housing, ch.ID, housing.TS, bot.ActionProvideDetails, c.Ref+"|housing")
	form = h.modal(h.housing, bot.ViewProvideDetails)
	if res, err := h.emu.SubmitView(h.housing, form.ID, map[string]string{bot.BlockNoInfo: "yes"}); err != nil || !res.Closed {
		t.Fatalf("no-information submission: %+v %v", res, err)
	}
	prompt := h.waitMessage(ch.ID, "Every agency has replied")
	if !strings.Contains(text(prompt), "<@"+h.coord+">") {
		t.Error("the coordinator is not told that every agency has replied")
	}

	// The meeting, on a working day a fortnight on.
	meetingDay := h.store.Cal.AddWorkingDays(h.today(), 10)
	h.click(h.coord, ch.ID, prompt.TS, bot.ActionScheduleMeeting, c.Ref)
	form = h.modal(h.coord, bot.ViewScheduleMeeting)
	if res, err := h.emu.SubmitView(h.coord, form.ID, map[string]string{
		bot.BlockDate: meetingDay.String(), bot.BlockTime: "14:00", bot.BlockPlace: "Council offices, Room 2",
	}); err != nil || !res.Closed {
		t.Fatalf("schedule: %+v %v", res, err)
	}
	if s := h.status(c.Ref); s != casefile.StatusMeeting {
		t.Fatalf("status %s, want meeting", s)
	}
	h.waitMessage(ch.ID, "scheduled for "+meetingDay.Time().Format("Monday 2 January 2006")+" at 14:00")

	card = h.card(c.Ref)
	h.waitFor("Record outcome on the card", func() bool {
		card = h.card(c.Ref)
		return strings.Contains(string(card.Blocks), bot.ActionRecordOutcome)
	})
	h.click(h.coord, ch.ID, card.TS, bot.ActionRecordOutcome, c.Ref)
	form = h.modal(h.coord, bot.ViewRecordOutcome)
	res, err = h.emu.SubmitView(h.coord, form.ID, map[string]string{
		bot.BlockSummary: "Reports were handled separately; no joint plan.", bot.BlockAdequate: "no",
		"rec1_text": "Joint problem-solving plan for the alleyway", "rec1_owner": "council",
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors["rec1_due"] == "" {
		t.Fatalf("a recommendation without a due date was accepted: %+v", res)
	}
	res, err = h.emu.SubmitView(h.coord, form.ID, map[string]string{
		bot.BlockSummary: "Reports were handled separately; no joint plan.", bot.BlockAdequate: "no", bot.BlockAttendance: "police,council",
		"rec1_text": "Joint problem-solving plan for the alleyway", "rec1_owner": "council", "rec1_due": h.store.Cal.AddWorkingDays(meetingDay, 30).String(),
	})
	if err != nil || !res.Closed {
		t.Fatalf("outcome: %+v %v", res, err)
	}
	m, err := h.store.MeetingOf(h.ctx, c.Ref)
	if err != nil || m == nil || len(m.Recommendations) != 1 || m.Recommendations[0].Owner != "council" || *m.Adequate {
		t.Fatalf("meeting %+v %v", m, err)
	}
	if s := h.status(c.Ref); s != casefile.StatusDrafting && s != casefile.StatusAwaitingApproval {
		t.Fatalf("status %s after the outcome", s)
	}
}

// TestMissingOfficersReported: officers Slack cannot find — by id or by
// email — are reported to the coordinator, by agency, and the rest of the
// team is in the channel.
func TestMissingOfficersReported(t *testing.T) {
	h := newHarness(t, harnessOpts{mode: "socket", configure: func(_ *harness, cfg *casefile.Config) {
		cfg.Agencies[0].SlackUsers = append(cfg.Agencies[0].SlackUsers, "U0NOBODY")
		cfg.Agencies[1].SlackUsers = append(cfg.Agencies[1].SlackUsers, "ghost@council.example")
	}})
	c := h.newCase()
	ch := h.channel(c.Ref)
	notice := h.waitMessage(ch.ID, "could not add every officer")
	for _, want := range []string{"<@" + h.coord + ">", "Police: 1 officer not found in Slack", "District Council: 1 officer not found in Slack"} {
		if !strings.Contains(text(notice), want) {
			t.Errorf("notice lacks %q: %s", want, text(notice))
		}
	}
	h.waitFor("the rest of the team", func() bool {
		m := h.emu.Members(ch.ID)
		return slices.Contains(m, h.police) && slices.Contains(m, h.council) && slices.Contains(m, h.housing) && slices.Contains(m, h.coord)
	})
}
