package casefile

import (
	"context"
	"fmt"
)

// InfoRequest asks one agency for the complaints it received and what it
// considered and did.
type InfoRequest struct {
	ID          int64         `json:"id"`
	CaseRef     string        `json:"case"`
	Agency      string        `json:"agency"`
	RequestedAt string        `json:"requested_at"`
	Due         Date          `json:"due"`
	MessageTS   string        `json:"message_ts,omitempty"`
	ByEmail     bool          `json:"by_email"`
	Replied     bool          `json:"replied"`
	Replies     []AgencyReply `json:"replies,omitempty"`
}

// AgencyReply is what an agency said: through the form, in the request's
// thread, or by email.
type AgencyReply struct {
	ID         int64  `json:"id"`
	Agency     string `json:"agency"`
	Author     string `json:"author"`
	Source     string `json:"source"` // form, thread, email
	Complaints string `json:"complaints,omitempty"`
	Considered string `json:"actions_considered,omitempty"`
	Taken      string `json:"actions_taken,omitempty"`
	Risk       string `json:"risk,omitempty"`
	NoInfo     bool   `json:"no_information_held,omitempty"`
	Text       string `json:"text,omitempty"`
	At         string `json:"at"`
}

// askAgencies moves an accepted case to gathering: one request per agency
// named in the application (every configured agency when none is named),
// each due in AgencyReplies working days, each posted by the bot.
func (tx *Tx) askAgencies(ctx context.Context, c *caseRow, by string, cause int64) error {
	ids := c.app.Agencies
	if len(ids) == 0 {
		for _, a := range tx.s.Config.Agencies {
			ids = append(ids, a.ID)
		}
	}
	due := tx.s.Cal.AddWorkingDays(DateOf(tx.now), tx.s.Config.Timescales.AgencyReplies)
	if err := tx.transition(ctx, c, StatusGathering, ""); err != nil {
		return err
	}
	ev, err := tx.event(ctx, c.id, by, "agencies.asked", map[string]any{"agencies": ids, "due": due.String()})
	if err != nil {
		return err
	}
	for _, id := range ids {
		_, err := tx.ExecContext(ctx, `INSERT INTO info_requests (case_id, agency, requested_at, due_on) VALUES (?, ?, ?, ?)
			ON CONFLICT (case_id, agency) DO NOTHING`, c.id, id, ms(tx.now), due.String())
		if err != nil {
			return fmt.Errorf("request %s: %w", id, err)
		}
		if _, err := tx.enqueue(ctx, c.id, ev, JobSlackPostRequest, fmt.Sprintf("request:%s:%s", c.ref, id),
			map[string]any{"case": c.ref, "agency": id}); err != nil {
			return err
		}
	}
	if err := tx.setDeadline(ctx, c.id, DeadlineAgencyReplies, due); err != nil {
		return err
	}
	return tx.cardChanged(ctx, c, ev)
}
