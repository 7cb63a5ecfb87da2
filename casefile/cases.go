package casefile

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// RefRE matches a case reference.
var RefRE = regexp.MustCompile(`\bCT-(\d{4})-(\d{4,})\b`)

// NewCase is an application to open a case for.
type NewCase struct {
	Application Application
	ReceivedAt  time.Time // zero means now
	Source      string    // email, staff
	Actor       string    // who or what opened it: "intake", or the staff member
}

// CreateCase opens a case: it allocates the next reference of the year,
// assesses the threshold, sets the first deadlines, records the audit event
// and enqueues the channel and the acknowledgement.
func (s *Store) CreateCase(ctx context.Context, nc NewCase) (*Case, error) {
	if err := nc.Application.Validate(s.Config.Agencies); err != nil {
		return nil, err
	}
	var c *Case
	err := s.update(ctx, func(tx *Tx) error {
		var err error
		c, err = tx.createCase(ctx, nc)
		return err
	})
	return c, err
}

// createCase inserts the case and returns it as written.
func (tx *Tx) createCase(ctx context.Context, nc NewCase) (*Case, error) {
	app := nc.Application
	app.normalise()
	if nc.ReceivedAt.IsZero() || nc.ReceivedAt.After(tx.now) {
		nc.ReceivedAt = tx.now
	}
	nc.ReceivedAt = nc.ReceivedAt.Truncate(time.Second)
	if nc.Source == "" {
		nc.Source = "staff"
	}
	year := DateOf(tx.now).Year
	var seq int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM cases WHERE year = ?`, year).Scan(&seq); err != nil {
		return nil, fmt.Errorf("allocate reference: %w", err)
	}
	ref := fmt.Sprintf("CT-%04d-%04d", year, seq)
	received := DateOf(nc.ReceivedAt)
	th := Assess(app, received, tx.s.Config.Threshold)
	appJSON, err := json.Marshal(app)
	if err != nil {
		return nil, err
	}
	reasons, _ := json.Marshal(th.Reasons)
	res, err := tx.ExecContext(ctx, `INSERT INTO cases (ref, year, seq, status, route, source, received_at, application,
		assessment, qualifying, reasons, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ref, year, seq, StatusReceived, app.Route, nc.Source, ms(nc.ReceivedAt), string(appJSON),
		th.Assessment, th.QualifyingComplaints, string(reasons), ms(tx.now), ms(tx.now))
	if err != nil {
		return nil, fmt.Errorf("insert case %s: %w", ref, err)
	}
	id, _ := res.LastInsertId()
	ts := tx.s.Config.Timescales
	deadlines := map[string]Deadline{
		DeadlineAcknowledge:       {Due: tx.s.Cal.AddWorkingDays(received, ts.Acknowledge)},
		DeadlineThresholdDecision: {Due: tx.s.Cal.AddWorkingDays(received, ts.ThresholdDecision)},
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO deadlines (case_id, name, due_on, set_at) VALUES (?, ?, ?, ?), (?, ?, ?, ?)`,
		id, DeadlineAcknowledge, deadlines[DeadlineAcknowledge].Due.String(), ms(tx.now),
		id, DeadlineThresholdDecision, deadlines[DeadlineThresholdDecision].Due.String(), ms(tx.now)); err != nil {
		return nil, fmt.Errorf("set deadlines: %w", err)
	}
	ev, err := tx.event(ctx, id, nc.Actor, "case.created", map[string]any{
		"source": nc.Source, "route": app.Route, "assessment": th.Assessment,
		"qualifying_complaints": th.QualifyingComplaints, "incidents": len(app.Incidents),
	})
	if err != nil {
		return nil, err
	}
	if _, err := tx.enqueue(ctx, id, ev, JobSlackCreateChannel, "channel:"+ref, map[string]any{"case": ref}); err != nil {
		return nil, err
	}
	if err := tx.enqueueAck(ctx, id, ev, ref, app); err != nil {
		return nil, err
	}
	return &Case{
		ID: id, Ref: ref, Status: StatusReceived, ReceivedAt: nc.ReceivedAt.In(London), Source: nc.Source, Application: app,
		Threshold: Threshold{Assessment: th.Assessment, QualifyingComplaints: th.QualifyingComplaints, Reasons: th.Reasons},
		Deadlines: deadlines, Messages: []MessageSummary{}, Attachments: []AttachmentSummary{}, UpdatedAt: tx.now,
	}, nil
}

var noReplyRE = regexp.MustCompile(`(?i)^(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer-daemon|postmaster|bounces?|notifications?)([+.\-_].*)?@`)

// IsNoReply reports whether an address is one nobody reads: a form system's
// no-reply sender, a mailer daemon.
func IsNoReply(addr string) bool { return noReplyRE.MatchString(strings.TrimSpace(addr)) }

// enqueueAck queues the acknowledgement to the applicant, unless there is no
// address to write to, it is a no-reply one, or the same address was sent
// one in the past hour (a resident applying twice in a row gets one email).
func (tx *Tx) enqueueAck(ctx context.Context, caseID, ev int64, ref string, app Application) error {
	to := strings.TrimSpace(app.Applicant.Email)
	reason := ""
	switch {
	case to == "":
		reason = "no email address"
	case IsNoReply(to):
		reason = "no-reply address"
	default:
		var n int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE recipient = ? AND recipient != '' AND kind = ? AND created_at > ?`,
			strings.ToLower(to), JobEmailAck, ms(tx.now.Add(-time.Hour))).Scan(&n)
		if err != nil {
			return fmt.Errorf("ack rate: %w", err)
		}
		if n > 0 {
			reason = "an acknowledgement went to the same address in the past hour"
		}
	}
	if reason != "" {
		ev, err := tx.event(ctx, caseID, "intake", "ack.skipped", map[string]any{"reason": reason})
		if err != nil {
			return err
		}
		// The acknowledgement is still owed: the coordinator is asked to
		// give it another way (post, phone) and to record that they did.
		_, err = tx.enqueue(ctx, caseID, ev, JobSlackNotify, "ack-skipped:"+ref, map[string]any{
			"case": ref, "event": ev, "coordinator": true, "prompt": "acknowledged",
			"text": "No acknowledgement was emailed for this application (" + reason + "). Please acknowledge it another way — by post or phone — and then press *Acknowledged*.",
		})
		return err
	}
	_, err := tx.enqueueTo(ctx, caseID, ev, JobEmailAck, "ack:"+ref, map[string]any{"case": ref, "to": to}, tx.now, to)
	return err
}

