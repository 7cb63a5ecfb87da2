package sqlite_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// TestExport: a subject access export holds every attachment byte for
// byte under a safe name, every email's raw bytes, every letter version,
// the replies, the meeting and the chronology, with index.json giving each
// file's sha256.
func TestExport(t *testing.T) {
	ctx := context.Background()
	s, clk := MustOpenStore(t)
	rc := buildReportCases(t, s, clk)
	clk.Set(london("2027-02-01 10:00"))

	dir := filepath.Join(t.TempDir(), "sar")
	idx, err := s.Export(ctx, who("Sam Patel"), rc.A, dir)
	if err != nil {
		t.Fatal(err)
	}
	var onDisk sqlite.ExportIndex
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil || json.Unmarshal(b, &onDisk) != nil || len(onDisk.Files) != len(idx.Files) {
		t.Fatalf("index.json: %v\n%s", err, b)
	}
	files := map[string][]byte{}
	for _, f := range onDisk.Files {
		if strings.Contains(f.Path, "..") || filepath.IsAbs(f.Path) {
			t.Errorf("unsafe path %q", f.Path)
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(data)) != f.Size {
			t.Errorf("%s: sha256 or size does not match index.json", f.Path)
		}
		files[f.Path] = data
	}
	for path, want := range map[string][]byte{
		"attachments/01-01-Lucy_Fielding_diary.pdf": reportAttachment,
		"attachments/01-02-photo_1.jpg":             {0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F', 0},
	} {
		if got, ok := files[path]; !ok || !bytes.Equal(got, want) {
			t.Errorf("%s: %q (present %v)", path, got, ok)
		}
	}
	eml := files["messages/01-in-application.eml"]
	if !bytes.HasPrefix(eml, []byte("From: Lucy Fielding <lucy.fielding@example.net>\r\n")) {
		t.Errorf("the application email: %q", eml)
	}
	for _, want := range []string{
		"letters/01-met-v1.txt", "letters/02-outcome-v1.txt", "letters/02-outcome-v1.html", "letters/03-further_review-v1.txt",
		"emails/01-update.txt", "emails/02-consultation.txt", "emails/02-consultation.html",
		"case.json", "application.md", "messages.md", "agency-replies.md", "meeting.md", "further-reviews.md",
		"chronology.md", "chronology.json", "README.md",
	} {
		if _, ok := files[want]; !ok {
			t.Errorf("the export lacks %s", want)
		}
	}
	for file, want := range map[string]string{
		"application.md":                   "Lucy Fielding",
		"agency-replies.md":                "Visited Lucy Fielding at home",
		"meeting.md":                       "Gate the alleyway behind 27 Mill Street",
		"further-reviews.md":               "The patrols missed the times Ms Fielding reported.",
		"chronology.md":                    "threshold.decided",
		"letters/01-met-v1.txt":            "How involved would you like to be?",
		"letters/02-outcome-v1.txt":        "Dear Lucy Fielding",
		"letters/02-outcome-v1.html":       "<html",
		"emails/02-consultation.txt":       "Gate the alleyway behind 27 Mill Street",
		"README.md":                        "attachments/01-01-Lucy_Fielding_diary.pdf",
		"letters/03-further_review-v1.txt": "upheld",
	} {
		if !strings.Contains(string(files[file]), want) {
			t.Errorf("%s lacks %q", file, want)
		}
	}
	// The export itself is in the audit trail.
	evs, _ := s.Events(ctx, rc.A)
	if last := evs[len(evs)-1]; last.Kind != "case.exported" || last.Actor != "Sam Patel" {
		t.Errorf("last event %+v", last)
	}
	// Never into a directory with other files in it.
	if _, err := s.Export(ctx, who("Sam Patel"), rc.A, dir); casefile.ErrorCode(err) != casefile.EINVALID {
		t.Errorf("export into a full directory: %v", err)
	}
	if _, err := s.Export(ctx, who("Sam Patel"), "CT-2026-0999", filepath.Join(t.TempDir(), "x")); casefile.ErrorCode(err) != casefile.ENOTFOUND {
		t.Errorf("unknown case: %v", err)
	}
}

func TestSafeFilename(t *testing.T) {
	for in, want := range map[string]string{
		"../../etc/passwd":                "passwd",
		`C:\Users\lucy\My diary.docx`:     "My_diary.docx",
		".hidden":                         "hidden",
		"":                                "file",
		"..":                              "file",
		"a\x00b\nc.txt":                   "a_b_c.txt",
		"Привет мир.pdf":                  "Привет_мир.pdf",
		strings.Repeat("x", 300) + ".pdf": strings.Repeat("x", 96) + ".pdf",
	} {
		if got := sqlite.SafeFilename(in); got != want {
			t.Errorf("SafeFilename(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestExportAllOrNothing: an export that fails leaves nothing behind — no
// folder, no partial files beside it — and an existing empty folder is
// used, a non-empty one refused.
func TestExportAllOrNothing(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpenStore(t)
	c := mustCreate(t, s, sampleApplication())
	parent := t.TempDir()

	dir := filepath.Join(parent, "sar")
	if _, err := s.Export(ctx, who("Sam Patel"), "CT-1999-0001", dir); casefile.ErrorCode(err) != casefile.ENOTFOUND {
		t.Fatalf("export of an unknown case: %v", err)
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Fatalf("a failed export left %v behind", left)
	}

	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Export(ctx, who("Sam Patel"), c.Ref, dir); err != nil {
		t.Fatalf("export into an empty folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		t.Fatalf("no index.json: %v", err)
	}
	if _, err := s.Export(ctx, who("Sam Patel"), c.Ref, dir); casefile.ErrorCode(err) != casefile.EINVALID {
		t.Fatalf("export into a non-empty folder: %v", err)
	}
	if left, _ := os.ReadDir(parent); len(left) != 1 {
		t.Fatalf("the parent holds %v, want only the export", left)
	}
	if _, err := s.Export(ctx, casefile.Actor{ID: "U-POLICE", Roles: []casefile.Role{casefile.RoleOfficer}}, c.Ref, filepath.Join(parent, "x")); casefile.ErrorCode(err) != casefile.EFORBIDDEN {
		t.Fatalf("export by an agency officer: %v", err)
	}
}
