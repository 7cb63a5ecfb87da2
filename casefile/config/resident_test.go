package config_test

import (
	"strings"
	"testing"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/config"
)

func TestConfigResidentDefaults(t *testing.T) {
	cfg, err := config.Load("", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Timescales.Consultation != 5 || cfg.Partnership.Welsh() || strings.Join(cfg.Partnership.Languages, ",") != "en" {
		t.Errorf("consultation %d, languages %v", cfg.Timescales.Consultation, cfg.Partnership.Languages)
	}
	if cfg.FurtherReview.ReviewOutcome != casefile.DefaultReviewOutcomeBody || cfg.FurtherReview.ThresholdDecision != "" {
		t.Errorf("further_review %+v", cfg.FurtherReview)
	}
	// With no [[officer]], the contact is the partnership's.
	if c := cfg.ContactFor(""); c.Name != "Community Safety Team Leader" || !c.Default || c.SlackID != "" {
		t.Errorf("contact %+v", c)
	}
}

func TestConfigResidentFile(t *testing.T) {
	p := writeConfig(t, `
[roles]
coordinator = ["U0COORD"]
[partnership]
languages = ["cy", "en"]
name_cy = "Partneriaeth Diogelwch Cymunedol Sir Enghraifft"
[timescales]
consultation = 7
[further_review]
review_outcome = "an independent chair"
threshold_decision = "the Office of the Police and Crime Commissioner"
threshold_decision_cy = "Swyddfa Comisiynydd yr Heddlu a Throseddu"
threshold_decision_email = "reviews@opcc.example.gov.uk"
[[officer]]
slack_id = "U0COORD"
name = "Sam Patel"
title = "Community Safety Team Leader"
title_cy = "Arweinydd Tîm Diogelwch Cymunedol"
email = "sam.patel@example-council.gov.uk"
phone = "01234 567891"
[[officer]]
slack_id = "U0OTHER"
name = "Rhian Evans"
email = "rhian.evans@example-council.gov.uk"
`)
	cfg, err := config.Load(p, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Partnership.Welsh() || cfg.Timescales.Consultation != 7 || len(cfg.Officers) != 2 {
		t.Errorf("%+v", cfg)
	}
	// The older name follows review_outcome, for templates written before.
	if cfg.Partnership.FurtherReviewBody != "an independent chair" {
		t.Errorf("partnership.further_review_body = %q", cfg.Partnership.FurtherReviewBody)
	}
	// The coordinator's officer entry is every case's contact by default.
	c := cfg.ContactFor("")
	if c.SlackID != "U0COORD" || c.Email != "sam.patel@example-council.gov.uk" || !c.Default {
		t.Errorf("default contact %+v", c)
	}
	if name, title := c.In("cy"); name != "Sam Patel" || title != "Arweinydd Tîm Diogelwch Cymunedol" {
		t.Errorf("in Welsh: %q, %q", name, title)
	}
	if c := cfg.ContactFor("U0OTHER"); c.Name != "Rhian Evans" || c.Default {
		t.Errorf("chosen contact %+v", c)
	}
	if got := cfg.LanguagesFor(""); strings.Join(got, ",") != "cy,en" {
		t.Errorf("unknown preference in Wales: %v, want Welsh then English", got)
	}
	if got := cfg.LanguagesFor(casefile.LangWelsh); strings.Join(got, ",") != "cy" {
		t.Errorf("Welsh preference: %v", got)
	}
}

// The older name of review_outcome is still accepted on its own.
func TestConfigFurtherReviewBodyAlias(t *testing.T) {
	cfg, err := config.Load(writeConfig(t, "[partnership]\nfurther_review_body = \"the Vice-Chair\"\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.FurtherReview.ReviewOutcome != "the Vice-Chair" || cfg.Partnership.FurtherReviewBody != "the Vice-Chair" {
		t.Errorf("%+v %+v", cfg.FurtherReview, cfg.Partnership)
	}
	if _, err := config.Load(writeConfig(t, "[partnership]\nfurther_review_body = \"the Vice-Chair\"\n[further_review]\nreview_outcome = \"the Vice-Chair\"\n"), noEnv); err != nil {
		t.Errorf("both names, agreeing: %v", err)
	}
}

func TestConfigResidentErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"[partnership]\nlanguages = [\"cy\"]\n", `partnership.languages: must include "en"`},
		{"[partnership]\nlanguages = [\"en\", \"fr\"]\n", `partnership.languages[1]: "fr" is not one of "en", "cy"`},
		{"[partnership]\nlanguages = []\n", "partnership.languages: must list"},
		{"[partnership]\nfurther_review_body = \"A\"\n[further_review]\nreview_outcome = \"B\"\n", "further_review.review_outcome: partnership.further_review_body (its older name) says otherwise"},
		{"[further_review]\nreview_outcome = \"\"\n", "further_review.review_outcome: must name"},
		{"[further_review]\nthreshold_decision_email = \"opcc.example\"\nthreshold_decision = \"the PCC\"\n", "further_review.threshold_decision_email: not an email address"},
		{"[further_review]\nthreshold_decision_email = \"r@opcc.example\"\n", "further_review.threshold_decision_email: is set, but further_review.threshold_decision"},
		{"[further_review]\nappeal = \"x\"\n", "further_review.appeal: unknown key"},
		{"[timescales]\nconsultation = 0\n", "timescales.consultation"},
		{"[[officer]]\nname = \"Sam\"\nemail = \"s@x.example\"\n", "officer[0].slack_id: must be set"},
		{"[[officer]]\nslack_id = \"U1\"\nemail = \"s@x.example\"\n", "officer[0].name"},
		{"[[officer]]\nslack_id = \"U1\"\nname = \"Sam\"\n", "officer[0].email"},
		{"[[officer]]\nslack_id = \"U1\"\nname = \"Sam\"\nemail = \"s@x.example\"\n[[officer]]\nslack_id = \"U1\"\nname = \"Jo\"\nemail = \"j@x.example\"\n", `officer[1].slack_id: duplicate "U1"`},
		{"[[officer]]\nslack_id = \"U1\"\nname = \"Sam\"\nemail = \"s@x.example\"\nmobile = \"07700\"\n", "officer.mobile: unknown key"},
	} {
		_, err := config.Load(writeConfig(t, tc.body), noEnv)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %q: error %v, want it to say %q", tc.body, err, tc.want)
		}
	}
}
