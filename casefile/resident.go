package casefile

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The resident at the centre (issue 15): each case has a contact officer
// (single point of contact), the resident's choice of how involved to be, a
// language preference, and any accessible format they need; the resident is
// told the threshold decision, consulted on the action plan, invited to the
// meeting, updated, and told when and why the case closed; a not-met
// decision can be reviewed by the body the configuration names.

// Involvement is how involved the resident wants to be in the case review,
// as they answered the letter telling them the threshold is met (or told
// the coordinator).
type Involvement string

const (
	InvolvementUnknown Involvement = ""        // not said yet
	InvolvementMeeting Involvement = "meeting" // invite me to the meeting
	InvolvementWriting Involvement = "writing" // I will send my views in writing
	InvolvementOutcome Involvement = "outcome" // just tell me the outcome
)

// Involvements lists the choices a resident can make.
var Involvements = []Involvement{InvolvementMeeting, InvolvementWriting, InvolvementOutcome}

// ParseInvolvement reads an involvement choice; "" and "unknown" are
// InvolvementUnknown.
func ParseInvolvement(s string) (Involvement, error) {
	switch v := Involvement(strings.TrimSpace(s)); v {
	case "", "unknown":
		return InvolvementUnknown, nil
	case InvolvementMeeting, InvolvementWriting, InvolvementOutcome:
		return v, nil
	}
	return "", Errorf(EINVALID, "involvement: %q is not one of meeting, writing, outcome", s)
}

// Words says the choice as the coordinator reads it.
func (i Involvement) Words() string {
	switch i {
	case InvolvementMeeting:
		return "to be invited to the meeting"
	case InvolvementWriting:
		return "to send their views in writing"
	case InvolvementOutcome:
		return "only to be told the outcome"
	}
	return "not said yet"
}

// InvolvementChoice is the recorded choice, who recorded it and when.
type InvolvementChoice struct {
	Choice Involvement `json:"choice"`
	Source string      `json:"source,omitempty"` // reply, coordinator
	At     *time.Time  `json:"at"`
}

func (c InvolvementChoice) MarshalJSON() ([]byte, error) {
	type plain InvolvementChoice
	p := plain(c)
	if p.Choice == InvolvementUnknown {
		p.Choice = "unknown"
	}
	return json.Marshal(p)
}

// Where a preference came from.
const (
	SourceForm        = "form"        // a field of the web form
	SourceReply       = "reply"       // the resident's reply to one of our emails
	SourceCoordinator = "coordinator" // recorded by the coordinator (a phone call)
	SourceDetected    = "detected"    // an application or reply written in Welsh
)

// LanguagePref is a resident's language preference: LangEnglish, LangWelsh,
// or "" when it is not known (shown as "unknown").
type LanguagePref string

func (l LanguagePref) MarshalJSON() ([]byte, error) {
	if l == "" {
		return json.Marshal("unknown")
	}
	return json.Marshal(string(l))
}

// ParseLanguagePref reads a preference: en, cy, or unknown ("").
func ParseLanguagePref(s string) (LanguagePref, error) {
	switch v := strings.ToLower(strings.TrimSpace(s)); v {
	case "", "unknown":
		return "", nil
	case LangEnglish, LangWelsh:
		return LanguagePref(v), nil
	}
	return "", Errorf(EINVALID, "language: %q is not one of en, cy, unknown", s)
}

// Accessible formats a resident may need.
const (
	FormatLargePrint = "large_print" // the letter in 16 pt or more
	FormatEasyRead   = "easy_read"   // an easy-read version, prepared by hand
)

// NormaliseFormats checks and orders a list of accessible formats.
func NormaliseFormats(fs []string) ([]string, error) {
	out := []string{}
	for _, f := range []string{FormatLargePrint, FormatEasyRead} {
		if slices.Contains(fs, f) {
			out = append(out, f)
		}
	}
	for _, f := range fs {
		if f != FormatLargePrint && f != FormatEasyRead {
			return nil, Errorf(EINVALID, "accessible_format: %q is not one of large_print, easy_read", f)
		}
	}
	return out, nil
}

