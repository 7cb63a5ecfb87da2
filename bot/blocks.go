package bot

import (
	"fmt"
	"slices"
	"strconv"
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
		// The resident's words: escaped, so that a name such as
		// "<!channel>" shows as typed and notifies nobody.
		var lines []string
		if c.Applicant.Name != "" {
			lines = append(lines, "*Applicant:* "+esc(shorten(c.Applicant.Name, cardValueChars)))
		}
		if c.OnBehalfOf != nil && c.OnBehalfOf.Name != "" {
			lines = append(lines, "*On behalf of:* "+esc(shorten(c.OnBehalfOf.Name, cardValueChars)))
		}
		if c.Location != "" {
			lines = append(lines, "*Location:* "+esc(shorten(c.Location, cardValueChars)))
		}
		if len(lines) > 0 {
			blocks = append(blocks, slack.NewSectionBlock(mrkdwn(strings.Join(lines, "\n")), nil, nil))
		}
	}
	blocks = append(blocks, slack.NewSectionBlock(mrkdwn(thresholdText(c, cfg)), nil, nil))

	if len(reqs) > 0 {
		var lines []string
		for i, r := range reqs {
			if i == cardAgencyLines && len(reqs) > cardAgencyLines+1 {
				lines = append(lines, fmt.Sprintf("… and %d more", len(reqs)-i))
				break
			}
			name := shorten(agencyName(cfg, r.Agency), cardValueChars)
			if r.Replied {
				lines = append(lines, "✓ "+name+": replied")
			} else {
				lines = append(lines, fmt.Sprintf("… %s: reply due %s", name, shortDate(r.Due)))
			}
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(shortenMrkdwn("*Agencies*\n"+strings.Join(lines, "\n"), maxText)), nil, nil))
	}
	if dl := deadlineLines(c); dl != "" {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn("Deadlines (working days): "+dl)))
	}
	blocks = append(blocks, slack.NewContextBlock("", mrkdwn(residentLines(c, cfg))))
	if btns := cardButtons(c, cfg); len(btns) > 0 {
		blocks = append(blocks, slack.NewActionBlock("card_actions", btns...))
	}
	return blocks
}

// The case card's share of Slack's limits: it stays far below a message's
// 50 blocks and 12,000 characters whatever the case holds.
const (
	cardValueChars   = 200 // a name or a location on the card
	cardReasonLines  = 10  // threshold reasons listed before "and N more"
	cardAgencyLines  = 20  // agencies listed before "and N more"
	cardDecisionText = 600 // a decision's reason on the card; the rest in its thread
)

// thresholdText is the card's threshold section: the assessment with its
// reasons (the last, the verdict, always shown), and the decision.
func thresholdText(c *casefile.Case, cfg *casefile.Config) string {
	th := c.Threshold
	assess := map[casefile.Assessment]string{casefile.Met: "met", casefile.NotMet: "not met", casefile.Unknown: "cannot tell yet"}[th.Assessment]
	text := fmt.Sprintf("*Threshold assessment:* %s (%s, %d needed)", assess, plural(th.QualifyingComplaints, "qualifying complaint"), cfg.Threshold.Complaints)
	reasons := th.Reasons
	if len(reasons) > cardReasonLines+2 {
		more := len(reasons) - cardReasonLines - 1
		reasons = append(append(slices.Clip(reasons[:cardReasonLines]), fmt.Sprintf("… and %d more (`trigger case show %s` lists them all)", more, c.Ref)), reasons[len(reasons)-1])
	}
	for _, r := range reasons {
		text += "\n• " + shorten(r, cardValueChars)
	}
	if d := th.Decision; d != nil {
		outcome := map[casefile.Assessment]string{casefile.Met: "accepted for review", casefile.NotMet: "threshold not met"}[d.Outcome]
		text += fmt.Sprintf("\n*Decision:* %s by <@%s>, %s", outcome, d.By, d.At.In(casefile.London).Format("2 Jan 2006"))
		if d.Reason != "" {
			reason, cut := DecisionReason(d.Reason)
			text += ": " + reason
			if cut {
				text += "\n_The full reason is in this message's thread._"
			}
		}
	} else {
		text += "\n_The assessment is advice: the coordinator decides._"
	}
	return shortenMrkdwn(text, maxText)
}

