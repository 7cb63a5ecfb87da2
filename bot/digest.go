package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/casefile"
)

// The digest channel: [slack] digest_channel, where the daily digest of
// every case's overdue work goes (one message), and the notices that
// belong to no case (casefile.ServiceNoticeJob, queued with
// sqlite.Store.ServiceNotice). The app must be a member: it looks at the
// start and every digestCheckEvery, and DigestProblem says what to do when
// it is not (`/readyz` and `trigger config check` show it).

// digestCheckEvery is how often the bot looks again whether it is in the
// digest channel (someone may invite it, or remove it).
const digestCheckEvery = 5 * time.Minute

type digestState struct {
	mu      sync.Mutex
	checked bool
	id      string // the channel's id, once found with the app in it
	problem string // what a person must do, "" when nothing
}

// DigestProblem says what a person must do for the app to post in the
// digest channel ("invite the app to #community-trigger …"), or "" when it
// can, none is configured, or it has not looked yet.
func (b *Bot) DigestProblem() string {
	b.digest.mu.Lock()
	defer b.digest.mu.Unlock()
	return b.digest.problem
}

// CheckDigestChannel asks Slack whether the app is a member of [slack]
// digest_channel, and remembers the channel's id. problem is what a person
// must do when it is not ("" when it is, or none is configured); err is
// Slack not answering.
func (b *Bot) CheckDigestChannel(ctx context.Context) (problem string, err error) {
	id, name := b.Config.Slack.DigestChannelRef()
	if id == "" && name == "" {
		return "", nil
	}
	invite := "invite the app to " + b.Config.Slack.DigestChannelName() + " ([slack] digest_channel): type `/invite @` and the app's name in that channel"
	found := ""
	switch {
	case id != "":
		var ch *slack.Channel
		err = b.call(ctx, "conversations.info", func() error {
			var err error
			ch, err = b.API.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: id})
			return err
		})
		switch {
		case slackCode(err) == "channel_not_found":
			err = nil // a private channel the app is not in, or none
			problem = invite + " (Slack shows the app no channel " + id + ": check the id, or invite the app to it)"
		case err != nil:
		case !ch.IsMember:
			problem = invite
		default:
			found = ch.ID
		}
	default:
		found, err = b.memberOf(ctx, name)
		if err == nil && found == "" {
			problem = invite + " (create the channel first if it does not exist)"
		}
	}
	if err != nil {
		return "", err
	}
	b.digest.mu.Lock()
	changed := !b.digest.checked || b.digest.problem != problem
	b.digest.checked, b.digest.id, b.digest.problem = true, found, problem
	b.digest.mu.Unlock()
	if changed && problem != "" {
		b.Logger.Warn("slack: the app cannot post in the digest channel: "+problem, "code", "digest_channel_not_member")
	}
	return problem, nil
}

// memberOf finds, among the channels the app is a member of, the one
// named name, and returns its id ("" when the app is in none of that name).
func (b *Bot) memberOf(ctx context.Context, name string) (string, error) {
	cursor := ""
	for {
		var chans []slack.Channel
		err := b.call(ctx, "users.conversations", func() error {
			var err error
			chans, cursor, err = b.API.GetConversationsForUserContext(ctx, &slack.GetConversationsForUserParameters{
				Types: []string{"public_channel", "private_channel"}, ExcludeArchived: true, Limit: 200, Cursor: cursor,
			})
			return err
		})
		if err != nil {
			return "", err
		}
		for _, ch := range chans {
			if ch.Name == name {
				return ch.ID, nil
			}
		}
		if cursor == "" {
			return "", nil
		}
	}
}

// digestChannel is the digest channel's id, looking it up if need be; an
// error (retried) while the app is not in it.
func (b *Bot) digestChannel(ctx context.Context) (string, error) {
	b.digest.mu.Lock()
	id := b.digest.id
	b.digest.mu.Unlock()
	if id != "" {
		return id, nil
	}
	problem, err := b.CheckDigestChannel(ctx)
	if err != nil {
		return "", err
	}
	if problem != "" {
		return "", fmt.Errorf("digest channel: %s", problem)
	}
	b.digest.mu.Lock()
	defer b.digest.mu.Unlock()
	return b.digest.id, nil
}

