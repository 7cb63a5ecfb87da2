package casefile

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	"sync"
	"text/template"
	"time"
)

//go:embed letters/*.tmpl
var letterFS embed.FS

// Letter kinds: letters to the applicant, drafted from the case record and
// sent once a person approves them.
const (
	LetterMet           = "met"            // the threshold is met: what happens next, how involved to be
	LetterNotMet        = "not_met"        // the threshold is not met
	LetterOutcome       = "outcome"        // the case review's outcome
	LetterFurtherReview = "further_review" // the further review's outcome
)

// Resident email kinds: emails the service writes from the case record and
// sends by itself, each once, through the outbox (see ResidentEmail).
const (
	MailAck          = "ack"          // the application has been received
	MailConsultation = "consultation" // the proposed recommendations, for comment by a date
	MailInvitation   = "invitation"   // to the review meeting
	MailUpdate       = "update"       // the meeting date, a deadline that slips, a new contact officer
	MailClosure      = "closure"      // when and why the case closed
)

// Letter is one version of a letter to the applicant.
type Letter struct {
	ID      int64  `json:"id"`
	CaseRef string `json:"case"`
	Kind    string `json:"kind"`
	Version int    `json:"version"`
	// Lang is the language of the text: "en", "cy", or "cy+en" for a
	// letter in both (Welsh first): one text, one fingerprint.
	Lang            string     `json:"lang"`
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

// Bilingual reports whether the letter holds both languages.
func (l *Letter) Bilingual() bool { return strings.Contains(l.Lang, "+") }

// ResidentEmail is an email to the resident the service wrote from the
// case record when something happened (the consultation, the invitation,
// an update, the closure), stored as sent so that the record shows exactly
// what the resident was told.
type ResidentEmail struct {
	ID        int64      `json:"id"`
	CaseRef   string     `json:"case"`
	Kind      string     `json:"kind"`
	Lang      string     `json:"lang"`
	Subject   string     `json:"subject"`
	Text      string     `json:"text"`
	HTML      string     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at"`
}

var subjects = map[string]map[string]string{
	LangEnglish: {
		MailAck:             "Your Community Trigger application has been received",
		LetterMet:           "Your Community Trigger application: our decision",
		LetterNotMet:        "Your Community Trigger application: our decision",
		LetterOutcome:       "Your Community Trigger case review: the partnership's response",
		LetterFurtherReview: "Your Community Trigger further review: the outcome",
		MailConsultation:    "Your case review: tell us what you think of the proposed actions",
		MailInvitation:      "Invitation to the meeting that reviews your case",
		MailUpdate:          "An update on your case",
		MailClosure:         "Your case is closed",
	},
	LangWelsh: {
		MailAck:             "Mae eich cais am y Sbardun Cymunedol wedi dod i law",
		LetterMet:           "Eich cais am y Sbardun Cymunedol: ein penderfyniad",
		LetterNotMet:        "Eich cais am y Sbardun Cymunedol: ein penderfyniad",
		LetterOutcome:       "Adolygiad achos y Sbardun Cymunedol: ymateb y bartneriaeth",
		LetterFurtherReview: "Adolygiad pellach y Sbardun Cymunedol: y canlyniad",
		MailConsultation:    "Adolygu eich achos: rhowch eich barn ar y camau arfaethedig",
		MailInvitation:      "Gwahoddiad i'r cyfarfod sy'n adolygu eich achos",
		MailUpdate:          "Diweddariad am eich achos",
		MailClosure:         "Mae eich achos wedi cau",
	},
}

// LetterSubject is the subject line of a letter's email, in English.
func LetterSubject(ref, kind string) string { return SubjectIn(ref, kind, LangEnglish) }

// SubjectIn is the subject of a letter or resident email in lang ("en",
// "cy", or "cy+en": both, Welsh first).
func SubjectIn(ref, kind, lang string) string {
	var parts []string
	for _, l := range strings.Split(lang, "+") {
		s, ok := subjects[l][kind]
		if !ok {
			s = subjects[LangEnglish][kind]
		}
		if s == "" {
			s = subjects[LangEnglish][LetterOutcome]
		}
		parts = append(parts, s)
	}
	return "[" + ref + "] " + strings.Join(parts, " / ")
}

// LetterData is what the templates see: the case record, never typed from
// scratch. Render fills the fields that depend on the language.
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
	// Config names the agencies; templates use AgencyName and AgencyIn.
	Config *Config

	// Lang is the language this text is written in; Welsh is set in a
	// partnership that writes Welsh too (every letter then welcomes
	// correspondence in Welsh).
	Lang  string
	Welsh bool
	// Names are the names letters put in sentences, in Lang.
	Names Names
	// Contact is the case's contact officer; ContactName and ContactTitle
	// are their name and title in Lang.
	Contact      ContactOfficer
	ContactName  string
	ContactTitle string
	Timescales   Timescales
	// Involvement is what the resident chose (met letter, updates).
	Involvement Involvement
	// LargePrint, EasyRead: the accessible formats the resident needs.
	LargePrint, EasyRead bool

	// The acknowledgement: the threshold decision's due date, and whether
	// to ask the resident which language they prefer.
	ThresholdDecisionBy Date
	AskLanguage         bool
	// The met letter: when the agencies should reply, and the meeting be held by.
	AgencyRepliesBy Date
	MeetingBy       Date
	// The consultation: comments by ReplyBy; Commented when the resident
	// commented (the response letter thanks them).
	ReplyBy   Date
	Commented bool
	// MeetingAt is when the meeting is, for the invitation and updates.
	MeetingAt time.Time
	Update    Update
	Closure   Closure
	// ThresholdReviewPending is set when a request to review a not-met
	// decision awaits its result (the closure email says so).
	ThresholdReviewPending bool
}

