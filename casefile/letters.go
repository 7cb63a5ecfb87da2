package casefile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

//go:embed letters/*.tmpl
var letterFS embed.FS

// Letter kinds.
const (
	LetterNotMet        = "not_met"        // the threshold is not met
	LetterOutcome       = "outcome"        // the case review's outcome
	LetterFurtherReview = "further_review" // the further review's outcome
)

// Letter is one version of a letter to the applicant.
type Letter struct {
	ID              int64      `json:"id"`
	CaseRef         string     `json:"case"`
	Kind            string     `json:"kind"`
	Version         int        `json:"version"`
	Subject         string     `json:"subject"`
	Text            string     `json:"text"`
	HTML            string     `json:"-"`
	SHA256          string     `json:"sha256"`
	FurtherReviewBy Date       `json:"further_review_by"`
	CreatedBy       string     `json:"created_by"`
	CreatedAt       time.Time  `json:"created_at"`
	ApprovedBy      string     `json:"approved_by,omitempty"`
	ApprovedAt      *time.Time `json:"approved_at"`
	SentAt          *time.Time `json:"sent_at"`
}

// ShortHash is the first characters of the letter's hash, as people quote it.
func (l *Letter) ShortHash() string { return l.SHA256[:min(12, len(l.SHA256))] }

// LetterSubject is the subject line of a letter's email.
func LetterSubject(ref, kind string) string {
	switch kind {
	case LetterNotMet:
		return "[" + ref + "] Your Community Trigger application: our decision"
	case LetterFurtherReview:
		return "[" + ref + "] Your Community Trigger further review: the outcome"
	default:
		return "[" + ref + "] Your Community Trigger case review: the partnership's response"
	}
}

// letterData is what the templates see: the case record, never typed from
// scratch.
type letterData struct {
	Ref               string
	Kind              string
	Today             Date
	ReceivedOn        Date
	Applicant         Person
	OnBehalfOf        *Person
	DecisionReason    string
	Reasons           []string
	Agencies          []agencyActions
	Meeting           Meeting
	MeetingDate       Date
	Adequate          bool // the review found the partnership's response adequate
	Recommendations   []recommendationView
	FurtherReviewBy   Date
	Partnership       PartnershipConfig
	EscalationOutcome string
	Upheld            bool
	Declined          bool // the Chair declined to hold a further review
	DeclineReason     string
	cfg               *Config
}

type agencyActions struct {
	Name    string
	NoReply bool
	Replies []AgencyReply
}

type recommendationView struct {
	Text  string
	Owner string
	Due   Date
}

// AgencyName is an agency's name, for templates.
func (d letterData) AgencyName(id string) string {
	if a, ok := d.cfg.Agency(id); ok {
		return a.Name
	}
	return id
}

// templates parses the letter templates: the embedded ones, each replaced
// by a file of the same name in the configured folder when there is one.
func (s *Store) templates() (*template.Template, error) {
	t := template.New("letters").Funcs(template.FuncMap{
		"inc": func(i int) int { return i + 1 },
		"capital": func(s string) string { // "the Chair …" at the start of a sentence
			if s == "" {
				return s
			}
			return strings.ToUpper(s[:1]) + s[1:]
		},
	})
	names, err := letterFS.ReadDir("letters")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if !strings.HasSuffix(n.Name(), ".txt.tmpl") {
			continue
		}
		b, err := letterFS.ReadFile("letters/" + n.Name())
		if err != nil {
			return nil, err
		}
		if dir := s.Config.Letters.Dir; dir != "" {
			if ob, err := os.ReadFile(filepath.Join(dir, n.Name())); err == nil {
				b = ob
			} else if !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("letter template %s: %w", n.Name(), err)
			}
		}
		if _, err := t.New(n.Name()).Parse(string(b)); err != nil {
			return nil, Errorf(EINVALID, "letter template %s: %v", n.Name(), err)
		}
	}
	return t, nil
}

// draftLetter builds the next version of a letter of this kind from the
// case record and stores it.
func (tx *Tx) draftLetter(ctx context.Context, c *caseRow, kind, by string) (*Letter, error) {
	d, err := tx.letterData(ctx, c, kind)
	if err != nil {
		return nil, err
	}
	t, err := tx.s.templates()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, kind+".txt.tmpl", d); err != nil {
		return nil, Errorf(EINVALID, "letter template %s: %v", kind, err)
	}
	return tx.storeLetter(ctx, c, kind, tidyLetter(buf.String()), d.FurtherReviewBy, by)
}

