package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/csp/trigger/casefile"
)

// SetTopic records the channel topic the bot set.
func (s *Store) SetTopic(ctx context.Context, ref, topic string) error {
	return s.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE slack_channels SET topic = ? WHERE case_id = (SELECT id FROM cases WHERE ref = ?)`, topic, ref)
		if err != nil {
			return fmt.Errorf("set topic of %s: %w", ref, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return casefile.Errorf(casefile.ENOTFOUND, "%s has no channel yet", ref)
		}
		return nil
	})
}

// KeepEvent records an Events API event before Slack is told it arrived,
// leased for lease: the bot handles it now, and PendingEvents offers it
// again only if the lease runs out first (the bot stopped). fresh is false
// for an event recorded before (Slack's retry), which is left as it is.
func (s *Store) KeepEvent(ctx context.Context, id string, payload []byte, lease time.Duration) (fresh bool, err error) {
	if id == "" {
		return false, casefile.Errorf(casefile.EINVALID, "slack event: an event id is required")
	}
	err = s.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO slack_events (id, payload, received_at, next_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			id, string(payload), ms(tx.now), ms(tx.now.Add(lease)))
		if err != nil {
			return fmt.Errorf("keep slack event %s: %w", id, err)
		}
		n, _ := res.RowsAffected()
		fresh = n == 1
		return nil
	})
	return fresh, err
}

// PendingEvents returns up to limit events not yet done whose time has
// come, oldest first, each leased for lease so that no one else takes it
// meanwhile.
func (s *Store) PendingEvents(ctx context.Context, limit int, lease time.Duration) ([]casefile.SlackEvent, error) {
	// Asked often and mostly with nothing due: a read first, so that an
	// idle inbox takes no write lock.
	var due int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM slack_events WHERE done_at IS NULL AND next_at <= ?`, ms(s.Now())).Scan(&due); err != nil {
		return nil, fmt.Errorf("pending slack events: %w", err)
	}
	if due == 0 {
		return nil, nil
	}
	var out []casefile.SlackEvent
	err := s.update(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, payload, received_at, attempts FROM slack_events
			WHERE done_at IS NULL AND next_at <= ? ORDER BY received_at, id LIMIT ?`, ms(tx.now), limit)
		if err != nil {
			return fmt.Errorf("pending slack events: %w", err)
		}
		for rows.Next() {
			var e casefile.SlackEvent
			var payload string
			var at int64
			if err := rows.Scan(&e.ID, &payload, &at, &e.Attempts); err != nil {
				rows.Close()
				return err
			}
			e.Payload, e.ReceivedAt = []byte(payload), fromMS(at)
			out = append(out, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, e := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE slack_events SET next_at = ? WHERE id = ?`, ms(tx.now.Add(lease)), e.ID); err != nil {
				return fmt.Errorf("lease slack event %s: %w", e.ID, err)
			}
		}
		return nil
	})
	return out, err
}

// EventDone records that an event is done with (outcome "handled", or
// "gave_up" after trying too long) and empties its payload.
func (s *Store) EventDone(ctx context.Context, id, outcome string) error {
	return s.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE slack_events SET done_at = ?, outcome = ?, payload = '' WHERE id = ? AND done_at IS NULL`, ms(tx.now), outcome, id)
		if err != nil {
			return fmt.Errorf("slack event %s done: %w", id, err)
		}
		return nil
	})
}

// EventLater records a failed attempt at an event: it is offered again
// after wait.
func (s *Store) EventLater(ctx context.Context, id string, wait time.Duration) error {
	return s.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE slack_events SET attempts = attempts + 1, next_at = ? WHERE id = ? AND done_at IS NULL`, ms(tx.now.Add(wait)), id)
		if err != nil {
			return fmt.Errorf("slack event %s later: %w", id, err)
		}
		return nil
	})
}
