package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/csp/trigger/casefile"
)

// CreateCase opens a case: it allocates the next reference of the year,
// assesses the threshold, sets the first deadlines, records the audit event
// and enqueues the channel and the acknowledgement.
func (s *Store) CreateCase(ctx context.Context, nc casefile.NewCase) (*casefile.Case, error) {
	if err := nc.Actor.Permit(casefile.ActCreateCase); err != nil {
		return nil, err
	}
	if err := nc.Application.Validate(s.Config.Agencies); err != nil {
		return nil, err
	}
	if _, ok := casefile.Vias[nc.Via]; nc.Via != "" && !ok {
		return nil, casefile.Errorf(casefile.EINVALID, "via: %q is not one of phone, letter, in_person", nc.Via)
	}
	var c *casefile.Case
	err := s.update(ctx, func(tx *Tx) error {
		if nc.Key != "" {
			var ref string
			err := tx.QueryRowContext(ctx, `SELECT c.ref FROM case_keys k JOIN cases c ON c.id = k.case_id WHERE k.key = ?`, nc.Key).Scan(&ref)
			if err = optional(err); err != nil {
				return fmt.Errorf("case key: %w", err)
			}
			if ref != "" {
				c, err = tx.readCase(ctx, ref) // opened by the first of two forms: nothing more
				return err
			}
		}
		var err error
		c, err = tx.createCase(ctx, nc, intakeAck{})
		if err != nil || nc.Key == "" {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_keys (key, case_id) VALUES (?, ?)`, nc.Key, c.ID); err != nil {
			return fmt.Errorf("case key: %w", err)
		}
		return nil
	})
	return c, err
}

// intakeAck is what decides whether a case opened from an email is
// acknowledged by email at once: the address it counts against for [intake]
// acks_per_sender_hour (the sender; for a web-form system, the applicant),
// and a reason it must wait for the coordinator whatever the count ("" for
// none). Cases staff type in have neither.
type intakeAck struct {
	sender string
	hold   string
}

// createCase inserts the case and returns it as written.
func (tx *Tx) createCase(ctx context.Context, nc casefile.NewCase, ack intakeAck) (*casefile.Case, error) {
	app := nc.Application
	app.Normalise()
	if nc.ReceivedAt.IsZero() || nc.ReceivedAt.After(tx.now) {
		nc.ReceivedAt = tx.now
	}
	nc.ReceivedAt = nc.ReceivedAt.Truncate(time.Second)
	if nc.Source == "" {
		nc.Source = "staff"
	}
	year := casefile.DateOf(tx.now).Year
	var seq int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM cases WHERE year = ?`, year).Scan(&seq); err != nil {
		return nil, fmt.Errorf("allocate reference: %w", err)
	}
	ref := fmt.Sprintf("CT-%04d-%04d", year, seq)
	received := casefile.DateOf(nc.ReceivedAt)
	th := casefile.Assess(app, received, tx.s.Config.Threshold)
	appJSON, err := json.Marshal(app)
	if err != nil {
		return nil, err
	}
	reasons, _ := json.Marshal(th.Reasons)
	pref := nc.Preferences
	lang, err := casefile.ParseLanguagePref(string(pref.Language))
	if err != nil {
		return nil, err
	}
	formats, err := casefile.NormaliseFormats(pref.Formats)
	if err != nil {
		return nil, err
	}
	langSource := pref.LanguageSource
	if lang == "" {
		langSource = ""
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO cases (ref, year, seq, status, route, source, received_at, application,
		assessment, qualifying, reasons, created_at, updated_at, language, language_source, formats, intake_sender) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ref, year, seq, casefile.StatusReceived, app.Route, nc.Source, ms(nc.ReceivedAt), string(appJSON),
		th.Assessment, th.QualifyingComplaints, string(reasons), ms(tx.now), ms(tx.now), lang, langSource, strings.Join(formats, ","), ack.sender)
	if err != nil {
		return nil, fmt.Errorf("insert case %s: %w", ref, err)
	}
	id, _ := res.LastInsertId()
	ts := tx.s.Config.Timescales
	deadlines := map[string]casefile.Deadline{
		casefile.DeadlineAcknowledge:       {Due: tx.s.Cal.AddWorkingDays(received, ts.Acknowledge)},
		casefile.DeadlineThresholdDecision: {Due: tx.s.Cal.AddWorkingDays(received, ts.ThresholdDecision)},
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO deadlines (case_id, name, due_on, set_at) VALUES (?, ?, ?, ?), (?, ?, ?, ?)`,
		id, casefile.DeadlineAcknowledge, deadlines[casefile.DeadlineAcknowledge].Due.String(), ms(tx.now),
		id, casefile.DeadlineThresholdDecision, deadlines[casefile.DeadlineThresholdDecision].Due.String(), ms(tx.now)); err != nil {
		return nil, fmt.Errorf("set deadlines: %w", err)
	}
	details := map[string]any{
		"source": nc.Source, "route": app.Route, "assessment": th.Assessment,
		"qualifying_complaints": th.QualifyingComplaints, "incidents": len(app.Incidents),
	}
	if nc.Via != "" {
		details["via"] = nc.Via
	}
	if lang != "" {
		details["language"], details["language_source"] = lang, langSource
	}
	if len(formats) > 0 {
		details["accessible_format"] = formats
	}
	ev, err := tx.eventAs(ctx, id, nc.Actor, "case.created", details)
	if err != nil {
		return nil, err
	}
	if _, err := tx.enqueue(ctx, id, ev, "channel:"+ref, casefile.CreateChannelJob{Case: ref}); err != nil {
		return nil, err
	}
	if err := tx.enqueueAck(ctx, id, ev, ref, app, ack); err != nil {
		return nil, err
	}
	return &casefile.Case{
		ID: id, Ref: ref, Status: casefile.StatusReceived, ReceivedAt: nc.ReceivedAt.In(casefile.London), Source: nc.Source, Application: app,
		Threshold: casefile.Threshold{Assessment: th.Assessment, QualifyingComplaints: th.QualifyingComplaints, Reasons: th.Reasons},
		Deadlines: deadlines, Messages: []casefile.MessageSummary{}, Attachments: []casefile.AttachmentSummary{}, UpdatedAt: tx.now,
		ContactOfficer: tx.s.Config.ContactFor(""), Language: lang, LanguageSource: langSource, AccessibleFormat: formats,
		ThresholdReviews: []casefile.ThresholdReview{},
	}, nil
}

// enqueueAck queues the acknowledgement to the applicant, unless it must
// wait for the coordinator: there is no address to write to, or a no-reply
// one; the sender is not who they say (ack.hold); the sender opened more
// than [intake] acks_per_sender_hour cases in the past hour (the
// acknowledgement is not a way to send mail to anyone, many times); or the
// same address was sent one in the past hour (a resident applying twice in
// a row gets one email). Then the coordinator is asked to acknowledge the
// applicant another way and press *Acknowledged*.
func (tx *Tx) enqueueAck(ctx context.Context, caseID, ev int64, ref string, app casefile.Application, ack intakeAck) error {
	to := strings.TrimSpace(app.Applicant.Email)
	reason, err := tx.ackHeld(ctx, caseID, to, ack)
	if err != nil {
		return err
	}
	if reason != "" {
		ev, err := tx.event(ctx, caseID, "intake", "ack.skipped", map[string]any{"reason": reason})
		if err != nil {
			return err
		}
		// The acknowledgement is still owed: the coordinator is asked to
		// give it another way (post, phone) and to record that they did.
		_, err = tx.enqueue(ctx, caseID, ev, "ack-skipped:"+ref, casefile.NotifyJob{
			Case: ref, Event: ev, Coordinator: true, Prompt: "acknowledged",
			Text: "No acknowledgement was emailed for this application (" + reason + "). Please acknowledge it another way — by post or phone — and then press *Acknowledged*.",
		})
		return err
	}
	_, err = tx.enqueueTo(ctx, caseID, ev, "ack:"+ref, casefile.AckJob{Case: ref, To: to}, to)
	return err
}

// ackHeld says why an acknowledgement must wait for the coordinator, in
// words for them (never the address); "" when it may be emailed now.
func (tx *Tx) ackHeld(ctx context.Context, caseID int64, to string, ack intakeAck) (string, error) {
	switch {
	case to == "":
		return "no email address", nil
	case casefile.IsNoReply(to):
		return "no-reply address", nil
	case ack.hold != "":
		return ack.hold, nil
	}
	if ack.sender != "" {
		limit := tx.s.Config.Intake.AcksPerSenderHour
		var n int
		// "intake_sender != ''" lets SQLite use the partial index
		// cases_intake_sender: without it, every new case read them all.
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM cases WHERE intake_sender = ? AND intake_sender != '' AND created_at > ? AND id != ?`,
			ack.sender, ms(tx.now.Add(-time.Hour)), caseID).Scan(&n)
		if err != nil {
			return "", fmt.Errorf("ack rate: %w", err)
		}
		if n >= limit {
			return fmt.Sprintf("more than %d new cases came from the same sender in the past hour ([intake] acks_per_sender_hour)", limit), nil
		}
	}
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE recipient = ? AND recipient != '' AND kind = ? AND created_at > ?`,
		strings.ToLower(to), casefile.JobEmailAck, ms(tx.now.Add(-time.Hour))).Scan(&n)
	if err != nil {
		return "", fmt.Errorf("ack rate: %w", err)
	}
	if n > 0 {
		return "an acknowledgement went to the same address in the past hour", nil
	}
	return "", nil
}

func (tx *Tx) setDeadline(ctx context.Context, caseID int64, name string, due casefile.Date) error {
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
	status casefile.Status
	app    casefile.Application
	dec    sql.NullString
	// What is known of the resident: how to write to them, how involved
	// they want to be.
	lang        casefile.LanguagePref
	involvement casefile.Involvement
}

func (tx *Tx) loadCase(ctx context.Context, ref string) (*caseRow, error) {
	var c caseRow
	var app string
	err := tx.QueryRowContext(ctx, `SELECT id, ref, status, application, decision, language, involvement FROM cases WHERE ref = ?`, ref).
		Scan(&c.id, &c.ref, &c.status, &app, &c.dec, &c.lang, &c.involvement)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, casefile.Errorf(casefile.ENOTFOUND, "no case %s", ref)
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
func (tx *Tx) transition(ctx context.Context, c *caseRow, to casefile.Status, set string, args ...any) error {
	if err := casefile.CanTransition(c.status, to); err != nil {
		return casefile.Errorf(casefile.ECONFLICT, "%s is %s: it cannot become %s", c.ref, c.status, to)
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
		return casefile.Errorf(casefile.ECONFLICT, "%s changed while this was being done: try again", c.ref)
	}
	c.status = to
	return nil
}

// Decide records the coordinator's threshold decision. Accepting moves the
// case on and asks every agency named in the application for details; not
// met moves it to threshold_not_met, whose letter is drafted next. Deciding
// again the same way changes nothing and reports so; deciding the other way
// once decided is a conflict.
func (s *Store) Decide(ctx context.Context, a casefile.Actor, ref string, outcome casefile.Assessment, reason string) (casefile.Changed, error) {
	if err := a.Permit(casefile.ActDecideThreshold); err != nil {
		return false, err
	}
	by := a.Audit()
	reason = strings.TrimSpace(reason)
	switch {
	case outcome != casefile.Met && outcome != casefile.NotMet:
		return false, casefile.Errorf(casefile.EINVALID, "decision: %q is neither met nor not_met", outcome)
	case by == "":
		return false, casefile.Errorf(casefile.EINVALID, "by: who decided must be recorded")
	case outcome == casefile.NotMet && reason == "":
		return false, casefile.Errorf(casefile.EINVALID, "reason: a decision that the threshold is not met needs its reason")
	}
	changed := casefile.Changed(false)
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		if c.dec.Valid {
			if casefile.Assessment(c.dec.String) == outcome {
				return nil
			}
			return casefile.Errorf(casefile.ECONFLICT, "%s was already decided: %s", ref, c.dec.String)
		}
		to := casefile.StatusAccepted
		if outcome == casefile.NotMet {
			to = casefile.StatusThresholdNotMet
		}
		acceptedAt := any(nil)
		if outcome == casefile.Met {
			acceptedAt = ms(tx.now)
		}
		if err := tx.transition(ctx, c, to, `decision = ?, decision_reason = ?, decision_by = ?, decided_at = ?, accepted_at = ?`,
			outcome, reason, by, ms(tx.now), acceptedAt); err != nil {
			return err
		}
		ev, err := tx.eventAs(ctx, c.id, a, "threshold.decided", map[string]any{"outcome": outcome, "reason": reason})
		if err != nil {
			return err
		}
		if err := tx.closeDeadline(ctx, c.id, casefile.DeadlineThresholdDecision); err != nil {
			return err
		}
		today := casefile.DateOf(tx.now)
		ts := s.Config.Timescales
		if outcome == casefile.Met {
			if err := tx.setDeadline(ctx, c.id, casefile.DeadlineReviewMeeting, s.Cal.AddWorkingDays(today, ts.ReviewMeeting)); err != nil {
				return err
			}
			if err := tx.askAgencies(ctx, c, by, ev); err != nil {
				return err
			}
			// s.104(6): the applicant is told the threshold is met, what
			// happens next and how involved they want to be, by a letter
			// approved like the others; the case goes on meanwhile.
			if _, err := tx.draftLetter(ctx, c, casefile.LetterMet, "system"); err != nil {
				return err
			}
		} else {
			if err := tx.setDeadline(ctx, c.id, casefile.DeadlineResponse, s.Cal.AddWorkingDays(today, ts.Response)); err != nil {
				return err
			}
			if _, err := tx.draftLetter(ctx, c, casefile.LetterNotMet, "system"); err != nil {
				return err
			}
			if err := tx.transition(ctx, c, casefile.StatusAwaitingApproval, ""); err != nil {
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
	_, err := tx.enqueue(ctx, c.id, ev, fmt.Sprintf("card:%s:%d", c.ref, ev), casefile.UpdateCardJob{Case: c.ref})
	return err
}

// RecordAcknowledgement records that the applicant was acknowledged some
// other way than the automatic email (post, phone, in person).
func (s *Store) RecordAcknowledgement(ctx context.Context, a casefile.Actor, ref, how string) (casefile.Changed, error) {
	if err := a.Permit(casefile.ActRecordAcknowledgement); err != nil {
		return false, err
	}
	changed := false
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE deadlines SET done_at = ? WHERE case_id = ? AND name = ? AND done_at IS NULL`,
			ms(tx.now), c.id, casefile.DeadlineAcknowledge)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		ev, err := tx.eventAs(ctx, c.id, a, "ack.recorded", map[string]any{"how": how})
		if err != nil {
			return err
		}
		changed = true
		return tx.cardChanged(ctx, c, ev)
	})
	return changed, err
}

// Withdraw records that the applicant withdrew; the case stops.
func (s *Store) Withdraw(ctx context.Context, a casefile.Actor, ref, reason string) (casefile.Changed, error) {
	if err := a.Permit(casefile.ActWithdraw); err != nil {
		return false, err
	}
	changed := casefile.Changed(false)
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		if c.status == casefile.StatusWithdrawn {
			return nil
		}
		if err := tx.transition(ctx, c, casefile.StatusWithdrawn, `closed_at = ?`, ms(tx.now)); err != nil {
			return err
		}
		ev, err := tx.eventAs(ctx, c.id, a, "case.withdrawn", map[string]any{"reason": reason})
		if err != nil {
			return err
		}
		if err := tx.closure(ctx, c, ev, casefile.ClosedWithdrawn); err != nil {
			return err
		}
		changed = true
		return tx.cardChanged(ctx, c, ev)
	})
	return changed, err
}
