package mailin

import (
	"strings"

	"github.com/csp/trigger/casefile"
)

var (
	closingRE  = mustCompile(`(?i)^(kind(est)? regards|best regards|warm regards|regards|many thanks|thanks( again)?|thank you( very much)?|yours (sincerely|faithfully|truly)|best wishes|best|cheers|sincerely|with thanks)[,.!]*$`)
	greetingRE = mustCompile(`(?i)^(hello|hi|hiya|dear|good (morning|afternoon|evening)|to whom it may concern)\b[^\n]{0,60}$`)
)

// splitSignature separates the sign-off and signature block from the body
// of a free-text email: after a "-- " line, after a closing ("Kind
// regards,"), or a last paragraph that starts with a name and gives an
// address, postcode or telephone number.
func splitSignature(body string) (main, sig string) {
	lines := strings.Split(body, "\n")
	for i, l := range lines {
		if strings.TrimRight(l, " ") == "--" {
			return strings.TrimSpace(strings.Join(lines[:i], "\n")), strings.TrimSpace(strings.Join(lines[i+1:], "\n"))
		}
	}
	// a forwarded message is not the sender's signature
	end := len(lines)
	for i, l := range lines {
		if forwardMarkRE.MatchString(strings.TrimSpace(l)) {
			end = i
			break
		}
	}
	for i := end - 1; i >= 0 && i >= end-15; i-- {
		if closingRE.MatchString(strings.TrimSpace(lines[i])) {
			return strings.TrimSpace(strings.Join(append(lines[:i:i], lines[end:]...), "\n")),
				strings.TrimSpace(strings.Join(lines[i+1:end], "\n"))
		}
	}
	// last paragraph before any forwarded message
	j := end - 1
	for j >= 0 && strings.TrimSpace(lines[j]) == "" {
		j--
	}
	k := j
	for k >= 0 && strings.TrimSpace(lines[k]) != "" {
		k--
	}
	para := lines[k+1 : j+1]
	if len(para) >= 2 && len(para) <= 7 && nameLike(strings.TrimSpace(para[0]), false) {
		rest := strings.Join(para[1:], "\n")
		if len(findPostcodes(rest, nil)) > 0 || len(findPhones(rest, nil)) > 0 || len(findEmails(rest)) > 0 || addressLike(strings.TrimSpace(para[1])) {
			return strings.TrimSpace(strings.Join(append(lines[:k+1:k+1], lines[end:]...), "\n")), strings.TrimSpace(strings.Join(para, "\n"))
		}
	}
	return strings.TrimSpace(body), ""
}

// signature reads a signature block: the name on its first line, the
// address lines (with a house number, a street word or the postcode), the
// postcode, a telephone number and an email address.
func signature(sig, fromName string) casefile.Person {
	var p casefile.Person
	lines := nonEmptyLines(sig)
	if len(lines) == 0 {
		return p
	}
	start := 0
	if nameLike(lines[0], true) && len(strings.Fields(lines[0])) <= 5 {
		p.Name = lines[0]
		start = 1
	} else if pcs := findPostcodes(lines[0], nil); len(pcs) == 1 && strings.TrimSpace(lines[0][pcs[0].end:]) == "" {
		// "Lee Grant LE67 4HD": a name and a postcode on one line; a
		// town and a postcode ("Coalville LE67 3PN") is read below
		lead := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(lines[0][:pcs[0].start]), ",-–"))
		if nameLike(lead, true) && sharesWord(lead, fromName) {
			p.Name, p.Postcode = lead, pcs[0].val
			start = 1
		}
	}
	var addr []string
	inAddr := false // between the first address line and the postcode
	for i, l := range lines[start:] {
		if e := findEmails(l); len(e) > 0 {
			if p.Email == "" {
				p.Email = e[0].val
			}
			continue
		}
		if ph := findPhones(l, nil); len(ph) > 0 {
			if p.Phone == "" {
				p.Phone = ph[0].val
			}
			rest := strings.TrimSpace(l[:ph[0].start] + l[ph[0].end:])
			if !addressLike(rest) && len(findPostcodes(rest, nil)) == 0 {
				continue
			}
			l = rest
		}
		if pcs := findPostcodes(l, nil); len(pcs) > 0 {
			if p.Postcode == "" {
				p.Postcode = pcs[0].val
				// words before it on the first line of a signature with no
				// name may be a name as well as a town: not an address then
				if lead := strings.TrimSpace(l[:pcs[0].start]); start > 0 || i > 0 || lead == "" || addressLike(lead) {
					addr = append(addr, l)
				}
			}
			inAddr = false
			continue
		}
		if (addressLike(l) || inAddr) && len(addr) < 5 && p.Postcode == "" {
			addr = append(addr, l)
			inAddr = true
		}
	}
	if p.Postcode == "" {
		// lines after an address line are a town only when a postcode ends them
		var kept []string
		for _, l := range addr {
			if addressLike(l) {
				kept = append(kept, l)
			}
		}
		addr = kept
	}
	p.Address, p.Postcode = addressValue(addr, p.Postcode)
	return p
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

