package sqlite

import (
	"context"
	"fmt"

	"github.com/csp/trigger/casefile"
)

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
	due := tx.s.Cal.AddWorkingDays(casefile.DateOf(tx.now), tx.s.Config.Timescales.AgencyReplies)
	if err := tx.transition(ctx, c, casefile.StatusGathering, ""); err != nil {
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
		if _, err := tx.enqueue(ctx, c.id, ev, fmt.Sprintf("request:%s:%s", c.ref, id),
			casefile.PostRequestJob{Case: c.ref, Agency: id}); err != nil {
			return err
		}
	}
	if err := tx.setDeadline(ctx, c.id, casefile.DeadlineAgencyReplies, due); err != nil {
		return err
	}
	return tx.cardChanged(ctx, c, ev)
}
