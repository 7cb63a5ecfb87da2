package bot

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/casefile"
)

// The Block Kit builders are pure functions from domain values to blocks:
// what officers read, tested with golden JSON.

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}
func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

func button(actionID, value, text, style string) *slack.ButtonBlockElement {
	b := slack.NewButtonBlockElement(actionID, value, plain(text))
	if style != "" {
		b.Style = slack.Style(style)
	}
	return b
}

var statusText = map[casefile.Status]string{
	casefile.StatusReceived:               "Received: threshold decision needed",
	casefile.StatusAccepted:               "Accepted for review",
	casefile.StatusThresholdNotMet:        "Threshold not met: letter to send",
	casefile.StatusGathering:              "Asking the agencies for details",
	casefile.StatusMeeting:                "Review meeting scheduled",
	casefile.StatusDrafting:               "Drafting the response",
	casefile.StatusAwaitingApproval:       "Response awaiting approval",
	casefile.StatusResponded:              "Response sent",
	casefile.StatusFurtherReviewRequested: "Further review requested",
	casefile.StatusFurtherReview:          "Further review under way",
	casefile.StatusClosed:                 "Closed",
	casefile.StatusWithdrawn:              "Withdrawn",
}

var deadlineText = map[string]string{
	casefile.DeadlineAcknowledge:       "acknowledgement",
	casefile.DeadlineThresholdDecision: "threshold decision",
	casefile.DeadlineAgencyReplies:     "agency replies",
	casefile.DeadlineReviewMeeting:     "review meeting",
	casefile.DeadlineResponse:          "response",
	casefile.DeadlineFurtherReview:     "further review request",
}

func shortDate(d casefile.Date) string { return d.Time().Format("Mon 2 Jan 2006") }

// Topic is the channel topic: status and next deadline, no personal data.
func Topic(c *casefile.Case) string {
	t := c.Ref + " · " + statusText[c.Status]
	if name, d, ok := c.NextDeadline(); ok {
		t += " · next: " + deadlineText[name] + " by " + shortDate(d.Due)
	}
	return t
}

// area is where the case is, as much as may be shown without personal data:
// the postcode district (the outward code).
func area(c *casefile.Case) string {
	pc := c.Applicant.Postcode
	if c.OnBehalfOf != nil && c.OnBehalfOf.Postcode != "" {
		pc = c.OnBehalfOf.Postcode
	}
	if out, _, ok := strings.Cut(pc, " "); ok {
		return out
	}
	return "not known"
}

var routeText = map[casefile.Route]string{
	casefile.RouteIndividual: "the resident applies for themselves",
	casefile.RouteOnBehalf:   "applied for on behalf of the victim",
	casefile.RouteCommunity:  "residents applying together (community route)",
	casefile.RouteHate:       "hate incident route",
	casefile.RouteUnknown:    "not known yet",
}

