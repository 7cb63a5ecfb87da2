// Package emuclock is the time of the emulators (Slack, Graph): real time
// since the start multiplied by a scale, plus whatever Advance added, so a
// test can make an emulated minute pass in a real second, or jump ahead.
package emuclock

import (
	"context"
	"math"
	"sync"
	"time"
)

// Clock is an emulator's time. Its methods are safe for concurrent use.
type Clock struct {
	mu        sync.Mutex
	realStart time.Time
	emuStart  time.Time
	scale     float64
	offset    time.Duration
	advanced  chan struct{} // closed and replaced on every Advance
}

// New starts a clock at start (now, if zero) running scale times faster
// than real time (1, if not positive).
func New(start time.Time, scale float64) *Clock {
	if scale <= 0 {
		scale = 1
	}
	if start.IsZero() {
		start = time.Now()
	}
	return &Clock{realStart: time.Now(), emuStart: start, scale: scale, advanced: make(chan struct{})}
}

// Now is the emulated time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	elapsed := time.Duration(float64(time.Since(c.realStart)) * c.scale)
	return c.emuStart.Add(elapsed + c.offset)
}

// Advance moves the emulated time d ahead at once, waking SleepUntil.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
	close(c.advanced)
	c.advanced = make(chan struct{})
}

// Real converts an emulated duration to the real time it takes to pass.
func (c *Clock) Real(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.scale)
}

// RetryAfterSeconds is the Retry-After header value for an emulated wait:
// real seconds, rounded up, at least 1.
func (c *Clock) RetryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(c.Real(d).Seconds())))
}

// SleepUntil waits until the emulated time is until, or ctx ends.
func (c *Clock) SleepUntil(ctx context.Context, until time.Time) error {
	for {
		left := until.Sub(c.Now())
		if left <= 0 {
			return nil
		}
		c.mu.Lock()
		advanced := c.advanced
		c.mu.Unlock()
		t := time.NewTimer(c.Real(left))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-advanced:
			t.Stop()
		case <-t.C:
		}
	}
}
