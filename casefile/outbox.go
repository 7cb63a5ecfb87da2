package casefile

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

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
	JobSlackDigest        = "slack.digest"         // the daily digest of every case's overdue work, in [slack] digest_channel
	JobSlackDirect        = "slack.direct_message" // tell people of a role about the service, not a case
	JobEmailAck           = "email.ack"            // acknowledge an application
	JobEmailAgency        = "email.agency_request" // ask an agency by email (no Slack officers)
	JobEmailLetter        = "email.letter"         // send an approved letter
	// JobEmailResident sends a resident email the store wrote (the
	// consultation, the invitation, an update, the closure).
	JobEmailResident = "email.resident"
	// JobEmailThresholdReview forwards a request to review a not-met
	// decision to the body that hears it.
	JobEmailThresholdReview = "email.threshold_review"
	JobEmailCoordinator     = "email.coordinator" // tell the coordinator of a job that ended, when Slack cannot
)

// Payload is what an outbox job carries: one type per kind, so that what a
// command queues and what an adapter reads are the same Go type.
type Payload interface {
	JobKind() string
}

// CreateChannelJob creates a case's channel, invites its people and posts
// the card.
type CreateChannelJob struct {
	Case string `json:"case"`
}

// UpdateCardJob updates the case card and channel topic after a change.
type UpdateCardJob struct {
	Case string `json:"case"`
}

// PostRequestJob asks one agency for details in the case channel.
type PostRequestJob struct {
	Case   string `json:"case"`
	Agency string `json:"agency"`
}

// UpdateRequestJob shows an agency's reply on its request.
type UpdateRequestJob struct {
	Case   string `json:"case"`
	Agency string `json:"agency"`
}

// NotifyJob posts a message in the case channel, naming the coordinator or
// the Chair when they must act, with the buttons of Prompt.
type NotifyJob struct {
	Case        string `json:"case"`
	Event       int64  `json:"event"`
	Text        string `json:"text"`
	Coordinator bool   `json:"coordinator,omitempty"`
	Chair       bool   `json:"chair,omitempty"`
	// Prompt names the buttons that go with the message ("acknowledged",
	// "schedule_meeting", "further_review", "further_outcome",
	// "involvement", "consultation", "threshold_review_result",
	// "read_message:<Message-ID>", or PromptUnverified); "" for none.
	Prompt string `json:"prompt,omitempty"`
	// Message is the stored email a PromptUnverified notice is about.
	Message int64 `json:"message,omitempty"`
	// Key identifies the message in the channel, so that a retry finds it
	// instead of posting it twice; "" means the job's id.
	Key string `json:"key,omitempty"`
	// Ended is the outbox job this message reports as ended (see
	// EndedJob); 0 for any other message.
	Ended int64 `json:"ended,omitempty"`
}

// PromptUnverified is the prompt of a notice about unverified mail: the
// coordinator treats it as a request for a further review or as the
// applicant's correspondence (Store.TreatUnverified).
const PromptUnverified = "unverified"

// PostDraftJob posts a letter draft for approval.
type PostDraftJob struct {
	Case   string `json:"case"`
	Letter int64  `json:"letter"`
}

// ReminderJob reminds an agency in its request's thread.
type ReminderJob struct {
	Reminder
	Event int64 `json:"event"`
}

// DigestJob posts the daily digest of what is overdue, one message for
// every case, in [slack] digest_channel: references, deadlines and agencies,
// never personal data.
type DigestJob struct {
	Day   Date         `json:"day"`
	Event int64        `json:"event"`
	Cases []DigestCase `json:"cases"`
}

// DigestCase is one case's overdue items in the digest.
type DigestCase struct {
	Ref     string        `json:"case"`
	Overdue []OverdueItem `json:"overdue"`
}

// DirectMessageJob tells the people of a role, in a direct message from the
// bot, about the service itself rather than a case: the mailbox is not
// being read (and again when it is), a credential is about to expire. With
// [slack] digest_channel set, it is one message there naming them instead:
// the notices that belong to no case go to the digest channel. Text names
// codes and settings, never a resident's personal data.
type DirectMessageJob struct {
	Role  Role   `json:"role"` // RoleCoordinator (the only one so far)
	Event int64  `json:"event"`
	Text  string `json:"text"`
}

// AckJob emails the applicant the acknowledgement.
type AckJob struct {
	Case string `json:"case"`
	To   string `json:"to"`
}

