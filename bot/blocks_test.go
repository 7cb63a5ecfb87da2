package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

var update = flag.Bool("update", false, "rewrite bot/testdata/*.golden.json from what the builders make now")

// testClock is a settable clock for a store.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// mustOpenStore opens a store on a real file, on a clock the test sets.
func mustOpenStore(tb testing.TB, cfg *casefile.Config, start time.Time) (*sqlite.Store, *testClock) {
	tb.Helper()
	s, err := sqlite.Open(filepath.Join(tb.TempDir(), "trigger.db"), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	clk := &testClock{t: start}
	s.Clock = clk.Now
	return s, clk
}

// golden compares v, as indented JSON, with testdata/NAME.golden.json, or
// rewrites the file with -update.
func golden(t *testing.T, name string, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "<@U…>" as Slack shows it, readable in review
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	// slack-go marshals some blocks itself, escaping <, > and &; the same
	// JSON with them unescaped reads as Slack shows it.
	got := []byte(strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(buf.String()))
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return got
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bot -run TestGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the builder makes now (go test ./bot -run TestGolden -update rewrites it; read the diff first):\n%s",
			path, lineDiff(string(want), string(got)))
	}
	return got
}

// lineDiff shows the first lines where two texts differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var out []string
	for i := 0; i < max(len(w), len(g)) && len(out) < 12; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			out = append(out, "line "+strconv.Itoa(i+1)+":\n  - "+wl+"\n  + "+gl)
		}
	}
	return strings.Join(out, "\n")
}

// goldenWorld is a case file on a fixed clock: every date on a card,
// request or modal is the same on every run.
type goldenWorld struct {
	t     *testing.T
	ctx   context.Context
	store *sqlite.Store
	clock *testClock
	cfg   *casefile.Config
}

const (
	goldenCoord   = "U0COORD01"
	goldenPolice  = "U0POLICE1"
	goldenCouncil = "U0COUNCL1"
)

func newGoldenWorld(t *testing.T) *goldenWorld {
	cfg := casefile.DefaultConfig()
	cfg.Roles.Coordinator = casefile.IDList{goldenCoord}
	cfg.Roles.Chair = casefile.IDList{"U0CHAIR01"}
	cfg.Agencies[0].SlackUsers = []string{goldenPolice}
	cfg.Agencies[1].SlackUsers = []string{goldenCouncil}
	cfg.Agencies[2].Email = "asb@housing.example"
	store, clk := mustOpenStore(t, &cfg, time.Date(2026, 10, 6, 9, 30, 0, 0, casefile.London))
	return &goldenWorld{t: t, ctx: context.Background(), store: store, clock: clk, cfg: &cfg}
}

func (w *goldenWorld) at(s string) {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, casefile.London)
	if err != nil {
		w.t.Fatal(err)
	}
	w.clock.Set(t)
}

func (w *goldenWorld) create(app casefile.Application) string {
	w.t.Helper()
	c, err := w.store.CreateCase(w.ctx, casefile.NewCase{Application: app, Source: "email", Actor: who("intake")})
	if err != nil {
		w.t.Fatal(err)
	}
	return c.Ref
}

