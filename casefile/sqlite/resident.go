package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/csp/trigger/casefile"
)

// The resident at the centre (issue 15): the case's contact officer, the
// resident's involvement, language and formats, the emails the service
// writes to them by itself, the consultation on the action plan, and
// requests to review a not-met decision.

func (tx *Tx) consultation(ctx context.Context, caseID int64) (*casefile.Consultation, error) {
	var c casefile.Consultation
	var asked, replied, ended sql.NullInt64
	var by string
	err := tx.QueryRowContext(ctx, `SELECT asked_at, reply_by, replied_at, skipped_by, skip_reason, ended_at FROM consultations WHERE case_id = ?`, caseID).
		Scan(&asked, &by, &replied, &c.SkippedBy, &c.SkipReason, &ended)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("consultation: %w", err)
	}
	c.AskedAt, c.RepliedAt, c.EndedAt = nullTime(asked), nullTime(replied), nullTime(ended)
	c.ReplyBy = d(by)
	return &c, nil
}

func (tx *Tx) thresholdReviews(ctx context.Context, caseID int64) ([]casefile.ThresholdReview, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, requested_at, source, consent, body, forwarded_to, result, result_at, result_by, notes
		FROM threshold_reviews WHERE case_id = ? ORDER BY id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("threshold reviews: %w", err)
	}
	defer rows.Close()
	out := []casefile.ThresholdReview{}
	for rows.Next() {
		var r casefile.ThresholdReview
		var at int64
		var consent sql.NullBool
		var resultAt sql.NullInt64
		if err := rows.Scan(&r.ID, &at, &r.Source, &consent, &r.Body, &r.ForwardedTo, &r.Result, &resultAt, &r.ResultBy, &r.Notes); err != nil {
			return nil, err
		}
		r.RequestedAt, r.ResultAt = fromMS(at), nullTime(resultAt)
		if consent.Valid {
			r.Consent = &consent.Bool
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// langsOf are the languages to write to the case's resident in.
func (tx *Tx) langsOf(c *caseRow) []string { return tx.s.Config.LanguagesFor(c.lang) }

// residentRecipients are the letter recipients whose address has not
// bounced.
func (tx *Tx) residentRecipients(ctx context.Context, c *caseRow) ([]casefile.Recipient, error) {
	var out []casefile.Recipient
	for _, r := range casefile.LetterRecipients(c.app) {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM undeliverable WHERE address = ?`, strings.ToLower(r.Addr)).Scan(&n); err != nil {
			return nil, err
		}
		if n == 0 {
			out = append(out, r)
		}
	}
	return out, nil
}

// residentWhat says in the coordinator's words what a resident email tells.
var residentWhat = map[string]string{
	casefile.MailConsultation: "the proposed actions, for their comments",
	casefile.MailInvitation:   "their invitation to the review meeting",
	casefile.MailUpdate:       "an update on their case",
	casefile.MailClosure:      "that their case is closed, and why",
}

// residentEmail writes an email of the kind to the resident from the case
// record (fill adds what the event brings), in their languages, stores it
// once under key and queues it to each recipient. It reports whether it
// wrote one. With nobody to email (no address, a no-reply or bounced one)
// the coordinator is asked to tell the resident another way.
func (tx *Tx) residentEmail(ctx context.Context, c *caseRow, ev int64, kind, key string, fill func(*casefile.LetterData)) (int64, error) {
	var have int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM resident_emails WHERE dedupe_key = ?`, key).Scan(&have)
	switch {
	case err == nil:
		return 0, nil
	case !errors.Is(err, sql.ErrNoRows):
		return 0, err
	}
	to, err := tx.residentRecipients(ctx, c)
	if err != nil {
		return 0, err
	}
	if len(to) == 0 {
		_, err := tx.enqueue(ctx, c.id, ev, "no-address:"+key, casefile.NotifyJob{
			Case: c.ref, Event: ev, Coordinator: true,
			Text: "The applicant could not be emailed " + residentWhat[kind] + " (no usable email address). Please tell them by phone or post.",
		})
		return 0, err
	}
	d, err := tx.letterData(ctx, c, kind)
	if err != nil {
		return 0, err
	}
	if fill != nil {
		fill(d)
	}
	langs := tx.langsOf(c)
	text, err := casefile.Render(tx.s.LetterTemplates, kind, langs, d)
	if err != nil {
		return 0, err
	}
	lang := casefile.LangCode(langs)
	subject := casefile.SubjectIn(c.ref, kind, lang)
	html, err := casefile.LetterHTMLWith(subject, text, casefile.HTMLOptions{LargePrint: d.LargePrint, Lang: lang})
	if err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO resident_emails (case_id, kind, lang, subject, text, html, dedupe_key, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.id, kind, lang, subject, text, html, key, ms(tx.now))
	if err != nil {
		return 0, fmt.Errorf("resident email %s: %w", kind, err)
	}
	id, _ := res.LastInsertId()
	for _, r := range to {
		if _, err := tx.enqueueTo(ctx, c.id, ev, fmt.Sprintf("resident:%d:%s", id, r.Role),
			casefile.ResidentEmailJob{Case: c.ref, Email: id, To: r.Addr, Role: r.Role}, r.Addr); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// ResidentEmail returns one stored resident email.
func (s *Store) ResidentEmail(ctx context.Context, id int64) (*casefile.ResidentEmail, error) {
	var e *casefile.ResidentEmail
	err := s.view(ctx, func(tx *Tx) error {
		var err error
		e, err = tx.residentEmail1(ctx, id)
		return err
	})
	return e, err
}

func (tx *Tx) residentEmail1(ctx context.Context, id int64) (*casefile.ResidentEmail, error) {
	var e casefile.ResidentEmail
	var created int64
	var sent sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT e.id, c.ref, e.kind, e.lang, e.subject, e.text, e.html, e.created_at, e.sent_at
		FROM resident_emails e JOIN cases c ON c.id = e.case_id WHERE e.id = ?`, id).
		Scan(&e.ID, &e.CaseRef, &e.Kind, &e.Lang, &e.Subject, &e.Text, &e.HTML, &created, &sent)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, casefile.Errorf(casefile.ENOTFOUND, "no resident email %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("resident email %d: %w", id, err)
	}
	e.CreatedAt, e.SentAt = fromMS(created), nullTime(sent)
	return &e, nil
}

// ResidentEmails lists the emails the service wrote to a case's resident,
// oldest first.
func (s *Store) ResidentEmails(ctx context.Context, ref string) ([]casefile.ResidentEmail, error) {
	var out []casefile.ResidentEmail
	err := s.view(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.residentEmails(ctx, ref)
		return err
	})
	return out, err
}

func (tx *Tx) residentEmails(ctx context.Context, ref string) ([]casefile.ResidentEmail, error) {
	ids, err := queryColumn[int64](ctx, tx, `SELECT e.id FROM resident_emails e JOIN cases c ON c.id = e.case_id WHERE c.ref = ? ORDER BY e.id`, ref)
	if err != nil {
		return nil, fmt.Errorf("resident emails of %s: %w", ref, err)
	}
	var out []casefile.ResidentEmail
	for _, id := range ids {
		e, err := tx.residentEmail1(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, nil
}

func (tx *Tx) markResidentEmailSent(ctx context.Context, id int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE resident_emails SET sent_at = COALESCE(sent_at, ?) WHERE id = ?`, ms(tx.now), id)
	return err
}

// SetContactOfficer makes a configured [[officer]] the case's contact
// officer ("" goes back to the default), and tells the resident who their
// new contact is.
func (s *Store) SetContactOfficer(ctx context.Context, a casefile.Actor, ref, slackID string) (casefile.Changed, error) {
	if err := a.Permit(casefile.ActChangeContactOfficer); err != nil {
		return false, err
	}
	slackID = strings.TrimSpace(slackID)
	if _, ok := s.Config.Officer(slackID); slackID != "" && !ok {
		return false, casefile.Errorf(casefile.EINVALID, "officer: %s is not an [[officer]] of the configuration (letters need their email and phone)", slackID)
	}
	changed := false
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		var have string
		if err := tx.QueryRowContext(ctx, `SELECT contact_officer FROM cases WHERE id = ?`, c.id).Scan(&have); err != nil {
			return err
		}
		if s.Config.ContactFor(have) == s.Config.ContactFor(slackID) {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET contact_officer = ?, updated_at = ? WHERE id = ?`, slackID, ms(tx.now), c.id); err != nil {
			return err
		}
		ev, err := tx.eventAs(ctx, c.id, a, "contact_officer.changed", map[string]any{"officer": slackID})
		if err != nil {
			return err
		}
		changed = true
		if c.status != casefile.StatusClosed && c.status != casefile.StatusWithdrawn {
			if _, err := tx.residentEmail(ctx, c, ev, casefile.MailUpdate, fmt.Sprintf("update:%s:contact:%d", c.ref, ev), func(d *casefile.LetterData) {
				d.Update = casefile.Update{Kind: casefile.UpdateContact}
			}); err != nil {
				return err
			}
		}
		return tx.cardChanged(ctx, c, ev)
	})
	return changed, err
}

// RecordInvolvement records the resident's choice of how involved to be,
// as they told the coordinator (a phone call).
func (s *Store) RecordInvolvement(ctx context.Context, a casefile.Actor, ref string, choice casefile.Involvement) (casefile.Changed, error) {
	if err := a.Permit(casefile.ActRecordInvolvement); err != nil {
		return false, err
	}
	if _, err := casefile.ParseInvolvement(string(choice)); err != nil || choice == casefile.InvolvementUnknown {
		return false, casefile.Errorf(casefile.EINVALID, "involvement: %q is not one of meeting, writing, outcome", choice)
	}
	changed := false
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		var ev int64
		changed, ev, err = tx.recordInvolvement(ctx, c, choice, casefile.SourceCoordinator, a)
		if err != nil || !changed {
			return err
		}
		return tx.cardChanged(ctx, c, ev)
	})
	return changed, err
}

func (tx *Tx) recordInvolvement(ctx context.Context, c *caseRow, choice casefile.Involvement, source string, a casefile.Actor) (bool, int64, error) {
	if c.involvement == choice {
		return false, 0, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET involvement = ?, involvement_source = ?, involvement_at = ?, updated_at = ? WHERE id = ?`,
		choice, source, ms(tx.now), ms(tx.now), c.id); err != nil {
		return false, 0, fmt.Errorf("record involvement: %w", err)
	}
	c.involvement = choice
	ev, err := tx.eventAs(ctx, c.id, a, "involvement.recorded", map[string]any{"choice": choice, "source": source})
	return true, ev, err
}

// SetPreferences records the resident's language preference and the
// accessible formats they need, as they told the coordinator.
func (s *Store) SetPreferences(ctx context.Context, a casefile.Actor, ref string, lang casefile.LanguagePref, formats []string) (casefile.Changed, error) {
	if err := a.Permit(casefile.ActSetPreferences); err != nil {
		return false, err
	}
	lang, err := casefile.ParseLanguagePref(string(lang))
	if err != nil {
		return false, err
	}
	formats, err = casefile.NormaliseFormats(formats)
	if err != nil {
		return false, err
	}
	changed := false
	err = s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		var haveFormats string
		if err := tx.QueryRowContext(ctx, `SELECT formats FROM cases WHERE id = ?`, c.id).Scan(&haveFormats); err != nil {
			return err
		}
		if c.lang == lang && haveFormats == strings.Join(formats, ",") {
			return nil
		}
		source := casefile.SourceCoordinator
		if lang == "" {
			source = ""
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET language = ?, language_source = ?, formats = ?, updated_at = ? WHERE id = ?`,
			lang, source, strings.Join(formats, ","), ms(tx.now), c.id); err != nil {
			return err
		}
		ev, err := tx.eventAs(ctx, c.id, a, "preferences.recorded", map[string]any{"language": lang, "accessible_format": formats})
		if err != nil {
			return err
		}
		changed = true
		return tx.cardChanged(ctx, c, ev)
	})
	return changed, err
}

// setLanguage records a language preference intake read in a reply: a
// stated one always, a detected one (a reply written in Welsh) only when
// none is known.
func (tx *Tx) setLanguage(ctx context.Context, c *caseRow, lang casefile.LanguagePref, source string) (bool, error) {
	if lang == "" || lang == c.lang || (source == casefile.SourceDetected && c.lang != "") {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET language = ?, language_source = ?, updated_at = ? WHERE id = ?`, lang, source, ms(tx.now), c.id); err != nil {
		return false, err
	}
	c.lang = lang
	_, err := tx.event(ctx, c.id, "intake", "preferences.recorded", map[string]any{"language": lang, "language_source": source})
	return true, err
}

// startConsultation sends the proposed recommendations to the resident for
// comment by a date: the case stays drafting, and the response is drafted
// when they reply, when the date passes, or when the coordinator skips it.
// Should the date come after the response's due date, that date moves and
// the resident is told.
func (tx *Tx) startConsultation(ctx context.Context, c *caseRow, ev int64) error {
	cfg := tx.s.Config
	today := casefile.DateOf(tx.now)
	replyBy := tx.s.Cal.AddWorkingDays(today, cfg.Timescales.Consultation)
	if _, err := tx.ExecContext(ctx, `INSERT INTO consultations (case_id, reply_by) VALUES (?, ?)
		ON CONFLICT (case_id) DO UPDATE SET reply_by = excluded.reply_by, asked_at = NULL, replied_at = NULL, reply_message = '',
		skipped_by = '', skip_reason = '', ended_at = NULL`, c.id, replyBy.String()); err != nil {
		return fmt.Errorf("consultation: %w", err)
	}
	id, err := tx.residentEmail(ctx, c, ev, casefile.MailConsultation, "consultation:"+c.ref+":"+fmt.Sprint(ev), func(d *casefile.LetterData) {
		d.ReplyBy = replyBy
	})
	if err != nil {
		return err
	}
	// Emailed, the card says so (with Skip consultation): a message more
	// would cost the channel's rate of posting for nothing. Not emailed,
	// the coordinator must act.
	if id != 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE consultations SET asked_at = ? WHERE case_id = ?`, ms(tx.now), c.id); err != nil {
			return err
		}
	} else if _, err := tx.enqueue(ctx, c.id, ev, "consultation-notice:"+c.ref+":"+fmt.Sprint(ev), casefile.NotifyJob{
		Case: c.ref, Event: ev, Coordinator: true, Prompt: "consultation",
		Text: fmt.Sprintf("The applicant could not be emailed the proposed recommendations. Please ask them for their comments another way by *%s*, then press *Skip consultation* and record what they said; otherwise the response is drafted after that date.", replyBy.Human()),
	}); err != nil {
		return err
	}
	var due string
	if err := optional(tx.QueryRowContext(ctx, `SELECT due_on FROM deadlines WHERE case_id = ? AND name = ?`, c.id, casefile.DeadlineResponse).Scan(&due)); err != nil {
		return err
	}
	if respDue := d(due); !respDue.IsZero() && !replyBy.Before(respDue) {
		newDue := tx.s.Cal.AddWorkingDays(replyBy, 2)
		return tx.slip(ctx, c, ev, casefile.DeadlineResponse, newDue, "consultation")
	}
	return nil
}

// slip moves a deadline the resident was told of to a later date and tells
// them, once.
func (tx *Tx) slip(ctx context.Context, c *caseRow, ev int64, deadline string, newDue casefile.Date, why string) error {
	if err := tx.setDeadline(ctx, c.id, deadline, newDue); err != nil {
		return err
	}
	if _, err := tx.event(ctx, c.id, "system", "deadline.moved", map[string]any{"deadline": deadline, "due": newDue.String(), "why": why}); err != nil {
		return err
	}
	_, err := tx.residentEmail(ctx, c, ev, casefile.MailUpdate, fmt.Sprintf("update:%s:slip:%s:%s", c.ref, deadline, newDue), func(d *casefile.LetterData) {
		d.Update = casefile.Update{Kind: casefile.UpdateSlip, Deadline: deadline, NewDate: newDue, Why: why}
	})
	return err
}

// endConsultation stops the draft waiting for the resident and drafts the
// response for approval.
func (tx *Tx) endConsultation(ctx context.Context, c *caseRow, by string) error {
	res, err := tx.ExecContext(ctx, `UPDATE consultations SET ended_at = ? WHERE case_id = ? AND ended_at IS NULL`, ms(tx.now), c.id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 || c.status != casefile.StatusDrafting {
		return nil
	}
	if _, err := tx.draftLetter(ctx, c, casefile.LetterOutcome, by); err != nil {
		return err
	}
	return tx.transition(ctx, c, casefile.StatusAwaitingApproval, "")
}

// consultationReply records the resident's comments on the proposed
// recommendations and drafts the response.
func (tx *Tx) consultationReply(ctx context.Context, c *caseRow, in casefile.Inbound) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE consultations SET replied_at = ?, reply_message = ? WHERE case_id = ? AND ended_at IS NULL AND replied_at IS NULL`,
		ms(tx.now), in.MessageID, c.id)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	ev, err := tx.event(ctx, c.id, "intake", "consultation.replied", map[string]any{"message_id": in.MessageID})
	if err != nil {
		return false, err
	}
	text := "The applicant replied to the consultation on the proposed recommendations. Read their comments before approving the response; the draft is below."
	if tx.s.Config.Slack.SharePersonalData {
		// The partnership lets the channel carry personal data: the
		// comments themselves, as much as a message holds.
		comments := newText(in.Text)
		if r := []rune(comments); len(r) > 2000 {
			comments = string(r[:2000]) + "…"
		}
		text += "\n>>> " + comments
	}
	if _, err := tx.enqueue(ctx, c.id, ev, fmt.Sprintf("notify:%s:%d", c.ref, ev), casefile.NotifyJob{
		Case: c.ref, Event: ev, Coordinator: true, Prompt: "read_message:" + in.MessageID, Text: text,
	}); err != nil {
		return false, err
	}
	if err := tx.endConsultation(ctx, c, "system"); err != nil {
		return false, err
	}
	return true, tx.cardChanged(ctx, c, ev)
}

// SkipConsultation drafts the response without waiting for the resident's
// comments, for a reason the coordinator gives (they commented by phone,
// they asked not to be consulted, time presses).
func (s *Store) SkipConsultation(ctx context.Context, a casefile.Actor, ref, reason string) (casefile.Changed, error) {
	if err := a.Permit(casefile.ActSkipConsultation); err != nil {
		return false, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return false, casefile.Errorf(casefile.EINVALID, "reason: say why the consultation is skipped (it is recorded)")
	}
	changed := false
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		cons, err := tx.consultation(ctx, c.id)
		if err != nil {
			return err
		}
		if !cons.Open() {
			if cons != nil {
				return nil // ended already: a second click
			}
			return casefile.Errorf(casefile.ECONFLICT, "%s has no consultation under way", ref)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE consultations SET skipped_by = ?, skip_reason = ? WHERE case_id = ?`, a.Audit(), reason, c.id); err != nil {
			return err
		}
		ev, err := tx.eventAs(ctx, c.id, a, "consultation.skipped", map[string]any{"reason": reason})
		if err != nil {
			return err
		}
		if err := tx.endConsultation(ctx, c, "system"); err != nil {
			return err
		}
		changed = true
		return tx.cardChanged(ctx, c, ev)
	})
	return changed, err
}

// EndConsultations drafts the response of every case whose resident was
// consulted and did not reply by the date: the scheduler runs it.
func (s *Store) EndConsultations(ctx context.Context) (int, error) {
	refs, err := queryColumn[string](ctx, s.rdb, `SELECT c.ref FROM consultations k JOIN cases c ON c.id = k.case_id
		WHERE k.ended_at IS NULL AND k.reply_by < ? AND c.status = ?`, casefile.DateOf(s.Now()).String(), casefile.StatusDrafting)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ref := range refs {
		err := s.update(ctx, func(tx *Tx) error {
			c, err := tx.loadCase(ctx, ref)
			if err != nil {
				return err
			}
			cons, err := tx.consultation(ctx, c.id)
			if err != nil || !cons.Open() || !casefile.DateOf(tx.now).After(cons.ReplyBy) {
				return err
			}
			ev, err := tx.event(ctx, c.id, "system", "consultation.ended", map[string]any{"reply_by": cons.ReplyBy.String()})
			if err != nil {
				return err
			}
			if _, err := tx.enqueue(ctx, c.id, ev, fmt.Sprintf("notify:%s:%d", c.ref, ev), casefile.NotifyJob{
				Case: c.ref, Event: ev, Coordinator: true,
				Text: fmt.Sprintf("No comments from the applicant arrived by %s: the draft response is below.", cons.ReplyBy.Human()),
			}); err != nil {
				return err
			}
			if err := tx.endConsultation(ctx, c, "system"); err != nil {
				return err
			}
			n++
			return tx.cardChanged(ctx, c, ev)
		})
		if err != nil {
			return n, fmt.Errorf("end consultation %s: %w", ref, err)
		}
	}
	return n, nil
}

// closure tells the resident when and why their case closed, once per
// closing.
func (tx *Tx) closure(ctx context.Context, c *caseRow, ev int64, reason string) error {
	_, err := tx.residentEmail(ctx, c, ev, casefile.MailClosure, fmt.Sprintf("closure:%s:%d", c.ref, ev), func(d *casefile.LetterData) {
		d.Closure = casefile.Closure{On: casefile.DateOf(tx.now), Reason: reason, NotMet: c.dec.String == string(casefile.NotMet)}
	})
	return err
}

// thresholdRoute reports whether a not-met decision on the case can be
// reviewed by the body the configuration names, and the request would be
// in time for the case's state: its letter is sent.
func (tx *Tx) thresholdRoute(c *caseRow) bool {
	return tx.s.Config.FurtherReview.ThresholdDecision != "" && c.dec.String == string(casefile.NotMet) &&
		(c.status == casefile.StatusResponded || c.status == casefile.StatusClosed)
}

// requestThresholdReview records a request to review a not-met decision and
// forwards it to the body that hears it: by email when its address is
// configured (with the applicant's details only with their consent),
// otherwise the coordinator is asked to pass it on.
func (tx *Tx) requestThresholdReview(ctx context.Context, c *caseRow, a casefile.Actor, source string, consent *bool, messageID string) error {
	fr := tx.s.Config.FurtherReview
	res, err := tx.ExecContext(ctx, `INSERT INTO threshold_reviews (case_id, requested_at, source, consent, body, forwarded_to, request_message)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, c.id, ms(tx.now), source, consent, fr.ThresholdDecision, fr.ThresholdDecisionEmail, messageID)
	if err != nil {
		return fmt.Errorf("threshold review: %w", err)
	}
	id, _ := res.LastInsertId()
	ev, err := tx.eventAs(ctx, c.id, a, "threshold_review.requested", map[string]any{"source": source, "consent": consent, "forwarded": fr.ThresholdDecisionEmail != ""})
	if err != nil {
		return err
	}
	shared := consent != nil && *consent
	var text string
	if fr.ThresholdDecisionEmail != "" {
		if _, err := tx.enqueueTo(ctx, c.id, ev, fmt.Sprintf("threshold-review:%d", id),
			casefile.ThresholdReviewJob{Case: c.ref, Review: id, To: fr.ThresholdDecisionEmail}, fr.ThresholdDecisionEmail); err != nil {
			return err
		}
		text = fmt.Sprintf("The applicant asked for the threshold decision to be reviewed. The request was forwarded by email to %s", fr.ThresholdDecision)
		if shared {
			text += ", with their application (they consented to sharing)."
		} else {
			text += ", without their personal details (no consent to share is recorded): they will contact you for them."
		}
	} else {
		text = fmt.Sprintf("The applicant asked for the threshold decision to be reviewed by %s. No email address is configured for them (further_review.threshold_decision_email): please pass the request on.", fr.ThresholdDecision)
	}
	text += " When the result comes, record it with *Record threshold-review result*."
	if _, err := tx.enqueue(ctx, c.id, ev, fmt.Sprintf("notify:%s:%d", c.ref, ev), casefile.NotifyJob{
		Case: c.ref, Event: ev, Coordinator: true, Prompt: "threshold_review_result", Text: text,
	}); err != nil {
		return err
	}
	return tx.cardChanged(ctx, c, ev)
}

// RequestThresholdReview records the coordinator's note that the applicant
// asked (by phone, letter, in person) for the not-met decision to be
// reviewed, and whether they consented to their details going with it.
func (s *Store) RequestThresholdReview(ctx context.Context, a casefile.Actor, ref string, consent *bool) (casefile.Changed, error) {
	if err := a.Permit(casefile.ActRecordThresholdReview); err != nil {
		return false, err
	}
	if s.Config.FurtherReview.ThresholdDecision == "" {
		return false, casefile.Errorf(casefile.ECONFLICT, "no body is configured to review a threshold decision (further_review.threshold_decision)")
	}
	changed := false
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		if !tx.thresholdRoute(c) {
			return casefile.Errorf(casefile.ECONFLICT, "%s is %s: a review of the threshold decision can be asked for once the not-met letter is sent", ref, c.status)
		}
		var open int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM threshold_reviews WHERE case_id = ? AND result = ''`, c.id).Scan(&open); err != nil {
			return err
		}
		if open > 0 {
			return nil
		}
		changed = true
		return tx.requestThresholdReview(ctx, c, a, "slack", consent, "")
	})
	return changed, err
}

// RecordThresholdReviewResult records what the body found on the latest
// request: upheld (the threshold should have been met) or not.
func (s *Store) RecordThresholdReviewResult(ctx context.Context, a casefile.Actor, ref string, upheld bool, notes string) (casefile.Changed, error) {
	if err := a.Permit(casefile.ActThresholdReviewResult); err != nil {
		return false, err
	}
	result := casefile.ReviewNotUpheld
	if upheld {
		result = casefile.ReviewUpheld
	}
	changed := false
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		var id int64
		var have string
		err = tx.QueryRowContext(ctx, `SELECT id, result FROM threshold_reviews WHERE case_id = ? ORDER BY id DESC LIMIT 1`, c.id).Scan(&id, &have)
		if errors.Is(err, sql.ErrNoRows) {
			return casefile.Errorf(casefile.ECONFLICT, "%s has no request to review the threshold decision", ref)
		}
		if err != nil {
			return err
		}
		switch {
		case have == result:
			return nil
		case have != "":
			return casefile.Errorf(casefile.ECONFLICT, "the review of %s's threshold decision was already recorded as %s", ref, strings.ReplaceAll(have, "_", " "))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE threshold_reviews SET result = ?, result_at = ?, result_by = ?, notes = ? WHERE id = ?`,
			result, ms(tx.now), a.Audit(), strings.TrimSpace(notes), id); err != nil {
			return err
		}
		ev, err := tx.eventAs(ctx, c.id, a, "threshold_review.result", map[string]any{"result": result})
		if err != nil {
			return err
		}
		text := "The review of the threshold decision did not uphold the request: the decision stands."
		if upheld {
			text = "The review of the threshold decision upheld the request: the threshold should have been met. Please open the case review (a new case for this application, `trigger case add`), and tell the applicant."
		}
		if _, err := tx.enqueue(ctx, c.id, ev, fmt.Sprintf("notify:%s:%d", c.ref, ev), casefile.NotifyJob{Case: c.ref, Event: ev, Coordinator: true, Text: text}); err != nil {
			return err
		}
		changed = true
		return tx.cardChanged(ctx, c, ev)
	})
	return changed, err
}

