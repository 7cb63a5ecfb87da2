package bot

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/casefile"
)

// The /trigger slash command: the coordinator's desk from any channel.
//
//	/trigger CT-2026-0012   the case's summary, with a link to its channel
//	/trigger new            a form for an application by phone, letter or in person
//	/trigger find TEXT      cases whose applicant, location or agency reference matches (the coordinator's)
//	/trigger help           this list
//
// It is acknowledged at once, with nothing; the answer follows through the
// command's response_url (ephemeral: only the person sees it), or, for
// new, the form opens with the command's trigger_id.

// Command is the bot's slash command.
const Command = "/trigger"

// findResults is how many cases /trigger find lists.
const findResults = 20

// HandleCommand answers a slash command within Slack's 3 seconds: nothing
// at once, the work after.
func (b *Bot) HandleCommand(ctx context.Context, cmd slack.SlashCommand) Response {
	if cmd.Command != Command {
		return Response{}
	}
	return Response{After: func(ctx context.Context) { b.command(ctx, cmd) }}
}

func (b *Bot) command(ctx context.Context, cmd slack.SlashCommand) {
	verb, rest, _ := strings.Cut(strings.TrimSpace(cmd.Text), " ")
	rest = strings.TrimSpace(rest)
	log := b.Logger.With("command", Command, "verb", commandVerb(verb))
	switch v := strings.ToLower(verb); {
	case v == "" || v == "help":
		b.respond(ctx, cmd, CommandHelp(""), nil)
	case v == "new":
		who, lookupErr := b.actorNow(cmd.UserID)
		if err := who.Permit(casefile.ActCreateCase); err != nil {
			b.commandRefused(ctx, cmd, "new", lookupErr, err)
			return
		}
		b.openCommandModal(ctx, cmd, NewCaseModal(casefile.DateOf(b.now()), b.Config))
	case v == "find":
		who, lookupErr := b.actorNow(cmd.UserID)
		if err := who.Permit(casefile.ActFindCases); err != nil {
			b.commandRefused(ctx, cmd, "find", lookupErr, err)
			return
		}
		found, total, err := b.Store.FindCases(ctx, who, rest, findResults)
		if err != nil {
			if casefile.ErrorCode(err) == casefile.EINTERNAL {
				log.Error("find failed", "err", err)
			}
			b.respond(ctx, cmd, explain(err), nil)
			return
		}
		text, blocks := FindMessage(found, total, b.channelsOf(ctx, found))
		b.respond(ctx, cmd, text, blocks)
	case casefile.RefRE.MatchString(strings.ToUpper(verb)) && rest == "":
		ref := strings.ToUpper(verb)
		c, err := b.Store.Case(ctx, ref)
		if err != nil {
			b.respond(ctx, cmd, explain(err), nil)
			return
		}
		who, lookupErr := b.actor(ctx, cmd.UserID)
		if err := who.PermitSeeCase(casefile.CaseAgencies(c, b.Config)); err != nil {
			b.commandRefused(ctx, cmd, "case", lookupErr, err)
			return
		}
		reqs, err := b.Store.Requests(ctx, ref)
		if err != nil {
			log.Error("case summary: requests", "case", ref, "err", err)
			b.respond(ctx, cmd, explain(err), nil)
			return
		}
		text, blocks := CaseSummary(c, reqs, casefile.DateOf(b.now()), b.Config, who.Permit(casefile.ActViewDetails) == nil)
		b.respond(ctx, cmd, text, blocks)
	default:
		b.respond(ctx, cmd, CommandHelp("I did not understand that."), nil)
	}
}

// commandVerb is the verb for the log: one of the known ones, never what
// was typed (a search's text is personal data).
func commandVerb(v string) string {
	switch v = strings.ToLower(v); {
	case v == "", v == "help", v == "new", v == "find":
		return v
	case casefile.RefRE.MatchString(strings.ToUpper(v)):
		return "case"
	}
	return "unknown"
}