// DecisionReason is a threshold decision's reason as the card shows it:
// cut when long (cut reports it), the full text going into the card's
// thread.
func DecisionReason(reason string) (shown string, cut bool) {
	if chars(reason) <= cardDecisionText {
		return reason, false
	}
	return shortenMrkdwn(reason, cardDecisionText), true
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

func cardButtons(c *casefile.Case, cfg *casefile.Config) []slack.BlockElement {
	ref := c.Ref
	details := button(ActionViewDetails, ref, "View details", "")
	// The resident's needs and contact officer can change while the case
	// is open.
	resident := []slack.BlockElement{details, button(ActionResidentNeeds, ref, "Resident's needs", ""), button(ActionChangeContact, ref, "Change contact officer", "")}
	with := func(first ...slack.BlockElement) []slack.BlockElement { return append(first, resident...) }
	switch c.Status {
	case casefile.StatusReceived:
		return with(button(ActionAccept, ref, "Accept for review", "primary"), button(ActionNotMet, ref, "Threshold not met", "danger"))
	case casefile.StatusGathering:
		return with(button(ActionScheduleMeeting, ref, "Schedule meeting", ""))
	case casefile.StatusMeeting:
		return with(button(ActionRecordOutcome, ref, "Record outcome", "primary"), button(ActionScheduleMeeting, ref, "Reschedule meeting", ""))
	case casefile.StatusDrafting:
		if c.Consultation.Open() {
			return with(button(ActionSkipConsultation, ref, "Skip consultation", ""))
		}
		return with()
	case casefile.StatusResponded:
		if b := thresholdButtons(c, cfg); b != nil {
			return with(b...)
		}
		return with(button(ActionRecordFurther, ref, "Record further-review request", ""))
	case casefile.StatusClosed:
		return append(thresholdButtons(c, cfg), details)
	case casefile.StatusWithdrawn:
		return []slack.BlockElement{details}
	default:
		return with()
	}
}

// thresholdButtons are a not-met case's buttons for a review of its
// decision by the body [further_review] threshold_decision names: record a
// request, then its result. nil when there is no such route.
func thresholdButtons(c *casefile.Case, cfg *casefile.Config) []slack.BlockElement {
	if cfg.FurtherReview.ThresholdDecision == "" || c.Threshold.Decision == nil || c.Threshold.Decision.Outcome != casefile.NotMet {
		return nil
	}
	for _, r := range c.ThresholdReviews {
		if r.Result == "" {
			return []slack.BlockElement{button(ActionThresholdReviewResult, c.Ref, "Record threshold-review result", "primary")}
		}
	}
	return []slack.BlockElement{button(ActionRecordThresholdReview, c.Ref, "Record threshold-review request", "")}
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

// requestReplyLines is how many replies a request message lists.
const requestReplyLines = 5

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
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(shortenMrkdwn(body, maxText)), nil, nil, slack.SectionBlockOptionBlockID("request-"+ref+"-"+agency.ID))}
	replies := req.Replies
	var got []string
	if len(replies) > requestReplyLines {
		// A busy thread: the count and the latest few, so the message
		// stays within a context block's 3,000 characters.
		got = append(got, fmt.Sprintf("%d replies received; the latest %d:", len(replies), requestReplyLines))
		replies = replies[len(replies)-requestReplyLines:]
	}
	for _, r := range replies {
		at, _ := time.Parse(time.RFC3339, r.At)
		how := ""
		switch r.Source {
		case "thread":
			how = " (in the thread)"
		}
		if n := len(r.Files); n > 0 {
			how += ", with " + plural(n, "file")
		}
		if r.NoInfo {
			how += ": no information held"
		}
		by := "<@" + r.Author + ">"
		if strings.Contains(r.Author, "@") {
			by = "email"
		}
		got = append(got, fmt.Sprintf("Received from %s by %s, %s%s", shorten(agency.Name, cardValueChars), by, at.In(casefile.London).Format("2 Jan"), how))
	}
	if len(got) > 0 {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(shortenMrkdwn("✓ "+strings.Join(got, "\n✓ "), maxText))))
	}
	blocks = append(blocks, slack.NewActionBlock("request_actions", button(ActionProvideDetails, ref+"|"+agency.ID, "Provide details", "primary")))
	return text, blocks
}

