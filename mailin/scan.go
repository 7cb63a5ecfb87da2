package mailin

import (
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/csp/trigger/casefile"
)

// span is a stretch of text something was found in.
type span struct {
	start, end int
	val        string
}

func overlaps(s span, taken []span) bool {
	for _, t := range taken {
		if s.start < t.end && t.start < s.end {
			return true
		}
	}
	return false
}

// --- postcodes, phones, email addresses ---

var postcodeRE = mustCompile(`(?i)\b([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})\b`)

// findPostcodes returns the UK postcodes in s, normalised ("LE67 3FJ").
func findPostcodes(s string, skip []span) []span {
	var out []span
	for _, m := range postcodeRE.FindAllStringIndex(s, -1) {
		sp := span{m[0], m[1], casefile.NormalisePostcode(s[m[0]:m[1]])}
		if sp.val == "" || overlaps(sp, skip) {
			continue
		}
		// a postcode is written in capitals or all in lower case, not
		// mixed like a word ("Sw1 ...")
		raw := s[m[0]:m[1]]
		if raw != strings.ToUpper(raw) && raw != strings.ToLower(raw) {
			continue
		}
		out = append(out, sp)
	}
	return out
}

var phoneRE = mustCompile(`(?:\+44\s?\(0\)\s?|\+44\s?|\b0|\(0)\d[\d\s\-)]{7,14}\d`)

// findPhones returns UK telephone numbers as written, spaces tidied.
func findPhones(s string, skip []span) []span {
	var out []span
	for _, m := range phoneRE.FindAllStringIndex(s, -1) {
		raw := s[m[0]:m[1]]
		digits := 0
		for _, r := range raw {
			if r >= '0' && r <= '9' {
				digits++
			}
		}
		intl := strings.HasPrefix(raw, "+44")
		if (!intl && (digits < 10 || digits > 11)) || (intl && (digits < 11 || digits > 13)) {
			continue
		}
		if strings.Count(raw, "\n") > 0 {
			continue
		}
		sp := span{m[0], m[1], strings.Join(strings.Fields(raw), " ")}
		if overlaps(sp, skip) {
			continue
		}
		// not part of a longer number or a reference
		if m[1] < len(s) && (s[m[1]] == '/' || isAlnum(s[m[1]])) {
			continue
		}
		if m[0] > 0 && (s[m[0]-1] == '/' || s[m[0]-1] == '-' || isAlnum(s[m[0]-1])) {
			continue
		}
		out = append(out, sp)
	}
	return out
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

var emailRE = mustCompile(`[A-Za-z0-9._%+'\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)

func findEmails(s string) []span {
	var out []span
	for _, m := range emailRE.FindAllStringIndex(s, -1) {
		out = append(out, span{m[0], m[1], strings.ToLower(strings.Trim(s[m[0]:m[1]], ".'"))})
	}
	return out
}

// --- reference numbers ---

var (
	policeLogRE  = mustCompile(`\b\d{2,6} of \d{1,2}/\d{1,2}/\d{2,4}\b`)
	compoundRE   = mustCompile(`\b[A-Z][A-Z0-9]{1,9}(?:[/-][A-Z0-9]{1,12}){1,5}\b`)
	keywordRefRE = mustCompile(`(?i)\b(?:incident|crime|log|ref(?:erence)?|case|occurrence|cad|complaint|job|call)(?:\s+(?:number|no\.?|num|ref(?:erence)?|id))?(?:\s+(?:is|was))?\s*[:#]?\s*([A-Z0-9][A-Z0-9/\-]{1,24})`)
)

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

func digitCount(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}

// findRefs returns agency reference numbers: police logs ("0512 of
// 14/09/2026"), compound references ("ASB/2026/1187", "EH/NOISE/44817",
// "ASB-2026-0444") and numbers a keyword introduces ("incident 1123"). Our
// own case references are not agency references.
func findRefs(s string) []span {
	var out []span
	if !hasDigit(s) {
		return nil
	}
	add := func(sp span) {
		sp.val = strings.TrimRight(sp.val, "/-")
		if sp.val == "" || casefile.RefRE.MatchString(sp.val) || overlaps(sp, out) {
			return
		}
		out = append(out, sp)
	}
	for _, m := range policeLogRE.FindAllStringIndex(s, -1) {
		add(span{m[0], m[1], s[m[0]:m[1]]})
	}
	for _, m := range compoundRE.FindAllStringIndex(s, -1) {
		v := s[m[0]:m[1]]
		if digitCount(v) < 3 || digitCount(v) == len(strings.NewReplacer("/", "", "-", "").Replace(v)) {
			continue
		}
		if casefile.NormalisePostcode(v) != "" {
			continue
		}
		add(span{m[0], m[1], v})
	}
	for _, m := range keywordRefRE.FindAllStringSubmatchIndex(s, -1) {
		v := strings.TrimRight(s[m[2]:m[3]], "/-")
		if digitCount(v) < 3 || looksLikeDate(v) {
			continue
		}
		add(span{m[2], m[2] + len(v), v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start < out[j].start })
	return out
}

var dateLikeRE = mustCompile(`^\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}$`)

func looksLikeDate(s string) bool { return dateLikeRE.MatchString(s) }

// --- agencies ---

// agencyMatcher finds agencies by the names and aliases in the config, with
// one regular expression whose alternatives are the aliases, longest first.
type agencyMatcher struct {
	re      *textRE
	byAlias map[string]string // normalised alias → agency id
	numeric map[string]bool   // aliases that are numbers ("101")
}

// tenureAfterRE is what makes an agency's name describe a home or an
// area rather than the agency.
var tenureAfterRE = mustCompile(`(?i)^[\s\-]+(?:flats?|houses?|homes?|propert(?:y|ies)|estates?|tax|tenants?|tenancy|tenancies|bungalows?|maisonettes?|benefits?|waiting list|list|register|stock)\b`)

var callBeforeRE = mustCompile(`(?i)\b(?:call(?:ed|ing)?|rang|rung|ring(?:ing)?|phoned?|phoning|dial(?:l)?ed|dial|contacted|to|via)\s+$`)

func normAlias(s string) string {
	return strings.ToLower(strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '-' || r == '\t' || r == '\n' }), " "))
}

