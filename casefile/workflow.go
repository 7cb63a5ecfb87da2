package casefile

import "time"

// InfoRequest asks one agency for the complaints it received and what it
// considered and did.
type InfoRequest struct {
	ID          int64         `json:"id"`
	CaseRef     string        `json:"case"`
	Agency      string        `json:"agency"`
	RequestedAt string        `json:"requested_at"`
	Due         Date          `json:"due"`
	MessageTS   string        `json:"message_ts,omitempty"`
	ByEmail     bool          `json:"by_email"`
	Replied     bool          `json:"replied"`
	Replies     []AgencyReply `json:"replies,omitempty"`
}

// AgencyReply is what an agency said: through the form, in the request's
// thread, or by email.
type AgencyReply struct {
	ID         int64  `json:"id"`
	Agency     string `json:"agency"`
	Author     string `json:"author"`
	Source     string `json:"source"` // form, thread, email
	Complaints string `json:"complaints,omitempty"`
	Considered string `json:"actions_considered,omitempty"`
	Taken      string `json:"actions_taken,omitempty"`
	Risk       string `json:"risk,omitempty"`
	NoInfo     bool   `json:"no_information_held,omitempty"`
	Text       string `json:"text,omitempty"`
	// Files are the files shared with a reply in the thread.
	Files []SharedFile `json:"files,omitempty"`
	At    string       `json:"at"`
}

// SharedFile is a file an officer shared with a reply in Slack, as Slack
// names it: its name and permalink (readable by the channel's members).
// The service never downloads it.
type SharedFile struct {
	Name      string `json:"name"`
	Permalink string `json:"permalink"`
}

// SlackChannel is a case's channel as stored.
type SlackChannel struct {
	CaseRef   string
	ChannelID string
	Name      string
	CardTS    string
	Topic     string // the topic the bot last set
}

// SlackEvent is an Events API event the bot recorded before acknowledging
// it, waiting to be handled.
type SlackEvent struct {
	ID         string
	Payload    []byte // the event callback, as Slack sent it
	ReceivedAt time.Time
	Attempts   int // handled before, and not done
}

// ReplyInput is an agency's answer to a request.
type ReplyInput struct {
	Ref        string
	Agency     string
	Author     string // Slack user id or email address of the officer
	Source     string // form, thread, email
	Complaints string // complaints received, with dates and references
	Considered string // actions considered
	Taken      string // actions taken
	Risk       string // current risk and notes
	NoInfo     bool   // "no information held"
	Text       string // a plain reply in the thread
	Files      []SharedFile
	// DedupeKey makes a retried delivery of the same reply harmless: the
	// Slack event id, the view id, the Message-ID.
	DedupeKey string
}

// Meeting is the case review meeting: its plan and, once held, its record.
type Meeting struct {
	ScheduledFor *time.Time `json:"scheduled_for"`
	Place        string     `json:"place"`
	// ClosedSession: the resident is not invited to it.
	ClosedSession   bool             `json:"closed_session"`
	Attendees       string           `json:"attendees"`
	Attendance      []string         `json:"attendance"` // agency ids present
	Summary         string           `json:"summary"`
	Adequate        *bool            `json:"response_adequate"`
	HeldAt          *time.Time       `json:"held_at"`
	RecordedBy      string           `json:"recorded_by"`
	Recommendations []Recommendation `json:"recommendations"`
}

// Recommendation is one action of the review's action plan.
type Recommendation struct {
	Text  string `json:"text"`
	Owner string `json:"owner"` // agency id
	Due   Date   `json:"due"`
}

// MeetingPlan is what Schedule meeting asks.
type MeetingPlan struct {
	When      time.Time
	Place     string // a room, or a link
	Attendees string
	By        string
	// ClosedSession: the resident is not invited, even if they asked to
	// be (they are told the date and may send their views in writing).
	ClosedSession bool
}

// MeetingOutcome is what Record outcome asks.
type MeetingOutcome struct {
	Attendance      []string // agency ids present
	Summary         string
	Adequate        *bool // was the partnership's response adequate?
	Recommendations []Recommendation
	By              string
}