// NoticeMessage is a plain notice in the case channel, optionally addressed
// to people (the coordinator, the Chair) and with the buttons a prompt calls
// for. A text too long for one section (a long comment or reason in it)
// shows its beginning, and says that the full text follows in the thread:
// NoticeThread gives those replies.
func NoticeMessage(ref, text string, to []string, prompt string) []slack.Block {
	if len(to) > 0 {
		text = mentions(to) + " " + text
	}
	if chars(text) > sectionChars {
		text = splitText(text, sectionChars-noticeMoreChars)[0] + noticeMore
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
	case "involvement":
		blocks = append(blocks, slack.NewActionBlock("notice_actions",
			button(ActionInvolvementMeeting, ref, "Invite to the meeting", ""),
			button(ActionInvolvementWriting, ref, "Views in writing", ""),
			button(ActionInvolvementOutcome, ref, "Outcome only", "")))
	case "consultation":
		blocks = append(blocks, slack.NewActionBlock("notice_actions", button(ActionSkipConsultation, ref, "Skip consultation", "")))
	case "threshold_review_result":
		blocks = append(blocks, slack.NewActionBlock("notice_actions", button(ActionThresholdReviewResult, ref, "Record threshold-review result", "")))
	default:
		// "read_message:<Message-ID>": a button that shows the email in a
		// modal (the channel carries no personal data).
		if id, ok := strings.CutPrefix(prompt, "read_message:"); ok && id != "" && len(ref)+1+len(id) <= 2000 {
			blocks = append(blocks, slack.NewActionBlock("notice_actions", button(ActionReadMessage, ref+"|"+id, "Read their reply", "primary")))
		}
	}
	return blocks
}

const (
	noticeMore      = "\n_… continued in the thread: the full text is there._"
	noticeMoreChars = 60
)

// NoticeThread is a long notice's full text as thread replies, split at
// paragraph breaks, each a message within Slack's limits (without the
// mentions, which the message made); none for a notice that fits in its
// message.
func NoticeThread(text string, to []string) []string {
	with := text
	if len(to) > 0 {
		with = mentions(to) + " " + text
	}
	if chars(with) <= sectionChars {
		return nil
	}
	return splitText(text, sectionChars)
}

// ThreadReply is one message of a long text's thread replies: a section
// whose block id names it, so that a retry finds it rather than posting it
// twice.
func ThreadReply(blockID, text string) []slack.Block {
	return []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil, slack.SectionBlockOptionBlockID(blockID))}
}

