package bot_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
)

// openHome has a person open the app's Home tab and waits until it shows
// want.
func (h *harness) openHome(user, want string) slackemu.View {
	h.t.Helper()
	if err := h.emu.OpenHome(user); err != nil {
		h.t.Fatal(err)
	}
	return h.waitHome(user, want)
}

// waitHome waits until a person's Home tab shows want.
func (h *harness) waitHome(user, want string) slackemu.View {
	h.t.Helper()
	var v slackemu.View
	h.waitFor("the Home tab to show "+want, func() bool {
		var ok bool
		v, ok = h.emu.HomeView(user)
		return ok && strings.Contains(viewText(v), want)
	})
	return v
}

// viewText is a view's blocks as a person reads them.
func viewText(v slackemu.View) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&", `\n`, "\n").Replace(string(v.Blocks))
}

// publishes counts the views.publish calls for a person.
func (h *harness) publishes(user string) int {
	n := 0
	for _, c := range h.emu.Calls("views.publish") {
		if c.Params.Get("user_id") == user && c.OK {
			n++
		}
	}
	return n
}

// clickHome has a person click in their Home tab.
func (h *harness) clickHome(user, action, value string) {
	h.t.Helper()
	v, ok := h.emu.HomeView(user)
	if !ok {
		h.t.Fatalf("%s has no Home tab", user)
	}
	res, err := h.emu.ClickInView(user, v.ID, action, value)
	if err != nil {
		h.t.Fatal(err)
	}
	if !res.Acked {
		h.t.Fatalf("click %s in the Home tab not acknowledged: %s", action, res.Problem)
	}
}

// TestHomeTab: each person's Home tab, as they open it, as they choose
// filters and pages, and as it is refreshed when a case they are concerned
// by changes — and only then.
func TestHomeTab(t *testing.T) {
	for _, mode := range []string{"socket", "http"} {
		t.Run(mode, func(t *testing.T) { testHomeTab(t, mode) })
	}
}

func testHomeTab(t *testing.T, mode string) {
	h := newHarness(t, harnessOpts{mode: mode})
	c := h.newCase()
	ch := h.channel(c.Ref)
	card := h.card(c.Ref)

	coord := h.openHome(h.coord, c.Ref)
	for _, want := range []string{"*Open cases*\n1", "<#" + ch.ID + ">", "Received: threshold decision needed", "Next: acknowledgement by", "— the coordinator", "Letters awaiting your approval"} {
		if !strings.Contains(viewText(coord), want) {
			t.Errorf("the coordinator's Home tab lacks %q", want)
		}
	}
	stranger := h.openHome(h.stranger, "You have no role in it")
	if strings.Contains(viewText(stranger), "CT-") {
		t.Error("someone without a role sees a case")
	}
	h.openHome(h.police, "Requests waiting for Police")
	h.waitHome(h.police, "None at the moment")
	h.openHome(h.chair, c.Ref)
	for _, pd := range []string{"Lucy", "Fielding", "Mill Street", "07700", "DE12 7HS"} {
		if strings.Contains(viewText(coord), pd) {
			t.Errorf("personal data %q on the Home tab", pd)
		}
	}
	before := map[string]int{h.coord: h.publishes(h.coord), h.stranger: h.publishes(h.stranger), h.police: h.publishes(h.police), h.chair: h.publishes(h.chair)}

	// The coordinator accepts: the agencies are asked. The police officer's
	// tab shows the request, the coordinator's and the Chair's the new
	// status; nothing is published for the stranger.
	h.click(h.coord, ch.ID, card.TS, bot.ActionAccept, c.Ref)
	police := h.waitHome(h.police, "Provide details")
	if !strings.Contains(viewText(police), c.Ref) || !strings.Contains(viewText(police), "<#"+ch.ID+">") {
		t.Errorf("the police's request is not on their tab:\n%s", viewText(police))
	}
	h.waitHome(h.coord, "Asking the agencies for details")
	h.waitHome(h.chair, "Asking the agencies for details")
	h.waitStore("the refreshes to settle", func() bool { return h.bot.HomesPending() == 0 })
	if n := h.publishes(h.stranger); n != before[h.stranger] {
		t.Errorf("the stranger's tab was published %d more times", n-before[h.stranger])
	}

	// Provide details from the Home tab: the same form as on the request.
	h.clickHome(h.police, bot.ActionProvideDetails, c.Ref+"|police")
	form := h.modal(h.police, bot.ViewProvideDetails)
	if res, err := h.emu.SubmitView(h.police, form.ID, map[string]string{bot.BlockNoInfo: "yes"}); err != nil || !res.Closed {
		t.Fatalf("submission from the Home tab: %+v %v", res, err)
	}
	h.waitHome(h.police, "None at the moment")

	// A Home tab from before someone lost their role (here: published with
	// a request's button for the stranger): the click is refused, and as
	// there is no channel to say so in, a small form says it.
	stale := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, c.Ref, false, false), nil,
			slack.NewAccessory(slack.NewButtonBlockElement(bot.ActionProvideDetails, c.Ref+"|police", slack.NewTextBlockObject(slack.PlainTextType, "Provide details", false, false)))),
	}}}
	if _, err := h.bot.API.PublishView(h.stranger, stale, ""); err != nil {
		t.Fatal(err)
	}
	h.clickHome(h.stranger, bot.ActionProvideDetails, c.Ref+"|police")
	if v := h.modal(h.stranger, bot.ViewNotice); !strings.Contains(string(v.Blocks), "only an officer of Police or the coordinator") {
		t.Errorf("the refusal says %s", v.Blocks)
	}

	// Filters: nothing is overdue on the day it was received; the case
	// awaits the agencies, not the coordinator.
	h.clickHome(h.coord, bot.ActionHomeFilter, bot.FilterOverdue)
	v := h.waitHome(h.coord, "No open case matches this filter.")
	if v.PrivateMetadata != "overdue|1" {
		t.Errorf("private_metadata %q", v.PrivateMetadata)
	}
	h.clickHome(h.coord, bot.ActionHomeFilter, bot.FilterAll)
	h.waitHome(h.coord, "Showing 1–1 of 1")
}

