package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/csp/trigger/casefile"
)

func result(outcome, ref, msgID, reason string) casefile.IngestResult {
	r := casefile.IngestResult{Outcome: outcome, MessageID: msgID, Reason: reason, Verified: true}
	if ref != "" {
		r.Case = &ref
	}
	return r
}

// unverified marks a result as about mail not taken as coming from whom it
// says.
func unverified(r casefile.IngestResult, why string) casefile.IngestResult {
	if why != "" {
		r.Verified, r.UnverifiedReason = false, why
	}
	return r
}

// Ingest stores an email and files it: a new case, a follow-up or an
// further review on an existing one, or machine mail kept without a reply.
// Only a verified party changes a case: other mail pointing to a case is
// kept on it, marked unverified, and changes nothing. It is idempotent: the
// same message again is a duplicate and changes nothing.
func (s *Store) Ingest(ctx context.Context, in casefile.Inbound) (casefile.IngestResult, error) {
	in.MessageID = casefile.MessageKey(in.MessageID, in.Raw)
	if in.ReceivedAt.IsZero() || in.ReceivedAt.After(s.Now()) {
		in.ReceivedAt = s.Now()
	}
	var res casefile.IngestResult
	err := s.update(ctx, func(tx *Tx) error {
		var err error
		res, err = tx.ingestItem(ctx, in)
		return err
	})
	return res, err
}

