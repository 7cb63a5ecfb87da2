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
			err = b.notify(ctx, p.Case, key, p.Text, to, p.Prompt, p.Message, j.Attempts > 1)
		}
	case casefile.JobSlackPostDraft:
		var p casefile.PostDraftJob
		if p, err = casefile.PayloadOf[casefile.PostDraftJob](j); err == nil {
			err = b.postDraft(ctx, p.Case, p.Letter, j.Attempts > 1)
		}
	case casefile.JobSlackReminder:
		err = b.postReminder(ctx, j)
	case casefile.JobSlackDigest:
		err = b.postDigest(ctx, j)
	case casefile.JobSlackDirect:
		var p casefile.DirectMessageJob
		if p, err = casefile.PayloadOf[casefile.DirectMessageJob](j); err == nil {
			err = b.directMessage(ctx, j, p)
		}
	default:
		err = casefile.Permanent(fmt.Errorf("the bot does not know job kind %q", j.Kind))
	}
	if err == nil && j.CaseRef != "" && changesHome[j.Kind] {
		b.caseChanged(ctx, j.CaseRef)
	}
	return casefile.JobDone{}, err
}

// changesHome are the jobs that follow a change of a case the Home tab
// shows: a new case (its channel), a new status (the card), an agency
// asked or answering, a letter to approve.
var changesHome = map[string]bool{
	casefile.JobSlackCreateChannel: true, casefile.JobSlackUpdateCard: true, casefile.JobSlackPostRequest: true,
	casefile.JobSlackUpdateRequest: true, casefile.JobSlackPostDraft: true,
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
		ch.CardTS = ts
	}
	if err := b.decisionThread(ctx, c, ch); err != nil {
		return err
	}
	return b.setTopic(ctx, ch, c)
}

// setTopic sets the channel's topic when its text has changed since the
// bot last set it: Slack posts a system message in the channel each time.
func (b *Bot) setTopic(ctx context.Context, ch casefile.SlackChannel, c *casefile.Case) error {
	topic := Topic(c)
	if topic == ch.Topic {
		return nil
	}
	if err := b.call(ctx, "conversations.setTopic", func() error {
		_, err := b.API.SetTopicOfConversationContext(ctx, ch.ChannelID, topic)
		return err
	}); err != nil {
		return err
	}
	return b.Store.SetTopic(ctx, c.Ref, topic)
}

// decisionThread puts a threshold decision's reason in full in the card's
// thread when the card shows only its beginning, once.
func (b *Bot) decisionThread(ctx context.Context, c *casefile.Case, ch casefile.SlackChannel) error {
	d := c.Threshold.Decision
	if d == nil || ch.CardTS == "" {
		return nil
	}
	if _, cut := DecisionReason(d.Reason); !cut {
		return nil
	}
	key := "decision-" + c.Ref
	if done, err := b.Store.Seen(ctx, "thread:"+key); err != nil || done {
		return err
	}
	text := fmt.Sprintf("*The reason for the decision*, as <@%s> gave it:\n%s", d.By, d.Reason)
	if err := b.postInThread(ctx, ch.ChannelID, ch.CardTS, key, splitText(text, sectionChars), true); err != nil {
		return err
	}
	_, err := b.Store.FirstSeen(ctx, "thread:"+key)
	return err
}

// postInThread posts pieces of a long text as replies in the thread of ts,
// each within Slack's limits and with block id KEY-N. With retry it first
// looks in the thread for those posted before (a crash, a lost answer), so
// that none is posted twice.
func (b *Bot) postInThread(ctx context.Context, channel, ts, key string, pieces []string, retry bool) error {
	have := map[string]bool{}
	if retry {
		var err error
		if have, err = b.threadBlockIDs(ctx, channel, ts); err != nil {
			return err
		}
	}
	for i, p := range pieces {
		id := fmt.Sprintf("%s-%d", key, i+1)
		if have[id] {
			continue
		}
		if _, err := b.post(ctx, channel, shortenMrkdwn(p, maxText), ThreadReply(id, p), slack.MsgOptionTS(ts)); err != nil {
			return err
		}
	}
	return nil
}