// runDigestCheck looks at the start, and every digestCheckEvery, whether
// the app is in the digest channel.
func (b *Bot) runDigestCheck(ctx context.Context) {
	if b.Config.Slack.DigestChannel == "" {
		return
	}
	t := time.NewTicker(digestCheckEvery)
	defer t.Stop()
	for {
		if _, err := b.CheckDigestChannel(ctx); err != nil && ctx.Err() == nil {
			b.Logger.Warn("slack: digest channel not checked: Slack did not answer", "error", slackCode(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// A digest message's share of Slack's limits: sections of cases until the
// text nears a message's 12,000 characters or its 50 blocks.
const (
	digestCases = 40
	digestChars = 10000
)

// DigestMessage is the daily digest of every case's overdue work, for the
// digest channel: the coordinators named, one section per case with its
// channel and what is overdue (deadlines and agencies, never personal
// data); past digestCases cases, or digestChars characters, it says how
// many more and where to see them. channels maps a case to its channel.
func DigestMessage(j casefile.DigestJob, channels map[string]string, coordinators []string, cfg *casefile.Config) (string, []slack.Block) {
	items := 0
	for _, c := range j.Cases {
		items += len(c.Overdue)
	}
	day := j.Day.Time().Format("Mon 2 Jan 2006")
	text := fmt.Sprintf("Daily digest, %s: %s overdue on %s", day, plural(items, "item"), plural(len(j.Cases), "case"))
	head := fmt.Sprintf("*Daily digest* (%s): %s overdue on %s.", day, plural(items, "item"), plural(len(j.Cases), "case"))
	if len(coordinators) > 0 {
		head = mentions(coordinators) + " " + head
	}
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(head), nil, nil, slack.SectionBlockOptionBlockID(digestBlockID(j.Day)))}
	used := chars(head)
	for i, c := range j.Cases {
		var lines []string
		for _, it := range c.Overdue {
			what := casefile.DeadlineWords[it.Deadline]
			if it.Agency != "" {
				what = "reply from " + esc(shorten(agencyName(cfg, it.Agency), cardValueChars))
			}
			lines = append(lines, fmt.Sprintf("• %s: due %s, %s overdue", what, shortDate(it.Due), plural(it.WorkingDays, "working day")))
		}
		sec := shortenMrkdwn(fmt.Sprintf("*%s* · %s\n%s", c.Ref, channelLink(channels[c.Ref]), strings.Join(lines, "\n")), sectionChars)
		if i == digestCases || used+chars(sec) > digestChars {
			blocks = append(blocks, slack.NewContextBlock("", mrkdwn(fmt.Sprintf("… and %d more cases: the Home tab lists them all (choose *Overdue*).", len(j.Cases)-i))))
			break
		}
		used += chars(sec)
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(sec), nil, nil))
	}
	return text, blocks
}

func digestBlockID(day casefile.Date) string { return "digest-" + day.String() }

// postDigest posts the day's digest in the digest channel, once: a retry
// looks for it first.
func (b *Bot) postDigest(ctx context.Context, j casefile.Job) error {
	p, err := casefile.PayloadOf[casefile.DigestJob](j)
	if err != nil {
		return err
	}
	channel, err := b.digestChannel(ctx)
	if err != nil {
		return err
	}
	if j.Attempts > 1 {
		if ts, _ := b.findPosted(ctx, channel, digestBlockID(p.Day)); ts != "" {
			return nil
		}
	}
	channels := map[string]string{}
	for _, c := range p.Cases {
		if ch, err := b.Store.Channel(ctx, c.Ref); err == nil {
			channels[c.Ref] = ch.ChannelID
		}
	}
	text, blocks := DigestMessage(p, channels, b.Config.Roles.Coordinator, b.Config)
	_, err = b.post(ctx, channel, text, blocks)
	return b.digestPostError(err)
}

// digestPostError turns Slack's "the app is not in that channel" (it was
// removed, or the channel archived, since it was found) into a failure the
// outbox retries, saying to invite it: the message waits for a person to
// do so rather than ending at once. The channel is looked up again.
func (b *Bot) digestPostError(err error) error {
	switch slackCode(err) {
	case "not_in_channel", "channel_not_found", "is_archived", "channel_is_archived":
		b.digest.mu.Lock()
		b.digest.id = ""
		b.digest.problem = "invite the app to " + b.Config.Slack.DigestChannelName() + " ([slack] digest_channel): Slack answered " + slackCode(err)
		b.digest.mu.Unlock()
		return fmt.Errorf("digest channel: %s", b.DigestProblem())
	}
	return err
}