// CaseCard is the card posted in the case channel and updated in place. With
// share false it carries no name, address or contact: View details shows
// them to people with a role.
func CaseCard(c *casefile.Case, cfg *casefile.Config, reqs []casefile.InfoRequest, share bool) []slack.Block {
	var blocks []slack.Block
	blocks = append(blocks,
		slack.NewHeaderBlock(plain("Community Trigger "+c.Ref)),
		slack.NewSectionBlock(nil, []*slack.TextBlockObject{
			mrkdwn("*Status*\n" + statusText[c.Status]),
			mrkdwn("*Received*\n" + c.ReceivedAt.In(casefile.London).Format("Mon 2 Jan 2006")),
			mrkdwn("*Route*\n" + routeText[c.Route]),
			mrkdwn("*Area*\n" + area(c)),
		}, nil),
	)
	if share {
		var lines []string
		if c.Applicant.Name != "" {
			lines = append(lines, "*Applicant:* "+c.Applicant.Name)
		}
		if c.OnBehalfOf != nil && c.OnBehalfOf.Name != "" {
			lines = append(lines, "*On behalf of:* "+c.OnBehalfOf.Name)
		}
		if c.Location != "" {
			lines = append(lines, "*Location:* "+c.Location)
		}
		if len(lines) > 0 {
			blocks = append(blocks, slack.NewSectionBlock(mrkdwn(strings.Join(lines, "\n")), nil, nil))
		}
	}
	th := c.Threshold
	assess := map[casefile.Assessment]string{casefile.Met: "met", casefile.NotMet: "not met", casefile.Unknown: "cannot tell yet"}[th.Assessment]
	text := fmt.Sprintf("*Threshold assessment:* %s (%s, %d needed)", assess, plural(th.QualifyingComplaints, "qualifying complaint"), cfg.Threshold.Complaints)
	for _, r := range th.Reasons {
		text += "\n• " + r
	}
	if d := th.Decision; d != nil {
		outcome := map[casefile.Assessment]string{casefile.Met: "accepted for review", casefile.NotMet: "threshold not met"}[d.Outcome]
		text += fmt.Sprintf("\n*Decision:* %s by <@%s>, %s", outcome, d.By, d.At.In(casefile.London).Format("2 Jan 2006"))
		if d.Reason != "" {
			text += ": " + d.Reason
		}
	} else {
		text += "\n_The assessment is advice: the coordinator decides._"
	}
	blocks = append(blocks, slack.NewSectionBlock(mrkdwn(text), nil, nil))

	if len(reqs) > 0 {
		var lines []string
		for _, r := range reqs {
			name := agencyName(cfg, r.Agency)
			if r.Replied {
				lines = append(lines, "✓ "+name+": replied")
			} else {
				lines = append(lines, fmt.Sprintf("… %s: reply due %s", name, shortDate(r.Due)))
			}
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn("*Agencies*\n"+strings.Join(lines, "\n")), nil, nil))
	}
	if dl := deadlineLines(c); dl != "" {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn("Deadlines (working days): "+dl)))
	}
	if btns := cardButtons(c); len(btns) > 0 {
		blocks = append(blocks, slack.NewActionBlock("card_actions", btns...))
	}
	return blocks
}

func deadlineLines(c *casefile.Case) string {
	var parts []string
	for _, n := range []string{casefile.DeadlineAcknowledge, casefile.DeadlineThresholdDecision, casefile.DeadlineAgencyReplies,
		casefile.DeadlineReviewMeeting, casefile.DeadlineResponse, casefile.DeadlineFurtherReview} {
		d, ok := c.Deadlines[n]
		if !ok {
			continue
		}
		s := deadlineText[n] + " " + shortDate(d.Due)
		if d.DoneAt != nil {
			s += " ✓"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " · ")
}

func cardButtons(c *casefile.Case) []slack.BlockElement {
	ref := c.Ref
	details := button(ActionViewDetails, ref, "View details", "")
	switch c.Status {
	case casefile.StatusReceived:
		return []slack.BlockElement{button(ActionAccept, ref, "Accept for review", "primary"), button(ActionNotMet, ref, "Threshold not met", "danger"), details}
	case casefile.StatusGathering:
		return []slack.BlockElement{button(ActionScheduleMeeting, ref, "Schedule meeting", ""), details}
	case casefile.StatusMeeting:
		return []slack.BlockElement{button(ActionRecordOutcome, ref, "Record outcome", "primary"), button(ActionScheduleMeeting, ref, "Reschedule meeting", ""), details}
	case casefile.StatusResponded:
		return []slack.BlockElement{button(ActionRecordFurther, ref, "Record further-review request", ""), details}
	default:
		return []slack.BlockElement{details}
	}
}

// plural is "1 thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

func agencyName(cfg *casefile.Config, id string) string {
	if a, ok := cfg.Agency(id); ok {
		return a.Name
	}
	return id
}

func mentions(users []string) string {
	var m []string
	for _, u := range users {
		m = append(m, "<@"+u+">")
	}
	return strings.Join(m, " ")
}

// RequestMessage asks one agency for details. replies are shown once they
// arrive ("Received from Police by @officer, 3 Dec").
func RequestMessage(ref string, agency casefile.Agency, officers []string, req casefile.InfoRequest, cal *casefile.Calendar, workingDays int) (string, []slack.Block) {
	who := mentions(officers)
	if who == "" {
		who = "_no officer of this agency is in Slack, and no email address is configured: the coordinator asks them directly_"
		if req.ByEmail {
			who = "_no officer of this agency is in Slack: the request went by email_"
		}
	}
	text := fmt.Sprintf("Request for information to %s for %s", agency.Name, ref)
	body := fmt.Sprintf("*%s* — %s\nFor the case review %s, please provide details of the complaints received and the actions considered and taken.\n*Due by %s* (%s).",
		agency.Name, who, ref, req.Due.Time().Format("Monday 2 January 2006"), plural(workingDays, "working day"))
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(body), nil, nil, slack.SectionBlockOptionBlockID("request-"+ref+"-"+agency.ID))}
	var got []string
	for _, r := range req.Replies {
		at, _ := time.Parse(time.RFC3339, r.At)
		how := ""
		if r.Source == "thread" {
			how = " (in the thread)"
		}
		if r.NoInfo {
			how += ": no information held"
		}
		by := "<@" + r.Author + ">"
		if strings.Contains(r.Author, "@") {
			by = "email"
		}
		got = append(got, fmt.Sprintf("Received from %s by %s, %s%s", agency.Name, by, at.In(casefile.London).Format("2 Jan"), how))
	}
	if len(got) > 0 {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn("✓ "+strings.Join(got, "\n✓ "))))
	}
	blocks = append(blocks, slack.NewActionBlock("request_actions", button(ActionProvideDetails, ref+"|"+agency.ID, "Provide details", "primary")))
	return text, blocks
}

