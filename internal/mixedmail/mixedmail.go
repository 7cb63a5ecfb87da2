// Package mixedmail makes the mailbox a Community Safety Partnership really
// receives, for the intake benchmarks: web-form and free-text applications,
// HTML-only mail and mail with attachments, follow-ups and further-review
// requests from the same residents (threaded by our tag in the subject or by
// a reply to our acknowledgement), out-of-office replies, bounces, list mail
// and mail delivered twice, from many residents of whom a few write often
// and from the same few systems (the councils' form systems, the agencies,
// the newsletters).
//
// A Mailbox has two parts. History is earlier applications, filed and
// acknowledged before the mailbox is read (Seed files them, records their
// acknowledgements as sent, and answers some), so that replies can thread
// by our Message-IDs and further-review requests find answered cases. Inbox
// is the mail to read, each message with the outcome intake must give it:
// a benchmark that checks them knows the mix was filed as it claims.
//
// Everything is made from Options.Seed: the same options make the same
// bytes.
package mixedmail

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/quotedprintable"
	"regexp"
	"strings"
	"time"

	"github.com/csp/trigger/casefile"
)

// Kind is what a message is.
type Kind string

// The kinds of mail, and how many of every hundred inbox messages are of
// each (Mix).
const (
	WebForm        Kind = "webform"         // an application from a council's web form (three layouts)
	FreeText       Kind = "freetext"        // an application written freely, plain or plain+HTML
	HTMLOnly       Kind = "html_only"       // an application with only an HTML body
	Attachment     Kind = "attachment"      // an application with photos or a diary attached
	FollowUpTag    Kind = "followup_tag"    // a resident writes again, our tag in the subject
	FollowUpReply  Kind = "followup_reply"  // a resident replies to our acknowledgement (In-Reply-To)
	NotAParty      Kind = "not_a_party"     // mail with a case's tag from someone not a party to it
	FurtherReview  Kind = "further_review"  // the applicant asks for a further review of an answered case
	OutOfOffice    Kind = "out_of_office"   // an automatic reply, from an agency officer or a resident
	Bounce         Kind = "bounce"          // a delivery failure: of our acknowledgement, or backscatter
	ListMail       Kind = "list"            // a newsletter or mailing list
	DeliveredTwice Kind = "delivered_twice" // the same message again, byte for byte
)

// Mix is how many of every hundred inbox messages are of each kind: about
// half are applications, a quarter residents writing again, the rest
// machine mail. Kinds whose case is not there yet (a further review before
// any answered case, say) are made as a follow-up instead.
var Mix = []struct {
	Kind    Kind
	Percent int
}{
	{WebForm, 25}, {FreeText, 13}, {HTMLOnly, 5}, {Attachment, 5},
	{FollowUpTag, 15}, {FollowUpReply, 8}, {NotAParty, 2}, {FurtherReview, 3},
	{OutOfOffice, 10}, {Bounce, 4}, {ListMail, 8}, {DeliveredTwice, 2},
}

// Options say what mailbox to make.
type Options struct {
	Messages int    // inbox messages
	History  int    // earlier applications; 0: Messages/10, at least 50
	Seed     uint64 // the same seed makes the same mailbox
	// Year is the year of the case references the store gives (the year
	// it files cases in, Europe/London).
	Year int
	// Start is when the first inbox message was written; the history is
	// the weeks before it. Zero: 1 March of Year, 09:00.
	Start time.Time
}

// Message is one email of the mailbox.
type Message struct {
	Kind      Kind
	MessageID string
	Raw       []byte    // CRLF line ends
	Date      time.Time // its Date header, and when it was delivered
	// Case is the reference of the case it belongs to ("" for none) and
	// Outcome what intake must make of it (casefile.Outcome…).
	Case    string
	Outcome string
	// Verified is false for mail that must be kept as unverified: not
	// from a party to its case, or a bounce of mail we did not send.
	Verified bool
}

// Mailbox is a generated mailbox: History to file first (Seed), then Inbox.
type Mailbox struct {
	Opt     Options
	History []Message
	Inbox   []Message
	// Residents of the history cases: what Seed records the
	// acknowledgement as sent to.
	ackTo map[string]string // ref → address
	// Answered history cases: Seed decides them "threshold not met" and
	// approves the letter, so the case is answered (responded).
	Answered []string
	// Accepted history cases: Seed decides them "met", which asks the
	// agencies the application names for their details.
	Accepted []string
}

// Expect counts the outcomes intake must give the inbox.
func (mb *Mailbox) Expect() map[string]int {
	out := map[string]int{}
	for _, m := range mb.Inbox {
		out[m.Outcome]++
	}
	return out
}

// Bytes is the size of the inbox.
func (mb *Mailbox) Bytes() int64 {
	var n int64
	for _, m := range mb.Inbox {
		n += int64(len(m.Raw))
	}
	return n
}