// localForms are the ways residents name the usual agencies besides the
// names and aliases in the config: each maps to the agency the config
// gives the plain word ("police", "council"), and is not used when the
// config has no such agency.
var localForms = []struct{ form, word string }{
	{"999", "police"},
	{"the force", "police"},
	{"police force", "police"},
	{"neighbourhood policing team", "police"},
	{"neighbourhood police team", "police"},
	{"local authority", "council"},
	{"the local council", "council"},
	{"housing association", "housing"},
	{"housing provider", "housing"},
}

func newAgencyMatcher(agencies []casefile.Agency) *agencyMatcher {
	am := &agencyMatcher{byAlias: map[string]string{}, numeric: map[string]bool{}}
	var texts []string
	add := func(t, id string) {
		t = normAlias(t)
		if t == "" {
			return
		}
		if _, dup := am.byAlias[t]; dup {
			return
		}
		am.byAlias[t] = id
		am.numeric[t] = strings.IndexFunc(t, func(r rune) bool { return !unicode.IsDigit(r) }) < 0
		texts = append(texts, t)
	}
	for _, a := range agencies {
		for _, t := range append([]string{a.ID, a.Name}, a.Aliases...) {
			add(t, a.ID)
		}
	}
	for _, lf := range localForms {
		if id, ok := am.byAlias[lf.word]; ok {
			add(lf.form, id)
		}
	}
	sort.SliceStable(texts, func(i, j int) bool { return len(texts[i]) > len(texts[j]) })
	alts := make([]string, 0, len(texts))
	for _, t := range texts {
		alts = append(alts, strings.Join(strings.Fields(regexp.QuoteMeta(t)), `[\s\-]+`))
	}
	if len(alts) == 0 {
		alts = []string{`\x00\x01never`}
	}
	am.re = newTextRE(regexp.MustCompile(`(?i)\b(?:` + strings.Join(alts, "|") + `)(?:s|'s)?\b`))
	return am
}

// find returns the agencies mentioned in s in order, each mention once. A
// number alias ("101") counts only after a verb of calling; a mention right
// after another ("council officer") is part of it.
func (am *agencyMatcher) find(s string, skip []span) []span {
	var out []span
	prevEnd := -1
	for _, m := range am.re.FindAllStringIndex(s, -1) {
		t := normAlias(s[m[0]:m[1]])
		id, ok := am.byAlias[t]
		if !ok {
			t = strings.TrimSuffix(strings.TrimSuffix(t, "'s"), "s")
			id, ok = am.byAlias[t]
		}
		if !ok {
			continue
		}
		sp := span{m[0], m[1], id}
		if overlaps(sp, skip) {
			continue
		}
		if am.numeric[t] && !callBeforeRE.MatchString(s[max(0, m[0]-30):m[0]]) {
			continue
		}
		if tenureAfterRE.MatchString(s[m[1]:min(len(s), m[1]+20)]) {
			continue // "a council flat", "the housing estate": where people live, not who they told
		}
		if prevEnd >= 0 && strings.TrimSpace(s[prevEnd:m[0]]) == "" {
			prevEnd = m[1]
			continue
		}
		prevEnd = m[1]
		out = append(out, sp)
	}
	return out
}