// UnverifiedNotice tells the coordinator of an email on the case that is
// not verified as a party's (the text says why, and what it asked), with
// the two things they can make of it. Each button carries the case and the
// stored message: "REF|message". A long text is cut as NoticeMessage cuts
// it (NoticeThread gives the rest).
func UnverifiedNotice(ref string, message int64, text string, to []string) []slack.Block {
	value := ref + "|" + strconv.FormatInt(message, 10)
	return append(NoticeMessage(ref, text, to, ""),
		slack.NewActionBlock("unverified_actions",
			button(ActionTreatFurtherReview, value, "Treat as further-review request", ""),
			button(ActionTreatCorrespondence, value, "From the applicant", "")))
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

// DetailsModal shows the personal details to a person with a role, so
// that they never enter the channel's history. Everything the resident
// wrote is escaped (an email saying "<!channel>" shows those characters and
// notifies nobody), and long text goes over several sections within a
// modal's 100 blocks; what does not fit ends with where to read it all.
func DetailsModal(c *casefile.Case, cfg *casefile.Config) slack.ModalViewRequest {
	person := func(title string, p casefile.Person) string {
		var lines []string
		for _, kv := range [][2]string{{"Name", p.Name}, {"Email", p.Email}, {"Phone", p.Phone}, {"Address", p.Address}, {"Postcode", p.Postcode}} {
			if kv[1] != "" {
				lines = append(lines, "*"+kv[0]+":* "+esc(kv[1]))
			}
		}
		if len(lines) == 0 {
			lines = append(lines, "_not given_")
		}
		return "*" + title + "*\n" + strings.Join(lines, "\n")
	}
	d := detailsBlocks{ref: c.Ref}
	d.text(person("Applicant", c.Applicant), detailsPersonSections)
	if c.OnBehalfOf != nil {
		d.text(person("On behalf of", *c.OnBehalfOf), detailsPersonSections)
	}
	for i, p := range c.CoApplicants {
		if i == detailsCoApplicants {
			d.text(fmt.Sprintf("_… and %d more co-applicants: `trigger case show %s` lists them all._", len(c.CoApplicants)-i, c.Ref), 1)
			break
		}
		d.text(person(fmt.Sprintf("Co-applicant %d", i+1), p), detailsPersonSections)
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
	d.divider()
	// The flags first, then the resident's account, which may run long.
	var about []string
	if c.Location != "" {
		about = append(about, "*Location:* "+esc(c.Location))
	}
	about = append(about, "*Vulnerable:* "+yn(c.Vulnerable), "*Consent to share:* "+yn(c.ConsentToShare))
	d.text(strings.Join(about, "\n"), detailsPersonSections)
	if c.Description != "" {
		d.text("*What has been happening:* "+esc(c.Description), detailsDescriptionSections)
	}
	if len(c.Incidents) > 0 {
		var lines []string
		for i, in := range c.Incidents {
			lines = append(lines, fmt.Sprintf("%d. behaviour %s, reported %s to %s %s", i+1, orNK(in.OccurredOn), orNK(in.ReportedOn), esc(agencyName(cfg, in.Agency)), esc(in.Reference)))
		}
		d.text("*Complaints*\n"+strings.Join(lines, "\n"), detailsComplaintSections)
	}
	blocks := append(d.blocks, slack.NewContextBlock("", mrkdwn("Personal data: use only for this review. Viewing is recorded in the audit trail.")))
	return modal(ViewDetails, "Case "+c.Ref, "", c.Ref, blocks...)
}

// How much of a modal's 100 blocks each part of the details may take.
const (
	detailsPersonSections      = 2
	detailsCoApplicants        = 10
	detailsDescriptionSections = 20
	detailsComplaintSections   = 10
	detailsMaxBlocks           = maxViewBlocks - 1 // the context line last
)

// detailsBlocks collects the details modal's sections within its limits.
type detailsBlocks struct {
	ref    string
	blocks []slack.Block
	full   bool // out of room: the rest is in `trigger case show`
}

func (d *detailsBlocks) divider() {
	if len(d.blocks) < detailsMaxBlocks-1 {
		d.blocks = append(d.blocks, slack.NewDividerBlock())
	}
}

// text adds escaped mrkdwn over at most n sections; what does not fit is
// cut with "… (the full text: `trigger case show REF`)".
func (d *detailsBlocks) text(s string, n int) {
	if d.full {
		return
	}
	more := "… (the full text: `trigger case show " + d.ref + "`)"
	pieces := splitText(s, sectionChars)
	room := detailsMaxBlocks - len(d.blocks)
	if room <= 0 {
		d.full = true
		return
	}
	if keep := min(n, room); len(pieces) > keep {
		d.full = keep == room
		pieces = pieces[:keep]
		last := &pieces[keep-1]
		*last = strings.TrimSuffix(shortenMrkdwn(*last, sectionChars-chars(more)), "…") + more
	}
	for _, p := range pieces {
		d.blocks = append(d.blocks, slack.NewSectionBlock(mrkdwn(p), nil, nil))
	}
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

// ScheduleMeetingModal asks when and where the review meeting is, and
// whether it is a closed session (the applicant, who may have asked to
// come, is then told the date but not invited).
func ScheduleMeetingModal(ref string) slack.ModalViewRequest {
	date := slack.NewInputBlock(BlockDate, plain("Date"), nil, slack.NewDatePickerBlockElement(BlockDate))
	tp := slack.NewTimePickerBlockElement(BlockTime)
	tm := slack.NewInputBlock(BlockTime, plain("Time"), nil, tp)
	closed := slack.NewInputBlock(BlockClosed, plain("Closed session?"), nil, slack.NewCheckboxGroupsBlockElement(BlockClosed,
		slack.NewOptionBlockObject("closed", plain("Closed session: the applicant is not invited"), plain("They are told the date and may send their views in writing."))))
	closed.Optional = true
	return modal(ViewScheduleMeeting, "Schedule meeting", "Schedule", ref,
		date, tm,
		textInput(BlockPlace, "Place or link", "The applicant, if invited, is sent this", false, false, ""),
		textInput(BlockAttendees, "Attendees", "Who is invited", true, true, ""),
		closed,
	)
}

// RecordOutcomeModal records the meeting: attendance, findings, whether the
// response was adequate, and up to three recommendations. views are the
// applicant's emails since the case was accepted (their views in
// writing), shown to the coordinator at the top for the meeting to hear.
func RecordOutcomeModal(ref string, cfg *casefile.Config, views ...casefile.MessageText) slack.ModalViewRequest {
	var opts []*slack.OptionBlockObject
	for _, a := range cfg.Agencies {
		opts = append(opts, AgencyOption(a))
	}
	// Checkboxes take at most 10 options: more agencies are a multi-select.
	var attEl slack.BlockElement
	switch {
	case len(opts) <= maxCheckboxes:
		attEl = slack.NewCheckboxGroupsBlockElement(BlockAttendance, opts...)
	case len(opts) <= maxSelectOptions:
		attEl = slack.NewOptionsMultiSelectBlockElement(slack.MultiOptTypeStatic, plain("Choose the agencies"), BlockAttendance, opts...)
	default:
		attEl = slack.NewOptionsGroupMultiSelectBlockElement(slack.MultiOptTypeStatic, plain("Choose the agencies"), BlockAttendance, optionGroups(opts)...)
	}
	att := slack.NewInputBlock(BlockAttendance, plain("Agencies present"), nil, attEl)
	att.Optional = true
	owner := func(n int) slack.BlockElement {
		if len(opts) <= maxSelectOptions {
			return slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Agency"), recBlock(n, "owner"), opts...)
		}
		return slack.NewOptionsGroupSelectBlockElement(slack.OptTypeStatic, plain("Agency"), recBlock(n, "owner"), optionGroups(opts)...)
	}
	adequate := slack.NewInputBlock(BlockAdequate, plain("Was the partnership's response adequate?"), nil,
		slack.NewRadioButtonsBlockElement(BlockAdequate,
			slack.NewOptionBlockObject("yes", plain("Yes"), nil),
			slack.NewOptionBlockObject("no", plain("No"), nil)))
	var blocks []slack.Block
	if len(views) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(viewsText(views)), nil, nil), slack.NewDividerBlock())
	}
	blocks = append(blocks, att,
		textInput(BlockSummary, "The review's findings", "Plain words: this goes into the letter", true, false, ""),
		adequate,
		slack.NewSectionBlock(mrkdwn("*Recommendations* — each needs an owner agency and a due date. They are sent to the applicant for comment before the response is drafted."), nil, nil),
	)
	for n := 1; n <= recommendationSlots; n++ {
		owner := slack.NewInputBlock(recBlock(n, "owner"), plain(fmt.Sprintf("Recommendation %d: owner", n)), nil, owner(n))
		owner.Optional = true
		due := slack.NewInputBlock(recBlock(n, "due"), plain(fmt.Sprintf("Recommendation %d: due", n)), nil, slack.NewDatePickerBlockElement(recBlock(n, "due")))
		due.Optional = true
		blocks = append(blocks, textInput(recBlock(n, "text"), fmt.Sprintf("Recommendation %d", n), "", true, true, ""), owner, due)
	}
	return modal(ViewRecordOutcome, "Record outcome", "Record", ref, blocks...)
}

