package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// hugeMessage is a reader of one email of size bytes (a header, then lines
// of text), made as it is read, counting what was read.
type hugeMessage struct {
	header []byte
	size   int64
	read   int64
}

func newHugeMessage(envelope bool, size int64) *hugeMessage {
	h := "From: Rita Gomez <rita.gomez@example.net>\r\nTo: communitytrigger@example-council.gov.uk\r\nSubject: my diary\r\n" +
		"Date: Mon, 09 Nov 2026 13:00:00 +0000\r\nMessage-ID: <huge-1@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
	if envelope {
		h = "From rita.gomez@example.net Mon Nov  9 13:00:00 2026\n" + h
	}
	return &hugeMessage{header: []byte(h), size: size}
}

var diaryLine = []byte("Another night of noise from number 6, music until three in the morning.\r\n")

func (m *hugeMessage) Read(p []byte) (int, error) {
	if m.read >= m.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && m.read < m.size {
		var src []byte
		if m.read < int64(len(m.header)) {
			src = m.header[m.read:]
		} else {
			src = diaryLine[(m.read-int64(len(m.header)))%int64(len(diaryLine)):]
		}
		k := copy(p[n:], src)
		k = int(min(int64(k), m.size-m.read))
		n += k
		m.read += int64(k)
	}
	return n, nil
}

// TestIngestStdinOversize: a message over imap.max_message_size piped to
// `trigger ingest` is read no further than the limit and one byte (the
// rest of 300 MB is never read), and is quarantined with its header only.
// An mbox on stdin (postfix's pipe flag F adds the envelope line) keeps at
// most the limit and one byte of it too.
func TestIngestStdinOversize(t *testing.T) {
	const limit = 1 << 20
	for _, envelope := range []bool{false, true} {
		name := map[bool]string{false: "Plain", true: "EnvelopeLine"}[envelope]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfgPath := filepath.Join(dir, "trigger.toml")
			if err := os.WriteFile(cfgPath, []byte("[imap]\nmax_message_size = 1048576\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			msg := newHugeMessage(envelope, 300<<20)
			var out, errb bytes.Buffer
			m := &Main{Stdin: msg, Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
			code := m.Run(context.Background(), []string{"--db", filepath.Join(dir, "trigger.db"), "--config", cfgPath, "ingest", "--json"})
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			var res casefile.IngestResult
			if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.Outcome != casefile.OutcomeQuarantined || !strings.Contains(res.Reason, "over the limit") {
				t.Fatalf("%s %v, want quarantined as over the limit", out.String(), err)
			}
			if !envelope && msg.read > limit+1+64<<10 {
				t.Errorf("read %d bytes of stdin, want at most the limit and one byte (and a read buffer)", msg.read)
			}
			s, err := sqlite.Open(filepath.Join(dir, "trigger.db"), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			q, _ := s.QuarantineList(context.Background(), false)
			if len(q) != 1 || q[0].MessageKey != "huge-1@example.net" {
				t.Fatalf("quarantine %+v", q)
			}
			item, _ := s.QuarantineItem(context.Background(), q[0].ID)
			if !bytes.HasSuffix(item.Raw, []byte("\r\n\r\n")) || !bytes.Contains(item.Raw, []byte("Subject: my diary")) || len(item.Raw) > 1024 {
				t.Errorf("kept %d bytes %q, want the header only", len(item.Raw), item.Raw)
			}
		})
	}
}

// BenchmarkIngestStdin300MB pipes a 300 MB email to `trigger ingest`: it
// reads the 25 MB limit and one byte, and quarantines the header. B/op is
// what that costs; scripts/bench-stdin.sh measures the peak RSS.
func BenchmarkIngestStdin300MB(b *testing.B) {
	dir := b.TempDir()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var out, errb bytes.Buffer
		m := &Main{Stdin: newHugeMessage(false, 300<<20), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
		if code := m.Run(context.Background(), []string{"--db", filepath.Join(dir, "trigger.db"), "ingest", "--json"}); code != 0 || !strings.Contains(out.String(), `"quarantined"`) {
			b.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
		}
	}
}
