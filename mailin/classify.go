package mailin

import (
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
	dsn        *dsnReport
	returned   []string // Message-IDs of the messages a report returns
	attached   []string // Message-IDs of messages attached outside a report
	cfg        *casefile.Config
	head       string // the text's prefix that classification and extraction read
}

var (
	daemonRE      = mustCompile(`(?i)^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@`)
	daemonNameRE  = mustCompile(`(?i)^(mail delivery (sub)?system|mail delivery service|microsoft outlook|postmaster)$`)
	autoSubjectRE = mustCompile(`(?i)^\s*(automatic reply|auto(matic)?[ -]?reply|autoreply|auto-response|out of (the )?office( reply| autoreply)?|ooo|abwesenheitsnotiz|r[ée]ponse automatique)\s*:`)
	bounceSubjRE  = mustCompile(`(?i)^\s*(undeliverable|undelivered mail|undeliverable mail|delivery status notification \(failure\)|mail delivery failed|failure notice|returned mail|delivery failure|message not delivered|non[- ]delivery|mail system error|delivery has failed)`)
	bounceTextRE  = mustCompile(`(?i)(delivery has failed to these recipients|could not be delivered to one or more recipients|couldn't be delivered|could not be delivered|wasn't delivered to|was not delivered to|delivery to the following recipients? failed|address not found|user unknown|mailbox unavailable|recipient address rejected|no such user|permanent error|permanent fatal errors|undeliverable to|message could not be delivered|the email account that you tried to reach does not exist)`)
	statusRE      = mustCompile(`\b([245]\.\d{1,3}\.\d{1,3})\b`)
	angleAddrRE   = mustCompile(`<([^<>\s]+@[^<>\s]+)>:`)
	inlineIDRE    = mustCompile(`(?im)^\s*Message-ID:\s*<([^<>\s]+)>`)
)