// Preferences is what intake or staff learnt, with the application, about
// how to write to the resident.
type Preferences struct {
	Language       LanguagePref
	LanguageSource string // form, detected
	Formats        []string
}

// ContactOfficer is the case's single point of contact as letters name
// them: an [[officer]] of the configuration, or, when none is configured
// for the coordinator, the partnership's contact ([partnership]
// contact_officer, contact_email, contact_phone).
type ContactOfficer struct {
	SlackID string `json:"slack_id"` // "" for the partnership's contact
	Name    string `json:"name"`
	Title   string `json:"title,omitempty"`
	Email   string `json:"email"`
	Phone   string `json:"phone"`
	// Default is set when nobody was chosen for this case: the contact is
	// the coordinator's (or the partnership's).
	Default bool `json:"default"`

	NameCy  string `json:"-"`
	TitleCy string `json:"-"`
}

// In returns the officer's name and title as a letter in lang gives them.
func (o ContactOfficer) In(lang string) (name, title string) {
	name, title = o.Name, o.Title
	if lang == LangWelsh {
		if o.NameCy != "" {
			name = o.NameCy
		}
		if o.TitleCy != "" {
			title = o.TitleCy
		}
	}
	return name, title
}

// Officer returns the configured officer with a Slack user id.
func (c *Config) Officer(slackID string) (Officer, bool) {
	for _, o := range c.Officers {
		if o.SlackID == slackID {
			return o, true
		}
	}
	return Officer{}, false
}

// ContactFor resolves a case's contact officer: the officer chosen for the
// case (slackID), else the first coordinator with an [[officer]] entry,
// else the partnership's contact.
func (c *Config) ContactFor(slackID string) ContactOfficer {
	of := func(o Officer, def bool) ContactOfficer {
		return ContactOfficer{SlackID: o.SlackID, Name: o.Name, Title: o.Title, TitleCy: o.TitleCy, Email: o.Email, Phone: o.Phone, Default: def}
	}
	if slackID != "" {
		if o, ok := c.Officer(slackID); ok {
			return of(o, false)
		}
	}
	for _, id := range c.Roles.Coordinator {
		if o, ok := c.Officer(id); ok {
			return of(o, true)
		}
	}
	p := c.Partnership
	return ContactOfficer{Name: p.ContactOfficer, NameCy: p.ContactOfficerCy, Email: p.ContactEmail, Phone: p.ContactPhone, Default: true}
}

// LanguagesFor returns the languages to write to a resident in, first
// first: English in a partnership that writes only English; in a Welsh
// partnership the preferred language, or both, Welsh first, when the
// preference is not known.
func (c *Config) LanguagesFor(pref LanguagePref) []string {
	if !c.Partnership.Welsh() {
		return []string{LangEnglish}
	}
	switch pref {
	case LangWelsh:
		return []string{LangWelsh}
	case LangEnglish:
		return []string{LangEnglish}
	}
	return []string{LangWelsh, LangEnglish}
}

// AgencyNameIn is an agency's name in a language.
func (c *Config) AgencyNameIn(id, lang string) string {
	a, ok := c.Agency(id)
	switch {
	case !ok:
		return id
	case lang == LangWelsh && a.NameCy != "":
		return a.NameCy
	}
	return a.Name
}