var (
	relWords     = `mother|mum|mom|father|dad|son|daughter|sister|brother|aunt|auntie|uncle|grandmother|grandfather|nan|nana|gran|grandma|grandad|granddad|wife|husband|partner|neighbour|friend|client|constituent|tenant|cousin|niece|nephew|parents?|service user|resident|father-in-law|mother-in-law`
	onBehalfRE   = mustCompile(`(?i)\b(?:on behalf of|applying for|writing for|acting for|representing|writing about|apply for)\s+(?:my|our|a|an|one of my|one of our|the)?\s*(?:elderly |disabled |vulnerable |frail |\d{2}[- ]year[- ]old )*(?:` + relWords + `)\b`)
	onBehalfName = mustCompile(`\b(?:[Oo]n behalf of|[Aa]pplying for|[Cc]arer (?:for|of|to)|[Cc]are for|[Ss]upport worker (?:for|of|to))\s+((?:(?:Mrs|Mr|Ms|Miss|Mx|Dr)\.?\s+)?[A-Z][A-Za-z'\-]+(?:\s+[A-Z][A-Za-z'\-]+){0,3})`)
	councillorRE = mustCompile(`(?i)\b(?:I am|I'm|as) (?:a |the |your |their |her |his )?(?:local |ward |district |county |parish |borough |city |town )*councillor\b`)
	carerRE      = mustCompile(`(?i)\b(?:I am|I'm|as) (?:his|her|their|the|a)\s+(?:main |full[- ]time |paid |unpaid |live[- ]in )?(?:carer|care worker|support worker|social worker|advocate|key worker|personal assistant)\b|\bI (?:care|am caring) for\b`)
	relNameRE    = mustCompile(`^(?:'s)?[\s,(]*((?:(?:Mrs|Mr|Ms|Miss|Mx|Dr)\.?\s+)?[A-Z][A-Za-z'\-]+(?:\s+[A-Z][A-Za-z'\-]+){0,3})`)
	livesAtRE    = mustCompile(`(?i)\b(?:lives at|living at|lives in|resides at|residing at|resident at|address is|home at|of|at)\s+((?:flat \d+[a-z]?,?\s+)?\d+[a-z]?,?\s+[^.;\n]{3,120}?)(?:[.;\n]|,?\s+(?:who|and|she|he|they|where)\b|$)`)

	communityRE = mustCompile(`(?i)\b(?:we are|we're|on behalf of|this is|from|as)\s+(?:a |the )?(?:group of\s+)?(?:\d+|several|a number of|two|three|four|five|six|seven|eight|nine|ten|many)?\s*(?:local\s+)?(?:residents|neighbours|households|tenants)\b|\bresidents'? (?:group|association)\b|\bjoint application\b|\bapplying together\b|\btogether as neighbours\b`)
	listLeadRE  = mustCompile(`(?i)(residents|neighbours|households|people|names|signed|us|we|applicants|following)[^\n]{0,80}:\s*$`)

	hateRE    = mustCompile(`(?i)\b(hate (?:crime|incident)s?|racist|racially (?:motivated|aggravated|abused)|racial(?:ly)? abuse|homophobic|transphobic|disablist|islamophobic|antisemitic|anti-semitic|religiously motivated|because (?:of )?(?:my|our|his|her|their) (?:race|religion|faith|disability|sexuality|sexual orientation|gender identity|colour|skin colou?r|ethnicity|nationality))\b`)
	notHateRE = mustCompile(`(?i)\b(not|isn't|wasn't|no)\s+(?:a |an )?$`)

	vulnYesRE = mustCompile(`(?i)\b(?:I am|I'm|she is|she's|he is|he's|they are|who is|is)\b[^.!?\n]{0,30}\bvulnerable\b`)
	vulnNoRE  = mustCompile(`(?i)\b(?:not|isn't|aren't|am not)\s+vulnerable\b`)

	liveAtRE  = mustCompile(`(?i)\b(?:I live at|I live in|my address is|I am at|we live at)\s+([^.;\n]{3,120}?)(?:[.;\n]|$)`)
	myPhoneRE = mustCompile(`(?i)\b(?:my (?:phone|telephone|mobile|contact)?\s*(?:number|no\.?)|call me on|contact me on|ring me on|reach me on|my mobile is|my phone is)\b`)
	locRE     = mustCompile(`(?i)\b(?:asb|anti-?social behaviour|problems?|behaviour|trouble|noise|nuisance)\s+(?:is|are|has been|have been)\s+(?:happening|taking place|occurring|going on)\s+((?:at|in|on|outside|behind|near|around)\s+[^.;\n]{3,100}?)(?:[.;\n]|$)`)
)