// Counts counts the inbox by kind.
func (mb *Mailbox) Counts() map[Kind]int {
	out := map[Kind]int{}
	for _, m := range mb.Inbox {
		out[m.Kind]++
	}
	return out
}

// Domain is the partnership's mail domain; AckMessageID makes our
// acknowledgements' Message-IDs at it.
const Domain = "example-council.gov.uk"

// To is the address everything is sent to.
const To = "communitytrigger@" + Domain

// FormSenders are the web-form systems the mailbox receives applications
// from: [intake] form_senders in Config.
var FormSenders = []string{"noreply@forms.example-council.gov.uk", "do-not-reply@forms.nwleics.example.gov.uk", "no-reply@web.example-district.gov.uk"}

// Agency officers: their out-of-office replies answer our requests.
var officers = []struct{ agency, name, email string }{
	{"police", "Mark Ellis", "mark.ellis@police.example.uk"},
	{"police", "PC 4471 Sarah Khan", "sarah.khan@police.example.uk"},
	{"council", "ASB Team", "asb@example-council.gov.uk"},
	{"housing", "Jo Price", "j.price@example-housing.org"},
}

// Config is the configuration the mailbox is meant for: the three
// agencies with their officers' addresses, and the form systems.
func Config() casefile.Config {
	cfg := casefile.DefaultConfig()
	cfg.Intake.FormSenders = append([]string(nil), FormSenders...)
	cfg.Agencies = []casefile.Agency{
		{ID: "police", Name: "Police", Aliases: []string{"police", "constabulary", "pcso", "101", "officer"}, Email: "asb@police.example.uk", SlackUsers: []string{"mark.ellis@police.example.uk", "sarah.khan@police.example.uk"}},
		{ID: "council", Name: "District Council", Aliases: []string{"council", "district council", "asb team", "environmental health", "community safety"}, Email: "asb@example-council.gov.uk"},
		{ID: "housing", Name: "Housing provider", Aliases: []string{"housing", "housing association", "landlord", "housing officer"}, Email: "tenancy@example-housing.org", SlackUsers: []string{"j.price@example-housing.org"}},
	}
	return cfg
}

// AckMessageID is the Message-ID Seed records our acknowledgement of case
// ref as sent with: the form of ours (casefile.OutgoingMessageID), made
// with a key of the benchmark's.
func AckMessageID(ref string) string {
	return casefile.OutgoingMessageID([]byte("mixedmail"), ref, "ack", 1, Domain)
}

// resident is someone who applied: their case, and how to write as them.
type resident struct {
	name, email string
	ref         string
	frequent    bool // one of the few who write often
	answered    bool // their case was answered (Seed)
	asked       bool // their case asked the agencies (Seed)
	reviewAsked bool // they asked for a further review already
	acked       bool // our acknowledgement went to them (history, and not bounced yet)
}

type gen struct {
	opt     Options
	r       *rand.Rand
	mb      *Mailbox
	seq     int // cases filed so far (history and inbox)
	n       int // messages made, for unique Message-IDs
	at      time.Time
	cases   []*resident
	often   []*resident // the frequent writers
	history []*resident
	filing  bool // making the history
	emails  map[string]bool
	sent    []Message // inbox messages that could be delivered twice
}

// Generate makes a mailbox.
func Generate(opt Options) *Mailbox {
	if opt.History == 0 {
		opt.History = max(opt.Messages/10, 50)
	}
	if opt.Year == 0 {
		opt.Year = 2026
	}
	if opt.Start.IsZero() {
		opt.Start = time.Date(opt.Year, 3, 1, 9, 0, 0, 0, casefile.London)
	}
	g := &gen{opt: opt, r: rand.New(rand.NewPCG(opt.Seed, 0x6d69786564)), mb: &Mailbox{Opt: opt, ackTo: map[string]string{}}, emails: map[string]bool{}}

	// The history: distinct residents, two weeks before the inbox, each
	// acknowledged; a third answered (threshold not met), a third
	// accepted (the agencies asked).
	g.at, g.filing = opt.Start.Add(-14*24*time.Hour), true
	step := 14 * 24 * time.Hour / time.Duration(opt.History+1)
	for i := range opt.History {
		g.at = g.at.Add(step)
		var m Message
		var res *resident
		switch i % 4 {
		case 0, 1:
			m, res = g.webForm()
		case 2:
			m, res = g.freeText(false)
		default:
			m, res = g.freeText(true)
		}
		res.acked = true
		switch i % 3 {
		case 1:
			res.answered = true
			g.mb.Answered = append(g.mb.Answered, res.ref)
		case 2:
			res.asked = true
			g.mb.Accepted = append(g.mb.Accepted, res.ref)
		}
		g.mb.ackTo[res.ref] = res.email
		g.history = append(g.history, res)
		g.mb.History = append(g.mb.History, m)
	}

	// The inbox: a message every 20 seconds or so.
	g.at, g.filing = opt.Start, false
	total := 0
	for _, k := range Mix {
		total += k.Percent
	}
	for range opt.Messages {
		g.at = g.at.Add(time.Duration(5+g.r.IntN(30)) * time.Second)
		pick, kind := g.r.IntN(total), Kind("")
		for _, k := range Mix {
			if pick < k.Percent {
				kind = k.Kind
				break
			}
			pick -= k.Percent
		}
		m := g.make(kind)
		g.mb.Inbox = append(g.mb.Inbox, m)
		if m.Kind != DeliveredTwice && len(g.sent) < 1000 {
			g.sent = append(g.sent, m)
		}
	}
	return g.mb
}

