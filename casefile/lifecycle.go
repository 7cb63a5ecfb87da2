package casefile

// transitions lists, for each status, the statuses a case may move to next.
// Everything not listed is refused with ECONFLICT.
var transitions = map[Status][]Status{
	StatusReceived:               {StatusAccepted, StatusThresholdNotMet, StatusWithdrawn},
	StatusAccepted:               {StatusGathering, StatusWithdrawn},
	StatusThresholdNotMet:        {StatusAwaitingApproval, StatusWithdrawn},
	StatusGathering:              {StatusMeeting, StatusWithdrawn},
	StatusMeeting:                {StatusDrafting, StatusWithdrawn},
	StatusDrafting:               {StatusAwaitingApproval, StatusWithdrawn},
	StatusAwaitingApproval:       {StatusResponded, StatusDrafting, StatusWithdrawn},
	StatusResponded:              {StatusFurtherReviewRequested, StatusClosed},
	StatusFurtherReviewRequested: {StatusFurtherReview, StatusResponded, StatusClosed},
	StatusFurtherReview:          {StatusAwaitingApproval, StatusResponded},
	StatusClosed:                 {StatusFurtherReviewRequested}, // a late request for a further review, never dropped
	StatusWithdrawn:              {},
}

// Statuses lists every status in lifecycle order.
var Statuses = []Status{
	StatusReceived, StatusAccepted, StatusThresholdNotMet, StatusGathering, StatusMeeting,
	StatusDrafting, StatusAwaitingApproval, StatusResponded, StatusFurtherReviewRequested,
	StatusFurtherReview, StatusClosed, StatusWithdrawn,
}

// ValidStatus reports whether s is a status of the lifecycle.
func ValidStatus(s Status) bool {
	_, ok := transitions[s]
	return ok
}

// CanTransition reports whether a case may move from one status to another,
// as a coded error naming both when it may not.
func CanTransition(from, to Status) error {
	next, ok := transitions[from]
	if !ok {
		return Errorf(EINVALID, "unknown status %q", from)
	}
	if !ValidStatus(to) {
		return Errorf(EINVALID, "unknown status %q", to)
	}
	for _, s := range next {
		if s == to {
			return nil
		}
	}
	return Errorf(ECONFLICT, "a case that is %s cannot become %s", from, to)
}
