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

// SetChannel records the Slack channel of a case. A channel is recorded
// once: recording the same again is harmless, another one is a conflict.
func (s *Store) SetChannel(ctx context.Context, ref, channelID, name string) error {
	return s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		var have string
		err = tx.QueryRowContext(ctx, `SELECT channel_id FROM slack_channels WHERE case_id = ?`, c.id).Scan(&have)
		switch {
		case err == nil && have == channelID:
			return nil
		case err == nil:
			return casefile.Errorf(casefile.ECONFLICT, "%s already has channel %s", ref, have)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO slack_channels (case_id, channel_id, name) VALUES (?, ?, ?)`, c.id, channelID, name); err != nil {
			if isConstraint(err) {
				return casefile.Errorf(casefile.ECONFLICT, "channel %s (%s) belongs to another case", channelID, name)
			}
			return fmt.Errorf("set channel: %w", err)
		}
		_, err = tx.event(ctx, c.id, "slack", "slack.channel_created", map[string]any{"channel": channelID, "name": name})
		return err
	})
}

// SetCardTS records the timestamp of the case card message.
func (s *Store) SetCardTS(ctx context.Context, ref, ts string) error {
	return s.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE slack_channels SET card_ts = ? WHERE case_id = (SELECT id FROM cases WHERE ref = ?)`, ts, ref)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return casefile.Errorf(casefile.ENOTFOUND, "%s has no channel yet", ref)
		}
		return nil
	})
}

// Channel returns the channel of a case; ENOTFOUND when it has none yet.
func (s *Store) Channel(ctx context.Context, ref string) (casefile.SlackChannel, error) {
	ch := casefile.SlackChannel{CaseRef: ref}
	err := s.rdb.QueryRowContext(ctx, `SELECT sc.channel_id, sc.name, sc.card_ts, sc.topic FROM slack_channels sc JOIN cases c ON c.id = sc.case_id WHERE c.ref = ?`, ref).
		Scan(&ch.ChannelID, &ch.Name, &ch.CardTS, &ch.Topic)
	if errors.Is(err, sql.ErrNoRows) {
		return ch, casefile.Errorf(casefile.ENOTFOUND, "%s has no channel yet", ref)
	}
	return ch, err
}

// CaseByChannel returns the case whose channel this is.
func (s *Store) CaseByChannel(ctx context.Context, channelID string) (string, error) {
	var ref string
	err := s.rdb.QueryRowContext(ctx, `SELECT c.ref FROM slack_channels sc JOIN cases c ON c.id = sc.case_id WHERE sc.channel_id = ?`, channelID).Scan(&ref)
	if errors.Is(err, sql.ErrNoRows) {
		return "", casefile.Errorf(casefile.ENOTFOUND, "channel %s is not a case channel", channelID)
	}
	return ref, err
}

// Requests returns a case's requests to agencies with their replies.
func (s *Store) Requests(ctx context.Context, ref string) ([]casefile.InfoRequest, error) {
	var out []casefile.InfoRequest
	err := s.view(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.requests(ctx, ref)
		return err
	})
	return out, err
}

