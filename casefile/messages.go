package casefile

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Ingest outcomes, as `trigger ingest --json` prints them.
const (
	OutcomeCreated       = "created"
	OutcomeFollowup      = "followup"
	OutcomeFurtherReview = "escalation"
	OutcomeDuplicate     = "duplicate"
	OutcomeAutoReply     = "auto_reply"
	OutcomeBounce        = "bounce"
	OutcomeQuarantined   = "quarantined"
)

// Machine-mail kinds that mail intake sets on Inbound.Machine.
const (
	MachineAutoReply = "auto_reply"
	MachineBounce    = "bounce"
)

// Inbound is an email as mail intake understood it: classified, with what
// it says as an application extracted. The store decides, in one
// transaction, which case it belongs to.
type Inbound struct {
	MessageID  string    // without angle brackets; "" means none: the sha256 of Raw stands in
	Raw        []byte    // the message exactly as received
	ReceivedAt time.Time // IMAP INTERNALDATE, else the Date header unless in the future, else now
	Subject    string
	From       string // the sender's address (never its display name), as the party to match; "" is an unknown sender
	Machine    string // "" for mail from a person, else MachineAutoReply or MachineBounce
	Bounce     *Bounce
	// SubjectRefs are case references in the subject ("[CT-2026-0013]").
	SubjectRefs []string
	// ReplyTo are the Message-IDs in In-Reply-To and References.
	ReplyTo []string
	// WantsFurtherReview is set when the text asks for a further review or
	// says the sender is unhappy with the response.
	WantsFurtherReview bool
	// What the message says about how to write to the resident, read
	// conservatively ("" when not clear): a language preference (from a
	// form field, a reply naming it, or a text written in Welsh: Source*
	// says which), accessible formats a form asks for, and in a reply the
	// involvement the met letter asks about.
	Language       LanguagePref
	LanguageSource string
	Formats        []string
	Involvement    Involvement
	Application    Application
	Text, HTML     string
	Attachments    []Attachment
	// AuthFailure is UnverifiedDMARCFail or UnverifiedSPFFail when the
	// trusted receiving gateway ([imap] trusted_authserv_id) says the
	// message is not from its From address; "" when it says nothing
	// against it (which does not make the sender a party).
	AuthFailure string
	// Item, when set, is the item of the mail store the message was
	// downloaded from (Microsoft Graph): the case file records it with
	// the message, and the same item again is a duplicate (MailItem).
	Item *MailItem
}

// MailItem is a message as a mail store with ids of its own knows it
// (Microsoft Graph). The case file records the item in the transaction
// that files (or quarantines) the message, with what became of it: the
// same item downloaded again — after a crash before it left the Inbox, or
// in a full resync — is then a duplicate even when the second download's
// bytes differ (Exchange writes a message's MIME afresh for a download),
// which the case file's own check, by Message-ID and bytes, would take for
// another message with the same Message-ID.
type MailItem struct {
	Source string // where it was read: "graph:" and the mailbox
	ID     string // the store's id (Graph's immutable id)
	// InternetMessageID and ReceivedAt know the item again under another
	// id (a mutable id changes when the message moves): one Message-ID
	// received at one instant in one mailbox is one delivery. A message
	// sent twice, or forged with another's Message-ID, arrives at another
	// instant and is filed as the case file files it.
	InternetMessageID string
	ReceivedAt        time.Time
}

// Bounce is what a delivery status notification says. Nothing in a bounce
// can be trusted on its own: it counts only when one of
// OriginalMessageIDs is a message we sent to one of Recipients.
type Bounce struct {
	Recipient         string
	Status            string // e.g. 5.1.1
	OriginalMessageID string // from the returned headers
	// Recipients are every failed recipient it names, lower case.
	Recipients []string
	// OriginalMessageIDs are every Message-ID of the returned message it
	// quotes, without angle brackets.
	OriginalMessageIDs []string
}

