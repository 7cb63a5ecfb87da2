package casefile

import (
	"fmt"
	"strings"
	"time"
)

// Working hours, in London: reminders are queued only between WorkdayStart
// and WorkdayEnd on a working day.
const (
	WorkdayStart = 9  // 09:00
	WorkdayEnd   = 17 // 17:00
	// ReminderLead is how many working days before its deadline an agency
	// is first reminded.
	ReminderLead = 2
)

// Reminder stages. An agency that has not replied is reminded ReminderLead
// working days before its deadline, on the day, and once when it is overdue
// (the coordinator too); the coordinator gets a daily digest of what is
// overdue on each case.
const (
	StageBefore  = "before2"
	StageDue     = "due"
	StageOverdue = "overdue"
	StageDigest  = "digest"
)

// InWorkingHours reports whether t is in working hours: 09:00 to 17:00,
// London time, on a working day (Monday to Friday, not a bank holiday or an
// extra closure day).
func (c *Calendar) InWorkingHours(t time.Time) bool {
	t = t.In(London)
	return c.IsWorkingDay(DateOf(t)) && t.Hour() >= WorkdayStart && t.Hour() < WorkdayEnd
}

// NextWorkingHours returns t when it is in working hours, else the moment
// working hours next begin.
func (c *Calendar) NextWorkingHours(t time.Time) time.Time {
	t = t.In(London)
	if c.InWorkingHours(t) {
		return t
	}
	d := DateOf(t)
	if !c.IsWorkingDay(d) || t.Hour() >= WorkdayEnd {
		d = c.AddWorkingDays(d, 1)
	}
	return time.Date(d.Year, d.Month, d.Day, WorkdayStart, 0, 0, 0, London)
}

// Reminder is one reminder the scheduler queues: to an agency in its
// request's thread, or the coordinator's daily digest of a case.
type Reminder struct {
	// Key is the outbox dedupe key: the same reminder is never queued twice.
	Key     string `json:"key"`
	CaseRef string `json:"case"`
	Agency  string `json:"agency,omitempty"` // "" for a digest
	Stage   string `json:"stage"`
	Due     Date   `json:"due"`
	// Snoozed marks a reminder coming back after someone snoozed it.
	Snoozed bool `json:"snoozed,omitempty"`
	// Coordinator is set when the coordinator is told too.
	Coordinator bool `json:"coordinator"`
	// Overdue lists, for a digest, what is overdue on the case.
	Overdue []OverdueItem `json:"overdue,omitempty"`

	caseID    int64
	snoozeKey string // the snooze this reminder ends
	drop      bool   // the snooze is no longer needed: end it, send nothing
}

// OverdueItem is one overdue deadline in a digest: a case deadline, or one
// agency's reply.
type OverdueItem struct {
	Deadline    string `json:"deadline"`         // a Deadline* name
	Agency      string `json:"agency,omitempty"` // for agency_replies: whose reply
	Due         Date   `json:"due"`
	WorkingDays int    `json:"working_days_overdue"`
}

// ReminderKey is the dedupe key of an agency's reminder.
func ReminderKey(ref, agency, stage string) string {
	return "reminder:" + ref + ":" + agency + ":" + stage
}

// ReminderStage says which reminder a request not yet answered is due for
// today, or "" for none. Nothing is sent on the day of the request itself.
func ReminderStage(cal *Calendar, today, requested, due Date) string {
	switch {
	case today.After(due):
		return StageOverdue
	case today == due:
		return StageDue
	case !today.After(requested):
		return ""
	case cal.WorkingDaysBetween(today, due) <= ReminderLead:
		return StageBefore
	}
	return ""
}

var DeadlineWords = map[string]string{
	DeadlineAcknowledge:       "acknowledgement to the applicant",
	DeadlineThresholdDecision: "threshold decision",
	DeadlineAgencyReplies:     "agency replies",
	DeadlineReviewMeeting:     "review meeting",
	DeadlineResponse:          "response to the applicant",
	DeadlineFurtherReview:     "further review request",
}

// DigestText is the coordinator's daily digest of a case: deadlines and
// agencies only, never personal data.
func DigestText(ref string, today Date, items []OverdueItem, cfg *Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*Daily digest for %s* (%s): overdue", ref, today.Time().Format("Mon 2 Jan 2006"))
	for _, it := range items {
		what := DeadlineWords[it.Deadline]
		if it.Agency != "" {
			name := it.Agency
			if a, ok := cfg.Agency(it.Agency); ok {
				name = a.Name
			}
			what = "reply from " + name
		}
		fmt.Fprintf(&b, "\n• %s: due %s, %d working %s overdue", what, it.Due.Time().Format("Mon 2 Jan 2006"), it.WorkingDays, plural(it.WorkingDays, "day", "days"))
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func AgencyName(cfg *Config, id string) string {
	if a, ok := cfg.Agency(id); ok {
		return a.Name
	}
	return id
}
