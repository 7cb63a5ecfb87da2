package mailin

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// A textRE is a regular expression with a gate: words of which every match
// must contain one (compared without regard to ASCII case). Most of the
// patterns that read free text look for phrases a given sentence seldom
// holds ("on behalf of", "councillor", a month's name), and Go's regexp,
// with no literal prefix to skip to, tries them at every byte; looking for
// the words first costs a fraction of that. A text without any of them
// cannot match, so the answer is the same as the expression's, only
// sooner. Methods not written here are the expression's own, ungated.
type textRE struct {
	*regexp.Regexp
	gate []string // lower-case ASCII; nil: no gate (every text is tried)
}

// compiled are the expressions mustCompile made, for the test that
// checks every gate against its expression.
var compiled []*textRE

// mustCompile compiles expr as regexp.MustCompile does, with its gate. It
// is for the package's expressions, made once.
func mustCompile(expr string) *textRE {
	t := newTextRE(regexp.MustCompile(expr))
	compiled = append(compiled, t)
	return t
}

// newTextRE gives re its gate.
func newTextRE(re *regexp.Regexp) *textRE {
	t := &textRE{Regexp: re}
	if p, err := syntax.Parse(re.String(), syntax.Perl); err == nil {
		t.gate = required(p)
	}
	if shortest(t.gate) < 2 {
		t.gate = nil // a letter or a comma is in nearly every text
	}
	return t
}

// maxGate is the most words a gate holds: past it, looking for each costs
// more than the expression saves.
const maxGate = 64

// required returns words of which every match of re contains at least
// one, or nil when it cannot tell. Only ASCII words are used: then folding
// case in the text (mayMatch) is exact.
func required(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		for i := 0; i < len(s); i++ {
			if s[i] >= utf8.RuneSelf {
				return nil
			}
		}
		return []string{strings.ToLower(s)}
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpConcat:
		// The most selective part: the one whose shortest word is
		// longest.
		var best []string
		for _, sub := range re.Sub {
			if w := required(sub); w != nil && (best == nil || shortest(w) > shortest(best)) {
				best = w
			}
		}
		return best
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			w := required(sub)
			if w == nil || len(all)+len(w) > maxGate {
				return nil
			}
			all = append(all, w...)
		}
		return all
	}
	return nil
}

func shortest(words []string) int {
	n := -1
	for _, w := range words {
		if n < 0 || len(w) < n {
			n = len(w)
		}
	}
	return n
}

// mayMatch reports whether s holds one of the gate's words, ASCII case
// folded. (?i) also folds two runes outside ASCII onto ASCII letters (the
// Kelvin sign onto k, the long s onto s); a text holding either is always
// tried.
func (t *textRE) mayMatch(s string) bool {
	if t.gate == nil {
		return true
	}
	for _, w := range t.gate {
		if containsFold(s, w) {
			return true
		}
	}
	return strings.Contains(s, "\u212a") || strings.Contains(s, "\u017f")
}

// containsFold reports whether s contains w (lower-case ASCII), ignoring
// ASCII case in s.
func containsFold(s, w string) bool {
	if w == "" {
		return true
	}
	c := w[0]
	up := c
	if 'a' <= c && c <= 'z' {
		up = c - 'a' + 'A'
	}
	for len(s) >= len(w) {
		i := strings.IndexByte(s[:len(s)-len(w)+1], c)
		if up != c {
			if j := strings.IndexByte(s[:len(s)-len(w)+1], up); j >= 0 && (i < 0 || j < i) {
				i = j
			}
		}
		if i < 0 {
			return false
		}
		if equalFold(s[i+1:i+len(w)], w[1:]) {
			return true
		}
		s = s[i+1:]
	}
	return false
}

// equalFold compares s with w (lower-case ASCII), ignoring ASCII case in s.
func equalFold(s, w string) bool {
	for i := 0; i < len(w); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

func (t *textRE) MatchString(s string) bool {
	return t.mayMatch(s) && t.Regexp.MatchString(s)
}

func (t *textRE) FindString(s string) string {
	if !t.mayMatch(s) {
		return ""
	}
	return t.Regexp.FindString(s)
}

func (t *textRE) FindStringIndex(s string) []int {
	if !t.mayMatch(s) {
		return nil
	}
	return t.Regexp.FindStringIndex(s)
}

func (t *textRE) FindStringSubmatch(s string) []string {
	if !t.mayMatch(s) {
		return nil
	}
	return t.Regexp.FindStringSubmatch(s)
}

func (t *textRE) FindStringSubmatchIndex(s string) []int {
	if !t.mayMatch(s) {
		return nil
	}
	return t.Regexp.FindStringSubmatchIndex(s)
}

func (t *textRE) FindAllString(s string, n int) []string {
	if !t.mayMatch(s) {
		return nil
	}
	return t.Regexp.FindAllString(s, n)
}

func (t *textRE) FindAllStringIndex(s string, n int) [][]int {
	if !t.mayMatch(s) {
		return nil
	}
	return t.Regexp.FindAllStringIndex(s, n)
}

func (t *textRE) FindAllStringSubmatch(s string, n int) [][]string {
	if !t.mayMatch(s) {
		return nil
	}
	return t.Regexp.FindAllStringSubmatch(s, n)
}

func (t *textRE) FindAllStringSubmatchIndex(s string, n int) [][]int {
	if !t.mayMatch(s) {
		return nil
	}
	return t.Regexp.FindAllStringSubmatchIndex(s, n)
}

func (t *textRE) ReplaceAllString(src, repl string) string {
	if !t.mayMatch(src) {
		return src
	}
	return t.Regexp.ReplaceAllString(src, repl)
}

func (t *textRE) ReplaceAllStringFunc(src string, repl func(string) string) string {
	if !t.mayMatch(src) {
		return src
	}
	return t.Regexp.ReplaceAllStringFunc(src, repl)
}
