package mailin

import (
	"strings"

	"github.com/csp/trigger/casefile"
)

// What a resident's message says about how to write to them (issue 15),
// read conservatively: what is not clear stays unknown, and the store
// shows it to the coordinator instead of guessing.
//
//   - An application's language preference: a web form's language field,
//     else the text itself when it is written in Welsh.
//   - Accessible formats a web form asks for (large print, easy read).
//   - In a reply: a language choice ("Cymraeg", "English please"), and the
//     involvement the met letter asks about (A, B or C, or the words).

// residentSignals sets the message's language, formats and involvement.
func residentSignals(in *casefile.Inbound) {
	if in.Machine != "" {
		return
	}
	text := newText(in.Text)
	if len(text) > maxSignalText {
		text = text[:maxSignalText] // what a resident writes about this is near the top
	}
	reply := len(in.ReplyTo) > 0 || len(in.SubjectRefs) > 0
	if reply {
		in.WantsFurtherReview = in.WantsFurtherReview || welshReviewRE.MatchString(text)
		if l := languageChoice(text); l != "" {
			in.Language, in.LanguageSource = l, casefile.SourceReply
		}
		in.Involvement = involvementChoice(text)
	} else {
		in.Language, in.Formats = formPreferences(text)
		if in.Language != "" {
			in.LanguageSource = casefile.SourceForm
		}
	}
	if in.Language == "" && isWelsh(text) {
		in.Language, in.LanguageSource = casefile.LangWelsh, casefile.SourceDetected
	}
}

// maxSignalText is how much of a message's new text is read for these
// signals, so that a huge message costs no more than a long letter.
const maxSignalText = 32 << 10

// welshReviewRE is a request in Welsh to review a decision or the
// response: "adolygiad pellach", "adolygu'r penderfyniad", "apelio", "rwy'n
// anfodlon â'r ymateb".
var welshReviewRE = mustCompile(`(?i)(adolygiad pellach|adolygu'r penderfyniad|adolygiad o'r penderfyniad|apelio|ap[eê]l\b|(?:anhapus|anfodlon) (?:â|a|gyda)'r (?:penderfyniad|ymateb|canlyniad))`)

// welshWroteRE is a Welsh mail client's line above a quoted message: "Ar
// ddydd Llun, 12 Hyd 2026 am 10:02, … ysgrifennodd:".
var welshWroteRE = mustCompile(`(?im)^\s*ar\b.{0,300}\bysgrifennodd\s*:?\s*$`)

// newText is what the sender wrote in this message: the unquoted text,
// also cut at a Welsh client's quote header.
func newText(text string) string {
	t := unquoted(text)
	if !strings.Contains(t, "ysgrifennodd") {
		return t
	}
	if loc := welshWroteRE.FindStringIndex(t); loc != nil {
		t = t[:loc[0]]
	}
	return strings.TrimSpace(t)
}

// formPreferences reads a web form's language and accessible-format
// fields. Their labels are often questions ("Do you need information in
// large print?"), longer than parseFields takes for a field it does not
// know, so the label lines are read here.
func formPreferences(text string) (casefile.LanguagePref, []string) {
	lower := strings.ToLower(text)
	if !strings.Contains(lower, "language") && !strings.Contains(lower, "iaith") && !strings.Contains(lower, "print") &&
		!strings.Contains(lower, "easy read") && !strings.Contains(lower, "format") && !strings.Contains(lower, "hawdd") {
		return "", nil
	}
	var fields []field
	for _, line := range strings.Split(text, "\n") {
		if m := fieldLineRE.FindStringSubmatch(strings.TrimSpace(line)); m != nil && len(strings.Fields(m[1])) <= 16 {
			fields = append(fields, field{label: m[1], value: strings.TrimSpace(m[2])})
		}
	}
	var lang casefile.LanguagePref
	var formats []string
	add := func(f string) {
		for _, have := range formats {
			if have == f {
				return
			}
		}
		formats = append(formats, f)
	}
	for _, f := range fields {
		l, v := normLabel(f.label), strings.TrimSpace(f.value)
		if v == "" || isBlankAnswer(v) {
			continue
		}
		lv := strings.ToLower(v)
		switch {
		case has(l, "language", "languages", "iaith", "dewis iaith"):
			cy := strings.Contains(lv, "welsh") || strings.Contains(lv, "cymraeg")
			en := strings.Contains(lv, "english") || strings.Contains(lv, "saesneg")
			switch {
			case cy && !en:
				lang = casefile.LangWelsh
			case en && !cy:
				lang = casefile.LangEnglish
			}
		case has(l, "large print", "print bras"):
			if b := yesNo(v); b != nil && *b {
				add(casefile.FormatLargePrint)
			}
		case has(l, "easy read", "hawdd ei ddarllen"):
			if b := yesNo(v); b != nil && *b {
				add(casefile.FormatEasyRead)
			}
		case has(l, "format", "formats", "accessible", "accessibility", "communication", "fformat"):
			if strings.Contains(lv, "large print") || strings.Contains(lv, "print bras") {
				add(casefile.FormatLargePrint)
			}
			if strings.Contains(lv, "easy read") || strings.Contains(lv, "hawdd ei ddarllen") {
				add(casefile.FormatEasyRead)
			}
		}
	}
	return lang, formats
}

