package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/casefile"
)

// ReminderMessage reminds an agency of its deadline, in its request's
// thread: its officers are mentioned, and the coordinator too when the reply
// is overdue. Snooze brings it back on the next working day; Provide details
// answers at once. today is the day it is posted.
func ReminderMessage(r casefile.Reminder, agency casefile.Agency, officers, coordinators []string, today casefile.Date, cal *casefile.Calendar) (string, []slack.Block) {
	due := r.Due.Time().Format("Monday 2 January 2006")
	var body string
	switch {
	case today.After(r.Due):
		n := cal.WorkingDaysBetween(r.Due, today)
		body = fmt.Sprintf("*Overdue:* %s's details for the case review %s were due on %s, %d working %s ago.", agency.Name, r.CaseRef, due, n, dayWord(n))
	case today == r.Due:
		body = fmt.Sprintf("*Due today:* %s's details for the case review %s are due today, %s.", agency.Name, r.CaseRef, due)
	default:
		n := cal.WorkingDaysBetween(today, r.Due)
		body = fmt.Sprintf("*Reminder:* %s's details for the case review %s are due by %s, in %d working %s.", agency.Name, r.CaseRef, due, n, dayWord(n))
	}
	text := fmt.Sprintf("Reminder: %s's details for %s, due %s", agency.Name, r.CaseRef, due)
	if r.Snoozed {
		body += " _(snoozed reminder)_"
	}
	who := append(append([]string(nil), officers...), coordinators...)
	if len(who) > 0 {
		body = mentions(who) + " " + body
	}
	blocks := []slack.Block{
		slack.NewSectionBlock(mrkdwn(body), nil, nil, slack.SectionBlockOptionBlockID(reminderBlockID(r.Key))),
		slack.NewActionBlock("reminder_actions",
			button(ActionProvideDetails, r.CaseRef+"|"+agency.ID, "Provide details", "primary"),
			button(ActionSnoozeReminder, r.CaseRef+"|"+agency.ID+"|"+r.Key, "Snooze until the next working day", "")),
	}
	return text, blocks
}

func dayWord(n int) string {
	if n == 1 {
		return "day"
	}
	return "days"
}

// reminderBlockID names a reminder's first block, by which a retry finds
// it in the thread. Slack allows block ids of up to 255 characters.
func reminderBlockID(key string) string {
	id := "reminder-" + key
	if len(id) > 255 {
		id = id[:255]
	}
	return id
}

// SnoozedBlocks is a reminder after someone snoozed it: the buttons give
// way to who snoozed it and until when.
func SnoozedBlocks(orig []slack.Block, user string, until casefile.Date) []slack.Block {
	var out []slack.Block
	for _, b := range orig {
		if _, ok := b.(*slack.ActionBlock); ok {
			continue
		}
		out = append(out, b)
	}
	return append(out, slack.NewContextBlock("reminder_snoozed",
		mrkdwn(fmt.Sprintf("Snoozed by <@%s> until %s.", user, until.Time().Format("Monday 2 January 2006")))))
}

// postReminder posts a reminder in the request's thread. It waits for
// working hours (a job retried after an outage in the evening is posted the
// next working morning), and posts nothing when the agency has replied
// since it was queued.
func (b *Bot) postReminder(ctx context.Context, j casefile.Job) error {
	p, err := casefile.PayloadOf[casefile.ReminderJob](j)
	if err != nil {
		return err
	}
	r := p.Reminder
	now := b.Store.Now()
	if cal := b.Cal; !cal.InWorkingHours(now) {
		return &casefile.RetryAfterError{Err: fmt.Errorf("reminder %s: outside working hours", r.Key), After: cal.NextWorkingHours(now).Sub(now)}
	}
	req, err := b.request(ctx, r.CaseRef, r.Agency)
	if err != nil {
		return err
	}
	if req.Replied {
		return nil
	}
	if req.MessageTS == "" {
		return errNotYet("the request to " + r.Agency + " is not posted yet")
	}
	ch, err := b.channelOf(ctx, r.CaseRef)
	if err != nil {
		return err
	}
	blockID := reminderBlockID(r.Key)
	if j.Attempts > 1 {
		if ok, _ := b.inThread(ctx, ch.ChannelID, req.MessageTS, blockID); ok {
			return nil
		}
	}
	a, ok := b.Config.Agency(r.Agency)
	if !ok {
		return casefile.Permanent(fmt.Errorf("agency %q is not configured", r.Agency))
	}
	officers, _, err := b.resolveOfficers(ctx, a)
	if err != nil {
		return err
	}
	var coord []string
	if r.Coordinator || len(officers) == 0 {
		coord = b.Config.Roles.Coordinator
	}
	text, blocks := ReminderMessage(r, a, officers, coord, casefile.DateOf(now), b.Cal)
	_, err = b.post(ctx, ch.ChannelID, text, blocks, slack.MsgOptionTS(req.MessageTS))
	return err
}

// inThread reports whether a thread holds a message of ours carrying
// blockID: after a crash between posting and recording, the retry finds it.
func (b *Bot) inThread(ctx context.Context, channel, threadTS, blockID string) (bool, error) {
	var msgs []slack.Message
	err := b.call(ctx, "conversations.replies", func() error {
		var err error
		msgs, _, _, err = b.API.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: channel, Timestamp: threadTS, Limit: 200})
		return err
	})
	if err != nil {
		return false, err
	}
	for _, m := range msgs {
		for _, bl := range m.Blocks.BlockSet {
			if blockIDOf(bl) == blockID {
				return true, nil
			}
		}
	}
	return false, nil
}

// snoozeClick snoozes a reminder until the next working day: an officer of
// the agency reminded, or the coordinator, may.
func (b *Bot) snoozeClick(ctx context.Context, cb *slack.InteractionCallback, a *slack.BlockAction, who casefile.Actor, lookupErr error, ref, rest string) {
	_, key, _ := strings.Cut(rest, "|")
	r, err := b.Store.ReminderByKey(ctx, key)
	if err != nil || r.CaseRef != ref {
		b.refuse(ctx, cb, a.ActionID, "That button is no longer in use.")
		return
	}
	if !b.permit(ctx, cb, a.ActionID, lookupErr, who.PermitAnswer(r.Agency, agencyName(b.Config, r.Agency))) {
		return
	}
	until, changed, err := b.Store.SnoozeReminder(ctx, who, key)
	day := until.Time().Format("Monday 2 January 2006")
	switch {
	case err != nil:
		b.Logger.Warn("snooze refused", "case", ref, "code", casefile.ErrorCode(err))
		b.refused(ctx, cb, a.ActionID, err)
		return
	case !changed:
		b.ephemeral(ctx, cb, "This reminder is already snoozed until "+day+". Nothing was changed.")
		return
	}
	b.ephemeral(ctx, cb, fmt.Sprintf("Snoozed: the reminder comes back on %s, unless %s has replied by then.", day, agencyName(b.Config, r.Agency)))
	if cb.Message.Timestamp != "" {
		if err := b.update(ctx, cb.Channel.ID, cb.Message.Timestamp, cb.Message.Text, SnoozedBlocks(cb.Message.Blocks.BlockSet, who.ID, until)); err != nil {
			b.Logger.Warn("slack: snoozed reminder not updated", "case", ref, "error", slackCode(err))
		}
	}
}
