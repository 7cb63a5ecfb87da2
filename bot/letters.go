package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/casefile"
)

// postDraft posts a letter draft with its approval buttons.
func (b *Bot) postDraft(ctx context.Context, ref string, letterID int64, retry bool) error {
	ch, err := b.channelOf(ctx, ref)
	if err != nil {
		return err
	}
	l, err := b.Store.Letter(ctx, letterID)
	if err != nil {
		return casefile.Permanent(err)
	}
	blockID := fmt.Sprintf("draft-%s-%d", ref, letterID)
	if retry {
		if ts, _ := b.findPosted(ctx, ch.ChannelID, blockID); ts != "" {
			return nil
		}
	}
	c, err := b.Store.Case(ctx, ref)
	if err != nil {
		return err
	}
	text, blocks := DraftMessageFor(l, c, b.Config.Slack.SharePersonalData)
	var who []string
	if l.Kind == casefile.LetterFurtherReview {
		who = b.Config.Roles.Chair
	} else {
		who = b.Config.Roles.Approvers
	}
	if len(who) > 0 {
		blocks = append([]slack.Block{slack.NewSectionBlock(mrkdwn(mentions(who)+" a letter is ready for approval."), nil, nil)}, blocks...)
	}
	_, err = b.post(ctx, ch.ChannelID, text, blocks)
	return err
}

// letterOf reads "ID" or "ID|HASH" from a button's value.
func (b *Bot) letterOf(ctx context.Context, ref, rest string) (*casefile.Letter, string, error) {
	idText, hash, _ := strings.Cut(rest, "|")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return nil, "", casefile.Errorf(casefile.ENOTFOUND, "that button is no longer in use")
	}
	l, err := b.Store.Letter(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if l.CaseRef != ref {
		return nil, "", casefile.Errorf(casefile.ENOTFOUND, "that button is no longer in use")
	}
	return l, hash, nil
}

// permitLetter checks an action on a letter against the case's latest
// letter, the one the action would change: a button on an older draft must
// not allow what the latest letter does not (a further-review letter is the
// Chair's alone), and a form opened on an older version is refused, saying
// that a newer one exists.
func (b *Bot) permitLetter(ctx context.Context, who casefile.Actor, act casefile.Action, l *casefile.Letter) error {
	ls, err := b.Store.Letters(ctx, l.CaseRef)
	if err != nil {
		return err
	}
	// The letter the action would change: the newest of the clicked
	// letter's kind (the met letter and the response are drafted side by
	// side); for a button on a letter already approved, the newest letter
	// still waiting for approval, whatever its kind.
	kind := l.Kind
	if l.ApprovedAt != nil {
		var pending *casefile.Letter
		for i := range ls {
			if ls[i].ApprovedAt == nil && (pending == nil || ls[i].ID > pending.ID) {
				pending = &ls[i]
			}
		}
		if pending != nil {
			kind = pending.Kind
		}
	}
	latest := l
	if kind != l.Kind {
		latest = nil
	}
	for i := range ls {
		if ls[i].Kind == kind && (latest == nil || ls[i].ID > latest.ID) {
			latest = &ls[i]
		}
	}
	if err := who.PermitLetter(act, latest.Kind); err != nil {
		return err
	}
	if latest.ID != l.ID {
		return casefile.Errorf(casefile.ECONFLICT, "A newer version of this letter exists (version %d): nothing was changed. Please use the buttons on that one.", latest.Version)
	}
	return nil
}

func (b *Bot) letterClick(ctx context.Context, cb *slack.InteractionCallback, a *slack.BlockAction, who casefile.Actor, lookupErr error, ref, rest string) {
	l, hash, err := b.letterOf(ctx, ref, rest)
	if err != nil {
		b.refuse(ctx, cb, a.ActionID, explain(err))
		return
	}
	switch a.ActionID {
	case ActionReadLetter:
		if !b.permit(ctx, cb, a.ActionID, lookupErr, who.Permit(casefile.ActViewDetails)) {
			return
		}
		b.openModal(ctx, cb, LetterModal(l))
	case ActionApprove:
		changed, err := b.Store.ApproveLetter(ctx, who, ref, l.ID, hash)
		switch {
		case err != nil:
			b.refused(ctx, cb, a.ActionID, err)
		case !changed:
			b.ephemeral(ctx, cb, fmt.Sprintf("Version %d was already approved. Nothing more was sent.", l.Version))
		case l.Bilingual():
			b.ephemeral(ctx, cb, fmt.Sprintf("You approved version %d, in Welsh and English (fingerprint %s). It is being sent to the applicant.", l.Version, l.ShortHash()))
		default:
			b.ephemeral(ctx, cb, fmt.Sprintf("You approved version %d (fingerprint %s). It is being sent to the applicant.", l.Version, l.ShortHash()))
		}
	case ActionEditDraft:
		if !b.permit(ctx, cb, a.ActionID, lookupErr, b.permitLetter(ctx, who, casefile.ActEditLetter, l)) {
			return
		}
		b.openModal(ctx, cb, EditLetterModal(l))
	case ActionRequestChanges:
		if !b.permit(ctx, cb, a.ActionID, lookupErr, b.permitLetter(ctx, who, casefile.ActRequestChanges, l)) {
			return
		}
		b.openModal(ctx, cb, CommentModal(ViewRequestChanges, "Request changes", "Send to the coordinator",
			fmt.Sprintf("What should change in version %d? The coordinator is told and edits the draft.", l.Version), "Changes needed", fmt.Sprintf("%s|%d", ref, l.ID)))
	}
}

