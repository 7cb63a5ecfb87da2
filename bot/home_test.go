package bot_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
)

// homeDesk is a desk on Monday 2 November 2026 with n open cases of every
// status, each with its channel, a next deadline (some overdue), and for
// the officer and the approver the requests and drafts of those cases.
func homeDesk(n int) *casefile.Desk {
	today := casefile.MustDate("2026-11-02")
	d := &casefile.Desk{Today: today, Counts: casefile.DeskCounts{Open: n, Year: 2026, ThisYear: n + 7}}
	statuses := []casefile.Status{casefile.StatusReceived, casefile.StatusGathering, casefile.StatusMeeting, casefile.StatusDrafting,
		casefile.StatusAwaitingApproval, casefile.StatusResponded, casefile.StatusFurtherReviewRequested}
	deadlineOf := map[casefile.Status]string{
		casefile.StatusReceived: casefile.DeadlineThresholdDecision, casefile.StatusGathering: casefile.DeadlineAgencyReplies,
		casefile.StatusMeeting: casefile.DeadlineReviewMeeting, casefile.StatusDrafting: casefile.DeadlineResponse,
		casefile.StatusAwaitingApproval: casefile.DeadlineResponse, casefile.StatusResponded: casefile.DeadlineFurtherReview,
	}
	for i := range n {
		ref := fmt.Sprintf("CT-2026-%04d", i+1)
		status := statuses[i%len(statuses)]
		letter := ""
		if status == casefile.StatusAwaitingApproval {
			letter = casefile.LetterOutcome
			if i%2 == 1 {
				letter = casefile.LetterFurtherReview
			}
		}
		c := casefile.DeskCase{Ref: ref, Status: status, ReceivedAt: time.Date(2026, 9, 1+i%28, 10, 0, 0, 0, casefile.London),
			Channel: fmt.Sprintf("G%08d", i+1), LetterKind: letter}
		if status == casefile.StatusGathering {
			c.Waiting = []string{"police", "housing"}
		}
		if name, ok := deadlineOf[status]; ok {
			due := today.AddDays(i%9 - 3)
			c.Next = &casefile.DeskItem{Deadline: name, Due: due, Owner: casefile.DeadlineOwner(name, status, letter)}
			if c.Next.Owner == casefile.PartyAgencies {
				c.Next.Agencies = c.Waiting
			}
			if due.Before(today) && name != casefile.DeadlineFurtherReview {
				if name == casefile.DeadlineAgencyReplies {
					for _, a := range c.Waiting {
						c.Overdue = append(c.Overdue, casefile.OverdueItem{Deadline: name, Agency: a, Due: due, WorkingDays: 3 - i%9})
					}
				} else {
					c.Overdue = append(c.Overdue, casefile.OverdueItem{Deadline: name, Due: due, WorkingDays: 3 - i%9})
				}
				d.Counts.Overdue += len(c.Overdue)
			}
		}
		d.Cases = append(d.Cases, c)
		d.Requests = append(d.Requests, casefile.DeskRequest{Ref: ref, Agency: "police", Due: today.AddDays(i%9 - 3), Channel: c.Channel, MessageTS: fmt.Sprintf("1762000000.%06d", i)})
		kind := casefile.LetterOutcome
		if i%3 == 2 {
			kind = casefile.LetterNotMet
		}
		d.Drafts = append(d.Drafts, casefile.DeskDraft{Ref: ref, LetterID: int64(i + 1), Kind: kind, Version: 1 + i%2,
			CreatedAt: time.Date(2026, 10, 20+i%10, 11, 0, 0, 0, casefile.London), Channel: c.Channel})
	}
	casefile.SortDeskCases(d.Cases)
	return d
}

