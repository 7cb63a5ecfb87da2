package mailin

import (
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"

	"github.com/csp/trigger/internal/mixedmail"
)

func TestRequired(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []string
	}{
		{`(?i)\b(?:I am|I'm|as) (?:a |the )?councillor\b`, []string{"councillor"}},
		{`(?i)\b(?:next|following) (?:day|morning)\b`, []string{"following", "next"}},
		{`(?:foo)?bar`, []string{"bar"}},
		{`[Oo]n behalf of`, []string{"n behalf of"}},
		{`(?i)Hello`, []string{"hello"}},
		{`x+(?:yy){2,}`, []string{"yy"}},
		{`a|b*`, nil},         // b* matches the empty text
		{`(?:abc){0,3}`, nil}, // so does this
		{`\d{4}-\d{2}`, []string{"-"}},
		{`[A-Z]{2}`, nil},      // no literal at all
		{`caf\x{e9}|tea`, nil}, // not ASCII: folding is not exact
	} {
		p, err := syntax.Parse(c.expr, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		got := required(p)
		slices.Sort(got)
		slices.Sort(c.want)
		if !slices.Equal(got, c.want) {
			t.Errorf("required(%#q) = %q, want %q", c.expr, got, c.want)
		}
	}
}

func TestContainsFold(t *testing.T) {
	for _, c := range []struct {
		s, w string
		want bool
	}{
		{"I am a Ward COUNCILLOR here", "councillor", true},
		{"councillo", "councillor", false},
		{"", "a", false},
		{"aaab", "ab", true},
		{"xAB", "ab", true},
		{"AaB", "ab", true},
		{"abc", "", true},
		{"café au lait", "au", true},
	} {
		if got := containsFold(c.s, c.w); got != c.want {
			t.Errorf("containsFold(%q, %q) = %v", c.s, c.w, got)
		}
	}
}

// TestGatesChangeNothing runs every expression of the package with its
// gate and without on the text of real and generated mail (whole, by
// paragraph, by line and by sentence), and on texts made to trip a gate:
// a gate may only make an expression faster, never its answer different.
func TestGatesChangeNothing(t *testing.T) {
	var texts []string
	seen := map[string]bool{}
	text := func(s string) {
		s = s[:min(len(s), 8<<10)]
		if !seen[s] {
			seen[s] = true
			texts = append(texts, s)
		}
	}
	add := func(s string) {
		text(s)
		for _, para := range strings.Split(s, "\n\n") {
			text(para)
			for _, line := range strings.Split(para, "\n") {
				text(line)
				text(strings.TrimSpace(line))
			}
			for _, sent := range sentencesOf(para) {
				text(sent)
			}
		}
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatal("no testdata", err)
	}
	opt := Options{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		add(strings.ReplaceAll(string(raw), "\r\n", "\n"))
		if in, err := Parse(raw, opt); err == nil {
			add(in.Text)
		}
	}
	mb := mixedmail.Generate(mixedmail.Options{Messages: 200, Seed: 7, Year: 2026})
	for _, m := range mb.Inbox {
		if in, err := Parse(m.Raw, opt); err == nil {
			add(in.Text)
		}
	}
	// Runes (?i) folds onto ASCII letters, and words split by case.
	add("I AM THE \u212aEY WORKER. I am a \u017fupport worker. On BEHALF of Mrs Lee. COUNCILLOR. 3RD OF OCTOBER.")

	am := newAgencyMatcher(mixedmail.Config().Agencies)
	res := append(slices.Clone(compiled), am.re)
	if len(res) < 50 {
		t.Fatalf("only %d expressions registered", len(res))
	}
	gated := 0
	for _, re := range res {
		if re.gate != nil {
			gated++
		}
		plain := regexp.MustCompile(re.String())
		for _, s := range texts {
			if got, want := re.MatchString(s), plain.MatchString(s); got != want {
				t.Fatalf("%#q gated by %q: MatchString(%q) = %v, want %v", re, re.gate, s, got, want)
			}
			if got, want := re.FindAllStringSubmatchIndex(s, -1), plain.FindAllStringSubmatchIndex(s, -1); !slices.EqualFunc(got, want, slices.Equal) {
				t.Fatalf("%#q gated by %q: FindAllStringSubmatchIndex(%q) = %v, want %v", re, re.gate, s, got, want)
			}
		}
	}
	t.Logf("%d expressions (%d gated) on %d texts", len(res), gated, len(texts))
}