// threadBlockIDs lists the block ids of the bot's replies in a thread.
func (b *Bot) threadBlockIDs(ctx context.Context, channel, ts string) (map[string]bool, error) {
	ids := map[string]bool{}
	cursor := ""
	for {
		var msgs []slack.Message
		var more bool
		err := b.call(ctx, "conversations.replies", func() error {
			var err error
			msgs, more, cursor, err = b.API.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: channel, Timestamp: ts, Cursor: cursor, Limit: 200})
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			for _, bl := range m.Blocks.BlockSet {
				if id := blockIDOf(bl); id != "" {
					ids[id] = true
				}
			}
		}
		if !more || cursor == "" {
			return ids, nil
		}
	}
}

// inviteTeam invites the coordinators, approvers and the Chair, and the
// officers of the agencies the application names (all agencies when it
// names none). One who cannot be added (a single-channel guest already in
// their channel, a deactivated account, an officer Slack does not know)
// keeps nobody else out: the coordinator is told who and why (user ids and
// agency names only), and an agency with nobody here is asked by email.
func (b *Bot) inviteTeam(ctx context.Context, c *casefile.Case, channel string) error {
	var users []string
	role := map[string]string{} // who each person is here, for the report
	add := func(us []string, what string) {
		for _, u := range us {
			if _, ok := role[u]; !ok {
				role[u] = what
				users = append(users, u)
			}
		}
	}
	add(b.Config.Roles.Coordinator, "the coordinator")
	add(b.Config.Roles.Chair, "the Chair")
	add(b.Config.Roles.Approvers, "an approver")
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
			if _, ok := agencyOf[u]; !ok {
				agencyOf[u] = a.Name
			}
		}
		add(ids, "an officer of "+a.Name)
		missingBy[a.Name] += len(missing)
		if len(a.SlackUsers) == 0 {
			missingBy[a.Name] = -1 // none configured
		}
	}
	refused, err := b.invite(ctx, channel, users)
	if err != nil {
		return err
	}
	var others []string // people Slack would not add, with why
	for _, u := range users {
		code, ok := refused[u]
		if !ok {
			continue
		}
		b.Logger.Warn("slack: could not be invited", "case", c.Ref, "user", u, "error", code)
		if name, ok := agencyOf[u]; ok && (code == "user_not_found" || code == "users_not_found") {
			missingBy[name] = max(missingBy[name], 0) + 1 // counted with those looked up by email
			continue
		}
		others = append(others, fmt.Sprintf("<@%s> (%s): %s", u, role[u], inviteRefusalText(code)))
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
	lines = append(lines, others...)
	if len(lines) == 0 {
		return nil
	}
	text := "I could not add every officer to this channel — " + strings.Join(lines, "; ") +
		". An agency with no officer here is asked by email instead. Please check `[[agency]] slack_users` in the configuration, or ask a Slack admin about the accounts named."
	return b.Store.Notice(ctx, c.Ref, "missing-officers", text, true)
}

// inviteRefusals are conversations.invite's answers about one person, not
// about the call: the others can still be added.
var inviteRefusals = map[string]bool{
	"already_in_channel": true, "cant_invite_self": true, "cant_invite": true, "ura_max_channels": true,
	"user_not_found": true, "users_not_found": true, "user_is_restricted": true, "user_is_deactivated": true,
	"user_disabled": true, "user_is_ultra_restricted": true,
}

// inviteRefusalText says why Slack would not add someone, in words.
func inviteRefusalText(code string) string {
	switch code {
	case "ura_max_channels":
		return "a single-channel guest, already in their one channel"
	case "cant_invite", "user_is_deactivated", "user_disabled":
		return "Slack does not allow inviting this account (deactivated?)"
	case "user_is_restricted", "user_is_ultra_restricted":
		return "a guest who cannot be added to this channel"
	}
	return "Slack said " + code
}

