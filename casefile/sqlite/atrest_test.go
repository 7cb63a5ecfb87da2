package sqlite_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// TestPurgeLeavesNoCopyInTheFile: after retention removes a case's personal
// data, none of it is left anywhere in the database file or its write-ahead
// log — not in free pages, not in the log — while a case still held keeps
// its own (so the search does find what is there).
func TestPurgeLeavesNoCopyInTheFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "trigger.db")
	s, clk := MustOpenStoreAt(t, path)

	gone := sampleApplication()
	gone.Applicant = casefile.Person{Name: "Harriet Quennell", Email: "h.quennell@example.net", Phone: "07700 900777", Address: "4 Zephyr Close, Ashby", Postcode: "LE65 9ZQ"}
	gone.Description = "Motorbikes on the Zephyr Close green every night"
	kept := sampleApplication()
	kept.Applicant = casefile.Person{Name: "Bartholomew Kingsley", Email: "b.kingsley@example.net", Postcode: "LE67 3PN"}

	g := mustCreate(t, s, gone)
	mustCreate(t, s, kept)
	if _, err := s.Withdraw(ctx, who("U-COORD"), g.Ref, "the applicant moved away"); err != nil {
		t.Fatal(err)
	}
	clk.Add(7 * 366 * 24 * time.Hour)
	purged, err := s.PurgeExpired(ctx)
	if err != nil || len(purged) != 1 {
		t.Fatalf("purged %+v: %v", purged, err)
	}

	var file []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		file = append(file, b...)
	}
	for _, pd := range []string{"Harriet Quennell", "h.quennell@example.net", "07700 900777", "Zephyr Close", "LE65 9ZQ"} {
		if n := bytes.Count(file, []byte(pd)); n > 0 {
			t.Errorf("%q is still in the database file %d times after the purge", pd, n)
		}
	}
	if !bytes.Contains(file, []byte("Bartholomew Kingsley")) {
		t.Errorf("the case not due lost its data, or the search cannot see the file")
	}
}

// TestDatabaseIsPrivate: the database and its -wal and -shm files are the
// owner's only, and a database others can read is refused with the fix.
func TestDatabaseIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trigger.db")
	s, _ := MustOpenStoreAt(t, path)
	mustCreate(t, s, sampleApplication())
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %o, want 600", filepath.Base(p), st.Mode().Perm())
		}
	}
	s.Close()

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := sqlite.Open(path, nil)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") || !strings.Contains(err.Error(), path) {
		t.Fatalf("opening a world-readable database: %v", err)
	}
}
