package graphemu

import (
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
}

func newClock(start time.Time, scale float64) *clock {
	if scale <= 0 {
		scale = 1
	}
	if start.IsZero() {
		start = time.Now()
	}
	return &clock{realStart: time.Now(), emuStart: start.UTC(), scale: scale}
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
}

// retryAfterSeconds is the Retry-After header value for an emulated wait:
// real seconds, rounded up, at least 1.
func (c *clock) retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil((time.Duration(float64(d) / c.scale)).Seconds())))
}
