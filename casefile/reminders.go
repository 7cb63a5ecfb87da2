package casefile

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Working hours, in London: reminders are queued only between WorkdayStart
// and WorkdayEnd on a working day.
const (
	WorkdayStart = 9  // 09:00
	WorkdayEnd   = 17 // 17:00
	// ReminderLead is how many working days before its deadline an agency
	// is first reminded.
	ReminderLead = 2
)

// Reminder stages. An agency that has not replied is reminded ReminderLead
// working days before its deadline, on the day, and once when it is overdue
// (the coordinator too); the coordinator gets a daily digest of what is
// overdue on each case.
const (
	StageBefore  = "before2"
	StageDue     = "due"
	StageOverdue = "overdue"
	StageDigest  = "digest"
)

// InWorkingHours reports whether t is in working hours: 09:00 to 17:00,
// London time, on a working day (Monday to Friday, not a bank holiday or an
// extra closure day).
func (c *Calendar) InWorkingHours(t time.Time) bool {
	t = t.In(London)
	return c.IsWorkingDay(DateOf(t)) && t.Hour() >= WorkdayStart && t.Hour() < WorkdayEnd
}

// NextWorkingHours returns t when it is in working hours, else the moment
// working hours next begin.
func (c *Calendar) NextWorkingHours(t time.Time) time.Time {
	t = t.In(London)
	if c.InWorkingHours(t) {
		return t
	}
	d := DateOf(t)
	if !c.IsWorkingDay(d) || t.Hour() >= WorkdayEnd {
		d = c.AddWorkingDays(d, 1)
	}
	return time.Date(d.Year, d.Month, d.Day, WorkdayStart, 0, 0, 0, London)
}

// Reminder is one reminder the scheduler queues: to an agency in its
// request's thread, or the coordinator's daily digest of a case.
type Reminder struct {
	// Key is the outbox dedupe key: the same reminder is never queued twice.
	Key     string `json:"key"`
	CaseRef string `json:"case"`
	Agency  string `json:"agency,omitempty"` // "" for a digest
	Stage   string `json:"stage"`
	Due     Date   `json:"due"`
	// Snoozed marks a reminder coming back after someone snoozed it.
	Snoozed bool `json:"snoozed,omitempty"`
	// Coordinator is set when the coordinator is told too.
	Coordinator bool `json:"coordinator"`
	// Overdue lists, for a digest, what is overdue on the case.
	Overdue []OverdueItem `json:"overdue,omitempty"`

	caseID    int64
	snoozeKey string // the snooze this reminder ends
	drop      bool   // the snooze is no longer needed: end it, send nothing
}

// OverdueItem is one overdue deadline in a digest: a case deadline, or one
// agency's reply.
type OverdueItem struct {
	Deadline    string `json:"deadline"`         // a Deadline* name
	Agency      string `json:"agency,omitempty"` // for agency_replies: whose reply
	Due         Date   `json:"due"`
	WorkingDays int    `json:"working_days_overdue"`
}

// ReminderKey is the dedupe key of an agency's reminder.
func ReminderKey(ref, agency, stage string) string {
	return "reminder:" + ref + ":" + agency + ":" + stage
}

// reminderStage says which reminder a request not yet answered is due for
// today, or "" for none. Nothing is sent on the day of the request itself.
func reminderStage(cal *Calendar, today, requested, due Date) string {
	switch {
	case today.After(due):
		return StageOverdue
	case today == due:
		return StageDue
	case !today.After(requested):
		return ""
	case cal.WorkingDaysBetween(today, due) <= ReminderLead:
		return StageBefore
	}
	return ""
}

