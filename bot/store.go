package bot

import (
	"context"
	"time"

	"github.com/csp/trigger/casefile"
)

// Store is the part of the case file the bot uses: the commands people give
// in Slack, and the records the bot keeps of what it posted.
type Store interface {
	Now() time.Time

	Case(ctx context.Context, ref string) (*casefile.Case, error)
	CaseByChannel(ctx context.Context, channelID string) (string, error)
	Channel(ctx context.Context, ref string) (casefile.SlackChannel, error)
	Requests(ctx context.Context, ref string) ([]casefile.InfoRequest, error)
	RequestByMessage(ctx context.Context, channelID, ts string) (ref, agency string, err error)
	Letter(ctx context.Context, id int64) (*casefile.Letter, error)
	Letters(ctx context.Context, ref string) ([]casefile.Letter, error)
	MeetingReadiness(ctx context.Context, ref string) (ready bool, why string, err error)
	ReminderByKey(ctx context.Context, key string) (casefile.Reminder, error)
	// Desk is what a Home tab shows; FindCases the coordinator's audited
	// search (/trigger find).
	Desk(ctx context.Context, q casefile.DeskQuery) (*casefile.Desk, error)
	FindCases(ctx context.Context, a casefile.Actor, text string, limit int) ([]casefile.CaseSummary, int, error)

	// CreateCase opens a case typed in by staff (/trigger new), through the
	// same command as every case.
	CreateCase(ctx context.Context, nc casefile.NewCase) (*casefile.Case, error)

	Decide(ctx context.Context, a casefile.Actor, ref string, outcome casefile.Assessment, reason string) (casefile.Changed, error)
	RecordAcknowledgement(ctx context.Context, a casefile.Actor, ref, how string) (casefile.Changed, error)
	RecordReply(ctx context.Context, a casefile.Actor, in casefile.ReplyInput) (casefile.Changed, error)
	AskByEmail(ctx context.Context, ref, agency string) error
	ScheduleMeeting(ctx context.Context, a casefile.Actor, ref string, p casefile.MeetingPlan) (casefile.Changed, error)
	RecordOutcome(ctx context.Context, a casefile.Actor, ref string, o casefile.MeetingOutcome) (casefile.Changed, error)
	EditLetter(ctx context.Context, a casefile.Actor, ref string, basedOn int64, text string) (*casefile.Letter, error)
	RequestChanges(ctx context.Context, a casefile.Actor, ref, comment string) (casefile.Changed, error)
	ApproveLetter(ctx context.Context, a casefile.Actor, ref string, letterID int64, hash string) (casefile.Changed, error)
	RequestFurtherReview(ctx context.Context, a casefile.Actor, ref string) (casefile.Changed, error)
	DecideFurtherReview(ctx context.Context, a casefile.Actor, ref string, accept bool, reason string) (casefile.Changed, error)
	RecordFurtherReviewOutcome(ctx context.Context, a casefile.Actor, ref, outcome string, upheld bool) (casefile.Changed, error)
	SnoozeReminder(ctx context.Context, a casefile.Actor, key string) (until casefile.Date, changed casefile.Changed, err error)
	RequestLetterChanges(ctx context.Context, a casefile.Actor, ref string, letterID int64, comment string) (casefile.Changed, error)

	// The resident at the centre.
	SetContactOfficer(ctx context.Context, a casefile.Actor, ref, slackID string) (casefile.Changed, error)
	RecordInvolvement(ctx context.Context, a casefile.Actor, ref string, choice casefile.Involvement) (casefile.Changed, error)
	SetPreferences(ctx context.Context, a casefile.Actor, ref string, lang casefile.LanguagePref, formats []string) (casefile.Changed, error)
	SkipConsultation(ctx context.Context, a casefile.Actor, ref, reason string) (casefile.Changed, error)
	RequestThresholdReview(ctx context.Context, a casefile.Actor, ref string, consent *bool) (casefile.Changed, error)
	RecordThresholdReviewResult(ctx context.Context, a casefile.Actor, ref string, upheld bool, notes string) (casefile.Changed, error)
	WrittenViews(ctx context.Context, ref string) ([]casefile.MessageText, error)
	MessageText(ctx context.Context, ref, messageID string) (casefile.MessageText, error)
	TreatUnverified(ctx context.Context, a casefile.Actor, ref string, message int64, as string) (casefile.Changed, error)

	SetChannel(ctx context.Context, ref, channelID, name string) error
	SetCardTS(ctx context.Context, ref, ts string) error
	SetTopic(ctx context.Context, ref, topic string) error
	SetRequestMessage(ctx context.Context, ref, agency, ts string, byEmail bool) error
	Notice(ctx context.Context, ref, key, text string, coordinator bool) error
	Audit(ctx context.Context, ref, actor, kind string, details map[string]any) error
	FirstSeen(ctx context.Context, key string) (bool, error)
	Seen(ctx context.Context, key string) (bool, error)

	// The inbox of Events API events: each is kept before Slack is told it
	// arrived, then handled, and offered again until it is done.
	KeepEvent(ctx context.Context, id string, payload []byte, lease time.Duration) (fresh bool, err error)
	PendingEvents(ctx context.Context, limit int, lease time.Duration) ([]casefile.SlackEvent, error)
	EventDone(ctx context.Context, id, outcome string) error
	EventLater(ctx context.Context, id string, wait time.Duration) error
}