// Names are the names of the bodies and people letters write about, in one
// language.
type Names struct {
	Partnership string
	// ReviewOutcome hears a further review of the outcome.
	ReviewOutcome string
	// ThresholdReview hears a request to review a not-met decision; ""
	// when the configuration names nobody (the not-met letter then says
	// nothing of it).
	ThresholdReview      string
	ThresholdReviewEmail string
}

// Update is what an update email is about.
type Update struct {
	Kind string // UpdateMeeting, UpdateSlip, UpdateContact
	// Closed: the meeting is a closed session (UpdateMeeting).
	Closed bool
	// Late: the meeting is later than the date the resident was given
	// (UpdateMeeting, and the invitation).
	Late bool
	// Deadline is the Deadline* name that slipped, NewDate its new date,
	// Why a reason key ("consultation") or "".
	Deadline string
	NewDate  Date
	Why      string
}

// Update kinds.
const (
	UpdateMeeting = "meeting" // the meeting date is set
	UpdateSlip    = "slip"    // a deadline the resident was told of is later
	UpdateContact = "contact" // a new contact officer
)

// Closure is when and why a case closed.
type Closure struct {
	On     Date
	Reason string // ClosedWindow, ClosedWithdrawn, ClosedFurtherReview
	// NotMet is set for a case whose threshold was not met: the window
	// was for asking for a review of that decision.
	NotMet bool
}

// Why a case closed.
const (
	ClosedWindow        = "further_review_window" // the time to ask for a further review ended
	ClosedWithdrawn     = "withdrawn"             // the applicant withdrew
	ClosedFurtherReview = "further_review"        // the further review is done
)

// AgencyActions is what one agency said it received and did.
type AgencyActions struct {
	ID      string
	Name    string
	NoReply bool
	Replies []AgencyReply
}

// RecommendationView is a recommendation with its owner agency named.
type RecommendationView struct {
	Text    string
	Owner   string // the agency's name in English
	OwnerID string
	Due     Date
}

// EscalationOutcome is FurtherReviewOutcome under its old name, so that a
// partnership's own further_review template written before the rename
// still works.
func (d LetterData) EscalationOutcome() string { return d.FurtherReviewOutcome }

// GreetingName is the applicant's name as an email to them may greet them:
// only when it looks like a name (LooksLikeName), else "" and the templates
// say "Dear applicant". The name comes from whoever wrote the application —
// a display name, a form anyone can fill in — so anything else (a web
// address, a sentence, an email address) is never written back to the
// address the email goes to: an email to a resident is not a way to send
// someone else's words.
func (d LetterData) GreetingName() string { return GreetingName(d.Applicant.Name) }

// GreetingName is name, cleaned, when it looks like a person's name; "".
func GreetingName(name string) string {
	name = strings.TrimSpace(CleanHeaderText(name))
	if !LooksLikeName(name) {
		return ""
	}
	return name
}

// AgencyName is an agency's name in English, for templates.
func (d LetterData) AgencyName(id string) string {
	if a, ok := d.Config.Agency(id); ok {
		return a.Name
	}
	return id
}

