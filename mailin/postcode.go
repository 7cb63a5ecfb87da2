package mailin

import (
	"strings"
)

// postcodes is what the postcodes in the body of a free-text email say:
// whose each one is, read from the words around it.
type postcodes struct {
	// own is the applicant's postcode, said as theirs ("my postcode is",
	// "I live at … LE67 3PN") or ending the message after their name or
	// a town ("… Lee Grant LE67 4HD").
	own string
	// ownName and ownTown are what came before a postcode that ends the
	// message: the applicant's name, or a town.
	ownName, ownTown string
	// place is where the behaviour happens, with its postcode ("outside
	// the flats at Bridge Court, Coalville LE67 2XY"); placePostcode is
	// that postcode, which is never the applicant's.
	place, placePostcode string
}

var (
	// the applicant speaking of their own home before a postcode
	ownPostcodeRE = mustCompile(`(?i)\b(?:my|our) post ?code(?: is|:)?\s*$`)
	ownHomeRE     = mustCompile(`(?i)\b(?:I live|I've lived|I have lived|we live|we've lived|we have lived|I am living|I'm living|I reside|my address|our address|my home|our home|my house|our house|my flat|our flat|I am at|I'm at)\b`)
	// words after "I live at" that move on from the applicant's home
	ownEndRE = mustCompile(`(?i)\s(?:and|but|where|who|whose|which|because|since|while|whereas|when|they|them|the (?:family|people|neighbours?|youths|tenants|house|flat))\s`)
	// a place in a sentence, the last before an address
	placePrepRE = mustCompile(`(?i)\b(?:at|on|in|from|outside|behind|near|opposite|around|by|beside|next to|in front of)\s+`)
	// words of a sentence about behaviour, and who does it
	behaviourRE = mustCompile(`(?i)\b(?:part(?:y|ies)|music|nois[ey]|fight\w*|shout\w*|scream\w*|drugs?|deal\w*|youths?|gangs?|gather\w*|abus\w*|threat\w*|throw\w*|threw|smash\w*|damag\w*|vandal\w*|graffiti|litter\w*|rubbish|fly-?tipp\w*|dogs?|bark\w*|asb|anti-?social|nuisance|harass\w*|intimidat\w*|problems?|trouble|behaviour|famil(?:y|ies)|neighbours?|tenants?|people|they|them)\b`)
	// the words that end a place said in a sentence
	placeEndRE = mustCompile(`(?i)\s+(?:and|but|where|who|which|because|since|have|has|had|is|are|was|were|keep|keeps|play|plays|make|makes)\s`)
)

// dropPreps are the prepositions left off a place: "at 12 Elm Road" is
// "12 Elm Road", "outside the flats" stays as it is.
var dropPreps = map[string]bool{"at": true, "on": true, "in": true, "from": true, "by": true}

// readPostcodes sorts the postcodes in body (a free-text email without its
// signature): the applicant's own, and the place of the behaviour. A
// postcode in victim (the sentences about the person applied for) is
// theirs, and one whose words say nothing of whose it is stays unread: a
// field left empty is better than a wrong one. applicant is the name the
// message is from.
func readPostcodes(body string, skip []span, victim, applicant string) postcodes {
	var out postcodes
	for _, pc := range findPostcodes(body, skip) {
		start := sentenceStart(body, pc.start)
		before := body[start:pc.start]
		if victim != "" && strings.Contains(victim, strings.TrimSpace(body[start:pc.end])) {
			continue // the person applied for
		}
		switch {
		case ownPostcodeRE.MatchString(before) || ownHome(before):
			if out.own == "" {
				out.own = pc.val
			}
		case signOff(body, pc, before) != "":
			// the message ends with it after a name or a town: a sign-off
			// on one line
			lead := signOff(body, pc, before)
			if out.own == "" {
				out.own = pc.val
				if sharesWord(lead, applicant) {
					out.ownName = lead
				} else if len(strings.Fields(lead)) <= 3 && applicant != "" {
					out.ownTown = lead
				}
			}
		case out.place == "" && behaviourRE.MatchString(body[start:min(len(body), pc.end+200)]):
			if place := placeBefore(before); place != "" {
				out.place = tidyAddress(place + " " + pc.val)
				out.placePostcode = pc.val
			}
		}
	}
	return out
}

// signOff returns the name or town before a postcode that ends the
// message ("… Lee Grant LE67 4HD"), or "".
func signOff(body string, pc span, before string) string {
	if strings.TrimSpace(strings.Trim(body[pc.end:], ".!,;")) != "" {
		return ""
	}
	lead := strings.TrimSpace(strings.Trim(strings.TrimSpace(before), ",-–"))
	if lead == "" || !nameLike(lead, true) || len(strings.Fields(lead)) > 4 {
		return ""
	}
	return lead
}

// ownHome reports whether the words before a postcode give it as the
// applicant's home: "I live at 3 Hall Lane", "my address is …", with
// nothing between that moves on to another place ("I live at 10 Elm Road,
// where the parties are at 12 Elm Road").
func ownHome(before string) bool {
	locs := ownHomeRE.FindAllStringIndex(before, -1)
	if len(locs) == 0 {
		return false
	}
	return !ownEndRE.MatchString(" " + before[locs[len(locs)-1][1]:] + " ")
}

// sentenceStart is where the sentence holding position i starts.
func sentenceStart(s string, i int) int {
	j := i
	for j > 0 {
		k := strings.LastIndexAny(s[:j], ".!?\n")
		if k < 0 {
			return 0
		}
		// a full stop inside an abbreviation ("St.", "Rd.") goes on
		if s[k] == '.' && isAbbrev(s[:k]) {
			j = k
			continue
		}
		return k + 1
	}
	return 0
}

// placeBefore returns the place said just before an address's postcode:
// from the last preposition that starts an address ("outside the flats at
// Bridge Court, Coalville"), or "".
func placeBefore(before string) string {
	if len(before) > 120 {
		before = before[len(before)-120:]
	}
	locs := placePrepRE.FindAllStringIndex(before, -1)
	for k := len(locs) - 1; k >= 0; k-- {
		prep := strings.ToLower(strings.TrimSpace(before[locs[k][0]:locs[k][1]]))
		rest := before[locs[k][1]:]
		if placeEndRE.MatchString(" " + rest + " ") {
			continue
		}
		if !hasDigit(rest) && !startsUpper(rest) && !strings.HasPrefix(strings.ToLower(rest), "the ") {
			continue
		}
		if dropPreps[prep] {
			return strings.TrimSpace(rest)
		}
		return strings.TrimSpace(before[locs[k][0]:])
	}
	return ""
}

func startsUpper(s string) bool {
	s = strings.TrimSpace(s)
	return s != "" && s[0] >= 'A' && s[0] <= 'Z'
}

// sharesWord reports whether two names have a word in common ("Lee" and
// "Lee Grant").
func sharesWord(a, b string) bool {
	for _, w := range strings.Fields(strings.ToLower(a)) {
		for _, v := range strings.Fields(strings.ToLower(b)) {
			if w == v && len(w) > 1 {
				return true
			}
		}
	}
	return false
}