// TestHomePages: 30 open cases in pages of 25; the page chosen stays when
// the tab is refreshed.
func TestHomePages(t *testing.T) {
	h := newHarness(t, harnessOpts{mode: "socket"})
	var refs []string
	for i := range 30 {
		app := applicationAt(h.today())
		app.Applicant.Email = fmt.Sprintf("resident%d@example.net", i)
		c, err := h.store.CreateCase(h.ctx, casefile.NewCase{Application: app, Actor: who("test")})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, c.Ref)
	}
	h.openHome(h.coord, "Showing 1–25 of 30")
	h.waitHome(h.coord, "Page 1 of 2")
	h.clickHome(h.coord, bot.ActionHomePage, "all|2")
	v := h.waitHome(h.coord, "Showing 26–30 of 30")
	if v.PrivateMetadata != "all|2" || !strings.Contains(viewText(v), "← Previous") || strings.Contains(viewText(v), "Next →") {
		t.Errorf("page 2: %q\n%s", v.PrivateMetadata, viewText(v))
	}
	// A change: the tab is refreshed on the page the coordinator chose.
	if _, err := h.store.Decide(h.ctx, who(h.coord), refs[0], casefile.Met, ""); err != nil {
		t.Fatal(err)
	}
	n := h.publishes(h.coord)
	h.waitFor("a refresh", func() bool { return h.publishes(h.coord) > n })
	h.waitStore("the refreshes to settle", func() bool { return h.bot.HomesPending() == 0 })
	if v, _ := h.emu.HomeView(h.coord); v.PrivateMetadata != "all|2" {
		t.Errorf("after a refresh the tab shows %q", v.PrivateMetadata)
	}
}