// freeText reads an application written as an email.
func (x *extractor) freeText(main, sig string, m *msg) (casefile.Application, string) {
	var app casefile.Application
	main = stripGreeting(main)
	app.Description = main
	sp := signature(sig, m.from.Name)

	// the applicant: the sender, with what the signature adds
	ap := casefile.Person{}
	fromName := m.from.Name
	if casefile.IsNoReply(m.from.Addr) || !casefile.LooksLikeName(fromName) {
		fromName = "" // a display name is only a name when it looks like one
	}
	switch {
	case len(strings.Fields(fromName)) >= 2:
		ap.Name = fromName
	case sp.Name != "":
		ap.Name = sp.Name
	default:
		ap.Name = fromName
	}
	ap.Email, ap.Phone, ap.Address, ap.Postcode = sp.Email, sp.Phone, sp.Address, sp.Postcode
	app.Applicant = ap
	x.contact(&app, m, false)

	skip := findRefs(main)

	// someone applying for the victim
	onBehalf := false
	var vic casefile.Person
	victimText := ""
	if loc := onBehalfRE.FindStringIndex(main); loc != nil {
		onBehalf = true
		if mm := relNameRE.FindStringSubmatch(main[loc[1]:]); mm != nil && nameLike(mm[1], true) && len(strings.Fields(mm[1])) >= 2 {
			vic.Name = mm[1]
		}
		victimText = sentenceAt(main, loc[0])
	}
	if councillorRE.MatchString(main) || carerRE.MatchString(main) {
		onBehalf = true
	}
	if mm := onBehalfName.FindStringSubmatchIndex(main); mm != nil && vic.Name == "" {
		n := main[mm[2]:mm[3]]
		if nameLike(n, true) && len(strings.Fields(n)) >= 2 && !strings.EqualFold(n, ap.Name) {
			vic.Name = n
			onBehalf = true
			victimText = sentenceAt(main, mm[0])
		}
	}
	community := communityRE.MatchString(main)
	if community {
		app.CoApplicants = coApplicants(main)
		if strings.Contains(strings.ToLower(main), "on behalf of") && onBehalfRE.FindString(main) == "" {
			onBehalf = false
		}
	}
	if onBehalf && !community && victimText != "" {
		if mm := livesAtRE.FindStringSubmatch(victimText); mm != nil {
			vic.Address, vic.Postcode = addressValue([]string{upToPostcode(mm[1])}, "")
		}
		if pcs := findPostcodes(victimText, skip); len(pcs) > 0 && vic.Postcode == "" {
			vic.Postcode = pcs[0].val
		}
		if ph := findPhones(victimText, skip); len(ph) > 0 {
			vic.Phone = ph[0].val
		}
		if e := findEmails(victimText); len(e) > 0 && e[0].val != ap.Email {
			vic.Email = e[0].val
		}
	}

	// the applicant's own address and number, when said in the text; a
	// postcode of the place of the behaviour is the location's, never theirs
	pcs := readPostcodes(main, skip, victimText, ap.Name)
	if app.Applicant.Address == "" && app.Applicant.Postcode == "" {
		if mm := liveAtRE.FindStringSubmatch(main); mm != nil && proseAddress(mm[1]) {
			app.Applicant.Address, app.Applicant.Postcode = addressValue([]string{upToPostcode(mm[1])}, "")
		}
	}
	if app.Applicant.Postcode == "" && pcs.own != "" {
		app.Applicant.Postcode = pcs.own
		if app.Applicant.Address == "" {
			app.Applicant.Address = pcs.ownTown
		}
		if app.Applicant.Name == "" {
			app.Applicant.Name = pcs.ownName
		}
	}
	if app.Applicant.Phone == "" {
		if loc := myPhoneRE.FindStringIndex(main); loc != nil {
			if ph := findPhones(main[loc[1]:min(len(main), loc[1]+40)], nil); len(ph) > 0 {
				app.Applicant.Phone = ph[0].val
			}
		}
	}
	if mm := locRE.FindStringSubmatch(main); mm != nil {
		app.Location = strings.TrimSpace(mm[1])
	}
	if app.Location == "" {
		app.Location = pcs.place
	}

	hate := false
	for _, loc := range hateRE.FindAllStringIndex(main, -1) {
		if !notHateRE.MatchString(main[max(0, loc[0]-12):loc[0]]) {
			hate = true
		}
	}
	switch {
	case vulnNoRE.MatchString(main):
		app.Vulnerable = ptr(false)
	case vulnYesRE.MatchString(main):
		app.Vulnerable = ptr(true)
	}
	var consentEvidence string
	app.ConsentToShare, consentEvidence = consentInProse(main)

	app.Incidents = x.textIncidents(main)
	app.Agencies = x.am.ids(main, skip)
	app.References = spanVals(skip)

	switch {
	case hate:
		app.Route = casefile.RouteHate
	case community:
		app.Route = casefile.RouteCommunity
	case onBehalf:
		app.Route = casefile.RouteOnBehalf
	case firstPersonRE.MatchString(main):
		app.Route = casefile.RouteIndividual
	default:
		app.Route = casefile.RouteUnknown
	}
	if onBehalf && !community {
		v := vic
		app.OnBehalfOf = &v
	}
	return app, consentEvidence
}

