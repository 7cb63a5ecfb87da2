package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/csp/trigger/casefile"
)

// Handle does one slack.* outbox job. Each job is a few Slack calls; each
// step is recorded or checked so that a retry after a crash or an outage
// repeats nothing that Slack already did.
func (b *Bot) Handle(ctx context.Context, j casefile.Job) (casefile.JobDone, error) {
	var err error
	switch j.Kind {
	case casefile.JobSlackCreateChannel:
		var p casefile.CreateChannelJob
		if p, err = casefile.PayloadOf[casefile.CreateChannelJob](j); err == nil {
			err = b.createChannel(ctx, p.Case, j.Attempts > 1)
		}
	case casefile.JobSlackUpdateCard:
		var p casefile.UpdateCardJob
		if p, err = casefile.PayloadOf[casefile.UpdateCardJob](j); err == nil {
			err = b.updateCard(ctx, p.Case)
		}
	case casefile.JobSlackPostRequest:
		var p casefile.PostRequestJob
		if p, err = casefile.PayloadOf[casefile.PostRequestJob](j); err == nil {
			err = b.postRequest(ctx, p.Case, p.Agency, j.Attempts > 1)
		}
	case casefile.JobSlackUpdateRequest:
		var p casefile.UpdateRequestJob
		if p, err = casefile.PayloadOf[casefile.UpdateRequestJob](j); err == nil {
			err = b.updateRequest(ctx, p.Case, p.Agency)
		}
	case casefile.JobSlackNotify:
		var p casefile.NotifyJob
		if p, err = casefile.PayloadOf[casefile.NotifyJob](j); err == nil {
			key := p.Key
			if key == "" {
				key = fmt.Sprint(j.ID)
			}
			var to []string
			if p.Coordinator {
				to = append(to, b.Config.Roles.Coordinator...)
			}
			if p.Chair {
				to = append(to, b.Config.Roles.Chair...)
			}
			err = b.notify(ctx, p.Case, key, p.Text, to, p.Prompt, j.Attempts > 1)
		}
	case casefile.JobSlackPostDraft:
		var p casefile.PostDraftJob
		if p, err = casefile.PayloadOf[casefile.PostDraftJob](j); err == nil {
			err = b.postDraft(ctx, p.Case, p.Letter, j.Attempts > 1)
		}
	case casefile.JobSlackReminder:
		err = b.postReminder(ctx, j)
	case casefile.JobSlackDirect:
		var p casefile.DirectMessageJob
		if p, err = casefile.PayloadOf[casefile.DirectMessageJob](j); err == nil {
			err = b.directMessage(ctx, j, p)
		}
	default:
		err = casefile.Permanent(fmt.Errorf("the bot does not know job kind %q", j.Kind))
	}
	return casefile.JobDone{}, err
}

// errNotYet says a job must wait for an earlier one (the channel): a wait,
// which uses no attempt and never ends the job.
func errNotYet(what string) error { return casefile.Wait(fmt.Errorf("waiting: %s", what), 0) }

// channelOf returns the case's channel, or a retryable error while the
// channel job has not run yet.
func (b *Bot) channelOf(ctx context.Context, ref string) (casefile.SlackChannel, error) {
	ch, err := b.Store.Channel(ctx, ref)
	if casefile.ErrorCode(err) == casefile.ENOTFOUND {
		return ch, errNotYet(ref + " has no channel yet")
	}
	return ch, err
}

