package bot

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/casefile"
)

// The Home tab: the coordinator's desk in Slack. HomeView is a pure
// function from the desk (casefile.Desk) and the person's roles to a Home
// tab view, tested with golden JSON; publishing and refreshing it are in
// homepub.go.

// Home tab filters.
const (
	FilterAll     = "all"
	FilterOverdue = "overdue"
	FilterMine    = "mine" // awaiting me
)

// HomeState is what a person chose on their Home tab: a filter and a page.
// It travels in the view's private_metadata as "filter|page".
type HomeState struct {
	Filter string
	Page   int // from 1
}

func (s HomeState) String() string { return s.Filter + "|" + strconv.Itoa(s.Page) }

// ParseHomeState reads "filter|page"; anything else is the first page of
// every open case.
func ParseHomeState(v string) HomeState {
	f, p, _ := strings.Cut(v, "|")
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 {
		n = 1
	}
	switch f {
	case FilterAll, FilterOverdue, FilterMine:
	default:
		f = FilterAll
	}
	return HomeState{Filter: f, Page: n}
}

// The Home tab's share of Slack's 100 blocks: a page of cases, the drafts
// and the requests shown before "and N more", and the lines around them.
const (
	homeCasesPerPage = 25
	homeDrafts       = 15
	homeRequests     = 20
)

// homeCallback is the Home tab's callback id.
const homeCallback = "home"

var partyText = map[casefile.Party]string{
	casefile.PartyCoordinator: "the coordinator",
	casefile.PartyChair:       "the Chair",
	casefile.PartyApprovers:   "approvers",
	casefile.PartyApplicant:   "the applicant",
	casefile.PartyService:     "the service",
}

// whose says who a deadline or a move waits for, in words.
func whose(p casefile.Party, agencies []string, cfg *casefile.Config) string {
	if p == casefile.PartyAgencies {
		if len(agencies) == 0 {
			return "the agencies"
		}
		names := make([]string, 0, len(agencies))
		for _, a := range agencies {
			names = append(names, esc(shorten(agencyName(cfg, a), cardValueChars)))
		}
		if len(names) > 4 {
			names = append(names[:3], fmt.Sprintf("%d more", len(names)-3))
		}
		return strings.Join(names, ", ")
	}
	return partyText[p]
}

// channelLink is a case channel as a link people can follow (the bot's
// case channels are private: the coordinator, the Chair, approvers and the
// agencies' officers are members).
func channelLink(id string) string {
	if id == "" {
		return "_channel not created yet_"
	}
	return "<#" + id + ">"
}

// HomeView is a person's Home tab. The coordinator and the Chair see the
// counts and every open case, nearest deadline first, with a filter and
// pages; approvers (and the Chair, for a further review's letter) the
// letters awaiting their approval; an agency's officers the requests
// waiting for their agency, each with Provide details. Someone without a
// role sees what the app is, and no case data. Nothing a resident wrote is
// shown: references, statuses, dates and agencies only.
func HomeView(d *casefile.Desk, who casefile.Actor, cfg *casefile.Config, st HomeState) slack.HomeTabViewRequest {
	var blocks []slack.Block
	add := func(b ...slack.Block) { blocks = append(blocks, b...) }
	add(slack.NewHeaderBlock(plain("Community Trigger")))

	seesAll := who.Permit(casefile.ActSeeAllCases) == nil
	approves := who.Has(casefile.RoleApprover) || who.Has(casefile.RoleChair)
	if !seesAll && !approves && len(who.Agencies) == 0 {
		add(slack.NewSectionBlock(mrkdwn("This is the partnership's Community Trigger (ASB Case Review) app. "+
			"You have no role in it, so there is nothing for you here. "+
			"If you should have one — the coordinator, the Chair, an approver or an agency's officer — ask the coordinator to add you to the service's configuration."), nil, nil))
		return homeTab(blocks, st)
	}
	if seesAll {
		add(homeCases(d, who, cfg, st)...)
	}
	if approves {
		add(homeDraftsBlocks(d, who)...)
	}
	if len(who.Agencies) > 0 {
		add(homeRequestsBlocks(d, who, cfg)...)
	}
	add(slack.NewContextBlock("home_footer", mrkdwn("References, dates and agencies only: a case's personal details are in its channel (*View details*). "+
		"Type `/trigger help` in any channel for the commands.")))
	return homeTab(blocks, st)
}

func homeTab(blocks []slack.Block, st HomeState) slack.HomeTabViewRequest {
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, CallbackID: homeCallback, PrivateMetadata: st.String(), Blocks: slack.Blocks{BlockSet: blocks}}
}