// AgencyOption is an agency as a choice in a form: its name, shortened to
// the 75 characters an option's text may have (the full name is in the
// configuration, the card and the letter), and its id as the value.
func AgencyOption(a casefile.Agency) *slack.OptionBlockObject {
	return slack.NewOptionBlockObject(a.ID, plain(shorten(a.Name, maxOptionText)), nil)
}

// optionGroups puts more than a select's 100 options into groups of 100.
func optionGroups(opts []*slack.OptionBlockObject) []*slack.OptionGroupBlockObject {
	var groups []*slack.OptionGroupBlockObject
	for i := 0; i < len(opts) && len(groups) < maxSelectOptions; i += maxSelectOptions {
		end := min(i+maxSelectOptions, len(opts))
		groups = append(groups, slack.NewOptionGroupBlockElement(plain(fmt.Sprintf("Agencies %d to %d", i+1, end)), opts[i:end]...))
	}
	return groups
}

var letterKindText = map[string]string{
	casefile.LetterMet:           "threshold met",
	casefile.LetterNotMet:        "threshold not met",
	casefile.LetterOutcome:       "case review outcome",
	casefile.LetterFurtherReview: "further review outcome",
}

// DraftMessage posts a letter draft for approval. With share false it shows
// a summary and a button to read the letter in a modal, because the letter
// names the resident; with share true the full text is in the message.
func DraftMessage(l *casefile.Letter, share bool) (string, []slack.Block) {
	return DraftMessageFor(l, nil, share)
}

