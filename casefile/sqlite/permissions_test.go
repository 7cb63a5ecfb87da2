package sqlite_test

import (
	"context"
	"testing"

	"github.com/csp/trigger/casefile"
)

func person(id string, roles ...casefile.Role) casefile.Actor {
	return casefile.Actor{ID: id, Roles: roles}
}

// TestDomainRefuses proves that the store, not only the Slack adapter,
// refuses what a role does not allow: whatever adapter calls it, a
// refused command changes nothing and leaves no trace but the refusal.
func TestDomainRefuses(t *testing.T) {
	ctx := context.Background()
	s, clk := MustOpenStore(t)
	officer := person("U-POLICE", casefile.RoleOfficer).OfficerOf("police")
	approver := person("U-APPROVER", casefile.RoleApprover)
	chair := person("U-CHAIR", casefile.RoleChair, casefile.RoleApprover)
	coord := person("U-COORD", casefile.RoleCoordinator, casefile.RoleApprover)

	c := mustCreate(t, s, sampleApplication())
	before, _ := s.Events(ctx, c.Ref)

	t.Run("ErrForbiddenDecide", func(t *testing.T) {
		_, err := s.Decide(ctx, officer, c.Ref, casefile.Met, "")
		if casefile.ErrorCode(err) != casefile.EFORBIDDEN {
			t.Fatalf("an officer deciding the threshold: %v", err)
		}
		got, _ := s.Case(ctx, c.Ref)
		evs, _ := s.Events(ctx, c.Ref)
		if got.Status != casefile.StatusReceived || len(evs) != len(before) {
			t.Fatalf("a refused decision changed the case: %s, %d events (was %d)", got.Status, len(evs), len(before))
		}
	})
	t.Run("ErrForbiddenAnswerForAnotherAgency", func(t *testing.T) {
		must(t)(s.Decide(ctx, coord, c.Ref, casefile.Met, ""))
		_, err := s.RecordReply(ctx, officer, casefile.ReplyInput{Ref: c.Ref, Agency: "council", Author: officer.ID, Source: "form", Text: "we did nothing", DedupeKey: "x1"})
		if casefile.ErrorCode(err) != casefile.EFORBIDDEN {
			t.Fatalf("a police officer answering for the council: %v", err)
		}
		if _, err := s.RecordReply(ctx, officer, casefile.ReplyInput{Ref: c.Ref, Agency: "police", Author: officer.ID, Source: "form", Text: "two visits", DedupeKey: "x2"}); err != nil {
			t.Fatalf("a police officer answering for the police: %v", err)
		}
	})

	t.Run("ErrForbiddenFurtherReviewLetterByApprover", func(t *testing.T) {
		ref := reviewedCase(t, s, clk, sampleApplication())
		l := latest(t, s, ref)
		must(t)(s.ApproveLetter(ctx, approver, ref, l.ID, l.SHA256))
		must(t)(s.RequestFurtherReview(ctx, coord, ref))
		if _, err := s.DecideFurtherReview(ctx, coord, ref, false, "no new information"); casefile.ErrorCode(err) != casefile.EFORBIDDEN {
			t.Fatalf("the coordinator deciding a further review: %v", err)
		}
		must(t)(s.DecideFurtherReview(ctx, chair, ref, false, "no new information"))
		fl := latest(t, s, ref)
		if fl.Kind != casefile.LetterFurtherReview {
			t.Fatalf("latest letter is %s", fl.Kind)
		}
		if _, err := s.ApproveLetter(ctx, approver, ref, fl.ID, fl.SHA256); casefile.ErrorCode(err) != casefile.EFORBIDDEN {
			t.Fatalf("an approver approving the Chair's letter: %v", err)
		}
		if _, err := s.EditLetter(ctx, approver, ref, fl.ID, fl.Text+"\nAn approver's words.\n"); casefile.ErrorCode(err) != casefile.EFORBIDDEN {
			t.Fatalf("an approver editing the Chair's letter: %v", err)
		}
		// Through the id of an older draft, the rule is the latest letter's.
		if _, err := s.EditLetter(ctx, approver, ref, l.ID, l.Text+"\nAn approver's words.\n"); casefile.ErrorCode(err) != casefile.EFORBIDDEN {
			t.Fatalf("an approver editing the Chair's letter through an old draft: %v", err)
		}
		if _, err := s.EditLetter(ctx, coord, ref, l.ID, fl.Text+"\nThe coordinator's correction.\n"); casefile.ErrorCode(err) != casefile.ECONFLICT {
			t.Fatalf("an edit based on an older version: %v", err)
		}
		got := latest(t, s, ref)
		if got.ID != fl.ID || got.ApprovedAt != nil {
			t.Fatalf("refused commands changed the letter: %+v", got)
		}
		must(t)(s.ApproveLetter(ctx, chair, ref, fl.ID, fl.SHA256))
	})

	t.Run("AdminRecordedAsSuch", func(t *testing.T) {
		c2 := mustCreate(t, s, sampleApplication())
		must(t)(s.Decide(ctx, casefile.Admin("Sam Patel"), c2.Ref, casefile.NotMet, "one complaint"))
		evs, _ := s.Events(ctx, c2.Ref)
		var found bool
		for _, e := range evs {
			if e.Kind == "threshold.decided" {
				found = e.Actor == "Sam Patel" && e.Details["as"] == "administrator"
			}
		}
		if !found {
			t.Fatalf("the administrator's decision is not recorded as such: %+v", evs)
		}
	})
}
