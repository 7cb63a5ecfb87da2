// Package slackemu is a stateful emulator of the parts of Slack the bot
// uses: the Web API (http://ADDR/api/METHOD), Socket Mode, signed HTTP
// interactivity, slash commands and Events API delivery, and the people who
// click, type, reply, upload, edit and delete. It enforces Slack's rules and
// answers with Slack's error codes, so a client that works against it has
// met the same refusals it would meet in a real workspace: Block Kit limits,
// token scopes, channel name rules, membership, guests and deactivated
// accounts, trigger_id expiry and single use, rate limits with Retry-After,
// ack deadlines with redelivery.
//
// Clients use it exactly as they use Slack:
//
//	e := slackemu.New(slackemu.Options{TimeScale: 60})
//	defer e.Close()
//	if err := e.Start("127.0.0.1:0"); err != nil { ... }
//	api := slack.New(e.BotToken(), slack.OptionAPIURL(e.APIURL()),
//		slack.OptionAppLevelToken(e.AppToken()))
//
// # Time
//
// The emulator runs on its own clock. TimeScale 60 makes one emulated minute
// pass in one real second; Advance jumps forward. Slack's durations (rate
// limit windows, the 3-second ack and trigger_id deadlines, Events API retry
// delays, response_url lifetime) are emulated durations. Two values are real
// time on purpose, because the client compares them with its own clock:
//
//   - the Retry-After header holds the real seconds to wait (the emulated
//     wait divided by TimeScale, rounded up, at least 1), so a client that
//     honours it waits just long enough;
//   - X-Slack-Request-Timestamp on signed requests is the real Unix time, so
//     a client's 5-minute replay window keeps working at any TimeScale.
//
// # Block Kit
//
// Blocks are checked on every surface they reach: chat.postMessage,
// chat.update, chat.postEphemeral, response_url posts and a slash command's
// immediate answer (surface "messages"); views.open, views.update,
// views.push and a view_submission's response_action update/push
// ("modals"); views.publish ("home tabs"). A message that breaks a rule is
// refused with invalid_blocks, a view with invalid_arguments; both carry
// every problem in response_metadata.messages as Slack words them,
// "[ERROR] <what> [json-pointer:/blocks/3/text/text]" (under /view/… for
// views); invalid_blocks also lists them, without the prefix, in errors.
// Lengths are counted in characters, Unicode code points, as Slack counts
// them, not bytes. The limits, from Slack's Block Kit reference:
//
//   - blocks: 50 per message, 100 per modal or Home tab; block_id at most
//     255 characters and unique within the message or view;
//   - text objects 1 to 3,000 characters, emoji only on plain_text,
//     verbatim only on mrkdwn; section: text, or 1 to 10
//     fields of at most 2,000 each, one accessory; header: plain_text, 150;
//     context: 1 to 10 images or text objects; actions: 1 to 25 elements;
//     input: plain_text label and hint of 2,000, one element; image:
//     image_url or slack_file, alt_text 2,000, title 2,000; markdown 12,000;
//   - elements: action_id at most 255 and unique within its block; button
//     text plain_text 75, value 2,000, url 3,000, style primary or danger,
//     accessibility_label 75; checkboxes and radio buttons 1 to 10 options;
//     static selects (single and multi) 1 to 100 options or option groups of
//     1 to 100 options, never both; overflow 1 to 5 options; placeholder
//     plain_text 150; plain_text_input min_length 0 to 3,000, max_length 1
//     to 3,000, min_length not above max_length; confirm: title 100, text
//     300, confirm and deny 30;
//   - options: text 75 (plain_text only in selects and overflow menus),
//     value 1 to 150, description 75, url only in overflow menus;
//     initial_option(s) must be one of the options (same value and text);
//   - surfaces and blocks, from the reference's tables: actions, context,
//     divider, header, image, input, rich_text, section and video work
//     everywhere; file, markdown, table and context_actions in messages
//     only. Input blocks are allowed in messages (the reference lists them
//     there), but their elements keep their own surfaces: email, number,
//     URL and file inputs in modals only, rich_text_input in modals and
//     Home tabs, datetimepicker in modals and messages, workflow_button in
//     messages. Each element works only in the blocks the reference names
//     (a plain_text_input only in an input block, a button never in one);
//     the actions block also takes multi-select menus and rich_text_input,
//     as its own list says. An unknown block or element type is refused;
//   - modals: title (required) plain_text 24, submit and close 24, submit
//     required when there are input blocks; any view: private_metadata
//     3,000, callback_id 255, external_id 255;
//   - views.publish: the view argument over 250,000 bytes answers
//     view_too_large (Slack: "greater than 250kb").
//
// Block ids and action ids left out are filled in, as Slack does, and the
// stored blocks (Message.Blocks, View.Blocks) carry them.
//
// Message text: chat.postMessage cuts text over 40,000 characters to
// 40,000 and answers ok with the warning message_truncated; chat.update
// refuses text over 4,000 characters with msg_too_long (its reference: "The
// text field cannot exceed 4,000 characters"); chat.postEphemeral and
// response_url posts refuse text over 40,000 with msg_too_long. Attachments
// must be a JSON array of objects (invalid_attachments), at most 100
// (too_many_attachments). A message with neither text, blocks nor
// attachments is no_text.
//
// # Scopes
//
// The bot token carries Options.Scopes (nil: every scope in AllScopes).
// Each method first needs one of the bot scopes its reference lists (for
// instance chat:write for chat.postMessage, users:read for users.info,
// users:read.email for users.lookupByEmail, files:read for files.info; none
// for auth.test, chat.getPermalink and views.*), then, on a conversation,
// the scope for its type: channels:* for public channels, groups:* for
// private ones, im:* for DMs — conversations.create channels:manage or
// groups:write; conversations.invite channels:manage or
// channels:write.invites, groups:write or groups:write.invites;
// conversations.setTopic channels:manage or channels:write.topic,
// groups:write or groups:write.topic; conversations.info, .members, .list,
// users.conversations channels:read, groups:read, im:read for each type
// asked for; conversations.history and .replies channels:history,
// groups:history, im:history; conversations.join channels:join;
// conversations.open im:write. Without it the answer is
// {"ok":false,"error":"missing_scope","needed":"…","provided":"…"}: needed
// lists the scopes that would do, comma-separated; provided the token's.
// Every bot-token answer carries X-OAuth-Scopes. Events need scopes too:
// message.channels channels:history, message.groups groups:history,
// message.im im:history, app_mention app_mentions:read; a slash command
// needs commands. chat:write.public is not emulated: posting needs
// membership.
//
// # People
//
// AddUser adds a member, AddGuest a multi-channel or single-channel guest
// (users.info is_restricted, is_ultra_restricted), Deactivate deactivates
// an account: users.info shows deleted=true, users.lookupByEmail answers
// users_not_found (as its reference says), conversations.open answers
// user_disabled, chat.postEphemeral user_not_in_channel, and the person can
// no longer act. They stay listed in their channels.
//
// conversations.invite checks every user first: user_not_found,
// cant_invite_self (the bot), cant_invite (a deactivated account: Slack's
// reference lists no code of its own for that, cant_invite is its "User
// cannot be invited to this channel"), already_in_channel, ura_max_channels
// (a single-channel guest already in a channel). At most 100 users
// (too_many_users). Without force any failure fails the call and nobody is
// invited; with force ("continue inviting the valid ones while disregarding
// invalid IDs") the others are invited and the call still answers ok=false
// with the channel. Either way error is the first failure and errors lists
// every failure as {user, ok, error}, in the order given.
//
// # Conversations
//
// conversations.* methods take conversation ids only; a name answers
// channel_not_found. chat.postMessage and chat.postEphemeral also take a
// channel name ("#name" or "name") or a person's user id, which posts in the
// app's DM with them. A private channel the bot is not in does not exist
// for it (channel_not_found); posting in a public channel it is not in is
// not_in_channel. conversations.open opens the app's DM with one person
// (group DMs are not emulated); a DM channel id starts with D.
// users.conversations lists the bot's conversations, or with user another
// person's among those the bot can see.
//
// # System messages and events
//
// Slack posts system messages in channels and the emulator does too, into
// history (Messages, conversations.history) and as message events: a
// channel_join ("<@U…> has joined the channel", with inviter) for each
// person invited and when the bot joins a public channel, a channel_topic
// ("set the channel topic: …", with topic) each time the topic is set, even
// to the same text. Creating a channel posts none.
//
// Events are delivered for conversations the app is in, when it subscribes
// (Options.Events, nil: all) and its token has the event's scope. People's
// messages arrive as message events; BroadcastReply gives subtype
// thread_broadcast (with root; the reply is in the thread and in the
// channel's history), UploadFile file_share (files with id, name,
// mimetype, permalink, url_private; files.info and a GET of url_private
// with the bot token and files:read return them), EditMessage
// message_changed (hidden, message and previous_message), DeleteMessage
// message_deleted (hidden, deleted_ts and previous_message; a thread parent
// with replies stays as a tombstone, "This message was deleted."). A person
// can edit and delete only their own messages. OpenHome sends
// app_home_opened (tab home, the DM channel, and the view published for
// them when there is one). The app's own messages and edits are not echoed
// back to it as events; the system messages its calls cause are.
//
// # Home tabs and slash commands
//
// views.publish needs user_id to be a person in the workspace (not the bot,
// not deactivated), else invalid_arguments with "invalid `user_id`"; a hash
// that is not the current view's answers hash_conflict; an app whose
// manifest does not enable the Home tab (Options.NoHomeTab) gets not_enabled
// and nobody can open it; HomeView reads what the person sees. ClickInView
// has a person click in their Home tab or the modal on top of their screen:
// block_actions with container type "view" and the view (its hash and
// private_metadata), a trigger_id, no response_url. ClickEphemeral clicks
// in an ephemeral message: the container says is_ephemeral and, as Slack
// does, the payload carries no message. SlashCommand runs a command (one of Options.Commands
// when set; the token needs commands) in a channel or DM the person can
// use: the app gets a slash_commands envelope with accepts_response_payload,
// or over HTTP a signed form POST to CommandsURL, with channel_name
// "privategroup" for a private channel and "directmessage" for a DM, a
// trigger_id and a response_url. It has 3 emulated seconds to acknowledge
// (else ProblemTimeout). The acknowledgement's payload, or the HTTP 200
// body, is the immediate answer: shown in the channel for response_type
// in_channel (the app need not be a member), else to the person alone
// (Ephemerals); over HTTP the body is read as JSON only with Content-Type
// application/json, any other body is shown as plain text; an answer that
// breaks a rule shows nothing and gives ProblemBadResponse.
//
// # Choices where Slack's documentation is silent or varies
//
//   - Problem wording beyond the documented examples ("must be less than
//     3001 characters", "no more than 50 items allowed", "must provide at
//     least 1 items", "missing required field: …") is the emulator's; the
//     format and the JSON pointers are Slack's.
//   - msg_blocks_too_long: Slack documents the error, not the number. A
//     message whose blocks hold more than 12,000 characters of text in all
//     (the figure a Slack engineer gave) is refused on chat.postMessage
//     and chat.update; ephemerals and response_url posts are not checked,
//     as users report they are not.
//   - plain_text_input's initial_value must fit its max_length, or 3,000
//     characters when none is given.
//   - A trigger_id used a second time gets exchanged_trigger_id, one older
//     than 3 seconds expired_trigger_id, an unknown one invalid_trigger_id.
//   - A response_url accepts 5 posts within 30 minutes; the sixth gets
//     {"ok":false,"error":"used_url"}, a late one expired_url.
//   - A thread_ts that names no message gets thread_not_found.
//   - SubmitView: what a person types into a plain_text_input must be
//     within its min_length and max_length (3,000 when none is given), as
//     Slack's client enforces.
package slackemu
