package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/csp/trigger/casefile"
)

// DueReminders lists the reminders that RunReminders would queue now:
// none outside working hours, none already queued.
func (s *Store) DueReminders(ctx context.Context) ([]casefile.Reminder, error) {
	var out []casefile.Reminder
	err := s.view(ctx, func(tx *Tx) error {
		rs, err := tx.dueReminders(ctx)
		for _, r := range rs {
			if !r.drop {
				out = append(out, r.Reminder)
			}
		}
		return err
	})
	return out, err
}

// RunReminders queues the reminders that are due, each with an audit event
// and an outbox job whose dedupe key makes it once-only, across restarts
// and concurrent schedulers. It returns how many it queued.
func (s *Store) RunReminders(ctx context.Context) (int, error) {
	if !s.Cal.InWorkingHours(s.Now()) {
		return 0, nil // no write transaction every few minutes all night
	}
	n := 0
	err := s.update(ctx, func(tx *Tx) error {
		n = 0
		rs, err := tx.dueReminders(ctx)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.snoozeKey != "" {
				if _, err := tx.ExecContext(ctx, `UPDATE reminder_snoozes SET done_at = ? WHERE reminder_key = ? AND done_at IS NULL`,
					ms(tx.now), r.snoozeKey); err != nil {
					return fmt.Errorf("end snooze: %w", err)
				}
			}
			if r.drop {
				continue
			}
			added, err := tx.queueReminder(ctx, r)
			if err != nil {
				return err
			}
			if added {
				n++
			}
		}
		return nil
	})
	return n, err
}

func (tx *Tx) queueReminder(ctx context.Context, r dueReminder) (bool, error) {
	if r.Stage == casefile.StageDigest && r.caseID == 0 {
		refs := make([]string, 0, len(r.cases))
		for _, c := range r.cases {
			refs = append(refs, c.Ref)
		}
		ev, err := tx.event(ctx, 0, "reminders", "reminder.digest", map[string]any{"reminder": r.Key, "overdue": len(r.Overdue), "cases": refs})
		if err != nil {
			return false, err
		}
		return tx.enqueue(ctx, 0, ev, r.Key, casefile.DigestJob{Day: casefile.DateOf(tx.now), Event: ev, Cases: r.cases})
	}
	if r.Stage == casefile.StageDigest {
		ev, err := tx.event(ctx, r.caseID, "reminders", "reminder.digest", map[string]any{"reminder": r.Key, "overdue": len(r.Overdue)})
		if err != nil {
			return false, err
		}
		return tx.enqueue(ctx, r.caseID, ev, r.Key, casefile.NotifyJob{
			Case: r.CaseRef, Event: ev, Coordinator: true, Key: "digest-" + casefile.DateOf(tx.now).String(),
			Text: casefile.DigestText(r.CaseRef, casefile.DateOf(tx.now), r.Overdue, tx.s.Config),
		})
	}
	ev, err := tx.event(ctx, r.caseID, "reminders", "reminder.queued", map[string]any{
		"reminder": r.Key, "agency": r.Agency, "stage": r.Stage, "due": r.Due.String(), "snoozed": r.Snoozed,
	})
	if err != nil {
		return false, err
	}
	added, err := tx.enqueue(ctx, r.caseID, ev, r.Key, casefile.ReminderJob{Reminder: r.Reminder, Event: ev})
	if err != nil || !added {
		return added, err
	}
	// An agency asked by email (no officer in Slack) is reminded by email
	// too: nobody of theirs reads the thread.
	var byEmail bool
	if err := tx.QueryRowContext(ctx, `SELECT by_email FROM info_requests WHERE case_id = ? AND agency = ?`, r.caseID, r.Agency).Scan(&byEmail); err != nil {
		return false, fmt.Errorf("reminder: request: %w", err)
	}
	if a, ok := tx.s.Config.Agency(r.Agency); byEmail && ok && a.Email != "" {
		if _, err := tx.enqueueTo(ctx, r.caseID, ev, r.Key+":email",
			casefile.AgencyEmailJob{Case: r.CaseRef, Agency: r.Agency, Stage: r.Stage}, a.Email); err != nil {
			return false, err
		}
	}
	return true, nil
}

// openForReplies are the statuses in which agencies' replies are still
// wanted, so reminded.
const openForReplies = `('gathering', 'meeting')`

// dueReminder is a reminder with what the store needs to queue it.
type dueReminder struct {
	casefile.Reminder
	caseID    int64
	snoozeKey string // the snooze this reminder ends
	drop      bool   // the snooze is no longer needed: end it, send nothing
	// cases, for the one digest of every case in [slack] digest_channel,
	// are its cases and what is overdue on each.
	cases []casefile.DigestCase
}