// AgencyEmailJob asks an agency by email (no officer of theirs in Slack),
// or reminds it at Stage.
type AgencyEmailJob struct {
	Case   string `json:"case"`
	Agency string `json:"agency"`
	Stage  string `json:"stage,omitempty"`
}

// LetterJob emails an approved letter to one recipient.
type LetterJob struct {
	Case   string `json:"case"`
	Letter int64  `json:"letter"`
	To     string `json:"to"`
	Role   string `json:"role"` // applicant, victim
}

// ResidentEmailJob emails a stored resident email to one recipient.
type ResidentEmailJob struct {
	Case  string `json:"case"`
	Email int64  `json:"email"`
	To    string `json:"to"`
	Role  string `json:"role"` // applicant, victim
}

// ThresholdReviewJob forwards a request to review a not-met decision.
type ThresholdReviewJob struct {
	Case   string `json:"case"`
	Review int64  `json:"review"`
	To     string `json:"to"`
}

// CoordinatorEmailJob tells the coordinator by email of an outbox job that
// ended, when Slack is the part that failed. Subject and Text are written
// when the job ends (EndedJob.Email) and name the case by its reference
// only; the addresses come from the configuration when it is sent
// (Config.CoordinatorEmails).
type CoordinatorEmailJob struct {
	Case    string `json:"case"`
	Ended   int64  `json:"ended"` // the job that ended
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

func (CreateChannelJob) JobKind() string    { return JobSlackCreateChannel }
func (UpdateCardJob) JobKind() string       { return JobSlackUpdateCard }
func (PostRequestJob) JobKind() string      { return JobSlackPostRequest }
func (UpdateRequestJob) JobKind() string    { return JobSlackUpdateRequest }
func (NotifyJob) JobKind() string           { return JobSlackNotify }
func (PostDraftJob) JobKind() string        { return JobSlackPostDraft }
func (ReminderJob) JobKind() string         { return JobSlackReminder }
func (DigestJob) JobKind() string           { return JobSlackDigest }
func (DirectMessageJob) JobKind() string    { return JobSlackDirect }
func (AckJob) JobKind() string              { return JobEmailAck }
func (AgencyEmailJob) JobKind() string      { return JobEmailAgency }
func (LetterJob) JobKind() string           { return JobEmailLetter }
func (ResidentEmailJob) JobKind() string    { return JobEmailResident }
func (ThresholdReviewJob) JobKind() string  { return JobEmailThresholdReview }
func (CoordinatorEmailJob) JobKind() string { return JobEmailCoordinator }

// PayloadOf reads a job's payload as the type of its kind. A payload that
// cannot be read, or a job of another kind, is a permanent error: retrying
// cannot fix it.
func PayloadOf[P Payload](j Job) (P, error) {
	var p P
	if j.Kind != p.JobKind() {
		return p, Permanent(fmt.Errorf("job %d is %s, not %s", j.ID, j.Kind, p.JobKind()))
	}
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return p, Permanent(fmt.Errorf("job %d (%s): payload: %w", j.ID, j.Kind, err))
	}
	return p, nil
}

// Job is an outbox job: one side effect to do, at least once, with a dedupe
// key that makes doing it twice harmless.
type Job struct {
	ID        int64
	CaseID    int64
	CaseRef   string
	Kind      string
	DedupeKey string
	Payload   json.RawMessage
	Attempts  int // including this one; waits are not counted
	CreatedAt time.Time
	// FirstFailedAt is when the job first failed (zero if it never has):
	// it is given up once it has been failing for [outbox] give_up_after.
	FirstFailedAt time.Time
	// InDoubt is set when an earlier attempt began handing the email to
	// the SMTP server and never recorded the outcome (a crash): the
	// server may have it.
	InDoubt bool
}

// Outbound is an email we sent, kept on the case so that replies to it
// thread by its Message-ID.
type Outbound struct {
	MessageID string
	Kind      string // ack, letter, agency_request
	Subject   string
	To        string
	Raw       []byte
}

// JobDone is what a worker reports about a finished job: its result, the
// email it sent, and a follow-up the domain should record.
type JobDone struct {
	Result any
	Sent   *Outbound
	// InDoubt reports an email job not sent again because an earlier
	// attempt may have delivered it: the coordinator is asked to check.
	InDoubt bool
}

