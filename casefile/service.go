package casefile

import "time"

// Parts of the service that can stop working without the rest: the
// coordinators are told when one does, and again when it works again.
const (
	PartIMAP = "imap" // reading the mailbox: applications wait in it
	PartSMTP = "smtp" // sending mail: acknowledgements and letters wait in the outbox
	// The same two through Microsoft Graph ([mail] source, sender = "graph").
	PartGraphRead = "graph_read"
	PartGraphSend = "graph_send"
)

// Outage is a part of the service that stopped working: its sign-in was
// refused, or it could not be reached for a while. Code says why (a
// mailauth code such as "oauth2_invalid_secret", "mailbox_permission",
// "unreachable"): safe for logs, /readyz and the audit trail.
type Outage struct {
	ID      int64
	Part    string
	Code    string
	BeganAt time.Time
}
