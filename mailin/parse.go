// Package mailin turns raw RFC 5322 messages into casefile input: it reads
// the MIME structure (go-message, every charset made UTF-8), classifies
// machine mail, finds what threads the message to a case, extracts the
// application from web forms and free text, and files the result through
// casefile's store, quarantining what it cannot read.
package mailin

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // every charset go-message knows
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// Options are what Parse needs besides the message.
type Options struct {
	// Config gives the agencies with their aliases and our own address;
	// nil means casefile.DefaultConfig.
	Config *casefile.Config
	Limits Limits
	// ReceivedAt is the IMAP INTERNALDATE; zero when not known.
	ReceivedAt time.Time
	// Now is the clock for "not in the future"; zero means time.Now.
	Now time.Time
	// TrustedAuthServID is the authserv-id of the receiving gateway
	// ([imap] trusted_authserv_id): only its Authentication-Results are
	// read. Empty means none is trusted and no verdict is given.
	TrustedAuthServID string
}

// Parse reads a raw message and returns it classified, with the
// application it contains extracted. It fails only when the message cannot
// be read at all or exceeds a limit (a *LimitError); a bad charset or a
// damaged text part never fails it. ParseMessage returns the parser's
// findings in detail as well.
func Parse(raw []byte, opt Options) (casefile.Inbound, error) {
	p, err := ParseMessage(raw, opt)
	return p.Inbound, err
}

// ParseMessage is Parse with everything the parser found: the Inbound, the
// trusted gateway's verdict on the sender, the evidence of a consent read
// from prose, and what a bounce quotes.
func ParseMessage(raw []byte, opt Options) (Parsed, error) {
	cfg := opt.Config
	if cfg == nil {
		c := casefile.DefaultConfig()
		cfg = &c
	}
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	lim := opt.Limits.withDefaults()
	if int64(len(raw)) > lim.MaxSize {
		return Parsed{}, &LimitError{Limit: "size", Max: lim.MaxSize, Got: int64(len(raw))}
	}
	p := &parser{lim: lim, size: len(raw)}
	root, err := p.readEntity(bytes.NewReader(raw))
	if err != nil {
		return Parsed{}, err
	}
	h := mail.Header{Header: root.Header}
	in := casefile.Inbound{Raw: raw}
	in.MessageID = messageID(h)
	in.Subject = headerText(h.Get("Subject"))
	// The sender is the address in From, never its display name, and
	// never another field: a From with no address is an unknown sender.
	from := firstAddress(h.Get("From"))
	in.From = from.Addr
	date := headerDate(h)
	switch {
	case !opt.ReceivedAt.IsZero():
		in.ReceivedAt = opt.ReceivedAt
	case !date.IsZero() && !date.After(now):
		in.ReceivedAt = date
	}

	body := &collector{}
	if err := p.walk(root, 0, body, false); err != nil {
		return Parsed{}, err
	}
	if p.broken != nil && body.empty() {
		return Parsed{}, p.broken
	}
	in.Text, in.HTML = body.texts()
	in.Attachments = body.atts

	ref := date
	if ref.IsZero() || ref.After(now) {
		ref = in.ReceivedAt
	}
	if ref.IsZero() {
		ref = now
	}
	m := &msg{
		h: h, from: from, replyTo: addressList(h.Get("Reply-To")), date: date, ref: ref,
		mediaType: p.rootType, reportType: p.reportType, body: body, dsn: p.dsn, returned: p.returned, attached: p.attached, cfg: cfg,
		head: extractPrefix(in.Text),
	}
	out := Parsed{Auth: authVerdict(h.Header, opt.TrustedAuthServID, in.From)}
	out.Returned = classify(m, &in)
	var x extraction
	switch {
	case in.Machine == "":
		x = extract(m)
	case formSubmission(m, &in):
		// A council's form system may mark every submission
		// Auto-Submitted: auto-generated. The application is a
		// resident's all the same: it becomes a case, and the
		// acknowledgement goes to the resident the form names, never to
		// the system that sent it.
		in.Machine = ""
		x = extract(m)
	default:
		x = extraction{app: emptyApplication()}
	}
	in.Application = x.app
	in.Application.ConsentEvidence = x.consentEvidence
	out.ConsentEvidence = x.consentEvidence
	residentSignals(&in)
	in.AuthFailure = out.Auth.Reason
	if in.Bounce != nil && out.Returned != nil {
		in.Bounce.Recipients = out.Returned.Recipients
		in.Bounce.OriginalMessageIDs = out.Returned.MessageIDs
	}
	out.Inbound = in
	return out, nil
}