func (tx *Tx) setDeadline(ctx context.Context, caseID int64, name string, due Date) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO deadlines (case_id, name, due_on, set_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (case_id, name) DO UPDATE SET due_on = excluded.due_on, set_at = excluded.set_at, done_at = NULL`,
		caseID, name, due.String(), ms(tx.now))
	if err != nil {
		return fmt.Errorf("set deadline %s: %w", name, err)
	}
	return nil
}

func (tx *Tx) closeDeadline(ctx context.Context, caseID int64, name string) error {
	_, err := tx.ExecContext(ctx, `UPDATE deadlines SET done_at = ? WHERE case_id = ? AND name = ? AND done_at IS NULL`,
		ms(tx.now), caseID, name)
	if err != nil {
		return fmt.Errorf("close deadline %s: %w", name, err)
	}
	return nil
}

// caseRow is the part of a case a command needs to decide what to do.
type caseRow struct {
	id     int64
	ref    string
	status Status
	app    Application
	dec    sql.NullString
}

func (tx *Tx) loadCase(ctx context.Context, ref string) (*caseRow, error) {
	var c caseRow
	var app string
	err := tx.QueryRowContext(ctx, `SELECT id, ref, status, application, decision FROM cases WHERE ref = ?`, ref).
		Scan(&c.id, &c.ref, &c.status, &app, &c.dec)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(ENOTFOUND, "no case %s", ref)
	}
	if err != nil {
		return nil, fmt.Errorf("load case %s: %w", ref, err)
	}
	if err := json.Unmarshal([]byte(app), &c.app); err != nil {
		return nil, fmt.Errorf("case %s: application: %w", ref, err)
	}
	return &c, nil
}

// transition moves a case from one status to another with a conditional
// update, so that of two commands racing only one moves it. It returns
// ECONFLICT when the case is not in from any more.
func (tx *Tx) transition(ctx context.Context, c *caseRow, to Status, set string, args ...any) error {
	if err := CanTransition(c.status, to); err != nil {
		return Errorf(ECONFLICT, "%s is %s: it cannot become %s", c.ref, c.status, to)
	}
	q := `UPDATE cases SET status = ?, updated_at = ?`
	if set != "" {
		q += ", " + set
	}
	q += ` WHERE id = ? AND status = ?`
	all := append([]any{to, ms(tx.now)}, args...)
	all = append(all, c.id, c.status)
	res, err := tx.ExecContext(ctx, q, all...)
	if err != nil {
		return fmt.Errorf("%s: %s → %s: %w", c.ref, c.status, to, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return Errorf(ECONFLICT, "%s changed while this was being done: try again", c.ref)
	}
	c.status = to
	return nil
}

// Changed tells a caller whether a command changed anything, or found it
// already done (a second click, a retry).
type Changed = bool

// Decide records the coordinator's threshold decision. Accepting moves the
// case on and asks every agency named in the application for details; not
// met moves it to threshold_not_met, whose letter is drafted next. Deciding
// again the same way changes nothing and reports so; deciding the other way
// once decided is a conflict.
func (s *Store) Decide(ctx context.Context, ref string, outcome Assessment, reason, by string) (Changed, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case outcome != Met && outcome != NotMet:
		return false, Errorf(EINVALID, "decision: %q is neither met nor not_met", outcome)
	case by == "":
		return false, Errorf(EINVALID, "by: who decided must be recorded")
	case outcome == NotMet && reason == "":
		return false, Errorf(EINVALID, "reason: a decision that the threshold is not met needs its reason")
	}
	changed := Changed(false)
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		if c.dec.Valid {
			if Assessment(c.dec.String) == outcome {
				return nil
			}
			return Errorf(ECONFLICT, "%s was already decided: %s", ref, c.dec.String)
		}
		to := StatusAccepted
		if outcome == NotMet {
			to = StatusThresholdNotMet
		}
		acceptedAt := any(nil)
		if outcome == Met {
			acceptedAt = ms(tx.now)
		}
		if err := tx.transition(ctx, c, to, `decision = ?, decision_reason = ?, decision_by = ?, decided_at = ?, accepted_at = ?`,
			outcome, reason, by, ms(tx.now), acceptedAt); err != nil {
			return err
		}
		ev, err := tx.event(ctx, c.id, by, "threshold.decided", map[string]any{"outcome": outcome, "reason": reason})
		if err != nil {
			return err
		}
		if err := tx.closeDeadline(ctx, c.id, DeadlineThresholdDecision); err != nil {
			return err
		}
		today := DateOf(tx.now)
		ts := s.Config.Timescales
		if outcome == Met {
			if err := tx.setDeadline(ctx, c.id, DeadlineReviewMeeting, s.Cal.AddWorkingDays(today, ts.ReviewMeeting)); err != nil {
				return err
			}
			if err := tx.askAgencies(ctx, c, by, ev); err != nil {
				return err
			}
		} else {
			if err := tx.setDeadline(ctx, c.id, DeadlineResponse, s.Cal.AddWorkingDays(today, ts.Response)); err != nil {
				return err
			}
			if _, err := tx.draftLetter(ctx, c, LetterNotMet, "system"); err != nil {
				return err
			}
			if err := tx.transition(ctx, c, StatusAwaitingApproval, ""); err != nil {
				return err
			}
			if err := tx.cardChanged(ctx, c, ev); err != nil {
				return err
			}
		}
		changed = true
		return nil
	})
	return changed, err
}

// cardChanged queues the update of the case card after an event.
func (tx *Tx) cardChanged(ctx context.Context, c *caseRow, ev int64) error {
	_, err := tx.enqueue(ctx, c.id, ev, JobSlackUpdateCard, fmt.Sprintf("card:%s:%d", c.ref, ev), map[string]any{"case": c.ref})
	return err
}

// RecordAcknowledgement records that the applicant was acknowledged some
// other way than the automatic email (post, phone, in person).
func (s *Store) RecordAcknowledgement(ctx context.Context, ref, how, by string) (Changed, error) {
	changed := false
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE deadlines SET done_at = ? WHERE case_id = ? AND name = ? AND done_at IS NULL`,
			ms(tx.now), c.id, DeadlineAcknowledge)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		ev, err := tx.event(ctx, c.id, by, "ack.recorded", map[string]any{"how": how})
		if err != nil {
			return err
		}
		changed = true
		return tx.cardChanged(ctx, c, ev)
	})
	return changed, err
}

// Withdraw records that the applicant withdrew; the case stops.
func (s *Store) Withdraw(ctx context.Context, ref, reason, by string) (Changed, error) {
	changed := Changed(false)
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		if c.status == StatusWithdrawn {
			return nil
		}
		if err := tx.transition(ctx, c, StatusWithdrawn, `closed_at = ?`, ms(tx.now)); err != nil {
			return err
		}
		ev, err := tx.event(ctx, c.id, by, "case.withdrawn", map[string]any{"reason": reason})
		if err != nil {
			return err
		}
		changed = true
		return tx.cardChanged(ctx, c, ev)
	})
	return changed, err
}
