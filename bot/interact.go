package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/csp/trigger/casefile"
)

// Response is what the bot answers Slack within 3 seconds: nothing, or for
// a view submission a response_action. After, if set, is the work done once
// the answer has gone (opening a modal, an ephemeral reply).
type Response struct {
	Ack   any
	After func(ctx context.Context)
}

// viewErrors answers a view submission with errors under its inputs.
func viewErrors(errs map[string]string) any {
	return slack.NewErrorsViewSubmissionResponse(errs)
}

// HandleInteraction routes a click or a modal submission. The store command
// behind a submission is quick and runs before the answer, so that a
// refusal or a validation error can be shown in the modal; Slack calls run
// after.
func (b *Bot) HandleInteraction(ctx context.Context, cb *slack.InteractionCallback) Response {
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		if len(cb.ActionCallback.BlockActions) == 0 || cb.ActionCallback.BlockActions[0] == nil {
			return Response{}
		}
		a := cb.ActionCallback.BlockActions[0]
		if a.ActionID == ActionHomeFilter || a.ActionID == ActionHomePage {
			return Response{After: func(ctx context.Context) { b.homeClick(ctx, cb, a) }}
		}
		return Response{After: func(ctx context.Context) { b.click(ctx, cb, a) }}
	case slack.InteractionTypeViewSubmission:
		return answerable(cb.View, b.submit(ctx, cb))
	default:
		return Response{}
	}
}

// answerable makes a submission's errors ones Slack takes: under inputs
// the form has (a form that is not what the bot built, forged or out of
// date, gets them under its first input, or is simply closed).
func answerable(v slack.View, r Response) Response {
	errs, ok := r.Ack.(*slack.ViewSubmissionResponse)
	if !ok || errs.ResponseAction != slack.RAErrors {
		return r
	}
	fixed := map[string]string{}
	for block, msg := range errs.Errors {
		if !hasInput(v, block) {
			block = firstInput(v)
		}
		if block != "" && fixed[block] == "" {
			fixed[block] = msg
		}
	}
	if len(fixed) == 0 {
		r.Ack = nil
		return r
	}
	r.Ack = viewErrors(fixed)
	return r
}

// permit answers a click the domain does not allow (check is its refusal)
// and reports whether the click may go on. When Slack could not be asked
// who the person is (lookupErr), a refusal may be wrong: they are asked to
// try again instead.
func (b *Bot) permit(ctx context.Context, cb *slack.InteractionCallback, action string, lookupErr, check error) bool {
	switch {
	case check == nil:
		return true
	case lookupErr != nil:
		b.ephemeral(ctx, cb, slackBusy)
	default:
		b.refuse(ctx, cb, action, explain(check))
	}
	return false
}

// refused answers a command the domain refused: a polite refusal, counted.
func (b *Bot) refused(ctx context.Context, cb *slack.InteractionCallback, action string, err error) {
	if casefile.ErrorCode(err) == casefile.EFORBIDDEN {
		b.refuse(ctx, cb, action, explain(err))
		return
	}
	b.ephemeral(ctx, cb, explain(err))
}

// refuse tells one person, privately, why nothing happened.
func (b *Bot) refuse(ctx context.Context, cb *slack.InteractionCallback, action, text string) {
	if b.OnRefusal != nil {
		b.OnRefusal(action)
	}
	b.ephemeral(ctx, cb, text)
}

func (b *Bot) ephemeral(ctx context.Context, cb *slack.InteractionCallback, text string) {
	if cb.Channel.ID == "" {
		// A click in the Home tab: no channel to answer in, so the answer
		// opens as a small form, with the click's trigger_id when it was
		// not used for anything else.
		if cb.View.Type == slack.VTHomeTab && cb.TriggerID != "" {
			if err := b.call(ctx, "views.open", func() error {
				_, err := b.API.OpenViewContext(ctx, cb.TriggerID, NoticeModal(text))
				return err
			}); err != nil {
				b.Logger.Warn("slack: an answer to a click in the Home tab was not shown", "error", slackCode(err))
			}
		}
		return
	}
	if err := b.call(ctx, "chat.postEphemeral", func() error {
		_, err := b.API.PostEphemeralContext(ctx, cb.Channel.ID, cb.User.ID, slack.MsgOptionText(text, false))
		return err
	}); err != nil {
		b.Logger.Warn("slack: ephemeral reply failed", "action", actionOf(cb), "error", slackCode(err))
	}
}