// IngestBatch files several messages in one transaction, each under a
// savepoint of its own: one durable commit for the lot (the disk's flush is
// most of the cost of filing a message), and a message that fails is rolled
// back alone — its error is in errs, the others are filed. err is for the
// transaction as a whole; then nothing was filed.
func (s *Store) IngestBatch(ctx context.Context, ins []casefile.Inbound) (results []casefile.IngestResult, errs []error, err error) {
	now := s.Now()
	for i := range ins {
		ins[i].MessageID = casefile.MessageKey(ins[i].MessageID, ins[i].Raw)
		if ins[i].ReceivedAt.IsZero() || ins[i].ReceivedAt.After(now) {
			ins[i].ReceivedAt = now
		}
	}
	err = s.update(ctx, func(tx *Tx) error {
		results, errs = make([]casefile.IngestResult, len(ins)), make([]error, len(ins))
		for i, in := range ins {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT ingest`); err != nil {
				return err
			}
			res, ierr := tx.ingestItem(ctx, in)
			if ierr != nil {
				if _, err := tx.ExecContext(ctx, `ROLLBACK TO ingest`); err != nil {
					return err
				}
				errs[i] = fmt.Errorf("ingest %s: %w", in.MessageID, ierr)
			}
			results[i] = res
			if _, err := tx.ExecContext(ctx, `RELEASE ingest`); err != nil {
				return err
			}
		}
		return nil
	})
	return results, errs, err
}

// stored is how a message is kept: the key it is stored under (its
// Message-ID, or casefile.VariantKey when another message has that
// Message-ID), its kind, and whether it is verified.
type stored struct {
	key, kind         string
	sum               string // casefile.Sum of the bytes; "" when not worked out yet
	unverified        string // the reason; "" for verified
	asksFurtherReview bool
}

func (tx *Tx) ingest(ctx context.Context, in casefile.Inbound) (casefile.IngestResult, error) {
	sha := casefile.Sum(in.Raw)
	// The same message again is the same Message-ID with the same bytes: a
	// Message-ID alone is anyone's to write.
	var caseID sql.NullInt64
	var verified bool
	var why string
	err := tx.QueryRowContext(ctx, `SELECT case_id, verified, unverified_reason FROM messages WHERE header_id = ? AND sha256 = ? ORDER BY id LIMIT 1`,
		in.MessageID, sha).Scan(&caseID, &verified, &why)
	switch {
	case err == nil:
		ref, err := tx.refOf(ctx, caseID)
		if err != nil {
			return casefile.IngestResult{}, err
		}
		res := result(casefile.OutcomeDuplicate, ref, in.MessageID, "this message was ingested before")
		if !verified {
			res = unverified(res, why)
		}
		return res, nil
	case !errors.Is(err, sql.ErrNoRows):
		return casefile.IngestResult{}, fmt.Errorf("dedupe: %w", err)
	}
	st := stored{key: in.MessageID, sum: sha}
	var taken int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE message_id = ?`, in.MessageID).Scan(&taken); err != nil {
		return casefile.IngestResult{}, fmt.Errorf("dedupe: %w", err)
	}
	if taken > 0 {
		// Another message with this Message-ID and other bytes: kept as
		// its own message, under a key of its own.
		st.key = casefile.VariantKeySum(in.MessageID, sha)
	}
	if err := tx.resolveQuarantined(ctx, in.MessageID, in.Raw, sha); err != nil {
		return casefile.IngestResult{}, err
	}

	if in.Machine == casefile.MachineBounce {
		return tx.ingestBounce(ctx, in, st)
	}
	c, how, err := tx.thread(ctx, in)
	if err != nil {
		return casefile.IngestResult{}, err
	}
	if c != nil {
		if st.unverified, err = tx.verify(ctx, c, in); err != nil {
			return casefile.IngestResult{}, err
		}
	}
	if in.Machine == casefile.MachineAutoReply {
		var id int64
		ref := ""
		if c != nil {
			id, ref = c.id, c.ref
		}
		st.kind = "auto_reply"
		if _, err := tx.storeMessage(ctx, id, in, st); err != nil {
			return casefile.IngestResult{}, err
		}
		if _, err := tx.event(ctx, id, "intake", "mail.auto_reply", map[string]any{"message_id": in.MessageID}); err != nil {
			return casefile.IngestResult{}, err
		}
		return unverified(result(casefile.OutcomeAutoReply, ref, in.MessageID, "automatic reply: stored, not acknowledged"), st.unverified), nil
	}
	if c == nil {
		return tx.ingestApplication(ctx, in, st, how)
	}
	if st.unverified != "" {
		return tx.ingestUnverified(ctx, in, st, c, how)
	}
	if in.WantsFurtherReview {
		if tx.thresholdRoute(c) {
			return tx.ingestThresholdReview(ctx, in, st, c, how)
		}
		reviewed, err := tx.hadFurtherReview(ctx, c.id)
		if err != nil {
			return casefile.IngestResult{}, err
		}
		if c.status == casefile.StatusResponded || (c.status == casefile.StatusClosed && !reviewed) {
			return tx.ingestFurtherReview(ctx, in, st, c, how)
		}
	}
	st.kind = "followup"
	if _, err := tx.storeMessage(ctx, c.id, in, st); err != nil {
		return casefile.IngestResult{}, err
	}
	ev, err := tx.event(ctx, c.id, "intake", "mail.followup", map[string]any{"message_id": in.MessageID, "threaded_by": how})
	if err != nil {
		return casefile.IngestResult{}, err
	}
	if err := tx.residentFollowup(ctx, c, in, ev); err != nil {
		return casefile.IngestResult{}, err
	}
	return result(casefile.OutcomeFollowup, c.ref, in.MessageID, how), nil
}

// residentFollowup reads a follow-up from the resident for what it says
// (see mailin: a language, the involvement the met letter asks about, a
// reply to the consultation, views in writing) and tells the channel once,
// with what was recorded and what the coordinator needs to do.
func (tx *Tx) residentFollowup(ctx context.Context, c *caseRow, in casefile.Inbound, ev int64) error {
	fromResident := c.app.Applicant.Email != "" && strings.EqualFold(strings.TrimSpace(c.app.Applicant.Email), in.From) ||
		c.app.OnBehalfOf != nil && c.app.OnBehalfOf.Email != "" && strings.EqualFold(strings.TrimSpace(c.app.OnBehalfOf.Email), in.From)
	text := "A follow-up email arrived on this case. Read it with View details or `trigger case show`."
	prompt := ""
	if fromResident {
		var said []string
		if changed, err := tx.setLanguage(ctx, c, in.Language, in.LanguageSource); err != nil {
			return err
		} else if changed {
			said = append(said, "their language preference is now "+map[casefile.LanguagePref]string{casefile.LangWelsh: "Welsh", casefile.LangEnglish: "English"}[c.lang])
		}
		beforeMeeting := c.status == casefile.StatusAccepted || c.status == casefile.StatusGathering || c.status == casefile.StatusMeeting
		involvementWas := c.involvement
		if beforeMeeting && in.Involvement != casefile.InvolvementUnknown {
			if changed, _, err := tx.recordInvolvement(ctx, c, in.Involvement, casefile.SourceReply, casefile.System("intake")); err != nil {
				return err
			} else if changed {
				said = append(said, "they want "+in.Involvement.Words()+" (recorded)")
			}
		}
		cons, err := tx.consultation(ctx, c.id)
		if err != nil {
			return err
		}
		metSent, err := tx.metLetterSent(ctx, c)
		if err != nil {
			return err
		}
		switch {
		case c.status == casefile.StatusDrafting && cons.Open():
			replied, err := tx.consultationReply(ctx, c, in)
			if err != nil {
				return err
			}
			if replied {
				return nil // consultationReply told the channel
			}
		case beforeMeeting && in.Involvement == casefile.InvolvementUnknown && involvementWas == casefile.InvolvementUnknown && metSent:
			said = append(said, "it does not say clearly how involved they want to be. Please read it and record their choice")
			prompt = "involvement"
		case beforeMeeting && c.involvement == casefile.InvolvementWriting:
			said = append(said, "they chose to send their views in writing: this email is listed for the meeting (*Record outcome*)")
		}
		if len(said) > 0 {
			text = "The applicant wrote: " + strings.Join(said, "; ") + ". Read it with View details or `trigger case show`."
		}
		if prompt == "" && len(said) > 0 {
			if err := tx.cardChanged(ctx, c, ev); err != nil {
				return err
			}
		}
	}
	_, err := tx.enqueue(ctx, c.id, ev, fmt.Sprintf("notify:%s:%d", c.ref, ev),
		casefile.NotifyJob{Case: c.ref, Event: ev, Text: text, Coordinator: prompt != "", Prompt: prompt})
	return err
}

// metLetterSent reports whether the letter asking how involved the resident
// wants to be was approved.
func (tx *Tx) metLetterSent(ctx context.Context, c *caseRow) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM letters WHERE case_id = ? AND kind = ? AND approved_at IS NOT NULL`, c.id, casefile.LetterMet).Scan(&n)
	return n > 0, err
}

// ingestThresholdReview files the applicant's request to review a not-met
// decision and forwards it, with their details only if they consented to
// sharing when they applied.
func (tx *Tx) ingestThresholdReview(ctx context.Context, in casefile.Inbound, st stored, c *caseRow, how string) (casefile.IngestResult, error) {
	st.kind, st.asksFurtherReview = "escalation", true
	if _, err := tx.storeMessage(ctx, c.id, in, st); err != nil {
		return casefile.IngestResult{}, err
	}
	if _, err := tx.event(ctx, c.id, "intake", "mail.threshold_review", map[string]any{"message_id": in.MessageID, "threaded_by": how}); err != nil {
		return casefile.IngestResult{}, err
	}
	if err := tx.requestThresholdReview(ctx, c, casefile.System("intake"), "email", c.app.ConsentToShare, in.MessageID); err != nil {
		return casefile.IngestResult{}, err
	}
	return result(casefile.OutcomeFurtherReview, c.ref, in.MessageID, how+": asks for a review of the threshold decision by "+tx.s.Config.FurtherReview.ThresholdDecision), nil
}

// ingestApplication opens a case from mail that points to no case. Nothing
// is lost: a sender the gateway refutes, or one with no address, still
// opens a case, but its acknowledgement waits for the coordinator.
func (tx *Tx) ingestApplication(ctx context.Context, in casefile.Inbound, st stored, how string) (casefile.IngestResult, error) {
	if err := in.Application.Validate(tx.s.Config.Agencies); err != nil {
		return casefile.IngestResult{}, err
	}
	switch {
	case in.From == "":
		st.unverified = casefile.UnverifiedUnknownSender
	case in.AuthFailure != "":
		st.unverified = in.AuthFailure
	}
	// Acknowledgements are counted per sender; a web-form system sends
	// every resident's form, so its forms count per applicant.
	sender := strings.ToLower(in.From)
	if tx.s.Config.Intake.IsFormSender(sender) {
		sender = strings.ToLower(strings.TrimSpace(in.Application.Applicant.Email))
	}
	nc, err := tx.createCase(ctx, casefile.NewCase{Application: in.Application, ReceivedAt: in.ReceivedAt, Source: "email", Actor: casefile.System("intake"),
		Preferences: casefile.Preferences{Language: in.Language, LanguageSource: in.LanguageSource, Formats: in.Formats}},
		intakeAck{sender: sender, hold: holdReason(st.unverified)})
	if err != nil {
		return casefile.IngestResult{}, err
	}
	st.kind = "application"
	if _, err := tx.storeMessage(ctx, nc.ID, in, st); err != nil {
		return casefile.IngestResult{}, err
	}
	return unverified(result(casefile.OutcomeCreated, nc.Ref, in.MessageID, how), st.unverified), nil
}

// holdReason is why an application's acknowledgement waits for the
// coordinator, in words for them: the sender is not who they say, or
// cannot be told.
func holdReason(why string) string {
	switch why {
	case casefile.UnverifiedDMARCFail:
		return "the receiving mail gateway says the sender's address was forged (DMARC failed)"
	case casefile.UnverifiedSPFFail:
		return "the receiving mail gateway says it did not come from a server the sender's domain allows (SPF failed)"
	case casefile.UnverifiedUnknownSender:
		return "its From field has no address that can be read"
	}
	return ""
}

func (tx *Tx) refOf(ctx context.Context, id sql.NullInt64) (string, error) {
	if !id.Valid {
		return "", nil
	}
	var ref string
	err := tx.QueryRowContext(ctx, `SELECT ref FROM cases WHERE id = ?`, id.Int64).Scan(&ref)
	return ref, err
}

// thread finds the case a message points to: a reply to one of our own
// messages, or our reference in its subject. Pointing to a case is not
// belonging to it: whether the sender is a party to it is verify's
// question, asked the same way for every path.
func (tx *Tx) thread(ctx context.Context, in casefile.Inbound) (*caseRow, string, error) {
	for _, mid := range in.ReplyTo {
		mid = strings.Trim(strings.TrimSpace(mid), "<>")
		if mid == "" {
			continue
		}
		var ref string
		err := tx.QueryRowContext(ctx, `SELECT c.ref FROM messages m JOIN cases c ON c.id = m.case_id
			WHERE m.message_id = ? AND m.direction = 'out'`, mid).Scan(&ref)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		c, err := tx.loadCase(ctx, ref)
		return c, "reply to our message", err
	}
	for _, ref := range in.SubjectRefs {
		c, err := tx.loadCase(ctx, ref)
		if casefile.ErrorCode(err) == casefile.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return c, "case reference in the subject", nil
	}
	return nil, "new application", nil
}

func (tx *Tx) storeMessage(ctx context.Context, caseID int64, in casefile.Inbound, st stored) (int64, error) {
	if st.sum == "" {
		st.sum = casefile.Sum(in.Raw)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO messages (case_id, message_id, header_id, direction, kind, subject, from_addr, at, raw, raw_chunks, sha256,
		body_text, body_html, created_at, verified, unverified_reason, asks_further_review) VALUES (?, ?, ?, 'in', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		nullID(caseID), st.key, in.MessageID, st.kind, casefile.CleanHeaderText(in.Subject), strings.ToLower(casefile.CleanHeaderText(in.From)),
		ms(in.ReceivedAt), inline(in.Raw), chunkCount(in.Raw), st.sum, in.Text, in.HTML, ms(tx.now),
		st.unverified == "", st.unverified, st.asksFurtherReview)
	if err != nil {
		if isConstraint(err) {
			return 0, casefile.Errorf(casefile.ECONFLICT, "message %s is stored already", in.MessageID)
		}
		return 0, fmt.Errorf("store message: %w", err)
	}
	id, _ := res.LastInsertId()
	if err := tx.writeChunks(ctx, messageOwner(id), in.Raw); err != nil {
		return 0, err
	}
	for _, a := range in.Attachments {
		if a.SHA256 == "" {
			s := sha256.Sum256(a.Data)
			a.SHA256 = hex.EncodeToString(s[:])
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO attachments (message_id, case_id, filename, content_type, size, sha256, data, data_chunks)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, nullID(caseID), casefile.CleanHeaderText(a.Filename), casefile.CleanHeaderText(a.ContentType),
			len(a.Data), a.SHA256, inline(a.Data), chunkCount(a.Data))
		if err != nil {
			return 0, fmt.Errorf("store attachment: %w", err)
		}
		aid, _ := res.LastInsertId()
		if err := tx.writeChunks(ctx, attachmentOwner(aid), a.Data); err != nil {
			return 0, err
		}
	}
	return id, nil
}

func (tx *Tx) ingestFurtherReview(ctx context.Context, in casefile.Inbound, st stored, c *caseRow, how string) (casefile.IngestResult, error) {
	st.kind, st.asksFurtherReview = "escalation", true
	if _, err := tx.storeMessage(ctx, c.id, in, st); err != nil {
		return casefile.IngestResult{}, err
	}
	if err := tx.requestFurtherReview(ctx, c, "applicant", "email"); err != nil {
		return casefile.IngestResult{}, err
	}
	return result(casefile.OutcomeFurtherReview, c.ref, in.MessageID, how+": asks for a further review"), nil
}

// requestFurtherReview records a request for a further review. A request
// after the deadline is recorded as late, never dropped.
func (tx *Tx) requestFurtherReview(ctx context.Context, c *caseRow, actor, source string) error {
	late := false
	var due sql.NullString
	if err := optional(tx.QueryRowContext(ctx, `SELECT due_on FROM deadlines WHERE case_id = ? AND name = ?`, c.id, casefile.DeadlineFurtherReview).Scan(&due)); err != nil {
		return err
	}
	if due.Valid {
		if d, err := casefile.ParseDate(due.String); err == nil && casefile.DateOf(tx.now).After(d) {
			late = true
		}
	}
	if c.status == casefile.StatusResponded || c.status == casefile.StatusClosed {
		if err := tx.transition(ctx, c, casefile.StatusFurtherReviewRequested, ""); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO further_reviews (case_id, requested_at, source, late) VALUES (?, ?, ?, ?)`,
		c.id, ms(tx.now), source, late); err != nil {
		return fmt.Errorf("further review: %w", err)
	}
	if err := tx.closeDeadline(ctx, c.id, casefile.DeadlineFurtherReview); err != nil {
		return err
	}
	ev, err := tx.event(ctx, c.id, actor, "further_review.requested", map[string]any{"source": source, "late": late})
	if err != nil {
		return err
	}
	text := "A further review has been requested (by " + map[string]string{"email": "the applicant, by email", "slack": "the coordinator, recorded in Slack"}[source] + ")."
	if late {
		text += fmt.Sprintf(" *Late:* it arrived after the deadline of %s. It is shown here, not dropped: the Chair decides.", d(due.String).Human())
	}
	if _, err := tx.enqueue(ctx, c.id, ev, fmt.Sprintf("notify:%s:%d", c.ref, ev), casefile.NotifyJob{
		Case: c.ref, Event: ev, Chair: true, Prompt: "further_review", Text: text,
	}); err != nil {
		return err
	}
	return tx.cardChanged(ctx, c, ev)
}