// DraftMessageFor is DraftMessage with the reminders the case calls for
// (c may be nil): what approving the met letter does, a letter in Welsh or
// both languages, large print, easy read.
func DraftMessageFor(l *casefile.Letter, c *casefile.Case, share bool) (string, []slack.Block) {
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
	if notes := draftNotes(l, c); len(notes) > 0 {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(strings.Join(notes, "\n"))))
	}
	if share {
		// The letter in plain_text sections (nothing in it is read as a
		// mention or a link), as much as a message holds; Read the letter
		// shows the rest.
		budget := draftLetterChars
		for i, piece := range splitText(l.Text, sectionChars) {
			if budget -= chars(piece); budget < 0 || i == draftLetterBlocks {
				blocks = append(blocks, slack.NewContextBlock("", mrkdwn("_… the letter goes on: *Read the letter* shows all of it._")))
				break
			}
			blocks = append(blocks, slack.NewSectionBlock(plain(piece), nil, nil))
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

// A draft message's share of a message's limits (50 blocks, 12,000
// characters in all): the rest is the summary, the mention and the buttons.
const (
	draftLetterChars  = 10000
	draftLetterBlocks = 40
)

// editPartChars is the most of a letter one input of the edit form holds
// when it opens: below the input's 3,000, so that a part can grow.
const editPartChars = 2500

// LetterModal shows a letter's full text.
func LetterModal(l *casefile.Letter) slack.ModalViewRequest {
	blocks := []slack.Block{slack.NewContextBlock("", mrkdwn(fmt.Sprintf("%s · version %d · fingerprint `%s`", letterKindText[l.Kind], l.Version, l.ShortHash())))}
	for _, piece := range splitText(l.Text, sectionChars) {
		if len(blocks) == maxViewBlocks-1 {
			blocks = append(blocks, slack.NewContextBlock("", mrkdwn("_… the letter is too long to show here in full._")))
			break
		}
		blocks = append(blocks, slack.NewSectionBlock(plain(piece), nil, nil))
	}
	return modal(ViewReadLetter, fmt.Sprintf("Letter v%d", l.Version), "", fmt.Sprintf("%s|%d", l.CaseRef, l.ID), blocks...)
}

// EditLetterModal lets the coordinator edit the text. A long letter comes in
// parts, because Slack's text input holds 3,000 characters: cut at
// paragraph or line breaks (splitLetter), and joined again on saving with
// exactly the whitespace that was cut, so that saving what was not changed
// changes nothing. The metadata names the letter the form was opened on and
// how many parts it has; the cuts are worked out again from that letter.
func EditLetterModal(l *casefile.Letter) slack.ModalViewRequest {
	parts, _ := splitLetter(l.Text, editPartChars)
	if len(parts)+1 > maxViewBlocks {
		return modal(ViewEditDraft, "Edit the letter", "", fmt.Sprintf("%s|%d|0", l.CaseRef, l.ID),
			slack.NewSectionBlock(mrkdwn(fmt.Sprintf("Version %d is too long to edit in Slack (%d characters).", l.Version, chars(l.Text))), nil, nil))
	}
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(fmt.Sprintf("Editing version %d. Saving makes version %d, which then needs approval.", l.Version, l.Version+1)), nil, nil)}
	for i, c := range parts {
		label := "Letter"
		if len(parts) > 1 {
			label = fmt.Sprintf("Letter, part %d of %d", i+1, len(parts))
		}
		in := textInput(letterPartBlock(i+1), label, "", true, false, c)
		in.Element.(*slack.PlainTextInputBlockElement).MaxLength = maxInput
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
