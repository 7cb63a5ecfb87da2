package mailin

import (
	"strings"

	"github.com/csp/trigger/casefile"
)

var (
	reportVerbRE = mustCompile(`(?i)\b(call(?:ed|ing)?|rang|rung|phoned?|phoning|report(?:ed|ing)?|e-?mailed|contacted|complained|informed|logged|wrote to|written to|spoke to|spoken to|notified|raised (?:it|this) with|made a (?:report|complaint)|dialled|told)\b`)
	notReportRE  = mustCompile(`(?i)\b(?:called|call|calling|told|telling)\s+(?:me|us|him|her|them|my|our)\b|\breport(?:ed)? back\b`)
	sameDayRE    = mustCompile(`(?i)\b(that (?:night|day|evening|morning|afternoon)|the same (?:day|night|evening)|same day|same night|at the time|while it was (?:happening|going on)|as it (?:was )?happen(?:ed|ing))\b`)
	nextDayRE    = mustCompile(`(?i)\bthe (?:next|following) (?:day|morning)\b`)
	subjectRE    = mustCompile(`(?i)^\s*(they|he|she|it|there|this|that|which|who|someone|somebody)\b`)
	leadWordsRE  = mustCompile(`(?i)^(?:\s*(?:and|or|then|also|again|on|the|plus|\())+\s*`)
)

// sentencesOf splits text into sentences: paragraphs are joined across line
// wraps, list lines stand alone, and a full stop after an abbreviation
// ("Mrs.", "No.") does not end a sentence.
func sentencesOf(text string) []string {
	var out []string
	for _, para := range strings.Split(text, "\n\n") {
		var joined []string
		var cur []string
		for _, l := range strings.Split(para, "\n") {
			t := strings.TrimSpace(l)
			if t == "" {
				continue
			}
			if bulletRE.MatchString(t) && len(cur) > 0 {
				joined = append(joined, strings.Join(cur, " "))
				cur = cur[:0]
			}
			cur = append(cur, t)
		}
		if len(cur) > 0 {
			joined = append(joined, strings.Join(cur, " "))
		}
		for _, j := range joined {
			out = append(out, splitSentences(j)...)
		}
	}
	return out
}

var abbrevs = map[string]bool{"mr": true, "mrs": true, "ms": true, "dr": true, "no": true, "st": true, "rd": true, "approx": true,
	"etc": true, "eg": true, "ie": true, "cllr": true, "tel": true, "ref": true, "inc": true, "vs": true, "e.g": true, "i.e": true}

// isAbbrev reports whether s ends with an abbreviation that takes a full stop.
func isAbbrev(s string) bool {
	i := strings.LastIndexAny(s, " \t(")
	return abbrevs[strings.ToLower(s[i+1:])]
}

func splitSentences(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '.' && c != '!' && c != '?' {
			continue
		}
		if i+1 < len(s) && s[i+1] != ' ' {
			continue
		}
		if c == '.' && isAbbrev(s[start:i]) {
			continue
		}
		if t := strings.TrimSpace(s[start : i+1]); t != "" {
			out = append(out, t)
		}
		start = i + 1
	}
	if t := strings.TrimSpace(s[start:]); t != "" {
		out = append(out, t)
	}
	return out
}

// clausesOf splits a sentence at commas, semicolons and "and"/"but"/"then"
// outside parentheses.
func clausesOf(s string) []span {
	var out []span
	depth, start := 0, 0
	lower := strings.ToLower(s)
	cut := func(i, skip int) {
		if i > start {
			out = append(out, span{start, i, ""})
		}
		start = i + skip
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		case ',', ';':
			if depth == 0 {
				cut(i, 1)
			}
		case ' ':
			if depth == 0 {
				for _, w := range []string{" and ", " but ", " then ", " - ", " – "} {
					if strings.HasPrefix(lower[i:], w) {
						cut(i, len(w)-1)
						break
					}
				}
			}
		}
	}
	cut(len(s), 0)
	return out
}

