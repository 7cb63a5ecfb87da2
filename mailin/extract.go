package mailin

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/csp/trigger/casefile"
)

// extractor reads an application out of a message's new text.
type extractor struct {
	cfg *casefile.Config
	ref time.Time
	am  *agencyMatcher
}

var matchers sync.Map // agency config signature → *agencyMatcher

func matcherFor(cfg *casefile.Config) *agencyMatcher {
	var sb strings.Builder
	for _, a := range cfg.Agencies {
		sb.WriteString(a.ID + "\x00" + a.Name + "\x00" + strings.Join(a.Aliases, "\x00") + "\x01")
	}
	key := sb.String()
	if am, ok := matchers.Load(key); ok {
		return am.(*agencyMatcher)
	}
	am := newAgencyMatcher(cfg.Agencies)
	matchers.Store(key, am)
	return am
}

// extraction is what extract reads of a message.
type extraction struct {
	app             casefile.Application
	consentEvidence string // the sentence consent (or its refusal) was read from
}

// extract returns the application a person's message makes: a web form's
// fields read by meaning, or free text read for what it says. Nothing is
// guessed: what the message does not say stays empty. It reads the new
// text of the capped prefix (MaxExtract): no application is longer, and
// the rest is kept in the text, unread.
func extract(m *msg) extraction {
	x := &extractor{cfg: m.cfg, ref: m.ref, am: matcherFor(m.cfg)}
	body := unquoted(m.head)
	fields := parseFields(body)
	var out extraction
	if isForm(fields) {
		out.app, out.consentEvidence = x.form(fields)
		x.contact(&out.app, m, true)
	} else {
		main, sig := splitSignature(body)
		out.app, out.consentEvidence = x.freeText(main, sig, m)
	}
	finish(&out.app)
	return out
}

// contact fills the applicant's email from the headers when the text has
// none: Reply-To, then From, never a no-reply address or our own.
func (x *extractor) contact(app *casefile.Application, m *msg, form bool) {
	own := ourAddress(x.cfg)
	usable := func(a string) bool { return a != "" && !casefile.IsNoReply(a) && a != own && strings.Contains(a, "@") }
	if !usable(app.Applicant.Email) {
		app.Applicant.Email = ""
	}
	if app.Applicant.Email != "" {
		return
	}
	cands := []string{}
	if form {
		for _, a := range m.replyTo {
			cands = append(cands, a.Addr)
		}
		cands = append(cands, m.from.Addr)
	} else {
		cands = append(cands, m.from.Addr)
		for _, a := range m.replyTo {
			cands = append(cands, a.Addr)
		}
	}
	for _, a := range cands {
		if usable(a) {
			app.Applicant.Email = a
			return
		}
	}
}

// --- web forms ---