// Why a message is not taken as coming from a party to its case (the
// unverified_reason of `ingest --json` and `case show --json`). An
// unverified message is kept and shown, and changes nothing.
const (
	UnverifiedNotAParty     = "not_a_party"     // the sender is not the applicant, the victim, a co-applicant or an agency asked about the case
	UnverifiedUnknownSender = "unknown_sender"  // the From field has no address that can be read
	UnverifiedDMARCFail     = "dmarc_fail"      // the trusted gateway says DMARC failed: the From address is forged
	UnverifiedSPFFail       = "spf_fail"        // the trusted gateway says SPF failed and no aligned DKIM signature passed
	UnverifiedNotOurMessage = "not_our_message" // a bounce that quotes no message we sent to the address it names
	UnverifiedUnread        = "unread"          // quarantined: nothing about the sender could be read
)

// How the coordinator treats an unverified message (TreatUnverified).
const (
	TreatAsFurtherReview  = "further_review" // a request for a further review from the applicant
	TreatAsCorrespondence = "correspondence" // correspondence from the applicant
)

// Attachment is a file that came with an email.
type Attachment struct {
	Filename    string
	ContentType string
	Data        []byte
	SHA256      string
}

// IngestResult is one line of `trigger ingest --json`.
type IngestResult struct {
	Outcome   string  `json:"outcome"`
	Case      *string `json:"case"`
	MessageID string  `json:"message_id"`
	Reason    string  `json:"reason"`
	// Verified is whether the message is taken as coming from whom it
	// says: a party to the case it points to (or, for a new application,
	// its sender, unless the gateway refutes them; for a bounce, the
	// recipient of a message we sent). UnverifiedReason says why not.
	Verified         bool   `json:"verified"`
	UnverifiedReason string `json:"unverified_reason,omitempty"`
}

// MessageKey is how a message is known for de-duplication: its Message-ID,
// or the sha256 of its raw bytes when it has none. A Message-ID alone does
// not make two messages the same: see VariantKey.
func MessageKey(messageID string, raw []byte) string {
	if id := strings.Trim(strings.TrimSpace(messageID), "<>"); id != "" {
		return CleanHeaderText(id)
	}
	return "sha256:" + Sum(raw)
}

// VariantKey is the key a message is stored under when another message
// with the same Message-ID but other bytes was stored first: the
// Message-ID and the sha256 of its own bytes. Its Message-ID is kept as it
// is for showing and threading.
func VariantKey(messageID string, raw []byte) string {
	return VariantKeySum(messageID, Sum(raw))
}

// VariantKeySum is VariantKey for a message whose Sum is known.
func VariantKeySum(messageID, sum string) string {
	key := "sha256:" + sum
	if id := strings.Trim(strings.TrimSpace(messageID), "<>"); id != "" {
		key = CleanHeaderText(id)
	}
	return key + " sha256:" + sum
}

// Sum is the sha256 of a message's bytes, in hex: how a message is told
// from another with the same Message-ID.
func Sum(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// FurtherReview is a request for a further review and what became of it.
type FurtherReview struct {
	RequestedAt time.Time `json:"requested_at"`
	Source      string    `json:"source"`
	Late        bool      `json:"late"`
	Decision    string    `json:"decision"`
	Reason      string    `json:"reason"`
	DecidedBy   string    `json:"decided_by"`
	Outcome     string    `json:"outcome"`
	Upheld      *bool     `json:"upheld"`
}

// QuarantineRecord is mail that could not be read, kept to be retried.
type QuarantineRecord struct {
	ID         int64      `json:"id"`
	MessageKey string     `json:"message_key"`
	Error      string     `json:"error"`
	Attempts   int        `json:"attempts"`
	Size       int        `json:"size"`
	CreatedAt  time.Time  `json:"created_at"`
	ResolvedAt *time.Time `json:"resolved_at"`
	Raw        []byte     `json:"-"`
}

// MessageText is an email's text as a person with a role reads it: the
// resident's views in writing, their reply to the consultation.
type MessageText struct {
	MessageID string    `json:"message_id"`
	Subject   string    `json:"subject"`
	At        time.Time `json:"at"`
	Text      string    `json:"text"`
}
