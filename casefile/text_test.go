package casefile_test

import (
	"strings"
	"testing"

	"github.com/csp/trigger/casefile"
)

func TestCleanHeaderText(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"Plain", "Noise next door", "Noise next door"},
		{"WelshAndAccents", "Sŵn a chŷn – café naïve", "Sŵn a chŷn – café naïve"},
		{"RightToLeftScriptKept", "ضوضاء الجيران", "ضوضاء الجيران"},
		{"ANSIColour", "Help\x1b[31mRED\x1b[0m now", "HelpRED now"},
		{"ClearScreenAndTitle", "a\x1b[2J\x1b]0;owned\x07b", "ab"},
		{"TitleEndedBySTC", "a\x1b]2;x\x1b\\b", "ab"},
		{"BellBackspaceDelete", "ab\x07\x08\x7fc", "abc"},
		{"C1Controls", "a\u0085b\u009b31mc\u0090d", "a bcd"},
		{"BidiOverrides", "invoice\u202Egnp.exe \u2066x\u2069 \u200Ey\u200F \u061Cz", "invoicegnp.exe x y z"},
		{"LineBreaksAndTabs", "one\r\n two\tthree\u2028four", "one two three four"},
		{"InvalidUTF8", "a\xffb", "a\uFFFDb"},
		{"OnlyControls", "\x1b[0m\x07", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := casefile.CleanHeaderText(tc.in); got != tc.want {
				t.Errorf("CleanHeaderText(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestLooksLikeName(t *testing.T) {
	for _, s := range []string{"Ann", "Lee Grant", "Siân Lloyd-Jones", "Seán O'Brien", "D’Arcy", "Zoë Ŵyn", "José Núñez",
		"Anne\u0301"} {
		if !casefile.LooksLikeName(s) {
			t.Errorf("LooksLikeName(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"", " ", "-", "lucy@example.net", "Win £1000 at http://evil.example", "Dear friend, click here",
		"Ann\r\nBcc: x", "R2D2", strings.Repeat("a", 61), "Mr. Smith"} {
		if casefile.LooksLikeName(s) {
			t.Errorf("LooksLikeName(%q) = true, want false", s)
		}
	}
}