// formSubmission reports whether machine mail is a web-form application
// that only its Auto-Submitted: auto-generated header made look automatic:
// without that header it would be a person's message, and its text is a
// form.
func formSubmission(m *msg, in *casefile.Inbound) bool {
	if in.Machine != casefile.MachineAutoReply {
		return false
	}
	as, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(m.h.Get("Auto-Submitted"))), ";")
	if strings.TrimSpace(as) != "auto-generated" {
		return false
	}
	h := mail.Header{Header: m.h.Header.Copy()}
	h.Del("Auto-Submitted")
	plain := *m
	plain.h = h
	if isAutomatic(&plain, in) {
		return false
	}
	return isForm(parseFields(unquoted(m.head)))
}

// parser walks one message's MIME tree within the limits.
type parser struct {
	lim        Limits
	size       int // of the raw message
	parts      int
	rootType   string
	reportType string
	dsn        *dsnReport // from a message/delivery-status part
	returned   []string   // Message-IDs of the returned messages in a report
	attached   []string   // Message-IDs of messages attached outside a report
	broken     error      // a multipart that could be read only in part
}

// readEntity reads one header block within the header limit.
func (p *parser) readEntity(r io.Reader) (*message.Entity, error) {
	e, err := message.ReadWithOptions(r, &message.ReadOptions{MaxHeaderBytes: int64(p.lim.MaxHeaderBytes)})
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		if strings.Contains(err.Error(), "header exceeds maximum size") {
			return nil, &LimitError{Limit: "header", Max: int64(p.lim.MaxHeaderBytes), Got: int64(p.lim.MaxHeaderBytes) + 1}
		}
		return nil, fmt.Errorf("header: %w", err)
	}
	return e, nil
}

// collector gathers the text, HTML and attachments of one message, and the
// messages forwarded inside it.
type collector struct {
	plain, html []string
	atts        []casefile.Attachment
	forwarded   []string
}

func (c *collector) empty() bool {
	return len(c.plain) == 0 && len(c.html) == 0 && len(c.atts) == 0 && len(c.forwarded) == 0
}

// texts returns the message's text (the plain parts, else the HTML made
// readable) followed by the forwarded messages, and its original HTML.
func (c *collector) texts() (text, html string) {
	text = strings.TrimSpace(strings.Join(c.plain, "\n\n"))
	html = strings.Join(c.html, "\n")
	if text == "" && html != "" {
		text = htmlToText(prefix(html, MaxHTMLRender))
	}
	if len(c.forwarded) == 0 {
		return text, html
	}
	parts := append([]string{}, c.forwarded...)
	if text != "" {
		parts = append([]string{text}, parts...)
	}
	return strings.Join(parts, "\n\n"), html
}

func headerSize(h message.Header) int {
	n := 0
	fs := h.Fields()
	for fs.Next() {
		n += len(fs.Key()) + len(fs.Value()) + 4
	}
	return n
}

