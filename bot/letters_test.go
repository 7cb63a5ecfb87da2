package bot_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/casefile"
)

// toDraft takes a case through the review by store commands (the clicks
// are TestWorkflow's) up to its draft letter.
func (h *harness) toDraft() *casefile.Case {
	h.t.Helper()
	c := h.newCase()
	ctx := h.ctx
	ok := func(_ bool, err error) {
		h.t.Helper()
		if err != nil {
			h.t.Fatal(err)
		}
	}
	ok(h.store.Decide(ctx, who(h.coord), c.Ref, casefile.Met, ""))
	for i, a := range []string{"police", "council", "housing"} {
		ok(h.store.RecordReply(ctx, who("U-"), casefile.ReplyInput{Ref: c.Ref, Agency: a, Author: "U-" + a, Source: "form", Taken: "Warnings given", DedupeKey: fmt.Sprint(i)}))
	}
	ok(h.store.ScheduleMeeting(ctx, who(h.coord), c.Ref, casefile.MeetingPlan{When: time.Now().Add(24 * time.Hour), Place: "Room 2", By: h.coord}))
	no := false
	ok(h.store.RecordOutcome(ctx, who(h.coord), c.Ref, casefile.MeetingOutcome{Summary: "Not joined up.", Adequate: &no, By: h.coord,
		Recommendations: []casefile.Recommendation{{Text: "Joint plan", Owner: "council", Due: h.store.Cal.AddWorkingDays(h.today(), 40)}}}))
	ok(h.store.SkipConsultation(ctx, who(h.coord), c.Ref, "The applicant agreed the plan by phone."))
	return c
}

func TestApprovalAndFurtherReview(t *testing.T) {
	h := newHarness(t, harnessOpts{mode: "socket"})
	c := h.toDraft()
	ch := h.channel(c.Ref)
	v1 := h.waitMessage(ch.ID, "case review outcome, version 1")
	if strings.Contains(text(v1), "Lucy") {
		t.Error("the draft message shows the resident's name in the channel")
	}
	letters, _ := h.store.Letters(h.ctx, c.Ref)
	l1 := letters[1] // after the met letter
	approveV1 := fmt.Sprintf("%s|%d|%s", c.Ref, l1.ID, l1.SHA256)

	// Read the letter: the full text, in a modal.
	h.click(h.police, ch.ID, v1.TS, bot.ActionReadLetter, fmt.Sprintf("%s|%d", c.Ref, l1.ID))
	if m := h.modal(h.police, bot.ViewReadLetter); !strings.Contains(string(m.Blocks), "Dear Lucy Fielding") {
		t.Error("the letter modal lacks the letter")
	}

	// An officer is not an approver.
	h.click(h.police, ch.ID, v1.TS, bot.ActionApprove, approveV1)
	h.ephemeral(h.police, "only an approver can approve")

	// The coordinator edits: version 2.
	h.click(h.coord, ch.ID, v1.TS, bot.ActionEditDraft, fmt.Sprintf("%s|%d", c.Ref, l1.ID))
	form := h.modal(h.coord, bot.ViewEditDraft)
	edited := strings.Replace(l1.Text, "Yours sincerely,", "With best wishes,", 1)
	parts := strings.Split(strings.TrimRight(edited, "\n"), "\n\n")
	values := map[string]string{}
	// The modal holds the letter in parts; put the edited text back the same way.
	n := strings.Count(form.PrivateMetadata, "|")
	if n != 2 {
		t.Fatalf("edit metadata %q", form.PrivateMetadata)
	}
	values[bot.BlockLetterText+"_1"] = strings.Join(parts, "\n\n")
	if res, err := h.emu.SubmitView(h.coord, form.ID, values); err != nil || !res.Closed {
		t.Fatalf("edit: %+v %v", res, err)
	}
	v2 := h.waitMessage(ch.ID, "case review outcome, version 2")
	letters, _ = h.store.Letters(h.ctx, c.Ref)
	l2 := letters[2]

	// Version 1's button no longer sends anything.
	h.click(h.chair, ch.ID, v1.TS, bot.ActionApprove, approveV1)
	h.ephemeral(h.chair, "not the latest draft")

	// The Chair approves version 2 — twice, as a double click.
	approveV2 := fmt.Sprintf("%s|%d|%s", c.Ref, l2.ID, l2.SHA256)
	h.click(h.chair, ch.ID, v2.TS, bot.ActionApprove, approveV2)
	h.click(h.chair, ch.ID, v2.TS, bot.ActionApprove, approveV2)
	h.ephemeral(h.chair, "already approved")
	if s := h.status(c.Ref); s != casefile.StatusResponded {
		t.Fatalf("status %s after approval", s)
	}
	jobs, _ := h.store.Jobs(h.ctx, c.Ref)
	sends := 0
	for _, j := range jobs {
		if j.Kind == casefile.JobEmailLetter {
			sends++
			if !strings.Contains(j.DedupeKey, fmt.Sprint(l2.ID)) {
				t.Errorf("a letter job for another version: %s", j.DedupeKey)
			}
		}
	}
	if sends != 1 {
		t.Errorf("%d letter emails queued, want 1", sends)
	}

	// The coordinator records a further-review request; only the Chair decides.
	card := h.card(c.Ref)
	h.waitFor("the further-review button", func() bool {
		card = h.card(c.Ref)
		return strings.Contains(string(card.Blocks), bot.ActionRecordFurther)
	})
	h.click(h.coord, ch.ID, card.TS, bot.ActionRecordFurther, c.Ref)
	prompt := h.waitMessage(ch.ID, "A further review has been requested")
	if !strings.Contains(text(prompt), "<@"+h.chair+">") {
		t.Error("the Chair is not asked")
	}
	for _, u := range []string{h.coord, h.police} {
		h.click(u, ch.ID, prompt.TS, bot.ActionAcceptFurther, c.Ref)
		h.ephemeral(u, "only the Chair can decide on a further review")
	}
	if s := h.status(c.Ref); s != casefile.StatusFurtherReviewRequested {
		t.Fatalf("status %s after refused clicks", s)
	}
	h.click(h.chair, ch.ID, prompt.TS, bot.ActionAcceptFurther, c.Ref)
	outcome := h.waitMessage(ch.ID, "The Chair accepted the request")
	h.click(h.chair, ch.ID, outcome.TS, bot.ActionRecordFurtherOutcome, c.Ref)
	form = h.modal(h.chair, bot.ViewFurtherOutcome)
	if res, err := h.emu.SubmitView(h.chair, form.ID, map[string]string{bot.BlockUpheld: "no", bot.BlockSummary: "The plan was reasonable."}); err != nil || !res.Closed {
		t.Fatalf("outcome: %+v %v", res, err)
	}
	fv1 := h.waitMessage(ch.ID, "further review outcome, version 1")
	letters, _ = h.store.Letters(h.ctx, c.Ref)
	fl := letters[len(letters)-1]
	// An approver who is not the Chair cannot approve the further-review letter.
	h.click(h.coord, ch.ID, fv1.TS, bot.ActionApprove, fmt.Sprintf("%s|%d|%s", c.Ref, fl.ID, fl.SHA256))
	h.ephemeral(h.coord, "only the Chair can approve")
	h.click(h.chair, ch.ID, fv1.TS, bot.ActionApprove, fmt.Sprintf("%s|%d|%s", c.Ref, fl.ID, fl.SHA256))
	h.waitStore("the case to close", func() bool { return h.status(c.Ref) == casefile.StatusClosed })
}
