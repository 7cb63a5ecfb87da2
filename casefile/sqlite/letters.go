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
// case record and stores it.
func (tx *Tx) draftLetter(ctx context.Context, c *caseRow, kind, by string) (*casefile.Letter, error) {
	d, err := tx.letterData(ctx, c, kind)
	if err != nil {
		return nil, err
	}
	text, err := casefile.RenderLetter(tx.s.LetterTemplates, kind, d)
	if err != nil {
		return nil, err
	}
	return tx.storeLetter(ctx, c, kind, text, d.FurtherReviewBy, by)
}

func (tx *Tx) storeLetter(ctx context.Context, c *caseRow, kind, text string, further casefile.Date, by string) (*casefile.Letter, error) {
	var v int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM letters WHERE case_id = ? AND kind = ?`, c.id, kind).Scan(&v); err != nil {
		return nil, err
	}
	l := &casefile.Letter{CaseRef: c.ref, Kind: kind, Version: v, Subject: casefile.LetterSubject(c.ref, kind), Text: text,
		FurtherReviewBy: further, CreatedBy: by, CreatedAt: tx.now}
	var err error
	if l.HTML, err = casefile.LetterHTML(l.Subject, text); err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(text))
	l.SHA256 = hex.EncodeToString(sum[:])
	res, err := tx.ExecContext(ctx, `INSERT INTO letters (case_id, kind, version, text, html, sha256, further_review_by, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.id, kind, v, text, l.HTML, l.SHA256, further.String(), by, ms(tx.now))
	if err != nil {
		return nil, fmt.Errorf("store letter: %w", err)
	}
	l.ID, _ = res.LastInsertId()
	ev, err := tx.event(ctx, c.id, by, "letter.drafted", map[string]any{"kind": kind, "version": v, "sha256": l.SHA256, "letter": l.ID})
	if err != nil {
		return nil, err
	}
	_, err = tx.enqueue(ctx, c.id, ev, fmt.Sprintf("draft:%s:%d", c.ref, l.ID), casefile.PostDraftJob{Case: c.ref, Letter: l.ID})
	return l, err
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
	}
	if dec := cs.Threshold.Decision; dec != nil {
		d.DecisionReason = dec.Reason
	}
	d.FurtherReviewBy = tx.s.Cal.AddWorkingDays(d.Today, cfg.Timescales.FurtherReview)
	reqs, err := tx.requests(ctx, c.ref)
	if err != nil {
		return nil, err
	}
	for _, r := range reqs {
		d.Agencies = append(d.Agencies, casefile.AgencyActions{Name: d.AgencyName(r.Agency), NoReply: len(r.Replies) == 0, Replies: r.Replies})
	}
	if m, err := tx.meeting(ctx, c.ref); err != nil {
		return nil, err
	} else if m != nil {
		d.Meeting = *m
		if m.HeldAt != nil {
			d.MeetingDate = casefile.DateOf(*m.HeldAt)
		}
		if m.ScheduledFor != nil {
			d.MeetingDate = casefile.DateOf(*m.ScheduledFor)
		}
		for _, r := range m.Recommendations {
			d.Recommendations = append(d.Recommendations, casefile.RecommendationView{Text: r.Text, Owner: d.AgencyName(r.Owner), Due: r.Due})
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
	rows, err := tx.QueryContext(ctx, `SELECT l.id FROM letters l JOIN cases c ON c.id = l.case_id WHERE c.ref = ? ORDER BY l.id`, ref)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
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
	err := tx.QueryRowContext(ctx, `SELECT l.id, c.ref, l.kind, l.version, l.text, l.html, l.sha256, l.further_review_by, l.created_by, l.created_at,
		l.approved_by, l.approved_at, l.sent_at FROM letters l JOIN cases c ON c.id = l.case_id WHERE l.id = ?`, id).
		Scan(&l.ID, &l.CaseRef, &l.Kind, &l.Version, &l.Text, &l.HTML, &l.SHA256, &further, &l.CreatedBy, &created, &approvedBy, &approved, &sent)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, casefile.Errorf(casefile.ENOTFOUND, "no letter %d", id)
	}
	if err != nil {
		return nil, err
	}
	l.Subject = casefile.LetterSubject(l.CaseRef, l.Kind)
	l.FurtherReviewBy, _ = casefile.ParseDate(further)
	l.CreatedAt, l.ApprovedBy, l.ApprovedAt, l.SentAt = fromMS(created), approvedBy.String, nullTime(approved), nullTime(sent)
	return &l, nil
}

