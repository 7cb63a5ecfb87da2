package mailin

import (
	"strings"

	"github.com/csp/trigger/casefile"
	"github.com/emersion/go-message"
)

// Reasons an AuthVerdict gives for a message not being from the party it
// claims to be (the unverified_reason of DESIGN.md).
const (
	ReasonDMARCFail = casefile.UnverifiedDMARCFail
	ReasonSPFFail   = casefile.UnverifiedSPFFail
)

// AuthVerdict is what the trusted receiving gateway's
// Authentication-Results fields (RFC 8601) say of a message's sender.
type AuthVerdict struct {
	// AuthServID is the trusted authserv-id whose results were read; ""
	// when none is configured or the message carries none of its fields.
	AuthServID string `json:"authserv_id,omitempty"`
	// DMARC, SPF and DKIM are the results the gateway gave ("pass",
	// "fail", "none", "softfail", …; "" when not reported). DKIM is "pass"
	// when a signature of the From domain (or one naming no domain)
	// passed, "pass-unaligned" when only another domain's did: a stranger
	// can sign with their own domain, so that does not excuse an SPF fail.
	DMARC string `json:"dmarc,omitempty"`
	SPF   string `json:"spf,omitempty"`
	DKIM  string `json:"dkim,omitempty"`
	// Reason is ReasonDMARCFail (dmarc=fail), ReasonSPFFail (spf=fail and
	// no DKIM pass), or "" when the results say nothing against the
	// sender. "" does not make the sender a party: it only means the
	// gateway did not refute them.
	Reason string `json:"reason,omitempty"`
}

// Failed reports whether the gateway says the message is not from its
// From address.
func (v AuthVerdict) Failed() bool { return v.Reason != "" }

// authVerdict reads the Authentication-Results fields of trusted (an
// authserv-id, compared without case) and nothing else.
//
// The gateway adds its fields at the top of the header; a sender can write
// fields with the gateway's authserv-id into the message it sends, and
// those sit below. So only the first run of trusted fields counts (the
// first one and those directly after it: a gateway's filters may add one
// each), and within it, for DMARC and SPF, the first result. A gateway
// should also remove forged fields with its authserv-id (RFC 8601 §5);
// one that does not, and writes its own fields directly above the
// sender's, cannot be told from a forger who adds a method it did not
// report.
//
// Microsoft 365 writes its field with no authserv-id at all: with trusted
// set to casefile.AuthServMicrosoft365 the first field with no id is read,
// and only that one. Were Microsoft not to add one, that field would be
// the sender's own — and a field a sender writes can only refute the
// sender: a verdict with no Reason never makes anyone a party.
func authVerdict(h message.Header, trusted string, fromAddr string) AuthVerdict {
	trusted = strings.TrimSpace(trusted)
	if trusted == "" {
		return AuthVerdict{}
	}
	fromDomain := ""
	if i := strings.LastIndexByte(fromAddr, '@'); i >= 0 {
		fromDomain = strings.ToLower(fromAddr[i+1:])
	}
	var v AuthVerdict
	inRun := false
	microsoft := strings.EqualFold(trusted, casefile.AuthServMicrosoft365)
	for fs := h.Fields(); fs.Next(); {
		ar := strings.EqualFold(fs.Key(), "Authentication-Results")
		var id string
		var results []authResult
		if ar {
			id, results = parseAuthResults(fs.Value())
		}
		if !ar || !trustedID(id, trusted) {
			if inRun {
				break
			}
			continue
		}
		if inRun && microsoft {
			break // Microsoft adds one field: what follows is not its
		}
		inRun = true
		v.AuthServID = trusted
		for _, r := range results {
			switch r.method {
			case "dmarc":
				if v.DMARC == "" {
					v.DMARC = r.result
				}
			case "spf":
				if v.SPF == "" {
					v.SPF = r.result
				}
			case "dkim":
				switch {
				case r.result == "pass" && aligned(r.props["header.d"], fromDomain):
					v.DKIM = "pass"
				case v.DKIM == "":
					v.DKIM = r.result
					if r.result == "pass" {
						v.DKIM = "pass-unaligned"
					}
				}
			}
		}
	}
	switch {
	case v.DMARC == "fail":
		v.Reason = ReasonDMARCFail
	case v.SPF == "fail" && v.DKIM != "pass":
		v.Reason = ReasonSPFFail
	}
	return v
}

