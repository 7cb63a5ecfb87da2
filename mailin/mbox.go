package mailin

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// SplitMbox reads an mbox file (mboxo or mboxrd) and calls fn with each
// message's raw bytes: messages begin at "From " lines, the blank line
// before the next one is the separator, and a quoted ">From " (">>From " in
// mboxrd) loses one ">". Text before the first "From " line is a message
// too, so that a single message not in mbox form is read as one. An error
// from fn stops the split and is returned.
func SplitMbox(r io.Reader, fn func(raw []byte) error) error {
	return SplitMboxLimited(r, 0, func(raw []byte, _ bool) error { return fn(raw) })
}

// SplitMboxLimited is SplitMbox keeping at most max+1 bytes of a message
// (max 0: no limit): over reports a message that had more, and the bytes
// past max+1 are skipped as they are read, so that a huge message costs no
// more memory than the limit.
func SplitMboxLimited(r io.Reader, max int64, fn func(raw []byte, over bool) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var cur bytes.Buffer
	started, over := false, false
	write := func(b []byte) {
		if max > 0 && int64(cur.Len()+len(b)) > max+1 {
			b, over = b[:max+1-int64(cur.Len())], true
		}
		cur.Write(b)
	}
	flush := func() error {
		b := cur.Bytes()
		wasOver := over
		over = false
		// the blank line that separates messages belongs to no message
		switch {
		case bytes.HasSuffix(b, []byte("\r\n\r\n")):
			b = b[:len(b)-2]
		case bytes.HasSuffix(b, []byte("\n\n")):
			b = b[:len(b)-1]
		}
		if len(bytes.TrimSpace(b)) == 0 {
			cur.Reset()
			return nil
		}
		msg := make([]byte, len(b))
		copy(msg, b)
		cur.Reset()
		return fn(msg, wasOver)
	}
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// a long line: keep reading it
			write(line)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				write(line)
			}
			line = nil
		}
		if len(line) > 0 {
			switch {
			case bytes.HasPrefix(line, []byte("From ")):
				if started || cur.Len() > 0 {
					if ferr := flush(); ferr != nil {
						return ferr
					}
				}
				started = true
			case isQuotedFrom(line):
				write(line[1:])
			default:
				write(line)
			}
		}
		if err == io.EOF {
			return flush()
		}
		if err != nil {
			return fmt.Errorf("mbox: %w", err)
		}
	}
}

// isQuotedFrom reports whether line is ">From ", ">>From " …
func isQuotedFrom(line []byte) bool {
	i := 0
	for i < len(line) && line[i] == '>' {
		i++
	}
	return i > 0 && bytes.HasPrefix(line[i:], []byte("From "))
}
