package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// The progress bar of `trigger ingest` on a terminal says how far it is,
// how many messages it filed, at what rate, and how long the rest takes at
// that rate.
func TestProgressBarLine(t *testing.T) {
	p := &progressBar{w: &bytes.Buffer{}, total: 4000, done: 1000, n: 3000}
	got := p.line(2 * time.Second)
	for _, want := range []string{"[#######.......................]", " 25%", "3000 messages", "1500/s", "ETA 0:06"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress line %q lacks %q", got, want)
		}
	}
	p.done = 4000
	if got := p.line(8 * time.Second); strings.Contains(got, "ETA") || !strings.Contains(got, "100%") {
		t.Errorf("finished, the line is %q: want 100%% and no ETA", got)
	}
}