// slash runs /trigger as a person in a channel (a DM when channel is "")
// and returns what they were shown.
func (h *harness) slash(user, channel, text string) string {
	h.t.Helper()
	if channel == "" {
		var err error
		if channel, err = h.emu.OpenDM(user); err != nil {
			h.t.Fatal(err)
		}
	}
	before := len(h.emu.Ephemerals(user))
	res, err := h.emu.SlashCommand(user, channel, "/trigger", text)
	if err != nil {
		h.t.Fatal(err)
	}
	if !res.Acked {
		h.t.Fatalf("/trigger %s not acknowledged: %s", text, res.Problem)
	}
	if text == "new" {
		return ""
	}
	var got string
	h.waitFor("the answer to /trigger "+text, func() bool {
		eph := h.emu.Ephemerals(user)
		if len(eph) == before {
			return false
		}
		got = eph[len(eph)-1].Text + "\n" + strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&", `\n`, "\n").Replace(string(eph[len(eph)-1].Blocks))
		return true
	})
	return got
}

// TestTriggerCommand: /trigger's summary, search, help and refusals, in
// both modes.
func TestTriggerCommand(t *testing.T) {
	for _, mode := range []string{"socket", "http"} {
		t.Run(mode, func(t *testing.T) { testTriggerCommand(t, mode) })
	}
}

func testTriggerCommand(t *testing.T, mode string) {
	h := newHarness(t, harnessOpts{mode: mode})
	c := h.newCase()
	ch := h.channel(c.Ref)
	h.card(c.Ref)

	t.Run("Help", func(t *testing.T) {
		for _, text := range []string{"", "help"} {
			if got := h.slash(h.stranger, "", text); !strings.Contains(got, "/trigger new") || !strings.Contains(got, "/trigger find") {
				t.Errorf("help: %s", got)
			}
		}
		if got := h.slash(h.coord, "", "frobnicate"); !strings.Contains(got, "I did not understand that.") {
			t.Errorf("unknown: %s", got)
		}
	})
	t.Run("Summary", func(t *testing.T) {
		got := h.slash(h.coord, ch.ID, strings.ToLower(c.Ref))
		for _, want := range []string{"*" + c.Ref + "*", "<#" + ch.ID + ">", "Received: threshold decision needed", "Next: acknowledgement by", "area DE12", bot.ActionViewDetails} {
			if !strings.Contains(got, want) {
				t.Errorf("summary lacks %q:\n%s", want, got)
			}
		}
		for _, pd := range []string{"Lucy", "Fielding", "Mill Street", "07700", "DE12 7HS"} {
			if strings.Contains(got, pd) {
				t.Errorf("personal data %q in the summary", pd)
			}
		}
		// View details from the summary: the modal, recorded.
		eph := h.emu.Ephemerals(h.coord)
		res, err := h.emu.ClickEphemeral(h.coord, eph[len(eph)-1].TS, bot.ActionViewDetails, c.Ref)
		if err != nil || !res.Acked {
			t.Fatalf("View details: %+v %v", res, err)
		}
		if v := h.modal(h.coord, bot.ViewDetails); !strings.Contains(string(v.Blocks), "Lucy Fielding") {
			t.Error("the details lack the applicant")
		}
		h.waitStore("the view recorded", func() bool { return h.events(c.Ref, "details.viewed") == 1 })
	})
	t.Run("SummaryRefused", func(t *testing.T) {
		if got := h.slash(h.stranger, "", c.Ref); !strings.Contains(got, "Sorry, only the coordinator, the Chair, approvers and the officers") || strings.Contains(got, ch.ID) {
			t.Errorf("a stranger's summary: %s", got)
		}
		if got := h.slash(h.coord, "", "CT-2026-9999"); !strings.Contains(got, "no case CT-2026-9999") {
			t.Errorf("no such case: %s", got)
		}
	})
	t.Run("Find", func(t *testing.T) {
		got := h.slash(h.coord, "", "find fielding")
		if !strings.Contains(got, "1 case match.") || !strings.Contains(got, "*"+c.Ref+"*") || !strings.Contains(got, "<#"+ch.ID+">") {
			t.Errorf("find: %s", got)
		}
		if got := h.slash(h.coord, "", "find zz"); !strings.Contains(got, "at least 3 characters") {
			t.Errorf("find zz: %s", got)
		}
		evs, _ := h.store.ServiceEvents(h.ctx)
		if len(evs) != 1 || evs[0].Kind != "cases.searched" || evs[0].Actor != h.coord {
			t.Errorf("searches audited: %+v", evs)
		}
	})
	t.Run("FindRefused", func(t *testing.T) {
		for _, user := range []string{h.chair, h.police, h.stranger} {
			if got := h.slash(user, "", "find fielding"); !strings.Contains(got, "only the coordinator can search cases") || strings.Contains(got, c.Ref) {
				t.Errorf("%s searched: %s", user, got)
			}
		}
		evs, _ := h.store.ServiceEvents(h.ctx)
		if len(evs) != 1 {
			t.Errorf("%d searches audited after refusals", len(evs))
		}
	})
	t.Run("NewRefused", func(t *testing.T) {
		for _, user := range []string{h.chair, h.police, h.stranger} {
			got := ""
			dm, _ := h.emu.OpenDM(user)
			before := len(h.emu.Ephemerals(user))
			if _, err := h.emu.SlashCommand(user, dm, "/trigger", "new"); err != nil {
				t.Fatal(err)
			}
			h.waitFor("the refusal", func() bool {
				eph := h.emu.Ephemerals(user)
				if len(eph) > before {
					got = eph[len(eph)-1].Text
					return true
				}
				return false
			})
			if !strings.Contains(got, "only the coordinator can open a case") || len(h.emu.OpenViews(user)) != 0 {
				t.Errorf("%s: %q, views %v", user, got, h.emu.OpenViews(user))
			}
		}
	})
}