// actionOf names what a person did, for a log line: the button's action
// id, or the form's callback id.
func actionOf(cb *slack.InteractionCallback) string {
	if len(cb.ActionCallback.BlockActions) > 0 && cb.ActionCallback.BlockActions[0] != nil {
		return cb.ActionCallback.BlockActions[0].ActionID
	}
	return cb.View.CallbackID
}

// openModal opens a modal on the clicker's screen with the click's
// trigger_id. An expired trigger_id (Slack gives 3 seconds) gets an
// ephemeral message asking to click again.
func (b *Bot) openModal(ctx context.Context, cb *slack.InteractionCallback, v slack.ModalViewRequest) {
	err := b.call(ctx, "views.open", func() error {
		_, err := b.API.OpenViewContext(ctx, cb.TriggerID, v)
		return err
	})
	switch code := slackCode(err); {
	case err == nil:
	case code == "expired_trigger_id" || code == "exchanged_trigger_id" || code == "invalid_trigger_id":
		b.ephemeral(ctx, cb, "Slack took too long to open the form. Please click the button again.")
	default:
		b.Logger.Error("slack: views.open failed", "callback", v.CallbackID, "error", code)
		b.ephemeral(ctx, cb, "The form could not be opened ("+code+"). Please try again in a minute.")
	}
}

// explain turns a domain error into words for the person who clicked.
func explain(err error) string {
	switch casefile.ErrorCode(err) {
	case casefile.ECONFLICT, casefile.EINVALID, casefile.ENOTFOUND, casefile.EFORBIDDEN:
		return casefile.ErrorMessage(err)
	default:
		return "Something went wrong on our side and nothing was changed. Please try again; if it keeps happening, tell the system administrator."
	}
}