var (
	// A reply whose first line names a language: "Cymraeg", "Welsh
	// please", "yn Gymraeg os gwelwch yn dda", "English".
	langLineRE = mustCompile(`(?i)^\s*(?:(?:in|yn)\s+)?(cymraeg|gymraeg|welsh|english|saesneg)\s*(?:,?\s*(?:please|plis|os gwelwch yn dda|diolch|thank you|thanks))?\s*[.!]*\s*$`)
	// …or says so in a sentence.
	langWelshRE   = mustCompile(`(?i)\b(prefer (?:to (?:be written to|hear from you) )?(?:in )?welsh|(?:write|reply|correspond) (?:to me )?in welsh|in welsh,? please|welsh,? please|yn gymraeg,? os gwelwch yn dda|cymraeg,? os gwelwch yn dda|hoffwn (?:gael )?(?:gohebiaeth )?yn gymraeg|well gen i gymraeg)\b`)
	langEnglishRE = mustCompile(`(?i)\b(prefer (?:to (?:be written to|hear from you) )?(?:in )?english|(?:write|reply|correspond) (?:to me )?in english|in english,? please|english,? please|yn saesneg,? os gwelwch yn dda|hoffwn (?:gael )?(?:gohebiaeth )?yn saesneg|well gen i saesneg)\b`)
)

// languageChoice reads a reply for the language the resident asks for; ""
// when it names none, or both.
func languageChoice(text string) casefile.LanguagePref {
	first := firstLine(text)
	if m := langLineRE.FindStringSubmatch(first); m != nil {
		switch strings.ToLower(m[1]) {
		case "cymraeg", "gymraeg", "welsh":
			return casefile.LangWelsh
		default:
			return casefile.LangEnglish
		}
	}
	cy, en := langWelshRE.MatchString(text), langEnglishRE.MatchString(text)
	switch {
	case cy && !en:
		return casefile.LangWelsh
	case en && !cy:
		return casefile.LangEnglish
	}
	return ""
}

var (
	// The met letter's options, as the resident may put them in words.
	involvementRE = map[casefile.Involvement]*textRE{
		casefile.InvolvementMeeting: mustCompile(`(?i)\b(invite me|be invited|(?:come|go) to the (?:review )?meeting|attend the (?:review )?meeting|be at the (?:review )?meeting|take part in the (?:review )?meeting|gwahoddwch fi|cael fy ngwahodd|dod i'r cyfarfod|bod yn y cyfarfod)`),
		casefile.InvolvementWriting: mustCompile(`(?i)\b(views in writing|(?:send|give|put) (?:you )?my views|write to you (?:with my views )?before the meeting|fy marn yn ysgrifenedig|anfon fy marn)`),
		casefile.InvolvementOutcome: mustCompile(`(?i)\b((?:just |only )?(?:tell|let) me (?:know )?(?:about )?the outcome|the outcome only|just the outcome|dim ond rhoi gwybod|rhoi gwybod i mi am y canlyniad|y canlyniad yn unig)`),
	}
	// The option's letter on the first line: "B", "B.", "Option B", "(c)",
	// "A - please". "A lot has happened" is not an answer.
	optionLineRE = mustCompile(`(?i)^\s*(?:(?:option|opsiwn)\s+\(?([abc])\)?\b|\(?([abc])\)?\s*(?:[.):,]|\s[-–]|$))`)
	// A negation just before an option's words cancels it: "I can't attend
	// the meeting", "nid wyf am ddod i'r cyfarfod".
	negationRE = mustCompile(`(?i)\b(not|never|no|cannot|can't|cant|won't|wont|don't|dont|do not|unable|ddim|nid|na|peidiwch)\b[^.,;!?\n]{0,30}$`)
)

// involvementChoice reads a reply for how involved the resident wants to
// be: exactly one option, named by its letter or in words; anything else
// (none, several, or only negated ones) is unknown.
func involvementChoice(text string) casefile.Involvement {
	found := map[casefile.Involvement]bool{}
	if m := optionLineRE.FindStringSubmatch(firstLine(text)); m != nil {
		found[map[string]casefile.Involvement{"a": casefile.InvolvementMeeting, "b": casefile.InvolvementWriting, "c": casefile.InvolvementOutcome}[strings.ToLower(m[1]+m[2])]] = true
	}
	for choice, re := range involvementRE {
		for _, loc := range re.FindAllStringIndex(text, -1) {
			if !negationRE.MatchString(text[max(0, loc[0]-40):loc[0]]) {
				found[choice] = true
			}
		}
	}
	if len(found) != 1 {
		return casefile.InvolvementUnknown
	}
	for choice := range found {
		return choice
	}
	return casefile.InvolvementUnknown
}

func firstLine(text string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) != "" {
			return strings.TrimSpace(l)
		}
	}
	return ""
}
