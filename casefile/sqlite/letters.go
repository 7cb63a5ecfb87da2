package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/csp/trigger/casefile"
)

// draftLetter builds the next version of a letter of this kind from the
// case record, in the resident's languages, and stores it.
func (tx *Tx) draftLetter(ctx context.Context, c *caseRow, kind, by string) (*casefile.Letter, error) {
	d, err := tx.letterData(ctx, c, kind)
	if err != nil {
		return nil, err
	}
	langs := tx.langsOf(c)
	text, err := casefile.Render(tx.s.LetterTemplates, kind, langs, d)
	if err != nil {
		return nil, err
	}
	further := d.FurtherReviewBy
	if kind == casefile.LetterMet {
		further = casefile.Date{} // the met letter offers no further review
	}
	return tx.storeLetter(ctx, c, kind, casefile.LangCode(langs), text, further, by)
}

func (tx *Tx) storeLetter(ctx context.Context, c *caseRow, kind, lang, text string, further casefile.Date, by string) (*casefile.Letter, error) {
	var v int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM letters WHERE case_id = ? AND kind = ?`, c.id, kind).Scan(&v); err != nil {
		return nil, err
	}
	l := &casefile.Letter{CaseRef: c.ref, Kind: kind, Version: v, Lang: lang, Subject: casefile.SubjectIn(c.ref, kind, lang), Text: text,
		FurtherReviewBy: further, CreatedBy: by, CreatedAt: tx.now}
	var err error
	if l.HTML, err = tx.letterHTML(ctx, c, l); err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(text))
	l.SHA256 = hex.EncodeToString(sum[:])
	res, err := tx.ExecContext(ctx, `INSERT INTO letters (case_id, kind, version, text, html, sha256, further_review_by, created_by, created_at, lang)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.id, kind, v, text, l.HTML, l.SHA256, further.String(), by, ms(tx.now), lang)
	if err != nil {
		return nil, fmt.Errorf("store letter: %w", err)
	}
	l.ID, _ = res.LastInsertId()
	ev, err := tx.event(ctx, c.id, by, "letter.drafted", map[string]any{"kind": kind, "version": v, "sha256": l.SHA256, "letter": l.ID, "lang": lang})
	if err != nil {
		return nil, err
	}
	_, err = tx.enqueue(ctx, c.id, ev, fmt.Sprintf("draft:%s:%d", c.ref, l.ID), casefile.PostDraftJob{Case: c.ref, Letter: l.ID})
	return l, err
}

// letterHTML renders a letter's HTML as the resident needs it now: in
// large print when they asked for it.
func (tx *Tx) letterHTML(ctx context.Context, c *caseRow, l *casefile.Letter) (string, error) {
	var formats string
	if err := tx.QueryRowContext(ctx, `SELECT formats FROM cases WHERE id = ?`, c.id).Scan(&formats); err != nil {
		return "", fmt.Errorf("letter html: %s: %w", c.ref, err)
	}
	return casefile.LetterHTMLWith(l.Subject, l.Text, casefile.HTMLOptions{
		LargePrint: strings.Contains(formats, casefile.FormatLargePrint), Lang: l.Lang,
	})
}

