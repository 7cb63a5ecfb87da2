package mailin

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// mailbox checks an address taken from a header or a form: a single
// addr-spec with no spaces, control characters, quotes, brackets or
// comments, one @, and a domain of at least two labels. It returns the
// address in lower case, or "" when it is not one.
func mailbox(a string) string {
	a = strings.TrimSpace(a)
	if a == "" || len(a) > 254 || !utf8.ValidString(a) {
		return ""
	}
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at != strings.IndexByte(a, '@') || at == len(a)-1 {
		return ""
	}
	local, domain := a[:at], a[at+1:]
	if len(local) > 64 || strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return ""
	}
	for _, r := range local {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("!#$%&'*+/=?^_`{|}~.-", r)) {
			return ""
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return ""
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return ""
		}
		for _, r := range l {
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-') {
				return ""
			}
		}
	}
	return strings.ToLower(a)
}

// statedAddress reads an email address a person typed in a form field: the
// field must hold one address and nothing that could carry another (a line
// break, a second address). "Ann Example <ann@example.org>" and
// "mailto:ann@example.org" are read as the address they give.
func statedAddress(v string) string {
	v = strings.TrimSpace(v)
	if v == "" || strings.ContainsAny(v, "\r\n") || strings.Count(v, "@") != 1 {
		return ""
	}
	v = strings.TrimPrefix(strings.TrimPrefix(v, "mailto:"), "MAILTO:")
	if a := mailbox(strings.Trim(v, ".,;")); a != "" {
		return a
	}
	if a, err := mail.ParseAddress(v); err == nil {
		return mailbox(a.Address)
	}
	return ""
}
