package bot_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
)

// BenchmarkCreateChannels100: 100 cases arrive at once. Each gets its
// channel, created once, with its team and card; no job is lost. The
// figure is the emulated time from the dispatcher's start to the last
// channel created, against the least Slack's Tier 2 limit on
// conversations.create allows: the first Limit at once, then Limit per
// window, so (100 - Limit) / rate.
//
//	go test ./bot -run '^$' -bench CreateChannels100 -benchtime 1x
func BenchmarkCreateChannels100(b *testing.B) {
	const cases = 100
	const workers = 25
	tier := slackemu.Tier2
	minimum := time.Duration(cases-tier.Limit) * tier.Per / time.Duration(tier.Limit)
	var ratio, allDone float64
	for b.Loop() {
		b.StopTimer()
		h := newHarness(b, harnessOpts{mode: "http", workers: workers, emuClock: true, manualDispatch: true, emu: slackemu.Options{TimeScale: 60}})
		var refs []string
		for range cases {
			refs = append(refs, h.newCase().Ref)
		}
		b.StartTimer()

		start := h.emu.Now()
		h.dispatch()
		deadline := time.Now().Add(2 * time.Minute)
		for n := 0; n < cases; n = doneJobs(h, casefile.JobSlackCreateChannel) {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d channel jobs done after %v emulated", n, cases, h.emu.Now().Sub(start))
			}
			if testing.Verbose() {
				b.Logf("%6.1fs emulated: %d channel jobs done, %d created", h.emu.Now().Sub(start).Seconds(), n, okCalls(h.emu.Calls("conversations.create")))
			}
			time.Sleep(250 * time.Millisecond)
		}
		end := h.emu.Now()

		b.StopTimer()
		var last time.Time
		created := map[string]int{}
		for _, c := range h.emu.Calls("conversations.create") {
			if c.OK {
				created[c.Params.Get("name")]++
				last = c.At
			}
		}
		chans := h.emu.Channels()
		if len(chans) != cases || len(created) != cases {
			b.Fatalf("%d channels, %d names created, for %d cases", len(chans), len(created), cases)
		}
		for name, n := range created {
			if n != 1 {
				b.Errorf("%s created %d times", name, n)
			}
		}
		for _, ref := range refs {
			ch := h.channel(ref)
			if len(ch.Members) < 5 || ch.Topic == "" {
				b.Errorf("%s: members %v, topic %q", ref, ch.Members, ch.Topic)
			}
			cards := slices.DeleteFunc(h.emu.Messages(ch.ID), func(m slackemu.Message) bool { return !slices.Contains(blockIDs(m), "card-"+ref) })
			if len(cards) != 1 {
				b.Errorf("%s: %d cards", ref, len(cards))
			}
		}
		elapsed := last.Sub(start)
		ratio = float64(elapsed) / float64(minimum)
		allDone = end.Sub(start).Minutes()
		if testing.Verbose() {
			b.Logf("create: %s", timeline(h.emu.Calls("conversations.create"), start))
			b.Logf("topic: %s", timeline(h.emu.Calls("conversations.setTopic"), start))
		}
		b.StartTimer()
		b.Logf("%d channels, %d workers: last created after %v emulated (Tier 2 minimum %v): %.3fx; every job done after %.2f min; %d conversations.create calls, %d answered 429",
			cases, workers, elapsed.Round(time.Second), minimum, ratio, allDone, len(h.emu.Calls("conversations.create")), count429(h.emu.Calls("conversations.create")))
	}
	b.ReportMetric(ratio, "x-minimum")
	b.ReportMetric(allDone, "emu-min-all-done")
}

func doneJobs(h *harness, kind string) int {
	jobs, err := h.store.Jobs(h.ctx, "")
	if err != nil {
		h.t.Fatal(err)
	}
	n := 0
	for _, j := range jobs {
		if j.Kind == kind && j.State == "done" {
			n++
		}
		if j.State == "dead" {
			h.t.Fatalf("job %d %s %s dead: %s", j.ID, j.Kind, j.CaseRef, j.LastError)
		}
	}
	return n
}

// timeline shows when calls were made, in emulated seconds from start,
// "x" marking those refused (429).
func timeline(calls []slackemu.Call, start time.Time) string {
	var b strings.Builder
	for _, c := range calls {
		fmt.Fprintf(&b, "%.1f", c.At.Sub(start).Seconds())
		if !c.OK {
			b.WriteString("x")
		}
		b.WriteString(" ")
	}
	return b.String()
}