// trustedID reports whether a field's authserv-id is the trusted one.
func trustedID(id, trusted string) bool {
	if strings.EqualFold(trusted, casefile.AuthServMicrosoft365) {
		return id == ""
	}
	return strings.EqualFold(id, trusted)
}

// aligned reports whether a DKIM signing domain speaks for the From domain
// (relaxed alignment, without the public suffix list: one is the other or
// a subdomain of it). A result naming no domain is taken as aligned.
func aligned(d, from string) bool {
	d = strings.ToLower(strings.TrimSpace(d))
	switch {
	case d == "" || from == "":
		return true
	case d == from:
		return true
	}
	return strings.HasSuffix(from, "."+d) || strings.HasSuffix(d, "."+from)
}

// authResult is one resinfo of an Authentication-Results field.
type authResult struct {
	method, result string
	props          map[string]string // "header.d" → "example.org"
}

// parseAuthResults reads an Authentication-Results value: the authserv-id
// and each "method=result ptype.property=value …" after it. Comments are
// dropped; "none" gives no results. A value that starts with a result has
// no authserv-id ("").
func parseAuthResults(v string) (id string, out []authResult) {
	parts := splitOutsideQuotes(stripComments(v), ';')
	if len(parts) == 0 {
		return "", nil
	}
	head := strings.Fields(parts[0])
	rest := parts[1:]
	switch {
	case len(head) == 0:
	case strings.Contains(parts[0], "="):
		rest = parts // no authserv-id: the first part is a result
	default:
		id = strings.Trim(head[0], `"`)
	}
	for _, p := range rest {
		toks := strings.Fields(tightenEquals(p))
		if len(toks) == 0 {
			continue
		}
		method, result, ok := strings.Cut(toks[0], "=")
		if !ok {
			continue
		}
		method, _, _ = strings.Cut(method, "/") // method/version
		r := authResult{method: strings.ToLower(method), result: strings.ToLower(strings.Trim(result, `"`)), props: map[string]string{}}
		for _, t := range toks[1:] {
			if k, val, ok := strings.Cut(t, "="); ok {
				r.props[strings.ToLower(k)] = strings.Trim(val, `"`)
			}
		}
		out = append(out, r)
	}
	return id, out
}

// stripComments replaces (comments), nested or not, outside quoted strings
// with a space.
func stripComments(v string) string {
	var sb strings.Builder
	depth, inQ := 0, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && (inQ || depth > 0):
			if depth == 0 {
				sb.WriteByte(c)
				if i+1 < len(v) {
					sb.WriteByte(v[i+1])
				}
			}
			i++
		case c == '"' && depth == 0:
			inQ = !inQ
			sb.WriteByte(c)
		case c == '(' && !inQ:
			depth++
		case c == ')' && !inQ && depth > 0:
			depth--
			if depth == 0 {
				sb.WriteByte(' ')
			}
		case depth == 0:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// splitOutsideQuotes splits v at sep outside quoted strings.
func splitOutsideQuotes(v string, sep byte) []string {
	var out []string
	inQ, start := false, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			inQ = !inQ
		case sep:
			if !inQ {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}

// tightenEquals removes the spaces around "=" ("dmarc = fail" is
// "dmarc=fail").
func tightenEquals(s string) string {
	for strings.Contains(s, " =") || strings.Contains(s, "= ") || strings.Contains(s, "\t=") || strings.Contains(s, "=\t") {
		s = strings.NewReplacer(" =", "=", "= ", "=", "\t=", "=", "=\t", "=").Replace(s)
	}
	return s
}
