package mailin

import (
	"regexp"
	"strings"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/emersion/go-message/mail"
)

// msg is what classification and extraction read of a parsed message.
type msg struct {
	h          mail.Header
	from       address
	replyTo    []address
	date       time.Time // the Date header; zero when absent or unreadable
	ref        time.Time // the day dates without a year are counted from
	mediaType  string
	reportType string
	body       *collector
	dsn        *casefile.Bounce
	returned   string // Message-ID of the message a report returns
	cfg        *casefile.Config
}

var (
	daemonRE      = regexp.MustCompile(`(?i)^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@`)
	daemonNameRE  = regexp.MustCompile(`(?i)^(mail delivery (sub)?system|mail delivery service|microsoft outlook|postmaster)$`)
	autoSubjectRE = regexp.MustCompile(`(?i)^\s*(automatic reply|auto(matic)?[ -]?reply|autoreply|auto-response|out of (the )?office( reply| autoreply)?|ooo|abwesenheitsnotiz|r[ée]ponse automatique)\s*:`)
	bounceSubjRE  = regexp.MustCompile(`(?i)^\s*(undeliverable|undelivered mail|undeliverable mail|delivery status notification \(failure\)|mail delivery failed|failure notice|returned mail|delivery failure|message not delivered|non[- ]delivery|mail system error|delivery has failed)`)
	bounceTextRE  = regexp.MustCompile(`(?i)(delivery has failed to these recipients|could not be delivered to one or more recipients|couldn't be delivered|could not be delivered|wasn't delivered to|was not delivered to|delivery to the following recipients? failed|address not found|user unknown|mailbox unavailable|recipient address rejected|no such user|permanent error|permanent fatal errors|undeliverable to|message could not be delivered|the email account that you tried to reach does not exist)`)
	statusRE      = regexp.MustCompile(`\b([245]\.\d{1,3}\.\d{1,3})\b`)
	angleAddrRE   = regexp.MustCompile(`<([^<>\s]+@[^<>\s]+)>:`)
	inlineIDRE    = regexp.MustCompile(`(?im)^\s*Message-ID:\s*<([^<>\s]+)>`)
)

// classify sets what decides where a message goes before anything is
// extracted: machine mail and bounces, case references in the subject, the
// Message-IDs it replies to, and whether it asks for a further review.
func classify(m *msg, in *casefile.Inbound) {
	in.SubjectRefs = subjectRefs(in.Subject)
	in.ReplyTo = uniq(append(msgIDs(m.h, "In-Reply-To"), msgIDs(m.h, "References")...))

	if b, ok := bounce(m, in); ok {
		in.Machine = casefile.MachineBounce
		in.Bounce = b
		return
	}
	if isAutomatic(m, in) {
		in.Machine = casefile.MachineAutoReply
		return
	}
	if len(in.ReplyTo) > 0 || len(in.SubjectRefs) > 0 {
		in.WantsFurtherReview = wantsFurtherReview(in.Subject + "\n" + unquoted(in.Text))
	}
}

