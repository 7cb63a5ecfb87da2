package bot_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
)

// unverifiedMail files an email from someone who is not a party to case
// ref, asking for a further review, and returns the notice the coordinator
// gets in the case channel and the stored message's id.
func (h *harness) unverifiedMail(ref, id, from string) (slackemu.Message, int64) {
	h.t.Helper()
	res, err := h.store.Ingest(h.ctx, casefile.Inbound{
		MessageID: id, From: from, Subject: "Re: [" + ref + "] your response", SubjectRefs: []string{ref},
		Raw: []byte("From: " + from + "\r\nSubject: Re: [" + ref + "] your response\r\n\r\nI want a further review.\r\n"), Text: "I want a further review.",
		WantsFurtherReview: true,
	})
	if err != nil || res.Outcome != casefile.OutcomeFollowup || res.Verified || res.UnverifiedReason != casefile.UnverifiedNotAParty {
		h.t.Fatalf("ingest: %+v %v, want an unverified followup", res, err)
	}
	c, err := h.store.Case(h.ctx, ref)
	if err != nil {
		h.t.Fatal(err)
	}
	var msg int64
	for _, m := range c.Messages {
		if m.MessageID == id {
			msg = m.ID
		}
	}
	ch := h.channel(ref)
	var notice slackemu.Message
	h.waitFor("the notice of "+id, func() bool {
		for _, m := range h.emu.Messages(ch.ID) {
			if strings.Contains(string(m.Blocks), bot.ActionTreatFurtherReview) && strings.Contains(string(m.Blocks), fmt.Sprintf(`"%s|%d"`, ref, msg)) {
				notice = m
				return true
			}
		}
		return false
	})
	return notice, msg
}

// TestUnverifiedMailButtons: an email from a stranger asking for a further
// review of an answered case changes nothing; the coordinator sees it (who
// sent it stays out of the channel) and decides with the notice's two
// buttons. Only the coordinator may; each decision is recorded with who
// made it, and a second click changes nothing.
func TestUnverifiedMailButtons(t *testing.T) {
	h := newHarness(t, harnessOpts{mode: "socket"})
	c := h.toDraft()
	letters, _ := h.store.Letters(h.ctx, c.Ref)
	outcome := letters[len(letters)-1] // after the met letter
	if _, err := h.store.ApproveLetter(h.ctx, who(h.chair), c.Ref, outcome.ID, outcome.SHA256); err != nil {
		t.Fatal(err)
	}
	if s := h.status(c.Ref); s != casefile.StatusResponded {
		t.Fatalf("status %s", s)
	}
	ch := h.channel(c.Ref)

	notice, msg := h.unverifiedMail(c.Ref, "stranger-1@evil.example", "mallory@evil.example")
	body := text(notice)
	for _, want := range []string{"<@" + h.coord + ">", "not verified", "not the applicant", "asks for a further review, which was *not* recorded",
		bot.ActionTreatFurtherReview, bot.ActionTreatCorrespondence} {
		if !strings.Contains(body, want) {
			t.Errorf("the notice lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "mallory") || strings.Contains(body, "evil.example") {
		t.Errorf("the notice shows who sent it (share_personal_data is off):\n%s", body)
	}
	if s := h.status(c.Ref); s != casefile.StatusResponded {
		t.Fatalf("the stranger's email moved the case to %s", s)
	}
	value := fmt.Sprintf("%s|%d", c.Ref, msg)

	t.Run("OfficerRefused", func(t *testing.T) {
		h.click(h.police, ch.ID, notice.TS, bot.ActionTreatFurtherReview, value)
		h.ephemeral(h.police, "only the coordinator can decide what an unverified email is")
		if s := h.status(c.Ref); s != casefile.StatusResponded {
			t.Fatalf("status %s after an officer's click", s)
		}
	})

	t.Run("TreatAsFurtherReview", func(t *testing.T) {
		h.click(h.coord, ch.ID, notice.TS, bot.ActionTreatFurtherReview, value)
		h.ephemeral(h.coord, "is the applicant's request for a further review")
		if s := h.status(c.Ref); s != casefile.StatusFurtherReviewRequested {
			t.Fatalf("status %s, want %s", s, casefile.StatusFurtherReviewRequested)
		}
		h.waitMessage(ch.ID, bot.ActionAcceptFurther) // the Chair is asked
		got, _ := h.store.Case(h.ctx, c.Ref)
		for _, m := range got.Messages {
			if m.ID == msg && (m.TreatedAs != casefile.TreatAsFurtherReview || m.DecidedBy != h.coord || m.Verified) {
				t.Errorf("message recorded as %+v", m)
			}
		}
		if n := h.events(c.Ref, "mail.treated"); n != 1 {
			t.Errorf("%d mail.treated events, want 1", n)
		}
	})

	t.Run("SecondClickChangesNothing", func(t *testing.T) {
		h.click(h.coord, ch.ID, notice.TS, bot.ActionTreatFurtherReview, value)
		h.ephemeral(h.coord, "already recorded that way")
		h.click(h.coord, ch.ID, notice.TS, bot.ActionTreatCorrespondence, value)
		h.ephemeral(h.coord, "already treated as a request for a further review")
		if n := h.events(c.Ref, "further_review.requested"); n != 1 {
			t.Errorf("%d further-review requests, want 1", n)
		}
	})

	t.Run("TreatAsCorrespondence", func(t *testing.T) {
		// The applicant writing from a new address: once the coordinator
		// says so, mail from it counts as the applicant's on this case.
		n2, msg2 := h.unverifiedMail(c.Ref, "new-address-1@example.org", "lucy.new@example.org")
		h.click(h.coord, ch.ID, n2.TS, bot.ActionTreatCorrespondence, fmt.Sprintf("%s|%d", c.Ref, msg2))
		h.ephemeral(h.coord, "is the applicant's correspondence")
		res, err := h.store.Ingest(h.ctx, casefile.Inbound{MessageID: "new-address-2@example.org", From: "lucy.new@example.org",
			Subject: "[" + c.Ref + "] thanks", SubjectRefs: []string{c.Ref}, Raw: []byte("Subject: thanks\r\n\r\nthanks\r\n")})
		if err != nil || !res.Verified || res.Outcome != casefile.OutcomeFollowup {
			t.Errorf("the next email from that address: %+v %v, want a verified followup", res, err)
		}
	})
}
