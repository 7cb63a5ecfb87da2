package mailin

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// cp1252 maps the bytes 0x80–0x9F of windows-1252; the rest of the upper
// half is ISO-8859-1, whose code points equal the byte values.
var cp1252 = [32]rune{
	'€', '\uFFFD', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\uFFFD', 'Ž', '\uFFFD',
	'\uFFFD', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\uFFFD', 'ž', 'Ÿ',
}

// toUTF8 returns b as valid UTF-8 without failing: valid UTF-8 sequences are
// kept and every byte that is not part of one is read as windows-1252 (a
// superset of ISO-8859-1's printable range), which is what undeclared 8-bit
// mail nearly always is. ISO-2022-JP, which is 7-bit and so looks valid, is
// recognised by its escape sequences.
func toUTF8(b []byte) string {
	if isISO2022JP(b) {
		if r, err := charset.Reader("iso-2022-jp", bytes.NewReader(b)); err == nil {
			if out, err := io.ReadAll(r); err == nil && utf8.Valid(out) {
				return string(out)
			}
		}
	}
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			c := b[0]
			switch {
			case c >= 0x80 && c < 0xA0:
				sb.WriteRune(cp1252[c-0x80])
			default:
				sb.WriteRune(rune(c))
			}
			b = b[1:]
			continue
		}
		sb.Write(b[:size])
		b = b[size:]
	}
	return sb.String()
}

// toUTF8String is toUTF8 for a string that may hold raw 8-bit bytes (a
// header with no RFC 2047 encoding).
func toUTF8String(s string) string {
	if utf8.ValidString(s) && !strings.Contains(s, "\x1b") {
		return s
	}
	return toUTF8([]byte(s))
}

func isISO2022JP(b []byte) bool {
	return bytes.Contains(b, []byte("\x1b$B")) || bytes.Contains(b, []byte("\x1b$@")) || bytes.Contains(b, []byte("\x1b(J"))
}

// cleanText makes line ends \n and removes NUL and other control characters
// that have no place in text, so that what is stored is plain UTF-8.
func cleanText(s string) string {
	if !strings.ContainsAny(s, "\r\x00\x0b\x0c\x1b") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch r {
		case '\r':
			return '\n'
		case '\x0c':
			return '\n'
		case '\x00', '\x0b', '\x1b':
			return -1
		}
		return r
	}, s)
}

// readBufs are the buffers text parts are read through.
var readBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// maxTextHint bounds the room reserved for a text part before reading it.
const maxTextHint = 64 << 20

// readText reads a text part and returns it as cleanText(toUTF8(…)) would,
// without holding more than one copy of it: line ends become \n and NUL,
// VT and FF are dealt with as the bytes stream in, and only text that
// needs more (ESC, invalid UTF-8: rare in a large part) is copied again.
// hint is an upper bound of the part's size when one is known (the body of
// a single-part message cannot be longer than the message), else 0. On an
// error, what was read before it is returned with the error.
func readText(r io.Reader, hint int) (string, error) {
	var sb strings.Builder
	if hint > 0 {
		sb.Grow(min(hint, maxTextHint))
	}
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	buf := *bp
	pendingCR := false
	var rerr error
	for {
		n, err := r.Read(buf)
		chunk := buf[:n]
		if n > 0 && pendingCR {
			pendingCR = false
			sb.WriteByte('\n')
			if chunk[0] == '\n' {
				chunk = chunk[1:]
			}
		}
		for len(chunk) > 0 {
			i := bytes.IndexAny(chunk, "\r\x00\x0b\x0c")
			if i < 0 {
				sb.Write(chunk)
				break
			}
			sb.Write(chunk[:i])
			switch chunk[i] {
			case '\r':
				if i+1 == len(chunk) {
					pendingCR = true
				} else {
					sb.WriteByte('\n')
					if chunk[i+1] == '\n' {
						i++
					}
				}
			case '\x0c':
				sb.WriteByte('\n')
			}
			chunk = chunk[i+1:]
		}
		if err != nil {
			if err != io.EOF {
				rerr = err
			}
			break
		}
	}
	if pendingCR {
		sb.WriteByte('\n')
	}
	s := sb.String()
	if strings.IndexByte(s, '\x1b') >= 0 || !utf8.ValidString(s) {
		s = cleanText(toUTF8([]byte(s)))
	}
	return s, rerr
}