func (x *extractor) form(fields []field) (casefile.Application, string) {
	var app casefile.Application
	consentEvidence := ""
	var ap, vic casefile.Person
	var first, last string
	var addr, vicAddr, desc []string
	var onBehalf, group, hate, relationship *bool
	incs := map[int]*casefile.Incident{}
	numbered := false
	var extraAgencies []string
	var refs []string
	for _, f := range fields {
		v := strings.TrimSpace(f.value)
		if v == "" || isBlankAnswer(v) {
			continue
		}
		switch f.kind {
		case fName:
			ap.Name = oneLine(v)
		case fFirstName:
			first = oneLine(v)
		case fLastName:
			last = oneLine(v)
		case fEmail:
			ap.Email = statedAddress(v)
		case fPhone:
			ap.Phone = phoneValue(v)
		case fAddress:
			addr = append(addr, v)
		case fPostcode:
			ap.Postcode = postcodeValue(v)
		case fLocation:
			app.Location = joinNonEmpty(", ", app.Location, oneLine(v))
		case fDescription:
			desc = append(desc, v)
		case fOnBehalf:
			onBehalf = yesNo(v)
			if onBehalf == nil && isSelf(v) {
				onBehalf = ptr(false)
			} else if onBehalf == nil {
				onBehalf = ptr(true) // names who they apply for
			}
		case fRelationship:
			if isSelf(v) {
				relationship = ptr(false)
			} else if b := yesNo(v); b == nil || *b {
				relationship = ptr(true)
			}
		case fVictim:
			switch f.attr {
			case "name":
				vic.Name = oneLine(v)
			case "email":
				vic.Email = statedAddress(v)
			case "phone":
				vic.Phone = phoneValue(v)
			case "address":
				vicAddr = append(vicAddr, v)
			case "postcode":
				vic.Postcode = postcodeValue(v)
			}
		case fHate:
			hate = yesNo(v)
		case fVulnerable:
			app.Vulnerable = yesNo(v)
		case fConsent:
			app.ConsentToShare = yesNo(v)
			consentEvidence = ""
			if app.ConsentToShare != nil {
				consentEvidence = evidence(oneLine(f.label) + ": " + v)
			}
		case fGroup:
			group = yesNo(v)
		case fCoApplicants:
			app.CoApplicants = append(app.CoApplicants, parsePeople(v)...)
		case fAgencies:
			ids := x.am.ids(v, nil)
			extraAgencies = append(extraAgencies, ids...)
			if f.group == 0 && len(ids) > 0 {
				in := incAt(incs, 0)
				if in.Agency == "" {
					in.Agency = ids[0]
				}
			}
		case fRefs:
			refs = append(refs, refValues(v)...)
		case fIncident:
			if f.group > 0 {
				numbered = true
			}
			in := incAt(incs, f.group)
			switch f.sub {
			case subOccurred:
				in.OccurredOn = x.date(v)
			case subReported:
				in.ReportedOn = x.date(v)
			case subAgency:
				if ids := x.am.ids(v, nil); len(ids) > 0 {
					in.Agency = ids[0]
					extraAgencies = append(extraAgencies, ids...)
				}
			case subReference:
				in.Reference = oneLine(v)
			case subDescription:
				in.Description = joinNonEmpty("\n", in.Description, v)
			}
		}
	}
	if ap.Name == "" {
		ap.Name = strings.TrimSpace(first + " " + last)
	}
	ap.Address, ap.Postcode = addressValue(addr, ap.Postcode)
	vic.Address, vic.Postcode = addressValue(vicAddr, vic.Postcode)
	app.Applicant = ap
	app.Description = strings.Join(desc, "\n\n")

	// incidents: the numbered ones in order; an unnumbered one only when
	// the form asks about a single incident
	var keys []int
	for k, in := range incs {
		if *in == (casefile.Incident{}) {
			continue
		}
		if k == 0 && numbered {
			if in.Reference != "" {
				refs = append(refs, in.Reference)
			}
			if in.Agency != "" {
				extraAgencies = append(extraAgencies, in.Agency)
			}
			continue
		}
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, k := range keys {
		app.Incidents = append(app.Incidents, *incs[k])
	}
	if len(keys) == 1 && keys[0] == 0 && len(refs) == 1 && app.Incidents[0].Reference == "" {
		app.Incidents[0].Reference, refs = refs[0], nil
	}
	if len(app.Incidents) == 0 && app.Description != "" {
		app.Incidents = x.textIncidents(app.Description)
	}
	prose := app.Description + "\n" + app.Location
	app.Agencies = append(extraAgencies, x.am.ids(prose, findRefs(prose))...)
	app.References = append(refs, spanVals(findRefs(prose))...)

	hasVictim := !vic.IsZero()
	switch {
	case hate != nil && *hate:
		app.Route = casefile.RouteHate
	case (group != nil && *group) || len(app.CoApplicants) > 0:
		app.Route = casefile.RouteCommunity
	case (onBehalf != nil && *onBehalf) || hasVictim || (relationship != nil && *relationship && onBehalf == nil):
		app.Route = casefile.RouteOnBehalf
	case onBehalf != nil || !ap.IsZero():
		app.Route = casefile.RouteIndividual
	default:
		app.Route = casefile.RouteUnknown
	}
	if hasVictim || (onBehalf != nil && *onBehalf) {
		v := vic
		app.OnBehalfOf = &v
	}
	return app, consentEvidence
}

func incAt(m map[int]*casefile.Incident, k int) *casefile.Incident {
	if in, ok := m[k]; ok {
		return in
	}
	in := &casefile.Incident{}
	m[k] = in
	return in
}

func (x *extractor) date(v string) casefile.Date { return firstDate(v, x.ref) }

func ptr[T any](v T) *T { return &v }

var (
	yesRE   = mustCompile(`(?i)^\s*(yes|y|true|agreed?|i agree|i consent|i do|i give consent|checked|ticked|confirmed)\b`)
	noRE    = mustCompile(`(?i)^\s*(no|n|false|i do not|i don't|do not|don't|none|not applicable)\b`)
	unsure  = mustCompile(`(?i)^\s*(not sure|unsure|don't know|do not know|dont know|prefer not|maybe|unknown)\b`)
	blankRE = mustCompile(`(?i)^\s*(n/?a|-+|none given|not given|not provided|not answered|\(?blank\)?|\(?empty\)?)\s*$`)
	selfRE  = mustCompile(`(?i)^\s*(myself|me|self|no[, -]+(it's |it is )?(for )?(me|myself)|i am the victim|the victim)\s*\.?$`)
)

// yesNo reads a Yes/No answer; anything else (not sure, blank) is nil.
func yesNo(v string) *bool {
	switch {
	case unsure.MatchString(v):
		return nil
	case yesRE.MatchString(v):
		return ptr(true)
	case noRE.MatchString(v):
		return ptr(false)
	}
	return nil
}

func isSelf(v string) bool { return selfRE.MatchString(v) }

func isBlankAnswer(v string) bool { return blankRE.MatchString(v) }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

func phoneValue(v string) string {
	if p := findPhones(v, nil); len(p) > 0 {
		return p[0].val
	}
	if d := digitCount(v); d >= 6 && d <= 15 {
		return oneLine(v)
	}
	return ""
}

func postcodeValue(v string) string {
	if p := casefile.NormalisePostcode(v); p != "" {
		return p
	}
	if p := findPostcodes(strings.ToUpper(v), nil); len(p) > 0 {
		return p[0].val
	}
	return ""
}

// addressValue joins address lines into one line and takes the postcode out
// of it, unless a postcode field gave it already.
func addressValue(lines []string, postcode string) (string, string) {
	var parts []string
	for _, l := range lines {
		for _, p := range strings.Split(l, "\n") {
			if p = strings.Trim(strings.TrimSpace(p), ","); p != "" {
				parts = append(parts, p)
			}
		}
	}
	a := strings.Join(parts, ", ")
	if pcs := findPostcodes(a, nil); len(pcs) > 0 {
		pc := pcs[len(pcs)-1]
		if postcode == "" {
			postcode = pc.val
		}
		if pc.val == postcode {
			a = strings.TrimSpace(a[:pc.start] + a[pc.end:])
		}
	}
	return tidyAddress(a), postcode
}

var addrPunctRE = mustCompile(`\s*,(\s*,)+\s*|\s+,`)

func tidyAddress(a string) string {
	a = addrPunctRE.ReplaceAllString(a, ", ")
	return strings.Trim(strings.TrimSpace(a), ",. ")
}

func refValues(v string) []string {
	if r := findRefs(v); len(r) > 0 {
		return spanVals(r)
	}
	var out []string
	for _, p := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == '\n' }) {
		if p = strings.TrimSpace(p); p != "" && digitCount(p) > 0 {
			out = append(out, p)
		}
	}
	return out
}

