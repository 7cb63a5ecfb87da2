package bot

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Slack's limits, from the Block Kit reference, in characters (Unicode code
// points, as Slack counts them), and what the bot keeps to. The emulator
// (bot/slackemu) refuses what breaks them, as Slack does.
const (
	maxText          = 3000  // a section's text, any text object
	maxField         = 2000  // a section field
	maxMessageBlocks = 50    // blocks in a message
	maxViewBlocks    = 100   // blocks in a modal
	maxMessageText   = 12000 // the text of all a message's blocks (msg_blocks_too_long)
	maxOptionText    = 75    // an option's text
	maxHeader        = 150   // a header's text
	maxCheckboxes    = 10    // options of checkboxes and radio buttons
	maxSelectOptions = 100   // options of a static select, or option groups
	maxInput         = 3000  // a plain_text_input's max_length
	maxUpdateText    = 4000  // chat.update's text argument

	// sectionChars is what the bot puts in one section: under the limit,
	// so that a "continued" note or a mention added to a piece still fits.
	sectionChars = 2800
)

// chars counts characters as Slack does.
func chars(s string) int { return utf8.RuneCountInString(s) }

// esc makes text someone outside the partnership wrote (the resident's
// email, a file's name) safe in mrkdwn: Slack reads <…> as a mention, a
// link or a command such as <!channel>, and & as the start of an entity;
// escaped, they show as the characters typed.
func esc(s string) string { return escaper.Replace(s) }

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// shorten cuts s to at most n characters, ending with "…" when cut, at a
// word boundary when there is one in the last part.
func shorten(s string, n int) string {
	if chars(s) <= n {
		return s
	}
	end := runeOffset(s, n-1)
	cut := s[:end]
	if i := strings.LastIndexFunc(cut, unicode.IsSpace); i > 0 && chars(cut[:i]) > n*2/3 {
		cut = cut[:i]
	}
	return strings.TrimRightFunc(cut, unicode.IsSpace) + "…"
}

// shortenMrkdwn is shorten for escaped mrkdwn: it never cuts inside an
// entity (&amp;) or a mention (<@U…>).
func shortenMrkdwn(s string, n int) string {
	if chars(s) <= n {
		return s
	}
	end := safeCut(s, runeOffset(s, n-1))
	cut := s[:end]
	if i := strings.LastIndexFunc(cut, unicode.IsSpace); i > 0 && chars(cut[:i]) > n*2/3 {
		cut = cut[:i]
	}
	return strings.TrimRightFunc(cut, unicode.IsSpace) + "…"
}

// runeOffset is the byte offset of the n-th character of s (len(s) when s
// is shorter).
func runeOffset(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}

// safeCut moves a cut at byte offset i back so that it is not inside an
// entity ("&amp;") or angle brackets ("<@U…>", "<https://…|…>").
func safeCut(s string, i int) int {
	if j := strings.LastIndexAny(s[:i], "&<"); j >= 0 {
		closer := ";"
		if s[j] == '<' {
			closer = ">"
		}
		if !strings.Contains(s[j:i], closer) && j > 0 {
			return j
		}
	}
	return i
}

// splitText splits text into pieces of at most n characters, for showing
// it over several sections: at paragraph breaks where a piece can end
// there, else at line breaks, else between words, and as a last resort
// between characters (never inside an entity or a mention). The whitespace
// at a cut is dropped. For the exact split a letter's editing needs, see
// splitLetter.
func splitText(text string, n int) []string {
	parts, _ := cutText(strings.TrimSpace(text), n, true)
	return parts
}

// splitLetter splits a letter for the edit form's inputs: parts of at most
// n characters, cut where splitText would cut, so that no part starts or
// ends with whitespace (whatever Slack does with it in an input, nothing is
// lost). The whitespace at each cut is kept in seps, with the letter's
// leading whitespace first and its trailing whitespace last, so that
// joinLetter(parts, seps) is the letter, byte for byte. A text of only
// whitespace has no parts: its one sep is the text.
func splitLetter(text string, n int) (parts, seps []string) {
	body := strings.TrimLeftFunc(text, unicode.IsSpace)
	lead := text[:len(text)-len(body)]
	body = strings.TrimRightFunc(body, unicode.IsSpace)
	trail := text[len(lead)+len(body):]
	if body == "" {
		return nil, []string{text}
	}
	parts, inner := cutText(body, n, false)
	seps = append(append([]string{lead}, inner...), trail)
	return parts, seps
}

// joinLetter puts splitLetter's parts back together with its seps.
func joinLetter(parts, seps []string) string {
	var b strings.Builder
	for i, p := range parts {
		b.WriteString(seps[i])
		b.WriteString(p)
	}
	b.WriteString(seps[len(seps)-1])
	return b.String()
}

// cutText cuts body (no leading or trailing whitespace) into pieces of at
// most n characters and returns the whitespace between them. mrkdwn keeps
// a last-resort cut out of entities and mentions.
func cutText(body string, n int, mrkdwn bool) (parts, seps []string) {
	n = max(n, 1)
	rest := body
	for rest != "" {
		window := runeOffset(rest, n) // the piece ends at or before here
		if window == len(rest) {
			parts = append(parts, rest)
			break
		}
		start, end := bestCut(rest, window)
		if start < 0 {
			start = window
			if mrkdwn {
				start = safeCut(rest, window)
			}
			end = start
		}
		parts, seps = append(parts, rest[:start]), append(seps, rest[start:end])
		rest = rest[end:]
	}
	return parts, seps
}

// bestCut finds the whitespace run to cut rest at: one starting after the
// first character and at or before window, the last with a blank line in
// it, else the last with a line break, else the last. It returns the run's
// byte offsets, or -1 when there is none.
func bestCut(rest string, window int) (start, end int) {
	best := [3][2]int{{-1, -1}, {-1, -1}, {-1, -1}} // paragraph, line, word
	for i := 0; i < len(rest) && i <= window; {
		r, w := utf8.DecodeRuneInString(rest[i:])
		if !unicode.IsSpace(r) || i == 0 {
			i += w
			continue
		}
		j, lines := i, 0
		for j < len(rest) {
			r, w := utf8.DecodeRuneInString(rest[j:])
			if !unicode.IsSpace(r) {
				break
			}
			if r == '\n' {
				lines++
			}
			j += w
		}
		kind := 2
		switch {
		case lines >= 2:
			kind = 0
		case lines == 1:
			kind = 1
		}
		best[kind] = [2]int{i, j}
		i = j
	}
	for _, b := range best {
		if b[0] > 0 {
			return b[0], b[1]
		}
	}
	return -1, -1
}