func (b *Bot) createChannel(ctx context.Context, ref string, retry bool) error {
	c, err := b.Store.Case(ctx, ref)
	if err != nil {
		return casefile.Permanent(err)
	}
	ch, err := b.Store.Channel(ctx, ref)
	switch {
	case casefile.ErrorCode(err) == casefile.ENOTFOUND:
		name := b.ChannelName(ref)
		var created *slack.Channel
		err := b.call(ctx, "conversations.create", func() error {
			var err error
			created, err = b.API.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: name, IsPrivate: true})
			return err
		})
		id := ""
		switch {
		case err == nil:
			id = created.ID
		case slackCode(err) == "name_taken":
			// Made by an earlier attempt whose answer was lost, or by hand:
			// find it and use it.
			if id, err = b.findChannel(ctx, name); err != nil {
				return err
			}
		default:
			return err
		}
		if err := b.Store.SetChannel(ctx, ref, id, name); err != nil {
			return err
		}
		ch = casefile.SlackChannel{CaseRef: ref, ChannelID: id, Name: name}
	case err != nil:
		return err
	}

	if err := b.inviteTeam(ctx, c, ch.ChannelID); err != nil {
		return err
	}
	if ch.CardTS == "" {
		reqs, _ := b.Store.Requests(ctx, ref)
		blocks := CaseCard(c, b.Config, reqs, b.Config.Slack.SharePersonalData)
		ts := ""
		if retry {
			ts, _ = b.findPosted(ctx, ch.ChannelID, "card-"+ref)
		}
		if ts == "" {
			ts, err = b.post(ctx, ch.ChannelID, "Community Trigger "+ref, withBlockID(blocks, "card-"+ref))
			if err != nil {
				return err
			}
		}
		if err := b.Store.SetCardTS(ctx, ref, ts); err != nil {
			return err
		}
	}
	return b.call(ctx, "conversations.setTopic", func() error {
		_, err := b.API.SetTopicOfConversationContext(ctx, ch.ChannelID, Topic(c))
		return err
	})
}

// inviteTeam invites the coordinators, approvers and the Chair, and the
// officers of the agencies the application names (all agencies when it names none). Officers Slack cannot
// find are reported to the coordinator; their agency is asked by email.
func (b *Bot) inviteTeam(ctx context.Context, c *casefile.Case, channel string) error {
	users := append([]string(nil), b.Config.Roles.Coordinator...)
	users = append(users, b.Config.Roles.Approvers...)
	users = append(users, b.Config.Roles.Chair...)
	agencies := c.Agencies
	if len(agencies) == 0 {
		for _, a := range b.Config.Agencies {
			agencies = append(agencies, a.ID)
		}
	}
	missingBy := map[string]int{}
	agencyOf := map[string]string{} // officer's user id → agency name
	for _, id := range agencies {
		a, ok := b.Config.Agency(id)
		if !ok {
			continue
		}
		ids, missing, err := b.resolveOfficers(ctx, a)
		if err != nil {
			return err
		}
		for _, u := range ids {
			agencyOf[u] = a.Name
		}
		users = append(users, ids...)
		missingBy[a.Name] += len(missing)
		if len(a.SlackUsers) == 0 {
			missingBy[a.Name] = -1 // none configured
		}
	}
	var team []string
	seen := map[string]bool{}
	for _, u := range users {
		if !seen[u] {
			seen[u] = true
			team = append(team, u)
		}
	}
	// The whole team in one call. conversations.invite is Tier 3 (50 a
	// minute): a call per person (four for a case) capped channels at about
	// 12 a minute, below conversations.create's Tier 2 (20 a minute), and so
	// set the pace when many cases arrive (BenchmarkCreateChannels100). When
	// one person cannot be added Slack adds nobody and names the reason;
	// then each is invited alone, as before, so that the others are.
	if len(team) > 1 {
		invite := func() error {
			return b.call(ctx, "conversations.invite", func() error {
				_, err := b.API.InviteUsersToConversationContext(ctx, channel, team...)
				return err
			})
		}
		err := invite()
		if slackCode(err) == "already_in_channel" {
			// A retry: an earlier attempt added the team, or some of it.
			// Invite only who is missing, still in one call, rather than
			// each person again (every call another chance to fail).
			in, merr := b.members(ctx, channel)
			if merr != nil {
				return merr
			}
			team = slices.DeleteFunc(team, func(u string) bool { return slices.Contains(in, u) })
			err = nil
			if len(team) > 0 {
				err = invite()
			}
		}
		switch slackCode(err) {
		case "":
			team = nil
		case "already_in_channel", "cant_invite_self", "user_not_found", "users_not_found", "user_is_deactivated", "cant_invite", "user_is_restricted":
		default:
			return err
		}
	}
	for _, u := range team {
		err := b.call(ctx, "conversations.invite", func() error {
			_, err := b.API.InviteUsersToConversationContext(ctx, channel, u)
			return err
		})
		switch slackCode(err) {
		case "", "already_in_channel", "cant_invite_self":
		case "user_not_found", "users_not_found", "user_is_deactivated", "cant_invite", "user_is_restricted":
			if name, ok := agencyOf[u]; ok { // an officer, named by id or by email
				missingBy[name] = max(missingBy[name], 0) + 1
			}
			b.Logger.Warn("slack: officer could not be invited", "case", c.Ref, "user", u, "error", slackCode(err))
		default:
			return err
		}
	}
	var lines []string
	for _, id := range agencies {
		a, _ := b.Config.Agency(id)
		switch n := missingBy[a.Name]; {
		case n < 0:
			lines = append(lines, a.Name+": no officer configured")
		case n > 0:
			lines = append(lines, fmt.Sprintf("%s: %s not found in Slack", a.Name, plural(n, "officer")))
		}
	}
	if len(lines) > 0 {
		text := "I could not add every officer to this channel — " + strings.Join(lines, "; ") +
			". An agency with no officer here is asked by email instead. Please check `[[agency]] slack_users` in the configuration."
		return b.Store.Notice(ctx, c.Ref, "missing-officers", text, true)
	}
	return nil
}