func spanVals(l []span) []string {
	out := make([]string, 0, len(l))
	for _, s := range l {
		out = append(out, s.val)
	}
	return out
}

// parsePeople reads a list of people: one a line (or separated by
// semicolons, or commas between names), each with what follows the name.
func parsePeople(v string) []casefile.Person {
	var items []string
	for _, l := range strings.Split(v, "\n") {
		items = append(items, strings.Split(l, ";")...)
	}
	if len(items) == 1 {
		parts := strings.Split(items[0], ",")
		allNames := len(parts) > 1
		for _, p := range parts {
			p = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(p), "and "))
			if !nameLike(stripParens(p), false) {
				allNames = false
			}
		}
		if allNames {
			items = parts
		}
	}
	var out []casefile.Person
	for _, it := range items {
		if p := parsePerson(it); !p.IsZero() {
			out = append(out, p)
		}
	}
	return out
}

var (
	bulletRE   = mustCompile(`^\s*(?:[-*•]|\d{1,2}[.)])\s*`)
	parensRE   = mustCompile(`\s*\([^)]*\)`)
	nameHeadRE = mustCompile(`^((?:(?:Mrs|Mr|Ms|Miss|Mx|Dr|Cllr|Councillor)\.?\s+)?[A-Z][A-Za-z'\-]+(?:\s+(?:[A-Z][A-Za-z'\-]+|de|la|van|von|da|di|le)){0,4})`)
)