// AgencyIn is an agency's name in the letter's language.
func (d LetterData) AgencyIn(id string) string { return d.Config.AgencyNameIn(id, d.Lang) }

// Partners names the configured agencies in English: "the Police, the
// District Council and the Housing provider".
func (d LetterData) Partners() string {
	var names []string
	for _, a := range d.Config.Agencies {
		names = append(names, "the "+a.Name)
	}
	switch len(names) {
	case 0:
		return "the partner agencies"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// The defaults' Welsh, for a Welsh letter whose configuration gives no
// _cy name.
const (
	defaultPartnershipCy   = "Partneriaeth Diogelwch Cymunedol"
	defaultContactCy       = "Arweinydd y Tîm Diogelwch Cymunedol"
	defaultReviewOutcomeCy = "Cadeirydd y Bartneriaeth Diogelwch Cymunedol"
)

// in returns the data as a text in lang sees it.
func (d *LetterData) in(lang string) *LetterData {
	c := *d
	c.Lang = lang
	cfg := d.Config
	if cfg == nil {
		def := DefaultConfig()
		cfg = &def
		c.Config = cfg
	}
	c.Welsh = cfg.Partnership.Welsh()
	p, fr := cfg.Partnership, cfg.FurtherReview
	def := DefaultConfig()
	c.Names = Names{Partnership: p.Name, ReviewOutcome: fr.ReviewOutcome, ThresholdReview: fr.ThresholdDecision, ThresholdReviewEmail: fr.ThresholdDecisionEmail}
	if lang == LangWelsh {
		c.Names.Partnership = welshOr(p.NameCy, p.Name, def.Partnership.Name, defaultPartnershipCy)
		c.Names.ReviewOutcome = welshOr(fr.ReviewOutcomeCy, fr.ReviewOutcome, DefaultReviewOutcomeBody, defaultReviewOutcomeCy)
		if fr.ThresholdDecisionCy != "" {
			c.Names.ThresholdReview = fr.ThresholdDecisionCy
		}
	}
	c.ContactName, c.ContactTitle = d.Contact.In(lang)
	if lang == LangWelsh && d.Contact.SlackID == "" && d.Contact.NameCy == "" && d.Contact.Name == def.Partnership.ContactOfficer {
		c.ContactName = defaultContactCy
	}
	return &c
}

// welshOr is the Welsh of a configured name: its _cy twin, else the
// built-in Welsh when the English is the built-in default, else the
// English.
func welshOr(cy, en, defEn, defCy string) string {
	switch {
	case cy != "":
		return cy
	case en == defEn:
		return defCy
	}
	return en
}

// LanguageBreak stands between the Welsh and the English text of a
// letter in both languages.
const LanguageBreak = "----------------------------------------"

// bilingualIntro opens a letter in both languages.
const bilingualIntro = "Mae'r fersiwn Saesneg isod. / The English version is below."

// Render writes the letter or email called name (met, ack, closure, …) in
// the languages given, first first. Each language has its template,
// NAME.txt.tmpl or NAME.cy.txt.tmpl. In two languages the text is the
// Welsh, then LanguageBreak, then the English: one text, so that one
// approval and one fingerprint cover both, and neither is sent after the
// other.
func Render(override fs.FS, name string, langs []string, d *LetterData) (string, error) {
	if len(langs) == 0 {
		langs = []string{LangEnglish}
	}
	sets, err := letterTemplates(override)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, lang := range langs {
		t, file := sets.en, name+".txt.tmpl"
		if lang == LangWelsh {
			t, file = sets.cy, name+".cy.txt.tmpl"
		}
		if t.Lookup(file) == nil {
			return "", Errorf(EINVALID, "letter template %s: there is none", file)
		}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, file, d.in(lang)); err != nil {
			return "", Errorf(EINVALID, "letter template %s: %v", file, err)
		}
		parts = append(parts, strings.TrimSpace(TidyLetter(buf.String())))
	}
	if len(parts) == 1 {
		return parts[0] + "\n", nil
	}
	return bilingualIntro + "\n\n" + strings.Join(parts, "\n\n"+LanguageBreak+"\n\n") + "\n", nil
}

// LangCode is how a letter's languages are recorded: "en", "cy", "cy+en".
func LangCode(langs []string) string {
	if len(langs) == 0 {
		return LangEnglish
	}
	return strings.Join(langs, "+")
}

// ParseTemplates parses the built-in templates now rather than at the
// first letter, and reports an error in them: a store calls it when it
// opens, so that no command's transaction pays for it.
func ParseTemplates() error {
	if _, err := letterTemplates(nil); err != nil {
		return err
	}
	// html/template works out its escaping at the first Execute.
	_, err := LetterHTMLWith("warm", "Heading\n\nA line.\n\n"+LanguageBreak+"\n\n  - an item", HTMLOptions{Lang: "cy+en"})
	return err
}

type letterSets struct{ en, cy *template.Template }

var builtin struct {
	once sync.Once
	sets *letterSets
	err  error
}

// letterTemplates parses the templates: an English set (NAME.txt.tmpl) and
// a Welsh one (NAME.cy.txt.tmpl), each with its common.*.txt.tmpl, since
// both define the same parts (greeting, contact, closing …). The built-in
// ones are parsed once.
func letterTemplates(override fs.FS) (*letterSets, error) {
	if override == nil {
		builtin.once.Do(func() { builtin.sets, builtin.err = parseLetterTemplates(nil) })
		return builtin.sets, builtin.err
	}
	return parseLetterTemplates(override)
}

func parseLetterTemplates(override fs.FS) (*letterSets, error) {
	sets := &letterSets{en: template.New("letters").Funcs(letterFuncs(LangEnglish)), cy: template.New("llythyrau").Funcs(letterFuncs(LangWelsh))}
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
		t := sets.en
		if strings.HasSuffix(n.Name(), ".cy.txt.tmpl") {
			t = sets.cy
		}
		if _, err := t.New(n.Name()).Parse(string(b)); err != nil {
			return nil, Errorf(EINVALID, "letter template %s: %v", n.Name(), err)
		}
	}
	return sets, nil
}