// newCaseBySlash is Lucy Fielding's phone call, typed in by the
// coordinator with /trigger new: first with mistakes, shown under the
// inputs they are about, then right.
func (h *harness) newCaseBySlash() *casefile.Case {
	h.t.Helper()
	h.slash(h.coord, "", "new")
	form := h.modal(h.coord, bot.ViewNewCase)
	day := h.today()
	app := applicationAt(day)
	values := map[string]string{
		bot.BlockNewVia: "phone", bot.BlockNewRoute: "individual", bot.BlockNewConsent: "yes",
		"nc_app_name": app.Applicant.Name, "nc_app_email": app.Applicant.Email, "nc_app_phone": app.Applicant.Phone,
		"nc_app_address": app.Applicant.Address, "nc_app_postcode": "DE12",
		bot.BlockNewLocation: app.Location, bot.BlockNewDescription: "Motorbikes in the alleyway most nights.",
		bot.BlockNewFormats: casefile.FormatLargePrint,
	}
	for i, in := range app.Incidents {
		n := fmt.Sprint(i + 1)
		values["nc_c"+n+"_occurred"] = in.OccurredOn.String()
		values["nc_c"+n+"_reported"] = in.ReportedOn.String()
		values["nc_c"+n+"_agency"] = in.Agency
		values["nc_c"+n+"_reference"] = in.Reference
	}
	res, err := h.emu.SubmitView(h.coord, form.ID, values)
	if err != nil {
		h.t.Fatal(err)
	}
	if res.Errors["nc_app_postcode"] != "Not a UK postcode." || res.Closed {
		h.t.Fatalf("a bad postcode: %+v", res)
	}
	values["nc_app_postcode"] = app.Applicant.Postcode
	values["nc_c2_reported"] = app.Incidents[1].OccurredOn.AddDays(-1).String()
	if res, err = h.emu.SubmitView(h.coord, form.ID, values); err != nil || res.Errors["nc_c2_reported"] != "Before the behaviour's date." {
		h.t.Fatalf("reported before it happened: %+v %v", res, err)
	}
	values["nc_c2_reported"] = app.Incidents[1].ReportedOn.String()
	if res, err = h.emu.SubmitView(h.coord, form.ID, values); err != nil || res.View == nil || res.View.CallbackID != bot.ViewCaseOpened {
		h.t.Fatalf("the right form: %+v %v", res, err)
	}
	ref := res.View.PrivateMetadata
	if !strings.Contains(string(res.View.Blocks), ref+"* is open") || !strings.Contains(string(res.View.Blocks), "emailed the acknowledgement") {
		h.t.Errorf("the form says %s", res.View.Blocks)
	}
	c, err := h.store.Case(h.ctx, ref)
	if err != nil {
		h.t.Fatal(err)
	}
	if c.Source != "staff" || c.Threshold.Assessment != casefile.Met || len(c.Incidents) != 3 || c.Applicant.Postcode != "DE12 7HS" || c.ConsentToShare == nil || !*c.ConsentToShare || !c.Needs(casefile.FormatLargePrint) {
		h.t.Errorf("the case opened: %+v", c)
	}
	evs, _ := h.store.Events(h.ctx, ref)
	var created map[string]any
	for _, e := range evs {
		if e.Kind == "case.created" {
			created = e.Details
			if e.Actor != h.coord {
				h.t.Errorf("opened by %q", e.Actor)
			}
		}
	}
	if created["via"] != "phone" {
		h.t.Errorf("case.created %v", created)
	}
	// The same form sent again (Slack showed an error, the coordinator
	// pressed again) opens no second case.
	if cs, _ := h.store.Cases(h.ctx, ""); len(cs) != 1 {
		h.t.Errorf("%d cases", len(cs))
	}
	return c
}

