package bot_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
)

// armFaults arms n single-call faults on the Web API, in order: a random
// 10% answer 429 with Retry-After (1 s), 20% answer 500, and the rest are
// passes (a Fault with nothing set changes nothing), so that about 30% of
// the next n calls, whatever their method, fail.
func armFaults(emu *slackemu.Emulator, seed uint64, n int) {
	rng := rand.New(rand.NewPCG(seed, 5))
	for range n {
		switch r := rng.Float64(); {
		case r < 0.10:
			emu.InjectFault(slackemu.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
		case r < 0.30:
			emu.InjectFault(slackemu.Fault{Status: http.StatusInternalServerError})
		default:
			emu.InjectFault(slackemu.Fault{})
		}
	}
}

// blockIDs lists the block ids of a message.
func blockIDs(m slackemu.Message) []string {
	var blocks []struct {
		BlockID string `json:"block_id"`
	}
	json.Unmarshal(m.Blocks, &blocks)
	var ids []string
	for _, b := range blocks {
		if b.BlockID != "" {
			ids = append(ids, b.BlockID)
		}
	}
	return ids
}

// TestFaults has 30% of Web API calls fail (429 with Retry-After, or 500)
// while cases are created, accepted and answered: every outbox job still
// completes, and everything people see is there exactly once.
func TestFaults(t *testing.T) {
	for i, mode := range []string{"socket", "http"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			testFaults(t, mode, uint64(i+1))
		})
	}
}