// d parses a stored date, zero when there is none.
func d(s string) casefile.Date {
	v, _ := casefile.ParseDate(s)
	return v
}

// hadFurtherReview reports whether the case has had a request for a
// further review already: the further review is the last stage.
func (tx *Tx) hadFurtherReview(ctx context.Context, caseID int64) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM further_reviews WHERE case_id = ?`, caseID).Scan(&n)
	return n > 0, err
}

// CloseAfterFurtherReviewWindow closes the answered cases whose window for
// asking a further review has ended. A request that comes later still
// reopens the case, marked late.
func (s *Store) CloseAfterFurtherReviewWindow(ctx context.Context) (int, error) {
	refs, err := queryColumn[string](ctx, s.rdb, `SELECT c.ref FROM cases c JOIN deadlines d ON d.case_id = c.id
		WHERE c.status = 'responded' AND d.name = ? AND d.done_at IS NULL AND d.due_on < ?`, casefile.DeadlineFurtherReview, casefile.DateOf(s.Now()).String())
	if err != nil {
		return 0, err
	}
	closed := 0
	for _, ref := range refs {
		err := s.update(ctx, func(tx *Tx) error {
			c, err := tx.loadCase(ctx, ref)
			if err != nil || c.status != casefile.StatusResponded {
				return err
			}
			if err := tx.transition(ctx, c, casefile.StatusClosed, `closed_at = ?`, ms(tx.now)); err != nil {
				return err
			}
			ev, err := tx.event(ctx, c.id, "system", "case.closed", map[string]any{"reason": "the window for asking a further review ended"})
			if err != nil {
				return err
			}
			if err := tx.closure(ctx, c, ev, casefile.ClosedWindow); err != nil {
				return err
			}
			closed++
			return tx.cardChanged(ctx, c, ev)
		})
		if err != nil {
			return closed, fmt.Errorf("close %s: %w", ref, err)
		}
	}
	return closed, nil
}

// RequestFurtherReview records the coordinator's note that the applicant
// asked for a further review (by phone, letter or in person).
func (s *Store) RequestFurtherReview(ctx context.Context, a casefile.Actor, ref string) (casefile.Changed, error) {
	if err := a.Permit(casefile.ActRecordFurtherReview); err != nil {
		return false, err
	}
	by := a.Audit()
	changed := false
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		reviewed, err := tx.hadFurtherReview(ctx, c.id)
		if err != nil {
			return err
		}
		switch {
		case c.status == casefile.StatusFurtherReviewRequested || c.status == casefile.StatusFurtherReview:
			return nil
		case c.status == casefile.StatusResponded, c.status == casefile.StatusClosed && !reviewed:
		case c.status == casefile.StatusClosed:
			return casefile.Errorf(casefile.ECONFLICT, "%s had its further review already: it is the last stage", ref)
		default:
			return casefile.Errorf(casefile.ECONFLICT, "%s is %s: a further review can be asked for once the response is sent", ref, c.status)
		}
		changed = true
		return tx.requestFurtherReview(ctx, c, by, "slack")
	})
	return changed, err
}

// DecideFurtherReview records the Chair's decision on a request for a
// further review: accepted, the review goes ahead; declined (with a
// reason), a letter giving the reason is drafted for the Chair's approval,
// and sending it closes the case.
func (s *Store) DecideFurtherReview(ctx context.Context, a casefile.Actor, ref string, accept bool, reason string) (casefile.Changed, error) {
	if err := a.Permit(casefile.ActDecideFurtherReview); err != nil {
		return false, err
	}
	by := a.Audit()
	reason = strings.TrimSpace(reason)
	if !accept && reason == "" {
		return false, casefile.Errorf(casefile.EINVALID, "reason: declining a further review needs a reason")
	}
	changed := false
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		var escID int64
		var decision sql.NullString
		err = tx.QueryRowContext(ctx, `SELECT id, decision FROM further_reviews WHERE case_id = ? ORDER BY id DESC LIMIT 1`, c.id).Scan(&escID, &decision)
		if errors.Is(err, sql.ErrNoRows) {
			return casefile.Errorf(casefile.ECONFLICT, "%s has no request for a further review", ref)
		}
		if err != nil {
			return err
		}
		want := map[bool]string{true: "accepted", false: "declined"}[accept]
		if decision.Valid {
			if decision.String == want {
				return nil
			}
			return casefile.Errorf(casefile.ECONFLICT, "the further review of %s was already %s", ref, decision.String)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE further_reviews SET decision = ?, reason = ?, decided_by = ?, decided_at = ? WHERE id = ?`,
			want, reason, by, ms(tx.now), escID); err != nil {
			return err
		}
		var text, prompt string
		if err := tx.transition(ctx, c, casefile.StatusFurtherReview, ""); err != nil {
			return err
		}
		if accept {
			text, prompt = "The Chair accepted the request for a further review. When it is done, the Chair records the outcome; the letter is drafted from it.", "further_outcome"
		} else {
			// The applicant is told why, by a letter the Chair approves;
			// sending it closes the case.
			if _, err := tx.draftLetter(ctx, c, casefile.LetterFurtherReview, "system"); err != nil {
				return err
			}
			if err := tx.transition(ctx, c, casefile.StatusAwaitingApproval, ""); err != nil {
				return err
			}
			text = "The Chair declined the request for a further review: " + reason + "\nA letter telling the applicant why is drafted below for the Chair's approval; sending it closes the case."
		}
		ev, err := tx.eventAs(ctx, c.id, a, "further_review.decided", map[string]any{"decision": want, "reason": reason})
		if err != nil {
			return err
		}
		if _, err := tx.enqueue(ctx, c.id, ev, fmt.Sprintf("notify:%s:%d", ref, ev), casefile.NotifyJob{
			Case: ref, Event: ev, Text: text, Prompt: prompt, Chair: accept, Coordinator: !accept,
		}); err != nil {
			return err
		}
		changed = true
		return tx.cardChanged(ctx, c, ev)
	})
	return changed, err
}

