package bot_test

import (
	"strings"
	"testing"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
)

// TestSocketReconnect cuts the Socket Mode connection (a network failure,
// then Slack's own refresh_requested) just as people click and submit: the
// bot reconnects, and what they did while it was away is delivered again
// and done exactly once. apps.connections.open keeps Slack's Tier 1 limit
// (one a minute: three real seconds here), so each reconnection meets a
// 429 with Retry-After and honours it.
func TestSocketReconnect(t *testing.T) {
	t.Parallel()
	// TimeScale 5: Slack's 3 seconds to acknowledge are 600 ms of real
	// time, and Tier 1 lets the bot reconnect once every 12 real seconds.
	h := newHarness(t, harnessOpts{mode: "socket", emu: slackemu.Options{TimeScale: 5}})
	c := h.newCase()
	ch := h.channel(c.Ref)
	card := h.card(c.Ref)

	reconnected := func(what string) {
		t.Helper()
		h.waitStore(what, func() bool { return h.emu.SocketConnections() == 1 && h.bot.Connected() })
	}

	t.Run("DropSockets", func(t *testing.T) {
		opens := len(h.emu.Calls("apps.connections.open"))
		h.emu.DropSockets()
		// The coordinator accepts while the bot is away: Slack shows them
		// an error (nobody acknowledged within 3 seconds) and keeps the
		// click for the next connection.
		res, err := h.emu.ClickButton(h.coord, ch.ID, card.TS, bot.ActionAccept, c.Ref)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("the click while disconnected: acked=%v problem=%q", res.Acked, res.Problem)
		h.waitStore("the accept done after reconnecting", func() bool { return h.status(c.Ref) == casefile.StatusGathering })
		h.ephemeral(h.coord, "is accepted for review")
		reconnected("the bot to reconnect")
		if n := len(h.emu.Calls("apps.connections.open")); n <= opens {
			t.Errorf("no new apps.connections.open after the drop")
		}
		acked := 0
		for _, d := range h.emu.Deliveries() {
			if d.Type == "interactive" && d.Acked {
				acked++
			}
			if d.Failed {
				t.Errorf("delivery %s (%s) was never acknowledged", d.ID, d.Type)
			}
		}
		if acked != 1 {
			t.Errorf("%d interactive deliveries acknowledged, want 1", acked)
		}
	})

	// The requests are out; the police officer opens the form while
	// connected.
	police := h.waitMessage(ch.ID, `"request-`+c.Ref+`-police"`)
	h.click(h.police, ch.ID, police.TS, bot.ActionProvideDetails, c.Ref+"|police")
	form := h.modal(h.police, bot.ViewProvideDetails)

	t.Run("RefreshRequested", func(t *testing.T) {
		h.emu.Disconnect("refresh_requested")
		// Submitted while the bot is between connections.
		res, err := h.emu.SubmitView(h.police, form.ID, map[string]string{bot.BlockComplaints: "Two calls, 0345 and 0412", bot.BlockTaken: "Warning letter"})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("the submission while reconnecting: acked=%v problem=%q closed=%v", res.Acked, res.Problem, res.Closed)
		h.waitStore("the reply recorded", func() bool { return h.events(c.Ref, "agency.replied") > 0 })
		reconnected("the bot to reconnect after refresh_requested")
		h.waitFor("the police request to show the reply", func() bool {
			m, _ := h.message(ch.ID, `"request-`+c.Ref+`-police"`)
			return strings.Contains(text(m), "Received from Police by <@"+h.police+">")
		})
		// Slack showed the officer an error and left the form open: they
		// press Send again. Still one reply.
		if !res.Closed {
			again, err := h.emu.SubmitView(h.police, form.ID, map[string]string{bot.BlockComplaints: "Two calls, 0345 and 0412", bot.BlockTaken: "Warning letter"})
			if err != nil || !again.Closed {
				t.Fatalf("the second submission: %+v %v", again, err)
			}
		}
		if n := h.events(c.Ref, "agency.replied"); n != 1 {
			t.Errorf("%d replies recorded, want 1", n)
		}
		reqs, _ := h.store.Requests(h.ctx, c.Ref)
		for _, r := range reqs {
			if r.Agency == "police" && (len(r.Replies) != 1 || r.Replies[0].Taken != "Warning letter") {
				t.Errorf("police replies %+v", r.Replies)
			}
		}
	})

	// After both, the bot still answers, and nothing was done twice.
	h.click(h.coord, ch.ID, card.TS, bot.ActionViewDetails, c.Ref)
	h.modal(h.coord, bot.ViewDetails)
	if n := h.events(c.Ref, "threshold.decided"); n != 1 {
		t.Errorf("%d decisions recorded, want 1", n)
	}
	count := map[string]int{}
	for _, m := range h.emu.Messages(ch.ID) {
		for _, id := range blockIDs(m) {
			count[id]++
		}
	}
	for _, id := range []string{"card-" + c.Ref, "request-" + c.Ref + "-police", "request-" + c.Ref + "-council", "request-" + c.Ref + "-housing"} {
		if count[id] != 1 {
			t.Errorf("%d messages with block %s, want 1", count[id], id)
		}
	}
}