// make makes one inbox message of a kind, or a follow-up when there is no
// case for it yet.
func (g *gen) make(kind Kind) Message {
	switch kind {
	case WebForm:
		m, _ := g.webForm()
		return m
	case FreeText:
		m, _ := g.freeText(g.r.IntN(2) == 0)
		return m
	case HTMLOnly:
		m, _ := g.htmlOnly()
		return m
	case Attachment:
		m, _ := g.withAttachment()
		return m
	case FollowUpReply:
		if res := g.pickHistory(func(r *resident) bool { return r.acked }); res != nil {
			return g.followUp(res, true)
		}
	case NotAParty:
		if res := g.pick(nil); res != nil {
			return g.notAParty(res)
		}
	case FurtherReview:
		if res := g.pickHistory(func(r *resident) bool { return r.answered && !r.reviewAsked }); res != nil {
			return g.furtherReview(res)
		}
	case OutOfOffice:
		if m, ok := g.outOfOffice(); ok {
			return m
		}
	case Bounce:
		return g.bounce()
	case ListMail:
		return g.list()
	case DeliveredTwice:
		if len(g.sent) > 0 {
			m := g.sent[g.r.IntN(len(g.sent))]
			// A duplicate names its first copy's case and is verified as
			// that was.
			m.Kind, m.Outcome = DeliveredTwice, casefile.OutcomeDuplicate
			return m
		}
	}
	if res := g.pick(nil); res != nil {
		return g.followUp(res, false)
	}
	m, _ := g.webForm()
	return m
}

// pick chooses a case to write about: three times in five one of the few
// residents who write often, else anyone's. ok filters.
func (g *gen) pick(ok func(*resident) bool) *resident {
	for range 20 {
		var r *resident
		if len(g.often) > 0 && g.r.IntN(5) < 3 {
			r = g.often[g.r.IntN(len(g.often))]
		} else if len(g.cases) > 0 {
			r = g.cases[g.r.IntN(len(g.cases))]
		}
		if r != nil && (ok == nil || ok(r)) {
			return r
		}
	}
	return nil
}

func (g *gen) pickHistory(ok func(*resident) bool) *resident {
	for range 40 {
		if len(g.history) == 0 {
			return nil
		}
		r := g.history[g.r.IntN(len(g.history))]
		if ok(r) {
			return r
		}
	}
	return nil
}

// newResident is someone applying: in the inbox, now and then someone who
// applied before (a second problem, or the same one again), else someone
// new. The history's residents are all different.
func (g *gen) newResident() *resident {
	if !g.filing && len(g.cases) > 20 && g.r.IntN(20) == 0 {
		prev := g.cases[g.r.IntN(len(g.cases))]
		return g.file(&resident{name: prev.name, email: prev.email})
	}
	for {
		first, last := firstNames[g.r.IntN(len(firstNames))], surnames[g.r.IntN(len(surnames))]
		email := fmt.Sprintf("%s.%s%d@%s", strings.ToLower(first), strings.ToLower(strings.ReplaceAll(last, "'", "")), g.r.IntN(1000), mailDomains[g.r.IntN(len(mailDomains))])
		if g.emails[email] {
			continue
		}
		g.emails[email] = true
		return g.file(&resident{name: first + " " + last, email: email})
	}
}

// file gives a resident's application the next case reference.
func (g *gen) file(res *resident) *resident {
	g.seq++
	res.ref = fmt.Sprintf("CT-%04d-%04d", g.opt.Year, g.seq)
	if g.r.IntN(20) == 0 {
		res.frequent = true
		g.often = append(g.often, res)
	}
	g.cases = append(g.cases, res)
	return res
}

func (g *gen) id(host string) string {
	g.n++
	return fmt.Sprintf("%x.%d.%d@%s", g.r.Uint32(), g.opt.Seed, g.n, host)
}