func (b *Bot) click(ctx context.Context, cb *slack.InteractionCallback, a *slack.BlockAction) {
	ref, agency, _ := strings.Cut(a.Value, "|")
	ref = strings.TrimSpace(ref)
	if !casefile.RefRE.MatchString(ref) {
		b.refuse(ctx, cb, a.ActionID, "That button is no longer in use.")
		return
	}
	log := b.Logger.With("case", ref, "action", a.ActionID)
	who, lookupErr := b.actor(ctx, cb.User.ID)
	may := func(act casefile.Action) bool { return b.permit(ctx, cb, a.ActionID, lookupErr, who.Permit(act)) }
	switch a.ActionID {
	case ActionAccept:
		if !may(casefile.ActDecideThreshold) {
			return
		}
		changed, err := b.Store.Decide(ctx, who, ref, casefile.Met, "")
		switch {
		case err != nil:
			log.Warn("accept refused", "code", casefile.ErrorCode(err))
			b.refused(ctx, cb, a.ActionID, err)
		case !changed:
			b.ephemeral(ctx, cb, ref+" was already accepted for review. Nothing was changed.")
		default:
			b.ephemeral(ctx, cb, ref+" is accepted for review. The agencies are being asked for details.")
		}
	case ActionNotMet:
		if !may(casefile.ActDecideThreshold) {
			return
		}
		b.openModal(ctx, cb, NotMetModal(ref))
	case ActionViewDetails:
		if !may(casefile.ActViewDetails) {
			return
		}
		c, err := b.Store.Case(ctx, ref)
		if err != nil {
			b.ephemeral(ctx, cb, explain(err))
			return
		}
		// From /trigger's summary as from the channel: an officer sees the
		// details of the cases their agency is asked about only.
		if !b.permit(ctx, cb, a.ActionID, lookupErr, who.PermitSeeCase(casefile.CaseAgencies(c, b.Config))) {
			return
		}
		if err := b.Store.Audit(ctx, ref, who.Audit(), "details.viewed", nil); err != nil {
			log.Error("audit of details view failed", "err", err)
			b.ephemeral(ctx, cb, explain(err))
			return
		}
		b.openModal(ctx, cb, DetailsModal(c, b.Config))
	case ActionProvideDetails:
		if !b.permit(ctx, cb, a.ActionID, lookupErr, who.PermitAnswer(agency, agencyName(b.Config, agency))) {
			return
		}
		ag, ok := b.Config.Agency(agency)
		if !ok {
			b.refuse(ctx, cb, a.ActionID, "That button is no longer in use.")
			return
		}
		b.openModal(ctx, cb, ProvideDetailsModal(ref, ag))
	case ActionScheduleMeeting:
		if !may(casefile.ActScheduleMeeting) {
			return
		}
		ready, why, err := b.Store.MeetingReadiness(ctx, ref)
		if err != nil {
			b.ephemeral(ctx, cb, explain(err))
			return
		}
		if !ready {
			b.ephemeral(ctx, cb, "The meeting cannot be scheduled yet: "+why+".")
			return
		}
		b.openModal(ctx, cb, ScheduleMeetingModal(ref))
	case ActionRecordOutcome:
		if !may(casefile.ActRecordOutcome) {
			return
		}
		c, err := b.Store.Case(ctx, ref)
		if err != nil {
			b.ephemeral(ctx, cb, explain(err))
			return
		}
		if c.Status != casefile.StatusMeeting {
			b.ephemeral(ctx, cb, fmt.Sprintf("%s is not waiting for a meeting outcome (it is %s).", ref, c.Status))
			return
		}
		views, err := b.Store.WrittenViews(ctx, ref)
		if err != nil {
			b.ephemeral(ctx, cb, explain(err))
			return
		}
		if len(views) > 0 {
			if err := b.Store.Audit(ctx, ref, who.Audit(), "details.viewed", map[string]any{"views_in_writing": len(views)}); err != nil {
				b.ephemeral(ctx, cb, explain(err))
				return
			}
		}
		b.openModal(ctx, cb, RecordOutcomeModal(ref, b.Config, views...))
	case ActionAcknowledged:
		if !may(casefile.ActRecordAcknowledgement) {
			return
		}
		changed, err := b.Store.RecordAcknowledgement(ctx, who, ref, "recorded in Slack")
		switch {
		case err != nil:
			b.refused(ctx, cb, a.ActionID, err)
		case !changed:
			b.ephemeral(ctx, cb, ref+" was already acknowledged.")
		default:
			b.ephemeral(ctx, cb, "Recorded: "+ref+" is acknowledged.")
		}
	case ActionReadLetter, ActionApprove, ActionEditDraft, ActionRequestChanges:
		b.letterClick(ctx, cb, a, who, lookupErr, ref, agency)
	case ActionRecordFurther, ActionAcceptFurther, ActionDeclineFurther, ActionRecordFurtherOutcome:
		b.furtherClick(ctx, cb, a, who, lookupErr, ref)
	case ActionSnoozeReminder:
		b.snoozeClick(ctx, cb, a, who, lookupErr, ref, agency)
	case ActionChangeContact, ActionResidentNeeds, ActionInvolvementMeeting, ActionInvolvementWriting, ActionInvolvementOutcome,
		ActionSkipConsultation, ActionReadMessage,
		ActionRecordThresholdReview, ActionThresholdReviewResult:
		b.residentClick(ctx, cb, a, who, lookupErr, ref, agency)
	case ActionTreatFurtherReview, ActionTreatCorrespondence:
		b.treatClick(ctx, cb, a, who, lookupErr, ref, agency)
	default:
		b.refuse(ctx, cb, a.ActionID, "That button is no longer in use.")
	}
}