// commandRefused tells the person why not, privately; when Slack could not
// be asked who they are, to try again instead.
func (b *Bot) commandRefused(ctx context.Context, cmd slack.SlashCommand, verb string, lookupErr, err error) {
	if lookupErr != nil {
		b.respond(ctx, cmd, slackBusy, nil)
		return
	}
	if b.OnRefusal != nil {
		b.OnRefusal(Command + " " + verb)
	}
	b.respond(ctx, cmd, explain(err), nil)
}

// respond answers a command through its response_url, to the person alone.
func (b *Bot) respond(ctx context.Context, cmd slack.SlashCommand, text string, blocks []slack.Block) {
	opts := []slack.MsgOption{slack.MsgOptionResponseURL(cmd.ResponseURL, slack.ResponseTypeEphemeral), slack.MsgOptionText(shorten(text, maxText), false)}
	if len(blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	err := b.call(ctx, "response_url", func() error {
		_, _, err := b.API.PostMessageContext(ctx, cmd.ChannelID, opts...)
		return err
	})
	if err != nil {
		b.Logger.Warn("slack: a command's answer was not shown", "command", Command, "error", slackCode(err))
	}
}

// openCommandModal opens a form with the command's trigger_id.
func (b *Bot) openCommandModal(ctx context.Context, cmd slack.SlashCommand, v slack.ModalViewRequest) {
	err := b.call(ctx, "views.open", func() error {
		_, err := b.API.OpenViewContext(ctx, cmd.TriggerID, v)
		return err
	})
	switch code := slackCode(err); {
	case err == nil:
	case code == "expired_trigger_id" || code == "exchanged_trigger_id" || code == "invalid_trigger_id":
		b.respond(ctx, cmd, "Slack took too long to open the form. Please type the command again.", nil)
	default:
		b.Logger.Error("slack: views.open failed", "callback", v.CallbackID, "error", code)
		b.respond(ctx, cmd, "The form could not be opened ("+code+"). Please try again in a minute.", nil)
	}
}

// channelsOf maps cases to their channels, where they have one.
func (b *Bot) channelsOf(ctx context.Context, cs []casefile.CaseSummary) map[string]string {
	out := map[string]string{}
	for _, c := range cs {
		if ch, err := b.Store.Channel(ctx, c.Ref); err == nil {
			out[c.Ref] = ch.ChannelID
		}
	}
	return out
}

// CommandHelp lists what /trigger does, after a first line when given.
func CommandHelp(first string) string {
	lines := []string{
		"*/trigger CT-2026-0012* — a case's status, next deadline and channel",
		"*/trigger new* — open a case from a phone call, a letter or a visit (the coordinator)",
		"*/trigger find* _name, place or agency reference_ — find cases (the coordinator; searches are recorded)",
		"*/trigger help* — this list",
		"The app's *Home* tab shows every open case, the requests waiting for your agency and the letters awaiting your approval.",
	}
	if first != "" {
		lines = append([]string{first}, lines...)
	}
	return strings.Join(lines, "\n")
}

// CaseSummary is /trigger REF's answer: status, dates, deadlines, the
// agencies' replies and the channel — no personal data. details adds View
// details (the person may see them; the modal records that they did).
func CaseSummary(c *casefile.Case, reqs []casefile.InfoRequest, today casefile.Date, cfg *casefile.Config, details bool) (string, []slack.Block) {
	text := c.Ref + " · " + statusText[c.Status]
	head := fmt.Sprintf("*%s* · %s · %s", c.Ref, channelLink(c.Channel), statusText[c.Status])
	days := max(0, casefile.DaysBetween(casefile.DateOf(c.ReceivedAt), today))
	lines := []string{
		fmt.Sprintf("Received %s (%d %s ago) · %s · area %s", c.ReceivedAt.In(casefile.London).Format("Mon 2 Jan 2006"), days, dayWord(days), routeText[c.Route], area(c)),
	}
	if name, d, ok := c.NextDeadline(); ok {
		line := fmt.Sprintf("Next: %s by %s", deadlineText[name], shortDate(d.Due))
		if d.Due.Before(today) && name != casefile.DeadlineFurtherReview {
			line += " · *overdue*"
		}
		lines = append(lines, line)
	}
	if len(reqs) > 0 {
		var got, waiting []string
		for _, r := range reqs {
			if r.Replied {
				got = append(got, esc(shorten(agencyName(cfg, r.Agency), cardValueChars)))
			} else {
				waiting = append(waiting, fmt.Sprintf("%s (due %s)", esc(shorten(agencyName(cfg, r.Agency), cardValueChars)), shortDate(r.Due)))
			}
		}
		if len(got) > 0 {
			lines = append(lines, "Replied: "+strings.Join(got, ", "))
		}
		if len(waiting) > 0 {
			lines = append(lines, "Waiting for: "+strings.Join(waiting, ", "))
		}
	}
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(shortenMrkdwn(head+"\n"+strings.Join(lines, "\n"), maxText)), nil, nil)}
	if details {
		blocks = append(blocks, slack.NewActionBlock("summary_actions", button(ActionViewDetails, c.Ref, "View details", "")))
	}
	return text, blocks
}

