package casefile

// Outbox job kinds. The dispatcher routes each kind to the adapter that does
// it: slack.* to the bot, email.* to outgoing mail.
const (
	JobSlackCreateChannel = "slack.create_channel" // create the case channel, invite, post the card
	JobSlackUpdateCard    = "slack.update_card"    // the case moved: update the card and topic
	JobSlackPostRequest   = "slack.post_request"   // ask one agency for details
	JobSlackUpdateRequest = "slack.update_request" // an agency replied: show it on the request
	JobSlackNotify        = "slack.notify"         // a plain message in the case channel
	JobSlackPostDraft     = "slack.post_draft"     // a letter draft for approval
	JobSlackReminder      = "slack.reminder"       // remind an agency in its request's thread
	JobEmailAck           = "email.ack"            // acknowledge an application
	JobEmailAgency        = "email.agency_request" // ask an agency by email (no Slack officers)
	JobEmailLetter        = "email.letter"         // send an approved letter
)
