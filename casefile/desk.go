package casefile

import (
	"slices"
	"time"
)

// The coordinator's desk: what the Home tab in Slack shows each person —
// every open case with its next deadline and whose it is, the requests
// waiting for an agency, the letters waiting for approval, and the
// partnership's counts. No personal data: references, statuses, dates and
// agencies only.

// Party is who must act next on a case.
type Party string

const (
	PartyCoordinator Party = "coordinator"
	PartyChair       Party = "chair"
	PartyApprovers   Party = "approvers"
	PartyAgencies    Party = "agencies" // the agencies asked that have not replied
	PartyApplicant   Party = "applicant"
	PartyService     Party = "service" // the service itself, for a moment (accepted, asking the agencies)
	PartyNobody      Party = ""
)

// DeskQuery says what one person's desk needs: only what their roles may
// see is read.
type DeskQuery struct {
	Cases    bool     // every open case and the counts (ActSeeAllCases)
	Agencies []string // the requests waiting for these agencies
	Drafts   bool     // the letters awaiting approval
}

// Desk is a person's view of the partnership's work on a day.
type Desk struct {
	Today    Date
	Counts   DeskCounts
	Cases    []DeskCase    // sorted by the nearest deadline, cases without one last
	Requests []DeskRequest // sorted by due date
	Drafts   []DeskDraft   // oldest first
}

// DeskCounts are the counts at the top of the coordinator's desk.
type DeskCounts struct {
	Open     int // cases neither closed nor withdrawn
	Overdue  int // overdue items, as the daily digest lists them
	Year     int // the year (Europe/London) ThisYear counts
	ThisYear int // applications filed this year
}

// DeskCase is one open case on the desk.
type DeskCase struct {
	Ref        string
	Status     Status
	ReceivedAt time.Time
	Channel    string // the case channel's id, "" until it is created
	// Next is the nearest open deadline (nil for none).
	Next *DeskItem
	// Overdue lists what is overdue, as the daily digest does.
	Overdue []OverdueItem
	// Waiting are the agencies asked that have not replied.
	Waiting []string
	// LetterKind is the kind of the latest letter (for a case awaiting
	// approval: whose approval it awaits).
	LetterKind string
}

// DeskItem is a deadline and who it waits for.
type DeskItem struct {
	Deadline string // a Deadline* name
	Due      Date
	Owner    Party
	Agencies []string // for PartyAgencies: which
}

// DeskRequest is an agency's request waiting for its reply.
type DeskRequest struct {
	Ref       string
	Agency    string
	Due       Date
	Channel   string // the case channel
	MessageTS string // the request's message in it
}

// DeskDraft is a letter waiting for approval.
type DeskDraft struct {
	Ref       string
	LetterID  int64
	Kind      string
	Version   int
	CreatedAt time.Time
	Channel   string
}

// DaysOpen is how many days the case has been open on the desk's day.
func (c DeskCase) DaysOpen(today Date) int {
	return max(0, DaysBetween(DateOf(c.ReceivedAt), today))
}

// Mover is who must act next on a case in its status: the coordinator
// decides, schedules, records and drafts; the agencies reply; approvers (the
// Chair for a further-review letter) approve; the Chair decides a further
// review; the applicant may ask for one.
func Mover(status Status, letterKind string) Party {
	switch status {
	case StatusReceived, StatusThresholdNotMet, StatusMeeting, StatusDrafting:
		return PartyCoordinator
	case StatusGathering:
		return PartyAgencies
	case StatusAwaitingApproval:
		if letterKind == LetterFurtherReview {
			return PartyChair
		}
		return PartyApprovers
	case StatusFurtherReviewRequested, StatusFurtherReview:
		return PartyChair
	case StatusResponded:
		return PartyApplicant
	case StatusAccepted:
		return PartyService
	}
	return PartyNobody
}

// DeadlineOwner is whose a deadline is, in a case's status.
func DeadlineOwner(deadline string, status Status, letterKind string) Party {
	switch deadline {
	case DeadlineAcknowledge, DeadlineThresholdDecision, DeadlineReviewMeeting:
		return PartyCoordinator
	case DeadlineAgencyReplies:
		return PartyAgencies
	case DeadlineResponse:
		if p := Mover(status, letterKind); p == PartyApprovers || p == PartyChair {
			return p
		}
		return PartyCoordinator
	case DeadlineFurtherReview:
		return PartyApplicant
	}
	return PartyNobody
}

// Parties are the parties a person with these roles acts as, for "awaiting
// me": the coordinator, the Chair, approvers.
func (a Actor) Parties() []Party {
	var ps []Party
	if a.Has(RoleCoordinator) {
		ps = append(ps, PartyCoordinator)
	}
	if a.Has(RoleChair) {
		ps = append(ps, PartyChair)
	}
	if a.Has(RoleApprover) {
		ps = append(ps, PartyApprovers)
	}
	return ps
}

// AwaitsAny reports whether the case waits for one of the parties: its
// status's next move, or an overdue deadline, is theirs.
func (c DeskCase) AwaitsAny(parties []Party) bool {
	if slices.Contains(parties, Mover(c.Status, c.LetterKind)) {
		return true
	}
	for _, it := range c.Overdue {
		if it.Agency == "" && slices.Contains(parties, DeadlineOwner(it.Deadline, c.Status, c.LetterKind)) {
			return true
		}
	}
	return false
}

// SortDeskCases orders cases by their nearest deadline (overdue first),
// cases without an open deadline last, then by reference.
func SortDeskCases(cs []DeskCase) {
	slices.SortStableFunc(cs, func(a, b DeskCase) int {
		switch {
		case a.Next != nil && b.Next == nil:
			return -1
		case a.Next == nil && b.Next != nil:
			return 1
		case a.Next != nil && b.Next != nil && a.Next.Due != b.Next.Due:
			return a.Next.Due.Compare(b.Next.Due)
		}
		switch {
		case a.Ref < b.Ref:
			return -1
		case a.Ref > b.Ref:
			return 1
		}
		return 0
	})
}