func (w *goldenWorld) load(ref string) *casefile.Case {
	w.t.Helper()
	c, err := w.store.Case(w.ctx, ref)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func (w *goldenWorld) requests(ref string) []casefile.InfoRequest {
	w.t.Helper()
	reqs, err := w.store.Requests(w.ctx, ref)
	if err != nil {
		w.t.Fatal(err)
	}
	return reqs
}

func (w *goldenWorld) must(_ bool, err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

func onBehalfApplication() casefile.Application {
	no := false
	return casefile.Application{
		Route:      casefile.RouteOnBehalf,
		Applicant:  casefile.Person{Name: "Cllr Priya Shah", Email: "priya.shah@council.example"},
		OnBehalfOf: &casefile.Person{Name: "Arthur Bell", Phone: "01530 000111", Address: "4 Orchard Close, Coalville", Postcode: "LE67 3FJ"},
		Location:   "Orchard Close garages",
		Incidents: []casefile.Incident{
			{OccurredOn: casefile.MustDate("2026-09-02"), ReportedOn: casefile.MustDate("2026-09-02"), Agency: "police", Reference: "0112 of 02/09/2026"},
		},
		Agencies:       []string{"police", "council"},
		Vulnerable:     &no,
		ConsentToShare: nil,
	}
}

// TestGolden pins the Block Kit JSON of every message and modal the bot
// makes, on a fixed clock, and checks by eye what matters most: the
// buttons' words and no personal data on a card that may not show it.
func TestGolden(t *testing.T) {
	w := newGoldenWorld(t)
	cfg := w.cfg
	police, _ := cfg.Agency("police")
	council, _ := cfg.Agency("council")
	housing, _ := cfg.Agency("housing")

	w.at("2026-10-06 09:30")
	ref := w.create(applicationAt(casefile.MustDate("2026-10-06"))) // CT-2026-0001, threshold met
	w.at("2026-10-06 11:00")
	obRef := w.create(onBehalfApplication()) // CT-2026-0002, below the threshold

	personal := []string{"Lucy", "Fielding", "lucy.fielding", "07700", "27 Mill Street", "DE12 7HS", "Alleyway"}

	t.Run("CardReceivedPrivate", func(t *testing.T) {
		got := golden(t, "card_received_private", bot.CaseCard(w.load(ref), cfg, nil, false))
		for _, want := range []string{`"Accept for review"`, `"Threshold not met"`, `"View details"`, `"action_id": "accept_for_review"`, "DE12", "Received: threshold decision needed"} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("card lacks %s", want)
			}
		}
		for _, pd := range personal {
			if bytes.Contains(got, []byte(pd)) {
				t.Errorf("personal data %q on a card with share_personal_data false", pd)
			}
		}
	})
	t.Run("CardReceivedShared", func(t *testing.T) {
		got := golden(t, "card_received_shared", bot.CaseCard(w.load(ref), cfg, nil, true))
		for _, want := range []string{"*Applicant:* Lucy Fielding", "*Location:* Alleyway between Mill Street and the High Street"} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("shared card lacks %q", want)
			}
		}
		// Contact details never go on the card, shared or not.
		for _, pd := range []string{"lucy.fielding@example.net", "07700", "27 Mill Street"} {
			if bytes.Contains(got, []byte(pd)) {
				t.Errorf("contact detail %q on the card", pd)
			}
		}
	})
	t.Run("CardOnBehalfShared", func(t *testing.T) {
		got := golden(t, "card_on_behalf_shared", bot.CaseCard(w.load(obRef), cfg, nil, true))
		for _, want := range []string{"*On behalf of:* Arthur Bell", "LE67", "applied for on behalf of the victim"} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("card lacks %q", want)
			}
		}
	})

	// The coordinator decides: the first case accepted, the second not met.
	w.at("2026-10-08 14:15")
	w.must(w.store.Decide(w.ctx, who(goldenCoord), ref, casefile.Met, ""))
	w.must(w.store.Decide(w.ctx, who(goldenCoord), obRef, casefile.NotMet, "One complaint in six months; the partnership's response was proportionate."))

	t.Run("CardNotMet", func(t *testing.T) {
		// Not met: the letter is drafted at once, so the case waits for
		// its approval.
		got := golden(t, "card_not_met", bot.CaseCard(w.load(obRef), cfg, nil, false))
		for _, want := range []string{"*Decision:* threshold not met by <@" + goldenCoord + ">, 8 Oct 2026: One complaint in six months", `"View details"`} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("card lacks %q", want)
			}
		}
		if bytes.Contains(got, []byte("Accept for review")) {
			t.Error("a decided case's card still offers Accept for review")
		}
		for _, pd := range []string{"Arthur", "Bell", "Priya", "Orchard", "01530"} {
			if bytes.Contains(got, []byte(pd)) {
				t.Errorf("personal data %q on a card with share_personal_data false", pd)
			}
		}
	})

	reqs := w.requests(ref)
	t.Run("CardGathering", func(t *testing.T) {
		got := golden(t, "card_gathering", bot.CaseCard(w.load(ref), cfg, reqs, false))
		for _, want := range []string{`"Schedule meeting"`, `"View details"`, "accepted for review by <@" + goldenCoord + ">, 8 Oct 2026", "… Police: reply due"} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("card lacks %q", want)
			}
		}
		if bytes.Contains(got, []byte("Accept for review")) {
			t.Error("an accepted case's card still offers Accept for review")
		}
	})

	request := func(name string, a casefile.Agency, officers []string) []byte {
		t.Helper()
		for _, r := range w.requests(ref) {
			if r.Agency == a.ID {
				text, blocks := bot.RequestMessage(ref, a, officers, r, w.store.Cal, cfg.Timescales.AgencyReplies)
				return golden(t, name, map[string]any{"text": text, "blocks": blocks})
			}
		}
		t.Fatalf("no request to %s", a.ID)
		return nil
	}
	t.Run("RequestBeforeReply", func(t *testing.T) {
		got := request("request_police_before", police, []string{goldenPolice})
		for _, want := range []string{`"Provide details"`, "<@" + goldenPolice + ">", "*Due by Thursday 22 October 2026* (10 working days)"} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("request lacks %q", want)
			}
		}
		if bytes.Contains(got, []byte("Received from")) {
			t.Error("a request nobody answered shows a reply")
		}
	})

	// The police answer by the form and again in the thread; the housing
	// provider, with nobody in Slack, by email: nothing held.
	w.at("2026-10-12 10:05")
	w.must(w.store.RecordReply(w.ctx, who(goldenPolice), casefile.ReplyInput{Ref: ref, Agency: "police", Author: goldenPolice, Source: "form",
		Complaints: "0345 of 03/08/2026", Taken: "Patrols increased", DedupeKey: "view:V1:h1"}))
	w.at("2026-10-13 16:40")
	w.must(w.store.RecordReply(w.ctx, who(goldenPolice), casefile.ReplyInput{Ref: ref, Agency: "police", Author: goldenPolice, Source: "thread",
		Text: "Also a dispersal order on 2 October.", DedupeKey: "msg:C1:1760370000.000100"}))
	w.must(w.store.RecordReply(w.ctx, who("tenancy@housing.example"), casefile.ReplyInput{Ref: ref, Agency: "housing", Author: "tenancy@housing.example", Source: "email",
		NoInfo: true, DedupeKey: "mail:<x1@housing.example>"}))

	t.Run("RequestAfterReplies", func(t *testing.T) {
		got := request("request_police_after", police, []string{goldenPolice})
		for _, want := range []string{
			"✓ Received from Police by <@" + goldenPolice + ">, 12 Oct",
			"Received from Police by <@" + goldenPolice + ">, 13 Oct (in the thread)",
			`"Provide details"`,
		} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("request lacks %q", want)
			}
		}
	})
	t.Run("RequestByEmail", func(t *testing.T) {
		if err := w.store.AskByEmail(context.Background(), ref, "housing"); err != nil {
			t.Fatal(err)
		}
		got := request("request_housing_by_email", housing, nil)
		for _, want := range []string{"_no officer of this agency is in Slack: the request went by email_", "Received from Housing provider by email, 13 Oct: no information held"} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("request lacks %q", want)
			}
		}
		if bytes.Contains(got, []byte("tenancy@housing.example")) {
			t.Error("the officer's email address is shown in the channel")
		}
	})

	t.Run("NoticePlain", func(t *testing.T) {
		got := golden(t, "notice_plain", bot.NoticeMessage(ref, "The case review meeting is scheduled for Wednesday 28 October 2026 at 14:00, Council offices, Room 2.", nil, ""))
		if bytes.Contains(got, []byte("actions")) || bytes.Contains(got, []byte("<@")) {
			t.Error("a plain notice has a button or a mention")
		}
	})
	t.Run("NoticeScheduleMeeting", func(t *testing.T) {
		got := golden(t, "notice_schedule_meeting", bot.NoticeMessage(ref, "Every agency has replied. The review meeting can be scheduled.", []string{goldenCoord}, "schedule_meeting"))
		for _, want := range []string{"<@" + goldenCoord + "> Every agency has replied", `"Schedule meeting"`, `"action_id": "schedule_meeting"`, `"value": "` + ref + `"`} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("notice lacks %s", want)
			}
		}
	})

	t.Run("NoticeUnverified", func(t *testing.T) {
		got := golden(t, "notice_unverified", bot.UnverifiedNotice(ref, 42, "An email arrived on this case that is *not verified* as coming from a party to it.", []string{goldenCoord}))
		for _, want := range []string{"<@" + goldenCoord + "> An email arrived", `"action_id": "treat_as_further_review"`, `"action_id": "treat_as_correspondence"`, `"value": "` + ref + `|42"`} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("notice lacks %s", want)
			}
		}
	})

	// The council answers; the meeting is scheduled.
	w.must(w.store.RecordReply(w.ctx, who(goldenCouncil), casefile.ReplyInput{Ref: ref, Agency: "council", Author: goldenCouncil, Source: "thread",
		Text: "CPW served 2 October.", DedupeKey: "msg:C1:1760370000.000200"}))
	w.at("2026-10-14 09:00")
	w.must(w.store.ScheduleMeeting(w.ctx, who(goldenCoord), ref, casefile.MeetingPlan{When: time.Date(2026, 10, 28, 14, 0, 0, 0, casefile.London), Place: "Council offices, Room 2", By: goldenCoord}))

	t.Run("CardMeeting", func(t *testing.T) {
		got := golden(t, "card_meeting", bot.CaseCard(w.load(ref), cfg, w.requests(ref), false))
		for _, want := range []string{`"Record outcome"`, `"Reschedule meeting"`, `"View details"`, "Review meeting scheduled", "✓ Police: replied", "✓ Housing provider: replied"} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("card lacks %q", want)
			}
		}
		for _, pd := range personal {
			if bytes.Contains(got, []byte(pd)) {
				t.Errorf("personal data %q on the card", pd)
			}
		}
	})
	t.Run("Topic", func(t *testing.T) {
		topics := map[string]string{"meeting": bot.Topic(w.load(ref)), "threshold_not_met": bot.Topic(w.load(obRef))}
		got := golden(t, "topic", topics)
		for _, pd := range append(personal, "Arthur", "Bell", "Orchard") {
			if bytes.Contains(got, []byte(pd)) {
				t.Errorf("personal data %q in a topic", pd)
			}
		}
		if !strings.HasPrefix(topics["meeting"], ref+" · Review meeting scheduled · next: ") {
			t.Errorf("topic %q", topics["meeting"])
		}
	})

	t.Run("NotMetModal", func(t *testing.T) {
		got := golden(t, "modal_threshold_not_met", bot.NotMetModal(ref))
		for _, want := range []string{`"callback_id": "threshold_not_met"`, `"private_metadata": "` + ref + `"`, `"Record decision"`, `"block_id": "reason"`} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("modal lacks %s", want)
			}
		}
	})
	t.Run("DetailsModal", func(t *testing.T) {
		got := golden(t, "modal_details", bot.DetailsModal(w.load(obRef), cfg))
		for _, want := range []string{"*Name:* Cllr Priya Shah", "*On behalf of*", "*Postcode:* LE67 3FJ", "*Consent to share:* not said", "*Vulnerable:* no", `"Close"`} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("details modal lacks %q", want)
			}
		}
		if bytes.Contains(got, []byte(`"submit"`)) {
			t.Error("the details modal, which only shows, has a submit button")
		}
	})
	t.Run("ProvideDetailsModal", func(t *testing.T) {
		got := golden(t, "modal_provide_details", bot.ProvideDetailsModal(ref, council))
		for _, want := range []string{`"private_metadata": "` + ref + `|council"`, "*District Council*", `"No information held"`, `"block_id": "complaints"`} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("modal lacks %s", want)
			}
		}
	})
	t.Run("ScheduleMeetingModal", func(t *testing.T) {
		got := golden(t, "modal_schedule_meeting", bot.ScheduleMeetingModal(ref))
		for _, want := range []string{`"type": "datepicker"`, `"type": "timepicker"`, `"block_id": "place"`, `"Schedule"`} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("modal lacks %s", want)
			}
		}
	})
	t.Run("RecordOutcomeModal", func(t *testing.T) {
		got := golden(t, "modal_record_outcome", bot.RecordOutcomeModal(ref, cfg))
		for _, want := range []string{`"Record outcome"`, `"block_id": "rec3_due"`, `"Was the partnership's response adequate?"`, `"value": "housing"`} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("modal lacks %s", want)
			}
		}
	})
}

