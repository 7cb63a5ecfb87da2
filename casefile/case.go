// Package casefile is the centre of the Community Trigger service: the case
// record and its lifecycle, the threshold rules, the working-day calendar,
// the configuration and the SQLite store with its audit trail and outbox.
// It imports no Slack, IMAP or SMTP package; the adapters import it.
package casefile

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Status is where a case is in its lifecycle (see lifecycle.go).
type Status string

const (
	StatusReceived               Status = "received"
	StatusAccepted               Status = "accepted"
	StatusThresholdNotMet        Status = "threshold_not_met"
	StatusGathering              Status = "gathering"
	StatusMeeting                Status = "meeting"
	StatusDrafting               Status = "drafting"
	StatusAwaitingApproval       Status = "awaiting_approval"
	StatusResponded              Status = "responded"
	StatusFurtherReviewRequested Status = "escalated"
	StatusFurtherReview          Status = "escalation_review"
	StatusClosed                 Status = "closed"
	StatusWithdrawn              Status = "withdrawn"
)

// Route is how the application reaches the threshold.
type Route string

const (
	RouteIndividual Route = "individual" // the resident applies for themselves
	RouteOnBehalf   Route = "on_behalf"  // a councillor, carer or relative applies for the victim
	RouteCommunity  Route = "community"  // several residents apply together
	RouteHate       Route = "hate"       // a hate incident: one incident suffices
	RouteUnknown    Route = "unknown"
)

// Routes lists the valid routes.
var Routes = []Route{RouteIndividual, RouteOnBehalf, RouteCommunity, RouteHate, RouteUnknown}

// Person is an applicant, the victim someone applies for, or a co-applicant.
type Person struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Phone    string `json:"phone"`
	Address  string `json:"address"`
	Postcode string `json:"postcode"`
}

// IsZero reports whether nothing is known about the person.
func (p Person) IsZero() bool { return p == Person{} }

// Incident is one complaint: behaviour on a day, reported to an agency.
type Incident struct {
	OccurredOn  Date   `json:"occurred_on"`
	ReportedOn  Date   `json:"reported_on"`
	Agency      string `json:"agency"`
	Reference   string `json:"reference"`
	Description string `json:"description"`
}

// Application is what the resident asked for: the part of a case that comes
// from the email, the web form, or staff typing in a phone call or letter.
// Nothing in it is guessed: what the applicant did not say stays empty.
type Application struct {
	Route          Route      `json:"route"`
	Applicant      Person     `json:"applicant"`
	OnBehalfOf     *Person    `json:"on_behalf_of"`
	CoApplicants   []Person   `json:"co_applicants,omitempty"`
	Location       string     `json:"location"`
	Description    string     `json:"description"`
	Vulnerable     *bool      `json:"vulnerable"`
	ConsentToShare *bool      `json:"consent_to_share"`
	Incidents      []Incident `json:"incidents"`
	Agencies       []string   `json:"agencies"`
	References     []string   `json:"references"`
	// ConsentEvidence is the sentence consent was read from when the
	// application states it in prose, or its refusal; "" when consent
	// came from a form's answer or was not stated.
	ConsentEvidence string `json:"consent_evidence,omitempty"`
}

var postcodeRE = regexp.MustCompile(`^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$`)

// NormalisePostcode returns a UK postcode upper case with one space before
// the inward code ("le673fj" → "LE67 3FJ"), or "" when s is not one.
func NormalisePostcode(s string) string {
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	if len(s) < 5 || len(s) > 7 {
		return ""
	}
	s = s[:len(s)-3] + " " + s[len(s)-3:]
	if !postcodeRE.MatchString(s) {
		return ""
	}
	return s
}

// Validate checks an application typed in by staff or built by intake and
// names the first bad field.
func (a *Application) Validate(agencies []Agency) error {
	if a.Route == "" {
		a.Route = RouteUnknown
	}
	ok := false
	for _, r := range Routes {
		ok = ok || a.Route == r
	}
	if !ok {
		return Errorf(EINVALID, "route: %q is not one of individual, on_behalf, community, hate, unknown", a.Route)
	}
	if err := validatePerson("applicant", a.Applicant); err != nil {
		return err
	}
	if a.OnBehalfOf != nil {
		if err := validatePerson("on_behalf_of", *a.OnBehalfOf); err != nil {
			return err
		}
	}
	for i, p := range a.CoApplicants {
		if err := validatePerson(fmt.Sprintf("co_applicants[%d]", i), p); err != nil {
			return err
		}
	}
	known := map[string]bool{}
	for _, ag := range agencies {
		known[ag.ID] = true
	}
	for i, id := range a.Agencies {
		if !known[id] {
			return Errorf(EINVALID, "agencies[%d]: %q is not a configured agency", i, id)
		}
	}
	for i, in := range a.Incidents {
		if in.Agency != "" && !known[in.Agency] {
			return Errorf(EINVALID, "incidents[%d].agency: %q is not a configured agency", i, in.Agency)
		}
		if !in.OccurredOn.IsZero() && !in.ReportedOn.IsZero() && in.ReportedOn.Before(in.OccurredOn) {
			return Errorf(EINVALID, "incidents[%d].reported_on: before occurred_on", i)
		}
	}
	return nil
}

