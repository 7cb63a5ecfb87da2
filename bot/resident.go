package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/casefile"
)

// The resident at the centre, in Slack: what the card says of the
// resident, the buttons and forms to change their contact officer and
// record their needs and choices, the consultation, and a request to review
// a not-met decision.

var involvementText = map[casefile.Involvement]string{
	casefile.InvolvementUnknown: "not said yet",
	casefile.InvolvementMeeting: "invite to the meeting",
	casefile.InvolvementWriting: "views in writing",
	casefile.InvolvementOutcome: "outcome only",
}

var languageText = map[casefile.LanguagePref]string{
	casefile.LangEnglish: "English",
	casefile.LangWelsh:   "Welsh",
	"":                   "not known",
}

var formatText = map[string]string{
	casefile.FormatLargePrint: "large print",
	casefile.FormatEasyRead:   "easy read",
}

// residentLines is what the card says of the resident: their contact
// officer (staff), how involved they want to be, the language and formats
// letters need, the consultation, and any review of a not-met decision.
// No name, address or contact detail.
func residentLines(c *casefile.Case, cfg *casefile.Config) string {
	co := c.ContactOfficer
	contact := co.Name
	if co.SlackID != "" {
		contact = "<@" + co.SlackID + ">"
	}
	parts := []string{"contact officer " + contact}
	if d := c.Threshold.Decision; d != nil && d.Outcome == casefile.Met {
		parts = append(parts, "involvement: "+involvementText[c.Involvement.Choice])
	}
	if cfg.Partnership.Welsh() || c.Language != "" {
		lang := languageText[c.Language]
		if c.Language == "" && cfg.Partnership.Welsh() {
			lang += " (letters in Welsh and English)"
		}
		parts = append(parts, "language: "+lang)
	}
	if len(c.AccessibleFormat) > 0 {
		var fs []string
		for _, f := range c.AccessibleFormat {
			fs = append(fs, formatText[f])
		}
		parts = append(parts, "format: "+strings.Join(fs, ", "))
	}
	lines := []string{"*Resident:* " + strings.Join(parts, " · ")}
	if k := c.Consultation; k != nil && (c.Status == casefile.StatusDrafting || c.Status == casefile.StatusAwaitingApproval) {
		switch {
		case k.Open():
			lines = append(lines, fmt.Sprintf("*Consultation:* waiting for the applicant's comments on the recommendations until *%s*; the draft response follows", shortDate(k.ReplyBy)))
		case k.RepliedAt != nil:
			lines = append(lines, "*Consultation:* the applicant replied "+k.RepliedAt.In(casefile.London).Format("2 Jan"))
		case k.SkippedBy != "":
			lines = append(lines, "*Consultation:* skipped by "+mentionOrName(k.SkippedBy))
		default:
			lines = append(lines, "*Consultation:* no reply by "+shortDate(k.ReplyBy))
		}
	}
	for _, r := range c.ThresholdReviews {
		line := "*Review of the threshold decision:* requested " + r.RequestedAt.In(casefile.London).Format("2 Jan 2006")
		if r.ForwardedTo != "" {
			line += ", forwarded to " + r.Body
		} else {
			line += ", for " + r.Body
		}
		switch r.Result {
		case casefile.ReviewUpheld:
			line += " · *upheld*: the threshold should have been met"
		case casefile.ReviewNotUpheld:
			line += " · not upheld: the decision stands"
		default:
			line += " · result awaited"
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

func mentionOrName(s string) string {
	if strings.HasPrefix(s, "U") && !strings.ContainsAny(s, " @") {
		return "<@" + s + ">"
	}
	return s
}

// viewsText lists the applicant's views in writing for the meeting, as
// much of each as fits.
func viewsText(views []casefile.MessageText) string {
	text := "*The applicant's views in writing* (their emails since the case was accepted), for the meeting to hear:"
	per := max(200, 2600/len(views))
	for _, v := range views {
		body := strings.Join(strings.Fields(v.Text), " ")
		if r := []rune(body); len(r) > per {
			body = string(r[:per]) + "…"
		}
		line := fmt.Sprintf("\n• %s: %s", v.At.In(casefile.London).Format("2 Jan"), body)
		if len(text)+len(line) > 2900 {
			text += "\n• … more in *View details* and `trigger case export`"
			break
		}
		text += line
	}
	return text
}

// draftNotes remind the approvers of what a draft needs before it goes.
func draftNotes(l *casefile.Letter, c *casefile.Case) []string {
	var notes []string
	if l.Kind == casefile.LetterMet {
		notes = append(notes, "Approving sends this letter now; the case goes on as it is.")
	}
	switch {
	case l.Bilingual():
		notes = append(notes, "In Welsh and English (Welsh first): one fingerprint covers both. Anything typed in English (reasons, findings, actions) must be in Welsh too: use *Edit* before approving.")
	case l.Lang == casefile.LangWelsh:
		notes = append(notes, "In Welsh, as the applicant prefers. Anything typed in English (reasons, findings, actions) must be put into Welsh: use *Edit* before approving.")
	}
	if c != nil {
		if c.Needs(casefile.FormatLargePrint) {
			notes = append(notes, "The applicant needs *large print*: the email is in large print; print any paper copy at 16 pt or more.")
		}
		if c.Needs(casefile.FormatEasyRead) {
			notes = append(notes, "The applicant needs *easy read*: prepare an easy-read version and send it with this letter.")
		}
	}
	return notes
}

// ContactOfficerModal chooses the case's contact officer among the
// configured [[officer]] entries, or the default (the coordinator's).
func ContactOfficerModal(ref string, cfg *casefile.Config, current casefile.ContactOfficer) slack.ModalViewRequest {
	if len(cfg.Officers) == 0 {
		return modal(ViewContactOfficer, "Change contact officer", "", ref,
			slack.NewSectionBlock(mrkdwn("No officer is configured to be a contact officer. Add each one, with their direct email and phone, as an `[[officer]]` of the configuration (`slack_id`, `name`, `title`, `email`, `phone`)."), nil, nil))
	}
	opt := func(value, text string) *slack.OptionBlockObject {
		if r := []rune(text); len(r) > 75 {
			text = string(r[:74]) + "…"
		}
		return slack.NewOptionBlockObject(value, plain(text), nil)
	}
	opts := []*slack.OptionBlockObject{opt("default", "The coordinator (default)")}
	initial := opts[0]
	for _, o := range cfg.Officers[:min(len(cfg.Officers), 99)] {
		label := o.Name
		if o.Title != "" {
			label += ", " + o.Title
		}
		ob := opt(o.SlackID, label)
		opts = append(opts, ob)
		if !current.Default && current.SlackID == o.SlackID {
			initial = ob
		}
	}
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Officer"), BlockOfficer, opts...)
	sel.InitialOption = initial
	return modal(ViewContactOfficer, "Change contact officer", "Change", ref,
		slack.NewSectionBlock(mrkdwn("The contact officer is the applicant's single point of contact: every letter names them with their direct email and phone. The applicant is told of a change."), nil, nil),
		slack.NewInputBlock(BlockOfficer, plain("Contact officer"), nil, sel),
	)
}

// ResidentNeedsModal records how involved the applicant wants to be, the
// language they prefer and the formats they need, as they told the
// coordinator.
func ResidentNeedsModal(c *casefile.Case, cfg *casefile.Config) slack.ModalViewRequest {
	radio := func(block string, options [][2]string, current string) *slack.InputBlock {
		var opts []*slack.OptionBlockObject
		var initial *slack.OptionBlockObject
		for _, o := range options {
			ob := slack.NewOptionBlockObject(o[0], plain(o[1]), nil)
			opts = append(opts, ob)
			if o[0] == current {
				initial = ob
			}
		}
		el := slack.NewRadioButtonsBlockElement(block, opts...)
		el.InitialOption = initial
		return slack.NewInputBlock(block, plain(map[string]string{BlockInvolvement: "How involved do they want to be?", BlockLanguage: "Language for letters"}[block]), nil, el)
	}
	inv := radio(BlockInvolvement, [][2]string{
		{string(casefile.InvolvementMeeting), "Invite them to the review meeting"},
		{string(casefile.InvolvementWriting), "They will send their views in writing"},
		{string(casefile.InvolvementOutcome), "Just tell them the outcome"},
	}, string(c.Involvement.Choice))
	inv.Optional = true
	langOpts := [][2]string{{"unknown", "Not known"}, {casefile.LangEnglish, "English"}}
	if cfg.Partnership.Welsh() || c.Language == casefile.LangWelsh {
		langOpts = [][2]string{{"unknown", "Not known: Welsh and English"}, {casefile.LangWelsh, "Welsh (Cymraeg)"}, {casefile.LangEnglish, "English"}}
	}
	current := string(c.Language)
	if current == "" {
		current = "unknown"
	}
	lang := radio(BlockLanguage, langOpts, current)
	lp := slack.NewOptionBlockObject(casefile.FormatLargePrint, plain("Large print"), plain("Letters in 16 pt or more"))
	er := slack.NewOptionBlockObject(casefile.FormatEasyRead, plain("Easy read"), plain("You prepare an easy-read version of each letter"))
	formats := slack.NewCheckboxGroupsBlockElement(BlockFormats, lp, er)
	for _, f := range c.AccessibleFormat {
		formats.InitialOptions = append(formats.InitialOptions, map[string]*slack.OptionBlockObject{casefile.FormatLargePrint: lp, casefile.FormatEasyRead: er}[f])
	}
	fb := slack.NewInputBlock(BlockFormats, plain("Accessible formats"), nil, formats)
	fb.Optional = true
	return modal(ViewResidentNeeds, "Resident's needs", "Save", c.Ref,
		slack.NewSectionBlock(mrkdwn("What the applicant told you (a phone call, a letter). Their replies by email are read for these too."), nil, nil),
		inv, lang, fb)
}

// ThresholdReviewModal records a request to review the not-met decision
// and whether the applicant agreed to their details going with it.
func ThresholdReviewModal(ref, body string) slack.ModalViewRequest {
	consent := slack.NewInputBlock(BlockConsent, plain("May their details go with it?"), nil, slack.NewRadioButtonsBlockElement(BlockConsent,
		slack.NewOptionBlockObject("yes", plain("Yes: send their application and details"), nil),
		slack.NewOptionBlockObject("no", plain("No: send the request without personal data"), nil)))
	return modal(ViewThresholdReview, "Threshold review request", "Record and forward", ref,
		slack.NewSectionBlock(mrkdwn("The applicant asked for the decision that the threshold was not met to be reviewed by "+body+". It is recorded and forwarded to them."), nil, nil),
		consent)
}

// ThresholdResultModal records what the body found.
func ThresholdResultModal(ref, body string) slack.ModalViewRequest {
	upheld := slack.NewInputBlock(BlockUpheld, plain("Did they uphold the request?"), nil, slack.NewRadioButtonsBlockElement(BlockUpheld,
		slack.NewOptionBlockObject("yes", plain("Yes: the threshold should have been met"), nil),
		slack.NewOptionBlockObject("no", plain("No: the decision stands"), nil)))
	return modal(ViewThresholdResult, "Threshold review result", "Record", ref,
		slack.NewSectionBlock(mrkdwn("The result of the review by "+body+"."), nil, nil),
		upheld,
		textInput(BlockNotes, "Notes", "What they found (kept on the case)", true, true, ""))
}

// MessageModal shows an email from the applicant to a person with a role.
func MessageModal(ref string, m casefile.MessageText) slack.ModalViewRequest {
	blocks := []slack.Block{slack.NewContextBlock("", mrkdwn(fmt.Sprintf("%s · %s", m.At.In(casefile.London).Format("Mon 2 Jan 2006 15:04"), m.Subject)))}
	text := strings.TrimSpace(m.Text)
	if text == "" {
		text = "(no text)"
	}
	parts := splitText(text, 2900)
	for _, c := range parts[:min(len(parts), 90)] {
		blocks = append(blocks, slack.NewSectionBlock(plain(c), nil, nil))
	}
	if len(parts) > 90 {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn("… (the full text: `trigger case show "+ref+"`)")))
	}
	return modal(ViewReadMessage, "Applicant's email", "", ref, blocks...)
}

// residentClick handles the resident buttons.
func (b *Bot) residentClick(ctx context.Context, cb *slack.InteractionCallback, a *slack.BlockAction, who casefile.Actor, lookupErr error, ref, rest string) {
	may := func(act casefile.Action) bool { return b.permit(ctx, cb, a.ActionID, lookupErr, who.Permit(act)) }
	load := func() *casefile.Case {
		c, err := b.Store.Case(ctx, ref)
		if err != nil {
			b.ephemeral(ctx, cb, explain(err))
			return nil
		}
		return c
	}
	switch a.ActionID {
	case ActionChangeContact:
		if !may(casefile.ActChangeContactOfficer) {
			return
		}
		if c := load(); c != nil {
			b.openModal(ctx, cb, ContactOfficerModal(ref, b.Config, c.ContactOfficer))
		}
	case ActionResidentNeeds:
		if !may(casefile.ActSetPreferences) {
			return
		}
		if c := load(); c != nil {
			b.openModal(ctx, cb, ResidentNeedsModal(c, b.Config))
		}
	case ActionInvolvementMeeting, ActionInvolvementWriting, ActionInvolvementOutcome:
		if !may(casefile.ActRecordInvolvement) {
			return
		}
		choice := map[string]casefile.Involvement{ActionInvolvementMeeting: casefile.InvolvementMeeting,
			ActionInvolvementWriting: casefile.InvolvementWriting, ActionInvolvementOutcome: casefile.InvolvementOutcome}[a.ActionID]
		changed, err := b.Store.RecordInvolvement(ctx, who, ref, choice)
		switch {
		case err != nil:
			b.refused(ctx, cb, a.ActionID, err)
		case !changed:
			b.ephemeral(ctx, cb, "That was already recorded.")
		default:
			b.ephemeral(ctx, cb, "Recorded: the applicant wants "+choice.Words()+".")
		}
	case ActionSkipConsultation:
		if !may(casefile.ActSkipConsultation) {
			return
		}
		b.openModal(ctx, cb, CommentModal(ViewSkipConsult, "Skip consultation", "Skip and draft",
			"The response is drafted now, without waiting for the applicant's comments. Say why: it is recorded (for example, what they said by phone).", "Reason", ref))
	case ActionReadMessage:
		if !may(casefile.ActViewDetails) {
			return
		}
		m, err := b.Store.MessageText(ctx, ref, rest)
		if err != nil {
			b.ephemeral(ctx, cb, explain(err))
			return
		}
		if err := b.Store.Audit(ctx, ref, who.Audit(), "details.viewed", map[string]any{"message_id": rest}); err != nil {
			b.ephemeral(ctx, cb, explain(err))
			return
		}
		b.openModal(ctx, cb, MessageModal(ref, m))
	case ActionRecordThresholdReview:
		if !may(casefile.ActRecordThresholdReview) {
			return
		}
		b.openModal(ctx, cb, ThresholdReviewModal(ref, b.Config.FurtherReview.ThresholdDecision))
	case ActionThresholdReviewResult:
		if !may(casefile.ActThresholdReviewResult) {
			return
		}
		b.openModal(ctx, cb, ThresholdResultModal(ref, b.Config.FurtherReview.ThresholdDecision))
	}
}

// residentSubmit handles the resident forms.
func (b *Bot) residentSubmit(ctx context.Context, cb *slack.InteractionCallback, v values, ref string, who casefile.Actor, refusal func(error) *Response, fail func(string, error) Response) Response {
	switch cb.View.CallbackID {
	case ViewContactOfficer:
		if r := refusal(who.Permit(casefile.ActChangeContactOfficer)); r != nil {
			return *r
		}
		id := v.option(BlockOfficer)
		if id == "default" {
			id = ""
		}
		if _, err := b.Store.SetContactOfficer(ctx, who, ref, id); err != nil {
			return fail(BlockOfficer, err)
		}
	case ViewResidentNeeds:
		if r := refusal(who.Permit(casefile.ActSetPreferences)); r != nil {
			return *r
		}
		if choice := casefile.Involvement(v.option(BlockInvolvement)); choice != casefile.InvolvementUnknown {
			if _, err := b.Store.RecordInvolvement(ctx, who, ref, choice); err != nil {
				return fail(BlockInvolvement, err)
			}
		}
		formats := v.options(BlockFormats)
		slices.Sort(formats)
		if _, err := b.Store.SetPreferences(ctx, who, ref, casefile.LanguagePref(v.option(BlockLanguage)), formats); err != nil {
			return fail(BlockLanguage, err)
		}
	case ViewSkipConsult:
		if r := refusal(who.Permit(casefile.ActSkipConsultation)); r != nil {
			return *r
		}
		if _, err := b.Store.SkipConsultation(ctx, who, ref, v.text(BlockComment)); err != nil {
			return fail(BlockComment, err)
		}
	case ViewThresholdReview:
		if r := refusal(who.Permit(casefile.ActRecordThresholdReview)); r != nil {
			return *r
		}
		answer := v.option(BlockConsent)
		if answer == "" {
			return Response{Ack: viewErrors(map[string]string{BlockConsent: "Please answer: it decides what is sent."})}
		}
		consent := answer == "yes"
		if _, err := b.Store.RequestThresholdReview(ctx, who, ref, &consent); err != nil {
			return fail(BlockConsent, err)
		}
	case ViewThresholdResult:
		if r := refusal(who.Permit(casefile.ActThresholdReviewResult)); r != nil {
			return *r
		}
		upheld := v.option(BlockUpheld)
		if upheld == "" {
			return Response{Ack: viewErrors(map[string]string{BlockUpheld: "Please answer."})}
		}
		if _, err := b.Store.RecordThresholdReviewResult(ctx, who, ref, upheld == "yes", v.text(BlockNotes)); err != nil {
			return fail(BlockUpheld, err)
		}
	}
	return Response{}
}