func (tx *Tx) letterData(ctx context.Context, c *caseRow, kind string) (*casefile.LetterData, error) {
	cs, err := tx.readCase(ctx, c.ref)
	if err != nil {
		return nil, err
	}
	cfg := tx.s.Config
	d := &casefile.LetterData{
		Ref: c.ref, Kind: kind, Today: casefile.DateOf(tx.now), ReceivedOn: casefile.DateOf(cs.ReceivedAt),
		Applicant: cs.Applicant, OnBehalfOf: cs.OnBehalfOf, Reasons: cs.Threshold.Reasons,
		Partnership: cfg.Partnership, Config: cfg,
		Contact: cs.ContactOfficer, Timescales: cfg.Timescales, Involvement: cs.Involvement.Choice,
		LargePrint: cs.Needs(casefile.FormatLargePrint), EasyRead: cs.Needs(casefile.FormatEasyRead),
	}
	// A partnership's own templates name the contact officer with the
	// [partnership] fields: they name the case's.
	name, title := cs.ContactOfficer.In(casefile.LangEnglish)
	if title != "" {
		name += ", " + title
	}
	d.Partnership.ContactOfficer, d.Partnership.ContactEmail, d.Partnership.ContactPhone = name, cs.ContactOfficer.Email, cs.ContactOfficer.Phone
	if dec := cs.Threshold.Decision; dec != nil {
		d.DecisionReason = dec.Reason
	}
	d.FurtherReviewBy = tx.s.Cal.AddWorkingDays(d.Today, cfg.Timescales.FurtherReview)
	if dl, ok := cs.Deadlines[casefile.DeadlineAgencyReplies]; ok {
		d.AgencyRepliesBy = dl.Due
	}
	if dl, ok := cs.Deadlines[casefile.DeadlineReviewMeeting]; ok {
		d.MeetingBy = dl.Due
	}
	if k := cs.Consultation; k != nil {
		d.ReplyBy, d.Commented = k.ReplyBy, k.RepliedAt != nil
	}
	for _, r := range cs.ThresholdReviews {
		d.ThresholdReviewPending = d.ThresholdReviewPending || r.Result == ""
	}
	reqs, err := tx.requests(ctx, c.ref)
	if err != nil {
		return nil, err
	}
	for _, r := range reqs {
		d.Agencies = append(d.Agencies, casefile.AgencyActions{ID: r.Agency, Name: d.AgencyName(r.Agency), NoReply: len(r.Replies) == 0, Replies: r.Replies})
	}
	if m, err := tx.meeting(ctx, c.ref); err != nil {
		return nil, err
	} else if m != nil {
		d.Meeting = *m
		if m.HeldAt != nil {
			d.MeetingDate = casefile.DateOf(*m.HeldAt)
		}
		if m.ScheduledFor != nil {
			d.MeetingDate, d.MeetingAt = casefile.DateOf(*m.ScheduledFor), *m.ScheduledFor
		}
		for _, r := range m.Recommendations {
			d.Recommendations = append(d.Recommendations, casefile.RecommendationView{Text: r.Text, Owner: d.AgencyName(r.Owner), OwnerID: r.Owner, Due: r.Due})
		}
	}
	d.Adequate = d.Meeting.Adequate == nil || *d.Meeting.Adequate
	var outcome, decision, reason sql.NullString
	var upheld sql.NullBool
	if err := optional(tx.QueryRowContext(ctx, `SELECT outcome, upheld, decision, reason FROM further_reviews WHERE case_id = ? ORDER BY id DESC LIMIT 1`, c.id).
		Scan(&outcome, &upheld, &decision, &reason)); err != nil {
		return nil, fmt.Errorf("letter %s: further review: %w", c.ref, err)
	}
	d.FurtherReviewOutcome, d.Upheld = outcome.String, upheld.Bool
	d.Declined, d.DeclineReason = decision.String == "declined", reason.String
	return d, nil
}

// Letters returns every version of a case's letters, oldest first.
func (s *Store) Letters(ctx context.Context, ref string) ([]casefile.Letter, error) {
	var out []casefile.Letter
	err := s.view(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.letters(ctx, ref)
		return err
	})
	return out, err
}

func (tx *Tx) letters(ctx context.Context, ref string) ([]casefile.Letter, error) {
	ids, err := queryColumn[int64](ctx, tx, `SELECT l.id FROM letters l JOIN cases c ON c.id = l.case_id WHERE c.ref = ? ORDER BY l.id`, ref)
	if err != nil {
		return nil, err
	}
	var out []casefile.Letter
	for _, id := range ids {
		l, err := tx.letter(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *l)
	}
	return out, nil
}

// Letter returns one letter version.
func (s *Store) Letter(ctx context.Context, id int64) (*casefile.Letter, error) {
	var l *casefile.Letter
	err := s.view(ctx, func(tx *Tx) error {
		var err error
		l, err = tx.letter(ctx, id)
		return err
	})
	return l, err
}

