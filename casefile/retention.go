package casefile

import "time"

// Purge is what removing a case's personal data takes away: a retention
// run's dry run lists exactly these, and the real run records them in the
// case.purged event.
type Purge struct {
	Ref         string    `json:"case"`
	Status      Status    `json:"status"`
	ClosedAt    time.Time `json:"closed_at"`
	Messages    int       `json:"messages"`    // emails whose raw bytes, bodies, subject and sender go
	Attachments int       `json:"attachments"` // files whose bytes and names go
	Letters     int       `json:"letters"`     // letter versions and emails to the resident whose texts go
	Replies     int       `json:"replies"`     // agency replies whose texts go
	Events      int       `json:"events"`      // audit events whose free text goes
}

// Anonymised is what is kept of an application once its personal data is
// purged: the route, the agencies, the incidents' dates and agencies, and
// how many people applied. Names, contact details, addresses, free text and
// agency reference numbers go.
func (a Application) Anonymised() Application {
	out := Application{
		Route: a.Route, Agencies: a.Agencies, References: []string{}, Incidents: make([]Incident, len(a.Incidents)),
	}
	if out.Agencies == nil {
		out.Agencies = []string{}
	}
	for i, in := range a.Incidents {
		out.Incidents[i] = Incident{OccurredOn: in.OccurredOn, ReportedOn: in.ReportedOn, Agency: in.Agency}
	}
	if len(a.CoApplicants) > 0 {
		out.CoApplicants = make([]Person, len(a.CoApplicants))
	}
	return out
}

// LooseMail counts mail that belongs to no case — automatic replies,
// bounces, unreadable mail in the quarantine — older than the cut-off: a
// retention run removes it too, since it may hold a resident's words or
// address.
type LooseMail struct {
	Messages    int `json:"messages"`    // stored messages with no case whose raw bytes and text go
	Quarantined int `json:"quarantined"` // quarantined messages deleted
}
