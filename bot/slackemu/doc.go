// Package slackemu is a stateful emulator of the parts of Slack the bot
// uses: the Web API (http://ADDR/api/METHOD), Socket Mode, signed HTTP
// interactivity and Events API delivery, and the people who click, type and
// reply. It enforces Slack's rules and answers with Slack's error codes, so a
// client that works against it has met the same refusals it would meet in a
// real workspace: channel name rules, membership, trigger_id expiry and single
// use, rate limits with Retry-After, ack deadlines with redelivery.
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
// # Choices where Slack's documentation is silent or varies
//
//   - conversations.invite with force=true invites the valid users and, when
//     some failed, answers ok=false with the first failure as error and every
//     failure in errors (objects with user, ok and error); without force the
//     first bad user fails the call and nobody is invited.
//   - A trigger_id used a second time gets exchanged_trigger_id, one older
//     than 3 seconds expired_trigger_id, an unknown one invalid_trigger_id.
//   - A response_url accepts 5 posts within 30 minutes; the sixth gets
//     {"ok":false,"error":"used_url"}, a late one expired_url.
//   - A thread_ts that names no message gets thread_not_found.
//   - No channel_join or other system messages are added to channels, and
//     the app's own messages are not echoed back to it as events.
package slackemu
