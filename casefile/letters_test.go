package casefile_test

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// residentTemplates are every letter and email to a resident: each ships
// in English (NAME.txt.tmpl) and Welsh (NAME.cy.txt.tmpl).
var residentTemplates = []string{
	casefile.MailAck, casefile.LetterMet, casefile.LetterNotMet, casefile.LetterOutcome, casefile.LetterFurtherReview,
	casefile.MailConsultation, casefile.MailInvitation, casefile.MailUpdate, casefile.MailClosure,
}

func welshConfig() *casefile.Config {
	cfg := casefile.DefaultConfig()
	cfg.Partnership.Languages = []string{"cy", "en"}
	cfg.Partnership.Name = "Exampleshire Community Safety Partnership"
	cfg.Partnership.NameCy = "Partneriaeth Diogelwch Cymunedol Sir Enghraifft"
	cfg.Roles.Coordinator = casefile.IDList{"U0COORD"}
	cfg.Officers = []casefile.Officer{{SlackID: "U0COORD", Name: "Sam Patel", Title: "Community Safety Team Leader",
		TitleCy: "Arweinydd y Tîm Diogelwch Cymunedol", Email: "sam.patel@example-council.gov.uk", Phone: "01234 567891"}}
	cfg.FurtherReview.ThresholdDecision = "the Office of the Police and Crime Commissioner"
	cfg.FurtherReview.ThresholdDecisionCy = "Swyddfa Comisiynydd yr Heddlu a Throseddu"
	cfg.FurtherReview.ThresholdDecisionEmail = "reviews@opcc.example.gov.uk"
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return &cfg
}

func englishConfig() *casefile.Config {
	cfg := casefile.DefaultConfig()
	cfg.Partnership.Name = "Exampleton Community Safety Partnership"
	cfg.Partnership.ContactEmail = "communitysafety@example-council.gov.uk"
	cfg.Partnership.ContactPhone = "01234 567890"
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return &cfg
}

// sampleData is one case's letter data, as the store builds it, for a
// template: the fields each template needs set.
func sampleData(cfg *casefile.Config, name string) *casefile.LetterData {
	held := time.Date(2026, 11, 11, 14, 0, 0, 0, casefile.London)
	yes := false
	d := &casefile.LetterData{
		Ref: "CT-2026-0001", Kind: name, Today: casefile.MustDate("2026-11-12"), ReceivedOn: casefile.MustDate("2026-10-12"),
		Applicant:      casefile.Person{Name: "Lucy Fielding", Email: "lucy.fielding@example.net"},
		DecisionReason: "three complaints in two months",
		Reasons:        []string{"3 qualifying complaints: the threshold is 3"},
		Agencies: []casefile.AgencyActions{
			{ID: "police", Name: "Police", Replies: []casefile.AgencyReply{{Agency: "police", Taken: "Extra patrols on Friday nights"}}},
			{ID: "housing", Name: "Housing provider", Replies: []casefile.AgencyReply{{Agency: "housing", NoInfo: true}}},
			{ID: "council", Name: "District Council", NoReply: true},
		},
		Meeting:     casefile.Meeting{ScheduledFor: &held, HeldAt: &held, Place: "Council offices, Committee Room 2", Summary: "Nobody joined the reports up.", Adequate: &yes},
		MeetingDate: casefile.DateOf(held), MeetingAt: held,
		Recommendations: []casefile.RecommendationView{
			{Text: "Agree a joint plan for the alleyway", Owner: "District Council", OwnerID: "council", Due: casefile.MustDate("2026-12-15")},
		},
		FurtherReviewBy: casefile.MustDate("2026-12-10"), Partnership: cfg.Partnership, Config: cfg,
		Contact: cfg.ContactFor(""), Timescales: cfg.Timescales,
		ThresholdDecisionBy: casefile.MustDate("2026-10-26"), AskLanguage: cfg.Partnership.Welsh(),
		AgencyRepliesBy: casefile.MustDate("2026-10-26"), MeetingBy: casefile.MustDate("2026-11-09"),
		ReplyBy: casefile.MustDate("2026-11-19"), FurtherReviewOutcome: "The Chair found that the police should have linked the reports.",
		Update:  casefile.Update{Kind: casefile.UpdateMeeting, Closed: true},
		Closure: casefile.Closure{On: casefile.MustDate("2026-12-11"), Reason: casefile.ClosedWindow},
	}
	return d
}

// TestTemplatesGolden renders every template in both languages (English
// in an English partnership and in a Welsh one) against golden files:
// go test ./casefile -run TestTemplatesGolden -update rewrites them.
func TestTemplatesGolden(t *testing.T) {
	for _, name := range residentTemplates {
		for _, tc := range []struct {
			file  string
			cfg   *casefile.Config
			langs []string
		}{
			{name + ".en.golden.txt", englishConfig(), []string{"en"}},
			{name + ".cy.golden.txt", welshConfig(), []string{"cy"}},
		} {
			t.Run(tc.file, func(t *testing.T) {
				got, err := casefile.Render(nil, name, tc.langs, sampleData(tc.cfg, name))
				if err != nil {
					t.Fatal(err)
				}
				goldenText(t, tc.file, got)
				checkLetter(t, got, tc.cfg, tc.langs[0])
			})
		}
	}
}

