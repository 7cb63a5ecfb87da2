package mailin

import "github.com/csp/trigger/casefile"

// Parsed is a message as ParseMessage reads it: the Inbound that intake
// files, and the parser's findings in detail (the Inbound carries what the
// case file keeps of each: AuthFailure, Application.ConsentEvidence,
// Bounce.Recipients and Bounce.OriginalMessageIDs).
type Parsed struct {
	Inbound casefile.Inbound

	// Auth is what the trusted gateway's Authentication-Results say of
	// the sender. A Reason means the message is not from the party it
	// claims to be (Inbound.AuthFailure = Reason).
	Auth AuthVerdict

	// ConsentEvidence is the sentence consent was read from when the
	// application states it in prose ("she has given me her written
	// consent to act for her and to share these details"), or a refusal
	// of it; "" when consent came from a form's answer or was not stated.
	// Inbound.Application.ConsentEvidence has it.
	ConsentEvidence string

	// Returned is what a bounce says of the mail it returns (nil when the
	// message is not a bounce); Inbound.Bounce has it as Recipients and
	// OriginalMessageIDs.
	Returned *Returned
}

// Returned is what a delivery failure tells of the message it returns. A
// bounce is about mail we sent only when one of MessageIDs is ours and was
// sent to one of Recipients: nothing else in a bounce can be trusted.
type Returned struct {
	// Recipients are the addresses whose delivery failed, lower case:
	// Final-Recipient and Original-Recipient of every failed recipient of
	// a DSN, or X-Failed-Recipients, or the address a bounce in plain
	// words names.
	Recipients []string `json:"recipients"`
	// MessageIDs are the Message-IDs of the returned message, without
	// angle brackets: from the message/rfc822 or text/rfc822-headers part
	// of a DSN, an attached message, or header lines quoted in the text.
	MessageIDs []string `json:"message_ids"`
}