var emptyParensRE = mustCompile(`\(\s*\)|\(\s*$`)

func stripParens(s string) string { return strings.TrimSpace(parensRE.ReplaceAllString(s, "")) }

// parsePerson reads "Name (address, postcode, email, phone)" or
// "Name, address …" or "Name - …".
func parsePerson(s string) casefile.Person {
	s = strings.TrimSpace(bulletRE.ReplaceAllString(s, ""))
	s = strings.TrimPrefix(s, "and ")
	var p casefile.Person
	if s == "" {
		return p
	}
	m := nameHeadRE.FindString(s)
	if m == "" || !nameLike(m, true) {
		return p
	}
	p.Name = m
	rest := strings.TrimSpace(s[len(m):])
	rest = strings.Trim(rest, " ,-–:")
	rest = strings.TrimSuffix(strings.TrimPrefix(rest, "("), ")")
	if e := findEmails(rest); len(e) > 0 {
		p.Email = e[0].val
		rest = strings.Replace(rest, rest[e[0].start:e[0].end], "", 1)
	}
	if ph := findPhones(rest, nil); len(ph) > 0 {
		p.Phone = ph[0].val
		rest = rest[:ph[0].start] + rest[ph[0].end:]
	}
	rest = emptyParensRE.ReplaceAllString(rest, "")
	p.Address, p.Postcode = addressValue([]string{rest}, "")
	if !addressLike(p.Address) {
		p.Address = ""
	}
	return p
}

var streetRE = mustCompile(`(?i)\b(road|rd|street|st|close|court|avenue|ave|lane|drive|way|crescent|gardens|place|terrace|walk|row|grove|hill|green|square|mews|park|view|rise|flats?|house|cottages?|estate|parade|wharf|yard|lodge)\b`)

// addressLike reports whether a line reads as a street address: a house
// number or a street word.
func addressLike(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	return (s[0] >= '0' && s[0] <= '9') || streetRE.MatchString(s) || strings.HasPrefix(strings.ToLower(s), "flat ")
}

var particles = map[string]bool{"de": true, "la": true, "van": true, "von": true, "da": true, "di": true, "le": true, "du": true, "del": true, "bin": true, "al": true}

var notNames = map[string]bool{
	"The": true, "She": true, "He": true, "They": true, "Who": true, "Her": true, "His": true, "Their": true, "I": true, "It": true,
	"This": true, "That": true, "We": true, "As": true, "Thanks": true, "Thank": true, "Regards": true, "Hello": true, "Dear": true,
	"Kind": true, "Best": true, "Many": true, "Yours": true, "Police": true, "Council": true, "Sent": true, "Please": true,
	"Tel": true, "Mobile": true, "Phone": true, "Email": true, "Ward": true, "District": true, "Community": true, "Housing": true,
	"Address": true, "Flat": true, "Apartment": true, "Not": true, "No": true, "Yes": true, "Get": true, "Outlook": true,
}