// walk reads entity e at nesting depth into c. inReport is set for the
// parts of a multipart/report.
func (p *parser) walk(e *message.Entity, depth int, c *collector, inReport bool) error {
	p.parts++
	if p.parts > p.lim.MaxParts {
		return &LimitError{Limit: "parts", Max: int64(p.lim.MaxParts), Got: int64(p.parts)}
	}
	if depth > p.lim.MaxDepth {
		return &LimitError{Limit: "depth", Max: int64(p.lim.MaxDepth), Got: int64(depth)}
	}
	if hs := headerSize(e.Header); hs > p.lim.MaxHeaderBytes {
		return &LimitError{Limit: "header", Max: int64(p.lim.MaxHeaderBytes), Got: int64(hs)}
	}
	mt, params, _ := e.Header.ContentType()
	mt = strings.ToLower(mt)
	if mt == "" || !strings.Contains(mt, "/") {
		mt = "text/plain"
	}
	if p.parts == 1 {
		p.rootType = mt
		if mt == "multipart/report" {
			p.reportType = strings.ToLower(params["report-type"])
		}
	}
	if mr := e.MultipartReader(); mr != nil {
		report := inReport || mt == "multipart/report"
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return nil
			}
			if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
				// A broken boundary: keep what was read before it.
				p.broken = fmt.Errorf("multipart %s: %w", mt, err)
				return nil
			}
			if err := p.walk(part, depth+1, c, report); err != nil {
				return err
			}
		}
	}
	disp, _, _ := e.Header.ContentDisposition()
	disp = strings.ToLower(disp)
	filename := partFilename(e.Header)
	switch {
	case inReport && (mt == "message/delivery-status" || mt == "message/global-delivery-status"):
		b, _ := readLimited(e.Body, 64<<10)
		if d := parseDSN(b); d != nil && p.dsn == nil {
			p.dsn = d
		}
		return nil
	case mt == "text/rfc822-headers" || mt == "message/global-headers" ||
		(inReport && (mt == "message/rfc822" || mt == "message/global")):
		// The returned message of a report: its header says which of ours it was.
		b, _ := readLimited(e.Body, int64(p.lim.MaxHeaderBytes))
		if h, err := textproto.ReadHeader(bufioReader(b)); err == nil || h.Len() > 0 {
			mh := mail.Header{Header: message.Header{Header: h}}
			if id := messageID(mh); id != "" && len(p.returned) < 10 {
				p.returned = appendNew(p.returned, id)
			}
		}
		return nil
	case mt == "message/rfc822" || mt == "message/global":
		return p.forwarded(e, depth, c)
	case (mt == "text/plain" || mt == "text/html") && disp != "attachment" && filename == "":
		hint := 0
		if p.parts == 1 {
			hint = p.size // a single-part message: its body is shorter than the message
		}
		s, err := readText(e.Body, hint)
		// A damaged encoding (corrupt base64, a cut-off part) keeps the text
		// read before the damage.
		if err != nil && s == "" {
			p.broken = fmt.Errorf("%s part: %w", mt, err)
			return nil
		}
		if mt == "text/html" {
			c.html = append(c.html, s)
		} else {
			c.plain = append(c.plain, s)
		}
		return nil
	}
	return p.attachment(e, mt, filename, c)
}

// attachment reads a part as a file, hashing it as it streams.
func (p *parser) attachment(e *message.Entity, mt, filename string, c *collector) error {
	hash := sha256.New()
	var buf bytes.Buffer
	_, err := io.Copy(io.MultiWriter(&buf, hash), e.Body)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		// The message ends without its closing boundary, as sloppy mailers
		// write it: the part is what arrived.
		err = nil
	}
	if err != nil {
		// A file cut short is not the file the sender attached: the
		// message is kept whole in quarantine instead.
		name := filename
		if name == "" {
			name = mt
		}
		return fmt.Errorf("attachment %q: cannot be decoded: %w", name, err)
	}
	c.atts = append(c.atts, casefile.Attachment{
		Filename:    filename,
		ContentType: mt,
		Data:        buf.Bytes(),
		SHA256:      hex.EncodeToString(hash.Sum(nil)),
	})
	return nil
}

// forwarded reads an attached message: its text joins the message's text
// under a header block, and its attachments join the message's.
func (p *parser) forwarded(e *message.Entity, depth int, c *collector) error {
	inner, err := p.readEntity(e.Body)
	if err != nil {
		var le *LimitError
		if errors.As(err, &le) {
			return err
		}
		p.broken = fmt.Errorf("forwarded message: %w", err)
		return nil
	}
	sub := &collector{}
	if err := p.walk(inner, depth+1, sub, false); err != nil {
		return err
	}
	h := mail.Header{Header: inner.Header}
	if id := messageID(h); id != "" && len(p.attached) < 10 {
		p.attached = appendNew(p.attached, id)
	}
	var sb strings.Builder
	sb.WriteString("---------- Forwarded message ----------\n")
	if f := h.Get("From"); f != "" {
		sb.WriteString("From: " + headerText(f) + "\n")
	}
	if d := h.Get("Date"); d != "" {
		sb.WriteString("Date: " + headerText(d) + "\n")
	}
	if s := h.Get("Subject"); s != "" {
		sb.WriteString("Subject: " + headerText(s) + "\n")
	}
	text, _ := sub.texts()
	sb.WriteString("\n")
	sb.WriteString(text)
	c.forwarded = append(c.forwarded, strings.TrimSpace(sb.String()))
	c.atts = append(c.atts, sub.atts...)
	return nil
}

// readLimited reads at most n bytes of r.
func readLimited(r io.Reader, n int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, n))
}

func emptyApplication() casefile.Application {
	return casefile.Application{Route: casefile.RouteUnknown, Incidents: []casefile.Incident{}, Agencies: []string{}, References: []string{}}
}