// NoticeMessage is a plain notice in the case channel, optionally addressed
// to people (the coordinator, the Chair) and with the buttons a prompt calls
// for.
func NoticeMessage(ref, text string, to []string, prompt string) []slack.Block {
	if len(to) > 0 {
		text = mentions(to) + " " + text
	}
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil)}
	switch prompt {
	case "schedule_meeting":
		blocks = append(blocks, slack.NewActionBlock("notice_actions", button(ActionScheduleMeeting, ref, "Schedule meeting", "primary")))
	case "further_review":
		blocks = append(blocks, slack.NewActionBlock("notice_actions",
			button(ActionAcceptFurther, ref, "Accept for further review", "primary"),
			button(ActionDeclineFurther, ref, "Decline", "danger")))
	case "acknowledged":
		blocks = append(blocks, slack.NewActionBlock("notice_actions", button(ActionAcknowledged, ref, "Acknowledged", "primary")))
	case "further_outcome":
		blocks = append(blocks, slack.NewActionBlock("notice_actions", button(ActionRecordFurtherOutcome, ref, "Record further-review outcome", "primary")))
	}
	return blocks
}

func modal(callbackID, title, submit, metadata string, blocks ...slack.Block) slack.ModalViewRequest {
	v := slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      callbackID,
		Title:           plain(title),
		Close:           plain("Cancel"),
		PrivateMetadata: metadata,
		Blocks:          slack.Blocks{BlockSet: blocks},
	}
	if submit != "" {
		v.Submit = plain(submit)
	} else {
		v.Close = plain("Close")
	}
	return v
}

func textInput(blockID, label, hint string, multiline, optional bool, initial string) *slack.InputBlock {
	el := slack.NewPlainTextInputBlockElement(nil, blockID)
	el.Multiline = multiline
	el.InitialValue = initial
	var h *slack.TextBlockObject
	if hint != "" {
		h = plain(hint)
	}
	in := slack.NewInputBlock(blockID, plain(label), h, el)
	in.Optional = optional
	return in
}

// NotMetModal asks the coordinator why the threshold is not met.
func NotMetModal(ref string) slack.ModalViewRequest {
	return modal(ViewNotMet, "Threshold not met", "Record decision", ref,
		slack.NewSectionBlock(mrkdwn("Record that *"+ref+"* does not meet the threshold. The reason goes into the letter to the applicant."), nil, nil),
		textInput(BlockReason, "Reason", "Plain words the applicant will read", true, false, ""),
	)
}