// FindMessage lists the cases a search found: references, statuses and
// channels only.
func FindMessage(found []casefile.CaseSummary, total int, channels map[string]string) (string, []slack.Block) {
	if total == 0 {
		return "No case matches.", nil
	}
	text := fmt.Sprintf("%s match.", plural(total, "case"))
	var lines []string
	for _, c := range found {
		line := fmt.Sprintf("*%s* · %s · %s", c.Ref, channelLink(channels[c.Ref]), statusText[c.Status])
		if c.NextDeadline != "" {
			line += " · next: " + deadlineText[c.NextDeadline] + " by " + shortDate(c.NextDue)
		}
		lines = append(lines, line)
	}
	if total > len(found) {
		lines = append(lines, fmt.Sprintf("… and %d more: say more of the name, place or reference.", total-len(found)))
	}
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil)}
	for _, piece := range splitText(strings.Join(lines, "\n"), sectionChars) {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(piece), nil, nil))
	}
	blocks = append(blocks, slack.NewContextBlock("", mrkdwn("Searches are recorded in the audit trail (who searched and which cases were shown).")))
	return text, blocks
}

// The /trigger new form: an application received by phone, letter or in
// person, with the fields of `trigger case add --json`.
const (
	BlockNewVia         = "nc_via"
	BlockNewReceived    = "nc_received"
	BlockNewRoute       = "nc_route"
	BlockNewConsent     = "nc_consent"
	BlockNewVulnerable  = "nc_vulnerable"
	BlockNewLocation    = "nc_location"
	BlockNewDescription = "nc_description"
	BlockNewLanguage    = "nc_language" // only when the partnership writes in Welsh too
	BlockNewFormats     = "nc_formats"
	newCaseComplaintRow = 4 // complaint rows on the form
)

// personBlock names an input of the applicant ("app") or the person they
// apply for ("vic"): name, email, phone, address, postcode.
func personBlock(who, field string) string { return "nc_" + who + "_" + field }

// complaintBlock names an input of complaint row n (1-based): occurred,
// reported, agency, reference, description.
func complaintBlock(n int, field string) string { return "nc_c" + strconv.Itoa(n) + "_" + field }

var personFields = []struct{ field, label string }{
	{"name", "Name"}, {"email", "Email"}, {"phone", "Phone"}, {"address", "Address"}, {"postcode", "Postcode"},
}

