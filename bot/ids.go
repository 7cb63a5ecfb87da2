// Package bot is the Slack adapter: it turns outbox jobs into Slack calls
// (a private channel per case, the case card, requests to agencies) and
// clicks, modal submissions and thread replies into casefile commands. It
// runs over Socket Mode or HTTP, checks the clicker's role before anything
// changes, and never puts personal data in a channel name or topic.
package bot

// Action ids of buttons. Their value carries the context: the case
// reference, and for agency buttons "REF|agency".
const (
	ActionAccept               = "accept_for_review"
	ActionNotMet               = "threshold_not_met"
	ActionViewDetails          = "view_details"
	ActionProvideDetails       = "provide_details"
	ActionScheduleMeeting      = "schedule_meeting"
	ActionRecordOutcome        = "record_outcome"
	ActionApprove              = "approve_and_send"
	ActionEditDraft            = "edit_draft"
	ActionRequestChanges       = "request_changes"
	ActionRecordFurther        = "record_further_review"
	ActionAcceptFurther        = "accept_further_review"
	ActionDeclineFurther       = "decline_further_review"
	ActionRecordFurtherOutcome = "record_further_review_outcome"
	ActionReadLetter           = "read_letter"
	ActionAcknowledged         = "acknowledged_other_way"
	ActionSnoozeReminder       = "snooze_reminder" // value "REF|agency|reminder key"
	// The Home tab's filter (a static select: all, overdue, mine) and its
	// pages (value "filter|page").
	ActionHomeFilter = "home_filter"
	ActionHomePage   = "home_page"
	// The resident at the centre.
	ActionChangeContact = "change_contact_officer"
	ActionResidentNeeds = "resident_needs"
	// One action id per choice: Slack wants action ids unique in a block.
	ActionInvolvementMeeting    = "record_involvement_meeting"
	ActionInvolvementWriting    = "record_involvement_writing"
	ActionInvolvementOutcome    = "record_involvement_outcome"
	ActionSkipConsultation      = "skip_consultation"
	ActionReadMessage           = "read_message" // value "REF|Message-ID"
	ActionRecordThresholdReview = "record_threshold_review"
	ActionThresholdReviewResult = "threshold_review_result"
	// The buttons on an unverified email: value "REF|message id".
	ActionTreatFurtherReview  = "treat_as_further_review"
	ActionTreatCorrespondence = "treat_as_correspondence"
)

// Callback ids of modals. Their private_metadata carries the same context
// as the button that opened them.
const (
	ViewNotMet          = "threshold_not_met"
	ViewDetails         = "case_details"
	ViewProvideDetails  = "provide_details"
	ViewScheduleMeeting = "schedule_meeting"
	ViewRecordOutcome   = "record_outcome"
	ViewEditDraft       = "edit_draft"
	ViewRequestChanges  = "request_changes"
	ViewDeclineFurther  = "decline_further_review"
	ViewFurtherOutcome  = "further_review_outcome"
	ViewReadLetter      = "read_letter"
	ViewNewCase         = "new_case"    // /trigger new: an application by phone, letter or in person
	ViewCaseOpened      = "case_opened" // what the new case form shows once the case is opened
	ViewNotice          = "notice"      // a message to a person who clicked where no channel is (the Home tab)
	ViewContactOfficer  = "contact_officer"
	ViewResidentNeeds   = "resident_needs"
	ViewSkipConsult     = "skip_consultation"
	ViewReadMessage     = "read_message"
	ViewThresholdReview = "threshold_review"
	ViewThresholdResult = "threshold_review_result"
)

// Block ids of modal inputs; the view_submission answer keys its errors by
// them.
const (
	BlockReason      = "reason"
	BlockComplaints  = "complaints"
	BlockConsidered  = "considered"
	BlockTaken       = "taken"
	BlockRisk        = "risk"
	BlockNoInfo      = "no_info"
	BlockDate        = "date"
	BlockTime        = "time"
	BlockPlace       = "place"
	BlockAttendees   = "attendees"
	BlockAttendance  = "attendance"
	BlockSummary     = "summary"
	BlockAdequate    = "adequate"
	BlockLetterText  = "letter_text"
	BlockComment     = "comment"
	BlockUpheld      = "upheld"
	BlockClosed      = "closed_session"
	BlockOfficer     = "officer"
	BlockLanguage    = "language"
	BlockFormats     = "formats"
	BlockInvolvement = "involvement"
	BlockConsent     = "consent"
	BlockNotes       = "notes"
)

// recBlock names the inputs of recommendation n (1-based).
func recBlock(n int, part string) string { return "rec" + string(rune('0'+n)) + "_" + part }

// recommendationSlots is how many recommendations the outcome modal offers.
const recommendationSlots = 3