// TestGoldenHome pins the Home tab of each kind of person — the
// coordinator, an agency's officer, an approver and someone without a role
// — with no case, one, and 150, and publishes each to the emulator, which
// refuses what Slack would (100 blocks, 250 kB, every Block Kit rule).
func TestGoldenHome(t *testing.T) {
	cfg := casefile.DefaultConfig()
	people := map[string]casefile.Actor{
		"coordinator": {ID: "U0COORD01", Roles: []casefile.Role{casefile.RoleCoordinator}},
		"officer":     {ID: "U0POLICE1", Roles: []casefile.Role{casefile.RoleOfficer}, Agencies: []string{"police"}},
		"approver":    {ID: "U0APPROV1", Roles: []casefile.Role{casefile.RoleApprover}},
		"norole":      {ID: "U0NOBODY1"},
	}
	emu := slackemu.New(slackemu.Options{NoRateLimits: true})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	api := slack.New(emu.BotToken(), slack.OptionAPIURL(emu.APIURL()))
	viewer := emu.AddUser("viewer", "").ID

	for _, n := range []int{0, 1, 150} {
		full := homeDesk(n)
		for _, role := range []string{"coordinator", "officer", "approver", "norole"} {
			who := people[role]
			// Each reads only what their roles may: as the bot asks the store.
			d := &casefile.Desk{Today: full.Today}
			if who.Permit(casefile.ActSeeAllCases) == nil {
				d.Counts, d.Cases = full.Counts, full.Cases
			}
			if len(who.Agencies) > 0 {
				d.Requests = full.Requests
			}
			if who.Has(casefile.RoleApprover) {
				d.Drafts = full.Drafts
			}
			name := fmt.Sprintf("home_%s_%d", role, n)
			t.Run(name, func(t *testing.T) {
				view := bot.HomeView(d, who, &cfg, bot.HomeState{Filter: bot.FilterAll, Page: 1})
				got := golden(t, name, view)
				raw, _ := json.Marshal(view)
				if len(view.Blocks.BlockSet) > 100 || len(raw) > 250000 {
					t.Errorf("%d blocks, %d bytes", len(view.Blocks.BlockSet), len(raw))
				}
				if _, err := api.PublishView(viewer, view, ""); err != nil {
					var se slack.SlackErrorResponse
					if ok := asSlackError(err, &se); ok {
						t.Fatalf("Slack refuses the view: %v %q", err, se.ResponseMetadata.Messages)
					}
					t.Fatal(err)
				}
				checkHome(t, role, n, string(got))
			})
		}
	}
	t.Run("home_coordinator_150_overdue_page2", func(t *testing.T) {
		coord := people["coordinator"]
		d := homeDesk(150)
		view := bot.HomeView(d, coord, &cfg, bot.HomeState{Filter: bot.FilterOverdue, Page: 2})
		got := string(golden(t, "home_coordinator_150_overdue_page2", view))
		if _, err := api.PublishView(viewer, view, ""); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"private_metadata": "overdue|2"`, "Page 2 of ", "← Previous", "Showing 26–"} {
			if !strings.Contains(got, want) {
				t.Errorf("page 2 lacks %s", want)
			}
		}
	})
}

func asSlackError(err error, se *slack.SlackErrorResponse) bool {
	e, ok := err.(slack.SlackErrorResponse)
	if ok {
		*se = e
	}
	return ok
}

// checkHome checks by eye what matters on each Home tab.
func checkHome(t *testing.T, role string, n int, got string) {
	t.Helper()
	has := func(s string) bool { return strings.Contains(got, s) }
	switch role {
	case "coordinator":
		if !has("*Open cases*\\n"+fmt.Sprint(n)) || !has(`"action_id": "home_filter"`) {
			t.Error("no counts or no filter")
		}
		if n == 1 && (!has("*CT-2026-0001* · <#G00000001>") || !has("Next: threshold decision by Fri 30 Oct 2026 — the coordinator · *overdue*")) {
			t.Error("the one case lacks its channel, its next deadline or whose it is")
		}
		if n == 150 && (!has("Showing 1–25 of 150") || !has("Page 1 of 6") || !has("Next →") || has("← Previous")) {
			t.Error("150 cases are not in pages of 25")
		}
		if n == 0 && !has("No open cases.") {
			t.Error("no cases, not said")
		}
	case "officer":
		if !has("Requests waiting for Police") {
			t.Error("no requests heading")
		}
		if n > 0 && (!has(`"action_id": "provide_details"`) || !has(`"value": "CT-2026-0001|police"`)) {
			t.Error("no Provide details")
		}
		if n == 150 && !has("… and 130 more") {
			t.Error("150 requests are not cut with how many more")
		}
		if has("Open cases") {
			t.Error("an officer sees the partnership's counts")
		}
	case "approver":
		if !has("Letters awaiting your approval") || has("Open cases") {
			t.Error("drafts heading, or counts shown to an approver")
		}
		if n > 0 && !has(`"action_id": "read_letter"`) {
			t.Error("no Read the letter")
		}
	case "norole":
		if !has("You have no role in it") || has("CT-2026") || has("Open cases") {
			t.Error("someone without a role sees case data, or no explanation")
		}
	}
}

// TestHomeState reads what travels in a Home tab's private_metadata.
func TestHomeState(t *testing.T) {
	for in, want := range map[string]bot.HomeState{
		"overdue|3": {Filter: bot.FilterOverdue, Page: 3},
		"mine|1":    {Filter: bot.FilterMine, Page: 1},
		"":          {Filter: bot.FilterAll, Page: 1},
		"x|-2":      {Filter: bot.FilterAll, Page: 1},
	} {
		if got := bot.ParseHomeState(in); got != want {
			t.Errorf("ParseHomeState(%q) = %+v, want %+v", in, got, want)
		}
	}
	if !bytes.Equal([]byte(bot.HomeState{Filter: bot.FilterMine, Page: 2}.String()), []byte("mine|2")) {
		t.Error("String")
	}
}

// TestGoldenNewCase pins the /trigger new form, and the summary /trigger
// REF answers with.
func TestGoldenNewCase(t *testing.T) {
	cfg := casefile.DefaultConfig()
	got := string(golden(t, "modal_new_case", bot.NewCaseModal(casefile.MustDate("2026-11-02"), &cfg)))
	for _, want := range []string{`"initial_date": "2026-11-02"`, `"block_id": "nc_app_postcode"`, `"block_id": "nc_c4_agency"`, `"block_id": "nc_formats"`, "Open the case"} {
		if !strings.Contains(got, want) {
			t.Errorf("form lacks %s", want)
		}
	}
	if strings.Contains(got, "nc_language") {
		t.Error("a partnership writing in English only is asked for a language")
	}
	cfg.Partnership.Languages = []string{"cy", "en"}
	if got := string(golden(t, "modal_new_case_welsh", bot.NewCaseModal(casefile.MustDate("2026-11-02"), &cfg))); !strings.Contains(got, "Welsh (Cymraeg)") {
		t.Error("a partnership in Wales is not asked the letters' language")
	}
}
