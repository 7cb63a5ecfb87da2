package mixedmail

import (
	"context"
	"fmt"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// BatchFunc files raw messages as mail intake does
// (mailin.Intake.IngestBatch); results and errors in the order given.
type BatchFunc func(ctx context.Context, raws [][]byte, dates []time.Time) ([]casefile.IngestResult, []error)

// Seed brings the case file to where the inbox finds it: the history's
// applications filed (each checked to open the case the mailbox says), our
// acknowledgements recorded as sent (with AckMessageID, to the resident),
// the Answered cases decided "threshold not met" with their letter
// approved, and the Accepted ones decided "met" (the agencies asked).
func (mb *Mailbox) Seed(ctx context.Context, s *sqlite.Store, ingest BatchFunc) error {
	const batch = 256
	for lo := 0; lo < len(mb.History); lo += batch {
		part := mb.History[lo:min(lo+batch, len(mb.History))]
		raws, dates := make([][]byte, len(part)), make([]time.Time, len(part))
		for i, m := range part {
			raws[i], dates[i] = m.Raw, m.Date
		}
		res, errs := ingest(ctx, raws, dates)
		for i, m := range part {
			if errs[i] != nil {
				return fmt.Errorf("seed: history message %d: %w", lo+i, errs[i])
			}
			if res[i].Outcome != casefile.OutcomeCreated || res[i].Case == nil || *res[i].Case != m.Case {
				return fmt.Errorf("seed: history message %d (%s) was %s %v (%s), want %s %s", lo+i, m.Kind, res[i].Outcome, deref(res[i].Case), res[i].Reason, casefile.OutcomeCreated, m.Case)
			}
		}
	}
	sent := 0
	for {
		jobs, err := s.ClaimJobs(ctx, casefile.JobEmailAck, 500, time.Hour)
		if err != nil {
			return fmt.Errorf("seed: claim acknowledgements: %w", err)
		}
		if len(jobs) == 0 {
			break
		}
		for _, j := range jobs {
			to := mb.ackTo[j.CaseRef]
			if to == "" {
				return fmt.Errorf("seed: an acknowledgement of %s, which is not a history case", j.CaseRef)
			}
			subject := "Your Community Trigger application has been received [" + j.CaseRef + "]"
			raw := fmt.Sprintf("From: Community Trigger <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\nAuto-Submitted: auto-replied\r\n\r\nThank you for your application. Your reference is %s.\r\n",
				To, to, subject, AckMessageID(j.CaseRef), j.CaseRef)
			if err := s.CompleteJob(ctx, j, casefile.JobDone{Sent: &casefile.Outbound{
				MessageID: AckMessageID(j.CaseRef), Kind: "ack", Subject: subject, To: to, Raw: []byte(raw),
			}}); err != nil {
				return fmt.Errorf("seed: acknowledge %s: %w", j.CaseRef, err)
			}
			sent++
		}
	}
	if sent != len(mb.History) {
		return fmt.Errorf("seed: %d acknowledgements sent, want one for each of the %d history cases", sent, len(mb.History))
	}
	staff := casefile.Actor{ID: "U0BENCH", Roles: []casefile.Role{casefile.RoleCoordinator, casefile.RoleChair, casefile.RoleApprover}}
	for _, ref := range mb.Answered {
		if _, err := s.Decide(ctx, staff, ref, casefile.NotMet, "Fewer than three qualifying complaints within the period."); err != nil {
			return fmt.Errorf("seed: decide %s: %w", ref, err)
		}
		letters, err := s.Letters(ctx, ref)
		if err != nil {
			return fmt.Errorf("seed: letters of %s: %w", ref, err)
		}
		var l *casefile.Letter
		for i := range letters {
			if letters[i].Kind == casefile.LetterNotMet && (l == nil || letters[i].Version > l.Version) {
				l = &letters[i]
			}
		}
		if l == nil {
			return fmt.Errorf("seed: %s has no letter to approve", ref)
		}
		if _, err := s.ApproveLetter(ctx, staff, ref, l.ID, l.SHA256); err != nil {
			return fmt.Errorf("seed: approve the letter of %s: %w", ref, err)
		}
	}
	for _, ref := range mb.Accepted {
		if _, err := s.Decide(ctx, staff, ref, casefile.Met, ""); err != nil {
			return fmt.Errorf("seed: decide %s: %w", ref, err)
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}