// filterCases is the desk's cases through a filter.
func filterCases(cs []casefile.DeskCase, filter string, who casefile.Actor) []casefile.DeskCase {
	switch filter {
	case FilterOverdue:
		return slices.DeleteFunc(slices.Clone(cs), func(c casefile.DeskCase) bool { return len(c.Overdue) == 0 })
	case FilterMine:
		parties := who.Parties()
		return slices.DeleteFunc(slices.Clone(cs), func(c casefile.DeskCase) bool { return !c.AwaitsAny(parties) })
	}
	return cs
}

func homeCases(d *casefile.Desk, who casefile.Actor, cfg *casefile.Config, st HomeState) []slack.Block {
	c := d.Counts
	blocks := []slack.Block{slack.NewSectionBlock(nil, []*slack.TextBlockObject{
		mrkdwn(fmt.Sprintf("*Open cases*\n%d", c.Open)),
		mrkdwn(fmt.Sprintf("*Overdue items*\n%d", c.Overdue)),
		mrkdwn(fmt.Sprintf("*Applications in %d*\n%d", c.Year, c.ThisYear)),
	}, nil, slack.SectionBlockOptionBlockID("home_counts"))}

	counts := map[string]int{}
	for _, f := range []string{FilterAll, FilterOverdue, FilterMine} {
		counts[f] = len(filterCases(d.Cases, f, who))
	}
	opt := func(f, text string) *slack.OptionBlockObject {
		return slack.NewOptionBlockObject(f, plain(fmt.Sprintf("%s (%d)", text, counts[f])), nil)
	}
	opts := []*slack.OptionBlockObject{opt(FilterAll, "All open cases"), opt(FilterOverdue, "Overdue"), opt(FilterMine, "Awaiting me")}
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Show"), ActionHomeFilter, opts...)
	for _, o := range opts {
		if o.Value == st.Filter {
			sel.InitialOption = o
		}
	}
	blocks = append(blocks, slack.NewActionBlock("home_filter", sel))

	cases := filterCases(d.Cases, st.Filter, who)
	pages := max(1, (len(cases)+homeCasesPerPage-1)/homeCasesPerPage)
	page := min(max(st.Page, 1), pages)
	from := (page - 1) * homeCasesPerPage
	to := min(from+homeCasesPerPage, len(cases))
	var shown string
	switch {
	case len(cases) == 0 && st.Filter == FilterAll:
		shown = "No open cases."
	case len(cases) == 0:
		shown = "No open case matches this filter."
	default:
		shown = fmt.Sprintf("Showing %d–%d of %d, the nearest deadline first.", from+1, to, len(cases))
	}
	blocks = append(blocks, slack.NewContextBlock("home_shown", mrkdwn(shown)))
	for _, dc := range cases[from:to] {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(homeCaseText(dc, d.Today, cfg)), nil, nil, slack.SectionBlockOptionBlockID("home-case-"+dc.Ref)))
	}
	if pages > 1 {
		var btns []slack.BlockElement
		if page > 1 {
			btns = append(btns, button(ActionHomePage, HomeState{Filter: st.Filter, Page: page - 1}.String(), "← Previous", ""))
		}
		if page < pages {
			btns = append(btns, button(ActionHomePage, HomeState{Filter: st.Filter, Page: page + 1}.String(), "Next →", ""))
		}
		blocks = append(blocks, slack.NewContextBlock("home_page_of", mrkdwn(fmt.Sprintf("Page %d of %d", page, pages))),
			slack.NewActionBlock("home_paging", btns...))
	}
	return blocks
}

// homeCaseText is one case on the desk: reference, channel, status in
// words, days open, the next deadline and whose it is, what is overdue.
func homeCaseText(c casefile.DeskCase, today casefile.Date, cfg *casefile.Config) string {
	days := c.DaysOpen(today)
	open := fmt.Sprintf("open %d %s", days, dayWord(days))
	text := fmt.Sprintf("*%s* · %s · %s · %s", c.Ref, channelLink(c.Channel), statusText[c.Status], open)
	if n := c.Next; n != nil {
		line := fmt.Sprintf("\nNext: %s by %s — %s", deadlineText[n.Deadline], shortDate(n.Due), whose(n.Owner, n.Agencies, cfg))
		if n.Due.Before(today) && n.Owner != casefile.PartyApplicant {
			line += " · *overdue*"
		}
		text += line
	} else if p := casefile.Mover(c.Status, c.LetterKind); p != casefile.PartyNobody {
		text += "\nWaiting for " + whose(p, c.Waiting, cfg)
	}
	if n := len(c.Overdue); n > 0 {
		text += fmt.Sprintf("\n:warning: *%s overdue*: %s", plural(n, "item"), overdueWords(c.Overdue, cfg))
	}
	return shortenMrkdwn(text, maxText)
}

