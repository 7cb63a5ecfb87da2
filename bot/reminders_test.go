package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
)

// TestReminderThreadAndSnooze: a reminder is posted in the request's thread,
// mentioning the agency's officers; Snooze is refused to anyone but an
// officer of that agency or the coordinator, and brings the reminder back on
// the next working day, once.
func TestReminderThreadAndSnooze(t *testing.T) {
	start, _ := time.ParseInLocation("2006-01-02 15:04", "2026-12-11 10:00", casefile.London)
	h := newHarness(t, harnessOpts{emu: slackemu.Options{Start: start, TimeScale: 1}, emuClock: true})
	c := h.newCase()
	ch := h.channel(c.Ref)
	card := h.card(c.Ref)
	h.click(h.coord, ch.ID, card.TS, bot.ActionAccept, c.Ref)
	req := map[string]slackemu.Message{}
	for _, a := range []string{"police", "council", "housing"} {
		req[a] = h.waitMessage(ch.ID, `"request-`+c.Ref+`-`+a+`"`)
	}
	h.waitStore("the requests' message ts", func() bool {
		rs, _ := h.store.Requests(h.ctx, c.Ref)
		for _, r := range rs {
			if r.MessageTS == "" {
				return false
			}
		}
		return len(rs) == 3
	})

	// Wednesday 23 December, 09:30: two working days before Tuesday 29th.
	advanceTo := func(s string) {
		at, _ := time.ParseInLocation("2006-01-02 15:04", s, casefile.London)
		h.emu.Advance(at.Sub(h.emu.Now()))
	}
	// The harness sends no email, so the acknowledgement is overdue too:
	// the coordinator's digest says so in the channel.
	advanceTo("2026-12-23 09:30")
	if n, err := h.store.RunReminders(h.ctx); err != nil || n != 4 {
		t.Fatalf("RunReminders: %d %v", n, err)
	}
	digest := h.waitMessage(ch.ID, "Daily digest for "+c.Ref)
	if got := text(digest); !strings.Contains(got, "<@"+h.coord+">") || !strings.Contains(got, "acknowledgement to the applicant: due Fri 18 Dec 2026, 3 working days overdue") {
		t.Errorf("the digest says: %s", got)
	}
	inThread := func(agency, s string) slackemu.Message {
		var m slackemu.Message
		h.waitFor(agency+"'s thread to show "+s, func() bool {
			for _, tm := range h.emu.Thread(ch.ID, req[agency].TS) {
				if tm.TS != req[agency].TS && strings.Contains(text(tm), s) {
					m = tm
					return true
				}
			}
			return false
		})
		return m
	}
	key := casefile.ReminderKey(c.Ref, "police", casefile.StageBefore)
	rem := inThread("police", "reminder-"+key)
	if got := text(rem); !strings.Contains(got, "<@"+h.police+">") || strings.Contains(got, "<@"+h.coord+">") ||
		!strings.Contains(got, "due by Tuesday 29 December 2026, in 2 working days") {
		t.Errorf("the reminder says: %s", got)
	}
	if got := text(inThread("housing", "reminder-")); !strings.Contains(got, "<@"+h.housing+">") {
		t.Errorf("housing's reminder: %s", got)
	}

	// The Chair, and another agency's officer, may not snooze it.
	value := c.Ref + "|police|" + key
	h.click(h.chair, ch.ID, rem.TS, bot.ActionSnoozeReminder, value)
	h.ephemeral(h.chair, "only an officer of Police or the coordinator can act on its request")
	h.click(h.council, ch.ID, rem.TS, bot.ActionSnoozeReminder, value)
	h.ephemeral(h.council, "only an officer of Police or the coordinator can act on its request")
	if n := h.events(c.Ref, "reminder.snoozed"); n != 0 {
		t.Fatalf("%d snoozes recorded after refusals", n)
	}

	// The police officer may.
	h.click(h.police, ch.ID, rem.TS, bot.ActionSnoozeReminder, value)
	h.ephemeral(h.police, "the reminder comes back on Thursday 24 December 2026")
	h.waitFor("the reminder to show it is snoozed", func() bool {
		for _, tm := range h.emu.Thread(ch.ID, req["police"].TS) {
			if tm.TS == rem.TS {
				return strings.Contains(text(tm), "Snoozed by <@"+h.police+"> until Thursday 24 December 2026") &&
					!strings.Contains(text(tm), bot.ActionSnoozeReminder)
			}
		}
		return false
	})
	if n := h.events(c.Ref, "reminder.snoozed"); n != 1 {
		t.Fatalf("%d snoozes recorded, want 1", n)
	}

	// The next working day it comes back, once, in the same thread.
	advanceTo("2026-12-24 09:05")
	if n, err := h.store.RunReminders(h.ctx); err != nil || n != 2 {
		t.Fatalf("RunReminders on the 24th (the snoozed reminder and the digest): %d %v", n, err)
	}
	again := inThread("police", "snoozed reminder")
	if !strings.Contains(text(again), "in 1 working day") {
		t.Errorf("the snoozed reminder says: %s", text(again))
	}
	if n, _ := h.store.RunReminders(h.ctx); n != 0 {
		t.Errorf("a second run queued %d", n)
	}
}

// TestReminderMessage: the overdue reminder names the coordinator and the
// working days; no personal data is in it.
func TestReminderMessage(t *testing.T) {
	cfg := casefile.DefaultConfig()
	cal := cfg.WorkingCalendar()
	r := casefile.Reminder{Key: "reminder:CT-2026-0007:council:overdue", CaseRef: "CT-2026-0007", Agency: "council",
		Stage: casefile.StageOverdue, Due: casefile.MustDate("2026-12-29"), Coordinator: true}
	a, _ := cfg.Agency("council")
	text, blocks := bot.ReminderMessage(r, a, []string{"U0ASB"}, []string{"U0COORD"}, casefile.MustDate("2027-01-04"), cal)
	sec := blocks[0].(*slack.SectionBlock).Text.Text
	if !strings.HasPrefix(sec, "<@U0ASB> <@U0COORD> *Overdue:* District Council's details for the case review CT-2026-0007 were due on Tuesday 29 December 2026, 3 working days ago.") {
		t.Errorf("section: %s", sec)
	}
	if !strings.Contains(text, "CT-2026-0007") {
		t.Errorf("text: %s", text)
	}
	acts := blocks[1].(*slack.ActionBlock).Elements.ElementSet
	if len(acts) != 2 || acts[1].(*slack.ButtonBlockElement).Value != "CT-2026-0007|council|"+r.Key {
		t.Errorf("buttons: %+v", acts)
	}
}
