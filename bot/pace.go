package bot

import (
	"context"
	"sync"
	"time"
)

// pacer pauses a Slack method for everyone after a 429, until the wait
// Slack named is over, so that one rate limit does not become many.
type pacer struct {
	mu    sync.Mutex
	until map[string]time.Time
}

func (p *pacer) block(method string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.until == nil {
		p.until = map[string]time.Time{}
	}
	if t := time.Now().Add(d); t.After(p.until[method]) {
		p.until[method] = t
	}
}

func (p *pacer) wait(ctx context.Context, method string) error {
	p.mu.Lock()
	t := p.until[method]
	p.mu.Unlock()
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
