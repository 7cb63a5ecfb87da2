package bot_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

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