// textIncidents finds complaints in free text: a report to an agency
// ("I called the police on 5 September (incident 1123)") with its date,
// agency and reference. The day of the behaviour is set only when the text
// says it: a date in a clause about what happened ("Another party last
// night, I reported it …"), or "that night", "the same day" in the report.
// A report date alone is never taken for the day of the behaviour.
func (x *extractor) textIncidents(text string) []casefile.Incident {
	var out []casefile.Incident
	var prevPending []casefile.Date
	for _, sent := range sentencesOf(text) {
		refs := findRefs(sent)
		var dates []dateSpan
		for _, d := range findDates(sent, x.ref, refs) {
			if !d.rng && !d.after {
				dates = append(dates, d)
			}
		}
		ags := x.am.find(sent, refs)
		first := len(out)
		reportMode := false
		ctxAgency := ""
		var pending []casefile.Date
		for _, c := range clausesOf(sent) {
			ct := sent[c.start:c.end]
			var cDates []dateSpan
			for _, d := range dates {
				if d.start >= c.start && d.end <= c.end {
					cDates = append(cDates, d)
				}
			}
			var cRefs []span
			for _, r := range refs {
				if r.start >= c.start && r.end <= c.end {
					cRefs = append(cRefs, r)
				}
			}
			cAg := ""
			for _, a := range ags {
				if a.start >= c.start && a.end <= c.end {
					cAg = a.val
					break
				}
			}
			report := reportVerbRE.MatchString(ct) && !notReportRE.MatchString(ct)
			lead := leadWordsRE.FindString(ct)
			// after a report, a clause that names no one new goes on listing
			// reports ("…, 19 September (incident 0877)", "and to the council on 20 October")
			cont := !report && reportMode && len(cDates) > 0 && !subjectRE.MatchString(ct[len(lead):])
			if !report && !cont {
				pending = append(pending, datesOf(cDates)...)
				// a reference given after the report ("who gave me ASB-2026-0444")
				if len(cRefs) > 0 && len(out) > first && out[len(out)-1].Reference == "" && len(cDates) == 0 {
					out[len(out)-1].Reference = cRefs[0].val
				}
				continue
			}
			reportMode = true
			if cAg != "" {
				ctxAgency = cAg
			}
			same, next := sameDayRE.MatchString(ct), nextDayRE.MatchString(ct)
			switch {
			case len(cDates) > 0:
				for i, d := range cDates {
					in := casefile.Incident{ReportedOn: d.d, Agency: ctxAgency, Reference: refFor(i, len(cDates), cRefs)}
					switch {
					case same:
						in.OccurredOn = d.d
					case len(pending) == 1 && len(cDates) == 1 && !pending[0].After(d.d):
						in.OccurredOn = pending[0]
						pending = nil
					}
					out = append(out, in)
				}
			default:
				occ := pending
				if len(occ) == 0 && (same || next) {
					occ = prevPending
					prevPending = nil
				}
				pending = nil
				for _, o := range occ {
					in := casefile.Incident{OccurredOn: o, Agency: ctxAgency}
					if len(occ) == 1 && len(cRefs) > 0 {
						in.Reference = cRefs[0].val
					}
					switch {
					case same:
						in.ReportedOn = o
					case next:
						in.ReportedOn = o.AddDays(1)
					}
					out = append(out, in)
				}
				if len(occ) == 0 && len(cRefs) > 0 {
					for _, r := range cRefs {
						out = append(out, casefile.Incident{Agency: ctxAgency, Reference: r.val})
					}
				}
			}
		}
		prevPending = pending
	}
	return out
}

func datesOf(ds []dateSpan) []casefile.Date {
	out := make([]casefile.Date, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.d)
	}
	return out
}

// refFor gives the i-th of n dates in a clause its reference: one each
// when the counts agree, the only one when there is one date.
func refFor(i, n int, refs []span) string {
	switch {
	case len(refs) == n:
		return refs[i].val
	case n == 1 && len(refs) > 0:
		return refs[0].val
	}
	return ""
}