// DueReminders lists the reminders that RunReminders would queue now:
// none outside working hours, none already queued.
func (s *Store) DueReminders(ctx context.Context) ([]Reminder, error) {
	var out []Reminder
	err := s.view(ctx, func(tx *Tx) error {
		rs, err := tx.dueReminders(ctx)
		for _, r := range rs {
			if !r.drop {
				out = append(out, r)
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

func (tx *Tx) queueReminder(ctx context.Context, r Reminder) (bool, error) {
	if r.Stage == StageDigest {
		ev, err := tx.event(ctx, r.caseID, "reminders", "reminder.digest", map[string]any{"reminder": r.Key, "overdue": len(r.Overdue)})
		if err != nil {
			return false, err
		}
		return tx.enqueue(ctx, r.caseID, ev, JobSlackNotify, r.Key, map[string]any{
			"case": r.CaseRef, "event": ev, "coordinator": true, "key": "digest-" + DateOf(tx.now).String(),
			"text": DigestText(r.CaseRef, DateOf(tx.now), r.Overdue, tx.s.Config),
		})
	}
	ev, err := tx.event(ctx, r.caseID, "reminders", "reminder.queued", map[string]any{
		"reminder": r.Key, "agency": r.Agency, "stage": r.Stage, "due": r.Due.String(), "snoozed": r.Snoozed,
	})
	if err != nil {
		return false, err
	}
	added, err := tx.enqueue(ctx, r.caseID, ev, JobSlackReminder, r.Key, map[string]any{
		"case": r.CaseRef, "event": ev, "agency": r.Agency, "stage": r.Stage, "due": r.Due, "key": r.Key,
		"coordinator": r.Coordinator, "snoozed": r.Snoozed,
	})
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
		if _, err := tx.enqueueTo(ctx, r.caseID, ev, JobEmailAgency, r.Key+":email",
			map[string]any{"case": r.CaseRef, "agency": r.Agency, "stage": r.Stage}, tx.now, a.Email); err != nil {
			return false, err
		}
	}
	return true, nil
}

// openForReplies are the statuses in which agencies' replies are still
// wanted, so reminded.
const openForReplies = `('gathering', 'meeting')`

func (tx *Tx) dueReminders(ctx context.Context) ([]Reminder, error) {
	cal := tx.s.Cal
	if !cal.InWorkingHours(tx.now) {
		return nil, nil
	}
	today := DateOf(tx.now)
	var cands []Reminder
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
		var r Reminder
		var due string
		var requested int64
		if err := rows.Scan(&r.caseID, &r.CaseRef, &r.Agency, &due, &requested); err != nil {
			rows.Close()
			return nil, err
		}
		r.Due, _ = ParseDate(due)
		r.Stage = reminderStage(cal, today, DateOf(fromMS(requested)), r.Due)
		stageOf[r.CaseRef+"|"+r.Agency] = r.Stage
		if r.Stage == "" {
			continue
		}
		r.Key = ReminderKey(r.CaseRef, r.Agency, r.Stage)
		r.Coordinator = r.Stage == StageOverdue
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
		var r Reminder
		var until, due string
		var open bool
		if err := rows.Scan(&r.snoozeKey, &r.caseID, &r.CaseRef, &r.Agency, &r.Stage, &until, &due, &open); err != nil {
			rows.Close()
			return nil, err
		}
		r.Due, _ = ParseDate(due)
		r.Key = r.snoozeKey + ":snoozed:" + until
		r.Snoozed = true
		r.Coordinator = r.Stage == StageOverdue
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

	var out []Reminder
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
// something overdue, one a working day. The deadline for asking a further
// review is the applicant's, not the partnership's: never listed.
func (tx *Tx) digests(ctx context.Context, today Date) ([]Reminder, error) {
	cal := tx.s.Cal
	byCase := map[int64]*Reminder{}
	var order []int64
	add := func(id int64, ref string, it OverdueItem) {
		r, ok := byCase[id]
		if !ok {
			r = &Reminder{caseID: id, CaseRef: ref, Stage: StageDigest, Key: "digest:" + ref + ":" + today.String(), Coordinator: true}
			byCase[id] = r
			order = append(order, id)
		}
		it.WorkingDays = cal.WorkingDaysBetween(it.Due, today)
		r.Overdue = append(r.Overdue, it)
	}
	rows, err := tx.QueryContext(ctx, `SELECT c.id, c.ref, d.name, d.due_on FROM deadlines d JOIN cases c ON c.id = d.case_id
		WHERE d.done_at IS NULL AND d.due_on < ? AND d.name NOT IN (?, ?) AND c.purged_at IS NULL
		AND c.status NOT IN ('closed', 'withdrawn') ORDER BY c.id, d.due_on, d.name`,
		today.String(), DeadlineFurtherReview, DeadlineAgencyReplies)
	if err != nil {
		return nil, fmt.Errorf("reminders: deadlines: %w", err)
	}
	for rows.Next() {
		var id int64
		var ref, name, due string
		if err := rows.Scan(&id, &ref, &name, &due); err != nil {
			rows.Close()
			return nil, err
		}
		add(id, ref, OverdueItem{Deadline: name, Due: d(due)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// The deadline for replies is listed agency by agency.
	rows, err = tx.QueryContext(ctx, `SELECT c.id, c.ref, r.agency, r.due_on FROM info_requests r JOIN cases c ON c.id = r.case_id
		WHERE r.replied_at IS NULL AND r.due_on < ? AND c.purged_at IS NULL AND c.status IN `+openForReplies+`
		ORDER BY c.id, r.id`, today.String())
	if err != nil {
		return nil, fmt.Errorf("reminders: overdue requests: %w", err)
	}
	for rows.Next() {
		var id int64
		var ref, agency, due string
		if err := rows.Scan(&id, &ref, &agency, &due); err != nil {
			rows.Close()
			return nil, err
		}
		add(id, ref, OverdueItem{Deadline: DeadlineAgencyReplies, Agency: agency, Due: d(due)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Reminder, 0, len(order))
	for _, id := range order {
		out = append(out, *byCase[id])
	}
	return out, nil
}

var deadlineWords = map[string]string{
	DeadlineAcknowledge:       "acknowledgement to the applicant",
	DeadlineThresholdDecision: "threshold decision",
	DeadlineAgencyReplies:     "agency replies",
	DeadlineReviewMeeting:     "review meeting",
	DeadlineResponse:          "response to the applicant",
	DeadlineFurtherReview:     "further review request",
}

// DigestText is the coordinator's daily digest of a case: deadlines and
// agencies only, never personal data.
func DigestText(ref string, today Date, items []OverdueItem, cfg *Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*Daily digest for %s* (%s): overdue", ref, today.Time().Format("Mon 2 Jan 2006"))
	for _, it := range items {
		what := deadlineWords[it.Deadline]
		if it.Agency != "" {
			name := it.Agency
			if a, ok := cfg.Agency(it.Agency); ok {
				name = a.Name
			}
			what = "reply from " + name
		}
		fmt.Fprintf(&b, "\n• %s: due %s, %d working %s overdue", what, it.Due.Time().Format("Mon 2 Jan 2006"), it.WorkingDays, plural(it.WorkingDays, "day", "days"))
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ReminderByKey returns the agency reminder queued under key.
func (s *Store) ReminderByKey(ctx context.Context, key string) (Reminder, error) {
	var r Reminder
	err := s.view(ctx, func(tx *Tx) error {
		var err error
		r, err = tx.reminderByKey(ctx, key)
		return err
	})
	return r, err
}

func (tx *Tx) reminderByKey(ctx context.Context, key string) (Reminder, error) {
	var r Reminder
	var payload string
	err := tx.QueryRowContext(ctx, `SELECT o.case_id, c.ref, o.payload FROM outbox o JOIN cases c ON c.id = o.case_id
		WHERE o.dedupe_key = ? AND o.kind = ?`, key, JobSlackReminder).Scan(&r.caseID, &r.CaseRef, &payload)
	if errors.Is(err, sql.ErrNoRows) {
		return r, Errorf(ENOTFOUND, "no reminder %s", key)
	}
	if err != nil {
		return r, fmt.Errorf("reminder %s: %w", key, err)
	}
	if err := (Job{Payload: []byte(payload), Kind: JobSlackReminder}).Decode(&r); err != nil {
		return r, err
	}
	r.CaseRef = strings.TrimSpace(r.CaseRef)
	return r, nil
}

// SnoozeReminder snoozes an agency's reminder until the next working day,
// when it comes back unless the agency has replied or a later reminder
// takes its place. Snoozing again changes nothing and says until when.
func (s *Store) SnoozeReminder(ctx context.Context, key, by string) (until Date, changed Changed, err error) {
	if by == "" {
		return Date{}, false, Errorf(EINVALID, "by: who snoozed must be recorded")
	}
	err = s.update(ctx, func(tx *Tx) error {
		r, err := tx.reminderByKey(ctx, key)
		if err != nil {
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
		var status Status
		var replied sql.NullInt64
		err = tx.QueryRowContext(ctx, `SELECT c.status, r.replied_at FROM info_requests r JOIN cases c ON c.id = r.case_id
			WHERE r.case_id = ? AND r.agency = ?`, r.caseID, r.Agency).Scan(&status, &replied)
		if errors.Is(err, sql.ErrNoRows) {
			return Errorf(ENOTFOUND, "%s has no request to %s", r.CaseRef, r.Agency)
		}
		if err != nil {
			return err
		}
		if replied.Valid {
			return Errorf(ECONFLICT, "%s has replied on %s already: there is nothing to snooze", agencyName(s.Config, r.Agency), r.CaseRef)
		}
		if status != StatusGathering && status != StatusMeeting {
			return Errorf(ECONFLICT, "%s is %s: it is not waiting for replies", r.CaseRef, status)
		}
		until = s.Cal.AddWorkingDays(DateOf(tx.now), 1)
		if _, err := tx.ExecContext(ctx, `INSERT INTO reminder_snoozes (reminder_key, case_id, agency, stage, until_on, snoozed_by, snoozed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, key, r.caseID, r.Agency, r.Stage, until.String(), by, ms(tx.now)); err != nil {
			return fmt.Errorf("snooze %s: %w", key, err)
		}
		if _, err := tx.event(ctx, r.caseID, by, "reminder.snoozed", map[string]any{
			"reminder": key, "agency": r.Agency, "stage": r.Stage, "until": until.String(),
		}); err != nil {
			return err
		}
		changed = true
		return nil
	})
	return until, changed, err
}

func agencyName(cfg *Config, id string) string {
	if a, ok := cfg.Agency(id); ok {
		return a.Name
	}
	return id
}

// ReminderScheduler queues due reminders every few minutes until its
// context ends. A failed run is logged and tried again at the next tick:
// the dedupe keys make a repeated run harmless.
type ReminderScheduler struct {
	Store  *Store
	Every  time.Duration // default 5 minutes
	Logger *slog.Logger
}

// Run runs the scheduler until ctx is cancelled.
func (r *ReminderScheduler) Run(ctx context.Context) error {
	every := r.Every
	if every <= 0 {
		every = 5 * time.Minute
	}
	log := r.Logger
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := r.Store.RunReminders(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("reminders: run failed; trying again at the next tick", "err", err)
		case n > 0:
			log.Info("reminders queued", "count", n)
		}
		closed, err := r.Store.CloseAfterFurtherReviewWindow(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("closing answered cases failed; trying again at the next tick", "err", err)
		case closed > 0:
			log.Info("cases closed: the window for a further review ended", "count", closed)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