// invite adds users to a channel and returns those Slack would not add,
// with its reason. It invites everyone in one call (conversations.invite
// is Tier 3: a call per person once capped channel creation at about 12 a
// minute, see BenchmarkCreateChannels100), with force, so that one person
// who cannot be added keeps nobody else out. Slack then names only the
// first refusal: whoever is still missing from the channel is asked about
// alone, to learn why.
func (b *Bot) invite(ctx context.Context, channel string, users []string) (map[string]string, error) {
	defer func() {
		b.mu.Lock()
		delete(b.memberLists, channel) // listed again when next needed
		b.mu.Unlock()
	}()
	refused := map[string]string{}
	for len(users) > 0 {
		batch := users[:min(len(users), 100)] // Slack takes 100 at a time
		users = users[len(batch):]
		err := b.call(ctx, "conversations.invite", func() error {
			_, err := b.API.ForceInviteUsersToConversationContext(ctx, channel, batch...)
			return err
		})
		switch code := slackCode(err); {
		case err == nil:
			continue
		case !inviteRefusals[code]:
			return nil, err
		}
		in, err := b.members(ctx, channel)
		if err != nil {
			return nil, err
		}
		for _, u := range batch {
			if slices.Contains(in, u) {
				continue
			}
			err := b.call(ctx, "conversations.invite", func() error {
				_, err := b.API.InviteUsersToConversationContext(ctx, channel, u)
				return err
			})
			switch code := slackCode(err); {
			case err == nil, code == "already_in_channel", code == "cant_invite_self":
			case inviteRefusals[code]:
				refused[u] = code
			default:
				return nil, err
			}
		}
	}
	return refused, nil
}

// presentOfficers are the agency's officers who are in the channel: a
// request mentions them, and an agency with none is asked by email.
func (b *Bot) presentOfficers(ctx context.Context, channel string, a casefile.Agency) ([]string, error) {
	officers, _, err := b.resolveOfficers(ctx, a)
	if err != nil || len(officers) == 0 {
		return nil, err
	}
	in, err := b.recentMembers(ctx, channel)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(officers, func(u string) bool { return !slices.Contains(in, u) }), nil
}

// membersTTL is how long a channel's members, as Slack last listed them,
// stand for a request's mentions: a busy thread updates its request many
// times a minute, and only the bot adds people (inviting forgets the list).
const membersTTL = 2 * time.Minute

// recentMembers is members, from what Slack said less than membersTTL ago.
func (b *Bot) recentMembers(ctx context.Context, channel string) ([]string, error) {
	b.mu.Lock()
	m, ok := b.memberLists[channel]
	b.mu.Unlock()
	if ok && b.now().Sub(m.at) < membersTTL {
		return m.ids, nil
	}
	ids, err := b.members(ctx, channel)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.memberLists == nil {
		b.memberLists = map[string]memberList{}
	}
	b.memberLists[channel] = memberList{ids: ids, at: b.now()}
	b.mu.Unlock()
	return ids, nil
}

type memberList struct {
	ids []string
	at  time.Time
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
	if err := b.decisionThread(ctx, c, ch); err != nil {
		return err
	}
	return b.setTopic(ctx, ch, c)
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
	officers, err := b.presentOfficers(ctx, ch.ChannelID, a)
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
	officers, err := b.presentOfficers(ctx, ch.ChannelID, a)
	if err != nil {
		return err
	}
	text, blocks := RequestMessage(ref, a, officers, req, b.Cal, b.Config.Timescales.AgencyReplies)
	return b.update(ctx, ch.ChannelID, req.MessageTS, text, blocks)
}

func (b *Bot) notify(ctx context.Context, ref, key, text string, who []string, prompt string, message int64, retry bool) error {
	ch, err := b.channelOf(ctx, ref)
	if err != nil {
		return err
	}
	blockID := "notice-" + ref + "-" + key
	ts := ""
	if retry {
		ts, _ = b.findPosted(ctx, ch.ChannelID, blockID)
	}
	if ts == "" {
		blocks := NoticeMessage(ref, text, who, prompt)
		if prompt == casefile.PromptUnverified {
			blocks = UnverifiedNotice(ref, message, text, who)
		}
		if ts, err = b.post(ctx, ch.ChannelID, shortenMrkdwn(text, maxText), withBlockID(blocks, blockID)); err != nil {
			return err
		}
	}
	// A notice too long for its message: the full text in its thread.
	if pieces := NoticeThread(text, who); len(pieces) > 0 {
		return b.postInThread(ctx, ch.ChannelID, ts, blockID, pieces, retry)
	}
	return nil
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