// DetailsModal shows the personal details to a person with a role, so that
// they never enter the channel's history.
func DetailsModal(c *casefile.Case, cfg *casefile.Config) slack.ModalViewRequest {
	person := func(title string, p casefile.Person) string {
		var lines []string
		for _, kv := range [][2]string{{"Name", p.Name}, {"Email", p.Email}, {"Phone", p.Phone}, {"Address", p.Address}, {"Postcode", p.Postcode}} {
			if kv[1] != "" {
				lines = append(lines, "*"+kv[0]+":* "+kv[1])
			}
		}
		if len(lines) == 0 {
			lines = append(lines, "_not given_")
		}
		return "*" + title + "*\n" + strings.Join(lines, "\n")
	}
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(person("Applicant", c.Applicant)), nil, nil)}
	if c.OnBehalfOf != nil {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(person("On behalf of", *c.OnBehalfOf)), nil, nil))
	}
	for i, p := range c.CoApplicants {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(person(fmt.Sprintf("Co-applicant %d", i+1), p)), nil, nil))
	}
	yn := func(b *bool) string {
		switch {
		case b == nil:
			return "not said"
		case *b:
			return "yes"
		}
		return "no"
	}
	var about []string
	if c.Location != "" {
		about = append(about, "*Location:* "+c.Location)
	}
	if c.Description != "" {
		about = append(about, "*What has been happening:* "+c.Description)
	}
	about = append(about, "*Vulnerable:* "+yn(c.Vulnerable), "*Consent to share:* "+yn(c.ConsentToShare))
	blocks = append(blocks, slack.NewDividerBlock(), slack.NewSectionBlock(mrkdwn(strings.Join(about, "\n")), nil, nil))
	if len(c.Incidents) > 0 {
		var lines []string
		for i, in := range c.Incidents {
			lines = append(lines, fmt.Sprintf("%d. behaviour %s, reported %s to %s %s", i+1, orNK(in.OccurredOn), orNK(in.ReportedOn), agencyName(cfg, in.Agency), in.Reference))
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn("*Complaints*\n"+strings.Join(lines, "\n")), nil, nil))
	}
	blocks = append(blocks, slack.NewContextBlock("", mrkdwn("Personal data: use only for this review. Viewing is recorded in the audit trail.")))
	return modal(ViewDetails, "Case "+c.Ref, "", c.Ref, blocks...)
}

func orNK(d casefile.Date) string {
	if d.IsZero() {
		return "(date not known)"
	}
	return d.Human()
}

// ProvideDetailsModal is the agency's reply form.
func ProvideDetailsModal(ref string, agency casefile.Agency) slack.ModalViewRequest {
	noInfo := slack.NewCheckboxGroupsBlockElement(BlockNoInfo, slack.NewOptionBlockObject("yes", plain("No information held"), nil))
	noInfoBlock := slack.NewInputBlock(BlockNoInfo, plain("Nothing held?"), nil, noInfo)
	noInfoBlock.Optional = true
	return modal(ViewProvideDetails, "Provide details", "Send", ref+"|"+agency.ID,
		slack.NewSectionBlock(mrkdwn("*"+agency.Name+"* — details for the case review *"+ref+"*."), nil, nil),
		textInput(BlockComplaints, "Complaints received", "Dates and your references", true, true, ""),
		textInput(BlockConsidered, "Actions considered", "", true, true, ""),
		textInput(BlockTaken, "Actions taken", "", true, true, ""),
		textInput(BlockRisk, "Current risk and notes", "", true, true, ""),
		noInfoBlock,
	)
}

// ScheduleMeetingModal asks when and where the review meeting is.
func ScheduleMeetingModal(ref string) slack.ModalViewRequest {
	date := slack.NewInputBlock(BlockDate, plain("Date"), nil, slack.NewDatePickerBlockElement(BlockDate))
	tp := slack.NewTimePickerBlockElement(BlockTime)
	tm := slack.NewInputBlock(BlockTime, plain("Time"), nil, tp)
	return modal(ViewScheduleMeeting, "Schedule meeting", "Schedule", ref,
		date, tm,
		textInput(BlockPlace, "Place or link", "", false, false, ""),
		textInput(BlockAttendees, "Attendees", "Who is invited", true, true, ""),
	)
}