func validatePerson(field string, p Person) error {
	if p.Postcode != "" {
		if NormalisePostcode(p.Postcode) == "" {
			return Errorf(EINVALID, "%s.postcode: not a UK postcode", field)
		}
	}
	if p.Email != "" && !strings.Contains(p.Email, "@") {
		return Errorf(EINVALID, "%s.email: not an email address", field)
	}
	return nil
}

// CleanHeaderFields makes the one-line fields that may come from a header
// (a display name, an address) safe to print: see CleanHeaderText. Intake
// cleans them as it reads; the store cleans them again as it writes and
// reads, for staff input and for what was stored before.
func (a *Application) CleanHeaderFields() {
	clean := func(p *Person) {
		if p == nil {
			return
		}
		p.Name, p.Email, p.Phone, p.Postcode = CleanHeaderText(p.Name), CleanHeaderText(p.Email), CleanHeaderText(p.Phone), CleanHeaderText(p.Postcode)
	}
	clean(&a.Applicant)
	clean(a.OnBehalfOf)
	for i := range a.CoApplicants {
		clean(&a.CoApplicants[i])
	}
}

// Normalise tidies what validation accepted: header-derived fields
// cleaned, postcodes in UK form, agencies named by incidents listed once.
func (a *Application) Normalise() {
	a.CleanHeaderFields()
	norm := func(p *Person) {
		if p != nil && p.Postcode != "" {
			p.Postcode = NormalisePostcode(p.Postcode)
		}
	}
	norm(&a.Applicant)
	norm(a.OnBehalfOf)
	for i := range a.CoApplicants {
		norm(&a.CoApplicants[i])
	}
	seen := map[string]bool{}
	var ags []string
	for _, id := range a.Agencies {
		if !seen[id] {
			seen[id] = true
			ags = append(ags, id)
		}
	}
	for _, in := range a.Incidents {
		if in.Agency != "" && !seen[in.Agency] {
			seen[in.Agency] = true
			ags = append(ags, in.Agency)
		}
	}
	a.Agencies = ags
	seenRef := map[string]bool{}
	var refs []string
	for _, r := range a.References {
		if r != "" && !seenRef[r] {
			seenRef[r] = true
			refs = append(refs, r)
		}
	}
	for _, in := range a.Incidents {
		if in.Reference != "" && !seenRef[in.Reference] {
			seenRef[in.Reference] = true
			refs = append(refs, in.Reference)
		}
	}
	a.References = refs
	if a.Incidents == nil {
		a.Incidents = []Incident{}
	}
	if a.Agencies == nil {
		a.Agencies = []string{}
	}
	if a.References == nil {
		a.References = []string{}
	}
}

// Decision is the coordinator's threshold decision, recorded with who and why.
type Decision struct {
	Outcome Assessment `json:"outcome"` // met or not_met
	Reason  string     `json:"reason"`
	By      string     `json:"by"`
	At      time.Time  `json:"at"`
}

// Threshold is the software's advice and the person's decision.
type Threshold struct {
	Assessment           Assessment `json:"assessment"`
	QualifyingComplaints int        `json:"qualifying_complaints"`
	Reasons              []string   `json:"reasons"`
	Decision             *Decision  `json:"decision"`
}

// Deadline is a due date in working days, set by the transition that starts
// it and closed by the one that meets it.
type Deadline struct {
	Due    Date       `json:"due"`
	DoneAt *time.Time `json:"done_at"`
}

// Deadline names.
const (
	DeadlineAcknowledge       = "acknowledge"
	DeadlineThresholdDecision = "threshold_decision"
	DeadlineAgencyReplies     = "agency_replies"
	DeadlineReviewMeeting     = "review_meeting"
	DeadlineResponse          = "response"
	DeadlineFurtherReview     = "further_review_request"
)