// ThresholdReviewForward reads what forwarding a request needs.
func (s *Store) ThresholdReviewForward(ctx context.Context, ref string, id int64) (*casefile.ThresholdReviewForward, error) {
	var f casefile.ThresholdReviewForward
	err := s.view(ctx, func(tx *Tx) error {
		c, err := tx.readCase(ctx, ref)
		if err != nil {
			return err
		}
		f.Case = c
		found := false
		for _, r := range c.ThresholdReviews {
			if r.ID == id {
				f.Review, found = r, true
			}
		}
		if !found {
			return casefile.Errorf(casefile.ENOTFOUND, "%s has no threshold review %d", ref, id)
		}
		var msgID string
		if err := tx.QueryRowContext(ctx, `SELECT request_message FROM threshold_reviews WHERE id = ?`, id).Scan(&msgID); err != nil {
			return err
		}
		if msgID != "" {
			if err := optional(tx.QueryRowContext(ctx, `SELECT body_text FROM messages WHERE message_id = ?`, msgID).Scan(&f.RequestText)); err != nil {
				return err
			}
		}
		var letterID int64
		err = tx.QueryRowContext(ctx, `SELECT id FROM letters WHERE case_id = ? AND kind = ? AND approved_at IS NOT NULL ORDER BY id DESC LIMIT 1`,
			c.ID, casefile.LetterNotMet).Scan(&letterID)
		if err == nil {
			f.Letter, err = tx.letter(ctx, letterID)
			return err
		}
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// WrittenViews lists the emails the resident sent after the case was
// accepted and before the meeting was held: what they want the meeting to
// hear.
func (s *Store) WrittenViews(ctx context.Context, ref string) ([]casefile.MessageText, error) {
	var out []casefile.MessageText
	err := s.view(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		out, err = tx.writtenViews(ctx, c)
		return err
	})
	return out, err
}

func (tx *Tx) writtenViews(ctx context.Context, c *caseRow) ([]casefile.MessageText, error) {
	var accepted sql.NullInt64
	var held sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT accepted_at FROM cases WHERE id = ?`, c.id).Scan(&accepted); err != nil {
		return nil, err
	}
	if err := optional(tx.QueryRowContext(ctx, `SELECT held_at FROM meetings WHERE case_id = ?`, c.id).Scan(&held)); err != nil {
		return nil, err
	}
	if !accepted.Valid {
		return nil, nil
	}
	until := int64(1 << 62)
	if held.Valid {
		until = held.Int64
	}
	rows, err := tx.QueryContext(ctx, `SELECT message_id, subject, at, body_text FROM messages
		WHERE case_id = ? AND direction = 'in' AND kind = 'followup' AND at >= ? AND at < ? ORDER BY at, id`, c.id, accepted.Int64, until)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []casefile.MessageText
	for rows.Next() {
		var m casefile.MessageText
		var at int64
		if err := rows.Scan(&m.MessageID, &m.Subject, &at, &m.Text); err != nil {
			return nil, err
		}
		m.At = fromMS(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

// MessageText returns the text of an email on a case, for a person with
// a role to read (a resident's reply to the consultation).
func (s *Store) MessageText(ctx context.Context, ref, messageID string) (casefile.MessageText, error) {
	var m casefile.MessageText
	var at int64
	err := s.rdb.QueryRowContext(ctx, `SELECT m.message_id, m.subject, m.at, m.body_text FROM messages m JOIN cases c ON c.id = m.case_id
		WHERE c.ref = ? AND m.message_id = ?`, ref, messageID).Scan(&m.MessageID, &m.Subject, &at, &m.Text)
	if errors.Is(err, sql.ErrNoRows) {
		return m, casefile.Errorf(casefile.ENOTFOUND, "%s has no message %s", ref, messageID)
	}
	m.At = fromMS(at)
	return m, err
}

// meetingMail tells the resident the meeting's date once it is set (or
// moved): an invitation when they asked to come and it is not a closed
// session, otherwise an update. Either says sorry when the date is later
// than the one the met letter gave.
func (tx *Tx) meetingMail(ctx context.Context, c *caseRow, ev int64, p casefile.MeetingPlan) error {
	var due string
	if err := optional(tx.QueryRowContext(ctx, `SELECT due_on FROM deadlines WHERE case_id = ? AND name = ?`, c.id, casefile.DeadlineReviewMeeting).Scan(&due)); err != nil {
		return err
	}
	late := !d(due).IsZero() && casefile.DateOf(p.When).After(d(due))
	kind := casefile.MailUpdate
	if c.involvement == casefile.InvolvementMeeting && !p.ClosedSession {
		kind = casefile.MailInvitation
	}
	_, err := tx.residentEmail(ctx, c, ev, kind, fmt.Sprintf("%s:%s:meeting:%d", kind, c.ref, ev), func(d *casefile.LetterData) {
		d.MeetingAt, d.MeetingDate = p.When, casefile.DateOf(p.When)
		d.Meeting.Place = p.Place
		d.Update = casefile.Update{Kind: casefile.UpdateMeeting, Closed: p.ClosedSession, Late: late}
	})
	return err
}

// newText is the part of an email its sender wrote: the text before the
// quoted message ("On … wrote:", "> " lines, an Outlook header).
func newText(text string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, ">") || strings.HasSuffix(t, "wrote:") || strings.HasSuffix(t, "ysgrifennodd:") ||
			strings.HasPrefix(t, "-----Original Message") || strings.HasPrefix(t, "From: ") {
			break
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
