package mailout

import (
	"context"
	"fmt"
	"strings"

	"github.com/csp/trigger/casefile"
)

// handleLetter sends an approved letter (payload {"case": REF, "letter":
// ID, "to": ADDRESS, "role": applicant|victim}) as plain text with the
// HTML rendering casefile made of the same approved text. A letter is sent
// only once approved, and only for its own case.
func (s *Sender) handleLetter(ctx context.Context, j casefile.Job) (casefile.JobDone, error) {
	p, err := casefile.PayloadOf[casefile.LetterJob](j)
	if err != nil {
		return casefile.JobDone{}, err
	}
	if strings.TrimSpace(p.To) == "" {
		return casefile.JobDone{}, casefile.Permanent(fmt.Errorf("job %d: letter: %w", j.ID, errNoAddress))
	}
	c, err := s.loadCase(ctx, j, p.Case)
	if err != nil {
		return casefile.JobDone{}, err
	}
	l, err := s.Store.Letter(ctx, p.Letter)
	switch {
	case casefile.ErrorCode(err) == casefile.ENOTFOUND:
		return casefile.JobDone{}, casefile.Permanent(fmt.Errorf("job %d: %w", j.ID, err))
	case err != nil:
		return casefile.JobDone{}, fmt.Errorf("job %d: read letter %d: %w", j.ID, p.Letter, err)
	case l.CaseRef != c.Ref:
		return casefile.JobDone{}, casefile.Permanent(fmt.Errorf("job %d: letter %d belongs to %s, not %s", j.ID, l.ID, l.CaseRef, c.Ref))
	case l.ApprovedAt == nil:
		return casefile.JobDone{}, casefile.Permanent(fmt.Errorf("job %d: letter %d of %s is not approved: not sent", j.ID, l.ID, c.Ref))
	}
	who := p.Role
	if who == "" {
		who = "recipient"
	}
	if err := s.checkDeliverable(ctx, j, c.Ref, p.To, who); err != nil {
		return casefile.JobDone{}, err
	}
	id, err := s.messageID(ctx, j, c.Ref, "letter")
	if err != nil {
		return casefile.JobDone{}, err
	}
	m := Message{
		To:        []string{p.To},
		Subject:   l.Subject,
		Text:      l.Text,
		HTML:      l.HTML,
		MessageID: id,
	}
	return s.sendJob(ctx, j, "letter", m)
}
