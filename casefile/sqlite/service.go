package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/csp/trigger/casefile"
)

// MailTokens is the refresh token of one mail sign-in (Microsoft's device
// code flow), kept in the database: it is internal/mailauth's TokenStore
// and RefreshLocker (cmd/trigger wires them; this package does not import
// the OAuth library). name tells sign-ins apart (provider, tenant, client
// id), so that a token of another app registration is never tried. The
// token is a secret: nothing here logs or returns it but Load.
type MailTokens struct {
	s    *Store
	name string

	// Lease is how long a renewal may hold the lock before another
	// process may take it (a holder that died); default 2 minutes, four
	// times the longest token request.
	Lease time.Duration
	// Poll is how often a waiting renewal looks at the lock again;
	// default 100ms.
	Poll time.Duration
}

// MailTokens returns the token store of the sign-in called name.
func (s *Store) MailTokens(name string) *MailTokens {
	return &MailTokens{s: s, name: name, Lease: 2 * time.Minute, Poll: 100 * time.Millisecond}
}

// Load returns the stored refresh token, "" when nobody has signed in.
func (m *MailTokens) Load(ctx context.Context) (string, error) {
	var rt string
	err := m.s.rdb.QueryRowContext(ctx, `SELECT refresh_token FROM mail_tokens WHERE name = ?`, m.name).Scan(&rt)
	if err = optional(err); err != nil {
		return "", fmt.Errorf("load the refresh token of sign-in %s: %w", m.name, err)
	}
	return rt, nil
}

// Save stores a new refresh token (a login, or a renewal's rotation).
func (m *MailTokens) Save(ctx context.Context, refresh string) error {
	err := m.s.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO mail_tokens (name, refresh_token, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET refresh_token = excluded.refresh_token, updated_at = excluded.updated_at`,
			m.name, refresh, ms(tx.now))
		return err
	})
	if err != nil {
		return fmt.Errorf("save the refresh token of sign-in %s: %w", m.name, err)
	}
	return nil
}

// Updated returns when the refresh token was last stored; ok is false
// when nobody has signed in.
func (m *MailTokens) Updated(ctx context.Context) (at time.Time, ok bool, err error) {
	var v sql.NullInt64
	err = m.s.rdb.QueryRowContext(ctx, `SELECT updated_at FROM mail_tokens WHERE name = ? AND refresh_token != ''`, m.name).Scan(&v)
	if err = optional(err); err != nil || !v.Valid {
		return time.Time{}, false, err
	}
	return fromMS(v.Int64), true, nil
}

// LockRefresh takes the sign-in's renewal lock, waiting while another
// process holds it, and returns its release. The lock is a lease in the
// database rather than a write transaction: the token request it covers
// goes over the network, and holding SQLite's write lock that long would
// stop the intake. A holder that dies leaves the lease to run out.
func (m *MailTokens) LockRefresh(ctx context.Context) (func(), error) {
	var b [8]byte
	rand.Read(b[:])
	holder := hex.EncodeToString(b[:])
	for {
		got := false
		err := m.s.update(ctx, func(tx *Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO mail_tokens (name, updated_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, m.name, ms(tx.now)); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `UPDATE mail_tokens SET lease_holder = ?, lease_until = ? WHERE name = ? AND (lease_holder = '' OR lease_until <= ?)`,
				holder, ms(tx.now.Add(m.Lease)), m.name, ms(tx.now))
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			got = n == 1
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("lock the refresh token of sign-in %s: %w", m.name, err)
		}
		if got {
			return func() { m.unlock(holder) }, nil
		}
		t := time.NewTimer(m.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("lock the refresh token of sign-in %s: %w", m.name, ctx.Err())
		case <-t.C:
		}
	}
}

// unlock releases the lease if it is still ours; it runs even when the
// renewal's context was cancelled.
func (m *MailTokens) unlock(holder string) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	m.s.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE mail_tokens SET lease_holder = '', lease_until = 0 WHERE name = ? AND lease_holder = ?`, m.name, holder)
		return err
	})
}

// NotifyCoordinators queues a direct message to the coordinators about the
// service (no case), once per key, with an audit event of kind: every
// message the bot posts can be traced to one. It reports whether it queued
// one (false: this key was queued before).
func (s *Store) NotifyCoordinators(ctx context.Context, key, kind, text string, details map[string]any) (bool, error) {
	queued := false
	err := s.update(ctx, func(tx *Tx) error {
		var err error
		queued, err = tx.notifyCoordinators(ctx, key, kind, text, details)
		return err
	})
	return queued, err
}

func (tx *Tx) notifyCoordinators(ctx context.Context, key, kind, text string, details map[string]any) (bool, error) {
	dedupe := "dm:" + key
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE dedupe_key = ?`, dedupe).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	ev, err := tx.event(ctx, 0, "system", kind, details)
	if err != nil {
		return false, err
	}
	return tx.enqueue(ctx, 0, ev, dedupe, casefile.DirectMessageJob{Role: casefile.RoleCoordinator, Event: ev, Text: text})
}

// BeginOutage records that part stopped working, for the reason code, and
// queues text to the coordinators, unless an outage of part is open
// already (a retry, a restart): then nothing changes. It reports whether
// it began one.
func (s *Store) BeginOutage(ctx context.Context, part, code, text string) (bool, error) {
	began := false
	err := s.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO service_outages (part, code, began_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, part, code, ms(tx.now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		began = true
		_, err = tx.notifyCoordinators(ctx, fmt.Sprintf("outage:%d:began", id), "service.outage_began", text,
			map[string]any{"outage": id, "part": part, "code": code})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("record the %s outage: %w", part, err)
	}
	return began, nil
}

// EndOutage closes part's open outage, if there is one, and queues text to
// the coordinators. It reports whether one ended.
func (s *Store) EndOutage(ctx context.Context, part, text string) (bool, error) {
	ended := false
	err := s.update(ctx, func(tx *Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM service_outages WHERE part = ? AND ended_at IS NULL`, part).Scan(&id)
		if err = optional(err); err != nil || id == 0 {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE service_outages SET ended_at = ? WHERE id = ?`, ms(tx.now), id); err != nil {
			return err
		}
		ended = true
		_, err = tx.notifyCoordinators(ctx, fmt.Sprintf("outage:%d:ended", id), "service.outage_ended", text,
			map[string]any{"outage": id, "part": part})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("record the end of the %s outage: %w", part, err)
	}
	return ended, nil
}

// OpenOutages returns the outages that have not ended, by part.
func (s *Store) OpenOutages(ctx context.Context) (map[string]casefile.Outage, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, part, code, began_at FROM service_outages WHERE ended_at IS NULL`)
	if err != nil {
		return nil, fmt.Errorf("open outages: %w", err)
	}
	defer rows.Close()
	out := map[string]casefile.Outage{}
	for rows.Next() {
		var o casefile.Outage
		var began int64
		if err := rows.Scan(&o.ID, &o.Part, &o.Code, &began); err != nil {
			return nil, fmt.Errorf("open outages: %w", err)
		}
		o.BeganAt = fromMS(began)
		out[o.Part] = o
	}
	return out, rows.Err()
}