// classify sets what decides where a message goes before anything is
// extracted: machine mail and bounces, case references in the subject, the
// Message-IDs it replies to, and whether it asks for a further review. For
// a bounce it returns what the bounce says of the mail it returns.
func classify(m *msg, in *casefile.Inbound) *Returned {
	in.SubjectRefs = subjectRefs(in.Subject)
	in.ReplyTo = uniq(append(msgIDs(m.h, "In-Reply-To"), msgIDs(m.h, "References")...))

	if b, ret, ok := bounce(m, in); ok {
		in.Machine = casefile.MachineBounce
		in.Bounce = b
		return ret
	}
	if isAutomatic(m, in) {
		in.Machine = casefile.MachineAutoReply
		return nil
	}
	if len(in.ReplyTo) > 0 || len(in.SubjectRefs) > 0 {
		in.WantsFurtherReview = wantsFurtherReview(in.Subject + "\n" + unquoted(m.head))
	}
	return nil
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
// delivery report that is not a failure is not a bounce. Besides the
// casefile.Bounce (its first failed recipient and returned Message-ID) it
// returns every failed recipient and every Message-ID the bounce quotes.
func bounce(m *msg, in *casefile.Inbound) (*casefile.Bounce, *Returned, bool) {
	dsn := m.mediaType == "multipart/report" && (m.reportType == "delivery-status" || m.reportType == "global-delivery-status")
	b := &casefile.Bounce{}
	ret := &Returned{Recipients: []string{}, MessageIDs: []string{}}
	if m.dsn != nil {
		*b = m.dsn.first
		ret.Recipients = append(ret.Recipients, m.dsn.failed...)
	}
	text := m.head
	if dsn {
		if b.Status != "" && !strings.HasPrefix(b.Status, "5") {
			return nil, nil, false // delayed (4.x.x) or delivered (2.x.x): not given up
		}
	} else {
		fromDaemon := daemonRE.MatchString(in.From) || daemonNameRE.MatchString(m.from.Name)
		rp := m.h.Get("Return-Path")
		nullPath := rp != "" && strings.TrimSpace(strings.Trim(strings.TrimSpace(rp), "<>")) == ""
		auto := m.h.Get("Auto-Submitted") != "" || m.h.Get("X-Failed-Recipients") != ""
		if !(fromDaemon || nullPath || auto) {
			return nil, nil, false
		}
		if !bounceSubjRE.MatchString(in.Subject) && !bounceTextRE.MatchString(text) {
			return nil, nil, false
		}
	}
	loc := bounceTextRE.FindStringIndex(text)
	after := text
	if loc != nil {
		after = text[loc[0]:]
	}
	if len(ret.Recipients) == 0 {
		for _, a := range addressList(m.h.Get("X-Failed-Recipients")) {
			ret.Recipients = appendNew(ret.Recipients, a.Addr)
		}
	}
	if b.Recipient == "" && len(ret.Recipients) > 0 {
		b.Recipient = ret.Recipients[0]
	}
	if b.Recipient == "" {
		if mm := angleAddrRE.FindStringSubmatch(text); mm != nil {
			b.Recipient = mailbox(mm[1])
		}
	}
	if b.Recipient == "" {
		own, daemon := ourAddress(m.cfg), in.From
		for _, e := range findEmails(after) {
			if e.val != own && e.val != daemon && !daemonRE.MatchString(e.val) {
				b.Recipient = mailbox(e.val)
				break
			}
		}
	}
	if len(ret.Recipients) == 0 && b.Recipient != "" {
		ret.Recipients = []string{b.Recipient}
	}
	if b.Status == "" {
		if mm := statusRE.FindStringSubmatch(after); mm != nil {
			b.Status = mm[1]
		}
	}
	for _, id := range m.returned {
		ret.MessageIDs = appendNew(ret.MessageIDs, id)
	}
	for _, id := range m.attached {
		ret.MessageIDs = appendNew(ret.MessageIDs, id)
	}
	var quoted []string
	for _, mm := range inlineIDRE.FindAllStringSubmatch(text, 100) {
		id := casefile.CleanHeaderText(mm[1])
		quoted = append(quoted, id)
		ret.MessageIDs = appendNew(ret.MessageIDs, id)
	}
	switch {
	case b.OriginalMessageID != "":
	case len(m.returned) > 0:
		b.OriginalMessageID = m.returned[0]
	case len(quoted) > 0:
		b.OriginalMessageID = quoted[len(quoted)-1]
	case len(m.attached) > 0:
		b.OriginalMessageID = m.attached[0]
	}
	return b, ret, true
}

// appendNew appends s to l unless it is empty or there already.
func appendNew(l []string, s string) []string {
	if s == "" || contains(l, s) {
		return l
	}
	return append(l, s)
}

// dsnReport is what a message/delivery-status part says.
type dsnReport struct {
	first  casefile.Bounce // the first failed recipient (else the first recipient) with its status
	failed []string        // every failed recipient: Final-Recipient and Original-Recipient
}

// parseDSN reads a message/delivery-status body (RFC 3464): its
// per-recipient blocks, each with Final-Recipient or Original-Recipient,
// Action and Status. A recipient failed when its Action is "failed", or,
// with no Action, its Status is 5.x.x.
func parseDSN(b []byte) *dsnReport {
	text := strings.ReplaceAll(toUTF8(b), "\r\n", "\n")
	var first, failed *casefile.Bounce
	var all []string
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
		final, orig := dsnAddress(fields["final-recipient"]), dsnAddress(fields["original-recipient"])
		rcpt := final
		if rcpt == "" {
			rcpt = orig
		}
		if rcpt == "" {
			continue
		}
		bn := &casefile.Bounce{Recipient: rcpt}
		if mm := statusRE.FindStringSubmatch(fields["status"]); mm != nil {
			bn.Status = mm[1]
		}
		action := strings.ToLower(strings.TrimSpace(fields["action"]))
		isFailed := action == "failed" || (action == "" && strings.HasPrefix(bn.Status, "5"))
		if first == nil {
			first = bn
		}
		if isFailed {
			if failed == nil {
				failed = bn
			}
			all = appendNew(appendNew(all, final), orig)
		}
	}
	switch {
	case failed != nil:
		return &dsnReport{first: *failed, failed: all}
	case first != nil:
		return &dsnReport{first: *first}
	}
	return nil
}

// dsnAddress reads a recipient field of a DSN ("rfc822; ann@example.org"):
// the address when it is one, else "".
func dsnAddress(v string) string {
	if _, a, ok := strings.Cut(v, ";"); ok {
		v = a
	}
	return mailbox(strings.Trim(strings.TrimSpace(v), "<>"))
}

var (
	furtherReviewRE = mustCompile(`(?i)\b(further|second|another|independent) review\b|\bappeal\b|\bescalat(e|ed|ion|ing)\b|\breview (of )?(the|this|your) decision\b`)
	unhappyRE       = mustCompile(`(?i)\b(unhappy|not happy|dissatisfied|not satisfied|disappointed|not content)\b[^.!?\n]{0,40}\b(response|decision|outcome|review|letter|findings|result|answer|reply)\b|\b(disagree with|do not accept|don't accept|cannot accept|can't accept|challenge) (the|your|this) (decision|outcome|response|findings)\b`)
	negatedRE       = mustCompile(`(?i)\b(do not|don't|dont|no need to|not going to|won't|will not|would not|wouldn't|never|no longer)\s+(want|wish|need|intend|plan|going|to)?\b[^.!?\n]{0,20}$`)
)

// wantsFurtherReview reports whether new text asks for a further review,
// an appeal or an escalation, or says the writer is unhappy with the
// response or decision. "I do not want to appeal" does not.
func wantsFurtherReview(text string) bool {
	for _, re := range []*textRE{furtherReviewRE, unhappyRE} {
		for _, loc := range re.FindAllStringIndex(text, -1) {
			start := max(0, loc[0]-60)
			if !negatedRE.MatchString(text[start:loc[0]]) {
				return true
			}
		}
	}
	return false
}
