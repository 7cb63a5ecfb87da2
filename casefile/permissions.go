package casefile

import (
	"slices"
	"strings"
)

// Role is a part a person plays in the partnership's process. Roles come
// from the configuration ([roles], [[agency]] slack_users); the command
// line acts as the administrator; the service itself acts as the system.
type Role string

const (
	RoleCoordinator Role = "coordinator" // the Community Safety Team Leader
	RoleChair       Role = "chair"       // the Chair of the partnership
	RoleApprover    Role = "approver"    // approves letters
	RoleOfficer     Role = "officer"     // an agency's officer: Actor.Agencies says which
	RoleAdmin       Role = "admin"       // whoever runs the command line on the server
	RoleSystem      Role = "system"      // intake, reminders, the outbox
)

// Actor is who asks for a change: a person in Slack with the roles the
// configuration gives them, the administrator at the command line, or the
// service itself. Every state-changing command takes one, and the domain
// refuses what the actor's roles do not allow.
type Actor struct {
	// ID is the Slack user id of a person, or the name the command line
	// was given with --by.
	ID string
	// Name is how the audit trail shows the actor; "" means ID.
	Name  string
	Roles []Role
	// Agencies are the agencies the person is an officer of.
	Agencies []string
}

// ActorFor is the Slack user with the roles the configuration gives them.
// Officers named in [[agency]] slack_users by email address are not known
// here: the adapter that can look them up adds those agencies.
func ActorFor(cfg *Config, userID string) Actor {
	a := Actor{ID: userID}
	if cfg.Roles.Coordinator.Has(userID) {
		a.Roles = append(a.Roles, RoleCoordinator)
	}
	if cfg.Roles.Chair.Has(userID) {
		a.Roles = append(a.Roles, RoleChair)
	}
	if cfg.Roles.Approvers.Has(userID) {
		a.Roles = append(a.Roles, RoleApprover)
	}
	for _, ag := range cfg.Agencies {
		if slices.Contains(ag.SlackUsers, userID) {
			a = a.OfficerOf(ag.ID)
		}
	}
	return a
}

// Admin is the administrator at the command line, recorded under name.
func Admin(name string) Actor {
	name = strings.TrimSpace(name)
	return Actor{ID: name, Roles: []Role{RoleAdmin}}
}

// System is the service acting on its own: intake, reminders, the outbox.
func System(part string) Actor { return Actor{ID: part, Roles: []Role{RoleSystem}} }

// OfficerOf returns the actor as an officer of the agency too.
func (a Actor) OfficerOf(agency string) Actor {
	if !slices.Contains(a.Agencies, agency) {
		a.Agencies = append(slices.Clip(a.Agencies), agency)
	}
	if !a.Has(RoleOfficer) {
		a.Roles = append(slices.Clip(a.Roles), RoleOfficer)
	}
	return a
}

// Has reports whether the actor has the role.
func (a Actor) Has(r Role) bool { return slices.Contains(a.Roles, r) }

// Audit is how the audit trail names the actor.
func (a Actor) Audit() string {
	if a.Name != "" {
		return a.Name
	}
	return a.ID
}

// Action is something an actor asks the case file to do.
type Action string

const (
	ActCreateCase            Action = "create_case"
	ActViewDetails           Action = "view_details" // see an applicant's personal details, read a letter
	ActDecideThreshold       Action = "decide_threshold"
	ActRecordAcknowledgement Action = "record_acknowledgement"
	ActWithdraw              Action = "withdraw"
	ActScheduleMeeting       Action = "schedule_meeting"
	ActRecordOutcome         Action = "record_outcome"
	ActEditLetter            Action = "edit_letter"
	ActRequestChanges        Action = "request_changes"
	ActApproveLetter         Action = "approve_letter"
	ActRecordFurtherReview   Action = "record_further_review_request"
	ActDecideFurtherReview   Action = "decide_further_review"
	ActFurtherReviewOutcome  Action = "record_further_review_outcome"
	ActExport                Action = "export"
	// The resident at the centre.
	ActChangeContactOfficer  Action = "change_contact_officer"
	ActRecordInvolvement     Action = "record_involvement"
	ActSetPreferences        Action = "set_preferences" // language, accessible formats
	ActSkipConsultation      Action = "skip_consultation"
	ActRecordThresholdReview Action = "record_threshold_review_request"
	ActThresholdReviewResult Action = "record_threshold_review_result"
	ActRetryJobs             Action = "retry_jobs" // put ended outbox jobs back
	// ActSeeAllCases is the coordinator's desk: every open case with its
	// next deadline, and the partnership's counts (the Home tab).
	ActSeeAllCases Action = "see_all_cases"
	// ActFindCases searches cases by what the resident wrote (the
	// applicant's name, the location, agency references): a search of
	// personal data, so the coordinator's alone, and audited.
	ActFindCases       Action = "find_cases"
	ActTreatUnverified Action = "treat_unverified_mail"
)

