package bot

import (
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
)

// TestNewDayMarksTabs: every published Home tab is marked for a refresh
// once when the date turns in London, and not at the other looks that day.
func TestNewDayMarksTabs(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, casefile.London)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	b := &Bot{homes: map[string]*homeUser{"U1": {known: true}, "U2": {}}}
	dirty := func() (n int) {
		for _, hu := range b.homes {
			if hu.dirty {
				n++
			}
			hu.dirty = false
		}
		return n
	}
	for _, step := range []struct {
		at   string
		want int
	}{
		{"2026-10-12 23:58", 0}, // the first look: nothing to compare with
		{"2026-10-12 23:59", 0},
		{"2026-10-13 00:00", 1}, // U1's tab; U2's is being published for the first time
		{"2026-10-13 00:01", 0},
		{"2026-10-13 12:00", 0},
		{"2026-10-14 00:30", 1},
	} {
		now := at(step.at)
		b.newDay(now)
		hu := b.homes["U1"]
		if hu.dirty && now.Before(hu.changed.Add(defaultHomeDebounce)) {
			t.Errorf("%s: the tab waits for a quiet spell", step.at)
		}
		if n := dirty(); n != step.want {
			t.Errorf("%s: %d tabs marked, want %d", step.at, n, step.want)
		}
	}
}