// NewCaseModal is the form /trigger new opens.
func NewCaseModal(today casefile.Date, cfg *casefile.Config) slack.ModalViewRequest {
	opt := func(v, text string) *slack.OptionBlockObject { return slack.NewOptionBlockObject(v, plain(text), nil) }
	via := slack.NewInputBlock(BlockNewVia, plain("Received by"), nil, slack.NewRadioButtonsBlockElement(BlockNewVia,
		opt("phone", "Phone call"), opt("letter", "Letter"), opt("in_person", "In person")))
	received := slack.NewDatePickerBlockElement(BlockNewReceived)
	received.InitialDate = today.String()
	receivedIn := slack.NewInputBlock(BlockNewReceived, plain("Date received"), plain("Today unless it came earlier (a letter)"), received)
	receivedIn.Optional = true
	routes := []*slack.OptionBlockObject{
		opt(string(casefile.RouteIndividual), "The resident for themselves"),
		opt(string(casefile.RouteOnBehalf), "On behalf of the victim"),
		opt(string(casefile.RouteCommunity), "Residents together (community)"),
		opt(string(casefile.RouteHate), "A hate incident"),
		opt(string(casefile.RouteUnknown), "Not known yet"),
	}
	route := slack.NewInputBlock(BlockNewRoute, plain("Who applies"), nil, slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Choose"), BlockNewRoute, routes...))
	route.Optional = true
	yesNo := func(block, label string) *slack.InputBlock {
		in := slack.NewInputBlock(block, plain(label), nil, slack.NewRadioButtonsBlockElement(block, opt("yes", "Yes"), opt("no", "No")))
		in.Optional = true
		return in
	}
	blocks := []slack.Block{
		slack.NewSectionBlock(mrkdwn("An application made by phone, by letter or in person. It is opened like an emailed one: reference, channel, threshold assessment and, with an email address, the acknowledgement."), nil, nil),
		via, receivedIn, route,
		slack.NewHeaderBlock(plain("The applicant")),
	}
	for _, f := range personFields {
		blocks = append(blocks, textInput(personBlock("app", f.field), f.label, "", f.field == "address", true, ""))
	}
	blocks = append(blocks, slack.NewHeaderBlock(plain("On behalf of")),
		slack.NewContextBlock("", mrkdwn("Only when someone applies for the victim (a relative, a carer, a councillor).")))
	for _, f := range personFields {
		blocks = append(blocks, textInput(personBlock("vic", f.field), f.label, "", f.field == "address", true, ""))
	}
	blocks = append(blocks, slack.NewHeaderBlock(plain("The application")),
		yesNo(BlockNewConsent, "Consent to share with the agencies"),
		yesNo(BlockNewVulnerable, "Vulnerable"),
		textInput(BlockNewLocation, "Where it happens", "", false, true, ""),
		textInput(BlockNewDescription, "What is happening", "In the applicant's words", true, true, ""),
	)
	if cfg.Partnership.Welsh() {
		lang := slack.NewInputBlock(BlockNewLanguage, plain("Letters in"), nil, slack.NewRadioButtonsBlockElement(BlockNewLanguage,
			opt(casefile.LangEnglish, "English"), opt(casefile.LangWelsh, "Welsh (Cymraeg)")))
		lang.Optional = true
		blocks = append(blocks, lang)
	}
	formats := slack.NewInputBlock(BlockNewFormats, plain("Accessible formats"), nil, slack.NewCheckboxGroupsBlockElement(BlockNewFormats,
		opt(casefile.FormatLargePrint, "Large print"), opt(casefile.FormatEasyRead, "Easy read")))
	formats.Optional = true
	blocks = append(blocks, formats,
		slack.NewHeaderBlock(plain("Complaints")),
		slack.NewContextBlock("", mrkdwn(fmt.Sprintf("Up to %d reports to an agency; leave a row empty when there are fewer (more can be added with `trigger case add --json`).", newCaseComplaintRow))),
	)
	for n := 1; n <= newCaseComplaintRow; n++ {
		occurred := slack.NewInputBlock(complaintBlock(n, "occurred"), plain(fmt.Sprintf("Complaint %d: the behaviour's date", n)), nil, slack.NewDatePickerBlockElement(complaintBlock(n, "occurred")))
		reported := slack.NewInputBlock(complaintBlock(n, "reported"), plain(fmt.Sprintf("Complaint %d: reported on", n)), nil, slack.NewDatePickerBlockElement(complaintBlock(n, "reported")))
		agency := slack.NewInputBlock(complaintBlock(n, "agency"), plain(fmt.Sprintf("Complaint %d: reported to", n)), nil, agencySelect(complaintBlock(n, "agency"), cfg))
		for _, in := range []*slack.InputBlock{occurred, reported, agency} {
			in.Optional = true
		}
		blocks = append(blocks, occurred, reported, agency,
			textInput(complaintBlock(n, "reference"), fmt.Sprintf("Complaint %d: the agency's reference", n), "", false, true, ""),
			textInput(complaintBlock(n, "description"), fmt.Sprintf("Complaint %d: what happened", n), "", false, true, ""))
	}
	return modal(ViewNewCase, "New application", "Open the case", "", blocks...)
}

// agencySelect chooses one configured agency (in groups past 100).
func agencySelect(actionID string, cfg *casefile.Config) slack.BlockElement {
	var opts []*slack.OptionBlockObject
	for _, a := range cfg.Agencies {
		opts = append(opts, AgencyOption(a))
	}
	if len(opts) <= maxSelectOptions {
		return slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Agency"), actionID, opts...)
	}
	return slack.NewOptionsGroupSelectBlockElement(slack.OptTypeStatic, plain("Agency"), actionID, optionGroups(opts)...)
}

// CaseOpenedModal is what the form shows once the case is opened.
func CaseOpenedModal(c *casefile.Case) slack.ModalViewRequest {
	text := fmt.Sprintf("*%s* is open. Its channel is being created, and the threshold assessment is on its card there: %s.",
		c.Ref, map[casefile.Assessment]string{casefile.Met: "met", casefile.NotMet: "not met", casefile.Unknown: "cannot tell yet"}[c.Threshold.Assessment])
	if c.Applicant.Email != "" {
		text += "\nThe applicant is emailed the acknowledgement."
	} else {
		text += "\nThe applicant has no email address: acknowledge it by post or phone, then press *Acknowledged* in the channel."
	}
	return modal(ViewCaseOpened, "Case opened", "", c.Ref, slack.NewSectionBlock(mrkdwn(text), nil, nil))
}

// NoticeModal shows a person a message where there is no channel to show
// it in (a click in the Home tab).
func NoticeModal(text string) slack.ModalViewRequest {
	return modal(ViewNotice, "Community Trigger", "", "", slack.NewSectionBlock(mrkdwn(shortenMrkdwn(text, maxText)), nil, nil))
}

// validateFieldRE reads the field a domain validation error names:
// "applicant.postcode", "incidents[2].reported_on".
var validateFieldRE = regexp.MustCompile(`^([a-z_]+)(?:\[(\d+)\])?(?:\.([a-z_]+))?: (.*)$`)

// submitNewCase opens the case the form describes, through the same store
// command as every case, validated as `case add --json` is: an error is
// shown under the input it is about.
func (b *Bot) submitNewCase(ctx context.Context, cb *slack.InteractionCallback, v values, who casefile.Actor, refusal func(error) *Response) Response {
	if r := refusal(who.Permit(casefile.ActCreateCase)); r != nil {
		return *r
	}
	errs := map[string]string{}
	person := func(w string) casefile.Person {
		return casefile.Person{Name: v.text(personBlock(w, "name")), Email: v.text(personBlock(w, "email")), Phone: v.text(personBlock(w, "phone")),
			Address: v.text(personBlock(w, "address")), Postcode: v.text(personBlock(w, "postcode"))}
	}
	yn := func(block string) *bool {
		switch v.option(block) {
		case "yes":
			t := true
			return &t
		case "no":
			f := false
			return &f
		}
		return nil
	}
	app := casefile.Application{
		Route: casefile.Route(v.option(BlockNewRoute)), Applicant: person("app"), Location: v.text(BlockNewLocation), Description: v.text(BlockNewDescription),
		ConsentToShare: yn(BlockNewConsent), Vulnerable: yn(BlockNewVulnerable),
	}
	if vic := person("vic"); !vic.IsZero() {
		app.OnBehalfOf = &vic
	}
	today := casefile.DateOf(b.now())
	var rows []int // the form's row of each incident
	for n := 1; n <= newCaseComplaintRow; n++ {
		in := casefile.Incident{Agency: v.option(complaintBlock(n, "agency")), Reference: v.text(complaintBlock(n, "reference")), Description: v.text(complaintBlock(n, "description"))}
		for _, f := range []struct {
			field string
			to    *casefile.Date
		}{{"occurred", &in.OccurredOn}, {"reported", &in.ReportedOn}} {
			if s := v.date(complaintBlock(n, f.field)); s != "" {
				d, err := casefile.ParseDate(s)
				switch {
				case err != nil:
					errs[complaintBlock(n, f.field)] = "Not a date."
				case d.After(today):
					errs[complaintBlock(n, f.field)] = "This date is in the future."
				}
				*f.to = d
			}
		}
		if in == (casefile.Incident{}) {
			continue
		}
		app.Incidents = append(app.Incidents, in)
		rows = append(rows, n)
	}
	var receivedAt time.Time
	if s := v.date(BlockNewReceived); s != "" {
		d, err := casefile.ParseDate(s)
		switch {
		case err != nil:
			errs[BlockNewReceived] = "Not a date."
		case d.After(today):
			errs[BlockNewReceived] = "The date received cannot be in the future."
		case d != today:
			receivedAt = time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, casefile.London)
		}
	}
	if len(errs) > 0 {
		return Response{Ack: viewErrors(errs)}
	}
	if err := app.Validate(b.Config.Agencies); err != nil {
		return Response{Ack: viewErrors(map[string]string{newCaseBlockOf(err, rows): fieldMessage(err)})}
	}
	pref := casefile.Preferences{Formats: v.options(BlockNewFormats)}
	if lang := v.option(BlockNewLanguage); lang != "" {
		pref.Language, pref.LanguageSource = casefile.LanguagePref(lang), casefile.SourceCoordinator
	}
	c, err := b.Store.CreateCase(ctx, casefile.NewCase{Application: app, ReceivedAt: receivedAt, Source: "staff", Via: v.option(BlockNewVia),
		Key: "slack-view:" + cb.View.ID, Actor: who, Preferences: pref})
	if err != nil {
		if casefile.ErrorCode(err) == casefile.EINTERNAL {
			b.Logger.Error("slack: the new case was not opened", "err", err)
		}
		return Response{Ack: viewErrors(map[string]string{newCaseBlockOf(err, rows): fieldMessage(err)})}
	}
	b.Logger.Info("slack: case opened from /trigger new", "case", c.Ref, "via", v.option(BlockNewVia))
	opened := CaseOpenedModal(c)
	return Response{Ack: slack.NewUpdateViewSubmissionResponse(&opened)}
}