// rules says who may do what. The administrator may do everything; the
// system only what the service does by itself (opening a case from an
// email). Answering an agency's request and approving a letter depend on
// the agency and the letter: see PermitAnswer and PermitLetter.
var rules = map[Action]struct {
	roles []Role
	who   string // for the refusal: "only <who> can …"
	what  string
}{
	ActCreateCase:            {[]Role{RoleCoordinator, RoleSystem}, "the coordinator", "open a case"},
	ActViewDetails:           {[]Role{RoleCoordinator, RoleChair, RoleApprover, RoleOfficer}, "the coordinator, the Chair, approvers and agency officers", "see the personal details"},
	ActDecideThreshold:       {[]Role{RoleCoordinator}, "the coordinator", "decide the threshold"},
	ActRecordAcknowledgement: {[]Role{RoleCoordinator}, "the coordinator", "record an acknowledgement"},
	ActWithdraw:              {[]Role{RoleCoordinator}, "the coordinator", "record a withdrawal"},
	ActScheduleMeeting:       {[]Role{RoleCoordinator}, "the coordinator", "schedule the review meeting"},
	ActRecordOutcome:         {[]Role{RoleCoordinator}, "the coordinator", "record the meeting's outcome"},
	ActRecordFurtherReview:   {[]Role{RoleCoordinator}, "the coordinator", "record a request for a further review"},
	ActDecideFurtherReview:   {[]Role{RoleChair}, "the Chair", "decide on a further review"},
	ActFurtherReviewOutcome:  {[]Role{RoleChair}, "the Chair", "record the further review's outcome"},
	ActExport:                {[]Role{RoleCoordinator}, "the coordinator", "export a case"},
	ActChangeContactOfficer:  {[]Role{RoleCoordinator}, "the coordinator", "change the contact officer"},
	ActRecordInvolvement:     {[]Role{RoleCoordinator}, "the coordinator", "record how involved the applicant wants to be"},
	ActSetPreferences:        {[]Role{RoleCoordinator}, "the coordinator", "record the applicant's language or format needs"},
	ActSkipConsultation:      {[]Role{RoleCoordinator}, "the coordinator", "skip the consultation"},
	ActRecordThresholdReview: {[]Role{RoleCoordinator}, "the coordinator", "record a request to review the threshold decision"},
	ActThresholdReviewResult: {[]Role{RoleCoordinator}, "the coordinator", "record the result of a threshold-decision review"},
	ActRetryJobs:             {[]Role{RoleCoordinator}, "the coordinator", "put outbox jobs back"},
	ActSeeAllCases:           {[]Role{RoleCoordinator, RoleChair}, "the coordinator and the Chair", "see every case"},
	ActFindCases:             {[]Role{RoleCoordinator}, "the coordinator", "search cases"},
	ActTreatUnverified:       {[]Role{RoleCoordinator}, "the coordinator", "decide what an unverified email is"},
}

func forbidden(who, what string) error {
	return Errorf(EFORBIDDEN, "Sorry, only %s can %s. Nothing was changed.", who, what)
}

// Permit reports whether the actor may do act: nil, or an EFORBIDDEN error
// whose message says who may.
func (a Actor) Permit(act Action) error {
	if a.Has(RoleAdmin) {
		return nil
	}
	r, ok := rules[act]
	if !ok {
		return Errorf(EFORBIDDEN, "Sorry, %s needs a rule of its own. Nothing was changed.", act)
	}
	for _, role := range r.roles {
		if a.Has(role) {
			return nil
		}
	}
	return forbidden(r.who, r.what)
}

// PermitAnswer reports whether the actor may answer for an agency: its
// officer, or the coordinator (who may record what an agency said by phone).
func (a Actor) PermitAnswer(agency, agencyName string) error {
	if a.Has(RoleAdmin) || a.Has(RoleCoordinator) || slices.Contains(a.Agencies, agency) {
		return nil
	}
	return Errorf(EFORBIDDEN, "Sorry, only an officer of %s or the coordinator can act on its request. Nothing was changed.", agencyName)
}

// PermitSeeCase reports whether the actor may see one case's summary
// (its status and deadlines, no personal data): the coordinator, the Chair
// and approvers may see any case; an agency's officer only a case its
// agency is asked about (agencies: the case's agencies, every configured
// agency when the application names none, as the channel's invitations).
func (a Actor) PermitSeeCase(agencies []string) error {
	if a.Has(RoleAdmin) || a.Has(RoleCoordinator) || a.Has(RoleChair) || a.Has(RoleApprover) {
		return nil
	}
	for _, ag := range a.Agencies {
		if slices.Contains(agencies, ag) {
			return nil
		}
	}
	return Errorf(EFORBIDDEN, "Sorry, only the coordinator, the Chair, approvers and the officers of the agencies asked about a case can see it.")
}

// CaseAgencies are the agencies a case concerns: those its application
// names, or every configured agency when it names none (they are all
// asked, and all invited to its channel).
func CaseAgencies(c *Case, cfg *Config) []string {
	if len(c.Agencies) > 0 {
		return c.Agencies
	}
	ids := make([]string, 0, len(cfg.Agencies))
	for _, ag := range cfg.Agencies {
		ids = append(ids, ag.ID)
	}
	return ids
}

// PermitLetter reports whether the actor may do act (approve, edit, ask for
// changes) to a letter of the kind. Approvers approve letters; a letter on
// a further review is the Chair's alone. The coordinator may also edit any
// letter, to correct it before it is approved.
func (a Actor) PermitLetter(act Action, kind string) error {
	if a.Has(RoleAdmin) {
		return nil
	}
	who, role := "an approver", RoleApprover
	if kind == LetterFurtherReview {
		who, role = "the Chair", RoleChair
	}
	switch act {
	case ActApproveLetter:
		if a.Has(role) {
			return nil
		}
		return Errorf(EFORBIDDEN, "Sorry, only %s can approve this letter. Nothing was sent.", who)
	case ActRequestChanges:
		if a.Has(role) {
			return nil
		}
		return forbidden(who, "ask for changes to this letter")
	case ActEditLetter:
		if a.Has(role) || a.Has(RoleCoordinator) {
			return nil
		}
		return forbidden("the coordinator or "+who, "edit this letter")
	}
	return Errorf(EFORBIDDEN, "Sorry, %s is not something done to a letter. Nothing was changed.", act)
}
