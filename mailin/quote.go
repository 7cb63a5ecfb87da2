package mailin

import (
	"strings"
)

var (
	wroteRE       = mustCompile(`(?i)^(on\b.{0,300}\bwrote|le\b.{0,200}\ba écrit|am\b.{0,200}\bschrieb)\s*:?\s*$`)
	originalRE    = mustCompile(`(?i)^-{2,}\s*original message\s*-{2,}`)
	outlookSepRE  = mustCompile(`^_{10,}\s*$`)
	headerFromRE  = mustCompile(`(?i)^\*?from:\*?\s`)
	headerSentRE  = mustCompile(`(?i)^\*?(sent|date):\*?\s`)
	forwardMarkRE = mustCompile(`(?i)^-{2,}\s*forwarded message\s*-{2,}`)
)

// unquoted returns the new text of a reply: the text before the quoted
// message ("On … wrote:", "-----Original Message-----", an Outlook header
// block) without lines quoted with ">". Forwarded messages are kept: they
// are what the sender brings, not a quote of our own mail.
func unquoted(text string) string {
	lines := strings.Split(text, "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if forwardMarkRE.MatchString(l) {
			out = append(out, lines[i:]...)
			break
		}
		if wroteRE.MatchString(l) || originalRE.MatchString(l) {
			break
		}
		// "On Fri, 16 Oct 2026 at 08:30, Name <addr>\nwrote:" folded in two
		if i+1 < len(lines) && strings.HasPrefix(strings.ToLower(l), "on ") && wroteRE.MatchString(l+" "+strings.TrimSpace(lines[i+1])) {
			break
		}
		if outlookSepRE.MatchString(l) && i+1 < len(lines) && headerFromRE.MatchString(strings.TrimSpace(lines[i+1])) {
			break
		}
		if headerFromRE.MatchString(l) && len(out) > 0 {
			cut := false
			for j := i + 1; j < len(lines) && j <= i+4; j++ {
				if headerSentRE.MatchString(strings.TrimSpace(lines[j])) {
					cut = true
				}
			}
			if cut {
				break
			}
		}
		if strings.HasPrefix(l, ">") {
			continue
		}
		out = append(out, lines[i])
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