// tidyLetter removes runs of blank lines and trailing spaces.
func tidyLetter(s string) string {
	var out []string
	blank := 0
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n")) + "\n"
}

func (tx *Tx) storeLetter(ctx context.Context, c *caseRow, kind, text string, further Date, by string) (*Letter, error) {
	var v int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM letters WHERE case_id = ? AND kind = ?`, c.id, kind).Scan(&v); err != nil {
		return nil, err
	}
	l := &Letter{CaseRef: c.ref, Kind: kind, Version: v, Subject: LetterSubject(c.ref, kind), Text: text,
		FurtherReviewBy: further, CreatedBy: by, CreatedAt: tx.now}
	var err error
	if l.HTML, err = LetterHTML(l.Subject, text); err != nil {
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
	_, err = tx.enqueue(ctx, c.id, ev, JobSlackPostDraft, fmt.Sprintf("draft:%s:%d", c.ref, l.ID), map[string]any{"case": c.ref, "letter": l.ID})
	return l, err
}

func (tx *Tx) letterData(ctx context.Context, c *caseRow, kind string) (*letterData, error) {
	cs, err := tx.readCase(ctx, c.ref)
	if err != nil {
		return nil, err
	}
	cfg := tx.s.Config
	d := &letterData{
		Ref: c.ref, Kind: kind, Today: DateOf(tx.now), ReceivedOn: DateOf(cs.ReceivedAt),
		Applicant: cs.Applicant, OnBehalfOf: cs.OnBehalfOf, Reasons: cs.Threshold.Reasons,
		Partnership: cfg.Partnership, cfg: cfg,
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
		d.Agencies = append(d.Agencies, agencyActions{Name: d.AgencyName(r.Agency), NoReply: len(r.Replies) == 0, Replies: r.Replies})
	}
	if m, err := tx.meeting(ctx, c.ref); err != nil {
		return nil, err
	} else if m != nil {
		d.Meeting = *m
		if m.HeldAt != nil {
			d.MeetingDate = DateOf(*m.HeldAt)
		}
		if m.ScheduledFor != nil {
			d.MeetingDate = DateOf(*m.ScheduledFor)
		}
		for _, r := range m.Recommendations {
			d.Recommendations = append(d.Recommendations, recommendationView{Text: r.Text, Owner: d.AgencyName(r.Owner), Due: r.Due})
		}
	}
	d.Adequate = d.Meeting.Adequate == nil || *d.Meeting.Adequate
	var outcome, decision, reason sql.NullString
	var upheld sql.NullBool
	tx.QueryRowContext(ctx, `SELECT outcome, upheld, decision, reason FROM escalations WHERE case_id = ? ORDER BY id DESC LIMIT 1`, c.id).
		Scan(&outcome, &upheld, &decision, &reason)
	d.EscalationOutcome, d.Upheld = outcome.String, upheld.Bool
	d.Declined, d.DeclineReason = decision.String == "declined", reason.String
	return d, nil
}

var letterHTML = htmltemplate.Must(htmltemplate.ParseFS(letterFS, "letters/letter.html.tmpl"))

type htmlPara struct {
	Heading bool
	Text    string
	Lines   []string
	Items   []string
}

// LetterHTML renders a letter's text as a simple, accessible HTML page: so
// the HTML part always says exactly what the approved text says.
func LetterHTML(subject, text string) (string, error) {
	var paras []htmlPara
	for _, block := range strings.Split(strings.TrimSpace(text), "\n\n") {
		lines := strings.Split(strings.Trim(block, "\n"), "\n")
		var p htmlPara
		switch {
		case len(lines) == 1 && len(lines[0]) < 60 && !strings.ContainsAny(lines[0][len(lines[0])-1:], ".,:;!?") && !strings.HasPrefix(lines[0], "  "):
			p = htmlPara{Heading: true, Text: lines[0]}
		case allItems(lines):
			for _, l := range lines {
				p.Items = append(p.Items, strings.TrimPrefix(strings.TrimSpace(l), "- "))
			}
		default:
			for _, l := range lines {
				p.Lines = append(p.Lines, strings.TrimSpace(l))
			}
		}
		paras = append(paras, p)
	}
	var buf bytes.Buffer
	if err := letterHTML.Execute(&buf, map[string]any{"Subject": subject, "Paragraphs": paras}); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func allItems(lines []string) bool {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "- ") {
			n++
		}
	}
	return n > 0 && n == len(lines)
}

// Letters returns every version of a case's letters, oldest first.
func (s *Store) Letters(ctx context.Context, ref string) ([]Letter, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT l.id FROM letters l JOIN cases c ON c.id = l.case_id WHERE c.ref = ? ORDER BY l.id`, ref)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	var out []Letter
	for _, id := range ids {
		l, err := s.Letter(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *l)
	}
	return out, nil
}