// nameLike reports whether s reads as a person's name: one to five
// capitalised words (particles allowed), no digits or sentence punctuation.
// single allows a one-word name.
func nameLike(s string, single bool) bool {
	s = strings.TrimSpace(strings.TrimRight(s, ","))
	if s == "" || len(s) > 60 || strings.ContainsAny(s, "0123456789@:;!?/()<>\"") {
		return false
	}
	words := strings.Fields(s)
	if len(words) > 5 || (len(words) < 2 && !single) {
		return false
	}
	if notNames[words[0]] {
		return false
	}
	for _, w := range words {
		if particles[w] {
			continue
		}
		r := []rune(w)
		if len(r) == 0 || !(r[0] >= 'A' && r[0] <= 'Z' || r[0] > 127 && strings.ToUpper(string(r[0])) == string(r[0])) {
			return false
		}
	}
	return true
}

// finish tidies what extraction found as casefile's normalise would: the
// agencies incidents name join the list, references are listed once, and
// lists are empty rather than null.
func finish(a *casefile.Application) {
	if a.Route == "" {
		a.Route = casefile.RouteUnknown
	}
	clean := func(p *casefile.Person) {
		p.Name = oneLine(p.Name)
		p.Phone = oneLine(p.Phone)
		p.Address = oneLine(p.Address)
		p.Email = strings.ToLower(strings.TrimSpace(p.Email))
		if p.Postcode != "" {
			p.Postcode = casefile.NormalisePostcode(p.Postcode)
		}
	}
	clean(&a.Applicant)
	if a.OnBehalfOf != nil {
		clean(a.OnBehalfOf)
	}
	var co []casefile.Person
	for _, p := range a.CoApplicants {
		clean(&p)
		if p.IsZero() {
			continue
		}
		if samePerson(p, a.Applicant) {
			// the applicant listed among the residents: what the list says
			// of them fills what the rest of the message did not
			ap := &a.Applicant
			for _, f := range [][2]*string{{&ap.Email, &p.Email}, {&ap.Phone, &p.Phone}, {&ap.Address, &p.Address}, {&ap.Postcode, &p.Postcode}} {
				if *f[0] == "" {
					*f[0] = *f[1]
				}
			}
			continue
		}
		dup := false
		for _, q := range co {
			dup = dup || samePerson(p, q)
		}
		if !dup {
			co = append(co, p)
		}
	}
	a.CoApplicants = co
	var ags []string
	for _, id := range a.Agencies {
		if id != "" && !contains(ags, id) {
			ags = append(ags, id)
		}
	}
	for _, in := range a.Incidents {
		if in.Agency != "" && !contains(ags, in.Agency) {
			ags = append(ags, in.Agency)
		}
	}
	var refs []string
	for _, in := range a.Incidents {
		if in.Reference != "" && !contains(refs, in.Reference) {
			refs = append(refs, in.Reference)
		}
	}
	for _, r := range a.References {
		if r = strings.TrimSpace(r); r != "" && !contains(refs, r) {
			refs = append(refs, r)
		}
	}
	a.Agencies, a.References = ags, refs
	if a.Incidents == nil {
		a.Incidents = []casefile.Incident{}
	}
	if a.Agencies == nil {
		a.Agencies = []string{}
	}
	if a.References == nil {
		a.References = []string{}
	}
}

func samePerson(p, q casefile.Person) bool {
	if p.Email != "" && strings.EqualFold(p.Email, q.Email) {
		return true
	}
	return p.Name != "" && strings.EqualFold(stripTitle(p.Name), stripTitle(q.Name))
}

var titleRE = mustCompile(`(?i)^(mrs|mr|ms|miss|mx|dr|cllr|councillor)\.?\s+`)

func stripTitle(n string) string { return titleRE.ReplaceAllString(strings.TrimSpace(n), "") }