// members lists a channel's members.
func (b *Bot) members(ctx context.Context, channel string) ([]string, error) {
	var all []string
	cursor := ""
	for {
		var page []string
		err := b.call(ctx, "conversations.members", func() error {
			var err error
			page, cursor, err = b.API.GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{ChannelID: channel, Cursor: cursor, Limit: 1000})
			return err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if cursor == "" {
			return all, nil
		}
	}
}

// findChannel finds a private channel the bot is in by name.
func (b *Bot) findChannel(ctx context.Context, name string) (string, error) {
	cursor := ""
	for {
		var chans []slack.Channel
		err := b.call(ctx, "conversations.list", func() error {
			var err error
			chans, cursor, err = b.API.GetConversationsContext(ctx, &slack.GetConversationsParameters{
				Types: []string{"private_channel"}, ExcludeArchived: true, Limit: 200, Cursor: cursor,
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
			return "", casefile.Permanent(fmt.Errorf("channel %s exists (name_taken) but the bot cannot see it: invite the bot to it or rename it", name))
		}
	}
}

// findPosted looks in a channel's recent history for a message of ours
// carrying blockID: after a crash between posting and recording, the retry
// finds it rather than posting it twice.
func (b *Bot) findPosted(ctx context.Context, channel, blockID string) (string, error) {
	var hist *slack.GetConversationHistoryResponse
	err := b.call(ctx, "conversations.history", func() error {
		var err error
		hist, err = b.API.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: channel, Limit: 200})
		return err
	})
	if err != nil {
		return "", err
	}
	for _, m := range hist.Messages {
		for _, bl := range m.Blocks.BlockSet {
			if blockIDOf(bl) == blockID {
				return m.Timestamp, nil
			}
		}
	}
	return "", nil
}

func blockIDOf(b slack.Block) string {
	switch v := b.(type) {
	case *slack.SectionBlock:
		return v.BlockID
	case *slack.HeaderBlock:
		return v.BlockID
	case *slack.ContextBlock:
		return v.BlockID
	case *slack.ActionBlock:
		return v.BlockID
	}
	return ""
}

// withBlockID gives the first block an id by which findPosted knows it.
func withBlockID(blocks []slack.Block, id string) []slack.Block {
	if len(blocks) == 0 {
		return blocks
	}
	switch v := blocks[0].(type) {
	case *slack.SectionBlock:
		v.BlockID = id
	case *slack.HeaderBlock:
		v.BlockID = id
	}
	return blocks
}

func (b *Bot) post(ctx context.Context, channel, text string, blocks []slack.Block, opts ...slack.MsgOption) (string, error) {
	var ts string
	err := b.call(ctx, "chat.postMessage", func() error {
		var err error
		_, ts, err = b.API.PostMessageContext(ctx, channel, append([]slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)}, opts...)...)
		return err
	})
	return ts, err
}

