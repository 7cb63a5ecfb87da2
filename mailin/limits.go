package mailin

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits bound what one message may use while it is read. A message over a
// limit is not read further: intake quarantines it with a LimitError that
// names the limit. Zero fields take the defaults.
type Limits struct {
	MaxSize        int64 // bytes of the raw message (default 25 MB)
	MaxParts       int   // MIME entities at every level, containers included (default 100)
	MaxDepth       int   // nesting of multiparts and attached messages (default 10)
	MaxHeaderBytes int   // bytes of one header block (default 128 KB)
}

// Default limits.
const (
	DefaultMaxSize        = 25 << 20
	DefaultMaxParts       = 100
	DefaultMaxDepth       = 10
	DefaultMaxHeaderBytes = 128 << 10
)

func (l Limits) withDefaults() Limits {
	if l.MaxSize <= 0 {
		l.MaxSize = DefaultMaxSize
	}
	if l.MaxParts <= 0 {
		l.MaxParts = DefaultMaxParts
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return l
}

// LimitError says which limit a message exceeded.
type LimitError struct {
	Limit string // "size", "parts", "depth" or "header"
	Max   int64
	Got   int64 // what was seen when reading stopped (at least Max+1)
}

func (e *LimitError) Error() string {
	switch e.Limit {
	case "size":
		return fmt.Sprintf("message too large: %d bytes, the limit is %d", e.Got, e.Max)
	case "parts":
		return fmt.Sprintf("too many MIME parts: more than %d", e.Max)
	case "depth":
		return fmt.Sprintf("MIME parts nested too deeply: more than %d levels", e.Max)
	case "header":
		return fmt.Sprintf("header too large: more than %d bytes", e.Max)
	}
	return fmt.Sprintf("limit %s exceeded: %d > %d", e.Limit, e.Got, e.Max)
}

// Extraction reads a capped prefix of a message, so that a huge or hostile
// message costs what an ordinary one does: the application, the form
// fields, a bounce's words and a further-review request are read from the
// first MaxExtract bytes of the text, and an HTML-only message is made
// text from the first MaxHTMLRender bytes of its HTML. The text and HTML
// themselves are returned whole, and the raw message is stored whole by
// the caller.
//
// 64 KB is some 10,000 words: longer than any application or diary of
// incidents seen, and what extraction reads in a few tenths of a second
// even when every sentence holds dates, references and agencies (its
// regular expressions cost microseconds a byte), so a 25 MB free-text
// email parses in about a second with GOMEMLIMIT=64MiB on a busy 2-core
// machine (BenchmarkParse25MBFreeText).
const (
	MaxExtract    = 64 << 10
	MaxHTMLRender = 1 << 20
)

// extractPrefix returns the first MaxExtract bytes of s, cut at the end of
// a line when there is one in the last 4 KB, else at a character boundary.
func extractPrefix(s string) string { return prefix(s, MaxExtract) }

func prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	lo := max(0, n-4096)
	if i := strings.LastIndexByte(s[lo:n], '\n'); i >= 0 {
		return s[:lo+i+1]
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
