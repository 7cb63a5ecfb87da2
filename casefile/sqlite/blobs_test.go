package sqlite_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csp/trigger/casefile"
)

// TestLargeMessageStoredInChunks: a message and an attachment larger than
// one chunk come back byte for byte in the export.
func TestLargeMessageStoredInChunks(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpenStore(t)
	video := make([]byte, 2_500_000)
	rand.Read(video)
	raw := append([]byte("From: resident@example.net\r\nSubject: videos\r\nMessage-ID: <big@example.net>\r\n\r\n"), bytes.Repeat([]byte("x"), 3_100_000)...)
	res, err := s.Ingest(ctx, casefile.Inbound{MessageID: "big@example.net", Raw: raw, From: "resident@example.net", Subject: "videos",
		Application: sampleApplication(),
		Attachments: []casefile.Attachment{{Filename: "noise.mp4", ContentType: "video/mp4", Data: video}}})
	if err != nil || res.Outcome != casefile.OutcomeCreated {
		t.Fatalf("ingest: %+v %v", res, err)
	}
	c, _ := s.Case(ctx, *res.Case)
	if len(c.Attachments) != 1 || c.Attachments[0].Size != int64(len(video)) {
		t.Fatalf("attachments %+v", c.Attachments)
	}
	dir := filepath.Join(t.TempDir(), "export")
	if _, err := s.Export(ctx, who("test"), c.Ref, dir); err != nil {
		t.Fatal(err)
	}
	var gotRaw, gotVideo []byte
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		switch {
		case strings.HasSuffix(p, ".eml"):
			gotRaw, _ = os.ReadFile(p)
		case strings.HasSuffix(p, "noise.mp4"):
			gotVideo, _ = os.ReadFile(p)
		}
		return nil
	})
	if !bytes.Equal(gotRaw, raw) || !bytes.Equal(gotVideo, video) {
		t.Errorf("export: raw %d bytes (want %d), video %d bytes (want %d), equal %v %v",
			len(gotRaw), len(raw), len(gotVideo), len(video), bytes.Equal(gotRaw, raw), bytes.Equal(gotVideo, video))
	}
}