func goldenText(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "letters", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", path, got)
	}
}

var (
	sentenceRE = regexp.MustCompile(`[^.!?\n]+[.!?]`)
	acronymRE  = regexp.MustCompile(`\b[A-Z]{2,5}\b`)
)

// checkLetter asserts what every letter and email must do, whatever it
// says: name the contact officer with their direct contact details, say
// that correspondence in Welsh is welcome exactly in a Welsh partnership,
// spell out ASB before using it, keep sentences short, and leave no
// template debris.
func checkLetter(t *testing.T, text string, cfg *casefile.Config, lang string) {
	t.Helper()
	c := cfg.ContactFor("")
	for _, want := range []string{c.Email, c.Phone, "CT-2026-0001"} {
		if want != "" && !strings.Contains(text, want) {
			t.Errorf("the letter lacks %q", want)
		}
	}
	welcome := strings.Contains(text, "We welcome correspondence in Welsh") && strings.Contains(text, "Rydym yn croesawu gohebiaeth yn Gymraeg")
	if welcome != cfg.Partnership.Welsh() {
		t.Errorf("the statement that correspondence in Welsh is welcome (in both languages): %v, want %v", welcome, cfg.Partnership.Welsh())
	}
	for _, bad := range []string{"<no value>", "{{", "%!", "not known"} {
		if strings.Contains(text, bad) {
			t.Errorf("the letter holds %q", bad)
		}
	}
	if lang == "en" {
		if i := strings.Index(text, "ASB"); i >= 0 && !strings.Contains(text[:i+4], "anti-social behaviour (ASB)") {
			t.Errorf("ASB is used before it is spelt out")
		}
		for _, a := range acronymRE.FindAllString(text, -1) {
			switch a {
			case "ASB", "CT":
			default:
				t.Errorf("unexplained acronym %q", a)
			}
		}
	}
	for _, s := range sentenceRE.FindAllString(text, -1) {
		if n := len(strings.Fields(s)); n > 40 {
			t.Errorf("a sentence of %d words: %q", n, strings.TrimSpace(s))
		}
	}
}

