package casefile_test

import (
	"testing"

	"github.com/csp/trigger/casefile"
)

func TestPermissions(t *testing.T) {
	cfg := casefile.DefaultConfig()
	cfg.Roles = casefile.RolesConfig{Coordinator: casefile.IDList{"UCOORD"}, Chair: casefile.IDList{"UCHAIR"}, Approvers: casefile.IDList{"UCOORD", "UAPPROVER"}}
	cfg.Agencies[0].SlackUsers = []string{"UPOLICE", "officer@police.example"}
	coord := casefile.ActorFor(&cfg, "UCOORD")
	chair := casefile.ActorFor(&cfg, "UCHAIR")
	approver := casefile.ActorFor(&cfg, "UAPPROVER")
	police := casefile.ActorFor(&cfg, "UPOLICE")
	stranger := casefile.ActorFor(&cfg, "USTRANGER")
	admin := casefile.Admin("Sam Patel")
	intake := casefile.System("intake")

	for _, tc := range []struct {
		name string
		a    casefile.Actor
		act  casefile.Action
		ok   bool
	}{
		{"CoordinatorDecides", coord, casefile.ActDecideThreshold, true},
		{"ChairDoesNotDecideThreshold", chair, casefile.ActDecideThreshold, false},
		{"OfficerDoesNotDecideThreshold", police, casefile.ActDecideThreshold, false},
		{"StrangerSeesNoDetails", stranger, casefile.ActViewDetails, false},
		{"OfficerSeesDetails", police, casefile.ActViewDetails, true},
		{"ApproverSeesDetails", approver, casefile.ActViewDetails, true},
		{"ChairDecidesFurtherReview", chair, casefile.ActDecideFurtherReview, true},
		{"CoordinatorDoesNotDecideFurtherReview", coord, casefile.ActDecideFurtherReview, false},
		{"CoordinatorRecordsFurtherReviewRequest", coord, casefile.ActRecordFurtherReview, true},
		{"AdminMayDoAnything", admin, casefile.ActDecideFurtherReview, true},
		{"IntakeOpensCases", intake, casefile.ActCreateCase, true},
		{"IntakeDoesNotDecide", intake, casefile.ActDecideThreshold, false},
		{"StrangerDoesNotOpenCases", stranger, casefile.ActCreateCase, false},
		// The resident at the centre: the coordinator's, and nobody else's.
		{"CoordinatorChangesContactOfficer", coord, casefile.ActChangeContactOfficer, true},
		{"OfficerDoesNotChangeContactOfficer", police, casefile.ActChangeContactOfficer, false},
		{"ChairDoesNotRecordInvolvement", chair, casefile.ActRecordInvolvement, false},
		{"CoordinatorRecordsNeeds", coord, casefile.ActSetPreferences, true},
		{"ApproverDoesNotSkipConsultation", approver, casefile.ActSkipConsultation, false},
		{"CoordinatorSkipsConsultation", coord, casefile.ActSkipConsultation, true},
		{"CoordinatorRecordsThresholdReview", coord, casefile.ActRecordThresholdReview, true},
		{"IntakeDoesNotRecordThresholdResult", intake, casefile.ActThresholdReviewResult, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.a.Permit(tc.act)
			if (err == nil) != tc.ok {
				t.Fatalf("Permit(%s) = %v, want ok=%v", tc.act, err, tc.ok)
			}
			if err != nil && casefile.ErrorCode(err) != casefile.EFORBIDDEN {
				t.Fatalf("refusal has code %s, want forbidden", casefile.ErrorCode(err))
			}
		})
	}

	t.Run("AnswerForAgency", func(t *testing.T) {
		if err := police.PermitAnswer("police", "Police"); err != nil {
			t.Errorf("police officer refused for police: %v", err)
		}
		if err := police.PermitAnswer("council", "District Council"); casefile.ErrorCode(err) != casefile.EFORBIDDEN {
			t.Errorf("police officer answering for the council: %v", err)
		}
		if err := coord.PermitAnswer("council", "District Council"); err != nil {
			t.Errorf("coordinator refused: %v", err)
		}
		if err := chair.PermitAnswer("police", "Police"); casefile.ErrorCode(err) != casefile.EFORBIDDEN {
			t.Errorf("chair answering for the police: %v", err)
		}
	})

	t.Run("FurtherReviewLetterIsTheChairs", func(t *testing.T) {
		if err := approver.PermitLetter(casefile.ActApproveLetter, casefile.LetterOutcome); err != nil {
			t.Errorf("approver refused an outcome letter: %v", err)
		}
		if err := approver.PermitLetter(casefile.ActApproveLetter, casefile.LetterFurtherReview); casefile.ErrorCode(err) != casefile.EFORBIDDEN {
			t.Errorf("approver approving a further-review letter: %v", err)
		}
		if err := approver.PermitLetter(casefile.ActEditLetter, casefile.LetterFurtherReview); casefile.ErrorCode(err) != casefile.EFORBIDDEN {
			t.Errorf("approver editing a further-review letter: %v", err)
		}
		if err := chair.PermitLetter(casefile.ActApproveLetter, casefile.LetterFurtherReview); err != nil {
			t.Errorf("chair refused: %v", err)
		}
		if err := coord.PermitLetter(casefile.ActEditLetter, casefile.LetterFurtherReview); err != nil {
			t.Errorf("coordinator may correct any letter: %v", err)
		}
		if err := coord.PermitLetter(casefile.ActRequestChanges, casefile.LetterFurtherReview); casefile.ErrorCode(err) != casefile.EFORBIDDEN {
			t.Errorf("coordinator asking for changes to the Chair's letter: %v", err)
		}
	})
}