func (b *Bot) furtherClick(ctx context.Context, cb *slack.InteractionCallback, a *slack.BlockAction, who casefile.Actor, lookupErr error, ref string) {
	may := func(act casefile.Action) bool { return b.permit(ctx, cb, a.ActionID, lookupErr, who.Permit(act)) }
	switch a.ActionID {
	case ActionRecordFurther:
		if !may(casefile.ActRecordFurtherReview) {
			return
		}
		changed, err := b.Store.RequestFurtherReview(ctx, who, ref)
		switch {
		case err != nil:
			b.refused(ctx, cb, a.ActionID, err)
		case !changed:
			b.ephemeral(ctx, cb, "A further review was already requested for "+ref+".")
		default:
			b.ephemeral(ctx, cb, "Recorded. The Chair is asked to decide.")
		}
	case ActionAcceptFurther:
		if !may(casefile.ActDecideFurtherReview) {
			return
		}
		changed, err := b.Store.DecideFurtherReview(ctx, who, ref, true, "")
		switch {
		case err != nil:
			b.refused(ctx, cb, a.ActionID, err)
		case !changed:
			b.ephemeral(ctx, cb, "The further review was already accepted.")
		}
	case ActionDeclineFurther:
		if !may(casefile.ActDecideFurtherReview) {
			return
		}
		b.openModal(ctx, cb, CommentModal(ViewDeclineFurther, "Decline further review", "Decline",
			"The reason goes into a letter to the applicant, which you approve next; sending it closes the case.", "Reason", ref))
	case ActionRecordFurtherOutcome:
		if !may(casefile.ActFurtherReviewOutcome) {
			return
		}
		b.openModal(ctx, cb, FurtherOutcomeModal(ref))
	}
}

func (b *Bot) letterSubmit(ctx context.Context, cb *slack.InteractionCallback, v values, meta string, who casefile.Actor, deny func(string) Response, refusal func(error) *Response, fail func(string, error) Response) Response {
	parts := strings.Split(meta, "|")
	ref := parts[0]
	switch cb.View.CallbackID {
	case ViewEditDraft:
		if len(parts) != 3 {
			return deny("This form is out of date: please open Edit again.")
		}
		l, _, err := b.letterOf(ctx, ref, parts[1])
		if err != nil {
			return fail("", err)
		}
		if r := refusal(b.permitLetter(ctx, who, casefile.ActEditLetter, l)); r != nil {
			return *r
		}
		// The cuts of the letter the form was opened on: each part goes
		// back between exactly the whitespace it was cut at.
		want, seps := splitLetter(l.Text, editPartChars)
		if n, err := strconv.Atoi(parts[2]); err != nil || n != len(want) || n == 0 {
			return deny("This form is out of date: please open Edit again.")
		}
		texts := make([]string, len(want))
		for i := range texts {
			texts[i] = v.raw(letterPartBlock(i + 1))
		}
		if _, err := b.Store.EditLetter(ctx, who, ref, l.ID, joinLetter(texts, seps)); err != nil {
			return fail(letterPartBlock(1), err)
		}
		return Response{}
	case ViewRequestChanges:
		l, _, err := b.letterOf(ctx, ref, strings.Join(parts[1:], "|"))
		if err != nil {
			return fail("", err)
		}
		if r := refusal(b.permitLetter(ctx, who, casefile.ActRequestChanges, l)); r != nil {
			return *r
		}
		if _, err := b.Store.RequestLetterChanges(ctx, who, ref, l.ID, v.text(BlockComment)); err != nil {
			return fail(BlockComment, err)
		}
		return Response{}
	case ViewDeclineFurther:
		if r := refusal(who.Permit(casefile.ActDecideFurtherReview)); r != nil {
			return *r
		}
		if _, err := b.Store.DecideFurtherReview(ctx, who, ref, false, v.text(BlockComment)); err != nil {
			return fail(BlockComment, err)
		}
		return Response{}
	case ViewFurtherOutcome:
		if r := refusal(who.Permit(casefile.ActFurtherReviewOutcome)); r != nil {
			return *r
		}
		upheld := v.option(BlockUpheld)
		if upheld == "" {
			return Response{Ack: viewErrors(map[string]string{BlockUpheld: "Please answer."})}
		}
		if _, err := b.Store.RecordFurtherReviewOutcome(ctx, who, ref, v.text(BlockSummary), upheld == "yes"); err != nil {
			return fail(BlockSummary, err)
		}
		return Response{}
	}
	return Response{}
}
