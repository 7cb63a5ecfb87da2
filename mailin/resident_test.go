package mailin_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/mailin"
)

func parseFile(t *testing.T, path string) casefile.Inbound {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	in, err := mailin.Parse(raw, mailin.Options{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// An application written in Welsh is recognised as Welsh: it is answered in
// Welsh. A web form's language and format fields are read.
func TestResidentPreferencesFromApplications(t *testing.T) {
	in := parseFile(t, filepath.Join("testdata", "resident", "welsh-freetext.eml"))
	if in.Language != casefile.LangWelsh || in.LanguageSource != casefile.SourceDetected {
		t.Errorf("Welsh application: language %q (%s), want cy (detected)", in.Language, in.LanguageSource)
	}
	in = parseFile(t, filepath.Join("testdata", "resident", "webform-preferences.eml"))
	if in.Language != casefile.LangWelsh || in.LanguageSource != casefile.SourceForm {
		t.Errorf("form: language %q (%s), want cy (form)", in.Language, in.LanguageSource)
	}
	if strings.Join(in.Formats, ",") != casefile.FormatLargePrint {
		t.Errorf("form: formats %v, want large print only", in.Formats)
	}
	if in.Application.Applicant.Name != "Owen Price" {
		t.Errorf("the rest of the form is read as before: %+v", in.Application.Applicant)
	}
}

// The detector is conservative: no message of the parser's test corpus —
// English, other languages, machine mail — is taken for Welsh.
func TestWelshDetectorIsConservative(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if len(files) < 20 {
		t.Fatalf("only %d test messages", len(files))
	}
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		in, err := mailin.Parse(raw, mailin.Options{Now: testNow})
		if err != nil {
			continue // the quarantine's cases
		}
		if in.Language == casefile.LangWelsh {
			t.Errorf("%s: taken for Welsh", filepath.Base(f))
		}
	}
	for _, tc := range []struct{ name, text string }{
		{"short", "Diolch yn fawr iawn."},
		{"English with Welsh places", "The noise from the flats on Heol y Felin in Pen-y-bont and Llanfairpwllgwyngyll goes on every night and the police have not come back to us about it at all."},
		{"both languages", "Mae'r sŵn yn ofnadwy bob nos ac rydym wedi ffonio'r heddlu. The noise is terrible every night and we have called the police about it. Diolch. Thank you for your help with this."},
	} {
		in, err := mailin.Parse(message("Mon, 12 Oct 2026 09:00:00 +0100", tc.text), mailin.Options{Now: testNow})
		if err != nil {
			t.Fatal(err)
		}
		if in.Language != "" {
			t.Errorf("%s: language %q, want unknown", tc.name, in.Language)
		}
	}
}

func reply(body string) []byte {
	return []byte("From: Lucy Fielding <lucy.fielding@example.net>\r\nTo: communitytrigger@example-council.gov.uk\r\n" +
		"Subject: Re: [CT-2026-0001] Your Community Trigger application: our decision\r\nDate: Tue, 13 Oct 2026 09:00:00 +0100\r\n" +
		"Message-ID: <r@example.net>\r\nIn-Reply-To: <ct.CT-2026-0001.letter.7@example-council.gov.uk>\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" + strings.ReplaceAll(body, "\n", "\r\n"))
}

// A reply to the met letter records the resident's choice only when it is
// clear: one option, by its letter or in words, not negated. Anything else
// stays unknown (the coordinator is shown the reply).
func TestInvolvementReply(t *testing.T) {
	const quoted = "\n\nOn Mon, 12 Oct 2026 at 10:00, Community Trigger <communitytrigger@example-council.gov.uk> wrote:\n> A. Invite me to the review meeting.\n> B. I will send my views in writing before the meeting.\n> C. Just tell me the outcome.\n"
	for _, tc := range []struct {
		body string
		want casefile.Involvement
	}{
		{"B", casefile.InvolvementWriting},
		{"B." + quoted, casefile.InvolvementWriting},
		{"Option A please, thank you." + quoted, casefile.InvolvementMeeting},
		{"(c)", casefile.InvolvementOutcome},
		{"A - I would like to be there.", casefile.InvolvementMeeting},
		{"I would like to come to the meeting if I can.", casefile.InvolvementMeeting},
		{"I'll send my views in writing before the meeting.", casefile.InvolvementWriting},
		{"I can't attend the meeting, so just tell me the outcome.", casefile.InvolvementOutcome},
		{"Gwahoddwch fi i'r cyfarfod os gwelwch yn dda.", casefile.InvolvementMeeting},
		{"C - dim ond rhoi gwybod i mi am y canlyniad.", casefile.InvolvementOutcome},
		// Not clear: unknown.
		{"A lot has happened since I wrote to you." + quoted, casefile.InvolvementUnknown},
		{"I can't attend the meeting.", casefile.InvolvementUnknown},
		{"Please invite me, or just tell me the outcome, whichever is easier.", casefile.InvolvementUnknown},
		{"Thank you for your letter." + quoted, casefile.InvolvementUnknown},
	} {
		in, err := mailin.Parse(reply(tc.body), mailin.Options{Now: testNow})
		if err != nil {
			t.Fatal(err)
		}
		if in.Involvement != tc.want {
			t.Errorf("%q: involvement %q, want %q", firstLine(tc.body), in.Involvement, tc.want)
		}
	}
}

// A reply naming a language records the preference; one naming both, or
// neither, does not. A reply written in Welsh counts as Welsh.
func TestLanguageReply(t *testing.T) {
	for _, tc := range []struct {
		body   string
		want   casefile.LanguagePref
		source string
	}{
		{"Cymraeg", casefile.LangWelsh, casefile.SourceReply},
		{"Welsh please.", casefile.LangWelsh, casefile.SourceReply},
		{"yn Gymraeg os gwelwch yn dda", casefile.LangWelsh, casefile.SourceReply},
		{"English", casefile.LangEnglish, casefile.SourceReply},
		{"Thank you. I would prefer to be written to in English from now on.", casefile.LangEnglish, casefile.SourceReply},
		{"Cymraeg neu English, does dim ots.", "", ""},
		{"Thank you for the update.", "", ""},
		{"Diolch am eich llythyr. Mae'r sŵn wedi dechrau eto nos Wener ac rydym wedi ffonio'r heddlu unwaith eto. Does dim byd wedi newid o gwbl.", casefile.LangWelsh, casefile.SourceDetected},
	} {
		in, err := mailin.Parse(reply(tc.body), mailin.Options{Now: testNow})
		if err != nil {
			t.Fatal(err)
		}
		if in.Language != tc.want || in.LanguageSource != tc.source {
			t.Errorf("%q: language %q (%s), want %q (%s)", tc.body, in.Language, in.LanguageSource, tc.want, tc.source)
		}
	}
}

// A request in Welsh to review a decision is a request for a review like
// one in English.
func TestWelshReviewRequest(t *testing.T) {
	in, err := mailin.Parse(reply("Rydw i'n anhapus â'r penderfyniad ac rydw i eisiau gofyn am adolygiad pellach."), mailin.Options{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if !in.WantsFurtherReview {
		t.Error("not taken for a request for a review")
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }
