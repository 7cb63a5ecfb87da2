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
	JobEmailAck           = "email.ack"            // acknowledge an application
	JobEmailAgency        = "email.agency_request" // ask an agency by email (no Slack officers)
	JobEmailLetter        = "email.letter"         // send an approved letter
)

// Job is an outbox job: one side effect to do, at least once, with a dedupe
// key that makes doing it twice harmless.
type Job struct {
	ID        int64
	CaseID    int64
	CaseRef   string
	Kind      string
	DedupeKey string
	Payload   json.RawMessage
	Attempts  int // including this one
	CreatedAt time.Time
	// InDoubt is set when an earlier attempt began handing the email to
	// the SMTP server and never recorded the outcome (a crash): the
	// server may have it.
	InDoubt bool
}

// Decode reads the job's payload into v.
func (j Job) Decode(v any) error {
	if err := json.Unmarshal(j.Payload, v); err != nil {
		return fmt.Errorf("job %d (%s): payload: %w", j.ID, j.Kind, err)
	}
	return nil
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

// JobInfo is an outbox job as an operator sees it.
type JobInfo struct {
	ID        int64  `json:"id"`
	CaseRef   string `json:"case"`
	Kind      string `json:"kind"`
	DedupeKey string `json:"dedupe_key"`
	State     string `json:"state"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error"`
}

// PermanentError marks an error that retrying cannot fix (Slack's
// channel_not_found, an SMTP 550): the job is given up and reported.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }

func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as permanent.
func Permanent(err error) error { return &PermanentError{Err: err} }

// RetryAfterError asks for the job to be tried again after a wait the
// other side named (Slack's Retry-After).
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }

func (e *RetryAfterError) Unwrap() error { return e.Err }

// Handler does one kind of job. It returns nil when the job is done, a
// *PermanentError to give it up, or any other error to retry with backoff.
type Handler interface {
	Handle(ctx context.Context, j Job) (JobDone, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, j Job) (JobDone, error)

func (f HandlerFunc) Handle(ctx context.Context, j Job) (JobDone, error) { return f(ctx, j) }

// Backoff is the wait before attempt n+1: exponential from one second, at
// most ten minutes, with jitter so that many jobs do not retry in step.
func Backoff(attempt int) time.Duration {
	d := time.Second << min(max(attempt-1, 0), 10)
	d = min(d, 10*time.Minute)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}
