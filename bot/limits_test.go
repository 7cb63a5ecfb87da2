package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// The tests of issue 14, "the bot stays within them": each drives the bot
// on the emulator, which refuses what Slack refuses, with inputs larger or
// stranger than the samples.

// hostile is what a resident's email may hold that Slack would read as a
// command, a mention or a disguised link.
const hostile = "<!channel> <@U0CHAIR> <https://evil.example/pay|your bank> & <!here>"

// paragraphs is a text of n paragraphs of about 400 characters each.
func paragraphs(n int, tag string) string {
	var ps []string
	for i := range n {
		ps = append(ps, fmt.Sprintf("%s paragraph %d: ", tag, i+1)+strings.Repeat("the riders came back through the alleyway again after dark, ", 6))
	}
	return strings.Join(ps, "\n\n")
}

// longAgencies are 15 agencies with names of 80 characters.
func longAgencies() []casefile.Agency {
	var out []casefile.Agency
	for i := range 15 {
		name := fmt.Sprintf("Agency %02d: North West Leicestershire Community Safety and Neighbourhood Team", i+1)
		name += strings.Repeat(".", 80-len(name))
		out = append(out, casefile.Agency{ID: fmt.Sprintf("agency%02d", i+1), Name: name})
	}
	return out
}

// lockedBuffer is a log both the bot and the test use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// blockTexts are the texts of the sections, contexts and headers of blocks
// as Slack stores them.
func blockTexts(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var blocks []struct {
		Type string `json:"type"`
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
		Elements []struct {
			Text string `json:"text"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatalf("blocks: %v", err)
	}
	var out []string
	for _, b := range blocks {
		if b.Text != nil {
			out = append(out, b.Text.Text)
		}
		for _, e := range b.Elements {
			if e.Text != "" {
				out = append(out, e.Text)
			}
		}
	}
	return out
}

// failedCalls are the calls of a method Slack refused, with why.
func failedCalls(emu *slackemu.Emulator, method string) []string {
	var out []string
	for _, c := range emu.Calls(method) {
		if !c.OK {
			out = append(out, c.Error)
		}
	}
	return out
}

// noRaw checks that none of the hostile markup reaches Slack unescaped and
// that it shows as typed (escaped).
func noRaw(t *testing.T, where, s string) {
	t.Helper()
	for _, raw := range []string{"<!channel>", "<@U0CHAIR>", "<https://evil.example/pay|your bank>", "<!here>"} {
		if strings.Contains(s, raw) {
			t.Errorf("%s: %q reaches Slack as markup", where, raw)
		}
	}
	if !strings.Contains(s, "&lt;!channel&gt; &lt;@U0CHAIR&gt; &lt;https://evil.example/pay|your bank&gt; &amp; &lt;!here&gt;") {
		t.Errorf("%s: the resident's text is not shown as typed:\n%s", where, s)
	}
}

// TestViewDetailsAnyEmail: View details opens for a long, hostile email;
// the resident's words are escaped in the modal and on the card (issue 14,
// points 1 and 8).
func TestViewDetailsAnyEmail(t *testing.T) {
	h := newHarness(t, harnessOpts{mode: "socket", emu: slackemu.Options{TimeScale: 5}, configure: func(_ *harness, cfg *casefile.Config) { cfg.Slack.SharePersonalData = true }})
	app := applicationAt(h.today())
	app.Applicant.Name = "Lucy " + hostile
	app.Location = "Mill Street " + hostile
	desc := hostile + "\n\n" + paragraphs(16, "Account") // about 6,300 characters
	app.Description = desc
	c, err := h.store.CreateCase(h.ctx, casefile.NewCase{Application: app, Actor: who("test")})
	if err != nil {
		t.Fatal(err)
	}
	ch := h.channel(c.Ref)
	card := h.card(c.Ref)
	noRaw(t, "the card", text(card))

	h.click(h.coord, ch.ID, card.TS, bot.ActionViewDetails, c.Ref)
	v := h.modal(h.coord, bot.ViewDetails)
	if f := failedCalls(h.emu, "views.open"); len(f) > 0 {
		t.Fatalf("views.open refused: %v", f)
	}
	all := strings.Join(blockTexts(t, v.Blocks), "\n")
	noRaw(t, "the details modal", all)
	for i := range 16 {
		if !strings.Contains(all, fmt.Sprintf("Account paragraph %d: ", i+1)) {
			t.Errorf("the modal lacks paragraph %d of the account", i+1)
		}
	}

	// An account far beyond what a modal holds: cut, saying where it is.
	app.Description = paragraphs(400, "Endless")
	c2, err := h.store.CreateCase(h.ctx, casefile.NewCase{Application: app, Actor: who("test")})
	if err != nil {
		t.Fatal(err)
	}
	ch2 := h.channel(c2.Ref)
	card2 := h.card(c2.Ref)
	h.click(h.coord, ch2.ID, card2.TS, bot.ActionViewDetails, c2.Ref)
	h.waitFor("the second details modal", func() bool {
		for _, v := range h.emu.OpenViews(h.coord) {
			if v.PrivateMetadata == c2.Ref {
				return strings.Contains(string(v.Blocks), "(the full text: `trigger case show "+c2.Ref+"`)")
			}
		}
		return false
	})
	if f := failedCalls(h.emu, "views.open"); len(f) > 0 {
		t.Fatalf("views.open refused: %v", f)
	}
}

// toMeeting takes a case through the decision and every agency's reply to
// a scheduled meeting, by store commands.
func (h *harness) toMeeting(c *casefile.Case) {
	h.t.Helper()
	if _, err := h.store.Decide(h.ctx, who(h.coord), c.Ref, casefile.Met, ""); err != nil {
		h.t.Fatal(err)
	}
	reqs, err := h.store.Requests(h.ctx, c.Ref)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, r := range reqs {
		if _, err := h.store.RecordReply(h.ctx, who("U-"+r.Agency).OfficerOf(r.Agency), casefile.ReplyInput{Ref: c.Ref, Agency: r.Agency, Author: "U-" + r.Agency,
			Source: "form", Taken: "Warnings given", DedupeKey: "to-meeting-" + r.Agency}); err != nil {
			h.t.Fatal(err)
		}
	}
	if _, err := h.store.ScheduleMeeting(h.ctx, who(h.coord), c.Ref, casefile.MeetingPlan{When: time.Now().Add(48 * time.Hour), Place: "Room 2", By: h.coord}); err != nil {
		h.t.Fatal(err)
	}
}

// TestRecordOutcomeAnyAgencies: with 15 agencies of 80-character names the
// outcome form opens, as a multi-select with shortened names, and records
// what was chosen (issue 14, point 2).
func TestRecordOutcomeAnyAgencies(t *testing.T) {
	h := newHarness(t, harnessOpts{mode: "socket", emu: slackemu.Options{TimeScale: 5}, configure: func(h *harness, cfg *casefile.Config) {
		cfg.Agencies = append(cfg.Agencies, longAgencies()...)
	}})
	c := h.newCase() // names no agency: all 18 are asked
	h.toMeeting(c)
	ch := h.channel(c.Ref)
	card := h.card(c.Ref)
	h.waitFor("Record outcome on the card", func() bool {
		card = h.card(c.Ref)
		return strings.Contains(string(card.Blocks), bot.ActionRecordOutcome)
	})
	h.click(h.coord, ch.ID, card.TS, bot.ActionRecordOutcome, c.Ref)
	form := h.modal(h.coord, bot.ViewRecordOutcome)
	if f := failedCalls(h.emu, "views.open"); len(f) > 0 {
		t.Fatalf("views.open refused: %v", f)
	}
	var blocks []struct {
		BlockID string `json:"block_id"`
		Element struct {
			Type    string `json:"type"`
			Options []struct {
				Text  struct{ Text string } `json:"text"`
				Value string                `json:"value"`
			} `json:"options"`
		} `json:"element"`
	}
	if err := json.Unmarshal(form.Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		if b.BlockID != bot.BlockAttendance {
			continue
		}
		if b.Element.Type != "multi_static_select" || len(b.Element.Options) != 18 {
			t.Errorf("attendance is a %s of %d options, want a multi_static_select of 18", b.Element.Type, len(b.Element.Options))
		}
		for _, o := range b.Element.Options {
			if n := len([]rune(o.Text.Text)); n > 75 {
				t.Errorf("option %s has %d characters", o.Value, n)
			}
			if strings.HasPrefix(o.Value, "agency") && !strings.HasSuffix(o.Text.Text, "…") {
				t.Errorf("option %s is not shortened with an ellipsis: %q", o.Value, o.Text.Text)
			}
		}
	}
	res, err := h.emu.SubmitView(h.coord, form.ID, map[string]string{
		bot.BlockAttendance: "police,agency01,agency12,agency15", bot.BlockSummary: "Joined up at last.", bot.BlockAdequate: "no",
		"rec1_text": "A joint plan", "rec1_owner": "agency15", "rec1_due": "2026-12-15",
	})
	if err != nil || !res.Closed {
		t.Fatalf("outcome: %+v %v", res, err)
	}
	m, err := h.store.MeetingOf(h.ctx, c.Ref)
	if err != nil || !slices.Equal(m.Attendance, []string{"police", "agency01", "agency12", "agency15"}) || m.Recommendations[0].Owner != "agency15" {
		t.Fatalf("meeting %+v %v", m, err)
	}
}

// TestCardRequestNoticeWithinLimits: a case with many complaints and
// agencies, a long not-met reason, a busy request thread and a long
// request-changes comment: every message is posted and updated, long free
// text is in full in a thread (issue 14, point 3).
func TestCardRequestNoticeWithinLimits(t *testing.T) {
	h := newHarness(t, harnessOpts{mode: "socket", configure: func(h *harness, cfg *casefile.Config) {
		cfg.Agencies = append(cfg.Agencies, longAgencies()...)
	}})
	app := applicationAt(h.today())
	for i := range 12 {
		d := h.today().AddDays(-120 + i*3)
		app.Incidents = append(app.Incidents, casefile.Incident{OccurredOn: d, ReportedOn: d.AddDays(1), Agency: longAgencies()[i].ID, Reference: fmt.Sprintf("REF-%04d", i)})
	}
	c, err := h.store.CreateCase(h.ctx, casefile.NewCase{Application: app, Actor: who("test")})
	if err != nil {
		t.Fatal(err)
	}
	ch := h.channel(c.Ref)
	card := h.card(c.Ref)
	if !strings.Contains(text(card), "… and ") {
		t.Errorf("the card lists 15 complaints' reasons in full:\n%s", text(card))
	}

	// A long reason for a decision: the card shows its beginning, the
	// card's thread all of it.
	reason := paragraphs(12, "Reason")
	if _, err := h.store.Decide(h.ctx, who(h.coord), c.Ref, casefile.NotMet, reason); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the card to show the decision", func() bool {
		m, _ := h.message(ch.ID, `"card-`+c.Ref+`"`)
		return strings.Contains(text(m), "The full reason is in this message's thread")
	})
	h.waitFor("the reason in the card's thread", func() bool {
		var got []string
		for _, m := range h.emu.Thread(ch.ID, card.TS) {
			if m.TS != card.TS {
				got = append(got, blockTexts(t, m.Blocks)...)
			}
		}
		all := strings.Join(got, "\n\n")
		for i := range 12 {
			if !strings.Contains(all, fmt.Sprintf("Reason paragraph %d: ", i+1)) {
				return false
			}
		}
		return true
	})
	for _, m := range []string{"chat.postMessage", "chat.update"} {
		if f := failedCalls(h.emu, m); len(f) > 0 {
			t.Fatalf("%s refused: %v", m, f)
		}
	}

	// A second case: accepted, a busy thread on the police request.
	c2 := h.newCase()
	if _, err := h.store.Decide(h.ctx, who(h.coord), c2.Ref, casefile.Met, ""); err != nil {
		t.Fatal(err)
	}
	ch2 := h.channel(c2.Ref)
	police := h.waitMessage(ch2.ID, `"request-`+c2.Ref+`-police"`)
	for i := range 40 {
		if _, err := h.emu.ReplyInThread(h.police, ch2.ID, police.TS, fmt.Sprintf("Update %d: patrol at %d pm.", i+1, i%12+1)); err != nil {
			t.Fatal(err)
		}
	}
	h.waitFor("the request to count 40 replies", func() bool {
		m, _ := h.message(ch2.ID, `"request-`+c2.Ref+`-police"`)
		return strings.Contains(text(m), "40 replies received; the latest 5")
	})
	if f := failedCalls(h.emu, "chat.update"); len(f) > 0 {
		t.Fatalf("chat.update refused: %v", f)
	}
}

// TestLongNoticeInThread: a notice about 4,000 characters long (a long
// comment in it) is posted with its beginning, and in full in its thread,
// each reply within Slack's limits (issue 14, point 3).
func TestLongNoticeInThread(t *testing.T) {
	h := newHarness(t, harnessOpts{mode: "socket"})
	c := h.newCase()
	ch := h.channel(c.Ref)
	h.card(c.Ref)
	text4000 := paragraphs(10, "Comment")
	if n := len([]rune(text4000)); n < 3500 {
		t.Fatalf("the comment is only %d characters", n)
	}
	if err := h.store.Notice(h.ctx, c.Ref, "long", "A long notice:\n\n"+text4000, true); err != nil {
		t.Fatal(err)
	}
	notice := h.waitMessage(ch.ID, "A long notice:")
	if !strings.Contains(text(notice), "continued in the thread") {
		t.Errorf("the notice does not say it goes on in its thread:\n%s", text(notice))
	}
	h.waitFor("the notice in full in its thread", func() bool {
		var got []string
		for _, m := range h.emu.Thread(ch.ID, notice.TS) {
			if m.TS != notice.TS {
				got = append(got, blockTexts(t, m.Blocks)...)
			}
		}
		return strings.Contains(strings.Join(got, "\n\n"), "Comment paragraph 10: ")
	})
	if f := failedCalls(h.emu, "chat.postMessage"); len(f) > 0 {
		t.Fatalf("chat.postMessage refused: %v", f)
	}
}

// TestFileAndBroadcastReplies: a reply in a request's thread that shares a
// file, or is also sent to the channel, is the agency's reply; the file's
// name and permalink are kept, not its content, and not in the log (issue
// 14, point 5).
func TestFileAndBroadcastReplies(t *testing.T) {
	var logs lockedBuffer
	h := newHarness(t, harnessOpts{mode: "socket", logs: &logs})
	c := h.newCase()
	if _, err := h.store.Decide(h.ctx, who(h.coord), c.Ref, casefile.Met, ""); err != nil {
		t.Fatal(err)
	}
	ch := h.channel(c.Ref)
	police := h.waitMessage(ch.ID, `"request-`+c.Ref+`-police"`)
	council := h.waitMessage(ch.ID, `"request-`+c.Ref+`-council"`)
	f, _, err := h.emu.UploadFile(h.police, ch.ID, police.TS, slackemu.Upload{Name: "statement-lucy.pdf", Content: []byte("%PDF-1.4 personal"), Text: ""})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.emu.BroadcastReply(h.council, ch.ID, council.TS, "CPW served on 2 October."); err != nil {
		t.Fatal(err)
	}
	var reqs []casefile.InfoRequest
	h.waitStore("both replies", func() bool {
		reqs, _ = h.store.Requests(h.ctx, c.Ref)
		n := 0
		for _, r := range reqs {
			if (r.Agency == "police" || r.Agency == "council") && len(r.Replies) == 1 {
				n++
			}
		}
		return n == 2
	})
	for _, r := range reqs {
		switch r.Agency {
		case "police":
			got := r.Replies[0]
			if got.Source != "thread" || len(got.Files) != 1 || got.Files[0].Name != "statement-lucy.pdf" || got.Files[0].Permalink != f.Permalink {
				t.Errorf("the police reply %+v", got)
			}
		case "council":
			if got := r.Replies[0]; got.Text != "CPW served on 2 October." || got.Author != h.council {
				t.Errorf("the council reply %+v", got)
			}
		}
	}
	h.waitFor("the police request to show the file", func() bool {
		m, _ := h.message(ch.ID, `"request-`+c.Ref+`-police"`)
		return strings.Contains(text(m), "(in the thread), with 1 file")
	})
	if calls := h.emu.Calls("files.info"); len(calls) != 0 {
		t.Errorf("the bot called files.info %d times", len(calls))
	}
	if strings.Contains(logs.String(), "statement-lucy") || strings.Contains(logs.String(), f.ID) {
		t.Errorf("the file is named in the log:\n%s", logs.String())
	}
}

// TestInviteFailuresDoNotBlock: a single-channel guest among the police
// officers and deactivated officers (by id and by email) keep nobody else
// out; the card is posted and the coordinator told who could not be added
// and why (issue 14, point 6).
func TestInviteFailuresDoNotBlock(t *testing.T) {
	var guest, gone string
	h := newHarness(t, harnessOpts{mode: "socket", configure: func(h *harness, cfg *casefile.Config) {
		guest = h.emu.AddGuest("pcso.guest", "pcso@police.example", true).ID
		if _, err := h.emu.AddChannel("neighbourhood-watch", true, guest); err != nil {
			h.t.Fatal(err)
		}
		gone = h.emu.AddUser("retired.officer", "retired@council.example").ID
		h.emu.Deactivate(gone)
		leaver := h.emu.AddUser("leaver", "leaver@housing.example").ID
		h.emu.Deactivate(leaver)
		cfg.Agencies[0].SlackUsers = []string{guest, h.police}
		cfg.Agencies[1].SlackUsers = []string{h.council, gone}
		cfg.Agencies[2].SlackUsers = []string{"officer@housing.example", "leaver@housing.example"}
	}})
	c := h.newCase()
	ch := h.channel(c.Ref)
	h.card(c.Ref)
	h.waitFor("the team in the channel", func() bool {
		m := h.emu.Members(ch.ID)
		return slices.Contains(m, h.coord) && slices.Contains(m, h.chair) && slices.Contains(m, h.police) && slices.Contains(m, h.council) && slices.Contains(m, h.housing)
	})
	notice := h.waitMessage(ch.ID, "could not add every officer")
	for _, want := range []string{
		"<@" + guest + "> (an officer of Police): a single-channel guest",
		"<@" + gone + "> (an officer of District Council): Slack does not allow inviting this account",
		"Housing provider: 1 officer not found in Slack",
	} {
		if !strings.Contains(text(notice), want) {
			t.Errorf("the notice lacks %q:\n%s", want, text(notice))
		}
	}
	for _, pd := range []string{"pcso@police.example", "retired@council.example", "leaver@housing.example"} {
		if strings.Contains(text(notice), pd) {
			t.Errorf("the notice shows the address %s", pd)
		}
	}
	h.waitStore("the channel job done", func() bool {
		jobs, _ := h.store.Jobs(h.ctx, c.Ref)
		for _, j := range jobs {
			if j.Kind == casefile.JobSlackCreateChannel {
				return j.State == "done"
			}
		}
		return false
	})
	h.waitFor("the topic", func() bool { return h.channel(c.Ref).Topic != "" })
}

// flakyStore fails or stalls the store commands a test names.
type flakyStore struct {
	bot.Store
	mu         sync.Mutex
	replyFails int           // RecordReply fails this many more times
	replyStall chan struct{} // when set, RecordReply waits for it to close, then fails
	keepFails  int           // KeepEvent fails this many more times
	// dead: the bot behind this store claims no more recorded events, as
	// a bot that died would not; without it the hanging bot could claim
	// the event again when its lease ends, racing the next bot.
	dead bool
}

func (f *flakyStore) PendingEvents(ctx context.Context, limit int, lease time.Duration) ([]casefile.SlackEvent, error) {
	f.mu.Lock()
	dead := f.dead
	f.mu.Unlock()
	if dead {
		return nil, nil
	}
	return f.Store.PendingEvents(ctx, limit, lease)
}

func (f *flakyStore) RecordReply(ctx context.Context, a casefile.Actor, in casefile.ReplyInput) (casefile.Changed, error) {
	f.mu.Lock()
	stall, fail := f.replyStall, f.replyFails > 0
	if fail {
		f.replyFails--
	}
	f.mu.Unlock()
	if stall != nil {
		<-stall
		return false, fmt.Errorf("database is locked (stalled on purpose)")
	}
	if fail {
		return false, fmt.Errorf("database is locked (on purpose)")
	}
	return f.Store.RecordReply(ctx, a, in)
}

func (f *flakyStore) KeepEvent(ctx context.Context, id string, payload []byte, lease time.Duration) (bool, error) {
	f.mu.Lock()
	fail := f.keepFails > 0
	if fail {
		f.keepFails--
	}
	f.mu.Unlock()
	if fail {
		return false, fmt.Errorf("disk I/O error (on purpose)")
	}
	return f.Store.KeepEvent(ctx, id, payload, lease)
}

// threadReplies counts the replies recorded on a case's request.
func (h *harness) threadReplies(ref, agency string) int {
	reqs, _ := h.store.Requests(h.ctx, ref)
	for _, r := range reqs {
		if r.Agency == agency {
			return len(r.Replies)
		}
	}
	return 0
}

// TestEventsSurviveHiccups: an event acknowledged to Slack is not lost when
// handling it fails (the database hiccups) or the bot stops before handling
// it: it is handled later, by this bot or by the next one on the same
// database (issue 14, point 7).
func TestEventsSurviveHiccups(t *testing.T) {
	for _, mode := range []string{"socket", "http"} {
		t.Run("StoreFailure/"+mode, func(t *testing.T) {
			flaky := &flakyStore{}
			h := newHarness(t, harnessOpts{mode: mode, wrap: func(s *sqlite.Store) bot.Store { flaky.Store = s; return flaky }})
			c := h.newCase()
			if _, err := h.store.Decide(h.ctx, who(h.coord), c.Ref, casefile.Met, ""); err != nil {
				t.Fatal(err)
			}
			ch := h.channel(c.Ref)
			council := h.waitMessage(ch.ID, `"request-`+c.Ref+`-council"`)
			flaky.mu.Lock()
			flaky.replyFails, flaky.keepFails = 1, 1
			flaky.mu.Unlock()
			if _, err := h.emu.ReplyInThread(h.council, ch.ID, council.TS, "We served a CPW."); err != nil {
				t.Fatal(err)
			}
			h.waitStore("the reply recorded after the hiccups", func() bool { return h.threadReplies(c.Ref, "council") == 1 })
		})
	}

	t.Run("Restart", func(t *testing.T) {
		flaky := &flakyStore{}
		h := newHarness(t, harnessOpts{mode: "socket", emuClock: true, wrap: func(s *sqlite.Store) bot.Store { flaky.Store = s; return flaky }})
		c := h.newCase()
		if _, err := h.store.Decide(h.ctx, who(h.coord), c.Ref, casefile.Met, ""); err != nil {
			t.Fatal(err)
		}
		ch := h.channel(c.Ref)
		council := h.waitMessage(ch.ID, `"request-`+c.Ref+`-council"`)
		stall := make(chan struct{})
		flaky.mu.Lock()
		flaky.replyStall, flaky.dead = stall, true
		flaky.mu.Unlock()
		defer close(stall)
		before := len(h.emu.Deliveries())
		if _, err := h.emu.ReplyInThread(h.council, ch.ID, council.TS, "We served a CPW."); err != nil {
			t.Fatal(err)
		}
		// The event was acknowledged; its handler hangs, as if the bot
		// had died. The next bot, on the same database, handles it once
		// the dead one's lease is over.
		h.waitFor("the event acknowledged", func() bool {
			ds := h.emu.Deliveries()
			for _, d := range ds {
				if d.Type == "events_api" && !d.Acked {
					return false
				}
			}
			return len(ds) > before
		})
		if n := h.threadReplies(c.Ref, "council"); n != 0 {
			t.Fatalf("%d replies recorded by a bot that hangs", n)
		}
		ctx, cancel := context.WithCancel(h.ctx)
		defer cancel()
		next := bot.New(slack.New(h.emu.BotToken(), slack.OptionAPIURL(h.emu.APIURL())), h.store, h.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		next.InboxPoll = 20 * time.Millisecond
		done := make(chan struct{})
		go func() { next.RunBackground(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		h.waitStore("the reply recorded by the next bot", func() bool { return h.threadReplies(c.Ref, "council") == 1 })
	})
}

// TestStaleLetterDrafts: a button or a form on an older draft is checked
// against the case's latest letter: an approver who is not the Chair cannot
// edit the Chair's further-review letter through an old draft's Edit, and
// a form opened on an older version is refused, saying a newer one exists
// (issue 14, point 9).
func TestStaleLetterDrafts(t *testing.T) {
	var approver string
	h := newHarness(t, harnessOpts{mode: "socket", emu: slackemu.Options{TimeScale: 5}, configure: func(h *harness, cfg *casefile.Config) {
		approver = h.emu.AddUser("deputy.approver", "deputy@council.example").ID
		cfg.Roles.Approvers = append(cfg.Roles.Approvers, approver)
	}})
	c := h.toDraft()
	ch := h.channel(c.Ref)
	v1 := h.waitMessage(ch.ID, "case review outcome, version 1")
	letters, _ := h.store.Letters(h.ctx, c.Ref)
	l1 := letters[1] // after the met letter
	must := func(_ bool, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(h.store.ApproveLetter(h.ctx, who(h.chair), c.Ref, l1.ID, l1.SHA256))
	must(h.store.RequestFurtherReview(h.ctx, who(h.coord), c.Ref))
	must(h.store.DecideFurtherReview(h.ctx, who(h.chair), c.Ref, true, ""))
	must(h.store.RecordFurtherReviewOutcome(h.ctx, who(h.chair), c.Ref, "The plan was reasonable.", false))
	fv1 := h.waitMessage(ch.ID, "further review outcome, version 1")
	letters, _ = h.store.Letters(h.ctx, c.Ref)
	n := len(letters)

	// The approver clicks Edit on the old outcome draft: refused, as the
	// letter it would change is the Chair's.
	h.click(approver, ch.ID, v1.TS, bot.ActionEditDraft, fmt.Sprintf("%s|%d", c.Ref, l1.ID))
	h.ephemeral(approver, "only the coordinator or the Chair can edit this letter")
	h.click(approver, ch.ID, v1.TS, bot.ActionRequestChanges, fmt.Sprintf("%s|%d", c.Ref, l1.ID))
	h.ephemeral(approver, "only the Chair can ask for changes to this letter")
	if views := h.emu.OpenViews(approver); len(views) != 0 {
		t.Fatalf("a form opened for the approver: %+v", views)
	}

	// The coordinator opens Edit on the further-review letter; meanwhile
	// the Chair saves a new version: the old form is refused.
	fl := letters[n-1]
	h.click(h.coord, ch.ID, fv1.TS, bot.ActionEditDraft, fmt.Sprintf("%s|%d", c.Ref, fl.ID))
	form := h.modal(h.coord, bot.ViewEditDraft)
	if _, err := h.store.EditLetter(h.ctx, who(h.chair), c.Ref, fl.ID, fl.Text+"\nP.S. The Chair.\n"); err != nil {
		t.Fatal(err)
	}
	res, err := h.emu.SubmitView(h.coord, form.ID, map[string]string{bot.BlockLetterText + "_1": "An edit based on version 1 of the letter, which is out of date."})
	if err != nil {
		t.Fatal(err)
	}
	if msg := res.Errors[bot.BlockLetterText+"_1"]; !strings.Contains(msg, "A newer version of this letter exists (version 2)") {
		t.Errorf("the stale form's answer: %+v", res)
	}
	letters, _ = h.store.Letters(h.ctx, c.Ref)
	if len(letters) != n+1 {
		t.Errorf("%d letters, want %d: the stale form saved one", len(letters), n+1)
	}
}

// TestEditLongLetterExactly: a 6,000-character letter opens in parts; saved
// unchanged it makes no new version (the same bytes); one word changed, the
// new version differs from the old in that word alone (issue 14, point 4).
func TestEditLongLetterExactly(t *testing.T) {
	h := newHarness(t, harnessOpts{mode: "socket", emu: slackemu.Options{TimeScale: 5}})
	c := h.toDraft()
	ch := h.channel(c.Ref)
	letters, _ := h.store.Letters(h.ctx, c.Ref)
	long := letters[1].Text + "\n" + strings.ReplaceAll(paragraphs(14, "Finding"), "Finding paragraph 7:", "Finding paragraph 7:\n  indented line,\ttab  and double  spaces") + "\n\nŴyth café — Straße 🙂\n"
	l2, err := h.store.EditLetter(h.ctx, who(h.coord), c.Ref, letters[1].ID, long)
	if err != nil {
		t.Fatal(err)
	}
	if n := len([]rune(l2.Text)); n < 6000 {
		t.Fatalf("the letter has %d characters", n)
	}
	draft := h.waitMessage(ch.ID, "case review outcome, version 2")
	h.click(h.coord, ch.ID, draft.TS, bot.ActionEditDraft, fmt.Sprintf("%s|%d", c.Ref, l2.ID))
	form := h.modal(h.coord, bot.ViewEditDraft)
	if f := failedCalls(h.emu, "views.open"); len(f) > 0 {
		t.Fatalf("views.open refused: %v", f)
	}
	parts := editParts(t, form)
	if len(parts) < 3 {
		t.Fatalf("%d parts for %d characters", len(parts), len([]rune(l2.Text)))
	}
	res, err := h.emu.SubmitView(h.coord, form.ID, parts)
	if err != nil || !strings.Contains(res.Errors[bot.BlockLetterText+"_1"], "the text is unchanged") {
		t.Fatalf("saving it unchanged: %+v %v", res, err)
	}
	for block, v := range parts {
		if strings.Contains(v, "Finding paragraph 9: the riders") {
			parts[block] = strings.Replace(v, "Finding paragraph 9: the riders", "Finding paragraph 9: the motorbikes", 1)
		}
	}
	if res, err := h.emu.SubmitView(h.coord, form.ID, parts); err != nil || !res.Closed {
		t.Fatalf("saving one word changed: %+v %v", res, err)
	}
	letters, _ = h.store.Letters(h.ctx, c.Ref)
	l3 := letters[len(letters)-1]
	if want := strings.Replace(l2.Text, "Finding paragraph 9: the riders", "Finding paragraph 9: the motorbikes", 1); l3.Version != 3 || l3.Text != want {
		t.Errorf("version %d differs from version 2 by more than the word changed", l3.Version)
	}
}

// editParts reads the edit form's inputs as Slack shows them: their
// initial values, by block id.
func editParts(t *testing.T, v slackemu.View) map[string]string {
	t.Helper()
	var blocks []struct {
		BlockID string `json:"block_id"`
		Element struct {
			InitialValue string `json:"initial_value"`
			MaxLength    int    `json:"max_length"`
		} `json:"element"`
	}
	if err := json.Unmarshal(v.Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, b := range blocks {
		if strings.HasPrefix(b.BlockID, bot.BlockLetterText) {
			if n := len([]rune(b.Element.InitialValue)); n > b.Element.MaxLength || b.Element.MaxLength > 3000 {
				t.Errorf("%s holds %d characters in an input of %d", b.BlockID, n, b.Element.MaxLength)
			}
			out[b.BlockID] = b.Element.InitialValue
		}
	}
	return out
}

// TestSubmissionsAnswerWhenSlackIsSlow: a form's submission is answered
// within Slack's 3 seconds when Slack's look-ups are slow (no Slack call
// before the answer), and a submission stuck on the database does not hold
// up another's answer in Socket Mode (issue 14, point 11).
func TestSubmissionsAnswerWhenSlackIsSlow(t *testing.T) {
	flaky := &flakyStore{}
	h := newHarness(t, harnessOpts{mode: "socket", wrap: func(s *sqlite.Store) bot.Store { flaky.Store = s; return flaky },
		configure: func(h *harness, cfg *casefile.Config) {
			// An officer who left: Slack does not know the address, so a
			// bot that asks before answering asks every time.
			cfg.Agencies[1].SlackUsers = append(cfg.Agencies[1].SlackUsers, "left@council.example")
		}})
	c := h.newCase()
	ch := h.channel(c.Ref)
	card := h.card(c.Ref)
	h.click(h.coord, ch.ID, card.TS, bot.ActionNotMet, c.Ref)
	form := h.modal(h.coord, bot.ViewNotMet)
	h.emu.InjectFault(slackemu.Fault{Method: "users.lookupByEmail", Delay: 2 * time.Second, Count: 100})
	res, err := h.emu.SubmitView(h.coord, form.ID, map[string]string{bot.BlockReason: "One complaint in six months."})
	if err != nil || !res.Acked || !res.Closed {
		t.Fatalf("a submission while Slack is slow: %+v %v", res, err)
	}
	if s := h.status(c.Ref); s != casefile.StatusThresholdNotMet && s != casefile.StatusAwaitingApproval {
		t.Fatalf("status %s", s)
	}
	h.emu.ClearFaults()

	// Two officers answer at once; the database takes its time with the
	// first: the second is answered all the same.
	c2 := h.newCase()
	if _, err := h.store.Decide(h.ctx, who(h.coord), c2.Ref, casefile.Met, ""); err != nil {
		t.Fatal(err)
	}
	ch2 := h.channel(c2.Ref)
	police := h.waitMessage(ch2.ID, `"request-`+c2.Ref+`-police"`)
	council := h.waitMessage(ch2.ID, `"request-`+c2.Ref+`-council"`)
	h.click(h.police, ch2.ID, police.TS, bot.ActionProvideDetails, c2.Ref+"|police")
	pform := h.modal(h.police, bot.ViewProvideDetails)
	h.click(h.council, ch2.ID, council.TS, bot.ActionProvideDetails, c2.Ref+"|council")
	cform := h.modal(h.council, bot.ViewProvideDetails)
	stall := make(chan struct{})
	flaky.mu.Lock()
	flaky.replyStall = stall
	flaky.mu.Unlock()
	if res, err := h.emu.SubmitView(h.police, pform.ID, map[string]string{bot.BlockTaken: "Patrols"}); err != nil || res.Acked {
		t.Fatalf("the stalled submission: %+v %v", res, err)
	}
	flaky.mu.Lock()
	flaky.replyStall = nil
	flaky.mu.Unlock()
	res, err = h.emu.SubmitView(h.council, cform.ID, map[string]string{bot.BlockTaken: "A CPW"})
	close(stall)
	if err != nil || !res.Acked || !res.Closed {
		t.Fatalf("a submission behind a stalled one: %+v %v", res, err)
	}
}

// TestTopicOnlyWhenChanged: the channel topic is set again only when its
// text changes; Slack posts a system message each time it is set (issue
// 14, point 12).
func TestTopicOnlyWhenChanged(t *testing.T) {
	h := newHarness(t, harnessOpts{mode: "socket"})
	c := h.newCase()
	ch := h.channel(c.Ref)
	h.card(c.Ref)
	topics := func() []string {
		var out []string
		for _, m := range h.emu.Messages(ch.ID) {
			if m.Subtype == "channel_topic" {
				out = append(out, m.Topic)
			}
		}
		return out
	}
	h.waitFor("the topic", func() bool { return len(topics()) == 1 })
	h.waitStore("the topic recorded", func() bool { sc, _ := h.store.Channel(h.ctx, c.Ref); return sc.Topic != "" })
	payload, _ := json.Marshal(casefile.UpdateCardJob{Case: c.Ref})
	for range 3 {
		if _, err := h.bot.Handle(h.ctx, casefile.Job{Kind: casefile.JobSlackUpdateCard, Payload: payload, Attempts: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if got := topics(); len(got) != 1 {
		t.Errorf("the same topic set %d times: %q", len(got), got)
	}
	if _, err := h.store.Decide(h.ctx, who(h.coord), c.Ref, casefile.Met, ""); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the new topic", func() bool { return len(topics()) == 2 })
	if got := topics(); got[0] == got[1] || !strings.Contains(got[1], "Asking the agencies") {
		t.Errorf("topics %q", got)
	}
}
