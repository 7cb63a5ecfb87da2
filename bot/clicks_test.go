package bot_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
)

// clickScale is the emulator's TimeScale here: Slack's 3 seconds for an
// acknowledgement or a trigger_id are 600 ms of real time, enough on a
// loaded machine and still stricter than Slack.
const clickScale = 5

// TestClicks covers clicks that race or come too late, in both modes.
func TestClicks(t *testing.T) {
	for _, mode := range []string{"socket", "http"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			t.Run("ConcurrentAccept", func(t *testing.T) { testConcurrentAccept(t, mode) })
			t.Run("ExpiredTrigger", func(t *testing.T) { testExpiredTrigger(t, mode) })
		})
	}
}

// testConcurrentAccept: the coordinator's Accept arrives twice at the same
// moment (two devices, or a double click that Slack sends as two
// deliveries): one transition, one set of requests, and each click told
// what happened.
func testConcurrentAccept(t *testing.T, mode string) {
	h := newHarness(t, harnessOpts{mode: mode, emu: slackemu.Options{TimeScale: clickScale}})
	c := h.newCase()
	ch := h.channel(c.Ref)
	card := h.card(c.Ref)

	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			<-start
			res, err := h.emu.ClickButton(h.coord, ch.ID, card.TS, bot.ActionAccept, c.Ref)
			if err != nil || !res.Acked {
				t.Errorf("click: %+v %v", res, err)
			}
		})
	}
	close(start)
	wg.Wait()

	h.waitFor("both clicks answered", func() bool { return len(h.emu.Ephemerals(h.coord)) == 2 })
	var said []string
	for _, e := range h.emu.Ephemerals(h.coord) {
		said = append(said, e.Text)
	}
	joined := strings.Join(said, " | ")
	if strings.Count(joined, "is accepted for review") != 1 || strings.Count(joined, "already accepted") != 1 {
		t.Errorf("the coordinator was told: %s", joined)
	}
	if n := h.events(c.Ref, "threshold.decided"); n != 1 {
		t.Fatalf("%d decisions recorded, want 1", n)
	}
	if n := h.events(c.Ref, "agencies.asked"); n != 1 {
		t.Fatalf("agencies asked %d times, want 1", n)
	}
	if s := h.status(c.Ref); s != casefile.StatusGathering {
		t.Fatalf("status %s", s)
	}
	for _, a := range []string{"police", "council", "housing"} {
		h.waitMessage(ch.ID, `"request-`+c.Ref+`-`+a+`"`)
	}
	n := 0
	for _, m := range h.emu.Messages(ch.ID) {
		if strings.HasPrefix(m.Text, "Request for information") {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d requests posted, want 3", n)
	}
}

// testExpiredTrigger: Slack answers views.open late, after the click's
// trigger_id (3 seconds) has expired. The coordinator is told to click
// again, nothing changes, and the next click opens the form.
func testExpiredTrigger(t *testing.T, mode string) {
	h := newHarness(t, harnessOpts{mode: mode, emu: slackemu.Options{TimeScale: clickScale}})
	c := h.newCase()
	ch := h.channel(c.Ref)
	card := h.card(c.Ref)

	// 4 emulated seconds (Delay is real time).
	h.emu.InjectFault(slackemu.Fault{Method: "views.open", Delay: 4 * time.Second / clickScale})
	h.click(h.coord, ch.ID, card.TS, bot.ActionNotMet, c.Ref)
	h.ephemeral(h.coord, "Please click the button again")
	if calls := h.emu.Calls("views.open"); len(calls) != 1 || calls[0].Error != "expired_trigger_id" {
		t.Fatalf("views.open calls: %+v", calls)
	}
	if v := h.emu.OpenViews(h.coord); len(v) != 0 {
		t.Fatalf("a modal opened with an expired trigger: %+v", v)
	}
	if s := h.status(c.Ref); s != casefile.StatusReceived {
		t.Fatalf("status %s", s)
	}

	h.click(h.coord, ch.ID, card.TS, bot.ActionNotMet, c.Ref)
	h.modal(h.coord, bot.ViewNotMet)
}
