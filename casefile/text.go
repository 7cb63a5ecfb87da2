package casefile

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// CleanHeaderText makes text taken from a header (a subject, a display
// name, a file name) safe to print on a terminal, in Slack or in a letter:
// it removes C0 and C1 control characters with the escape sequences they
// start (ANSI colours, cursor moves, terminal titles, BEL, backspace), and
// the bidirectional overrides, embeddings, isolates and marks that make
// text read differently from what it is (U+202A–U+202E, U+2066–U+2069,
// U+200E, U+200F, U+061C). Line breaks and tabs become spaces, runs of
// spaces one space. Ordinary Unicode (Welsh ŵ and ŷ, accents, scripts
// written right to left) is kept. Invalid UTF-8 becomes U+FFFD.
//
// Mail intake applies it to every header it reads; the store applies it
// again to what it is given (staff typing in a case, a quarantined
// message's key and error) and to what it shows, so that text stored before
// this rule is safe to print too.
func CleanHeaderText(s string) string {
	if isPlainASCII(s) {
		return strings.Join(strings.Fields(s), " ")
	}
	var sb strings.Builder
	sb.Grow(len(s))
	space := false // a space is owed before the next character
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == 0x1b: // ESC: drop the whole sequence it starts
			i += escapeLen(s[i:])
			continue
		case r == 0x9b: // C1 CSI: parameters and a final byte follow
			i += csiLen(s[i:])
			continue
		case r == 0x9d: // C1 OSC: a string up to ST or BEL follows
			i += oscLen(s[i:])
			continue
		case r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' || r == 0x85 || r == 0x2028 || r == 0x2029 ||
			unicode.IsSpace(r):
			space = sb.Len() > 0
			continue
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || bidiControl(r):
			continue
		}
		if space {
			sb.WriteByte(' ')
			space = false
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// isPlainASCII reports whether s is printable ASCII and spaces only.
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x7f || (c < 0x20 && c != ' ' && c != '\t') {
			return false
		}
	}
	return true
}

// bidiControl reports the characters that change the direction text is
// shown in without being seen themselves.
func bidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}

// escapeLen is the length of the escape sequence after an ESC: CSI
// ("[31m"), OSC ("]0;title BEL"), or one intermediate-and-final pair.
func escapeLen(s string) int {
	if s == "" {
		return 0
	}
	switch s[0] {
	case '[':
		return 1 + csiLen(s[1:])
	case ']', 'P', '_', '^', 'X':
		return 1 + oscLen(s[1:])
	}
	n := 0
	for n < len(s) && s[n] >= 0x20 && s[n] <= 0x2f { // intermediate bytes
		n++
	}
	if n < len(s) && s[n] >= 0x30 && s[n] <= 0x7e {
		n++
	}
	return n
}

// csiLen is the length of a control sequence's parameters and final byte.
func csiLen(s string) int {
	for n := 0; n < len(s) && n < 64; n++ {
		c := s[n]
		if c >= 0x40 && c <= 0x7e {
			return n + 1
		}
		if c < 0x20 || c > 0x3f {
			return n // not a control sequence after all: keep what follows
		}
	}
	return min(len(s), 64)
}

// oscLen is the length of an operating system command's string and its
// terminator (BEL or ESC \).
func oscLen(s string) int {
	for n := 0; n < len(s) && n < 256; n++ {
		switch s[n] {
		case 0x07:
			return n + 1
		case 0x1b:
			if n+1 < len(s) && s[n+1] == '\\' {
				return n + 2
			}
			return n + 1
		case '\n', '\r':
			return n
		}
	}
	return min(len(s), 256)
}

// LooksLikeName reports whether s can be used to greet someone: letters
// (accented ones and other scripts included), spaces, hyphens and
// apostrophes only, at least one letter, at most 60 characters. What does
// not (a web address, a sentence, an email address) is never written back
// to the address the acknowledgement goes to: "Dear applicant" is.
//
// Mail intake reads names with it, and outgoing mail greets with it.
func LooksLikeName(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > 60 || !utf8.ValidString(s) {
		return false
	}
	letters := 0
	prev := ' '
	for _, r := range s {
		switch {
		case unicode.IsLetter(r):
			letters++
		case unicode.Is(unicode.Mn, r) && unicode.IsLetter(prev): // a combining accent
		case r == ' ' || r == '-' || r == '\'' || r == '’':
		default:
			return false
		}
		prev = r
	}
	return letters > 0
}
