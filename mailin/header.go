package mailin

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
)

func bufioReader(b []byte) *bufio.Reader {
	if !bytes.Contains(b, []byte("\n\n")) && !bytes.Contains(b, []byte("\r\n\r\n")) {
		b = append(append([]byte(nil), b...), "\r\n\r\n"...)
	}
	return bufio.NewReader(bytes.NewReader(b))
}

// lenientCharset decodes a charset go-message knows and passes any other
// through unchanged; toUTF8 then repairs what is not UTF-8.
func lenientCharset(cs string, r io.Reader) (io.Reader, error) {
	if dec, err := charset.Reader(cs, r); err == nil {
		return dec, nil
	}
	return r, nil
}

var wordDecoder = &mime.WordDecoder{CharsetReader: lenientCharset}

// headerText decodes RFC 2047 encoded words and returns one line of UTF-8,
// safe to print (CleanHeaderText).
func headerText(v string) string {
	if strings.Contains(v, "=?") {
		if d, err := wordDecoder.DecodeHeader(v); err == nil {
			v = d
		}
	}
	return casefile.CleanHeaderText(toUTF8String(v))
}

var msgIDRE = mustCompile(`<([^<>\s]+)>`)

// messageID returns the Message-ID without angle brackets, or "" when the
// message has none. A malformed one is kept as written (without control
// characters), so that the same message is still recognised the second
// time.
func messageID(h mail.Header) string {
	if id, err := h.MessageID(); err == nil && id != "" {
		return cleanID(id)
	}
	v := strings.TrimSpace(h.Get("Message-Id"))
	if m := msgIDRE.FindStringSubmatch(v); m != nil {
		return cleanID(m[1])
	}
	if f := strings.Fields(v); len(f) > 0 {
		return cleanID(strings.Trim(f[0], "<>"))
	}
	return ""
}

// cleanID makes a Message-ID from a header UTF-8 and printable.
func cleanID(id string) string {
	return casefile.CleanHeaderText(toUTF8String(id))
}

// msgIDs returns the Message-IDs listed in a header field.
func msgIDs(h mail.Header, key string) []string {
	var out []string
	if ids, err := h.MsgIDList(key); err == nil {
		for _, id := range ids {
			out = append(out, cleanID(id))
		}
		return out
	}
	for _, m := range msgIDRE.FindAllStringSubmatch(h.Get(key), -1) {
		out = append(out, cleanID(m[1]))
	}
	return out
}

// address is a mailbox: display name and address.
type address struct {
	Name, Addr string
}

// addressList reads the mailboxes of an address field. Only a mailbox's
// address identifies it, never its display name: the address is the one in
// angle brackets, and a display name that looks like an address
// ("lucy@example.net <mallory@evil.example>") or carries an encoded line
// break stays a name. An entry with no valid address is left out. What
// net/mail rejects is read entry by entry with the same rule.
func addressList(v string) []address {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	var out []address
	if l, err := mail.ParseAddressList(v); err == nil {
		for _, a := range l {
			if addr := mailbox(toUTF8String(a.Address)); addr != "" {
				out = append(out, address{Name: casefile.CleanHeaderText(toUTF8String(a.Name)), Addr: addr})
			}
		}
		return out
	}
	for _, part := range splitAddresses(v) {
		if a, ok := lenientAddress(part); ok {
			out = append(out, a)
		}
	}
	return out
}

// lenientAddress reads one entry of an address field net/mail could not
// parse: the address in its last angle brackets, else the entry itself
// (less a comment) when it is a single address.
func lenientAddress(part string) (address, bool) {
	part = strings.TrimSpace(part)
	if i := strings.LastIndexByte(part, '<'); i >= 0 {
		j := strings.IndexByte(part[i:], '>')
		if j < 0 {
			return address{}, false
		}
		addr := mailbox(toUTF8String(part[i+1 : i+j]))
		if addr == "" {
			return address{}, false
		}
		name := strings.Trim(strings.TrimSpace(part[:i]), `"' `)
		return address{Name: headerText(name), Addr: addr}, true
	}
	name := ""
	if i := strings.IndexByte(part, '('); i >= 0 {
		if j := strings.LastIndexByte(part, ')'); j > i {
			name = part[i+1 : j]
			part = strings.TrimSpace(part[:i] + part[j+1:])
		}
	}
	addr := mailbox(toUTF8String(strings.Trim(part, `"`)))
	if addr == "" {
		return address{}, false
	}
	return address{Name: headerText(name), Addr: addr}, true
}

