package mailin

import (
	"strings"
)

// Consent in prose: a sentence gives it, refuses it, or says nothing of it.
// Consent is never inferred from silence, and a sentence that could be
// about something else ("they came into her garden without her consent",
// "the landlord has given consent for a new fence") says nothing of it.
var (
	// a word a sentence about consent holds
	consentWordRE = mustCompile(`(?i)\b(?:consent\w*|permission|agree[ds]?|agreement|happy|content|fine|ok|okay|authori[sz]\w*|objections?|wants?|refus\w*|declin\w*|withdr\w*)\b`)
	// what consent here is about: applying, acting, sharing, contacting
	consentTopicRE = mustCompile(`(?i)\b(?:shar\w*|details|information|info|data|act(?:ing)?|behalf|apply\w*|applied|application|writ\w*|pass(?:ed|ing)? (?:on|them|it)|this (?:review|request|complaint|case)|case review|community trigger|partnership|agencies|represent\w*)\b`)
	// a refusal, or consent not (yet) given
	consentRefusedRE = mustCompile(`(?i)(?:\b(?:not|never|no)\b|n't\b)[^.!?]{0,40}?\b(?:consent\w*|permission|agree[ds]?|happy|content|want)\b|\bwithout (?:my|her|his|their|our) (?:\w+ )?(?:consent|permission|agreement|knowledge)\b|\b(?:refused|refuses|declined|withdrawn|withdrew)\b`)
	// doubt: neither given nor refused
	consentDoubtRE = mustCompile(`(?i)\b(?:not sure|unsure|don't know|do not know|whether|if (?:she|he|they|I|we) (?:will|would|can|could|is|are)|might|may|yet to (?:ask|be asked)|will ask|going to ask|hope|hoping|waiting)\b`)
	// consent given, with who gives it before it
	consentGivenRE = mustCompile(`(?i)\b(?:has|have|had)\s+(?:\w+\s+){0,3}?(?:given|provided|signed)\b[^.!?]{0,40}?\b(?:consent|permission|authority|authori[sz]ation)\b` +
		`|\b(?:gave|give|gives)\s+(?:me|us)?\s*(?:her|his|their|my|our)?\s*(?:full |written |verbal |signed )?(?:consent|permission)\b` +
		`|\b(?:consents?|consented|agreed?|agrees)\s+(?:to|for|that)\b` +
		`|\bwith (?:her|his|their|my|our) (?:full |written |verbal |signed )?(?:consent|permission|agreement|knowledge and consent)\b` +
		`|\b(?:is|are|am|'m|'re|'s)\s+(?:happy|content|fine|ok|okay)\s+(?:for|with|that|to)\b` +
		`|\b(?:I|we)\s+(?:consent|give (?:my|our)? ?(?:consent|permission))\b` +
		`|\bno objections?\b`)
	// who can give consent: the applicant or the person applied for, not
	// a landlord or an agency
	consentPersonRE    = mustCompile(`(?i)\b(?:I|I'm|we|we're|she|she's|he|he's|they|they're|her|him|them|mum|mom|mother|dad|father|` + relWords + `|victim|Mrs|Mr|Ms|Miss|Mx)\b`)
	consentNotPersonRE = mustCompile(`(?i)\b(?:landlord|council|police|housing|association|agency|company|school|owner|builder|planning)\b`)
)

// consentInProse reads consent to the application (for someone applying
// on another's behalf, the other person's consent) from the sentences of
// text: given (true) or refused (false) with the sentence that says so, or
// nil when no sentence is about it or sentences disagree.
func consentInProse(text string) (*bool, string) {
	var given, refused []string
	for _, sent := range sentencesOf(text) {
		if !consentWordRE.MatchString(sent) || !consentTopicRE.MatchString(sent) && !bareConsent(sent) {
			continue
		}
		switch {
		case consentDoubtRE.MatchString(sent):
		case consentRefusedRE.MatchString(sent):
			refused = append(refused, sent)
		case givenByPerson(sent):
			given = append(given, sent)
		}
	}
	switch {
	case len(given) > 0 && len(refused) == 0:
		return ptr(true), evidence(given[0])
	case len(refused) > 0 && len(given) == 0:
		return ptr(false), evidence(refused[0])
	}
	return nil, ""
}

// bareConsent reports a sentence that is all about consent and names
// nothing else it could be for ("She has given her consent.").
func bareConsent(sent string) bool {
	loc := consentGivenRE.FindStringIndex(sent)
	if loc == nil {
		return false
	}
	rest := strings.Trim(sent[loc[1]:], " .!")
	return rest == "" || strings.EqualFold(rest, "to this") || strings.EqualFold(rest, "for this")
}

// givenByPerson reports a sentence that gives consent with a person (not
// a landlord or an agency) as the one who gives it.
func givenByPerson(sent string) bool {
	loc := consentGivenRE.FindStringIndex(sent)
	if loc == nil {
		return false
	}
	who := sent[:loc[0]]
	if i := strings.LastIndexAny(who, ",;:"); i >= 0 && strings.TrimSpace(who[i+1:]) != "" {
		who = who[i+1:]
	}
	if consentNotPersonRE.MatchString(who) {
		return false
	}
	return consentPersonRE.MatchString(who) || nameLike(strings.TrimSpace(who), true) ||
		strings.HasPrefix(strings.ToLower(sent[loc[0]:]), "with ")
}

// evidence is a sentence kept as the evidence of a consent: on one line,
// and not so long that it is more than the sentence.
func evidence(s string) string {
	s = oneLine(s)
	if len(s) > 400 {
		s = prefix(s, 400) + "…"
	}
	return s
}