func (tx *Tx) requests(ctx context.Context, ref string) ([]casefile.InfoRequest, error) {
	rows, err := tx.QueryContext(ctx, `SELECT r.id, r.agency, r.requested_at, r.due_on, r.message_ts, r.by_email, r.replied_at
		FROM info_requests r JOIN cases c ON c.id = r.case_id WHERE c.ref = ? ORDER BY r.id`, ref)
	if err != nil {
		return nil, fmt.Errorf("requests: %w", err)
	}
	var out []casefile.InfoRequest
	for rows.Next() {
		r := casefile.InfoRequest{CaseRef: ref}
		var requested int64
		var due string
		var replied sql.NullInt64
		if err := rows.Scan(&r.ID, &r.Agency, &requested, &due, &r.MessageTS, &r.ByEmail, &replied); err != nil {
			rows.Close()
			return nil, err
		}
		r.RequestedAt = fromMS(requested).Format(time.RFC3339)
		r.Due, _ = casefile.ParseDate(due)
		r.Replied = replied.Valid
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Replies, err = tx.replies(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (tx *Tx) replies(ctx context.Context, requestID int64) ([]casefile.AgencyReply, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, agency, author, source, complaints, considered, taken, risk, no_info, text, files, at
		FROM agency_replies WHERE request_id = ? ORDER BY id`, requestID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []casefile.AgencyReply
	for rows.Next() {
		var r casefile.AgencyReply
		var at int64
		var files string
		if err := rows.Scan(&r.ID, &r.Agency, &r.Author, &r.Source, &r.Complaints, &r.Considered, &r.Taken, &r.Risk, &r.NoInfo, &r.Text, &files, &at); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(files), &r.Files); err != nil {
			return nil, fmt.Errorf("reply %d: files: %w", r.ID, err)
		}
		r.At = fromMS(at).Format(time.RFC3339)
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetRequestMessage records where a request was posted (its message ts),
// or that it went by email.
func (s *Store) SetRequestMessage(ctx context.Context, ref, agency, ts string, byEmail bool) error {
	return s.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE info_requests SET message_ts = CASE WHEN ? != '' THEN ? ELSE message_ts END, by_email = by_email OR ?
			WHERE agency = ? AND case_id = (SELECT id FROM cases WHERE ref = ?)`, ts, ts, byEmail, agency, ref)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return casefile.Errorf(casefile.ENOTFOUND, "%s has no request to %s", ref, agency)
		}
		return nil
	})
}

// RequestByMessage finds the request a Slack message (a thread parent) is.
func (s *Store) RequestByMessage(ctx context.Context, channelID, ts string) (ref, agency string, err error) {
	err = s.rdb.QueryRowContext(ctx, `SELECT c.ref, r.agency FROM info_requests r JOIN cases c ON c.id = r.case_id
		JOIN slack_channels sc ON sc.case_id = c.id WHERE sc.channel_id = ? AND r.message_ts = ?`, channelID, ts).Scan(&ref, &agency)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", casefile.Errorf(casefile.ENOTFOUND, "no request at %s/%s", channelID, ts)
	}
	return ref, agency, err
}