func okCalls(calls []slackemu.Call) int {
	n := 0
	for _, c := range calls {
		if c.OK {
			n++
		}
	}
	return n
}

func count429(calls []slackemu.Call) int {
	n := 0
	for _, c := range calls {
		if c.Status == 429 {
			n++
		}
	}
	return n
}

// BenchmarkHomeRefresh50: fifty people — two coordinators, the Chair and
// 47 officers of the three agencies — have their Home tab open when the
// coordinator accepts a case, which concerns them all. Each tab is
// published again, showing the change, within views.publish's Tier 4 (no
// 429, never more than its limit in a minute). The figure is the emulated
// time from the decision to the last tab showing it.
//
//	go test ./bot -run '^$' -bench HomeRefresh50 -benchtime 1x
func BenchmarkHomeRefresh50(b *testing.B) {
	const people = 50
	tier := slackemu.Tier4
	var took, publishes float64
	for b.Loop() {
		b.StopTimer()
		var users []string
		h := newHarness(b, harnessOpts{mode: "http", emuClock: true, emu: slackemu.Options{TimeScale: 20},
			home: func(bt *bot.Bot) { bt.HomeDebounce = 2 * time.Second },
			configure: func(h *harness, cfg *casefile.Config) {
				second := h.emu.AddUser("deputy.coordinator", "deputy@council.example").ID
				cfg.Roles.Coordinator = casefile.IDList{h.coord, second}
				users = append(users, h.coord, second, h.chair)
				for i := range people - 3 {
					id := h.emu.AddUser(fmt.Sprintf("officer%02d", i), "").ID
					a := &cfg.Agencies[i%3]
					if i < 3 {
						a.SlackUsers = nil // ids only: no look-ups by email in the figure
					}
					a.SlackUsers = append(a.SlackUsers, id)
					users = append(users, id)
				}
			}})
		c := h.newCase()
		ch := h.channel(c.Ref)
		card := h.card(c.Ref)
		h.waitFor("everyone in the channel", func() bool { return len(h.emu.Members(ch.ID)) == people+1 })
		// Each opens their tab in turn (at once, fifty events would be
		// more writes than Slack's 3 seconds allow at this time scale).
		for _, u := range users {
			if err := h.emu.OpenHome(u); err != nil {
				b.Fatal(err)
			}
			h.waitFor("the Home tab of "+u, func() bool { _, ok := h.emu.HomeView(u); return ok })
		}
		h.emu.Advance(time.Minute) // the openings' minute is over
		opened := len(h.emu.Calls("views.publish"))
		b.StartTimer()

		start := h.emu.Now()
		h.click(h.coord, ch.ID, card.TS, bot.ActionAccept, c.Ref)
		deadline := time.Now().Add(time.Minute)
		for {
			stale := 0
			for _, u := range users {
				v, _ := h.emu.HomeView(u)
				if !strings.Contains(viewText(v), "Asking the agencies for details") && !strings.Contains(viewText(v), "Provide details") {
					stale++
				}
			}
			if stale == 0 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d Home tabs still stale after %v emulated", stale, people, h.emu.Now().Sub(start))
			}
			time.Sleep(20 * time.Millisecond)
		}
		b.StopTimer()
		calls := h.emu.Calls("views.publish")
		last := start
		for _, c := range calls[opened:] {
			if c.OK && c.At.After(last) {
				last = c.At
			}
		}
		if n := count429(calls); n > 0 {
			b.Errorf("%d views.publish calls answered 429", n)
		}
		for i, c := range calls {
			in := 0
			for _, d := range calls[i:] {
				if d.At.Sub(c.At) < tier.Per {
					in++
				}
			}
			if in > tier.Limit {
				b.Errorf("%d views.publish calls within a minute from %v", in, c.At.Sub(start))
				break
			}
		}
		took = last.Sub(start).Seconds()
		publishes = float64(len(calls) - opened)
		if testing.Verbose() {
			b.Logf("publish: %s", timeline(calls[opened:], start))
		}
		b.StartTimer()
		b.Logf("%d people: every Home tab refreshed %.1fs (emulated) after the decision, with %d views.publish calls, none refused", people, took, int(publishes))
	}
	b.ReportMetric(took, "emu-s-all-refreshed")
	b.ReportMetric(publishes, "publishes")
}
