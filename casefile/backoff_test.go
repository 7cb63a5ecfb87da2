package casefile_test

import (
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
)

// TestBackoff: the wait doubles from its floor to its ceiling, never above
// it, with jitter no lower than half; a job's tries wait one second at
// first and at most MaxBackoff.
func TestBackoff(t *testing.T) {
	for n := 1; n <= 40; n++ {
		want := min(time.Second<<min(n-1, 20), 5*time.Minute)
		for range 20 {
			if d := casefile.BackoffBetween(n, time.Second, 5*time.Minute); d < want/2 || d > want {
				t.Fatalf("attempt %d: %v, want between %v and %v", n, d, want/2, want)
			}
		}
		if d := casefile.Backoff(n); d > casefile.MaxBackoff || d < min(time.Second<<min(n-1, 20), casefile.MaxBackoff)/2 {
			t.Fatalf("job attempt %d: %v", n, d)
		}
	}
	if d := casefile.BackoffBetween(1, 0, time.Minute); d < 30*time.Second || d > time.Minute {
		t.Errorf("no floor: %v, want the ceiling's", d)
	}
}