// TestGoldenLarge pins the shapes the builders take with inputs larger or
// stranger than the samples (issue 14): a hostile, long email; 14
// complaints; 18 agencies, 15 with 80-character names; a busy request
// thread; a long notice; a letter of over 6,000 characters.
func TestGoldenLarge(t *testing.T) {
	w := newGoldenWorld(t)
	cfg := w.cfg
	for _, a := range longAgencies() {
		a.Email = "asb@" + a.ID + ".example"
		cfg.Agencies = append(cfg.Agencies, a)
	}
	police, _ := cfg.Agency("police")

	w.at("2026-10-06 09:30")
	app := applicationAt(casefile.MustDate("2026-10-06"))
	app.Applicant.Name = "Lucy Fielding " + hostile
	app.Location = "The alleyway " + hostile
	app.Description = hostile + "\n\n" + paragraphs(16, "Account")
	for i := range 11 {
		d := casefile.MustDate("2026-07-01").AddDays(i * 4)
		app.Incidents = append(app.Incidents, casefile.Incident{OccurredOn: d, ReportedOn: d.AddDays(1), Agency: longAgencies()[i].ID, Reference: fmt.Sprintf("<@U0CHAIR> REF-%04d", i)})
	}
	ref := w.create(app)
	notMet := w.create(applicationAt(casefile.MustDate("2026-10-06")))
	w.at("2026-10-08 14:15")
	w.must(w.store.Decide(w.ctx, who(goldenCoord), ref, casefile.Met, ""))
	w.must(w.store.Decide(w.ctx, who(goldenCoord), notMet, casefile.NotMet, strings.TrimSpace(paragraphs(4, "Reason"))))

	t.Run("CardShared", func(t *testing.T) {
		got := string(golden(t, "card_large_shared", bot.CaseCard(w.load(ref), cfg, w.requests(ref), true)))
		noRaw(t, "the card", got)
		for _, want := range []string{"… and 4 more (`trigger case show " + ref + "` lists them all)", "• threshold met", "Agency 11: North West"} {
			if !strings.Contains(got, want) {
				t.Errorf("card lacks %q", want)
			}
		}
	})
	t.Run("CardLongReason", func(t *testing.T) {
		got := string(golden(t, "card_long_reason", bot.CaseCard(w.load(notMet), cfg, nil, false)))
		if !strings.Contains(got, "_The full reason is in this message's thread._") || strings.Contains(got, "Reason paragraph 4") {
			t.Error("a long reason is not cut on the card, pointing to its thread")
		}
	})
	t.Run("DetailsModal", func(t *testing.T) {
		got := golden(t, "modal_details_large", bot.DetailsModal(w.load(ref), cfg))
		noRaw(t, "the details", string(got))
		if !bytes.Contains(got, []byte("Account paragraph 16: ")) {
			t.Error("the details lack the end of the account")
		}
	})
	t.Run("RecordOutcomeModal", func(t *testing.T) {
		got := golden(t, "modal_record_outcome_many", bot.RecordOutcomeModal(ref, cfg))
		for _, want := range []string{`"type": "multi_static_select"`, `"value": "agency15"`, "Agency 15: North West Leicestershire Community Safety and Neighbourhood…"} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("modal lacks %s", want)
			}
		}
	})
	t.Run("RequestBusyThread", func(t *testing.T) {
		for i := range 40 {
			w.at(fmt.Sprintf("2026-10-%02d 10:%02d", 9+i/10, i%60))
			in := casefile.ReplyInput{Ref: ref, Agency: "police", Author: goldenPolice, Source: "thread", Text: fmt.Sprintf("Update %d.", i+1), DedupeKey: fmt.Sprintf("msg:C1:%d", i)}
			if i == 39 {
				in.Text, in.Files = "", []casefile.SharedFile{{Name: "log.pdf", Permalink: "https://emulator.slack.com/files/U0POLICE1/F1/log.pdf"}}
			}
			w.must(w.store.RecordReply(w.ctx, who(goldenPolice), in))
		}
		for _, r := range w.requests(ref) {
			if r.Agency == "police" {
				text, blocks := bot.RequestMessage(ref, police, []string{goldenPolice}, r, w.store.Cal, cfg.Timescales.AgencyReplies)
				got := golden(t, "request_police_busy", map[string]any{"text": text, "blocks": blocks})
				for _, want := range []string{"40 replies received; the latest 5:", "12 Oct (in the thread), with 1 file"} {
					if !bytes.Contains(got, []byte(want)) {
						t.Errorf("request lacks %q", want)
					}
				}
			}
		}
	})
	t.Run("NoticeLong", func(t *testing.T) {
		text := "<@U0CHAIR01> asked for changes to the draft: " + strings.TrimSpace(paragraphs(9, "Comment")) + "\nUse *Edit* on the draft to make a new version."
		got := golden(t, "notice_long", map[string]any{
			"message": bot.NoticeMessage(ref, text, []string{goldenCoord}, ""),
			"thread":  bot.NoticeThread(text, []string{goldenCoord}),
		})
		if !bytes.Contains(got, []byte("continued in the thread")) || !bytes.Contains(got, []byte("Use *Edit* on the draft")) {
			t.Error("the long notice does not go on in its thread")
		}
	})

	long := &casefile.Letter{ID: 7, CaseRef: ref, Kind: casefile.LetterOutcome, Version: 2, CreatedBy: goldenCoord,
		Text:   "Dear Lucy Fielding,\n\n" + strings.TrimSpace(paragraphs(15, "Finding")) + "\n\nYours sincerely,\n\nCommunity Safety Team Leader\n",
		SHA256: strings.Repeat("ab", 32), FurtherReviewBy: casefile.MustDate("2026-12-01")}
	t.Run("EditLetterModal", func(t *testing.T) {
		got := golden(t, "modal_edit_letter_long", bot.EditLetterModal(long))
		for _, want := range []string{`"Letter, part 1 of 3"`, `"Letter, part 3 of 3"`, `"private_metadata": "` + ref + `|7|3"`, `"max_length": 3000`} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("modal lacks %s", want)
			}
		}
	})
	t.Run("DraftMessageShared", func(t *testing.T) {
		text, blocks := bot.DraftMessage(long, true)
		got := golden(t, "draft_long_shared", map[string]any{"text": text, "blocks": blocks})
		if !bytes.Contains(got, []byte("Finding paragraph 15")) {
			t.Error("the shared draft lacks the end of the letter")
		}
	})
	t.Run("LetterModal", func(t *testing.T) {
		golden(t, "modal_letter_long", bot.LetterModal(long))
	})
}