// Letter returns one letter version.
func (s *Store) Letter(ctx context.Context, id int64) (*Letter, error) {
	var l Letter
	var further string
	var created int64
	var approvedBy sql.NullString
	var approved, sent sql.NullInt64
	err := s.rdb.QueryRowContext(ctx, `SELECT l.id, c.ref, l.kind, l.version, l.text, l.html, l.sha256, l.further_review_by, l.created_by, l.created_at,
		l.approved_by, l.approved_at, l.sent_at FROM letters l JOIN cases c ON c.id = l.case_id WHERE l.id = ?`, id).
		Scan(&l.ID, &l.CaseRef, &l.Kind, &l.Version, &l.Text, &l.HTML, &l.SHA256, &further, &l.CreatedBy, &created, &approvedBy, &approved, &sent)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(ENOTFOUND, "no letter %d", id)
	}
	if err != nil {
		return nil, err
	}
	l.Subject = LetterSubject(l.CaseRef, l.Kind)
	l.FurtherReviewBy, _ = ParseDate(further)
	l.CreatedAt, l.ApprovedBy, l.ApprovedAt, l.SentAt = fromMS(created), approvedBy.String, nullTime(approved), nullTime(sent)
	return &l, nil
}

// latestLetter returns the newest version of the case's current letter.
func (tx *Tx) latestLetter(ctx context.Context, caseID int64) (id int64, kind string, version int, hash string, approved bool, err error) {
	var ab sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT id, kind, version, sha256, approved_by FROM letters WHERE case_id = ? ORDER BY id DESC LIMIT 1`, caseID).
		Scan(&id, &kind, &version, &hash, &ab)
	if errors.Is(err, sql.ErrNoRows) {
		err = Errorf(ENOTFOUND, "no letter has been drafted")
	}
	return id, kind, version, hash, ab.Valid, err
}

// EditLetter saves an edited text as a new version of the current letter.
// The case waits for approval of that version.
func (s *Store) EditLetter(ctx context.Context, ref, text, by string) (*Letter, error) {
	text = tidyLetter(strings.ReplaceAll(text, "\r\n", "\n"))
	if len(strings.TrimSpace(text)) < 20 {
		return nil, Errorf(EINVALID, "text: the letter cannot be (nearly) empty")
	}
	var l *Letter
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		if c.status != StatusAwaitingApproval && c.status != StatusDrafting {
			return Errorf(ECONFLICT, "%s is %s: there is no draft to edit", ref, c.status)
		}
		_, kind, _, hash, _, err := tx.latestLetter(ctx, c.id)
		if err != nil {
			return err
		}
		sum := sha256.Sum256([]byte(text))
		if hex.EncodeToString(sum[:]) == hash {
			return Errorf(ECONFLICT, "the text is unchanged: no new version was made")
		}
		var further string
		tx.QueryRowContext(ctx, `SELECT further_review_by FROM letters WHERE case_id = ? ORDER BY id DESC LIMIT 1`, c.id).Scan(&further)
		fd, _ := ParseDate(further)
		if l, err = tx.storeLetter(ctx, c, kind, text, fd, by); err != nil {
			return err
		}
		if c.status == StatusDrafting {
			return tx.transition(ctx, c, StatusAwaitingApproval, "")
		}
		return nil
	})
	return l, err
}

// RequestChanges sends the draft back to the coordinator with a comment.
func (s *Store) RequestChanges(ctx context.Context, ref, comment, by string) (Changed, error) {
	if strings.TrimSpace(comment) == "" {
		return false, Errorf(EINVALID, "comment: say what should change")
	}
	changed := false
	err := s.update(ctx, func(tx *Tx) error {
		c, err := tx.loadCase(ctx, ref)
		if err != nil {
			return err
		}
		if c.status == StatusDrafting {
			return nil
		}
		if err := tx.transition(ctx, c, StatusDrafting, ""); err != nil {
			return err
		}
		ev, err := tx.event(ctx, c.id, by, "letter.changes_requested", map[string]any{"comment": comment})
		if err != nil {
			return err
		}
		if _, err := tx.enqueue(ctx, c.id, ev, JobSlackNotify, fmt.Sprintf("notify:%s:%d", ref, ev), map[string]any{
			"case": ref, "event": ev, "coordinator": true,
			"text": fmt.Sprintf("<@%s> asked for changes to the draft: %s\nUse *Edit* on the draft to make a new version.", by, comment),
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
func (s *Store) ApproveLetter(ctx context.Context, ref string, letterID int64, hash, by string) (Changed, error) {
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
		if id != letterID || latestHash != hash {
			var thisApproved sql.NullString
			tx.QueryRowContext(ctx, `SELECT approved_by FROM letters WHERE id = ? AND case_id = ?`, letterID, c.id).Scan(&thisApproved)
			if thisApproved.Valid {
				return nil // approved already, by a click that won
			}
			return Errorf(ECONFLICT, "this is not the latest draft (version %d is): approve that one", version)
		}
		if approved {
			return nil
		}
		if c.status != StatusAwaitingApproval {
			return Errorf(ECONFLICT, "%s is %s: the draft is not awaiting approval", ref, c.status)
		}
		res, err := tx.ExecContext(ctx, `UPDATE letters SET approved_by = ?, approved_at = ? WHERE id = ? AND approved_by IS NULL`, by, ms(tx.now), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if err := tx.transition(ctx, c, StatusResponded, `responded_at = ?`, ms(tx.now)); err != nil {
			return err
		}
		ev, err := tx.event(ctx, c.id, by, "letter.approved", map[string]any{"kind": kind, "version": version, "sha256": hash, "letter": id})
		if err != nil {
			return err
		}
		if err := tx.closeDeadline(ctx, c.id, DeadlineResponse); err != nil {
			return err
		}
		if kind == LetterFurtherReview {
			if err := tx.transition(ctx, c, StatusClosed, `closed_at = ?`, ms(tx.now)); err != nil {
				return err
			}
		} else {
			var further string
			tx.QueryRowContext(ctx, `SELECT further_review_by FROM letters WHERE id = ?`, id).Scan(&further)
			if d, err := ParseDate(further); err == nil {
				if err := tx.setDeadline(ctx, c.id, DeadlineFurtherReview, d); err != nil {
					return err
				}
			}
		}
		for _, to := range letterRecipients(c.app) {
			if _, err := tx.enqueueTo(ctx, c.id, ev, JobEmailLetter, fmt.Sprintf("letter:%s:%d:%s", ref, id, to.role),
				map[string]any{"case": ref, "letter": id, "to": to.addr, "role": to.role}, tx.now, to.addr); err != nil {
				return err
			}
		}
		if len(letterRecipients(c.app)) == 0 {
			if _, err := tx.enqueue(ctx, c.id, ev, JobSlackNotify, fmt.Sprintf("notify:%s:%d", ref, ev), map[string]any{
				"case": ref, "event": ev, "coordinator": true,
				"text": "The letter is approved, but the applicant gave no email address: please send it by post and keep a copy.",
			}); err != nil {
				return err
			}
		}
		changed = true
		return tx.cardChanged(ctx, c, ev)
	})
	return changed, err
}

type recipient struct{ addr, role string }

// letterRecipients are the applicant and, when they applied for someone who
// consented to sharing, that person.
func letterRecipients(app Application) []recipient {
	var out []recipient
	if a := strings.TrimSpace(app.Applicant.Email); a != "" && !IsNoReply(a) {
		out = append(out, recipient{a, "applicant"})
	}
	if v := app.OnBehalfOf; v != nil && v.Email != "" && app.ConsentToShare != nil && *app.ConsentToShare &&
		!strings.EqualFold(v.Email, app.Applicant.Email) {
		out = append(out, recipient{v.Email, "victim"})
	}
	return out
}

// MarkLetterSent records that a letter went to its recipient.
func (tx *Tx) markLetterSent(ctx context.Context, letterID int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE letters SET sent_at = COALESCE(sent_at, ?) WHERE id = ?`, ms(tx.now), letterID)
	return err
}
