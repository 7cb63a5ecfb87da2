package bot

import (
	"crypto/sha256"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"testing/quick"
	"unicode"
)

// letterText is an arbitrary letter for testing/quick: words of ASCII and
// of multi-byte characters, spaces, tabs, line breaks, blank lines and runs
// of them, now and then a very long word or a paragraph with no break at
// all, leading and trailing whitespace.
type letterText string

func (letterText) Generate(r *rand.Rand, size int) reflect.Value {
	pieces := []string{"Dear", "resident", "Écrit", "Ŵyth", "café", "Straße", "🙂", "—", "a", "&", "<@U1>", "réunion", "CT-2026-0001", "\u00a0", "\u3000"}
	spaces := []string{" ", " ", " ", "  ", "\t", "\n", "\n\n", "\n\n\n", " \n ", "\n \n", "\r\n", "\u00a0", "\u2028"}
	var b strings.Builder
	if r.Intn(4) == 0 {
		b.WriteString(spaces[r.Intn(len(spaces))])
	}
	n := r.Intn(size*12 + 1)
	for range n {
		switch r.Intn(40) {
		case 0: // a long word, longer than a part
			w := pieces[r.Intn(len(pieces))]
			b.WriteString(strings.Repeat(w, 50+r.Intn(250)))
		case 1: // a long run of whitespace
			b.WriteString(strings.Repeat(spaces[r.Intn(len(spaces))], 20+r.Intn(200)))
		default:
			b.WriteString(pieces[r.Intn(len(pieces))])
		}
		if r.Intn(8) != 0 {
			b.WriteString(spaces[r.Intn(len(spaces))])
		}
	}
	if r.Intn(2) == 0 {
		b.WriteString("\n")
	}
	return reflect.ValueOf(letterText(b.String()))
}

// checkSplit is the property: the parts fit, start and end with no
// whitespace, and with the seps give back the text, byte for byte.
func checkSplit(t *testing.T, text string, n int) bool {
	t.Helper()
	parts, seps := splitLetter(text, n)
	if len(seps) != len(parts)+1 {
		t.Errorf("%d parts, %d seps", len(parts), len(seps))
		return false
	}
	for i, p := range parts {
		if p == "" || chars(p) > n {
			t.Errorf("part %d has %d characters (limit %d)", i, chars(p), n)
			return false
		}
		first, last := []rune(p)[0], []rune(p)[len([]rune(p))-1]
		if unicode.IsSpace(first) || unicode.IsSpace(last) {
			t.Errorf("part %d starts or ends with whitespace: %q…%q", i, first, last)
			return false
		}
	}
	for i, s := range seps {
		if strings.TrimFunc(s, unicode.IsSpace) != "" {
			t.Errorf("sep %d is not whitespace: %q", i, s)
			return false
		}
	}
	got := joinLetter(parts, seps)
	if got != text || sha256.Sum256([]byte(got)) != sha256.Sum256([]byte(text)) {
		t.Errorf("rejoined text differs (len %d, want %d)", len(got), len(text))
		return false
	}
	return true
}

// TestSplitLetterRejoinsExactly is the property test of issue 14 point 4:
// for any letter text, splitting it for the edit form and joining what
// comes back unchanged gives the same bytes and the same sha256.
func TestSplitLetterRejoinsExactly(t *testing.T) {
	for _, n := range []int{1, 2, 7, 80, editPartChars} {
		f := func(lt letterText) bool { return checkSplit(t, string(lt), n) }
		if err := quick.Check(f, &quick.Config{MaxCount: 300}); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
	}
	// Arbitrary strings too, invalid UTF-8 included.
	f := func(s string, b []byte) bool { return checkSplit(t, s, 50) && checkSplit(t, string(b), 3) }
	if err := quick.Check(f, &quick.Config{MaxCount: 500}); err != nil {
		t.Fatal(err)
	}
}

func TestSplitLetterCuts(t *testing.T) {
	para := strings.Repeat("word ", 300) // 1,500 characters
	for _, c := range []struct {
		name, text string
		n          int
		want       []string
	}{
		{"ParagraphFirst", "one two\nthree\n\nfour five", 20, []string{"one two\nthree", "four five"}},
		{"LineWhenNoParagraphFits", "aaaa bbbb\ncccc dddd eeee", 12, []string{"aaaa bbbb", "cccc dddd", "eeee"}},
		{"WordInALongParagraph", strings.TrimSpace(para), editPartChars, nil},
		{"RuneWhenNoSpace", "ŴŴŴŴŴŴŴŴŴŴ", 4, []string{"ŴŴŴŴ", "ŴŴŴŴ", "ŴŴ"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			parts, _ := splitLetter(c.text, c.n)
			if c.want != nil && !reflect.DeepEqual(parts, c.want) {
				t.Errorf("parts %q, want %q", parts, c.want)
			}
			for _, p := range parts {
				if strings.HasPrefix(p, "ord") || strings.HasSuffix(p, "wor") {
					t.Errorf("cut inside a word: …%q…", p[max(0, len(p)-10):])
				}
			}
			checkSplit(t, c.text, c.n)
		})
	}
}

func TestSplitTextKeepsEntities(t *testing.T) {
	s := esc(strings.Repeat("<@U123>&", 40))
	for _, p := range splitText(s, 13) {
		if chars(p) > 13 {
			t.Errorf("piece %q is longer than 13", p)
		}
		if strings.Count(p, "&") != strings.Count(p, ";") {
			t.Errorf("an entity was cut: %q", p)
		}
	}
	if got := shortenMrkdwn("x "+esc("<!channel>"), 8); strings.Contains(got, "&lt") && !strings.Contains(got, "&lt;") {
		t.Errorf("shortenMrkdwn cut an entity: %q", got)
	}
}

func FuzzSplitLetter(f *testing.F) {
	for _, s := range []string{"", " ", "Dear Lucy,\n\nThank you.\n", strings.Repeat("Ŵ", 3100), "a\n\n\n\nb", "\u00a0x\u00a0"} {
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 1 || n > 5000 {
			t.Skip()
		}
		checkSplit(t, s, n)
	})
}