// A Welsh partnership writes to a resident whose preference is not known in
// both languages, Welsh first, in one text; its HTML marks each part with
// its language, and large print is 16 pt or more.
func TestBilingualLetter(t *testing.T) {
	cfg := welshConfig()
	d := sampleData(cfg, casefile.LetterMet)
	langs := cfg.LanguagesFor("")
	text, err := casefile.Render(nil, casefile.LetterMet, langs, d)
	if err != nil {
		t.Fatal(err)
	}
	cy, en := strings.Index(text, "Annwyl Lucy Fielding"), strings.Index(text, "Dear Lucy Fielding")
	brk := strings.Index(text, casefile.LanguageBreak)
	if cy < 0 || en < 0 || !(cy < brk && brk < en) {
		t.Fatalf("want Welsh, the break, then English; got cy %d, break %d, en %d:\n%s", cy, brk, en, text)
	}
	goldenText(t, "met.cy+en.golden.txt", text)
	subject := casefile.SubjectIn(d.Ref, casefile.LetterMet, casefile.LangCode(langs))
	if subject != "[CT-2026-0001] Eich cais am y Sbardun Cymunedol: ein penderfyniad / Your Community Trigger application: our decision" {
		t.Errorf("subject %q", subject)
	}
	html, err := casefile.LetterHTMLWith(subject, text, casefile.HTMLOptions{LargePrint: true, Lang: casefile.LangCode(langs)})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<html lang="cy">`, `<div lang="cy">`, `<div lang="en">`, "font-size: 18pt", "<hr"} {
		if !strings.Contains(html, want) {
			t.Errorf("the HTML lacks %s", want)
		}
	}
	goldenText(t, "met.cy+en.golden.html", html)
	plain, _ := casefile.LetterHTML(subject, text)
	if !strings.Contains(plain, "font-size: 16px") || strings.Contains(plain, "pt;") {
		t.Error("a letter without large print is in the ordinary size")
	}
}

// The not-met letter names the body that reviews a not-met decision only
// when the configuration names one; then it offers that route instead of
// the further review.
func TestNotMetLetterRoute(t *testing.T) {
	with := englishConfig()
	with.FurtherReview.ThresholdDecision = "the Office of the Police and Crime Commissioner"
	with.FurtherReview.ThresholdDecisionEmail = "reviews@opcc.example.gov.uk"
	text, err := casefile.Render(nil, casefile.LetterNotMet, []string{"en"}, sampleData(with, casefile.LetterNotMet))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"If you think our decision is wrong", "The Office of the Police and Crime Commissioner does this review", "reviews@opcc.example.gov.uk", "Please ask by 10 December 2026"} {
		if !strings.Contains(text, want) {
			t.Errorf("with the route set, the letter lacks %q:\n%s", want, text)
		}
	}
	text, err = casefile.Render(nil, casefile.LetterNotMet, []string{"en"}, sampleData(englishConfig(), casefile.LetterNotMet))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"Police and Crime Commissioner", "our decision is wrong", "opcc"} {
		if strings.Contains(text, bad) {
			t.Errorf("with no route set, the letter says %q", bad)
		}
	}
}

// A partnership's own template replaces the built-in one of the same name,
// in either language, and a template missing in one language is an error
// that names it.
func TestTemplateOverride(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "closure.cy.txt.tmpl"), []byte("Ein fersiwn ein hunain: {{.Ref}}\n"), 0o644)
	got, err := casefile.Render(os.DirFS(dir), casefile.MailClosure, []string{"cy", "en"}, sampleData(welshConfig(), casefile.MailClosure))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "Ein fersiwn ein hunain: CT-2026-0001") || !strings.Contains(got, "Your case is closed") {
		t.Errorf("override:\n%s", got)
	}
	if _, err := casefile.Render(nil, "nonesuch", []string{"cy"}, sampleData(welshConfig(), "nonesuch")); err == nil || !strings.Contains(err.Error(), "nonesuch.cy.txt.tmpl") {
		t.Errorf("missing template: %v", err)
	}
}

func TestDatesInWelsh(t *testing.T) {
	d := casefile.MustDate("2026-03-16")
	if got := casefile.LongDateIn(d, "cy"); got != "dydd Llun 16 Mawrth 2026" {
		t.Errorf("%q", got)
	}
	if got := casefile.LongDateIn(d, "en"); got != "Monday 16 March 2026" {
		t.Errorf("%q", got)
	}
}

// Welsh mutates "dydd" after "ar": a weekday after "ar" reads "ar ddydd".
func TestWelshMutationAfterAr(t *testing.T) {
	cfg := welshConfig()
	for _, name := range residentTemplates {
		text, err := casefile.Render(nil, name, []string{"cy"}, sampleData(cfg, name))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(text, " ar dydd ") {
			t.Errorf("%s: %q needs the soft mutation (ar ddydd)", name, "ar dydd")
		}
	}
}

// TestTemplateVariantsGolden pins the branches the main goldens do not
// take, in both languages: each kind of update, each reason for closing,
// a late online invitation, a further review declined and upheld, and the
// not-met letter without a route for reviewing the decision.
func TestTemplateVariantsGolden(t *testing.T) {
	variants := []struct {
		name, template string
		shape          func(d *casefile.LetterData)
	}{
		{"update-slip", casefile.MailUpdate, func(d *casefile.LetterData) {
			d.Update = casefile.Update{Kind: casefile.UpdateSlip, Deadline: casefile.DeadlineResponse, NewDate: casefile.MustDate("2026-11-30"), Why: "consultation"}
		}},
		{"update-contact", casefile.MailUpdate, func(d *casefile.LetterData) { d.Update = casefile.Update{Kind: casefile.UpdateContact} }},
		{"update-meeting-late", casefile.MailUpdate, func(d *casefile.LetterData) {
			d.Update = casefile.Update{Kind: casefile.UpdateMeeting, Late: true}
			d.Involvement = casefile.InvolvementWriting
		}},
		{"invitation-late-online", casefile.MailInvitation, func(d *casefile.LetterData) {
			d.Update = casefile.Update{Late: true}
			d.Meeting.Place = "https://meet.example/ct-2026-0001"
		}},
		{"closure-withdrawn", casefile.MailClosure, func(d *casefile.LetterData) { d.Closure.Reason = casefile.ClosedWithdrawn }},
		{"closure-further-review", casefile.MailClosure, func(d *casefile.LetterData) { d.Closure.Reason = casefile.ClosedFurtherReview }},
		{"closure-not-met-pending", casefile.MailClosure, func(d *casefile.LetterData) {
			d.Closure.NotMet, d.ThresholdReviewPending = true, true
		}},
		{"further_review-declined", casefile.LetterFurtherReview, func(d *casefile.LetterData) {
			d.Declined, d.DeclineReason = true, "Nothing new was raised."
		}},
		{"further_review-upheld", casefile.LetterFurtherReview, func(d *casefile.LetterData) { d.Upheld = true }},
		{"not_met-no-route", casefile.LetterNotMet, func(d *casefile.LetterData) {
			cfg := *d.Config
			cfg.FurtherReview.ThresholdDecision, cfg.FurtherReview.ThresholdDecisionCy, cfg.FurtherReview.ThresholdDecisionEmail = "", "", ""
			d.Config = &cfg
		}},
	}
	for _, v := range variants {
		for _, lang := range []string{"en", "cy"} {
			t.Run(v.name+"."+lang, func(t *testing.T) {
				cfg := welshConfig()
				d := sampleData(cfg, v.template)
				v.shape(d)
				got, err := casefile.Render(nil, v.template, []string{lang}, d)
				if err != nil {
					t.Fatal(err)
				}
				goldenText(t, v.name+"."+lang+".golden.txt", got)
				checkLetter(t, got, d.Config, lang)
			})
		}
	}
}