// newCaseBlockOf is the form's input a validation error is about (the
// first input for anything else).
func newCaseBlockOf(err error, rows []int) string {
	m := validateFieldRE.FindStringSubmatch(casefile.ErrorMessage(err))
	if m == nil {
		return BlockNewVia
	}
	field, index, sub := m[1], m[2], m[3]
	switch field {
	case "route":
		return BlockNewRoute
	case "applicant":
		return personBlock("app", sub)
	case "on_behalf_of":
		return personBlock("vic", sub)
	case "incidents":
		i, _ := strconv.Atoi(index)
		if i < len(rows) {
			part := map[string]string{"occurred_on": "occurred", "reported_on": "reported", "agency": "agency", "reference": "reference"}[sub]
			if part == "" {
				part = "description"
			}
			return complaintBlock(rows[i], part)
		}
	}
	return BlockNewVia
}

// fieldMessage is a validation error without the field's name, which the
// input's label says: "not a UK postcode" → "Not a UK postcode."
func fieldMessage(err error) string {
	msg := casefile.ErrorMessage(err)
	if casefile.ErrorCode(err) == casefile.EINTERNAL {
		return explain(err)
	}
	if m := validateFieldRE.FindStringSubmatch(msg); m != nil {
		msg = strings.NewReplacer("occurred_on", "the behaviour's date", "reported_on", "the report's date").Replace(m[4])
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}