func subjectRefs(subject string) []string {
	var out []string
	for _, r := range casefile.RefRE.FindAllString(subject, -1) {
		if !contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

func uniq(l []string) []string {
	var out []string
	for _, s := range l {
		s = strings.Trim(strings.TrimSpace(s), "<>")
		if s != "" && !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// ourDomain is the right-hand side of our own Message-IDs.
func ourDomain(cfg *casefile.Config) string {
	if cfg.SMTP.Domain != "" {
		return strings.ToLower(cfg.SMTP.Domain)
	}
	a := firstAddress(cfg.SMTP.From).Addr
	if i := strings.LastIndexByte(a, '@'); i >= 0 {
		return strings.ToLower(a[i+1:])
	}
	return ""
}

func ourAddress(cfg *casefile.Config) string {
	return strings.ToLower(firstAddress(cfg.SMTP.From).Addr)
}

// isOwn reports whether the message is one we sent, come back: our
// Message-ID ("ct." on our domain) or our own From address.
func isOwn(m *msg, in *casefile.Inbound) bool {
	id := strings.ToLower(in.MessageID)
	if strings.HasPrefix(id, "ct.") {
		dom := ourDomain(m.cfg)
		if dom == "" || strings.HasSuffix(id, "@"+dom) {
			return true
		}
	}
	own := ourAddress(m.cfg)
	return own != "" && in.From == own
}

// isAutomatic recognises machine mail before anything replies to it:
// Auto-Submitted other than "no", Precedence bulk/junk/list/auto_reply,
// X-Autoreply, X-Auto-Response-Suppress: All, List-Id, an empty Return-Path,
// mailer-daemon and postmaster senders, multipart/report; and it recognises
// out-of-office replies by their subject as well.
func isAutomatic(m *msg, in *casefile.Inbound) bool {
	h := m.h
	if as := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); as != "" {
		if v, _, _ := strings.Cut(as, ";"); strings.TrimSpace(v) != "no" {
			return true
		}
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Precedence"))) {
	case "bulk", "junk", "list", "auto_reply", "auto-reply":
		return true
	}
	if h.Get("X-Autoreply") != "" || h.Get("X-Autorespond") != "" {
		return true
	}
	for _, tok := range strings.FieldsFunc(strings.ToLower(h.Get("X-Auto-Response-Suppress")), func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		if tok == "all" {
			return true
		}
	}
	if h.Get("List-Id") != "" {
		return true
	}
	if rp := h.Get("Return-Path"); rp != "" && strings.TrimSpace(strings.Trim(strings.TrimSpace(rp), "<>")) == "" {
		return true
	}
	if daemonRE.MatchString(in.From) || daemonNameRE.MatchString(m.from.Name) {
		return true
	}
	if m.mediaType == "multipart/report" {
		return true
	}
	if isOwn(m, in) {
		return true
	}
	return autoSubjectRE.MatchString(in.Subject)
}

// bounce recognises a delivery failure: a DSN (multipart/report with
// report-type delivery-status), or a bounce in plain words from a mailer
// daemon (Postfix, Exchange and Gmail write both kinds). A delay or a
// delivery report that is not a failure is not a bounce.
func bounce(m *msg, in *casefile.Inbound) (*casefile.Bounce, bool) {
	dsn := m.mediaType == "multipart/report" && (m.reportType == "delivery-status" || m.reportType == "global-delivery-status")
	b := &casefile.Bounce{}
	if m.dsn != nil {
		*b = *m.dsn
	}
	if dsn {
		if b.Status != "" && !strings.HasPrefix(b.Status, "5") {
			return nil, false // delayed (4.x.x) or delivered (2.x.x): not given up
		}
	} else {
		fromDaemon := daemonRE.MatchString(in.From) || daemonNameRE.MatchString(m.from.Name)
		rp := m.h.Get("Return-Path")
		nullPath := rp != "" && strings.TrimSpace(strings.Trim(strings.TrimSpace(rp), "<>")) == ""
		auto := m.h.Get("Auto-Submitted") != "" || m.h.Get("X-Failed-Recipients") != ""
		if !(fromDaemon || nullPath || auto) {
			return nil, false
		}
		if !bounceSubjRE.MatchString(in.Subject) && !bounceTextRE.MatchString(in.Text) {
			return nil, false
		}
	}
	text := in.Text
	loc := bounceTextRE.FindStringIndex(text)
	after := text
	if loc != nil {
		after = text[loc[0]:]
	}
	if b.Recipient == "" {
		if f := firstAddress(m.h.Get("X-Failed-Recipients")); f.Addr != "" {
			b.Recipient = f.Addr
		}
	}
	if b.Recipient == "" {
		if mm := angleAddrRE.FindStringSubmatch(text); mm != nil {
			b.Recipient = strings.ToLower(mm[1])
		}
	}
	if b.Recipient == "" {
		own, daemon := ourAddress(m.cfg), in.From
		for _, e := range findEmails(after) {
			if e.val != own && e.val != daemon && !daemonRE.MatchString(e.val) {
				b.Recipient = e.val
				break
			}
		}
	}
	if b.Status == "" {
		if mm := statusRE.FindStringSubmatch(after); mm != nil {
			b.Status = mm[1]
		}
	}
	if b.OriginalMessageID == "" {
		b.OriginalMessageID = m.returned
	}
	if b.OriginalMessageID == "" {
		if mm := inlineIDRE.FindAllStringSubmatch(text, -1); len(mm) > 0 {
			b.OriginalMessageID = mm[len(mm)-1][1]
		}
	}
	return b, true
}

// parseDSN reads a message/delivery-status body: the first recipient
// whose delivery failed (else the first recipient) with its status.
func parseDSN(b []byte) *casefile.Bounce {
	text := strings.ReplaceAll(toUTF8(b), "\r\n", "\n")
	var first, failed *casefile.Bounce
	for _, block := range strings.Split(text, "\n\n") {
		fields := map[string]string{}
		var last string
		for _, line := range strings.Split(block, "\n") {
			if (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && last != "" {
				fields[last] += " " + strings.TrimSpace(line)
				continue
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			fields[last] = strings.TrimSpace(v)
		}
		rcpt := fields["final-recipient"]
		if rcpt == "" {
			rcpt = fields["original-recipient"]
		}
		if rcpt == "" {
			continue
		}
		if _, a, ok := strings.Cut(rcpt, ";"); ok {
			rcpt = a
		}
		bn := &casefile.Bounce{Recipient: strings.ToLower(strings.Trim(strings.TrimSpace(rcpt), "<>"))}
		if mm := statusRE.FindStringSubmatch(fields["status"]); mm != nil {
			bn.Status = mm[1]
		}
		if first == nil {
			first = bn
		}
		if failed == nil && strings.EqualFold(fields["action"], "failed") {
			failed = bn
		}
	}
	if failed != nil {
		return failed
	}
	return first
}

var (
	furtherReviewRE = regexp.MustCompile(`(?i)\b(further|second|another|independent) review\b|\bappeal\b|\bescalat(e|ed|ion|ing)\b|\breview (of )?(the|this|your) decision\b`)
	unhappyRE       = regexp.MustCompile(`(?i)\b(unhappy|not happy|dissatisfied|not satisfied|disappointed|not content)\b[^.!?\n]{0,40}\b(response|decision|outcome|review|letter|findings|result|answer|reply)\b|\b(disagree with|do not accept|don't accept|cannot accept|can't accept|challenge) (the|your|this) (decision|outcome|response|findings)\b`)
	negatedRE       = regexp.MustCompile(`(?i)\b(do not|don't|dont|no need to|not going to|won't|will not|would not|wouldn't|never|no longer)\s+(want|wish|need|intend|plan|going|to)?\b[^.!?\n]{0,20}$`)
)

// wantsFurtherReview reports whether new text asks for a further review,
// an appeal or an escalation, or says the writer is unhappy with the
// response or decision. "I do not want to appeal" does not.
func wantsFurtherReview(text string) bool {
	for _, re := range []*regexp.Regexp{furtherReviewRE, unhappyRE} {
		for _, loc := range re.FindAllStringIndex(text, -1) {
			start := max(0, loc[0]-60)
			if !negatedRE.MatchString(text[start:loc[0]]) {
				return true
			}
		}
	}
	return false
}
