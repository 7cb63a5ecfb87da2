package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/csp/trigger/casefile"
)

// ExportIndex is index.json of a case export: every file written, with its
// size and sha256, so the bundle can be checked after it is handed over.
type ExportIndex struct {
	Case       string       `json:"case"`
	ExportedAt time.Time    `json:"exported_at"`
	Purged     bool         `json:"personal_data_purged"`
	Files      []ExportFile `json:"files"`
}

// ExportFile is one file of an export.
type ExportFile struct {
	Path        string `json:"path"` // relative, with forward slashes
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Description string `json:"description"`
}

// storedMessage is what the export lists of a message; its raw bytes and
// attachments are streamed to their files, never held in memory whole.
type storedMessage struct {
	id                 int64
	messageID          string
	direction, kind    string
	subject, from      string
	at                 time.Time
	hasRaw             bool
	rawChunks          int
	attachments        []storedAttachment
	bodyText, bodyHTML string
}

type storedAttachment struct {
	id                    int64
	filename, contentType string
	size                  int64
	sha256                string
	hasData               bool
	chunks                int
}

// Export writes everything held about a case into dir, for a subject
// access request or an appeal bundle: the case record (JSON and readable),
// every email as .eml with its raw bytes, every attachment byte for byte,
// the agencies' replies, the meeting, every version of every letter, the
// further reviews and the chronology from the audit trail, with
// index.json listing each file's sha256. dir must be empty or not exist.
//
// Everything is read in one read transaction, so the bundle is one
// consistent moment of the case; raw mail and attachments are streamed
// chunk by chunk; the files are written into a temporary folder beside dir
// that becomes dir only once complete, so a failed export leaves nothing
// half-written. The export is recorded in the audit trail.
func (s *Store) Export(ctx context.Context, a casefile.Actor, ref, dir string) (*ExportIndex, error) {
	if err := a.Permit(casefile.ActExport); err != nil {
		return nil, err
	}
	by := a.Audit()
	if by == "" {
		return nil, casefile.Errorf(casefile.EINVALID, "by: who exported the case must be recorded")
	}
	exists, err := emptyDir(dir)
	if err != nil {
		return nil, err
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("out: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(filepath.Clean(dir))+".partial-")
	if err != nil {
		return nil, fmt.Errorf("out: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	x := &exporter{dir: tmp, idx: &ExportIndex{Case: ref, ExportedAt: s.Now().In(casefile.London), Files: []ExportFile{}}}
	if err := s.view(ctx, func(tx *Tx) error { return tx.export(ctx, x, ref) }); err != nil {
		return nil, err
	}
	idx, _ := json.MarshalIndent(x.idx, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, "index.json"), append(idx, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("export %s: %w", ref, err)
	}
	if exists {
		if err := os.Remove(dir); err != nil {
			return nil, fmt.Errorf("out: %w", err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, fmt.Errorf("export %s: %w", ref, err)
	}
	done = true
	if err := s.Audit(ctx, ref, by, "case.exported", map[string]any{"files": len(x.idx.Files)}); err != nil {
		return nil, err
	}
	return x.idx, nil
}

// export writes the bundle's files from one read transaction.
func (tx *Tx) export(ctx context.Context, x *exporter, ref string) error {
	c, err := tx.readCase(ctx, ref)
	if err != nil {
		return err
	}
	x.idx.Purged = c.Purged
	msgs, err := tx.storedMessages(ctx, c.ID)
	if err != nil {
		return err
	}
	reqs, err := tx.requests(ctx, ref)
	if err != nil {
		return err
	}
	meeting, err := tx.meeting(ctx, ref)
	if err != nil {
		return err
	}
	letters, err := tx.letters(ctx, ref)
	if err != nil {
		return err
	}
	reviews, err := tx.furtherReviews(ctx, ref)
	if err != nil {
		return err
	}
	residentMail, err := tx.residentEmails(ctx, ref)
	if err != nil {
		return err
	}
	events, err := tx.events(ctx, ref)
	if err != nil {
		return err
	}
	cfg := tx.s.Config
	caseJSON, _ := json.MarshalIndent(c, "", "  ")
	x.write("case.json", append(caseJSON, '\n'), "the case record, as `trigger case show --json` prints it")
	x.write("application.md", []byte(applicationMarkdown(c, cfg)), "the application and the threshold decision, readable")
	for i, m := range msgs {
		base := fmt.Sprintf("messages/%02d-%s-%s", i+1, m.direction, SafeFilename(m.kind))
		if m.hasRaw {
			x.stream(base+".eml", fmt.Sprintf("email %s (%s, %s), exactly as %s", m.messageID, m.direction, m.kind,
				map[string]string{"in": "received", "out": "sent"}[m.direction]), func(w io.Writer) error {
				return tx.copyBlob(ctx, w, `SELECT raw FROM messages WHERE id = ?`, m.id, messageOwner(m.id), m.rawChunks)
			})
		}
		for k, a := range m.attachments {
			if !a.hasData {
				continue
			}
			name := fmt.Sprintf("attachments/%02d-%02d-%s", i+1, k+1, SafeFilename(a.filename))
			x.stream(name, fmt.Sprintf("attachment %q (%s) of email %02d", a.filename, a.contentType, i+1), func(w io.Writer) error {
				return tx.copyBlob(ctx, w, `SELECT data FROM attachments WHERE id = ?`, a.id, attachmentOwner(a.id), a.chunks)
			})
		}
	}
	x.write("messages.md", []byte(messagesMarkdown(msgs)), "every email on the case, with what was kept of each")
	if len(reqs) > 0 {
		x.write("agency-replies.md", []byte(repliesMarkdown(reqs, cfg)), "the requests to the agencies and their replies")
	}
	if meeting != nil {
		x.write("meeting.md", []byte(meetingMarkdown(meeting, cfg)), "the case review meeting: plan, record and recommendations")
	}
	for i, l := range letters {
		base := fmt.Sprintf("letters/%02d-%s-v%d", i+1, SafeFilename(l.Kind), l.Version)
		state := "draft"
		if l.ApprovedAt != nil {
			state = "approved by " + l.ApprovedBy
		}
		if l.Text != "" {
			x.write(base+".txt", []byte(l.Text), fmt.Sprintf("%s letter, version %d (%s), text", l.Kind, l.Version, state))
		}
		if l.HTML != "" {
			x.write(base+".html", []byte(l.HTML), fmt.Sprintf("%s letter, version %d (%s), as the HTML email part", l.Kind, l.Version, state))
		}
	}
	for i, e := range residentMail {
		base := fmt.Sprintf("emails/%02d-%s", i+1, SafeFilename(e.Kind))
		if e.Text != "" {
			x.write(base+".txt", []byte(e.Text), fmt.Sprintf("%s email to the applicant (%s), text", e.Kind, e.Subject))
		}
		if e.HTML != "" {
			x.write(base+".html", []byte(e.HTML), fmt.Sprintf("%s email to the applicant, as the HTML email part", e.Kind))
		}
	}
	if len(reviews) > 0 {
		x.write("further-reviews.md", []byte(furtherReviewsMarkdown(reviews)), "requests for a further review and their outcomes")
	}
	evJSON, _ := json.MarshalIndent(events, "", "  ")
	x.write("chronology.json", append(evJSON, '\n'), "the audit trail, oldest first, as data")
	x.write("chronology.md", []byte(chronologyMarkdown(ref, events)), "the audit trail, oldest first, readable")
	x.write("README.md", []byte(readme(c, x.idx)), "what this bundle is and what each file holds")
	return x.err
}

// emptyDir checks that dir does not exist or is empty, and says whether it
// exists: an export never mixes with other files.
func emptyDir(dir string) (exists bool, err error) {
	if dir == "" {
		return false, casefile.Errorf(casefile.EINVALID, "out: a directory to write to is required")
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("out: %w", err)
	case len(entries) > 0:
		return true, casefile.Errorf(casefile.EINVALID, "out: %s is not empty: export into a new directory", dir)
	}
	return true, nil
}

type exporter struct {
	dir string
	idx *ExportIndex
	err error
}

func (x *exporter) write(rel string, data []byte, what string) {
	x.stream(rel, what, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// stream writes one file from fill, hashing it on the way, and lists it in
// the index.
func (x *exporter) stream(rel, what string, fill func(io.Writer) error) {
	if x.err != nil {
		return
	}
	path := filepath.Join(x.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		x.err = err
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		x.err = err
		return
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	err = fill(cw)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		x.err = fmt.Errorf("export %s: %w", rel, err)
		return
	}
	x.idx.Files = append(x.idx.Files, ExportFile{Path: rel, Size: cw.n, SHA256: hex.EncodeToString(h.Sum(nil)), Description: what})
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// copyBlob writes a raw message or an attachment to w: the inline value, or
// its chunks one at a time, so that a 25 MB email never sits in memory whole.
func (tx *Tx) copyBlob(ctx context.Context, w io.Writer, inlineQuery string, id int64, owner string, chunks int) error {
	if chunks == 0 {
		var b []byte
		if err := tx.QueryRowContext(ctx, inlineQuery, id).Scan(&b); err != nil {
			return err
		}
		_, err := w.Write(b)
		return err
	}
	for seq := 0; seq < chunks; seq++ {
		var b []byte
		err := tx.QueryRowContext(ctx, `SELECT data FROM chunks WHERE owner = ? AND seq = ?`, owner, seq).Scan(&b)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: chunk %d of %d missing", owner, seq, chunks)
		}
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// storedMessages lists a case's messages and their attachments, without
// their bytes.
func (tx *Tx) storedMessages(ctx context.Context, caseID int64) ([]storedMessage, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, message_id, direction, kind, subject, from_addr, at, raw IS NOT NULL, raw_chunks, body_text, body_html
		FROM messages WHERE case_id = ? ORDER BY at, id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("export: messages: %w", err)
	}
	var out []storedMessage
	for rows.Next() {
		var m storedMessage
		var at int64
		var inline bool
		if err := rows.Scan(&m.id, &m.messageID, &m.direction, &m.kind, &m.subject, &m.from, &at, &inline, &m.rawChunks, &m.bodyText, &m.bodyHTML); err != nil {
			rows.Close()
			return nil, err
		}
		m.at, m.hasRaw = fromMS(at), inline || m.rawChunks > 0
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		rows, err := tx.QueryContext(ctx, `SELECT id, filename, content_type, size, sha256, data IS NOT NULL, data_chunks FROM attachments WHERE message_id = ? ORDER BY id`, out[i].id)
		if err != nil {
			return nil, fmt.Errorf("export: attachments: %w", err)
		}
		for rows.Next() {
			var a storedAttachment
			var inline bool
			if err := rows.Scan(&a.id, &a.filename, &a.contentType, &a.size, &a.sha256, &inline, &a.chunks); err != nil {
				rows.Close()
				return nil, err
			}
			a.hasData = inline || a.chunks > 0
			out[i].attachments = append(out[i].attachments, a)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SafeFilename makes a name given by a sender safe to write: no directory,
// no control or special characters, no leading dot, at most 100 bytes with
// its extension kept; "file" when nothing is left.
func SafeFilename(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '-' || r == '_':
			b.WriteRune(r)
		case r == utf8.RuneError:
		default:
			b.WriteByte('_')
		}
	}
	s := strings.TrimLeft(b.String(), "._")
	for strings.Contains(s, "__") {
		s = strings.ReplaceAll(s, "__", "_")
	}
	if len(s) > 100 {
		ext := filepath.Ext(s)
		if len(ext) > 20 {
			ext = ""
		}
		stem := s[:100-len(ext)]
		for !utf8.ValidString(stem) {
			stem = stem[:len(stem)-1]
		}
		s = stem + ext
	}
	if strings.Trim(s, "._-") == "" {
		return "file"
	}
	return s
}

func mdLine(b *bytes.Buffer, k, v string) {
	if v != "" {
		fmt.Fprintf(b, "- **%s:** %s\n", k, v)
	}
}

func mdText(b *bytes.Buffer, text string) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintf(b, "> %s\n", l)
	}
	b.WriteString("\n")
}

func yesNoUnknown(p *bool) string {
	switch {
	case p == nil:
		return "not said"
	case *p:
		return "yes"
	default:
		return "no"
	}
}

func personMarkdown(b *bytes.Buffer, title string, p casefile.Person) {
	fmt.Fprintf(b, "\n## %s\n\n", title)
	if p.IsZero() {
		b.WriteString("Nothing held.\n")
		return
	}
	mdLine(b, "Name", p.Name)
	mdLine(b, "Email", p.Email)
	mdLine(b, "Phone", p.Phone)
	mdLine(b, "Address", p.Address)
	mdLine(b, "Postcode", p.Postcode)
}

func applicationMarkdown(c *casefile.Case, cfg *casefile.Config) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Case %s: the application\n\n", c.Ref)
	if c.Purged {
		b.WriteString("*The personal data of this case was removed under the retention policy. What is shown is what was kept.*\n\n")
	}
	mdLine(&b, "Status", string(c.Status))
	mdLine(&b, "Route", string(c.Route))
	mdLine(&b, "Received", c.ReceivedAt.Format("Monday 2 January 2006 15:04 (MST)"))
	mdLine(&b, "Source", c.Source)
	personMarkdown(&b, "Applicant", c.Applicant)
	if c.OnBehalfOf != nil {
		personMarkdown(&b, "Applying on behalf of", *c.OnBehalfOf)
	}
	for i, p := range c.CoApplicants {
		personMarkdown(&b, fmt.Sprintf("Co-applicant %d", i+1), p)
	}
	b.WriteString("\n## What the application says\n\n")
	mdLine(&b, "Location", c.Location)
	mdLine(&b, "Vulnerable", yesNoUnknown(c.Vulnerable))
	mdLine(&b, "Consent to share", yesNoUnknown(c.ConsentToShare))
	if c.Description != "" {
		b.WriteString("\nDescription:\n\n")
		mdText(&b, c.Description)
	}
	if len(c.Incidents) > 0 {
		b.WriteString("\n## Complaints\n\n| # | Behaviour on | Reported on | To | Reference | Description |\n|---|---|---|---|---|---|\n")
		for i, in := range c.Incidents {
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s |\n", i+1, orNotKnown(in.OccurredOn), orNotKnown(in.ReportedOn),
				casefile.AgencyName(cfg, in.Agency), mdCell(in.Reference), mdCell(in.Description))
		}
	}
	b.WriteString("\n## Threshold\n\n")
	fmt.Fprintf(&b, "Assessment: %s (%s)\n\n", c.Threshold.Assessment, casefile.Count(c.Threshold.QualifyingComplaints, "qualifying complaint", "qualifying complaints"))
	for _, r := range c.Threshold.Reasons {
		fmt.Fprintf(&b, "- %s\n", r)
	}
	if d := c.Threshold.Decision; d != nil {
		fmt.Fprintf(&b, "\nDecision: **%s**, by %s on %s.\n", d.Outcome, d.By, d.At.Format("2 January 2006"))
		if d.Reason != "" {
			b.WriteString("\nReason:\n\n")
			mdText(&b, d.Reason)
		}
	}
	if len(c.Deadlines) > 0 {
		b.WriteString("\n## Deadlines (working days)\n\n| Deadline | Due | Met |\n|---|---|---|\n")
		for _, n := range []string{casefile.DeadlineAcknowledge, casefile.DeadlineThresholdDecision, casefile.DeadlineAgencyReplies, casefile.DeadlineReviewMeeting, casefile.DeadlineResponse, casefile.DeadlineFurtherReview} {
			dl, ok := c.Deadlines[n]
			if !ok {
				continue
			}
			met := "open"
			if dl.DoneAt != nil {
				met = dl.DoneAt.Format("2 January 2006")
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", casefile.DeadlineWords[n], dl.Due.Human(), met)
		}
	}
	return b.String()
}

func orNotKnown(d casefile.Date) string { return d.Human() }

// mdCell keeps free text inside one Markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", "\\|", "\r\n", " ", "\n", " ").Replace(s)
}

func messagesMarkdown(msgs []storedMessage) string {
	var b bytes.Buffer
	b.WriteString("# Emails\n\n")
	if len(msgs) == 0 {
		b.WriteString("No email is held on this case.\n")
	}
	for i, m := range msgs {
		fmt.Fprintf(&b, "## %02d. %s %s, %s\n\n", i+1, map[string]string{"in": "Received", "out": "Sent"}[m.direction], m.kind, m.at.Format("2 January 2006 15:04"))
		mdLine(&b, "Message-ID", m.messageID)
		mdLine(&b, "From", m.from)
		mdLine(&b, "Subject", m.subject)
		if m.hasRaw {
			fmt.Fprintf(&b, "- **File:** messages/%02d-%s-%s.eml\n", i+1, m.direction, SafeFilename(m.kind))
		} else {
			b.WriteString("- **File:** none: the raw message is no longer held\n")
		}
		for k, a := range m.attachments {
			if a.hasData {
				fmt.Fprintf(&b, "- **Attachment:** attachments/%02d-%02d-%s (%s, %d bytes, sha256 %s)\n", i+1, k+1, SafeFilename(a.filename), a.contentType, a.size, a.sha256)
			} else {
				fmt.Fprintf(&b, "- **Attachment:** no longer held (%s, %d bytes, sha256 %s)\n", a.contentType, a.size, a.sha256)
			}
		}
		if m.bodyText != "" {
			b.WriteString("\n")
			mdText(&b, m.bodyText)
		} else {
			b.WriteString("\n")
		}
	}
	return b.String()
}

func repliesMarkdown(reqs []casefile.InfoRequest, cfg *casefile.Config) string {
	var b bytes.Buffer
	b.WriteString("# Requests to the agencies and their replies\n")
	for _, r := range reqs {
		fmt.Fprintf(&b, "\n## %s\n\n", casefile.AgencyName(cfg, r.Agency))
		mdLine(&b, "Asked", r.RequestedAt)
		mdLine(&b, "Due", r.Due.Human())
		if r.ByEmail {
			mdLine(&b, "Asked by", "email")
		}
		if len(r.Replies) == 0 {
			b.WriteString("\nNo reply was received.\n")
		}
		for i, rep := range r.Replies {
			fmt.Fprintf(&b, "\n### Reply %d, %s (by %s, %s)\n\n", i+1, rep.At, rep.Author, rep.Source)
			if rep.NoInfo {
				b.WriteString("No information held.\n\n")
			}
			for _, f := range []struct{ k, v string }{
				{"Complaints received", rep.Complaints}, {"Actions considered", rep.Considered},
				{"Actions taken", rep.Taken}, {"Current risk and notes", rep.Risk}, {"Reply", rep.Text},
			} {
				if f.v != "" {
					fmt.Fprintf(&b, "%s:\n\n", f.k)
					mdText(&b, f.v)
				}
			}
		}
	}
	return b.String()
}

func meetingMarkdown(m *casefile.Meeting, cfg *casefile.Config) string {
	var b bytes.Buffer
	b.WriteString("# The case review meeting\n\n")
	if m.ScheduledFor != nil {
		mdLine(&b, "Scheduled for", m.ScheduledFor.Format("Monday 2 January 2006 15:04"))
	}
	mdLine(&b, "Place", m.Place)
	mdLine(&b, "Invited", m.Attendees)
	if m.HeldAt != nil {
		mdLine(&b, "Outcome recorded", m.HeldAt.Format("Monday 2 January 2006 15:04"))
		mdLine(&b, "Recorded by", m.RecordedBy)
		var names []string
		for _, a := range m.Attendance {
			names = append(names, casefile.AgencyName(cfg, a))
		}
		mdLine(&b, "Agencies present", strings.Join(names, ", "))
		mdLine(&b, "Response adequate", yesNoUnknown(m.Adequate))
	}
	if m.Summary != "" {
		b.WriteString("\n## Findings\n\n")
		mdText(&b, m.Summary)
	}
	if len(m.Recommendations) > 0 {
		b.WriteString("\n## Recommendations\n\n| # | Recommendation | Owner | Due |\n|---|---|---|---|\n")
		for i, r := range m.Recommendations {
			fmt.Fprintf(&b, "| %d | %s | %s | %s |\n", i+1, mdCell(r.Text), casefile.AgencyName(cfg, r.Owner), r.Due.Human())
		}
	}
	return b.String()
}

func furtherReviewsMarkdown(escs []casefile.FurtherReview) string {
	var b bytes.Buffer
	b.WriteString("# Further reviews\n")
	for i, e := range escs {
		fmt.Fprintf(&b, "\n## Request %d, %s\n\n", i+1, e.RequestedAt.Format("2 January 2006"))
		mdLine(&b, "Asked by", e.Source)
		if e.Late {
			mdLine(&b, "Late", "yes: after the deadline")
		}
		mdLine(&b, "Decision", e.Decision)
		mdLine(&b, "Decided by", e.DecidedBy)
		if e.Upheld != nil {
			mdLine(&b, "Upheld", yesNoUnknown(e.Upheld))
		}
		if e.Reason != "" {
			b.WriteString("\nReason:\n\n")
			mdText(&b, e.Reason)
		}
		if e.Outcome != "" {
			b.WriteString("\nOutcome:\n\n")
			mdText(&b, e.Outcome)
		}
	}
	return b.String()
}

func chronologyMarkdown(ref string, events []casefile.Event) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Chronology of %s\n\nFrom the audit trail, oldest first. Times are London time.\n\n| # | When | Who | What | Details |\n|---|---|---|---|---|\n", ref)
	for _, e := range events {
		det := ""
		if len(e.Details) > 0 {
			d, _ := json.Marshal(e.Details)
			det = "`" + strings.ReplaceAll(string(d), "`", "'") + "`"
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s |\n", e.Seq, e.At.Format("2006-01-02 15:04:05"), mdCell(e.Actor), e.Kind, mdCell(det))
	}
	return b.String()
}

func readme(c *casefile.Case, idx *ExportIndex) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Everything held about case %s\n\nExported %s. `index.json` lists every file with its size and sha256.\n\n",
		c.Ref, idx.ExportedAt.Format("Monday 2 January 2006 15:04 (MST)"))
	if c.Purged {
		b.WriteString("The personal data of this case was removed under the retention policy: emails, attachments and texts that are no longer held are listed as such.\n\n")
	}
	b.WriteString("| File | What it holds |\n|---|---|\n")
	for _, f := range idx.Files {
		fmt.Fprintf(&b, "| %s | %s |\n", f.Path, mdCell(f.Description))
	}
	b.WriteString("| index.json | the list of files with their sha256 |\n")
	return b.String()
}