// TestNewCaseWorkflow: an application typed in with /trigger new runs the
// whole workflow as an emailed one does (TestWorkflow's clicks and
// checks), in both modes, and its acknowledgement is queued.
func TestNewCaseWorkflow(t *testing.T) {
	for _, mode := range []string{"socket", "http"} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, harnessOpts{mode: mode})
			testWorkflowOf(t, h, h.newCaseBySlash)
			jobs, _ := h.store.Jobs(h.ctx, "")
			ack := false
			for _, j := range jobs {
				ack = ack || j.Kind == casefile.JobEmailAck
			}
			if !ack {
				t.Error("no acknowledgement queued for the phone application")
			}
		})
	}
}

// TestDigestChannel: with [slack] digest_channel, the daily digest is one
// message for every case in that channel, once a day, naming the
// coordinator; a notice about no case (the coordinators' direct message)
// goes there too, instead of their direct messages.
func TestDigestChannel(t *testing.T) {
	var digest slackemu.Channel
	clk := &testClock{}
	clk.Set(london("2026-10-12 10:00"))
	h := newHarness(t, harnessOpts{mode: "socket", clock: clk.Now, configure: func(h *harness, cfg *casefile.Config) {
		cfg.Slack.DigestChannel = "#community-trigger"
		var err error
		if digest, err = h.emu.AddChannel("community-trigger", false, h.emu.BotUserID(), h.coord); err != nil {
			t.Fatal(err)
		}
	}})
	c := h.newCase()
	ch := h.channel(c.Ref)
	h.card(c.Ref)
	h.waitStore("the digest channel checked", func() bool { p, err := h.bot.CheckDigestChannel(h.ctx); return err == nil && p == "" })

	run := func(at string) {
		t.Helper()
		clk.Set(london(at))
		if _, err := h.store.RunReminders(h.ctx); err != nil {
			t.Fatal(err)
		}
	}
	digests := func() []slackemu.Message {
		var out []slackemu.Message
		for _, m := range h.emu.Messages(digest.ID) {
			if strings.Contains(m.Text, "Daily digest") {
				out = append(out, m)
			}
		}
		return out
	}
	run("2026-11-02 10:00")
	m := h.waitMessage(digest.ID, "Daily digest")
	for _, want := range []string{"<@" + h.coord + ">", "*" + c.Ref + "*", "<#" + ch.ID + ">", "threshold decision: due Mon 26 Oct 2026, 5 working days overdue"} {
		if !strings.Contains(text(m), want) {
			t.Errorf("the digest lacks %q:\n%s", want, text(m))
		}
	}
	run("2026-11-02 15:00")
	run("2026-11-03 10:00")
	h.waitFor("the second day's digest", func() bool { return len(digests()) == 2 })
	h.waitStore("the Slack jobs to be done", func() bool { return h.slackPending() == 0 })
	if n := len(digests()); n != 2 {
		t.Errorf("%d digests in two days", n)
	}
	if _, ok := h.message(ch.ID, "Daily digest"); ok {
		t.Error("a digest in the case channel too")
	}

	// The app was removed from the channel since it looked: the notice
	// waits (retried, the problem told), and goes once it is back.
	h.emu.InjectFault(slackemu.Fault{Method: "chat.postMessage", Error: "not_in_channel"})
	if _, err := h.store.NotifyCoordinators(h.ctx, "imap-signin:1", "service.signin_failed", "The mailbox cannot be read: the sign-in was refused (<client id> wrong?). Run `trigger mail check`.", nil); err != nil {
		t.Fatal(err)
	}
	h.waitStore("the notice to wait for the app", func() bool {
		jobs, _ := h.store.Jobs(h.ctx, "")
		for _, j := range jobs {
			if j.Kind == casefile.JobSlackDirect && j.State == "pending" && strings.Contains(j.LastError, "invite the app to #community-trigger") {
				return true
			}
		}
		return false
	})
	if p := h.bot.DigestProblem(); !strings.Contains(p, "Slack answered not_in_channel") {
		t.Errorf("the problem told: %q", p)
	}
	clk.Set(london("2026-11-03 11:00")) // the retry's time comes
	n := h.waitMessage(digest.ID, "The mailbox cannot be read")
	if !strings.Contains(text(n), "<@"+h.coord+">") || !strings.Contains(string(n.Blocks), "&lt;client id&gt;") {
		t.Errorf("the notice: %s", text(n))
	}
	if dm, _ := h.emu.OpenDM(h.coord); len(h.emu.Messages(dm)) != 0 {
		t.Error("the coordinator was sent a direct message too")
	}
}