// Case is a Community Trigger application and everything done about it.
type Case struct {
	ID         int64     `json:"-"`
	Ref        string    `json:"ref"`
	Status     Status    `json:"status"`
	ReceivedAt time.Time `json:"received_at"`
	Source     string    `json:"source"` // email, staff
	Application
	Threshold   Threshold           `json:"threshold"`
	Deadlines   map[string]Deadline `json:"deadlines"`
	Messages    []MessageSummary    `json:"messages"`
	Attachments []AttachmentSummary `json:"attachments"`
	// The resident at the centre: whom they deal with, how involved they
	// want to be, how to write to them, their say in the action plan, and
	// their requests for a review of a not-met decision.
	ContactOfficer   ContactOfficer    `json:"contact_officer"`
	Involvement      InvolvementChoice `json:"involvement"`
	Language         LanguagePref      `json:"language_preference"`
	LanguageSource   string            `json:"language_source,omitempty"`
	AccessibleFormat []string          `json:"accessible_format"`
	Consultation     *Consultation     `json:"consultation"`
	ThresholdReviews []ThresholdReview `json:"threshold_decision_reviews"`
	Channel          string            `json:"slack_channel,omitempty"`
	UpdatedAt        time.Time         `json:"updated_at"`
	Purged           bool              `json:"purged,omitempty"`
}

// NextDeadline returns the earliest open deadline, if any.
func (c *Case) NextDeadline() (name string, d Deadline, ok bool) {
	for n, dl := range c.Deadlines {
		if dl.DoneAt != nil {
			continue
		}
		if !ok || dl.Due.Before(d.Due) || (dl.Due == d.Due && n < name) {
			name, d, ok = n, dl, true
		}
	}
	return name, d, ok
}

// Agency is a partner of the CSP asked for information about a case.
type Agency struct {
	ID   string `toml:"id" json:"id"`
	Name string `toml:"name" json:"name"`
	// NameCy is the agency's name in Welsh, for Welsh letters; "" means
	// Name.
	NameCy     string   `toml:"name_cy" json:"name_cy,omitempty"`
	Aliases    []string `toml:"aliases" json:"aliases"`
	Email      string   `toml:"email" json:"email"`
	SlackUsers []string `toml:"slack_users" json:"slack_users"`
}

// MessageSummary is a message as the case record lists it.
type MessageSummary struct {
	MessageID string    `json:"message_id"`
	Direction string    `json:"direction"` // in, out
	Kind      string    `json:"kind"`
	Subject   string    `json:"subject"`
	At        time.Time `json:"at"`
	// Verified is false for mail not taken as coming from a party to the
	// case (UnverifiedReason says why): it is shown, and changed nothing.
	// Mail we sent is verified.
	Verified         bool   `json:"verified"`
	UnverifiedReason string `json:"unverified_reason,omitempty"`
	// TreatedAs and DecidedBy record how a person in Slack treated an
	// unverified message (TreatAsFurtherReview, TreatAsCorrespondence).
	TreatedAs string `json:"treated_as,omitempty"`
	DecidedBy string `json:"decided_by,omitempty"`
	// ID identifies the stored message for a command about it.
	ID int64 `json:"-"`
}

// AttachmentSummary is an attachment as the case record lists it.
type AttachmentSummary struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

// Event is one line of a case's audit trail.
type Event struct {
	ID      int64          `json:"id"`
	CaseRef string         `json:"case,omitempty"`
	Seq     int            `json:"seq"`
	At      time.Time      `json:"at"`
	Actor   string         `json:"actor"`
	Kind    string         `json:"kind"`
	Details map[string]any `json:"details,omitempty"`
}

// RefRE matches a case reference.
var RefRE = regexp.MustCompile(`\bCT-(\d{4})-(\d{4,})\b`)

// NewCase is an application to open a case for.
type NewCase struct {
	Application Application
	ReceivedAt  time.Time // zero means now
	Source      string    // email, staff
	Actor       Actor     // who or what opened it: intake (the system), or a member of staff
	// Via is how staff received an application they type in: "phone",
	// "letter", "in_person" (recorded in the audit trail); "" for email
	// and the command line.
	Via string
	// Key, if set, makes opening the case once-only: a second NewCase
	// with the same key (a form sent twice) opens nothing and returns the
	// case the first one opened.
	Key string
	// Preferences are the language and formats the application asked
	// for, or intake detected.
	Preferences Preferences
}

// Ways staff receive an application they type in (NewCase.Via).
var Vias = map[string]string{"phone": "a phone call", "letter": "a letter", "in_person": "a visit in person"}

var noReplyRE = regexp.MustCompile(`(?i)^(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer-daemon|postmaster|bounces?|notifications?)([+.\-_].*)?@`)

// IsNoReply reports whether an address is one nobody reads: a form system's
// no-reply sender, a mailer daemon.
func IsNoReply(addr string) bool { return noReplyRE.MatchString(strings.TrimSpace(addr)) }

// Changed tells a caller whether a command changed anything, or found it
// already done (a second click, a retry).
type Changed = bool

// CaseSummary is a line of `trigger case list`.
type CaseSummary struct {
	Ref          string     `json:"ref"`
	Status       Status     `json:"status"`
	Route        Route      `json:"route"`
	ReceivedAt   string     `json:"received_at"`
	Assessment   Assessment `json:"assessment"`
	NextDeadline string     `json:"next_deadline"`
	NextDue      Date       `json:"next_due"`
}
