package casefile

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
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

// LetterData is what the templates see: the case record, never typed from
// scratch.
type LetterData struct {
	Ref                  string
	Kind                 string
	Today                Date
	ReceivedOn           Date
	Applicant            Person
	OnBehalfOf           *Person
	DecisionReason       string
	Reasons              []string
	Agencies             []AgencyActions
	Meeting              Meeting
	MeetingDate          Date
	Adequate             bool // the review found the partnership's response adequate
	Recommendations      []RecommendationView
	FurtherReviewBy      Date
	Partnership          PartnershipConfig
	FurtherReviewOutcome string
	Upheld               bool
	Declined             bool // the Chair declined to hold a further review
	DeclineReason        string
	// Config names the agencies; templates use AgencyName.
	Config *Config
}

// AgencyActions is what one agency said it received and did.
type AgencyActions struct {
	Name    string
	NoReply bool
	Replies []AgencyReply
}

// RecommendationView is a recommendation with its owner agency named.
type RecommendationView struct {
	Text  string
	Owner string
	Due   Date
}

// EscalationOutcome is FurtherReviewOutcome under its old name, so that a
// partnership's own further_review template written before the rename
// still works.
func (d LetterData) EscalationOutcome() string { return d.FurtherReviewOutcome }

// AgencyName is an agency's name, for templates.
func (d LetterData) AgencyName(id string) string {
	if a, ok := d.Config.Agency(id); ok {
		return a.Name
	}
	return id
}

// RenderLetter writes a letter of the kind from its data with the letter
// templates: the built-in ones, each replaced by a file of the same name in
// override when it has one (the partnership's own wording; nil for none).
func RenderLetter(override fs.FS, kind string, d *LetterData) (string, error) {
	t, err := letterTemplates(override)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, kind+".txt.tmpl", d); err != nil {
		return "", Errorf(EINVALID, "letter template %s: %v", kind, err)
	}
	return TidyLetter(buf.String()), nil
}

func letterTemplates(override fs.FS) (*template.Template, error) {
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
		if override != nil {
			if ob, err := fs.ReadFile(override, n.Name()); err == nil {
				b = ob
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("letter template %s: %w", n.Name(), err)
			}
		}
		if _, err := t.New(n.Name()).Parse(string(b)); err != nil {
			return nil, Errorf(EINVALID, "letter template %s: %v", n.Name(), err)
		}
	}
	return t, nil
}

// TidyLetter removes runs of blank lines and trailing spaces.
func TidyLetter(s string) string {
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

// Recipient is someone a letter is sent to, and why.
type Recipient struct{ Addr, Role string }

// LetterRecipients are the applicant and, when they applied for someone who
// consented to sharing, that person.
func LetterRecipients(app Application) []Recipient {
	var out []Recipient
	if a := strings.TrimSpace(app.Applicant.Email); a != "" && !IsNoReply(a) {
		out = append(out, Recipient{a, "applicant"})
	}
	if v := app.OnBehalfOf; v != nil && v.Email != "" && app.ConsentToShare != nil && *app.ConsentToShare &&
		!strings.EqualFold(v.Email, app.Applicant.Email) {
		out = append(out, Recipient{v.Email, "victim"})
	}
	return out
}
