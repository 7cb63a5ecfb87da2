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
	text, blocks := DraftMessage(l, b.Config.Slack.SharePersonalData)
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

// mayApprove: approvers approve letters; a further-review letter is the
// Chair's alone.
func (b *Bot) mayApprove(user string, l *casefile.Letter) bool {
	if l.Kind == casefile.LetterFurtherReview {
		return b.isChair(user)
	}
	return b.isApprover(user)
}

func (b *Bot) letterClick(ctx context.Context, cb *slack.InteractionCallback, a *slack.BlockAction, ref, rest string) {
	user := cb.User.ID
	l, hash, err := b.letterOf(ctx, ref, rest)
	if err != nil {
		b.refuse(ctx, cb, a.ActionID, explain(err))
		return
	}
	switch a.ActionID {
	case ActionReadLetter:
		if ok, err := b.hasRole(ctx, user); !b.permitted(ctx, cb, a.ActionID, ok, err,
			"Sorry, the letter is shown only to the coordinator, the Chair, approvers and agency officers.") {
			return
		}
		b.openModal(ctx, cb, LetterModal(l))
	case ActionApprove:
		if !b.mayApprove(user, l) {
			who := "an approver"
			if l.Kind == casefile.LetterFurtherReview {
				who = "the Chair"
			}
			b.refuse(ctx, cb, a.ActionID, "Sorry, only "+who+" can approve this letter. Nothing was sent.")
			return
		}
		changed, err := b.Store.ApproveLetter(ctx, ref, l.ID, hash, user)
		switch {
		case err != nil:
			b.ephemeral(ctx, cb, explain(err))
		case !changed:
			b.ephemeral(ctx, cb, fmt.Sprintf("Version %d was already approved. Nothing more was sent.", l.Version))
		default:
			b.ephemeral(ctx, cb, fmt.Sprintf("You approved version %d (fingerprint %s). It is being sent to the applicant.", l.Version, l.ShortHash()))
		}
	case ActionEditDraft:
		if !b.isCoordinator(user) && !b.mayApprove(user, l) {
			b.refuse(ctx, cb, a.ActionID, "Sorry, only the coordinator or an approver can edit the letter.")
			return
		}
		b.openModal(ctx, cb, EditLetterModal(l))
	case ActionRequestChanges:
		if !b.mayApprove(user, l) {
			b.refuse(ctx, cb, a.ActionID, "Sorry, only an approver can ask for changes.")
			return
		}
		b.openModal(ctx, cb, CommentModal(ViewRequestChanges, "Request changes", "Send to the coordinator",
			fmt.Sprintf("What should change in version %d? The coordinator is told and edits the draft.", l.Version), "Changes needed", fmt.Sprintf("%s|%d", ref, l.ID)))
	}
}

func (b *Bot) furtherClick(ctx context.Context, cb *slack.InteractionCallback, a *slack.BlockAction, ref string) {
	user := cb.User.ID
	switch a.ActionID {
	case ActionRecordFurther:
		if !b.isCoordinator(user) {
			b.refuse(ctx, cb, a.ActionID, "Sorry, only the coordinator can record a request for a further review.")
			return
		}
		changed, err := b.Store.RequestFurtherReview(ctx, ref, user)
		switch {
		case err != nil:
			b.ephemeral(ctx, cb, explain(err))
		case !changed:
			b.ephemeral(ctx, cb, "A further review was already requested for "+ref+".")
		default:
			b.ephemeral(ctx, cb, "Recorded. The Chair is asked to decide.")
		}
	case ActionAcceptFurther:
		if !b.isChair(user) {
			b.refuse(ctx, cb, a.ActionID, "Sorry, only the Chair decides on a further review. Nothing was changed.")
			return
		}
		changed, err := b.Store.DecideFurtherReview(ctx, ref, true, "", user)
		switch {
		case err != nil:
			b.ephemeral(ctx, cb, explain(err))
		case !changed:
			b.ephemeral(ctx, cb, "The further review was already accepted.")
		}
	case ActionDeclineFurther:
		if !b.isChair(user) {
			b.refuse(ctx, cb, a.ActionID, "Sorry, only the Chair decides on a further review. Nothing was changed.")
			return
		}
		b.openModal(ctx, cb, CommentModal(ViewDeclineFurther, "Decline further review", "Decline",
			"The reason goes into a letter to the applicant, which you approve next; sending it closes the case.", "Reason", ref))
	case ActionRecordFurtherOutcome:
		if !b.isChair(user) {
			b.refuse(ctx, cb, a.ActionID, "Sorry, only the Chair records the further review's outcome.")
			return
		}
		b.openModal(ctx, cb, FurtherOutcomeModal(ref))
	}
}

func (b *Bot) letterSubmit(ctx context.Context, cb *slack.InteractionCallback, v values, meta string, deny func(string) Response, fail func(string, error) Response) Response {
	user := cb.User.ID
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
		if !b.isCoordinator(user) && !b.mayApprove(user, l) {
			return deny("Only the coordinator or an approver can edit the letter.")
		}
		n, _ := strconv.Atoi(parts[2])
		var texts []string
		for i := 1; i <= n; i++ {
			texts = append(texts, v.text(letterPartBlock(i)))
		}
		if _, err := b.Store.EditLetter(ctx, ref, strings.Join(texts, "\n\n"), user); err != nil {
			return fail(letterPartBlock(1), err)
		}
		return Response{}
	case ViewRequestChanges:
		l, _, err := b.letterOf(ctx, ref, strings.Join(parts[1:], "|"))
		if err != nil {
			return fail("", err)
		}
		if !b.mayApprove(user, l) {
			return deny("Only an approver can ask for changes.")
		}
		if _, err := b.Store.RequestChanges(ctx, ref, v.text(BlockComment), user); err != nil {
			return fail(BlockComment, err)
		}
		return Response{}
	case ViewDeclineFurther:
		if !b.isChair(user) {
			return deny("Only the Chair decides on a further review.")
		}
		if _, err := b.Store.DecideFurtherReview(ctx, ref, false, v.text(BlockComment), user); err != nil {
			return fail(BlockComment, err)
		}
		return Response{}
	case ViewFurtherOutcome:
		if !b.isChair(user) {
			return deny("Only the Chair records the further review's outcome.")
		}
		upheld := v.option(BlockUpheld)
		if upheld == "" {
			return Response{Ack: viewErrors(map[string]string{BlockUpheld: "Please answer."})}
		}
		if _, err := b.Store.RecordFurtherReviewOutcome(ctx, ref, v.text(BlockSummary), upheld == "yes", user); err != nil {
			return fail(BlockSummary, err)
		}
		return Response{}
	}
	return Response{}
}