// RecordFurtherReviewOutcome records what the further review found and
// drafts its letter, which the Chair approves.
func (s *Store) RecordFurtherReviewOutcome(ctx context.Context, a casefile.Actor, ref, outcome string, upheld bool) (casefile.Changed, error) {
	if err := a.Permit(casefile.ActFurtherReviewOutcome); err != nil {
		return false, err
	}
	if strings.TrimSpace(outcome) == "" {
		return false, casefile.Errorf(casefile.EINVALID, "outcome: the further review's findings are needed for the letter")
	}
	changed := false
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		if c.status != casefile.StatusFurtherReview {
			var o string
			if err := optional(tx.QueryRowContext(ctx, `SELECT outcome FROM further_reviews WHERE case_id = ? ORDER BY id DESC LIMIT 1`, c.id).Scan(&o)); err != nil {
				return err
			}
			if o != "" {
				return nil
			}
			return casefile.Errorf(casefile.ECONFLICT, "%s is %s: no further review is under way", ref, c.status)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE further_reviews SET outcome = ?, upheld = ? WHERE id = (SELECT MAX(id) FROM further_reviews WHERE case_id = ?)`,
			outcome, upheld, c.id); err != nil {
			return err
		}
		ev, err := tx.eventAs(ctx, c.id, a, "further_review.outcome", map[string]any{"upheld": upheld})
		if err != nil {
			return err
		}
		if _, err := tx.draftLetter(ctx, c, casefile.LetterFurtherReview, "system"); err != nil {
			return err
		}
		if err := tx.transition(ctx, c, casefile.StatusAwaitingApproval, ""); err != nil {
			return err
		}
		changed = true
		return tx.cardChanged(ctx, c, ev)
	})
	return changed, err
}

// FurtherReviews lists a case's requests for a further review.
func (s *Store) FurtherReviews(ctx context.Context, ref string) ([]casefile.FurtherReview, error) {
	var out []casefile.FurtherReview
	err := s.view(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.furtherReviews(ctx, ref)
		return err
	})
	return out, err
}

func (tx *Tx) furtherReviews(ctx context.Context, ref string) ([]casefile.FurtherReview, error) {
	rows, err := tx.QueryContext(ctx, `SELECT e.requested_at, e.source, e.late, COALESCE(e.decision, ''), e.reason, e.decided_by, e.outcome, e.upheld
		FROM further_reviews e JOIN cases c ON c.id = e.case_id WHERE c.ref = ? ORDER BY e.id`, ref)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []casefile.FurtherReview
	for rows.Next() {
		var e casefile.FurtherReview
		var at int64
		var upheld sql.NullBool
		if err := rows.Scan(&at, &e.Source, &e.Late, &e.Decision, &e.Reason, &e.DecidedBy, &e.Outcome, &upheld); err != nil {
			return nil, err
		}
		e.RequestedAt = fromMS(at)
		if upheld.Valid {
			e.Upheld = &upheld.Bool
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Quarantine keeps a message that could not be parsed, with its raw bytes
// and the error, so that it blocks nothing and can be retried after a fix.
// The same bytes again count another attempt; another message with the
// same Message-ID is kept beside it, under a key of its own.
func (s *Store) Quarantine(ctx context.Context, messageID string, raw []byte, cause error) (casefile.IngestResult, error) {
	return s.quarantine(ctx, nil, messageID, raw, cause)
}

// QuarantineFetched is Quarantine for a message downloaded from a mail
// store's item, recorded with it (see casefile.MailItem): an item filed
// or quarantined before is a duplicate, and nothing is kept again.
func (s *Store) QuarantineFetched(ctx context.Context, item casefile.MailItem, messageID string, raw []byte, cause error) (casefile.IngestResult, error) {
	return s.quarantine(ctx, &item, messageID, raw, cause)
}

func (s *Store) quarantine(ctx context.Context, item *casefile.MailItem, messageID string, raw []byte, cause error) (casefile.IngestResult, error) {
	key := casefile.MessageKey(messageID, raw)
	msg := casefile.CleanHeaderText(cause.Error())
	res := unverified(result(casefile.OutcomeQuarantined, "", key, msg), casefile.UnverifiedUnread)
	err := s.update(ctx, func(tx *Tx) error {
		if item != nil {
			r, ok, err := tx.filedItem(ctx, *item)
			if err != nil || ok {
				res = r.duplicate()
				return err
			}
		}
		kept, err := tx.quarantine(ctx, key, raw, msg)
		if err != nil {
			return err
		}
		res.MessageID = kept
		if item != nil {
			return tx.recordItem(ctx, *item, res)
		}
		return nil
	})
	return res, err
}

// quarantine keeps raw under key, or under a key of its own when another
// message is kept under key, and returns the key it is kept under.
func (tx *Tx) quarantine(ctx context.Context, key string, raw []byte, msg string) (string, error) {
	sum := casefile.Sum(raw)
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE header_id = ? AND sha256 = ?`, key, sum).Scan(&n); err != nil {
		return key, err
	}
	if n > 0 {
		return key, nil // it was read once already; nothing to keep
	}
	var prev []byte
	err := tx.QueryRowContext(ctx, `SELECT raw FROM quarantine WHERE message_key = ?`, key).Scan(&prev)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return key, fmt.Errorf("quarantine: %w", err)
	case !bytes.Equal(prev, raw):
		key = casefile.VariantKeySum(key, sum)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO quarantine (message_key, raw, error, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (message_key) DO UPDATE SET attempts = attempts + 1, error = excluded.error, resolved_at = NULL`,
		key, raw, msg, ms(tx.now)); err != nil {
		return key, fmt.Errorf("quarantine: %w", err)
	}
	_, err = tx.event(ctx, 0, "intake", "mail.quarantined", map[string]any{"message_key": key, "error": msg, "size": len(raw)})
	return key, err
}

// QuarantineList lists quarantined mail, unresolved first.
func (s *Store) QuarantineList(ctx context.Context, all bool) ([]casefile.QuarantineRecord, error) {
	q := `SELECT id, message_key, error, attempts, length(raw), created_at, resolved_at FROM quarantine`
	if !all {
		q += ` WHERE resolved_at IS NULL`
	}
	q += ` ORDER BY resolved_at IS NOT NULL, id`
	rows, err := s.rdb.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("quarantine list: %w", err)
	}
	defer rows.Close()
	var out []casefile.QuarantineRecord
	for rows.Next() {
		var r casefile.QuarantineRecord
		var created int64
		var resolved sql.NullInt64
		if err := rows.Scan(&r.ID, &r.MessageKey, &r.Error, &r.Attempts, &r.Size, &created, &resolved); err != nil {
			return nil, err
		}
		r.CreatedAt, r.ResolvedAt = fromMS(created), nullTime(resolved)
		r.MessageKey, r.Error = casefile.CleanHeaderText(r.MessageKey), casefile.CleanHeaderText(r.Error)
		out = append(out, r)
	}
	return out, rows.Err()
}

// QuarantineItem returns one quarantined message with its raw bytes.
func (s *Store) QuarantineItem(ctx context.Context, id int64) (*casefile.QuarantineRecord, error) {
	var r casefile.QuarantineRecord
	var created int64
	var resolved sql.NullInt64
	err := s.rdb.QueryRowContext(ctx, `SELECT id, message_key, error, attempts, raw, created_at, resolved_at FROM quarantine WHERE id = ?`, id).
		Scan(&r.ID, &r.MessageKey, &r.Error, &r.Attempts, &r.Raw, &created, &resolved)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, casefile.Errorf(casefile.ENOTFOUND, "no quarantined message %d", id)
	}
	if err != nil {
		return nil, err
	}
	r.Size = len(r.Raw)
	r.CreatedAt, r.ResolvedAt = fromMS(created), nullTime(resolved)
	return &r, nil
}

// ResolveQuarantine marks a quarantined message as dealt with.
func (s *Store) ResolveQuarantine(ctx context.Context, id int64) error {
	return s.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE quarantine SET resolved_at = ? WHERE id = ? AND resolved_at IS NULL`, ms(tx.now), id)
		return err
	})
}

// IMAPCheckpoint returns the UIDVALIDITY and last UID seen in a mailbox.
func (s *Store) IMAPCheckpoint(ctx context.Context, mailbox string) (uidValidity, lastUID uint32, err error) {
	err = s.rdb.QueryRowContext(ctx, `SELECT uidvalidity, last_uid FROM imap_state WHERE mailbox = ?`, mailbox).Scan(&uidValidity, &lastUID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	return uidValidity, lastUID, err
}

// SetIMAPCheckpoint records the UIDVALIDITY and last UID seen.
func (s *Store) SetIMAPCheckpoint(ctx context.Context, mailbox string, uidValidity, lastUID uint32) error {
	return s.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO imap_state (mailbox, uidvalidity, last_uid) VALUES (?, ?, ?)
			ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid`,
			mailbox, uidValidity, lastUID)
		return err
	})
}

// HasMessage reports whether a message with this key is stored (or
// quarantined, unresolved): the IMAP watcher uses it after a crash between
// commit and move.
func (s *Store) HasMessage(ctx context.Context, key string) (bool, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM messages WHERE message_id = ?) +
		(SELECT count(*) FROM quarantine WHERE message_key = ? AND resolved_at IS NULL)`, key, key).Scan(&n)
	return n > 0, err
}
