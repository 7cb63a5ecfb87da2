package mailin

import (
	"strings"
)

// fieldKind is what a web-form label asks, read by its meaning.
type fieldKind int

const (
	fIgnore fieldKind = iota
	fName
	fFirstName
	fLastName
	fEmail
	fPhone
	fAddress
	fPostcode
	fLocation
	fDescription
	fOnBehalf     // are you applying for someone else?
	fRelationship // your relationship to the victim / your role
	fVictim       // a victim's detail: attr says which
	fHate
	fVulnerable
	fConsent
	fGroup        // applying as a group of residents?
	fCoApplicants // the other residents
	fIncident     // an incident's detail: group and sub say which
	fAgencies     // who have you reported to (not numbered)
	fRefs         // reference numbers (not numbered)
)

// incident sub-fields
const (
	subDescription = iota
	subOccurred
	subReported
	subAgency
	subReference
)

// field is one "label: value" line of a web form.
type field struct {
	label, value string
	kind         fieldKind
	attr         string // for fVictim: name, email, phone, address, postcode
	group        int    // for fIncident: 1, 2, …; 0 for an unnumbered one
	sub          int
}

var (
	fieldLineRE = mustCompile(`^\s*(?:[-*•]\s+)?([A-Za-z0-9(][^:\n]{0,150}?)\s*:(?:\s+(.*)|\s*)$`)
	hasLetterRE = mustCompile(`[A-Za-z]{2}`)
	labelNormRE = mustCompile(`[^a-z0-9]+`)
	incGroupRE  = mustCompile(`\b(?:(incident|complaint|report|occasion|occurrence|event)\s+(?:no\s+|number\s+)?(\d{1,2})|(\d{1,2})(?:st|nd|rd|th)?\s+(incident|complaint|report|occasion|occurrence|event)|(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth)\s+(incident|complaint|report|occasion|occurrence|event))\b`)
	ordinals    = map[string]int{"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10}
)

// normLabel lower-cases a label and keeps words and numbers only, with
// common spellings made one ("e-mail" → "email", "post code" → "postcode").
func normLabel(l string) string {
	l = strings.ToLower(l)
	l = strings.ReplaceAll(l, "’", "'")
	l = strings.ReplaceAll(l, "'s", "s")
	l = labelNormRE.ReplaceAllString(l, " ")
	l = " " + strings.TrimSpace(l) + " "
	for _, r := range [][2]string{
		{" e mail ", " email "}, {" post code ", " postcode "}, {" postal code ", " postcode "},
		{" tel ", " telephone "}, {" mob ", " mobile "}, {" no ", " number "}, {" anti social ", " antisocial "},
		{" behaviour ", " behaviour "}, {" organization ", " organisation "},
	} {
		l = strings.ReplaceAll(l, r[0], r[1])
	}
	return strings.TrimSpace(l)
}

// has reports whether the normalised label holds one of the words (whole
// words; a word ending in * is a stem).
func has(l string, words ...string) bool {
	padded := " " + l + " "
	for _, w := range words {
		if strings.HasSuffix(w, "*") {
			if strings.Contains(padded, " "+strings.TrimSuffix(w, "*")) {
				return true
			}
			continue
		}
		if strings.Contains(padded, " "+w+" ") {
			return true
		}
	}
	return false
}

// personAttr says which detail of a person a label asks for, or "".
func personAttr(l string) string {
	switch {
	case has(l, "email"):
		return "email"
	case has(l, "postcode", "zip"):
		return "postcode"
	case has(l, "phone", "telephone", "mobile", "landline", "contact number", "phone number"):
		return "phone"
	case has(l, "address", "street", "town", "city", "village"):
		return "address"
	case has(l, "name", "names", "full name", "first name", "surname", "forename"):
		return "name"
	}
	return ""
}

// classifyLabel reads a label's meaning: the same question is asked in
// many ways ("Your full name", "Name"; "Post code", "Postcode"; "Incident 2
// - date reported", "2nd report – organisation", "Complaint 3 reference").
func classifyLabel(label string) field {
	l := normLabel(label)
	f := field{label: label}
	if l == "" || len(strings.Fields(l)) > 25 {
		return f
	}
	if m := incGroupRE.FindStringSubmatchIndex(l); m != nil && !has(l, "how many", "number of") {
		g := 0
		switch {
		case m[4] >= 0:
			g = atoiSafe(l[m[4]:m[5]])
		case m[6] >= 0:
			g = atoiSafe(l[m[6]:m[7]])
		case m[10] >= 0:
			g = ordinals[l[m[10]:m[11]]]
		}
		rest := strings.TrimSpace(l[:m[0]] + " " + l[m[1]:])
		f.kind, f.group, f.sub = fIncident, g, incidentSub(rest, l[m[0]:m[1]])
		return f
	}
	switch {
	case has(l, "submission", "submitted", "form", "ip address", "browser", "time submitted"):
		return f
	case has(l, "causing", "perpetrator*", "responsible", "offender*", "suspect*", "alleged", "who is", "who are"):
		return f
	case has(l, "hate", "prejudice", "motivated", "targeted"):
		f.kind = fHate
	case has(l, "vulnerab*"):
		f.kind = fVulnerable
	case has(l, "consent*", "permission") || (has(l, "agree*") && has(l, "shar*", "information", "data")):
		f.kind = fConsent
	case has(l, "group", "residents", "neighbours", "other people", "co applicant*", "joint*", "households", "association") &&
		has(l, "name", "names", "list", "who", "details") && !has(l, "group name", "name of group", "association name"):
		f.kind = fCoApplicants
	case has(l, "group", "jointly", "together", "association", "more than one") && has(l, "apply*", "application", "group", "association"):
		if has(l, "name") {
			return f
		}
		f.kind = fGroup
	case has(l, "behalf", "someone else", "somebody else", "another person", "for someone"):
		if a := personAttr(l); a != "" {
			f.kind, f.attr = fVictim, a
		} else {
			f.kind = fOnBehalf
		}
	case has(l, "relationship", "capacity", "your role", "are you a", "connection"):
		f.kind = fRelationship
	case has(l, "victim*", "person affected", "affected person", "their", "person you are applying*", "whose behalf", "the resident"):
		f.kind, f.attr = fVictim, personAttr(l)
		if f.attr == "" {
			f.attr = "name"
		}
	case has(l, "where", "location") || (has(l, "address") && has(l, "asb", "antisocial", "problem", "incident*", "behaviour", "happening", "occurring")):
		f.kind = fLocation
	case has(l, "describe", "description", "what has been happening", "what is happening", "what happened", "what has happened",
		"details of", "asb details", "incident details", "tell us", "nature", "problem", "summary", "explain", "type of asb",
		"what kind", "impact", "affected you", "how has", "what is the asb", "more information", "further information", "anything else"):
		f.kind = fDescription
	case has(l, "agencies", "organisations", "who have you reported*", "reported to", "which agency", "who did you report*", "report it to"):
		f.kind = fAgencies
	case has(l, "date*", "when") && has(l, "report*", "complain*", "contact*"):
		f.kind, f.sub = fIncident, subReported
	case has(l, "date*", "when") && has(l, "incident", "happen*", "occur*", "behaviour", "asb"):
		f.kind, f.sub = fIncident, subOccurred
	case has(l, "reference*", "ref", "crime number", "log number", "incident number", "case number"):
		f.kind = fRefs
	case has(l, "email"):
		f.kind = fEmail
	case has(l, "postcode", "zip"):
		f.kind = fPostcode
	case has(l, "phone", "telephone", "mobile", "landline", "contact number", "phone number", "number"):
		f.kind = fPhone
	case has(l, "address", "street", "town", "city", "village", "house number", "flat"):
		f.kind = fAddress
	case has(l, "first name", "forename", "given name", "forenames"):
		f.kind = fFirstName
	case has(l, "surname", "last name", "family name"):
		f.kind = fLastName
	case has(l, "name", "full name"):
		f.kind = fName
	}
	return f
}

// incidentSub reads which detail of a numbered incident the rest of the
// label asks for; noun is the numbering phrase ("complaint 1").
func incidentSub(rest, noun string) int {
	switch {
	case has(rest, "date*", "when", "day", "time"):
		switch {
		case has(rest, "report*", "complain*", "contact*", "told"):
			return subReported
		case has(rest, "incident", "happen*", "occur*", "behaviour", "asb", "took place"):
			return subOccurred
		case has(noun, "complaint", "report"):
			return subReported // the date of a complaint is when it was made
		default:
			return subOccurred
		}
	case has(rest, "reference*", "ref", "crime number", "log*", "incident number", "number", "crime", "case number"):
		return subReference
	case has(rest, "reported", "organisation", "agency", "agencies", "who", "which", "body", "service", "to"):
		return subAgency
	}
	return subDescription
}

func atoiSafe(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// multiLine kinds take the lines after the label line as part of the value.
func multiLine(k fieldKind) bool {
	switch k {
	case fDescription, fAddress, fLocation, fCoApplicants, fIncident, fVictim:
		return true
	}
	return false
}

// maxFieldValue bounds a form value that goes on over many lines.
const maxFieldValue = 16 << 10

// parseFields reads the "label: value" lines of a form. Lines after a
// label with no value, and after a field that takes several lines, are its
// value until a blank line or the next label.
func parseFields(text string) []field {
	var out []field
	lines := strings.Split(text, "\n")
	cont := false
	for _, line := range lines {
		t := strings.TrimSpace(line)
		if t == "" {
			if n := len(out); n > 0 && out[n-1].value == "" {
				continue // the value may follow a blank line
			}
			cont = false
			continue
		}
		if m := fieldLineRE.FindStringSubmatch(t); m != nil && !strings.Contains(m[1], "http") && hasLetterRE.MatchString(m[1]) && len(strings.Fields(m[1])) <= 16 {
			f := classifyLabel(m[1])
			if f.kind != fIgnore || m[2] == "" || len(strings.Fields(m[1])) <= 6 {
				f.value = strings.TrimSpace(m[2])
				out = append(out, f)
				cont = f.value == "" || multiLine(f.kind)
				continue
			}
		}
		if cont && len(out) > 0 && len(out[len(out)-1].value) < maxFieldValue {
			f := &out[len(out)-1]
			if f.value == "" {
				f.value = t
			} else {
				f.value += "\n" + t
			}
			continue
		}
	}
	return out
}

// isForm reports whether enough lines are form fields with a known meaning
// for the text to be read as a web form.
func isForm(fields []field) bool {
	n := 0
	for _, f := range fields {
		if f.kind != fIgnore && f.value != "" {
			n++
		}
	}
	return n >= 3
}