// msg assembles a message: header fields in order, then the body.
func (g *gen) msg(kind Kind, id string, header [][2]string, body string) Message {
	var b strings.Builder
	for _, h := range header {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("Date: " + g.at.Format(time.RFC1123Z) + "\r\n")
	b.WriteString("Message-ID: <" + id + ">\r\n")
	b.WriteString(body)
	if !strings.HasSuffix(body, "\n") {
		b.WriteString("\n")
	}
	return Message{Kind: kind, MessageID: id, Raw: []byte(crlf(b.String())), Date: g.at, Verified: true}
}

func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// place is where a resident lives and the behaviour happens.
type place struct{ street, town, postcode string }

func (g *gen) place() place {
	p := places[g.r.IntN(len(places))]
	return place{street: fmt.Sprintf("%d %s", 1+g.r.IntN(120), p.street), town: p.town, postcode: p.postcode}
}

// incidents are two to four reports of the behaviour, within the months
// before the application. A history application's are three, one to each
// agency, so that a met decision asks all three (whose officers' automatic
// replies then come from a party to the case).
type incident struct {
	occurred, reported time.Time
	agency, ref        string
}

func (g *gen) incidents() []incident {
	n := 2 + g.r.IntN(3)
	if g.filing {
		n = 3
	}
	var out []incident
	day := g.at.AddDate(0, 0, -150)
	for i := range n {
		day = day.AddDate(0, 0, 5+g.r.IntN(30))
		if !day.Before(g.at) {
			day = g.at.AddDate(0, 0, -n+i)
		}
		rep := day.AddDate(0, 0, g.r.IntN(3))
		a := []string{"police", "council", "housing"}[g.r.IntN(3)]
		if g.filing {
			a = []string{"police", "council", "housing"}[i]
		}
		var ref string
		switch a {
		case "police":
			ref = fmt.Sprintf("%04d of %s", g.r.IntN(10000), rep.Format("02/01/2006"))
		case "council":
			ref = fmt.Sprintf("ASB/%d/%04d", rep.Year(), g.r.IntN(10000))
		default:
			ref = fmt.Sprintf("FH-%05d", g.r.IntN(100000))
		}
		out = append(out, incident{occurred: day, reported: rep, agency: a, ref: ref})
	}
	return out
}

func (g *gen) behaviour() string {
	return behaviours[g.r.IntN(len(behaviours))] + " " + behaviours[g.r.IntN(len(behaviours))]
}

func (g *gen) phone() string { return fmt.Sprintf("07700 900%03d", g.r.IntN(1000)) }

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

var agencyWords = map[string][]string{
	"police":  {"Police", "Leicestershire Police (101)", "police"},
	"council": {"District council", "Council ASB team", "Environmental Health"},
	"housing": {"Housing association (Futures Housing)", "my landlord", "Housing officer"},
}

// webForm is an application from one of the three councils' form systems.
func (g *gen) webForm() (Message, *resident) {
	res := g.newResident()
	p, inc := g.place(), g.incidents()
	var m Message
	switch g.r.IntN(3) {
	case 0: // council A: plain label/value lines
		sub := 40000 + g.n
		id := g.id("forms.example-council.gov.uk")
		var b strings.Builder
		fmt.Fprintf(&b, "Submission #%d - ASB Case Review (Community Trigger)\n\nName: %s\nEmail: %s\nPhone: %s\nAddress: %s, %s\nPostcode: %s\n",
			sub, res.name, res.email, g.phone(), p.street, p.town, p.postcode)
		fmt.Fprintf(&b, "Applying for someone else: No\nLocation of the ASB: %s\nWhat has been happening: %s\nHate related: No\nVulnerable: %s\n\n",
			locations[g.r.IntN(len(locations))], g.behaviour(), yesNo(g.r.IntN(4) == 0))
		for i, x := range inc {
			fmt.Fprintf(&b, "Complaint %d date of incident: %s\nComplaint %d date reported: %s\nComplaint %d reported to: %s\nComplaint %d reference: %s\n\n",
				i+1, x.occurred.Format("02/01/2006"), i+1, x.reported.Format("02/01/2006"), i+1, agencyWords[x.agency][0], i+1, x.ref)
		}
		b.WriteString("Consent to share: Yes\n")
		m = g.msg(WebForm, id, [][2]string{
			{"Return-Path", "<noreply@forms.example-council.gov.uk>"},
			{"From", "Council Forms <noreply@forms.example-council.gov.uk>"},
			{"To", To},
			{"Subject", fmt.Sprintf("New submission: ASB Case Review (Community Trigger) #%d", sub)},
		}, "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"+b.String())
	case 1: // council B: other labels, quoted-printable, Reply-To the resident
		form := fmt.Sprintf("FORM-%05d", 10000+g.n)
		id := g.id("forms.nwleics.example.gov.uk")
		var b strings.Builder
		fmt.Fprintf(&b, "Community Trigger application - reference %s\n\nYour full name: %s\nE-mail: %s\nContact number: %s\nYour address: %s\n%s\nPost code: %s\n",
			form, res.name, res.email, g.phone(), p.street, p.town, strings.ToLower(p.postcode))
		fmt.Fprintf(&b, "Where is the ASB happening?: %s\nDescribe the problem: %s It has been going on since the spring and it’s getting worse – my family are scared to visit.\n",
			locations[g.r.IntN(len(locations))], g.behaviour())
		b.WriteString("Are you applying on behalf of someone else?: No\nIs this a hate incident?: No\nDo you consider yourself vulnerable?: No\nDo you consent to us sharing your information with partner agencies?: Yes\n\n")
		for i, x := range inc {
			fmt.Fprintf(&b, "Incident %d - date it happened: %s\nIncident %d - date reported: %s\nIncident %d - reported to: %s\nIncident %d - reference: %s\n\n",
				i+1, x.occurred.Format("02/01/2006"), i+1, x.reported.Format("02/01/2006"), i+1, agencyWords[x.agency][1], i+1, x.ref)
		}
		m = g.msg(WebForm, id, [][2]string{
			{"From", `"NWLDC Online Forms" <do-not-reply@forms.nwleics.example.gov.uk>`},
			{"Reply-To", fmt.Sprintf("%q <%s>", res.name, res.email)},
			{"To", To},
			{"Subject", "Community Trigger application " + form},
		}, "MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\n"+qp(b.String()))
	default: // council C: an HTML table
		id := g.id("web.example-district.gov.uk")
		var b strings.Builder
		b.WriteString(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>Submission</title><style>td { padding: 4px }</style></head><body>` + "\n")
		b.WriteString("<h2>ASB Case Review &ndash; new application</h2>\n<p>A new form has been submitted.<br>Please process within 5 working days.</p>\n<table border=\"1\" cellpadding=\"4\">\n")
		row := func(k, v string) { fmt.Fprintf(&b, "<tr><th>%s</th><td>%s</td></tr>\n", k, v) }
		row("Name", res.name)
		row("Email", fmt.Sprintf(`<a href="mailto:%s">%s</a>`, res.email, res.email))
		row("Phone", g.phone())
		row("Address", p.street+"<br>"+p.town)
		row("Postcode", strings.Replace(p.postcode, " ", "&nbsp;", 1))
		row("Location of the anti-social behaviour", locations[g.r.IntN(len(locations))])
		row("What has been happening?", "<p>"+g.behaviour()+"</p><p>Threats when I asked them to stop.</p>")
		row("Are you applying for someone else?", "No")
		row("Hate incident?", "No")
		row("Consent to share information", "Yes")
		b.WriteString("</table>\n<table border=\"1\">\n<tr><th>Complaint</th><th>Date of incident</th><th>Date reported</th><th>Reported to</th><th>Reference</th></tr>\n")
		for i, x := range inc {
			fmt.Fprintf(&b, "<tr><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", i+1, x.occurred.Format("02/01/2006"), x.reported.Format("02/01/2006"), agencyWords[x.agency][0], x.ref)
		}
		b.WriteString("</table></body></html>\n")
		m = g.msg(WebForm, id, [][2]string{
			{"From", `"Council Website" <no-reply@web.example-district.gov.uk>`},
			{"To", To},
			{"Subject", "Form submission: ASB Case Review"},
		}, "MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"+qp(b.String()))
	}
	return g.filed(m, res), res
}

// filed marks an application as opening its resident's case.
func (g *gen) filed(m Message, res *resident) Message {
	m.Case, m.Outcome = res.ref, casefile.OutcomeCreated
	return m
}

// letterText is the free text of an application: what is happening, when
// it was reported, who the resident is. onBehalf: a relative writes for
// someone who consented.
func (g *gen) letterText(res *resident, p place, onBehalf bool) string {
	var b strings.Builder
	b.WriteString(greetings[g.r.IntN(len(greetings))] + "\n\n")
	if onBehalf {
		fmt.Fprintf(&b, "I'm writing on behalf of my mother, who lives at %s, %s %s. She is 86 and finds email difficult. She has given me her written consent to act for her and to share these details.\n\n", p.street, p.town, p.postcode)
	} else {
		b.WriteString("I would like to apply for a Community Trigger review of how my reports have been handled.\n\n")
	}
	fmt.Fprintf(&b, "%s\n\n", g.behaviour())
	for _, x := range g.incidents() {
		fmt.Fprintf(&b, "I reported it to the %s on %s (reference %s).\n", agencyWords[x.agency][2], x.reported.Format("2 January 2006"), x.ref)
	}
	b.WriteString("\nNothing has changed and I do not know what else to do.\n\n")
	b.WriteString(closings[g.r.IntN(len(closings))] + "\n" + res.name + "\n")
	if !onBehalf {
		fmt.Fprintf(&b, "%s, %s %s\n", p.street, p.town, p.postcode)
	}
	b.WriteString(g.phone() + "\n")
	return b.String()
}

// freeText is an application written freely: plain text, or plain text
// with its HTML twin as mail programs send it; now and then for someone
// else.
func (g *gen) freeText(alternative bool) (Message, *resident) {
	res := g.newResident()
	p := g.place()
	onBehalf := g.r.IntN(6) == 0
	text := g.letterText(res, p, onBehalf)
	host := strings.SplitN(res.email, "@", 2)[1]
	header := [][2]string{
		{"From", fmt.Sprintf("%q <%s>", res.name, res.email)},
		{"To", To},
		{"Subject", subjects[g.r.IntN(len(subjects))]},
	}
	var body string
	if alternative {
		bd := fmt.Sprintf("alt-%x", g.r.Uint64())
		body = "MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"" + bd + "\"\n\n--" + bd +
			"\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\n" + qp(text) +
			"\n--" + bd + "\nContent-Type: text/html; charset=UTF-8\n\n" + htmlOf(text) + "\n--" + bd + "--\n"
	} else {
		body = "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" + text
	}
	return g.filed(g.msg(FreeText, g.id(host), header, body), res), res
}

// htmlOnly is an application whose only body is HTML, in windows-1252.
func (g *gen) htmlOnly() (Message, *resident) {
	res := g.newResident()
	text := g.letterText(res, g.place(), false)
	host := strings.SplitN(res.email, "@", 2)[1]
	html := "<html><body>" + strings.ReplaceAll(htmlOf(text), "’", "&#8217;") + "</body></html>"
	m := g.msg(HTMLOnly, g.id(host), [][2]string{
		{"From", fmt.Sprintf("%q <%s>", res.name, res.email)},
		{"To", To},
		{"Subject", "Application for a Community Trigger"},
	}, "MIME-Version: 1.0\nContent-Type: text/html; charset=windows-1252\nContent-Transfer-Encoding: quoted-printable\n\n"+qp(html))
	return g.filed(m, res), res
}

// withAttachment is a free-text application with photos of the damage or
// a diary attached: 20 to 150 KB each, base64.
func (g *gen) withAttachment() (Message, *resident) {
	res := g.newResident()
	text := g.letterText(res, g.place(), false) + "\nI have attached photos and my diary of the incidents.\n"
	host := strings.SplitN(res.email, "@", 2)[1]
	bd := fmt.Sprintf("mixed-%x", g.r.Uint64())
	var b strings.Builder
	b.WriteString("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"" + bd + "\"\n\n--" + bd + "\nContent-Type: text/plain; charset=utf-8\n\n" + text)
	for i := range 1 + g.r.IntN(2) {
		name, ctype := fmt.Sprintf("IMG_%04d.jpg", g.r.IntN(10000)), "image/jpeg"
		if i == 1 {
			name, ctype = "diary.pdf", "application/pdf"
		}
		data := make([]byte, 20<<10+g.r.IntN(130<<10))
		for j := 0; j < len(data); j += 8 {
			v := g.r.Uint64()
			for k := 0; k < 8 && j+k < len(data); k++ {
				data[j+k] = byte(v >> (8 * k))
			}
		}
		fmt.Fprintf(&b, "\n--%s\nContent-Type: %s; name=\"%s\"\nContent-Disposition: attachment; filename=\"%s\"\nContent-Transfer-Encoding: base64\n\n", bd, ctype, name, name)
		enc := base64.StdEncoding.EncodeToString(data)
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\n")
	}
	b.WriteString("--" + bd + "--\n")
	m := g.msg(Attachment, g.id(host), [][2]string{
		{"From", fmt.Sprintf("%q <%s>", res.name, res.email)},
		{"To", To},
		{"Subject", "Community Trigger application - photos attached"},
	}, b.String())
	return g.filed(m, res), res
}

// followUp is a resident writing again about their case: our tag in the
// subject, and, when reply is set, In-Reply-To our acknowledgement (which
// threads it when the acknowledgement was sent: a history case).
func (g *gen) followUp(res *resident, reply bool) Message {
	host := strings.SplitN(res.email, "@", 2)[1]
	kind := FollowUpTag
	header := [][2]string{{"From", fmt.Sprintf("%q <%s>", res.name, res.email)}, {"To", To}}
	subject := fmt.Sprintf("Re: Your Community Trigger application has been received [%s]", res.ref)
	if reply {
		kind = FollowUpReply
		ack := AckMessageID(res.ref)
		header = append(header, [2]string{"Subject", subject}, [2]string{"In-Reply-To", "<" + ack + ">"}, [2]string{"References", "<" + ack + ">"})
	} else {
		switch g.r.IntN(3) {
		case 0:
			subject = fmt.Sprintf("More incidents [%s]", res.ref)
		case 1:
			subject = fmt.Sprintf("RE: %s update", res.ref)
		}
		header = append(header, [2]string{"Subject", subject})
	}
	text := updates[g.r.IntN(len(updates))] + fmt.Sprintf(" I reported it again on %s (reference %04d).\n\nThanks\n%s\n", g.at.AddDate(0, 0, -1).Format("2 January"), g.r.IntN(10000), strings.Fields(res.name)[0])
	if reply {
		text += fmt.Sprintf("\n> Thank you for your application. Your reference is %s.\n> We will acknowledge it within 5 working days.\n", res.ref)
	}
	m := g.msg(kind, g.id(host), header, "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"+text)
	m.Case, m.Outcome = res.ref, casefile.OutcomeFollowup
	return m
}

// notAParty is mail about a case from someone who is not a party to it: a
// neighbour quoting the reference, or a resident's other address.
func (g *gen) notAParty(res *resident) Message {
	first, last := firstNames[g.r.IntN(len(firstNames))], surnames[g.r.IntN(len(surnames))]
	email := fmt.Sprintf("%s%d@%s", strings.ToLower(first), g.r.IntN(100000), mailDomains[g.r.IntN(len(mailDomains))])
	host := strings.SplitN(email, "@", 2)[1]
	m := g.msg(NotAParty, g.id(host), [][2]string{
		{"From", fmt.Sprintf("%q <%s>", first+" "+last, email)},
		{"To", To},
		{"Subject", fmt.Sprintf("Re: [%s] my neighbour's case", res.ref)},
	}, "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nI live next door and the noise affects us too. Please add this to the case.\n\n"+first+"\n")
	m.Case, m.Outcome, m.Verified = res.ref, casefile.OutcomeFollowup, false
	return m
}

// furtherReview is the applicant of an answered case asking for a further
// review, replying to our letter.
func (g *gen) furtherReview(res *resident) Message {
	res.reviewAsked = true
	host := strings.SplitN(res.email, "@", 2)[1]
	m := g.msg(FurtherReview, g.id(host), [][2]string{
		{"From", fmt.Sprintf("%q <%s>", res.name, res.email)},
		{"To", To},
		{"Subject", fmt.Sprintf("RE: Outcome of your ASB Case Review [%s]", res.ref)},
		{"References", "<" + AckMessageID(res.ref) + ">"},
	}, "MIME-Version: 1.0\nContent-Type: text/plain; charset=\"utf-8\"\n\nI am not happy with the decision. Nothing has been done about the noise, so I want a further review of my case.\n\n"+strings.Fields(res.name)[0]+"\n")
	m.Case, m.Outcome = res.ref, casefile.OutcomeFurtherReview
	return m
}

// outOfOffice is an automatic reply: from an agency officer to our request
// about an accepted case (Outlook's), or from a resident to our
// acknowledgement (Gmail's vacation reply).
func (g *gen) outOfOffice() (Message, bool) {
	if g.r.IntN(5) < 3 {
		res := g.pickHistory(func(r *resident) bool { return r.asked })
		if res == nil {
			return Message{}, false
		}
		o := officers[g.r.IntN(len(officers))]
		host := strings.SplitN(o.email, "@", 2)[1]
		m := g.msg(OutOfOffice, g.id(host), [][2]string{
			{"From", fmt.Sprintf("%s <%s>", o.name, o.email)},
			{"To", "Community Trigger <" + To + ">"},
			{"Subject", fmt.Sprintf("Automatic reply: Request for information [%s]", res.ref)},
			{"Thread-Topic", fmt.Sprintf("Request for information [%s]", res.ref)},
			{"X-Auto-Response-Suppress", "All"},
			{"X-MS-Exchange-Organization-AutoReply", "OOF"},
		}, "Content-Type: text/plain; charset=\"us-ascii\"\nMIME-Version: 1.0\n\nI am out of the office until next Monday with no access to email. For urgent matters call 101.\n")
		// The case asked every agency (a history application names all
		// three): the officer is a party to it.
		m.Case, m.Outcome = res.ref, casefile.OutcomeAutoReply
		return m, true
	}
	res := g.pickHistory(func(r *resident) bool { return r.acked })
	if res == nil {
		return Message{}, false
	}
	host := strings.SplitN(res.email, "@", 2)[1]
	ack := AckMessageID(res.ref)
	m := g.msg(OutOfOffice, g.id(host), [][2]string{
		{"MIME-Version", "1.0"},
		{"From", fmt.Sprintf("%s <%s>", res.name, res.email)},
		{"Subject", fmt.Sprintf("Re: Your Community Trigger application has been received [%s]", res.ref)},
		{"In-Reply-To", "<" + ack + ">"},
		{"References", "<" + ack + ">"},
		{"Auto-Submitted", "auto-replied"},
		{"To", To},
	}, "Content-Type: text/plain; charset=\"UTF-8\"\n\nI'm away until next week and will reply when I am back. This is an automatic reply.\n")
	m.Case, m.Outcome = res.ref, casefile.OutcomeAutoReply
	return m, true
}

// bounce is a delivery failure: three times in four of our acknowledgement
// to a history case's resident (which counts: the address is marked
// undeliverable), else backscatter about mail we never sent.
func (g *gen) bounce() Message {
	res := g.pickHistory(func(r *resident) bool { return r.acked })
	ours := res != nil && g.r.IntN(4) > 0
	rcpt, quoted := "", ""
	if ours {
		res.acked = false // one bounce each: the job ends once
		rcpt, quoted = res.email, AckMessageID(res.ref)
	} else {
		rcpt, quoted = fmt.Sprintf("info%d@example.biz", g.r.IntN(1000)), g.id("spam.example.biz")
	}
	q := fmt.Sprintf("%X", g.r.Uint32())
	id := g.id("mx." + Domain)
	bd := q + "/mx." + Domain
	subject := "Your Community Trigger application has been received"
	if !ours {
		subject = "Cheap watches"
	}
	body := fmt.Sprintf(`MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="%[1]s"

This is a MIME-encapsulated message.

--%[1]s
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.%[2]s.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<%[3]s>: host mx.example.net[192.0.2.10] said: 550 5.1.1
    <%[3]s>: Recipient address rejected: User unknown

--%[1]s
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.%[2]s
X-Postfix-Queue-ID: %[4]s

Final-Recipient: rfc822; %[3]s
Original-Recipient: rfc822;%[3]s
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <%[3]s>: Recipient address rejected: User unknown

--%[1]s
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Community Trigger <%[5]s>
To: %[3]s
Subject: %[6]s
Message-ID: <%[7]s>
Auto-Submitted: auto-replied

--%[1]s--
`, bd, Domain, rcpt, q, To, subject, quoted)
	m := g.msg(Bounce, id, [][2]string{
		{"Return-Path", "<>"},
		{"From", "MAILER-DAEMON@mx." + Domain + " (Mail Delivery System)"},
		{"Subject", "Undelivered Mail Returned to Sender"},
		{"To", To},
		{"Auto-Submitted", "auto-replied"},
	}, body)
	m.Outcome = casefile.OutcomeBounce
	if ours {
		m.Case = res.ref
	} else {
		m.Verified = false
	}
	return m
}

// list is a newsletter: a few lists, plain or HTML.
func (g *gen) list() Message {
	l := lists[g.r.IntN(len(lists))]
	host := strings.SplitN(l.from, "@", 2)[1]
	header := [][2]string{
		{"From", fmt.Sprintf("%s <%s>", l.name, l.from)},
		{"To", To},
		{"Subject", fmt.Sprintf("%s: %s", l.name, listTopics[g.r.IntN(len(listTopics))])},
		{"List-Id", fmt.Sprintf("%s <%s>", l.name, strings.ReplaceAll(l.from, "@", "."))},
		{"List-Unsubscribe", "<mailto:leave@" + host + ">"},
		{"Precedence", "bulk"},
	}
	var body string
	if l.html {
		var b strings.Builder
		b.WriteString("<html><body><table width=\"600\">")
		for range 10 + g.r.IntN(30) {
			fmt.Fprintf(&b, "<tr><td style=\"font-family:Arial;padding:8px\"><h3>%s</h3><p>%s</p></td></tr>\n", listTopics[g.r.IntN(len(listTopics))], strings.Repeat(behaviours[g.r.IntN(len(behaviours))]+" ", 3))
		}
		b.WriteString("</table></body></html>\n")
		body = "MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n" + qp(b.String())
	} else {
		body = "Content-Type: text/plain; charset=utf-8\n\nThis month: how to report anti-social behaviour to the police on 101 and to your council.\n"
	}
	m := g.msg(ListMail, g.id(host), header, body)
	m.Outcome = casefile.OutcomeAutoReply
	return m
}

func qp(s string) string {
	var b strings.Builder
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(strings.ReplaceAll(s, "\n", "\r\n")))
	w.Close()
	return b.String()
}

func htmlOf(text string) string {
	var b strings.Builder
	for _, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		b.WriteString("<p>" + strings.ReplaceAll(para, "\n", "<br>") + "</p>")
	}
	return b.String()
}

// WriteMbox writes messages as an mbox (mboxrd): each after a "From "
// line, a line starting "From " or ">From " quoted with one ">" more, and a
// blank line (CRLF, as the messages' own lines end) after each.
func WriteMbox(w io.Writer, msgs []Message) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	for _, m := range msgs {
		fmt.Fprintf(bw, "From MAILER-DAEMON %s\n", m.Date.UTC().Format("Mon Jan _2 15:04:05 2006"))
		for line := range bytes.Lines(m.Raw) {
			if fromLine.Match(line) {
				bw.WriteByte('>')
			}
			bw.Write(line)
		}
		if !bytes.HasSuffix(m.Raw, []byte("\n")) {
			bw.WriteString("\r\n")
		}
		bw.WriteString("\r\n") // the separator: SplitMbox gives the message back byte for byte
	}
	return bw.Flush()
}

var fromLine = regexp.MustCompile(`^>*From `)