// treatClick records what the coordinator makes of an unverified email
// (the message id is the button value's second part).
func (b *Bot) treatClick(ctx context.Context, cb *slack.InteractionCallback, a *slack.BlockAction, who casefile.Actor, lookupErr error, ref, message string) {
	id, err := strconv.ParseInt(message, 10, 64)
	if err != nil || id <= 0 {
		b.refuse(ctx, cb, a.ActionID, "That button is no longer in use.")
		return
	}
	if !b.permit(ctx, cb, a.ActionID, lookupErr, who.Permit(casefile.ActTreatUnverified)) {
		return
	}
	as, done := casefile.TreatAsCorrespondence, "Recorded: the email is the applicant's correspondence on "+ref+". Mail from its address now counts as the applicant's on this case."
	if a.ActionID == ActionTreatFurtherReview {
		as, done = casefile.TreatAsFurtherReview, "Recorded: the email on "+ref+" is the applicant's request for a further review. The Chair is asked to decide."
	}
	changed, err := b.Store.TreatUnverified(ctx, who, ref, id, as)
	switch {
	case err != nil:
		b.Logger.Warn("treat unverified mail refused", "case", ref, "action", a.ActionID, "code", casefile.ErrorCode(err))
		b.refused(ctx, cb, a.ActionID, err)
	case !changed:
		b.ephemeral(ctx, cb, "That email on "+ref+" was already recorded that way. Nothing was changed.")
	default:
		b.ephemeral(ctx, cb, done)
	}
}

// values reads a submitted modal's inputs.
type values map[string]map[string]slack.BlockAction

func (v values) text(block string) string {
	for _, a := range v[block] {
		return strings.TrimSpace(a.Value)
	}
	return ""
}

// raw is an input's value as typed, whitespace and all.
func (v values) raw(block string) string {
	for _, a := range v[block] {
		return a.Value
	}
	return ""
}

func (v values) date(block string) string {
	for _, a := range v[block] {
		return a.SelectedDate
	}
	return ""
}

func (v values) time(block string) string {
	for _, a := range v[block] {
		return a.SelectedTime
	}
	return ""
}

func (v values) option(block string) string {
	for _, a := range v[block] {
		return a.SelectedOption.Value
	}
	return ""
}

func (v values) options(block string) []string {
	var out []string
	for _, a := range v[block] {
		for _, o := range a.SelectedOptions {
			out = append(out, o.Value)
		}
	}
	return out
}