func (b *Bot) update(ctx context.Context, channel, ts, text string, blocks []slack.Block) error {
	return b.call(ctx, "chat.update", func() error {
		_, _, _, err := b.API.UpdateMessageContext(ctx, channel, ts, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
		return err
	})
}

func (b *Bot) updateCard(ctx context.Context, ref string) error {
	ch, err := b.channelOf(ctx, ref)
	if err != nil {
		return err
	}
	if ch.CardTS == "" {
		return errNotYet(ref + " has no card yet")
	}
	c, err := b.Store.Case(ctx, ref)
	if err != nil {
		return casefile.Permanent(err)
	}
	reqs, err := b.Store.Requests(ctx, ref)
	if err != nil {
		return err
	}
	blocks := withBlockID(CaseCard(c, b.Config, reqs, b.Config.Slack.SharePersonalData), "card-"+ref)
	if err := b.update(ctx, ch.ChannelID, ch.CardTS, "Community Trigger "+ref, blocks); err != nil {
		return err
	}
	return b.call(ctx, "conversations.setTopic", func() error {
		_, err := b.API.SetTopicOfConversationContext(ctx, ch.ChannelID, Topic(c))
		return err
	})
}

func (b *Bot) request(ctx context.Context, ref, agency string) (casefile.InfoRequest, error) {
	reqs, err := b.Store.Requests(ctx, ref)
	if err != nil {
		return casefile.InfoRequest{}, err
	}
	for _, r := range reqs {
		if r.Agency == agency {
			return r, nil
		}
	}
	return casefile.InfoRequest{}, casefile.Permanent(fmt.Errorf("%s has no request to %s", ref, agency))
}

func (b *Bot) postRequest(ctx context.Context, ref, agency string, retry bool) error {
	ch, err := b.channelOf(ctx, ref)
	if err != nil {
		return err
	}
	req, err := b.request(ctx, ref, agency)
	if err != nil || req.MessageTS != "" {
		return err
	}
	a, ok := b.Config.Agency(agency)
	if !ok {
		return casefile.Permanent(fmt.Errorf("agency %q is not configured", agency))
	}
	officers, _, err := b.resolveOfficers(ctx, a)
	if err != nil {
		return err
	}
	if len(officers) == 0 {
		if a.Email != "" {
			if err := b.Store.AskByEmail(ctx, ref, agency); err != nil {
				return err
			}
			req.ByEmail = true
		} else if err := b.Store.Notice(ctx, ref, "no-contact-"+agency, a.Name+" has no officer in Slack and no email address in the configuration: please ask them for details directly.", true); err != nil {
			return err
		}
	}
	text, blocks := RequestMessage(ref, a, officers, req, b.Cal, b.Config.Timescales.AgencyReplies)
	ts := ""
	if retry {
		ts, _ = b.findPosted(ctx, ch.ChannelID, "request-"+ref+"-"+agency)
	}
	if ts == "" {
		if ts, err = b.post(ctx, ch.ChannelID, text, blocks); err != nil {
			return err
		}
	}
	return b.Store.SetRequestMessage(ctx, ref, agency, ts, len(officers) == 0)
}

func (b *Bot) updateRequest(ctx context.Context, ref, agency string) error {
	ch, err := b.channelOf(ctx, ref)
	if err != nil {
		return err
	}
	req, err := b.request(ctx, ref, agency)
	if err != nil {
		return err
	}
	if req.MessageTS == "" {
		return errNotYet("the request to " + agency + " is not posted yet")
	}
	a, _ := b.Config.Agency(agency)
	officers, _, err := b.resolveOfficers(ctx, a)
	if err != nil {
		return err
	}
	text, blocks := RequestMessage(ref, a, officers, req, b.Cal, b.Config.Timescales.AgencyReplies)
	return b.update(ctx, ch.ChannelID, req.MessageTS, text, blocks)
}

func (b *Bot) notify(ctx context.Context, ref, key, text string, who []string, prompt string, retry bool) error {
	ch, err := b.channelOf(ctx, ref)
	if err != nil {
		return err
	}
	blockID := "notice-" + ref + "-" + key
	if retry {
		if ts, _ := b.findPosted(ctx, ch.ChannelID, blockID); ts != "" {
			return nil
		}
	}
	blocks := NoticeMessage(ref, text, who, prompt)
	_, err = b.post(ctx, ch.ChannelID, text, withBlockID(blocks, blockID))
	return err
}

// call makes one Slack call, honouring Retry-After: a rate-limited method is
// paused for everyone until Slack's wait is over, and the call is tried
// again in place a few times before the job is put back.
func (b *Bot) call(ctx context.Context, method string, fn func() error) error {
	for attempt := 0; ; attempt++ {
		if err := b.pace.wait(ctx, method); err != nil {
			return err
		}
		err := fn()
		var rl *slack.RateLimitedError
		if errors.As(err, &rl) {
			wait := rl.RetryAfter
			if wait <= 0 {
				wait = time.Second // a 429 without Retry-After: back off a little
			}
			b.pace.block(method, wait) // the last 429 too: it pauses the others
			if attempt < 5 {
				continue
			}
		}
		if err != nil && b.OnSlackError != nil {
			b.OnSlackError(method, slackCode(err))
		}
		return classify(method, err)
	}
}
