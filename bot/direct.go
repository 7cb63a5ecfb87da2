package bot

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/casefile"
)

// DirectMessage is a message to one person about the service itself (the
// mailbox is not being read): the text as it is, escaped for mrkdwn so that
// advice such as "-AppId <client id>" is shown, not taken for a link.
func DirectMessage(text string) []slack.Block {
	return []slack.Block{slack.NewSectionBlock(mrkdwn(esc(text)), nil, nil)}
}

// directMessage sends a slack.direct_message job: one direct message from
// the bot to each person of the role. Each one sent is recorded, so a
// retry after a failure part-way sends the rest and repeats none (only a
// crash between a post and its record repeats that one). With [slack]
// digest_channel set, it is one message there, naming them.
func (b *Bot) directMessage(ctx context.Context, j casefile.Job, p casefile.DirectMessageJob) error {
	var to []string
	switch p.Role {
	case casefile.RoleCoordinator:
		to = b.Config.Roles.Coordinator
	case casefile.RoleChair:
		to = b.Config.Roles.Chair
	default:
		return casefile.Permanent(fmt.Errorf("job %d: direct messages to role %q are not sent", j.ID, p.Role))
	}
	if b.Config.Slack.DigestChannel != "" {
		return b.noticeInDigest(ctx, j, p.Text, to)
	}
	if len(to) == 0 {
		return casefile.Permanent(fmt.Errorf("job %d: roles.%s names nobody to tell", j.ID, p.Role))
	}
	for _, user := range to {
		key := fmt.Sprintf("dm:%d:%s", j.ID, user)
		if sent, err := b.Store.Seen(ctx, key); err != nil || sent {
			if err != nil {
				return err
			}
			continue
		}
		var channel string
		err := b.call(ctx, "conversations.open", func() error {
			ch, _, _, err := b.API.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
			if err == nil {
				channel = ch.ID
			}
			return err
		})
		if err != nil {
			return err
		}
		if _, err := b.post(ctx, channel, p.Text, DirectMessage(p.Text)); err != nil {
			return err
		}
		if _, err := b.Store.FirstSeen(ctx, key); err != nil {
			return err
		}
	}
	return nil
}

// noticeInDigest posts a notice about the service in the digest channel,
// naming people (to), once: a retry looks for it first.
func (b *Bot) noticeInDigest(ctx context.Context, j casefile.Job, text string, to []string) error {
	channel, err := b.digestChannel(ctx)
	if err != nil {
		return err
	}
	blockID := fmt.Sprintf("service-%d", j.ID)
	if j.Attempts > 1 {
		if ts, _ := b.findPosted(ctx, channel, blockID); ts != "" {
			return nil
		}
	}
	_, err = b.post(ctx, channel, shorten(text, maxText), ServiceNotice(blockID, text, to))
	return b.digestPostError(err)
}

// ServiceNotice is a notice about the service in the digest channel: its
// text as in a direct message (escaped for mrkdwn), the people it is for
// named first.
func ServiceNotice(blockID, text string, to []string) []slack.Block {
	body := esc(text)
	if len(to) > 0 {
		body = mentions(to) + " " + body
	}
	return []slack.Block{slack.NewSectionBlock(mrkdwn(shortenMrkdwn(body, maxText)), nil, nil, slack.SectionBlockOptionBlockID(blockID))}
}