// ids returns the agency ids mentioned, each once.
func (am *agencyMatcher) ids(s string, skip []span) []string {
	var out []string
	for _, sp := range am.find(s, skip) {
		if !contains(out, sp.val) {
			out = append(out, sp.val)
		}
	}
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// --- dates ---

var months = map[string]time.Month{
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}

const monthPat = `(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?`

var (
	numDateRE  = mustCompile(`\b(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})\b`)
	isoDateRE  = mustCompile(`\b(\d{4})-(\d{2})-(\d{2})\b`)
	dayMonthRE = mustCompile(`(?i)\b(\d{1,2})(?:st|nd|rd|th)?(?:\s+of)?\s+` + monthPat + `(?:,?\s+(\d{4}))?\b`)
	monthDayRE = mustCompile(`(?i)\b` + monthPat + `\s+(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s+(\d{4})\b)?`)
	relDateRE  = mustCompile(`(?i)\b(yesterday|last night|today|this morning|this afternoon|this evening|tonight)\b`)
	// a day of the week, said of the week before the message
	weekdayRE = mustCompile(`(?i)\b(?:(last|on|this past)\s+)?(monday|tuesday|wednesday|thursday|friday|saturday|sunday)(s)?\b`)
	// a weekday that is not a day in the past: "every Friday", "next
	// Friday", "this Friday", "on a Friday", or one a date follows
	// ("Friday 3 October", "Friday the 3rd")
	weekdayNotRE    = mustCompile(`(?i)\b(?:every|each|next|this|coming|most|some|a|until|till|by|before)\s+$`)
	weekdayDatedRE  = mustCompile(`(?i)^,?\s+(?:the\s+)?\d`)
	futureRE        = mustCompile(`(?i)\b(?:will|won't|shall|going to|gonna|tomorrow|upcoming|planned|planning|plan to|intend|next (?:week|weekend|month|time|monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b|'ll\b`)
	afterMonthDayRE = mustCompile(`(?i)^\s+(?:times|x)\b`)
	rangeBefRE      = mustCompile(`(?i)\b(since|from|until|till|between|before|after|by|ending|starting)\s+(?:the\s+)?(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?$`)
)

// dateSpan is a date found in text.
type dateSpan struct {
	span
	d     casefile.Date
	year  bool // the year was written
	rng   bool // a bound of a period ("since 2 June"), not a day something happened
	after bool // in the future of the message: not usable
}

// findDates returns the dates in s, read the British way (day first). A
// date without a year takes the year of ref, or the year before when it
// would otherwise be after ref. Relative days are counted from ref.
func findDates(s string, ref time.Time, skip []span) []dateSpan {
	var out []dateSpan
	if !hasDigit(s) && !relDateRE.MatchString(s) && !weekdayRE.MatchString(s) {
		return nil
	}
	refDay := casefile.DateOf(ref)
	add := func(m []int, d casefile.Date, year bool) {
		ds := dateSpan{span: span{m[0], m[1], d.String()}, d: d, year: year}
		if overlaps(ds.span, skip) {
			return
		}
		for _, o := range out {
			if overlaps(ds.span, []span{o.span}) {
				return
			}
		}
		ds.rng = rangeBefRE.MatchString(s[max(0, m[0]-40):m[0]])
		ds.after = !ref.IsZero() && d.After(refDay)
		out = append(out, ds)
	}
	mk := func(y int, mo time.Month, d int) (casefile.Date, bool) {
		if mo < 1 || mo > 12 || d < 1 || d > 31 || y < 1900 || y > 2200 {
			return casefile.Date{}, false
		}
		t := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
		if t.Day() != d {
			return casefile.Date{}, false
		}
		return casefile.Date{Year: y, Month: mo, Day: d}, true
	}
	noYear := func(mo time.Month, d int) (casefile.Date, bool) {
		if ref.IsZero() {
			return casefile.Date{}, false
		}
		dt, ok := mk(refDay.Year, mo, d)
		if !ok {
			if mo == 2 && d == 29 {
				dt, ok = mk(refDay.Year-1, mo, d)
			}
			return dt, ok && !dt.After(refDay)
		}
		if dt.After(refDay) {
			dt, ok = mk(refDay.Year-1, mo, d)
		}
		return dt, ok
	}
	atoi := func(s string) int {
		n := 0
		for _, c := range s {
			n = n*10 + int(c-'0')
		}
		return n
	}
	for _, m := range isoDateRE.FindAllStringSubmatchIndex(s, -1) {
		if d, ok := mk(atoi(s[m[2]:m[3]]), time.Month(atoi(s[m[4]:m[5]])), atoi(s[m[6]:m[7]])); ok {
			add(m, d, true)
		}
	}
	for _, m := range numDateRE.FindAllStringSubmatchIndex(s, -1) {
		y := atoi(s[m[6]:m[7]])
		if m[7]-m[6] == 2 {
			y += 2000
		}
		if d, ok := mk(y, time.Month(atoi(s[m[4]:m[5]])), atoi(s[m[2]:m[3]])); ok {
			add(m, d, true)
		}
	}
	for _, m := range dayMonthRE.FindAllStringSubmatchIndex(s, -1) {
		mo := months[strings.ToLower(s[m[4]:m[4]+3])]
		day := atoi(s[m[2]:m[3]])
		if m[6] >= 0 {
			if d, ok := mk(atoi(s[m[6]:m[7]]), mo, day); ok {
				add(m, d, true)
			}
		} else if d, ok := noYear(mo, day); ok {
			add(m, d, false)
		}
	}
	for _, m := range monthDayRE.FindAllStringSubmatchIndex(s, -1) {
		if !unicode.IsUpper(rune(s[m[0]])) {
			continue // "may 5 …" is not a date; "May 5" is
		}
		if m[6] < 0 && afterMonthDayRE.MatchString(s[m[5]:]) {
			continue // "in September 3 times"
		}
		mo := months[strings.ToLower(s[m[2]:m[2]+3])]
		day := atoi(s[m[4]:m[5]])
		if m[6] >= 0 {
			if d, ok := mk(atoi(s[m[6]:m[7]]), mo, day); ok {
				add([]int{m[0], m[7]}, d, true)
			}
		} else if d, ok := noYear(mo, day); ok {
			add([]int{m[0], m[5]}, d, false)
		}
	}
	if !ref.IsZero() {
		for _, m := range relDateRE.FindAllStringSubmatchIndex(s, -1) {
			d := refDay
			switch strings.ToLower(s[m[2]:m[3]]) {
			case "yesterday", "last night":
				d = refDay.AddDays(-1)
			}
			add(m, d, true)
		}
		if !futureRE.MatchString(s) {
			for _, m := range weekdayRE.FindAllStringSubmatchIndex(s, -1) {
				if d, ok := weekdayDate(s, m, refDay); ok {
					add(m, d, true)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start < out[j].start })
	return out
}

var weekdays = map[string]time.Weekday{"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
	"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday}

// weekdayDate reads a day of the week (match m of weekdayRE in s) as a day
// before the message's: "on Friday", "Friday night" and "last Friday" are
// the latest Friday before it. Where that could mean two days it means
// none: "Friday" in a message written on a Friday (today, or a week ago?),
// and "last Monday" written on a Wednesday (two days ago, or the Monday of
// last week?) — "last" is read only when both meanings agree, when the
// latest such day is in the week before the message's (weeks start on
// Monday).
func weekdayDate(s string, m []int, ref casefile.Date) (casefile.Date, bool) {
	if m[6] >= 0 { // "Fridays": a habit, not a day
		return casefile.Date{}, false
	}
	if weekdayNotRE.MatchString(s[max(0, m[0]-12):m[0]]) || weekdayDatedRE.MatchString(s[m[1]:]) {
		return casefile.Date{}, false
	}
	wd := weekdays[strings.ToLower(s[m[4]:m[5]])]
	refT := time.Date(ref.Year, ref.Month, ref.Day, 12, 0, 0, 0, time.UTC)
	back := (int(refT.Weekday()) - int(wd) + 7) % 7
	if back == 0 {
		if m[2] < 0 || !strings.EqualFold(s[m[2]:m[3]], "last") {
			return casefile.Date{}, false // today, or a week ago
		}
		back = 7
	}
	day := refT.AddDate(0, 0, -back)
	if m[2] >= 0 && strings.EqualFold(s[m[2]:m[3]], "last") {
		// the Monday that starts the message's week
		monday := refT.AddDate(0, 0, -((int(refT.Weekday()) + 6) % 7))
		if !day.Before(monday) {
			return casefile.Date{}, false
		}
	}
	return casefile.DateOf(day), true
}

// firstDate returns the first usable date in a form value.
func firstDate(s string, ref time.Time) casefile.Date {
	for _, d := range findDates(s, ref, findRefSpans(s)) {
		if !d.after {
			return d.d
		}
	}
	return casefile.Date{}
}

func findRefSpans(s string) []span { return findRefs(s) }