// overdueWords lists overdue items briefly: "threshold decision (5 working
// days), reply from Police (3)".
func overdueWords(items []casefile.OverdueItem, cfg *casefile.Config) string {
	var parts []string
	for i, it := range items {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("and %d more", len(items)-i))
			break
		}
		what := deadlineText[it.Deadline]
		if it.Agency != "" {
			what = "reply from " + esc(shorten(agencyName(cfg, it.Agency), cardValueChars))
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", what, plural(it.WorkingDays, "working day")))
	}
	return strings.Join(parts, ", ")
}

// homeDraftsBlocks lists the letters awaiting the person's approval: an
// approver's, and a further review's letter for the Chair.
func homeDraftsBlocks(d *casefile.Desk, who casefile.Actor) []slack.Block {
	var mine []casefile.DeskDraft
	for _, dr := range d.Drafts {
		if who.PermitLetter(casefile.ActApproveLetter, dr.Kind) == nil {
			mine = append(mine, dr)
		}
	}
	blocks := []slack.Block{slack.NewDividerBlock(), slack.NewHeaderBlock(plain("Letters awaiting your approval"))}
	if len(mine) == 0 {
		return append(blocks, slack.NewContextBlock("home_drafts_none", mrkdwn("None at the moment.")))
	}
	for i, dr := range mine {
		if i == homeDrafts {
			blocks = append(blocks, slack.NewContextBlock("home_drafts_more", mrkdwn(fmt.Sprintf("… and %d more: see each case's channel.", len(mine)-i))))
			break
		}
		text := fmt.Sprintf("*%s* · %s · %s letter, version %d, drafted %s", dr.Ref, channelLink(dr.Channel), letterKindText[dr.Kind], dr.Version,
			dr.CreatedAt.In(casefile.London).Format("Mon 2 Jan"))
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(text), nil,
			slack.NewAccessory(button(ActionReadLetter, fmt.Sprintf("%s|%d", dr.Ref, dr.LetterID), "Read the letter", "")),
			slack.SectionBlockOptionBlockID(fmt.Sprintf("home-draft-%s-%d", dr.Ref, dr.LetterID))))
	}
	return append(blocks, slack.NewContextBlock("home_drafts_how", mrkdwn("*Approve and send* is on the draft in the case's channel.")))
}

// homeRequestsBlocks lists the requests waiting for the person's agencies,
// each with Provide details (the same form as on the request).
func homeRequestsBlocks(d *casefile.Desk, who casefile.Actor, cfg *casefile.Config) []slack.Block {
	names := make([]string, 0, len(who.Agencies))
	for _, a := range who.Agencies {
		names = append(names, esc(shorten(agencyName(cfg, a), cardValueChars)))
	}
	blocks := []slack.Block{slack.NewDividerBlock(), slack.NewHeaderBlock(plain(shorten("Requests waiting for "+strings.Join(names, ", "), maxHeader)))}
	if len(d.Requests) == 0 {
		return append(blocks, slack.NewContextBlock("home_requests_none", mrkdwn("None at the moment: every request has its reply.")))
	}
	for i, r := range d.Requests {
		if i == homeRequests {
			blocks = append(blocks, slack.NewContextBlock("home_requests_more", mrkdwn(fmt.Sprintf("… and %d more: see each case's channel.", len(d.Requests)-i))))
			break
		}
		due := "due " + shortDate(r.Due)
		switch {
		case r.Due.Before(d.Today):
			due = fmt.Sprintf(":warning: *overdue*: was due %s", shortDate(r.Due))
		case r.Due == d.Today:
			due = "*due today*"
		}
		text := fmt.Sprintf("*%s* · %s · %s", r.Ref, channelLink(r.Channel), due)
		if len(who.Agencies) > 1 {
			text += " · " + esc(shorten(agencyName(cfg, r.Agency), cardValueChars))
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(text), nil,
			slack.NewAccessory(button(ActionProvideDetails, r.Ref+"|"+r.Agency, "Provide details", "primary")),
			slack.SectionBlockOptionBlockID("home-request-"+r.Ref+"-"+r.Agency)))
	}
	return blocks
}