func testFaults(t *testing.T, mode string, seed uint64) {
	// TimeScale 20: 150 ms of real time to acknowledge a click; the
	// store runs on the emulator's clock, so the outbox's backoff through
	// an emulated minute of faults passes in seconds.
	h := newHarness(t, harnessOpts{mode: mode, workers: 4, emuClock: true, emu: slackemu.Options{TimeScale: 20}})
	armFaults(h.emu, seed, 5000)
	t.Cleanup(h.emu.ClearFaults)
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		all, _ := h.store.Jobs(h.ctx, "")
		for _, j := range all {
			t.Logf("job %d %s %s %s attempts=%d %s", j.ID, j.Kind, j.CaseRef, j.State, j.Attempts, j.LastError)
		}
		for _, ch := range h.emu.Channels() {
			for _, m := range h.emu.Messages(ch.ID) {
				t.Logf("%s %s %v %.80q", ch.Name, m.TS, blockIDs(m), m.Text)
			}
		}
	})

	const cases = 3
	var refs []string
	for range cases {
		refs = append(refs, h.newCase().Ref)
	}
	agencies := map[string]string{"police": h.police, "council": h.council, "housing": h.housing}

	// The coordinator accepts each case from its card.
	chans := map[string]slackemu.Channel{}
	for _, ref := range refs {
		ch := h.channel(ref)
		chans[ref] = ch
		card := h.card(ref)
		h.click(h.coord, ch.ID, card.TS, "accept_for_review", ref)
	}
	// Each agency answers its request in the thread.
	for _, ref := range refs {
		ch := chans[ref]
		for agency, officer := range agencies {
			req := h.waitMessage(ch.ID, `"request-`+ref+`-`+agency+`"`)
			// A person answers seconds after the request appears; by then
			// the bot has recorded which message it is. (A reply in the
			// millisecond between chat.postMessage and that record is
			// dropped: HandleEvent takes it for a thread that is not a
			// request, and the event is marked seen.)
			h.waitStore("the request to "+agency+" recorded", func() bool {
				reqs, _ := h.store.Requests(h.ctx, ref)
				return slices.ContainsFunc(reqs, func(r casefile.InfoRequest) bool { return r.Agency == agency && r.MessageTS == req.TS })
			})
			if _, err := h.emu.ReplyInThread(officer, ch.ID, req.TS, "Our record for "+ref+": two visits, one warning."); err != nil {
				t.Fatalf("%s cannot answer in the thread of %s: %v", agency, ref, err)
			}
		}
	}
	for _, ref := range refs {
		h.waitMessage(chans[ref].ID, "Every agency has replied")
	}

	// Every Slack job done, none dead, none waiting.
	var jobs []casefile.JobInfo
	h.waitStore("every slack job done", func() bool {
		all, err := h.store.Jobs(h.ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		jobs = jobs[:0]
		for _, j := range all {
			if strings.HasPrefix(j.Kind, "slack.") {
				jobs = append(jobs, j)
			}
		}
		return !slices.ContainsFunc(jobs, func(j casefile.JobInfo) bool { return j.State == "pending" })
	})
	retried := 0
	for _, j := range jobs {
		if j.State != "done" {
			t.Errorf("job %d %s %s is %s: %s", j.ID, j.Kind, j.CaseRef, j.State, j.LastError)
		}
		if j.Attempts > 1 {
			retried++
		}
	}

	// The faults were really there.
	calls := h.emu.Calls()
	faulted := 0
	for _, c := range calls {
		if c.Error == http.StatusText(c.Status) && (c.Status == 429 || c.Status == 500) {
			faulted++
		}
	}
	t.Logf("%d Web API calls, %d answered 429 or 500 by the faults; %d of %d jobs needed more than one attempt", len(calls), faulted, retried, len(jobs))
	if share := float64(faulted) / float64(len(calls)); faulted < 10 || share < 0.15 || share > 0.45 {
		t.Fatalf("%d of %d calls faulted: the test did not test what it says", faulted, len(calls))
	}

	// Exactly one channel per case, created once.
	if n := len(h.emu.Channels()); n != cases {
		t.Errorf("%d channels for %d cases", n, cases)
	}
	created := 0
	for _, c := range h.emu.Calls("conversations.create") {
		if c.OK {
			created++
		}
	}
	if created != cases {
		t.Errorf("conversations.create succeeded %d times for %d cases", created, cases)
	}

	for _, ref := range refs {
		ch := h.channel(ref)
		for _, u := range []string{h.coord, h.police, h.council, h.housing} {
			if !slices.Contains(ch.Members, u) {
				t.Errorf("%s: %s was not invited", ref, u)
			}
		}
		// Every message once: the card, one request per agency, each notice.
		count := map[string]int{}
		for _, m := range h.emu.Messages(ch.ID) {
			for _, id := range blockIDs(m) {
				count[id]++
			}
			if strings.Contains(text(m), "could not add every officer") {
				t.Errorf("%s: %q", ref, m.Text)
			}
		}
		for id, n := range count {
			if n > 1 && (strings.HasPrefix(id, "card-") || strings.HasPrefix(id, "request-") || strings.HasPrefix(id, "notice-")) {
				t.Errorf("%s: %d messages with block %s", ref, n, id)
			}
		}
		want := []string{"card-" + ref}
		for agency := range agencies {
			want = append(want, "request-"+ref+"-"+agency)
		}
		for _, id := range want {
			if count[id] != 1 {
				t.Errorf("%s: %d messages with block %s, want 1", ref, count[id], id)
			}
		}
		notices := 0
		for _, m := range h.emu.Messages(ch.ID) {
			if strings.Contains(m.Text, "Every agency has replied") {
				notices++
			}
		}
		if notices != 1 {
			t.Errorf("%s: %d \"every agency has replied\" notices, want 1", ref, notices)
		}
		// Each request names its officers and shows the reply; the card
		// shows every agency answered.
		for agency, officer := range agencies {
			m, _ := h.message(ch.ID, `"request-`+ref+`-`+agency+`"`)
			if !strings.Contains(text(m), "<@"+officer+">") || strings.Contains(text(m), "went by email") {
				t.Errorf("%s: the request to %s does not name its officer: %s", ref, agency, text(m))
			}
			if !strings.Contains(text(m), "(in the thread)") {
				t.Errorf("%s: the request to %s does not show the reply", ref, agency)
			}
		}
		card, _ := h.message(ch.ID, `"card-`+ref+`"`)
		if c := strings.Count(text(card), ": replied"); c != 3 {
			t.Errorf("%s: the card shows %d agencies replied, want 3", ref, c)
		}
		if !strings.HasPrefix(ch.Topic, ref+" · Asking the agencies") {
			t.Errorf("%s: topic %q", ref, ch.Topic)
		}
		if n := h.events(ref, "threshold.decided"); n != 1 {
			t.Errorf("%s: %d decisions", ref, n)
		}
		if n := h.events(ref, "agency.replied"); n != 3 {
			t.Errorf("%s: %d replies recorded, want 3", ref, n)
		}
		if evs := h.events(ref, "agency.asked_by_email"); evs != 0 {
			t.Errorf("%s: %d agencies asked by email though their officers are in Slack", ref, evs)
		}
	}
	if t.Failed() {
		for _, j := range jobs {
			t.Log(fmt.Sprintf("job %d %s %s %s attempts=%d %s", j.ID, j.Kind, j.CaseRef, j.State, j.Attempts, j.LastError))
		}
	}
}
