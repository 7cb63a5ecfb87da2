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
	br := bufio.NewReaderSize(r, 64<<10)
	var cur bytes.Buffer
	started := false
	flush := func() error {
		b := cur.Bytes()
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
		return fn(msg)
	}
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// a long line: keep reading it
			cur.Write(line)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				cur.Write(line)
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
				cur.Write(line[1:])
			default:
				cur.Write(line)
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