// latestLetter returns the newest version of the case's current letter.
func (tx *Tx) latestLetter(ctx context.Context, caseID int64) (id int64, kind string, version int, hash string, approved bool, err error) {
	var ab sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT id, kind, version, sha256, approved_by FROM letters WHERE case_id = ? ORDER BY id DESC LIMIT 1`, caseID).
		Scan(&id, &kind, &version, &hash, &ab)
	if errors.Is(err, sql.ErrNoRows) {
		err = casefile.Errorf(casefile.ENOTFOUND, "no letter has been drafted")
	}
	return id, kind, version, hash, ab.Valid, err
}

// EditLetter saves an edited text as a new version of the current letter.
// The case waits for approval of that version. basedOn is the version the
// editor started from: when a newer one exists, the edit is refused rather
// than silently replacing someone else's changes (0 skips the check).
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
		if c.status != casefile.StatusAwaitingApproval && c.status != casefile.StatusDrafting {
			return casefile.Errorf(casefile.ECONFLICT, "%s is %s: there is no draft to edit", ref, c.status)
		}
		id, kind, version, hash, _, err := tx.latestLetter(ctx, c.id)
		if err != nil {
			return err
		}
		if err := a.PermitLetter(casefile.ActEditLetter, kind); err != nil {
			return err
		}
		if basedOn != 0 && basedOn != id {
			return casefile.Errorf(casefile.ECONFLICT, "a newer version of this letter exists (version %d): nothing was saved. Please edit that one.", version)
		}
		sum := sha256.Sum256([]byte(text))
		if hex.EncodeToString(sum[:]) == hash {
			return casefile.Errorf(casefile.ECONFLICT, "the text is unchanged: no new version was made")
		}
		var further string
		if err := tx.QueryRowContext(ctx, `SELECT further_review_by FROM letters WHERE id = ?`, id).Scan(&further); err != nil {
			return err
		}
		fd, _ := casefile.ParseDate(further)
		if l, err = tx.storeLetter(ctx, c, kind, text, fd, by); err != nil {
			return err
		}
		if c.status == casefile.StatusDrafting {
			return tx.transition(ctx, c, casefile.StatusAwaitingApproval, "")
		}
		return nil
	})
	return l, err
}

// RequestChanges sends the draft back to the coordinator with a comment.
func (s *Store) RequestChanges(ctx context.Context, a casefile.Actor, ref, comment string) (casefile.Changed, error) {
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
		_, kind, _, _, _, err := tx.latestLetter(ctx, c.id)
		if err != nil {
			return err
		}
		if err := a.PermitLetter(casefile.ActRequestChanges, kind); err != nil {
			return err
		}
		if c.status == casefile.StatusDrafting {
			return nil
		}
		if err := tx.transition(ctx, c, casefile.StatusDrafting, ""); err != nil {
			return err
		}
		ev, err := tx.eventAs(ctx, c.id, a, "letter.changes_requested", map[string]any{"comment": comment})
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
// approving twice, sends nothing more.
func (s *Store) ApproveLetter(ctx context.Context, a casefile.Actor, ref string, letterID int64, hash string) (casefile.Changed, error) {
	by := a.Audit()
	changed := false
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		id, kind, version, latestHash, approved, err := tx.latestLetter(ctx, c.id)
		if err != nil {
			return err
		}
		if err := a.PermitLetter(casefile.ActApproveLetter, kind); err != nil {
			return err
		}
		if id != letterID || latestHash != hash {
			var thisApproved sql.NullString
			if err := optional(tx.QueryRowContext(ctx, `SELECT approved_by FROM letters WHERE id = ? AND case_id = ?`, letterID, c.id).Scan(&thisApproved)); err != nil {
				return err
			}
			if thisApproved.Valid {
				return nil // approved already, by a click that won
			}
			return casefile.Errorf(casefile.ECONFLICT, "this is not the latest draft (version %d is): approve that one", version)
		}
		if approved {
			return nil
		}
		if c.status != casefile.StatusAwaitingApproval {
			return casefile.Errorf(casefile.ECONFLICT, "%s is %s: the draft is not awaiting approval", ref, c.status)
		}
		res, err := tx.ExecContext(ctx, `UPDATE letters SET approved_by = ?, approved_at = ? WHERE id = ? AND approved_by IS NULL`, by, ms(tx.now), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if err := tx.transition(ctx, c, casefile.StatusResponded, `responded_at = ?`, ms(tx.now)); err != nil {
			return err
		}
		ev, err := tx.eventAs(ctx, c.id, a, "letter.approved", map[string]any{"kind": kind, "version": version, "sha256": hash, "letter": id})
		if err != nil {
			return err
		}
		if err := tx.closeDeadline(ctx, c.id, casefile.DeadlineResponse); err != nil {
			return err
		}
		if kind == casefile.LetterFurtherReview {
			if err := tx.transition(ctx, c, casefile.StatusClosed, `closed_at = ?`, ms(tx.now)); err != nil {
				return err
			}
		} else {
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