func (b *Bot) submit(ctx context.Context, cb *slack.InteractionCallback) Response {
	v := values{}
	if cb.View.State != nil {
		v = values(cb.View.State.Values)
	}
	meta := cb.View.PrivateMetadata
	ref, agency, _ := strings.Cut(meta, "|")
	firstBlock := firstInput(cb.View)
	deny := func(msg string) Response {
		if b.OnRefusal != nil {
			b.OnRefusal(cb.View.CallbackID)
		}
		if firstBlock == "" {
			return Response{} // a form with no input to show it under: it closes
		}
		return Response{Ack: viewErrors(map[string]string{firstBlock: msg})}
	}
	// No Slack look-up before the answer (Slack waits 3 seconds): who the
	// person is comes from what Slack said before.
	who, lookupErr := b.actorNow(cb.User.ID)
	// refusal is nil when the person may submit the form, else the
	// answer that shows them why not.
	refusal := func(check error) *Response {
		switch {
		case check == nil:
			return nil
		case lookupErr != nil:
			r := deny("Slack did not answer in time: please press Send again.")
			return &r
		default:
			r := deny(casefile.ErrorMessage(check))
			return &r
		}
	}
	if cb.View.CallbackID == ViewNewCase {
		return b.submitNewCase(ctx, cb, v, who, refusal)
	}
	if cb.View.CallbackID != ViewDetails && cb.View.CallbackID != ViewReadLetter && !casefile.RefRE.MatchString(strings.TrimSpace(ref)) {
		b.Logger.Warn("slack: a form without its case", "code", "bad_metadata", "callback", cb.View.CallbackID)
		return deny("This form is out of date: please open it again.")
	}
	fail := func(block string, err error) Response {
		if casefile.ErrorCode(err) == casefile.EFORBIDDEN && b.OnRefusal != nil {
			b.OnRefusal(cb.View.CallbackID)
		}
		if casefile.ErrorCode(err) == casefile.EINTERNAL {
			b.Logger.Error("slack: submission failed", "callback", cb.View.CallbackID, "case", ref, "err", err)
		}
		if block == "" || !hasInput(cb.View, block) {
			block = firstBlock
		}
		if block == "" {
			return Response{}
		}
		return Response{Ack: viewErrors(map[string]string{block: explain(err)})}
	}
	switch cb.View.CallbackID {
	case ViewNotMet:
		if r := refusal(who.Permit(casefile.ActDecideThreshold)); r != nil {
			return *r
		}
		reason := v.text(BlockReason)
		if reason == "" {
			return Response{Ack: viewErrors(map[string]string{BlockReason: "Please give the reason: it goes into the letter."})}
		}
		if _, err := b.Store.Decide(ctx, who, ref, casefile.NotMet, reason); err != nil {
			return fail(BlockReason, err)
		}
		return Response{}
	case ViewProvideDetails:
		if r := refusal(who.PermitAnswer(agency, agencyName(b.Config, agency))); r != nil {
			return *r
		}
		in := casefile.ReplyInput{
			Ref: ref, Agency: agency, Author: who.ID, Source: "form",
			Complaints: v.text(BlockComplaints), Considered: v.text(BlockConsidered), Taken: v.text(BlockTaken), Risk: v.text(BlockRisk),
			NoInfo:    len(v.options(BlockNoInfo)) > 0,
			DedupeKey: "view:" + cb.View.ID + ":" + cb.View.Hash,
		}
		if in.Complaints+in.Considered+in.Taken+in.Risk == "" && !in.NoInfo {
			return Response{Ack: viewErrors(map[string]string{BlockComplaints: "Please give the details, or tick \"No information held\"."})}
		}
		if _, err := b.Store.RecordReply(ctx, who, in); err != nil {
			return fail(BlockComplaints, err)
		}
		return Response{}
	case ViewScheduleMeeting:
		if r := refusal(who.Permit(casefile.ActScheduleMeeting)); r != nil {
			return *r
		}
		when, err := time.ParseInLocation("2006-01-02 15:04", v.date(BlockDate)+" "+v.time(BlockTime), casefile.London)
		if err != nil {
			return Response{Ack: viewErrors(map[string]string{BlockDate: "Please choose a date and a time."})}
		}
		plan := casefile.MeetingPlan{When: when, Place: v.text(BlockPlace), Attendees: v.text(BlockAttendees), ClosedSession: len(v.options(BlockClosed)) > 0}
		if _, err := b.Store.ScheduleMeeting(ctx, who, ref, plan); err != nil {
			return fail(BlockDate, err)
		}
		return Response{}
	case ViewRecordOutcome:
		if r := refusal(who.Permit(casefile.ActRecordOutcome)); r != nil {
			return *r
		}
		o := casefile.MeetingOutcome{Attendance: v.options(BlockAttendance), Summary: v.text(BlockSummary)}
		switch v.option(BlockAdequate) {
		case "yes":
			t := true
			o.Adequate = &t
		case "no":
			f := false
			o.Adequate = &f
		}
		errs := map[string]string{}
		for n := 1; n <= recommendationSlots; n++ {
			text, owner, due := v.text(recBlock(n, "text")), v.option(recBlock(n, "owner")), v.date(recBlock(n, "due"))
			if text == "" && owner == "" && due == "" {
				continue
			}
			if text == "" {
				errs[recBlock(n, "text")] = "Write the recommendation, or clear its owner and date."
				continue
			}
			if owner == "" {
				errs[recBlock(n, "owner")] = "Each recommendation needs an owner agency."
			}
			d, err := casefile.ParseDate(due)
			if err != nil {
				errs[recBlock(n, "due")] = "Each recommendation needs a due date."
			}
			o.Recommendations = append(o.Recommendations, casefile.Recommendation{Text: text, Owner: owner, Due: d})
		}
		if o.Adequate == nil {
			errs[BlockAdequate] = "Please answer."
		}
		if len(errs) > 0 {
			return Response{Ack: viewErrors(errs)}
		}
		if _, err := b.Store.RecordOutcome(ctx, who, ref, o); err != nil {
			return fail(BlockSummary, err)
		}
		return Response{}
	case ViewEditDraft, ViewRequestChanges, ViewDeclineFurther, ViewFurtherOutcome:
		return b.letterSubmit(ctx, cb, v, meta, who, deny, refusal, fail)
	case ViewContactOfficer, ViewResidentNeeds, ViewSkipConsult, ViewThresholdReview, ViewThresholdResult:
		return b.residentSubmit(ctx, cb, v, ref, who, refusal, fail)
	default:
		return Response{}
	}
}