func firstAddress(v string) address {
	if l := addressList(v); len(l) > 0 {
		return l[0]
	}
	return address{}
}

// splitAddresses splits an address field at commas outside quotes, angle
// brackets and comments.
func splitAddresses(v string) []string {
	var out []string
	inQ, angle, paren, start := false, false, 0, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\':
			i++
		case c == '"' && paren == 0:
			inQ = !inQ
		case inQ:
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case c == '(':
			paren++
		case c == ')' && paren > 0:
			paren--
		case c == ',' && !angle && paren == 0:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04:05",
	"Mon Jan 2 15:04:05 2006",
	time.RFC3339,
}

// headerDate reads the Date field, or returns the zero time.
func headerDate(h mail.Header) time.Time {
	if t, err := h.Date(); err == nil {
		return t
	}
	v := strings.TrimSpace(h.Get("Date"))
	if i := strings.Index(v, " ("); i > 0 {
		v = v[:i]
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t
		}
	}
	return time.Time{}
}

// partFilename returns an attachment's file name: Content-Disposition
// filename, else Content-Type name, in RFC 2231 (any charset, continued) or
// RFC 2047 encoding, without any directory part.
func partFilename(h message.Header) string {
	// RFC 2231 forms are read here: mime.ParseMediaType drops values in
	// charsets other than UTF-8 and garbles their continuations.
	cd, ct := h.Get("Content-Disposition"), h.Get("Content-Type")
	name := ""
	if strings.Contains(strings.ToLower(cd), "filename*") {
		name = lenientParam(cd, "filename")
	}
	if name == "" {
		if _, p, err := h.ContentDisposition(); err == nil {
			name = p["filename"]
		}
	}
	if name == "" {
		name = lenientParam(cd, "filename")
	}
	if name == "" && strings.Contains(strings.ToLower(ct), "name*") {
		name = lenientParam(ct, "name")
	}
	if name == "" {
		if _, p, err := h.ContentType(); err == nil {
			name = p["name"]
		}
	}
	if name == "" {
		name = lenientParam(ct, "name")
	}
	if name == "" {
		return ""
	}
	name = headerText(name)
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(name)
	if name == "." || name == ".." || name == "/" {
		return ""
	}
	return name
}

// lenientParam finds parameter key in a header value that mime.ParseMediaType
// rejected or could not decode: unquoted values with spaces, RFC 2231
// values in charsets other than UTF-8, continuations.
func lenientParam(v, key string) string {
	type seg struct {
		n       int
		encoded bool
		val     string
	}
	var plain string
	var segs []seg
	for _, p := range splitParams(v) {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = strings.ReplaceAll(val[1:len(val)-1], `\"`, `"`)
		}
		switch {
		case k == key:
			plain = val
		case strings.HasPrefix(k, key+"*"):
			rest := strings.TrimPrefix(k, key+"*")
			s := seg{}
			if strings.HasSuffix(rest, "*") {
				s.encoded = true
				rest = strings.TrimSuffix(rest, "*")
			}
			if rest == "" {
				s.encoded = true // key*=charset''value
			} else {
				n, err := strconv.Atoi(rest)
				if err != nil || n > 100 {
					continue
				}
				s.n = n
			}
			s.val = val
			segs = append(segs, s)
		}
	}
	if len(segs) == 0 {
		return plain
	}
	// order by segment number
	for i := 1; i < len(segs); i++ {
		for j := i; j > 0 && segs[j].n < segs[j-1].n; j-- {
			segs[j], segs[j-1] = segs[j-1], segs[j]
		}
	}
	cs := ""
	var raw bytes.Buffer
	for i, s := range segs {
		val := s.val
		if s.encoded {
			if i == 0 {
				if parts := strings.SplitN(val, "'", 3); len(parts) == 3 {
					cs, val = parts[0], parts[2]
				}
			}
			if u, err := url.PathUnescape(val); err == nil {
				val = u
			}
		}
		raw.WriteString(val)
	}
	b := raw.Bytes()
	if cs != "" && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
		if r, err := charset.Reader(cs, bytes.NewReader(b)); err == nil {
			if d, err := io.ReadAll(r); err == nil {
				b = d
			}
		}
	}
	return toUTF8(b)
}

// splitParams splits a header value at semicolons outside quotes and drops
// the value before the first.
func splitParams(v string) []string {
	var out []string
	inQ := false
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			inQ = !inQ
		case '\\':
			i++
		case ';':
			if !inQ {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	out = append(out, v[start:])
	if len(out) > 0 {
		out = out[1:]
	}
	return out
}