// RecordOutcomeModal records the meeting: attendance, findings, whether the
// response was adequate, and up to three recommendations.
func RecordOutcomeModal(ref string, cfg *casefile.Config) slack.ModalViewRequest {
	var opts []*slack.OptionBlockObject
	for _, a := range cfg.Agencies {
		opts = append(opts, slack.NewOptionBlockObject(a.ID, plain(a.Name), nil))
	}
	att := slack.NewInputBlock(BlockAttendance, plain("Agencies present"), nil, slack.NewCheckboxGroupsBlockElement(BlockAttendance, opts...))
	att.Optional = true
	adequate := slack.NewInputBlock(BlockAdequate, plain("Was the partnership's response adequate?"), nil,
		slack.NewRadioButtonsBlockElement(BlockAdequate,
			slack.NewOptionBlockObject("yes", plain("Yes"), nil),
			slack.NewOptionBlockObject("no", plain("No"), nil)))
	blocks := []slack.Block{att,
		textInput(BlockSummary, "The review's findings", "Plain words: this goes into the letter", true, false, ""),
		adequate,
		slack.NewSectionBlock(mrkdwn("*Recommendations* — each needs an owner agency and a due date."), nil, nil),
	}
	for n := 1; n <= recommendationSlots; n++ {
		owner := slack.NewInputBlock(recBlock(n, "owner"), plain(fmt.Sprintf("Recommendation %d: owner", n)), nil,
			slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Agency"), recBlock(n, "owner"), opts...))
		owner.Optional = true
		due := slack.NewInputBlock(recBlock(n, "due"), plain(fmt.Sprintf("Recommendation %d: due", n)), nil, slack.NewDatePickerBlockElement(recBlock(n, "due")))
		due.Optional = true
		blocks = append(blocks, textInput(recBlock(n, "text"), fmt.Sprintf("Recommendation %d", n), "", true, true, ""), owner, due)
	}
	return modal(ViewRecordOutcome, "Record outcome", "Record", ref, blocks...)
}

var letterKindText = map[string]string{
	casefile.LetterNotMet:        "threshold not met",
	casefile.LetterOutcome:       "case review outcome",
	casefile.LetterFurtherReview: "further review outcome",
}

// DraftMessage posts a letter draft for approval. With share false it shows
// a summary and a button to read the letter in a modal, because the letter
// names the resident; with share true the full text is in the message.
func DraftMessage(l *casefile.Letter, share bool) (string, []slack.Block) {
	text := fmt.Sprintf("Draft letter for %s, version %d (%s)", l.CaseRef, l.Version, letterKindText[l.Kind])
	by := "drafted from the case record"
	if l.CreatedBy != "system" {
		by = "edited by <@" + l.CreatedBy + ">"
	}
	summary := fmt.Sprintf("*Draft letter — %s, version %d*\n%s · %s · fingerprint `%s`", letterKindText[l.Kind], l.Version, by, plural(len(strings.Fields(l.Text)), "word"), l.ShortHash())
	if !l.FurtherReviewBy.IsZero() && l.Kind != casefile.LetterFurtherReview {
		summary += "\nIt gives the applicant until *" + l.FurtherReviewBy.Human() + "* to ask for a further review."
	}
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(summary), nil, nil, slack.SectionBlockOptionBlockID(fmt.Sprintf("draft-%s-%d", l.CaseRef, l.ID)))}
	if share {
		for _, chunk := range chunks(l.Text, 2900) {
			blocks = append(blocks, slack.NewSectionBlock(plain(chunk), nil, nil))
		}
	}
	approve := "Approve and send"
	value := fmt.Sprintf("%s|%d|%s", l.CaseRef, l.ID, l.SHA256)
	idv := fmt.Sprintf("%s|%d", l.CaseRef, l.ID)
	blocks = append(blocks, slack.NewActionBlock("draft_actions",
		button(ActionReadLetter, idv, "Read the letter", ""),
		button(ActionApprove, value, approve, "primary"),
		button(ActionEditDraft, idv, "Edit", ""),
		button(ActionRequestChanges, idv, "Request changes", ""),
	))
	return text, blocks
}