// hasInput reports whether the view has an input block with that id: a
// view_submission's errors may name only those.
func hasInput(v slack.View, block string) bool {
	for _, bl := range v.Blocks.BlockSet {
		if in, ok := bl.(*slack.InputBlock); ok && in.BlockID == block {
			return true
		}
	}
	return false
}

func firstInput(v slack.View) string {
	for _, bl := range v.Blocks.BlockSet {
		if in, ok := bl.(*slack.InputBlock); ok {
			return in.BlockID
		}
	}
	return ""
}

// HandleEvent handles an Events API event: a reply in a request's thread
// (plain, with files, or also sent to the channel) is recorded as that
// agency's reply, attributed to its author. Retries of the same event
// change nothing. It reports false when the event could not be handled yet
// (the database or Slack hiccuped): the inbox offers it again later.
func (b *Bot) HandleEvent(ctx context.Context, eventID string, ev slackevents.EventsAPIInnerEvent) bool {
	if home, ok := ev.Data.(*slackevents.AppHomeOpenedEvent); ok {
		return b.homeOpened(ctx, home)
	}
	msg, ok := ev.Data.(*slackevents.MessageEvent)
	if !ok || msg.ThreadTimeStamp == "" || msg.BotID != "" || msg.User == "" || !replySubtypes[msg.SubType] {
		return true
	}
	// A reply with files: their names and permalinks, as the event gives
	// them (no files.info, no download: nothing of them in the logs).
	var files []casefile.SharedFile
	if msg.Message != nil {
		for _, f := range msg.Message.Files {
			if f.Name != "" && strings.HasPrefix(f.Permalink, "https://") {
				files = append(files, casefile.SharedFile{Name: f.Name, Permalink: f.Permalink})
			}
		}
	}
	if strings.TrimSpace(msg.Text) == "" && len(files) == 0 {
		return true // nothing said
	}
	// A reply can arrive between posting a request and recording where it
	// was posted, and Slack may not answer who an officer is: try again
	// for a while before letting the event go.
	var ref, agency string
	for attempt := 0; ; attempt++ {
		var err error
		ref, agency, err = b.Store.RequestByMessage(ctx, msg.Channel, msg.ThreadTimeStamp)
		if err == nil {
			break
		}
		if casefile.ErrorCode(err) != casefile.ENOTFOUND {
			b.Logger.Error("slack: thread reply: store", "event", eventID, "err", err)
			return false
		}
		if _, cerr := b.Store.CaseByChannel(ctx, msg.Channel); cerr != nil || attempt >= 20 {
			return true // a thread that is not a request
		}
		if !sleepCtx(ctx, 250*time.Millisecond) {
			return false
		}
	}
	author := msg.User
	isOfficer, err := b.isOfficer(ctx, author, agency)
	for attempt := 0; err != nil && attempt < 5 && sleepCtx(ctx, time.Second); attempt++ {
		isOfficer, err = b.isOfficer(ctx, author, agency)
	}
	if err != nil {
		b.Logger.Warn("slack: thread reply: cannot tell who wrote it", "case", ref, "agency", agency, "event", eventID, "error", slackCode(err))
		return false
	}
	if !isOfficer {
		// Someone else talking in the thread (the coordinator asking a
		// question): not the agency's reply.
		return true
	}
	in := casefile.ReplyInput{Ref: ref, Agency: agency, Author: author, Source: "thread", Text: msg.Text, Files: files,
		DedupeKey: "msg:" + msg.Channel + ":" + msg.TimeStamp}
	if _, err := b.Store.RecordReply(ctx, casefile.ActorFor(b.Config, author).OfficerOf(agency), in); err != nil {
		b.Logger.Warn("slack: thread reply not recorded", "case", ref, "agency", agency, "code", casefile.ErrorCode(err), "event", eventID)
		return casefile.ErrorCode(err) != casefile.EINTERNAL
	}
	return true
}

// replySubtypes are the message events that are a person's reply in a
// thread: a plain message, one with files, and one also sent to the
// channel. Edits, deletions and the system messages Slack posts are not.
var replySubtypes = map[string]bool{"": true, "file_share": true, "thread_broadcast": true}

// sleepCtx waits d, or less if ctx ends; it reports whether ctx is still
// live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