// RecordReply records an agency's reply. When the last agency has replied,
// the coordinator is told the meeting can be scheduled.
func (s *Store) RecordReply(ctx context.Context, a casefile.Actor, in casefile.ReplyInput) (casefile.Changed, error) {
	if err := a.PermitAnswer(in.Agency, casefile.AgencyName(s.Config, in.Agency)); err != nil {
		return false, err
	}
	if in.DedupeKey == "" {
		return false, casefile.Errorf(casefile.EINVALID, "reply: a dedupe key is required")
	}
	if in.Author == "" {
		return false, casefile.Errorf(casefile.EINVALID, "reply: the author is required")
	}
	empty := strings.TrimSpace(in.Complaints+in.Considered+in.Taken+in.Risk+in.Text) == "" && len(in.Files) == 0
	if empty && !in.NoInfo {
		return false, casefile.Errorf(casefile.EINVALID, "reply: say what the agency holds, or tick \"no information held\"")
	}
	for i, f := range in.Files {
		if f.Name == "" || !strings.HasPrefix(f.Permalink, "https://") {
			return false, casefile.Errorf(casefile.EINVALID, "reply: file %d needs a name and an https permalink", i+1)
		}
	}
	files, err := json.Marshal(append([]casefile.SharedFile{}, in.Files...))
	if err != nil {
		return false, err
	}
	changed := casefile.Changed(false)
	err = s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, in.Ref)
		if err != nil {
			return err
		}
		switch c.status {
		case casefile.StatusGathering, casefile.StatusMeeting, casefile.StatusDrafting:
		default:
			return casefile.Errorf(casefile.ECONFLICT, "%s is %s: it is not asking agencies for details", c.ref, c.status)
		}
		var reqID int64
		err = tx.QueryRowContext(ctx, `SELECT id FROM info_requests WHERE case_id = ? AND agency = ?`, c.id, in.Agency).Scan(&reqID)
		if errors.Is(err, sql.ErrNoRows) {
			return casefile.Errorf(casefile.ENOTFOUND, "%s has no request to %s", c.ref, in.Agency)
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO agency_replies (request_id, case_id, agency, author, source, complaints, considered, taken, risk, no_info, text, files, dedupe_key, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
			reqID, c.id, in.Agency, in.Author, in.Source, in.Complaints, in.Considered, in.Taken, in.Risk, in.NoInfo, in.Text, string(files), in.DedupeKey, ms(tx.now))
		if err != nil {
			return fmt.Errorf("record reply: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // this very reply was recorded before
		}
		replyID, _ := res.LastInsertId()
		if _, err := tx.ExecContext(ctx, `UPDATE info_requests SET replied_at = COALESCE(replied_at, ?) WHERE id = ?`, ms(tx.now), reqID); err != nil {
			return err
		}
		details := map[string]any{"agency": in.Agency, "source": in.Source, "no_information_held": in.NoInfo}
		if len(in.Files) > 0 {
			details["files"] = len(in.Files)
		}
		ev, err := tx.event(ctx, c.id, in.Author, "agency.replied", details)
		if err != nil {
			return err
		}
		if _, err := tx.enqueue(ctx, c.id, ev, fmt.Sprintf("request-update:%s:%s:%d", c.ref, in.Agency, replyID),
			casefile.UpdateRequestJob{Case: c.ref, Agency: in.Agency}); err != nil {
			return err
		}
		var waiting int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM info_requests WHERE case_id = ? AND replied_at IS NULL`, c.id).Scan(&waiting); err != nil {
			return err
		}
		if waiting == 0 && c.status == casefile.StatusGathering {
			if err := tx.closeDeadline(ctx, c.id, casefile.DeadlineAgencyReplies); err != nil {
				return err
			}
			ev2, err := tx.event(ctx, c.id, "system", "agencies.all_replied", nil)
			if err != nil {
				return err
			}
			text := "Every agency has replied. The review meeting can be scheduled."
			if c.involvement != casefile.InvolvementUnknown {
				text += " The applicant asked " + c.involvement.Words() + "."
			}
			if views, err := tx.writtenViews(ctx, c); err != nil {
				return err
			} else if len(views) > 0 {
				text += " " + viewsLine(views)
			}
			if _, err := tx.enqueue(ctx, c.id, ev2, "all-replied:"+c.ref, casefile.NotifyJob{
				Case: c.ref, Event: ev2, Coordinator: true, Prompt: "schedule_meeting", Text: text,
			}); err != nil {
				return err
			}
			if err := tx.cardChanged(ctx, c, ev2); err != nil {
				return err
			}
		}
		changed = true
		return nil
	})
	return changed, err
}

// MeetingReadiness says whether the meeting may be scheduled: every agency
// has replied, or the deadline for replies has passed.
func (s *Store) MeetingReadiness(ctx context.Context, ref string) (ready bool, why string, err error) {
	err = s.view(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		ready, why, err = tx.meetingReady(ctx, c)
		return err
	})
	return ready, why, err
}

func (tx *Tx) meetingReady(ctx context.Context, c *caseRow) (bool, string, error) {
	if c.status != casefile.StatusGathering && c.status != casefile.StatusMeeting {
		return false, fmt.Sprintf("%s is %s", c.ref, c.status), nil
	}
	var waiting int
	var due sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM info_requests WHERE case_id = ? AND replied_at IS NULL`, c.id).Scan(&waiting); err != nil {
		return false, "", err
	}
	if waiting == 0 {
		return true, "every agency has replied", nil
	}
	if err := optional(tx.QueryRowContext(ctx, `SELECT due_on FROM deadlines WHERE case_id = ? AND name = ?`, c.id, casefile.DeadlineAgencyReplies).Scan(&due)); err != nil {
		return false, "", err
	}
	if d, err := casefile.ParseDate(due.String); err == nil && casefile.DateOf(tx.now).After(d) {
		return true, fmt.Sprintf("the deadline for replies (%s) has passed; %s not replied", d.Human(), casefile.Count(waiting, "agency has", "agencies have")), nil
	}
	return false, fmt.Sprintf("%s not replied yet and the deadline for replies has not passed", casefile.Count(waiting, "agency has", "agencies have")), nil
}