// TestDigestChannelNotMember: the app not in the digest channel is told
// (DigestProblem, for /readyz), and the digest waits rather than being
// lost.
func TestDigestChannelNotMember(t *testing.T) {
	h := newHarness(t, harnessOpts{mode: "socket", configure: func(h *harness, cfg *casefile.Config) {
		cfg.Slack.DigestChannel = "#community-trigger"
		if _, err := h.emu.AddChannel("community-trigger", false, h.coord); err != nil {
			t.Fatal(err)
		}
	}})
	problem, err := h.bot.CheckDigestChannel(h.ctx)
	if err != nil || !strings.Contains(problem, "invite the app to #community-trigger") || h.bot.DigestProblem() != problem {
		t.Fatalf("problem %q, %v", problem, err)
	}
	if _, err := h.store.NotifyCoordinators(h.ctx, "k1", "service.test", "A notice.", nil); err != nil {
		t.Fatal(err)
	}
	h.waitStore("the notice to fail once", func() bool {
		jobs, _ := h.store.Jobs(h.ctx, "")
		for _, j := range jobs {
			if j.Kind == casefile.JobSlackDirect && j.Attempts > 0 && j.State == "pending" && strings.Contains(j.LastError, "invite the app") {
				return true
			}
		}
		return false
	})
}

func london(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, casefile.London)
	if err != nil {
		panic(err)
	}
	return t
}

// slackPending counts the Slack jobs not done yet (email jobs wait: the
// harness sends no mail).
func (h *harness) slackPending() int {
	jobs, err := h.store.Jobs(h.ctx, "")
	if err != nil {
		h.t.Fatal(err)
	}
	n := 0
	for _, j := range jobs {
		if strings.HasPrefix(j.Kind, "slack.") && j.State == "pending" {
			n++
		}
	}
	return n
}

// TestHomeNewDay: a Home tab left open overnight is published again when
// the date turns, with the days counted from the new today, though no case
// changed (TestNewDayMarksTabs: once, not at every look).
func TestHomeNewDay(t *testing.T) {
	// A clock that runs (the refresher's quiet spells pass) from a time the
	// test sets.
	var mu sync.Mutex
	at, since := london("2026-10-12 23:58"), time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return at.Add(time.Since(since)) }
	jump := func(t time.Time) { mu.Lock(); defer mu.Unlock(); at, since = t, time.Now() }

	h := newHarness(t, harnessOpts{mode: "socket", clock: now})
	c := h.newCase()
	h.card(c.Ref)
	h.openHome(h.coord, "open 0 days")
	h.waitStore("the refreshes to settle", func() bool { return h.bot.HomesPending() == 0 })
	before := h.publishes(h.coord)

	jump(london("2026-10-13 00:01"))
	h.waitHome(h.coord, "open 1 day")
	if h.publishes(h.coord) == before {
		t.Error("the tab shows the new day without a publish")
	}
}
