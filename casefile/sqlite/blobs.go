package sqlite

import (
	"context"
	"fmt"
)

// chunkSize is the largest piece of a raw message or an attachment written
// in one statement. SQLite copies a bound value, and copies it again into
// the record it builds: in pieces, a 25 MB email costs a few megabytes of
// SQLite's memory rather than twice its size.
const chunkSize = 1 << 20

// chunked reports whether data is stored in chunks rather than inline.
func chunked(data []byte) bool { return len(data) > chunkSize }

// inline is what goes in the inline column: the data itself, or NULL when
// it is stored in chunks.
func inline(data []byte) any {
	if chunked(data) {
		return nil
	}
	return data
}

// chunkCount is how many chunks data takes (0 when inline).
func chunkCount(data []byte) int {
	if !chunked(data) {
		return 0
	}
	return (len(data) + chunkSize - 1) / chunkSize
}

// writeChunks stores data in chunks under owner, when it is large.
func (tx *Tx) writeChunks(ctx context.Context, owner string, data []byte) error {
	if !chunked(data) {
		return nil
	}
	for seq := 0; len(data) > 0; seq++ {
		n := min(chunkSize, len(data))
		if _, err := tx.ExecContext(ctx, `INSERT INTO chunks (owner, seq, data) VALUES (?, ?, ?)`, owner, seq, data[:n]); err != nil {
			return fmt.Errorf("store %s chunk %d: %w", owner, seq, err)
		}
		data = data[n:]
	}
	return nil
}

func messageOwner(id int64) string    { return fmt.Sprintf("m:%d", id) }
func attachmentOwner(id int64) string { return fmt.Sprintf("a:%d", id) }