// ScheduleMeeting plans the review meeting and moves the case to meeting. It
// may be scheduled again (a new date) while the case is in meeting.
func (s *Store) ScheduleMeeting(ctx context.Context, a casefile.Actor, ref string, p casefile.MeetingPlan) (casefile.Changed, error) {
	if err := a.Permit(casefile.ActScheduleMeeting); err != nil {
		return false, err
	}
	p.By = a.Audit()
	if p.When.IsZero() {
		return false, casefile.Errorf(casefile.EINVALID, "date: the meeting needs a date and time")
	}
	if strings.TrimSpace(p.Place) == "" {
		return false, casefile.Errorf(casefile.EINVALID, "place: say where the meeting is, or give the link")
	}
	changed := casefile.Changed(false)
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		ready, why, err := tx.meetingReady(ctx, c)
		if err != nil {
			return err
		}
		if !ready {
			return casefile.Errorf(casefile.ECONFLICT, "the meeting cannot be scheduled yet: %s", why)
		}
		var prev sql.NullInt64
		var place string
		var closed bool
		if err := optional(tx.QueryRowContext(ctx, `SELECT scheduled_for, place, closed_session FROM meetings WHERE case_id = ?`, c.id).Scan(&prev, &place, &closed)); err != nil {
			return err
		}
		if prev.Valid && prev.Int64 == ms(p.When) && place == p.Place && closed == p.ClosedSession {
			return nil
		}
		if c.status == casefile.StatusGathering {
			if err := tx.transition(ctx, c, casefile.StatusMeeting, ""); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO meetings (case_id, scheduled_for, place, attendees, closed_session) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (case_id) DO UPDATE SET scheduled_for = excluded.scheduled_for, place = excluded.place, attendees = excluded.attendees,
			closed_session = excluded.closed_session`,
			c.id, ms(p.When), p.Place, p.Attendees, p.ClosedSession); err != nil {
			return fmt.Errorf("schedule meeting: %w", err)
		}
		if err := tx.closeDeadline(ctx, c.id, casefile.DeadlineAgencyReplies); err != nil {
			return err
		}
		ev, err := tx.eventAs(ctx, c.id, a, "meeting.scheduled", map[string]any{"when": p.When.Format(time.RFC3339), "rescheduled": prev.Valid, "closed_session": p.ClosedSession})
		if err != nil {
			return err
		}
		text := fmt.Sprintf("The case review meeting is scheduled for %s, %s.", p.When.In(casefile.London).Format("Monday 2 January 2006 at 15:04"), p.Place)
		switch {
		case p.ClosedSession:
			text += " It is a closed session: the applicant is told the date, not invited."
		case c.involvement == casefile.InvolvementMeeting:
			text += " The applicant asked to come: they are sent an invitation."
		default:
			text += " The applicant is told the date."
		}
		if views, err := tx.writtenViews(ctx, c); err != nil {
			return err
		} else if len(views) > 0 {
			text += " " + viewsLine(views)
		}
		if _, err := tx.enqueue(ctx, c.id, ev, fmt.Sprintf("notify:%s:%d", c.ref, ev), casefile.NotifyJob{
			Case: c.ref, Event: ev, Text: text,
		}); err != nil {
			return err
		}
		if err := tx.meetingMail(ctx, c, ev, p); err != nil {
			return err
		}
		changed = true
		return tx.cardChanged(ctx, c, ev)
	})
	return changed, err
}

// RecordOutcome records the meeting's outcome and moves the case to
// drafting, with the response due in Response working days.
func (s *Store) RecordOutcome(ctx context.Context, a casefile.Actor, ref string, o casefile.MeetingOutcome) (casefile.Changed, error) {
	if err := a.Permit(casefile.ActRecordOutcome); err != nil {
		return false, err
	}
	o.By = a.Audit()
	if strings.TrimSpace(o.Summary) == "" {
		return false, casefile.Errorf(casefile.EINVALID, "summary: the review's findings are needed for the letter")
	}
	if o.Adequate == nil {
		return false, casefile.Errorf(casefile.EINVALID, "adequate: say whether the partnership's response was adequate")
	}
	for i, r := range o.Recommendations {
		switch {
		case strings.TrimSpace(r.Text) == "":
			return false, casefile.Errorf(casefile.EINVALID, "recommendations[%d].text: empty", i)
		case r.Owner == "":
			return false, casefile.Errorf(casefile.EINVALID, "recommendations[%d].owner: each recommendation needs an owner agency", i)
		case r.Due.IsZero():
			return false, casefile.Errorf(casefile.EINVALID, "recommendations[%d].due: each recommendation needs a due date", i)
		}
		if _, ok := s.Config.Agency(r.Owner); !ok {
			return false, casefile.Errorf(casefile.EINVALID, "recommendations[%d].owner: %q is not a configured agency", i, r.Owner)
		}
	}
	changed := casefile.Changed(false)
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		if c.status != casefile.StatusMeeting {
			var held sql.NullInt64
			if err := optional(tx.QueryRowContext(ctx, `SELECT held_at FROM meetings WHERE case_id = ?`, c.id).Scan(&held)); err != nil {
				return err
			}
			if held.Valid {
				return nil // recorded already
			}
			return casefile.Errorf(casefile.ECONFLICT, "%s is %s: schedule the meeting first", c.ref, c.status)
		}
		att, _ := json.Marshal(o.Attendance)
		if _, err := tx.ExecContext(ctx, `UPDATE meetings SET attendance = ?, summary = ?, adequate = ?, held_at = ?, recorded_by = ? WHERE case_id = ?`,
			string(att), o.Summary, *o.Adequate, ms(tx.now), o.By, c.id); err != nil {
			return fmt.Errorf("record outcome: %w", err)
		}
		for _, r := range o.Recommendations {
			if _, err := tx.ExecContext(ctx, `INSERT INTO recommendations (case_id, text, owner, due_on) VALUES (?, ?, ?, ?)`,
				c.id, r.Text, r.Owner, r.Due.String()); err != nil {
				return fmt.Errorf("recommendation: %w", err)
			}
		}
		if err := tx.transition(ctx, c, casefile.StatusDrafting, ""); err != nil {
			return err
		}
		if err := tx.closeDeadline(ctx, c.id, casefile.DeadlineReviewMeeting); err != nil {
			return err
		}
		if err := tx.setDeadline(ctx, c.id, casefile.DeadlineResponse, tx.s.Cal.AddWorkingDays(casefile.DateOf(tx.now), tx.s.Config.Timescales.Response)); err != nil {
			return err
		}
		ev, err := tx.eventAs(ctx, c.id, a, "meeting.recorded", map[string]any{
			"attendance": o.Attendance, "adequate": *o.Adequate, "recommendations": len(o.Recommendations),
		})
		if err != nil {
			return err
		}
		if err := tx.afterOutcome(ctx, c, ev, len(o.Recommendations)); err != nil {
			return err
		}
		changed = true
		return tx.cardChanged(ctx, c, ev)
	})
	return changed, err
}

// afterOutcome consults the resident on the proposed recommendations
// (the case stays drafting until they reply, the date passes, or the
// coordinator skips it); with no recommendation to consult on, it drafts
// the response letter at once, which then waits for approval.
func (tx *Tx) afterOutcome(ctx context.Context, c *caseRow, ev int64, recommendations int) error {
	if recommendations > 0 {
		return tx.startConsultation(ctx, c, ev)
	}
	if _, err := tx.draftLetter(ctx, c, casefile.LetterOutcome, "system"); err != nil {
		return err
	}
	return tx.transition(ctx, c, casefile.StatusAwaitingApproval, "")
}

// viewsLine tells the coordinator of the resident's views in writing,
// without their words (the channel carries no personal data): the dates,
// and where to read them.
func viewsLine(views []casefile.MessageText) string {
	var days []string
	for _, v := range views {
		days = append(days, v.At.In(casefile.London).Format("2 Jan"))
	}
	n := "1 email"
	if len(views) > 1 {
		n = fmt.Sprintf("%d emails", len(views))
	}
	return fmt.Sprintf("The applicant's views in writing: %s (%s), shown in *Record outcome* for the meeting.", n, strings.Join(days, ", "))
}

// MeetingOf returns a case's meeting, or nil when none is scheduled.
func (s *Store) MeetingOf(ctx context.Context, ref string) (*casefile.Meeting, error) {
	var m *casefile.Meeting
	err := s.view(ctx, func(tx *Tx) error {
		var err error
		m, err = tx.meeting(ctx, ref)
		return err
	})
	return m, err
}

func (tx *Tx) meeting(ctx context.Context, ref string) (*casefile.Meeting, error) {
	var m casefile.Meeting
	var sched, held sql.NullInt64
	var adequate sql.NullBool
	var att string
	var caseID int64
	err := tx.QueryRowContext(ctx, `SELECT m.case_id, m.scheduled_for, m.place, m.attendees, m.attendance, m.summary, m.adequate, m.held_at, m.recorded_by,
		m.closed_session FROM meetings m JOIN cases c ON c.id = m.case_id WHERE c.ref = ?`, ref).
		Scan(&caseID, &sched, &m.Place, &m.Attendees, &att, &m.Summary, &adequate, &held, &m.RecordedBy, &m.ClosedSession)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m.ScheduledFor, m.HeldAt = nullTime(sched), nullTime(held)
	if adequate.Valid {
		m.Adequate = &adequate.Bool
	}
	json.Unmarshal([]byte(att), &m.Attendance)
	rows, err := tx.QueryContext(ctx, `SELECT text, owner, due_on FROM recommendations WHERE case_id = ? ORDER BY id`, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var r casefile.Recommendation
		var due string
		if err := rows.Scan(&r.Text, &r.Owner, &due); err != nil {
			return nil, err
		}
		r.Due, _ = casefile.ParseDate(due)
		m.Recommendations = append(m.Recommendations, r)
	}
	return &m, rows.Err()
}

// FirstSeen records a key (a Slack event id, an interaction's id) and
// reports whether it is new: a retried delivery is seen twice.
func (s *Store) FirstSeen(ctx context.Context, key string) (bool, error) {
	first := false
	err := s.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO slack_seen (key, at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, ms(tx.now))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		first = n == 1
		return nil
	})
	return first, err
}

// Notice queues a notice in the case channel, once per key, with an audit
// event: every message the bot posts can be traced to one.
func (s *Store) Notice(ctx context.Context, ref, key, text string, coordinator bool) error {
	return s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE dedupe_key = ?`, "notice:"+ref+":"+key).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		ev, err := tx.event(ctx, c.id, "system", "slack.notice", map[string]any{"key": key})
		if err != nil {
			return err
		}
		_, err = tx.enqueue(ctx, c.id, ev, "notice:"+ref+":"+key,
			casefile.NotifyJob{Case: ref, Event: ev, Text: text, Coordinator: coordinator})
		return err
	})
}

// AskByEmail queues the request to an agency by email, for an agency with
// no officer in Slack.
func (s *Store) AskByEmail(ctx context.Context, ref, agency string) error {
	return s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE info_requests SET by_email = 1 WHERE case_id = ? AND agency = ? AND by_email = 0`, c.id, agency)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		ev, err := tx.event(ctx, c.id, "system", "agency.asked_by_email", map[string]any{"agency": agency})
		if err != nil {
			return err
		}
		a, _ := s.Config.Agency(agency)
		_, err = tx.enqueueTo(ctx, c.id, ev, "agency-email:"+ref+":"+agency,
			casefile.AgencyEmailJob{Case: ref, Agency: agency}, a.Email)
		return err
	})
}

// Audit records an event that changes nothing else: personal details
// viewed, a refusal worth keeping.
func (s *Store) Audit(ctx context.Context, ref, actor, kind string, details map[string]any) error {
	return s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		_, err = tx.event(ctx, c.id, actor, kind, details)
		return err
	})
}

// Seen reports whether FirstSeen recorded key before.
func (s *Store) Seen(ctx context.Context, key string) (bool, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM slack_seen WHERE key = ?`, key).Scan(&n)
	return n > 0, err
}
