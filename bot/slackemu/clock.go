package slackemu

import (
	"context"
	"math"
	"sync"
	"time"
)

// clock is the emulator's time: real time since the start, multiplied by
// scale, plus whatever Advance added.
type clock struct {
	mu        sync.Mutex
	realStart time.Time
	emuStart  time.Time
	scale     float64
	offset    time.Duration
	advanced  chan struct{} // closed and replaced on every Advance
}

func newClock(start time.Time, scale float64) *clock {
	if scale <= 0 {
		scale = 1
	}
	if start.IsZero() {
		start = time.Now()
	}
	return &clock{realStart: time.Now(), emuStart: start, scale: scale, advanced: make(chan struct{})}
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	elapsed := time.Duration(float64(time.Since(c.realStart)) * c.scale)
	return c.emuStart.Add(elapsed + c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
	close(c.advanced)
	c.advanced = make(chan struct{})
}

// real converts an emulated duration to the real time it takes to pass.
func (c *clock) real(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.scale)
}

// retryAfterSeconds is the Retry-After header value for an emulated wait:
// real seconds, rounded up, at least 1.
func (c *clock) retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(c.real(d).Seconds())))
}

// sleepUntil waits until the emulated time is until, or ctx ends.
func (c *clock) sleepUntil(ctx context.Context, until time.Time) error {
	for {
		left := until.Sub(c.now())
		if left <= 0 {
			return nil
		}
		c.mu.Lock()
		advanced := c.advanced
		c.mu.Unlock()
		t := time.NewTimer(c.real(left))
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