var (
	monthsCy   = [...]string{"Ionawr", "Chwefror", "Mawrth", "Ebrill", "Mai", "Mehefin", "Gorffennaf", "Awst", "Medi", "Hydref", "Tachwedd", "Rhagfyr"}
	weekdaysCy = [...]string{"dydd Sul", "dydd Llun", "dydd Mawrth", "dydd Mercher", "dydd Iau", "dydd Gwener", "dydd Sadwrn"}
)

// DateIn is a date as a letter in lang writes it: "3 December 2026",
// "3 Rhagfyr 2026".
func DateIn(d Date, lang string) string {
	if lang != LangWelsh || d.IsZero() {
		return d.Human()
	}
	return fmt.Sprintf("%d %s %d", d.Day, monthsCy[d.Month-1], d.Year)
}

// LongDateIn is a date with its weekday: "Monday 16 March 2026", "dydd
// Llun 16 Mawrth 2026".
func LongDateIn(d Date, lang string) string {
	if d.IsZero() {
		return d.Human()
	}
	if lang == LangWelsh {
		return weekdaysCy[d.Weekday()] + " " + DateIn(d, lang)
	}
	return d.Weekday().String() + " " + d.Human()
}

var deadlineWordsIn = map[string]map[string]string{
	LangEnglish: {
		DeadlineThresholdDecision: "our decision on your application",
		DeadlineReviewMeeting:     "the meeting to review your case",
		DeadlineResponse:          "our response to you",
	},
	LangWelsh: {
		DeadlineThresholdDecision: "ein penderfyniad ar eich cais",
		DeadlineReviewMeeting:     "y cyfarfod i adolygu eich achos",
		DeadlineResponse:          "ein hymateb i chi",
	},
}