// OutboxStats is what /metrics says of the outbox.
type OutboxStats struct {
	Pending   int
	Dead      int
	OldestAge time.Duration
}

// Outbox job states.
const (
	JobStatePending = "pending" // to do, now or at NextRun
	JobStateDone    = "done"
	JobStateDead    = "dead" // ended without being done: a person was told (EndedJob)
)

// JobInfo is an outbox job as an operator sees it (`trigger outbox list`).
// Times are nil where they do not apply.
type JobInfo struct {
	ID           int64      `json:"id"`
	CaseRef      string     `json:"case"`
	Kind         string     `json:"kind"`
	DedupeKey    string     `json:"dedupe_key"`
	State        string     `json:"state"` // pending, done, dead
	Attempts     int        `json:"attempts"`
	CreatedAt    time.Time  `json:"created_at"`
	FirstErrorAt *time.Time `json:"first_error_at"` // the first failure: the give-up clock starts here
	LastError    string     `json:"last_error"`     // scrubbed of email addresses
	NextRun      *time.Time `json:"next_run"`       // pending jobs: not before this
	EndedAt      *time.Time `json:"ended_at"`       // dead jobs
	EndReason    string     `json:"end_reason"`     // dead jobs: permanent, gave_up, bounced ("" if ended before they were recorded)
}

// JobFilter selects outbox jobs to list. The zero value lists the jobs not
// done: pending and dead.
type JobFilter struct {
	Case  string // a case reference; "" for all
	State string // pending, done, dead; "" for pending and dead
	All   bool   // every job, done ones too (State is then ignored)
}

// PermanentError marks an error that retrying cannot fix (Slack's
// channel_not_found, an SMTP 550): the job is given up and reported.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }

func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as permanent.
func Permanent(err error) error { return &PermanentError{Err: err} }

// RetryAfterError asks for the job to be tried again after a wait the
// other side named (Slack's Retry-After) or the job itself needs (working
// hours). It is a wait, not a failure: like a *WaitError it uses no
// attempt and never ends the job.
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }

func (e *RetryAfterError) Unwrap() error { return e.Err }

// WaitError says that a job cannot be done yet because it waits for
// something else (the case's channel, which an earlier job creates): it is
// tried again later, uses no attempt, and never ends by itself. After is
// how long to wait; 0 lets the dispatcher choose (WaitDelay).
type WaitError struct {
	Err   error
	After time.Duration
}

func (e *WaitError) Error() string { return e.Err.Error() }

func (e *WaitError) Unwrap() error { return e.Err }

// Wait marks err as a wait (see WaitError).
func Wait(err error, after time.Duration) error { return &WaitError{Err: err, After: after} }

// Handler does one kind of job. It returns nil when the job is done, a
// *PermanentError to end it, a *WaitError or *RetryAfterError to try it
// again after a wait that uses no attempt, or any other error to retry it
// with backoff until it has been failing for [outbox] give_up_after.
type Handler interface {
	Handle(ctx context.Context, j Job) (JobDone, error)
}

// MaxBackoff caps the wait between two tries of a failing job, so that
// work resumes within minutes once an outage of any length is over.
const MaxBackoff = 10 * time.Minute

// Backoff is the wait before attempt n+1: exponential from one second, at
// most MaxBackoff, with jitter so that many jobs do not retry in step.
func Backoff(attempt int) time.Duration {
	return BackoffBetween(attempt, time.Second, MaxBackoff)
}

// MaxWaitDelay caps WaitDelay: a waiting job only reads the case file, so
// it may look often, and starts soon after what it waits for is done.
const MaxWaitDelay = time.Minute

// WaitDelay is how long a job that has been waiting for waited (since it
// was created) waits before it looks again: a quarter of that, from one
// second to MaxWaitDelay, with jitter.
func WaitDelay(waited time.Duration) time.Duration {
	return jitter(min(max(waited/4, time.Second), MaxWaitDelay))
}

// BackoffBetween is the wait before attempt n (from 1) after n-1 failed
// ones: doubling from lo up to hi, with jitter (so that many clients that
// failed together do not try again together). The mail readers use it
// between connections.
func BackoffBetween(n int, lo, hi time.Duration) time.Duration {
	d := lo << min(max(n-1, 0), 16)
	if d <= 0 || d > hi {
		d = hi
	}
	return jitter(d)
}

// jitter returns a duration between d/2 and d.
func jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}