func (tx *Tx) letter(ctx context.Context, id int64) (*casefile.Letter, error) {
	var l casefile.Letter
	var further string
	var created int64
	var approvedBy sql.NullString
	var approved, sent sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT l.id, c.ref, l.kind, l.version, l.lang, l.text, l.html, l.sha256, l.further_review_by, l.created_by, l.created_at,
		l.approved_by, l.approved_at, l.sent_at FROM letters l JOIN cases c ON c.id = l.case_id WHERE l.id = ?`, id).
		Scan(&l.ID, &l.CaseRef, &l.Kind, &l.Version, &l.Lang, &l.Text, &l.HTML, &l.SHA256, &further, &l.CreatedBy, &created, &approvedBy, &approved, &sent)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, casefile.Errorf(casefile.ENOTFOUND, "no letter %d", id)
	}
	if err != nil {
		return nil, err
	}
	l.Subject = casefile.SubjectIn(l.CaseRef, l.Kind, l.Lang)
	l.FurtherReviewBy, _ = casefile.ParseDate(further)
	l.CreatedAt, l.ApprovedBy, l.ApprovedAt, l.SentAt = fromMS(created), approvedBy.String, nullTime(approved), nullTime(sent)
	return &l, nil
}

// letterRow is a letter version as the commands on letters need it.
type letterRow struct {
	id       int64
	kind     string
	version  int
	hash     string
	approved bool
}

// latestLetter returns the newest version of the case's letter of a kind;
// kind "" means the newest letter of any kind still waiting for approval,
// else the newest of all.
func (tx *Tx) latestLetter(ctx context.Context, caseID int64, kind string) (letterRow, error) {
	var l letterRow
	var ab sql.NullString
	q := `SELECT id, kind, version, sha256, approved_by FROM letters WHERE case_id = ? AND kind = ? ORDER BY id DESC LIMIT 1`
	args := []any{caseID, kind}
	if kind == "" {
		q = `SELECT id, kind, version, sha256, approved_by FROM letters WHERE case_id = ? ORDER BY approved_by IS NULL DESC, id DESC LIMIT 1`
		args = []any{caseID}
	}
	err := tx.QueryRowContext(ctx, q, args...).Scan(&l.id, &l.kind, &l.version, &l.hash, &ab)
	if errors.Is(err, sql.ErrNoRows) {
		err = casefile.Errorf(casefile.ENOTFOUND, "no letter has been drafted")
	}
	l.approved = ab.Valid
	return l, err
}

// letterKind is the kind of the letter a command on letter id would
// change: that letter's own while it waits for approval; once it is
// approved, the kind of the newest letter waiting (a button on an old
// draft must not allow what that letter does not), else its own. For id
// 0, the newest letter waiting for approval.
func (tx *Tx) letterKind(ctx context.Context, caseID, id int64) (string, error) {
	if id != 0 {
		var kind string
		var approved sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT kind, approved_by FROM letters WHERE id = ? AND case_id = ?`, id, caseID).Scan(&kind, &approved)
		if errors.Is(err, sql.ErrNoRows) {
			return "", casefile.Errorf(casefile.ENOTFOUND, "that letter is not one of this case's")
		}
		if err != nil || !approved.Valid {
			return kind, err
		}
		if pending, err := tx.latestLetter(ctx, caseID, ""); err == nil && !pending.approved {
			return pending.kind, nil
		}
		return kind, nil
	}
	l, err := tx.latestLetter(ctx, caseID, "")
	return l.kind, err
}

// draftOpen reports whether a letter of the kind may still change (be
// edited, approved, sent back) in the case's status: the met letter while
// the review is under way and before the response is drafted; the others
// while the case is drafting or awaiting approval.
func draftOpen(kind string, status casefile.Status) bool {
	if kind == casefile.LetterMet {
		switch status {
		case casefile.StatusAccepted, casefile.StatusGathering, casefile.StatusMeeting:
			return true
		}
		return false
	}
	return status == casefile.StatusAwaitingApproval || status == casefile.StatusDrafting
}