func letterFuncs(lang string) template.FuncMap {
	return template.FuncMap{
		"inc": func(i int) int { return i + 1 },
		"capital": func(s string) string { // "the Chair …" at the start of a sentence
			if s == "" {
				return s
			}
			return strings.ToUpper(s[:1]) + s[1:]
		},
		"date":     func(d Date) string { return DateIn(d, lang) },
		"longdate": func(d Date) string { return LongDateIn(d, lang) },
		// onday is a date with its weekday after "on" / "ar": Welsh
		// mutates "dydd" after "ar" ("ar ddydd Llun").
		"onday": func(d Date) string {
			s := LongDateIn(d, lang)
			if lang == LangWelsh && strings.HasPrefix(s, "dydd ") {
				return "d" + s
			}
			return s
		},
		"clock": func(t time.Time) string { return t.In(London).Format("15:04") },
		"tag":   func(ref string) string { return "[" + ref + "]" },
		"link": func(s string) bool {
			s = strings.ToLower(strings.TrimSpace(s))
			return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
		},
		// wd is a number of working days: "10 working days", "10 diwrnod gwaith".
		"wd": func(n int) string {
			switch {
			case lang == LangWelsh:
				return fmt.Sprintf("%d diwrnod gwaith", n)
			case n == 1:
				return "1 working day"
			}
			return fmt.Sprintf("%d working days", n)
		},
		"deadline": func(name string) string {
			if w, ok := deadlineWordsIn[lang][name]; ok {
				return w
			}
			return deadlineWordsIn[LangEnglish][DeadlineResponse]
		},
	}
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

type htmlSection struct {
	Lang       string
	Paragraphs []htmlPara
}

// HTMLOptions shape a letter's HTML: LargePrint sets the text in 18 pt (a
// resident who asked for large print), Lang is the letter's language code
// (en, cy, cy+en).
type HTMLOptions struct {
	LargePrint bool
	Lang       string
}

// LetterHTML renders a letter's text as a simple, accessible HTML page: so
// the HTML part always says exactly what the approved text says.
func LetterHTML(subject, text string) (string, error) {
	return LetterHTMLWith(subject, text, HTMLOptions{})
}

// LetterHTMLWith is LetterHTML in large print or another language. A
// letter in both languages has each part marked with its language, so that
// a screen reader reads each in its own voice.
func LetterHTMLWith(subject, text string, o HTMLOptions) (string, error) {
	langs := strings.Split(o.Lang, "+")
	if o.Lang == "" {
		langs = []string{LangEnglish}
	}
	secs := []htmlSection{{Lang: langs[0]}}
	for _, block := range strings.Split(strings.TrimSpace(text), "\n\n") {
		lines := strings.Split(strings.Trim(block, "\n"), "\n")
		if len(lines) == 1 && strings.TrimSpace(lines[0]) == LanguageBreak {
			next := langs[min(len(secs), len(langs)-1)]
			secs = append(secs, htmlSection{Lang: next})
			continue
		}
		s := &secs[len(secs)-1]
		// A heading line over its text ("What happens next" and a list)
		// is a heading of its own.
		if len(lines) > 1 && headingLike(lines[0]) && !headingLike(lines[1]) {
			s.Paragraphs = append(s.Paragraphs, htmlPara{Heading: true, Text: lines[0]})
			lines = lines[1:]
		}
		var p htmlPara
		switch {
		case len(lines) == 1 && headingLike(lines[0]):
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
		s.Paragraphs = append(s.Paragraphs, p)
	}
	size := "16px"
	if o.LargePrint {
		size = "18pt"
	}
	var buf bytes.Buffer
	if err := letterHTML.Execute(&buf, map[string]any{"Subject": subject, "Lang": langs[0], "Sections": secs, "Size": size, "Split": len(secs) > 1}); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// headingLike: a short line that ends without punctuation and is not
// indented (a list item, an address line under a heading is indented or
// follows one).
func headingLike(l string) bool {
	return l != "" && len(l) < 60 && !strings.ContainsAny(l[len(l)-1:], ".,:;!?") && !strings.HasPrefix(l, " ") &&
		!strings.HasPrefix(l, "- ") && !strings.Contains(l, "@")
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
		!strings.EqualFold(v.Email, app.Applicant.Email) && !IsNoReply(v.Email) {
		out = append(out, Recipient{v.Email, "victim"})
	}
	return out
}

// AckData is what the acknowledgement's template sees for a case just
// opened: the dates that follow, whom to contact, and (in a partnership in
// Wales, when the resident's preference is not known) the question which
// language they prefer.
func AckData(c *Case, cfg *Config) *LetterData {
	d := &LetterData{
		Ref: c.Ref, Kind: MailAck, Today: DateOf(c.ReceivedAt), ReceivedOn: DateOf(c.ReceivedAt),
		Applicant: c.Applicant, OnBehalfOf: c.OnBehalfOf, Partnership: cfg.Partnership, Config: cfg,
		Contact: c.ContactOfficer, Timescales: cfg.Timescales, Involvement: c.Involvement.Choice,
		AskLanguage: cfg.Partnership.Welsh() && c.Language == "",
	}
	if dl, ok := c.Deadlines[DeadlineThresholdDecision]; ok && dl.DoneAt == nil {
		d.ThresholdDecisionBy = dl.Due
	}
	d.LargePrint, d.EasyRead = c.Needs(FormatLargePrint), c.Needs(FormatEasyRead)
	return d
}