// validateResident checks the keys of issue 15 and keeps the older name of
// review_outcome equal to it.
func (c *Config) validateResident(bad func(key, format string, args ...any) error) error {
	langs := c.Partnership.Languages
	if len(langs) == 0 {
		return bad("partnership.languages", `must list the languages letters are written in: ["en"], or ["cy", "en"] in Wales`)
	}
	seen := map[string]bool{}
	for i, l := range langs {
		if l != LangEnglish && l != LangWelsh {
			return bad(fmt.Sprintf("partnership.languages[%d]", i), `%q is not one of "en", "cy"`, l)
		}
		if seen[l] {
			return bad(fmt.Sprintf("partnership.languages[%d]", i), "%q is listed twice", l)
		}
		seen[l] = true
	}
	if !seen[LangEnglish] {
		return bad("partnership.languages", `must include "en": residents who prefer English are written to in English`)
	}
	fr := &c.FurtherReview
	if strings.TrimSpace(fr.ReviewOutcome) == "" {
		return bad("further_review.review_outcome", "must name who hears a further review")
	}
	c.Partnership.FurtherReviewBody = fr.ReviewOutcome
	if fr.ThresholdDecisionEmail != "" {
		if !strings.Contains(fr.ThresholdDecisionEmail, "@") {
			return bad("further_review.threshold_decision_email", "not an email address")
		}
		if strings.TrimSpace(fr.ThresholdDecision) == "" {
			return bad("further_review.threshold_decision_email", "is set, but further_review.threshold_decision does not name the body")
		}
	}
	if fr.ThresholdDecisionCy != "" && fr.ThresholdDecision == "" {
		return bad("further_review.threshold_decision_cy", "is set, but further_review.threshold_decision is not")
	}
	ids := map[string]bool{}
	for i, o := range c.Officers {
		key := fmt.Sprintf("officer[%d]", i)
		switch {
		case strings.TrimSpace(o.SlackID) == "":
			return bad(key+".slack_id", "must be set: the officer's Slack user id")
		case ids[o.SlackID]:
			return bad(key+".slack_id", "duplicate %q", o.SlackID)
		case strings.TrimSpace(o.Name) == "":
			return bad(key+".name", "must not be empty: letters name the contact officer")
		case !strings.Contains(o.Email, "@"):
			return bad(key+".email", "must be the officer's direct email address")
		}
		ids[o.SlackID] = true
	}
	return nil
}

// Needs reports whether the resident needs an accessible format.
func (c *Case) Needs(format string) bool { return slices.Contains(c.AccessibleFormat, format) }

// Consultation is the resident's say in the action plan: the proposed
// recommendations were sent to them (AskedAt; nil when they have no email
// address and the coordinator asks them another way) for comment by
// ReplyBy. The response is drafted when they reply, when ReplyBy has
// passed, or when the coordinator skips it with a reason.
type Consultation struct {
	AskedAt    *time.Time `json:"asked_at"`
	ReplyBy    Date       `json:"reply_by"`
	RepliedAt  *time.Time `json:"replied_at"`
	SkippedBy  string     `json:"skipped_by,omitempty"`
	SkipReason string     `json:"skip_reason,omitempty"`
	// EndedAt is when the draft stopped waiting: the reply, the date
	// passing, or the skip.
	EndedAt *time.Time `json:"ended_at"`
}

// Open reports whether the draft response still waits for the resident.
func (c *Consultation) Open() bool { return c != nil && c.EndedAt == nil }

// ThresholdReview is a request to have a not-met decision reviewed by the
// body [further_review] threshold_decision names, and its result.
type ThresholdReview struct {
	ID          int64     `json:"-"`
	RequestedAt time.Time `json:"requested_at"`
	Source      string    `json:"source"` // email, slack
	// Consent says whether the applicant agreed to their details going to
	// the body with the request (nil: not known; then they do not).
	Consent     *bool      `json:"consent_to_share"`
	Body        string     `json:"body"`
	ForwardedTo string     `json:"forwarded_to,omitempty"` // the body's address; "" when it was not emailed
	Result      string     `json:"result"`                 // "", upheld, not_upheld
	ResultAt    *time.Time `json:"result_at"`
	ResultBy    string     `json:"result_by,omitempty"`
	Notes       string     `json:"notes,omitempty"`
}

// Threshold-decision review results. Upheld means the body agreed with the
// applicant: the threshold should have been met.
const (
	ReviewUpheld    = "upheld"
	ReviewNotUpheld = "not_upheld"
)

// ThresholdReviewForward is what the email forwarding a request to review a
// not-met decision says: the decision and its reasons always; with the
// applicant's consent, their application, the letter they received and
// their request too.
type ThresholdReviewForward struct {
	Case        *Case
	Review      ThresholdReview
	Letter      *Letter // the not-met letter sent; nil when none
	RequestText string  // the applicant's email asking for the review; "" when recorded by the coordinator
}