func (tx *Tx) dueReminders(ctx context.Context) ([]dueReminder, error) {
	cal := tx.s.Cal
	if !cal.InWorkingHours(tx.now) {
		return nil, nil
	}
	today := casefile.DateOf(tx.now)
	var cands []dueReminder
	stageOf := map[string]string{} // case|agency → today's stage

	// Agencies that have not replied.
	rows, err := tx.QueryContext(ctx, `SELECT c.id, c.ref, r.agency, r.due_on, r.requested_at
		FROM info_requests r JOIN cases c ON c.id = r.case_id
		WHERE r.replied_at IS NULL AND r.message_ts != '' AND c.purged_at IS NULL AND c.status IN `+openForReplies+`
		ORDER BY c.id, r.id`)
	if err != nil {
		return nil, fmt.Errorf("reminders: requests: %w", err)
	}
	for rows.Next() {
		var r dueReminder
		var due string
		var requested int64
		if err := rows.Scan(&r.caseID, &r.CaseRef, &r.Agency, &due, &requested); err != nil {
			rows.Close()
			return nil, err
		}
		r.Due, _ = casefile.ParseDate(due)
		r.Stage = casefile.ReminderStage(cal, today, casefile.DateOf(fromMS(requested)), r.Due)
		stageOf[r.CaseRef+"|"+r.Agency] = r.Stage
		if r.Stage == "" {
			continue
		}
		r.Key = casefile.ReminderKey(r.CaseRef, r.Agency, r.Stage)
		r.Coordinator = r.Stage == casefile.StageOverdue
		cands = append(cands, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	// Snoozed reminders whose day has come. One superseded by a later
	// stage (a snoozed "due" on the day the agency is overdue), or no longer
	// needed (the agency replied), ends without a message.
	rows, err = tx.QueryContext(ctx, `SELECT s.reminder_key, s.case_id, c.ref, s.agency, s.stage, s.until_on, COALESCE(r.due_on, ''),
		r.replied_at IS NULL AND r.id IS NOT NULL AND c.purged_at IS NULL AND c.status IN `+openForReplies+`
		FROM reminder_snoozes s JOIN cases c ON c.id = s.case_id
		LEFT JOIN info_requests r ON r.case_id = s.case_id AND r.agency = s.agency
		WHERE s.done_at IS NULL AND s.until_on <= ? ORDER BY s.snoozed_at, s.reminder_key`, today.String())
	if err != nil {
		return nil, fmt.Errorf("reminders: snoozes: %w", err)
	}
	for rows.Next() {
		var r dueReminder
		var until, due string
		var open bool
		if err := rows.Scan(&r.snoozeKey, &r.caseID, &r.CaseRef, &r.Agency, &r.Stage, &until, &due, &open); err != nil {
			rows.Close()
			return nil, err
		}
		r.Due, _ = casefile.ParseDate(due)
		r.Key = r.snoozeKey + ":snoozed:" + until
		r.Snoozed = true
		r.Coordinator = r.Stage == casefile.StageOverdue
		r.drop = !open || stageOf[r.CaseRef+"|"+r.Agency] != r.Stage
		cands = append(cands, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	digests, err := tx.digests(ctx, today)
	if err != nil {
		return nil, err
	}
	cands = append(cands, digests...)

	var out []dueReminder
	for _, r := range cands {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE dedupe_key = ?`, r.Key).Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			if r.snoozeKey == "" {
				continue
			}
			r.drop = true // queued already; the snooze just ends
		}
		out = append(out, r)
	}
	return out, nil
}

// digests are the coordinator's daily digests: for each open case with
// something overdue (overdueByCase), one a working day in its channel; or,
// with [slack] digest_channel set, one a working day for every case, in
// that channel.
func (tx *Tx) digests(ctx context.Context, today casefile.Date) ([]dueReminder, error) {
	overdue, err := tx.overdueByCase(ctx, today)
	if err != nil || len(overdue) == 0 {
		return nil, err
	}
	if tx.s.Config.Slack.DigestChannel != "" {
		r := dueReminder{Reminder: casefile.Reminder{Stage: casefile.StageDigest, Key: "digest:" + today.String(), Coordinator: true}}
		for _, o := range overdue {
			r.cases = append(r.cases, casefile.DigestCase{Ref: o.ref, Overdue: o.items})
			r.Overdue = append(r.Overdue, o.items...)
		}
		return []dueReminder{r}, nil
	}
	out := make([]dueReminder, 0, len(overdue))
	for _, o := range overdue {
		out = append(out, dueReminder{caseID: o.id, Reminder: casefile.Reminder{
			CaseRef: o.ref, Stage: casefile.StageDigest, Key: "digest:" + o.ref + ":" + today.String(), Coordinator: true, Overdue: o.items,
		}})
	}
	return out, nil
}

// ReminderByKey returns the agency reminder queued under key.
func (s *Store) ReminderByKey(ctx context.Context, key string) (casefile.Reminder, error) {
	var r casefile.Reminder
	err := s.view(ctx, func(tx *Tx) error {
		var err error
		d, err := tx.reminderByKey(ctx, key)
		r = d.Reminder
		return err
	})
	return r, err
}

func (tx *Tx) reminderByKey(ctx context.Context, key string) (dueReminder, error) {
	var r dueReminder
	var payload string
	err := tx.QueryRowContext(ctx, `SELECT o.case_id, c.ref, o.payload FROM outbox o JOIN cases c ON c.id = o.case_id
		WHERE o.dedupe_key = ? AND o.kind = ?`, key, casefile.JobSlackReminder).Scan(&r.caseID, &r.CaseRef, &payload)
	if errors.Is(err, sql.ErrNoRows) {
		return r, casefile.Errorf(casefile.ENOTFOUND, "no reminder %s", key)
	}
	if err != nil {
		return r, fmt.Errorf("reminder %s: %w", key, err)
	}
	p, err := casefile.PayloadOf[casefile.ReminderJob](casefile.Job{Payload: []byte(payload), Kind: casefile.JobSlackReminder})
	if err != nil {
		return r, err
	}
	r.Reminder = p.Reminder
	r.CaseRef = strings.TrimSpace(r.CaseRef)
	return r, nil
}

// SnoozeReminder snoozes an agency's reminder until the next working day,
// when it comes back unless the agency has replied or a later reminder
// takes its place. Snoozing again changes nothing and says until when.
func (s *Store) SnoozeReminder(ctx context.Context, a casefile.Actor, key string) (until casefile.Date, changed casefile.Changed, err error) {
	by := a.Audit()
	if by == "" {
		return casefile.Date{}, false, casefile.Errorf(casefile.EINVALID, "by: who snoozed must be recorded")
	}
	err = s.update(ctx, func(tx *Tx) error {
		r, err := tx.reminderByKey(ctx, key)
		if err != nil {
			return err
		}
		if err := a.PermitAnswer(r.Agency, casefile.AgencyName(s.Config, r.Agency)); err != nil {
			return err
		}
		var have string
		err = tx.QueryRowContext(ctx, `SELECT until_on FROM reminder_snoozes WHERE reminder_key = ?`, key).Scan(&have)
		if err == nil {
			until = d(have)
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var status casefile.Status
		var replied sql.NullInt64
		err = tx.QueryRowContext(ctx, `SELECT c.status, r.replied_at FROM info_requests r JOIN cases c ON c.id = r.case_id
			WHERE r.case_id = ? AND r.agency = ?`, r.caseID, r.Agency).Scan(&status, &replied)
		if errors.Is(err, sql.ErrNoRows) {
			return casefile.Errorf(casefile.ENOTFOUND, "%s has no request to %s", r.CaseRef, r.Agency)
		}
		if err != nil {
			return err
		}
		if replied.Valid {
			return casefile.Errorf(casefile.ECONFLICT, "%s has replied on %s already: there is nothing to snooze", casefile.AgencyName(s.Config, r.Agency), r.CaseRef)
		}
		if status != casefile.StatusGathering && status != casefile.StatusMeeting {
			return casefile.Errorf(casefile.ECONFLICT, "%s is %s: it is not waiting for replies", r.CaseRef, status)
		}
		until = s.Cal.AddWorkingDays(casefile.DateOf(tx.now), 1)
		if _, err := tx.ExecContext(ctx, `INSERT INTO reminder_snoozes (reminder_key, case_id, agency, stage, until_on, snoozed_by, snoozed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, key, r.caseID, r.Agency, r.Stage, until.String(), by, ms(tx.now)); err != nil {
			return fmt.Errorf("snooze %s: %w", key, err)
		}
		if _, err := tx.eventAs(ctx, r.caseID, a, "reminder.snoozed", map[string]any{
			"reminder": key, "agency": r.Agency, "stage": r.Stage, "until": until.String(),
		}); err != nil {
			return err
		}
		changed = true
		return nil
	})
	return until, changed, err
}
