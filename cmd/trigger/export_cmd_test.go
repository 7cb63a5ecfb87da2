package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCaseExportCommand: `trigger case export REF --out DIR` writes each
// attachment byte for byte under a safe name, the email's raw bytes, and
// index.json with every file's sha256.
func TestCaseExportCommand(t *testing.T) {
	dir := t.TempDir()
	sd := seedReportDB(t, dir)
	out := filepath.Join(t.TempDir(), "bundle")
	code, stdout, stderr := run(t, dir, "", nil, "case", "export", sd.X, "--out", out, "--by", "Sam Patel")
	if code != 0 || !strings.Contains(stdout, sd.X+" exported to "+out) {
		t.Fatalf("export: %d %q %q", code, stdout, stderr)
	}
	var idx struct {
		Case  string `json:"case"`
		Files []struct {
			Path   string `json:"path"`
			Size   int64  `json:"size"`
			SHA256 string `json:"sha256"`
		} `json:"files"`
	}
	b, err := os.ReadFile(filepath.Join(out, "index.json"))
	if err != nil || json.Unmarshal(b, &idx) != nil || idx.Case != sd.X {
		t.Fatalf("index.json: %v\n%s", err, b)
	}
	byHash := map[string]string{}
	for _, f := range idx.Files {
		data, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(data)) != f.Size {
			t.Errorf("%s does not match index.json", f.Path)
		}
		byHash[f.SHA256] = f.Path
	}
	for name, data := range seedAttachments {
		sum := sha256.Sum256(data)
		path, ok := byHash[hex.EncodeToString(sum[:])]
		if !ok {
			t.Errorf("attachment %q is not in the export byte for byte", name)
			continue
		}
		if !strings.HasPrefix(path, "attachments/") || strings.Contains(path, "..") || strings.ContainsAny(path, " '") {
			t.Errorf("attachment %q exported as %q", name, path)
		}
	}
	eml, err := os.ReadFile(filepath.Join(out, "messages", "01-in-application.eml"))
	if err != nil || !bytes.Contains(eml, []byte("Phone: 07700 900123\r\n")) {
		t.Errorf("the application's .eml: %v %q", err, eml)
	}
	for _, f := range []string{"README.md", "case.json", "application.md", "messages.md", "chronology.md", "further-reviews.md", "letters/01-not_met-v1.txt"} {
		if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(f))); err != nil {
			t.Errorf("the bundle lacks %s", f)
		}
	}
	code, events, _ := run(t, dir, "", nil, "case", "events", sd.X)
	if code != 0 || !strings.Contains(events, "case.exported") || !strings.Contains(events, "Sam Patel") {
		t.Errorf("the export is not in the audit trail:\n%s", events)
	}

	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"case", "export", sd.X, "--out", out}, 2, "is not empty"},
		{[]string{"case", "export", sd.X}, 2, "--out DIR is required"},
		{[]string{"case", "export", "CT-2019-0099", "--out", filepath.Join(t.TempDir(), "x")}, 1, "no case CT-2019-0099"},
	} {
		if code, _, stderr := run(t, dir, "", nil, tc.args...); code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: %d %q", tc.args, code, stderr)
		}
	}
}