var firstPersonRE = mustCompile(`(?i)\bI\s+(?:have\s+|had\s+|'ve\s+|also\s+)?(?:told|called|rang|reported|phoned|emailed|contacted|complained|wrote|spoke|live|would like|want|am being)\b|\bI'm being\b|\bmy (?:neighbours?|home|house|flat|car|fence|garden|door|windows?|family|children|street|complaints?)\b|\bour (?:neighbours?|home|house|street)\b`)

var addrEndRE = mustCompile(`(?i)\s+(?:and|but|where|who|which|because|since)\s`)

// upToPostcode cuts an address said in a sentence after its postcode, or
// before the words that go on with the sentence.
func upToPostcode(a string) string {
	end := len(a)
	if pcs := findPostcodes(a, nil); len(pcs) > 0 {
		end = pcs[0].end
	}
	if loc := addrEndRE.FindStringIndex(a); loc != nil && loc[0] < end {
		end = loc[0]
	}
	return a[:end]
}

// proseAddress reports whether what follows "I live at" is an address: it
// starts with a house number, a capital (a house or street name) or a flat;
// "I live in fear", "I live in a council flat" are not.
func proseAddress(a string) bool {
	a = strings.TrimSpace(a)
	if a == "" {
		return false
	}
	if c := a[0]; (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') {
		return !strings.HasPrefix(a, "A ") && !strings.HasPrefix(a, "An ")
	}
	l := strings.ToLower(a)
	return strings.HasPrefix(l, "flat ") || strings.HasPrefix(l, "apartment ") || strings.HasPrefix(l, "unit ") || strings.HasPrefix(l, "no. ")
}

func stripGreeting(s string) string {
	lines := strings.Split(s, "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	if len(lines) > 0 && greetingRE.MatchString(strings.TrimSpace(lines[0])) {
		lines = lines[1:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// coApplicants reads the list of residents that follows a line like
// "The residents applying are:".
func coApplicants(text string) []casefile.Person {
	lines := strings.Split(text, "\n")
	var out []casefile.Person
	for i := 0; i < len(lines); i++ {
		if !listLeadRE.MatchString(strings.TrimSpace(lines[i])) {
			continue
		}
		for j := i + 1; j < len(lines); j++ {
			l := strings.TrimSpace(lines[j])
			if l == "" {
				if len(out) > 0 {
					break
				}
				continue
			}
			p := parsePerson(l)
			if p.Name == "" {
				break
			}
			out = append(out, p)
		}
		if len(out) > 0 {
			return out
		}
	}
	return out
}

// sentenceAt returns the sentence of text around position i, and the next
// one (details of a person often follow in it).
func sentenceAt(text string, i int) string {
	start := strings.LastIndexAny(text[:i], ".!?\n")
	start++
	end := len(text)
	n := 0
	for j := i; j < len(text); j++ {
		if text[j] == '.' || text[j] == '!' || text[j] == '?' || (text[j] == '\n' && j+1 < len(text) && text[j+1] == '\n') {
			// skip "Mrs." and initials
			if text[j] == '.' && j > 0 && (j+1 < len(text) && text[j+1] != ' ' && text[j+1] != '\n') {
				continue
			}
			n++
			if n == 2 {
				end = j
				break
			}
		}
	}
	return text[start:end]
}