// EditLetter saves an edited text as a new version of a letter: the one
// basedOn names (the version the editor started from), or with basedOn 0
// the newest letter waiting for approval. When a newer version of that
// letter exists, the edit is refused rather than silently replacing
// someone else's changes. A response letter edited while drafting then
// awaits approval; the met letter does not move the case.
func (s *Store) EditLetter(ctx context.Context, a casefile.Actor, ref string, basedOn int64, text string) (*casefile.Letter, error) {
	by := a.Audit()
	text = casefile.TidyLetter(strings.ReplaceAll(text, "\r\n", "\n"))
	if len(strings.TrimSpace(text)) < 20 {
		return nil, casefile.Errorf(casefile.EINVALID, "text: the letter cannot be (nearly) empty")
	}
	var l *casefile.Letter
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		kind, err := tx.letterKind(ctx, c.id, basedOn)
		if err != nil {
			return err
		}
		latest, err := tx.latestLetter(ctx, c.id, kind)
		if err != nil {
			return err
		}
		if err := a.PermitLetter(casefile.ActEditLetter, kind); err != nil {
			return err
		}
		if !draftOpen(kind, c.status) || latest.approved {
			return casefile.Errorf(casefile.ECONFLICT, "%s is %s: there is no draft of this letter to edit", ref, c.status)
		}
		if basedOn != 0 && basedOn != latest.id {
			return casefile.Errorf(casefile.ECONFLICT, "a newer version of this letter exists (version %d): nothing was saved. Please edit that one.", latest.version)
		}
		sum := sha256.Sum256([]byte(text))
		if hex.EncodeToString(sum[:]) == latest.hash {
			return casefile.Errorf(casefile.ECONFLICT, "the text is unchanged: no new version was made")
		}
		var further, lang string
		if err := tx.QueryRowContext(ctx, `SELECT further_review_by, lang FROM letters WHERE id = ?`, latest.id).Scan(&further, &lang); err != nil {
			return err
		}
		fd, _ := casefile.ParseDate(further)
		if l, err = tx.storeLetter(ctx, c, kind, lang, text, fd, by); err != nil {
			return err
		}
		if kind != casefile.LetterMet && c.status == casefile.StatusDrafting {
			return tx.transition(ctx, c, casefile.StatusAwaitingApproval, "")
		}
		return nil
	})
	return l, err
}

// RequestChanges sends the newest draft back to the coordinator with a
// comment.
func (s *Store) RequestChanges(ctx context.Context, a casefile.Actor, ref, comment string) (casefile.Changed, error) {
	return s.RequestLetterChanges(ctx, a, ref, 0, comment)
}

// RequestLetterChanges sends a letter's draft (letterID; 0 for the newest
// waiting for approval) back to the coordinator with a comment. A response
// letter goes back to drafting; the met letter waits, unapproved, for its
// next version.
func (s *Store) RequestLetterChanges(ctx context.Context, a casefile.Actor, ref string, letterID int64, comment string) (casefile.Changed, error) {
	by := a.Audit()
	if strings.TrimSpace(comment) == "" {
		return false, casefile.Errorf(casefile.EINVALID, "comment: say what should change")
	}
	changed := false
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		kind, err := tx.letterKind(ctx, c.id, letterID)
		if err != nil {
			return err
		}
		if err := a.PermitLetter(casefile.ActRequestChanges, kind); err != nil {
			return err
		}
		if kind == casefile.LetterMet {
			latest, err := tx.latestLetter(ctx, c.id, kind)
			if err != nil {
				return err
			}
			if latest.approved || !draftOpen(kind, c.status) {
				return casefile.Errorf(casefile.ECONFLICT, "the letter is approved or out of date: nothing was changed")
			}
		} else {
			if c.status == casefile.StatusDrafting {
				return nil
			}
			if err := tx.transition(ctx, c, casefile.StatusDrafting, ""); err != nil {
				return err
			}
		}
		ev, err := tx.eventAs(ctx, c.id, a, "letter.changes_requested", map[string]any{"comment": comment, "kind": kind})
		if err != nil {
			return err
		}
		if _, err := tx.enqueue(ctx, c.id, ev, fmt.Sprintf("notify:%s:%d", ref, ev), casefile.NotifyJob{
			Case: ref, Event: ev, Coordinator: true,
			Text: fmt.Sprintf("<@%s> asked for changes to the draft: %s\nUse *Edit* on the draft to make a new version.", by, comment),
		}); err != nil {
			return err
		}
		changed = true
		return tx.cardChanged(ctx, c, ev)
	})
	return changed, err
}