// chunks splits text at paragraph breaks into pieces of at most n bytes
// (Slack's limit on a text object), so that joining them with a blank line
// gives the text back.
func chunks(text string, n int) []string {
	var out []string
	cur := ""
	for _, p := range strings.Split(strings.TrimRight(text, "\n"), "\n\n") {
		for len(p) > n { // a single paragraph longer than n: cut at a line break or hard
			cut := strings.LastIndex(p[:n], "\n")
			if cut <= 0 {
				cut = n
			}
			if cur != "" {
				out, cur = append(out, cur), ""
			}
			out = append(out, p[:cut])
			p = strings.TrimPrefix(p[cut:], "\n")
		}
		switch {
		case cur == "":
			cur = p
		case len(cur)+2+len(p) <= n:
			cur += "\n\n" + p
		default:
			out, cur = append(out, cur), p
		}
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

// LetterModal shows a letter's full text.
func LetterModal(l *casefile.Letter) slack.ModalViewRequest {
	blocks := []slack.Block{slack.NewContextBlock("", mrkdwn(fmt.Sprintf("%s · version %d · fingerprint `%s`", letterKindText[l.Kind], l.Version, l.ShortHash())))}
	for _, c := range chunks(l.Text, 2900) {
		blocks = append(blocks, slack.NewSectionBlock(plain(c), nil, nil))
	}
	return modal(ViewReadLetter, fmt.Sprintf("Letter v%d", l.Version), "", fmt.Sprintf("%s|%d", l.CaseRef, l.ID), blocks...)
}

// EditLetterModal lets the coordinator edit the text; a long letter comes
// in parts because Slack's text input holds 3,000 characters.
func EditLetterModal(l *casefile.Letter) slack.ModalViewRequest {
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(fmt.Sprintf("Editing version %d. Saving makes version %d, which then needs approval.", l.Version, l.Version+1)), nil, nil)}
	parts := chunks(l.Text, 2900)
	for i, c := range parts {
		label := "Letter"
		if len(parts) > 1 {
			label = fmt.Sprintf("Letter, part %d of %d", i+1, len(parts))
		}
		in := textInput(letterPartBlock(i+1), label, "", true, false, c)
		in.Element.(*slack.PlainTextInputBlockElement).MaxLength = 3000
		blocks = append(blocks, in)
	}
	return modal(ViewEditDraft, "Edit the letter", "Save new version", fmt.Sprintf("%s|%d|%d", l.CaseRef, l.ID, len(parts)), blocks...)
}

func letterPartBlock(n int) string { return fmt.Sprintf("%s_%d", BlockLetterText, n) }

// CommentModal asks for a comment or a reason.
func CommentModal(callbackID, title, submit, intro, label, metadata string) slack.ModalViewRequest {
	return modal(callbackID, title, submit, metadata,
		slack.NewSectionBlock(mrkdwn(intro), nil, nil),
		textInput(BlockComment, label, "", true, false, ""),
	)
}

// FurtherOutcomeModal records what the further review found.
func FurtherOutcomeModal(ref string) slack.ModalViewRequest {
	upheld := slack.NewInputBlock(BlockUpheld, plain("Is the request upheld?"), nil,
		slack.NewRadioButtonsBlockElement(BlockUpheld,
			slack.NewOptionBlockObject("yes", plain("Yes: the response changes"), nil),
			slack.NewOptionBlockObject("no", plain("No: the response stands"), nil)))
	return modal(ViewFurtherOutcome, "Further review outcome", "Record", ref,
		upheld,
		textInput(BlockSummary, "What the further review found", "Plain words: this goes into the letter", true, false, ""),
	)
}
