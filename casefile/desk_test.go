package casefile_test

import (
	"testing"

	"github.com/csp/trigger/casefile"
)

func TestDeskPermissions(t *testing.T) {
	cfg := casefile.DefaultConfig()
	cfg.Roles = casefile.RolesConfig{Coordinator: casefile.IDList{"UCOORD"}, Chair: casefile.IDList{"UCHAIR"}, Approvers: casefile.IDList{"UAPPROVER"}}
	cfg.Agencies[0].SlackUsers = []string{"UPOLICE"}
	coord, chair, approver := casefile.ActorFor(&cfg, "UCOORD"), casefile.ActorFor(&cfg, "UCHAIR"), casefile.ActorFor(&cfg, "UAPPROVER")
	police, stranger := casefile.ActorFor(&cfg, "UPOLICE"), casefile.ActorFor(&cfg, "USTRANGER")
	for _, tc := range []struct {
		name string
		a    casefile.Actor
		act  casefile.Action
		ok   bool
	}{
		{"CoordinatorSeesAll", coord, casefile.ActSeeAllCases, true},
		{"ChairSeesAll", chair, casefile.ActSeeAllCases, true},
		{"ApproverDoesNotSeeAll", approver, casefile.ActSeeAllCases, false},
		{"OfficerDoesNotSeeAll", police, casefile.ActSeeAllCases, false},
		{"CoordinatorFinds", coord, casefile.ActFindCases, true},
		{"ChairDoesNotFind", chair, casefile.ActFindCases, false},
		{"OfficerDoesNotFind", police, casefile.ActFindCases, false},
		{"StrangerDoesNotFind", stranger, casefile.ActFindCases, false},
		{"CoordinatorOpensCases", coord, casefile.ActCreateCase, true},
		{"ChairDoesNotOpenCases", chair, casefile.ActCreateCase, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.a.Permit(tc.act); (err == nil) != tc.ok {
				t.Fatalf("Permit(%s) = %v, want ok=%v", tc.act, err, tc.ok)
			}
		})
	}
	t.Run("SeeOneCase", func(t *testing.T) {
		c := &casefile.Case{Application: casefile.Application{Agencies: []string{"council"}}}
		for _, a := range []casefile.Actor{coord, chair, approver} {
			if err := a.PermitSeeCase(casefile.CaseAgencies(c, &cfg)); err != nil {
				t.Errorf("%s: %v", a.ID, err)
			}
		}
		if err := police.PermitSeeCase(casefile.CaseAgencies(c, &cfg)); casefile.ErrorCode(err) != casefile.EFORBIDDEN {
			t.Errorf("police on a council-only case: %v", err)
		}
		if err := stranger.PermitSeeCase(casefile.CaseAgencies(c, &cfg)); casefile.ErrorCode(err) != casefile.EFORBIDDEN {
			t.Errorf("stranger: %v", err)
		}
		all := &casefile.Case{} // names no agency: every agency is asked
		if err := police.PermitSeeCase(casefile.CaseAgencies(all, &cfg)); err != nil {
			t.Errorf("police on a case naming no agency: %v", err)
		}
	})
}

func TestMover(t *testing.T) {
	for _, tc := range []struct {
		status   casefile.Status
		letter   string
		deadline string
		mover    casefile.Party
		owner    casefile.Party
	}{
		{casefile.StatusReceived, "", casefile.DeadlineThresholdDecision, casefile.PartyCoordinator, casefile.PartyCoordinator},
		{casefile.StatusGathering, "", casefile.DeadlineAgencyReplies, casefile.PartyAgencies, casefile.PartyAgencies},
		{casefile.StatusDrafting, casefile.LetterOutcome, casefile.DeadlineResponse, casefile.PartyCoordinator, casefile.PartyCoordinator},
		{casefile.StatusAwaitingApproval, casefile.LetterOutcome, casefile.DeadlineResponse, casefile.PartyApprovers, casefile.PartyApprovers},
		{casefile.StatusAwaitingApproval, casefile.LetterFurtherReview, casefile.DeadlineResponse, casefile.PartyChair, casefile.PartyChair},
		{casefile.StatusResponded, casefile.LetterOutcome, casefile.DeadlineFurtherReview, casefile.PartyApplicant, casefile.PartyApplicant},
		{casefile.StatusFurtherReviewRequested, casefile.LetterOutcome, "", casefile.PartyChair, casefile.PartyNobody},
	} {
		if got := casefile.Mover(tc.status, tc.letter); got != tc.mover {
			t.Errorf("Mover(%s, %s) = %q, want %q", tc.status, tc.letter, got, tc.mover)
		}
		if got := casefile.DeadlineOwner(tc.deadline, tc.status, tc.letter); got != tc.owner {
			t.Errorf("DeadlineOwner(%s, %s) = %q, want %q", tc.deadline, tc.status, got, tc.owner)
		}
	}
}

func TestDigestChannelConfig(t *testing.T) {
	for _, tc := range []struct {
		v        string
		ok       bool
		id, name string
	}{
		{"", true, "", ""},
		{"#community-trigger", true, "", "community-trigger"},
		{"community-trigger", true, "", "community-trigger"},
		{"C0123ABCD", true, "C0123ABCD", ""},
		{"#Community Trigger", false, "", ""},
		{"#", false, "", ""},
	} {
		cfg := casefile.DefaultConfig()
		cfg.Slack.DigestChannel = tc.v
		err := cfg.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%q: %v", tc.v, err)
			continue
		}
		if id, name := cfg.Slack.DigestChannelRef(); tc.ok && (id != tc.id || name != tc.name) {
			t.Errorf("%q: id %q name %q", tc.v, id, name)
		}
	}
}