// ApproveLetter approves one version of a letter, named by its id and hash,
// and queues exactly that version to be sent: to the applicant and, with
// consent, to the person they applied for. Approving an older version, or
// approving twice, sends nothing more. Approving a response letter answers
// the case (responded, or closed after a further review); approving the
// met letter sends it and leaves the case where it is.
func (s *Store) ApproveLetter(ctx context.Context, a casefile.Actor, ref string, letterID int64, hash string) (casefile.Changed, error) {
	by := a.Audit()
	changed := false
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		kind, err := tx.letterKind(ctx, c.id, letterID)
		if err != nil {
			return err
		}
		latest, err := tx.latestLetter(ctx, c.id, kind)
		if err != nil {
			return err
		}
		if err := a.PermitLetter(casefile.ActApproveLetter, kind); err != nil {
			return err
		}
		id, version := latest.id, latest.version
		if id != letterID || latest.hash != hash {
			var thisApproved sql.NullString
			if err := optional(tx.QueryRowContext(ctx, `SELECT approved_by FROM letters WHERE id = ? AND case_id = ?`, letterID, c.id).Scan(&thisApproved)); err != nil {
				return err
			}
			if thisApproved.Valid {
				return nil // approved already, by a click that won
			}
			return casefile.Errorf(casefile.ECONFLICT, "this is not the latest draft (version %d is): approve that one", version)
		}
		if latest.approved {
			return nil
		}
		if kind == casefile.LetterMet {
			if !draftOpen(kind, c.status) {
				return casefile.Errorf(casefile.ECONFLICT, "%s is %s: the decision letter is out of date and was not sent (the response tells the decision)", ref, c.status)
			}
		} else if c.status != casefile.StatusAwaitingApproval {
			return casefile.Errorf(casefile.ECONFLICT, "%s is %s: the draft is not awaiting approval", ref, c.status)
		}
		res, err := tx.ExecContext(ctx, `UPDATE letters SET approved_by = ?, approved_at = ? WHERE id = ? AND approved_by IS NULL`, by, ms(tx.now), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		// The HTML follows the resident's format needs as they are now.
		l, err := tx.letter(ctx, id)
		if err != nil {
			return err
		}
		html, err := tx.letterHTML(ctx, c, l)
		if err != nil {
			return err
		}
		if html != l.HTML {
			if _, err := tx.ExecContext(ctx, `UPDATE letters SET html = ? WHERE id = ?`, html, id); err != nil {
				return err
			}
		}
		if kind != casefile.LetterMet {
			if err := tx.transition(ctx, c, casefile.StatusResponded, `responded_at = ?`, ms(tx.now)); err != nil {
				return err
			}
		}
		ev, err := tx.eventAs(ctx, c.id, a, "letter.approved", map[string]any{"kind": kind, "version": version, "sha256": hash, "letter": id})
		if err != nil {
			return err
		}
		switch kind {
		case casefile.LetterMet:
		case casefile.LetterFurtherReview:
			if err := tx.closeDeadline(ctx, c.id, casefile.DeadlineResponse); err != nil {
				return err
			}
			if err := tx.transition(ctx, c, casefile.StatusClosed, `closed_at = ?`, ms(tx.now)); err != nil {
				return err
			}
			if err := tx.closure(ctx, c, ev, casefile.ClosedFurtherReview); err != nil {
				return err
			}
		default:
			if err := tx.closeDeadline(ctx, c.id, casefile.DeadlineResponse); err != nil {
				return err
			}
			var further string
			if err := tx.QueryRowContext(ctx, `SELECT further_review_by FROM letters WHERE id = ?`, id).Scan(&further); err != nil {
				return err
			}
			if d, err := casefile.ParseDate(further); err == nil {
				if err := tx.setDeadline(ctx, c.id, casefile.DeadlineFurtherReview, d); err != nil {
					return err
				}
			}
		}
		for _, to := range casefile.LetterRecipients(c.app) {
			if _, err := tx.enqueueTo(ctx, c.id, ev, fmt.Sprintf("letter:%s:%d:%s", ref, id, to.Role),
				casefile.LetterJob{Case: ref, Letter: id, To: to.Addr, Role: to.Role}, to.Addr); err != nil {
				return err
			}
		}
		if len(casefile.LetterRecipients(c.app)) == 0 {
			if _, err := tx.enqueue(ctx, c.id, ev, fmt.Sprintf("notify:%s:%d", ref, ev), casefile.NotifyJob{
				Case: ref, Event: ev, Coordinator: true,
				Text: "The letter is approved, but the applicant gave no email address: please send it by post and keep a copy.",
			}); err != nil {
				return err
			}
		}
		changed = true
		return tx.cardChanged(ctx, c, ev)
	})
	return changed, err
}

// MarkLetterSent records that a letter went to its recipient.
func (tx *Tx) markLetterSent(ctx context.Context, letterID int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE letters SET sent_at = COALESCE(sent_at, ?) WHERE id = ?`, ms(tx.now), letterID)
	return err
}
