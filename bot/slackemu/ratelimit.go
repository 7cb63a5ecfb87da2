package slackemu

import (
	"time"
)

// Rate is a rate limit: at most Limit calls in any window Per long
// (emulated time). The zero Rate is unlimited.
type Rate struct {
	Limit int
	Per   time.Duration
}

// Slack's rate limit tiers.
var (
	Tier1 = Rate{Limit: 1, Per: time.Minute}
	Tier2 = Rate{Limit: 20, Per: time.Minute}
	Tier3 = Rate{Limit: 50, Per: time.Minute}
	Tier4 = Rate{Limit: 100, Per: time.Minute}
	// PostMessageRate is chat.postMessage's limit per channel: about one a
	// second, with short bursts allowed.
	PostMessageRate = Rate{Limit: 10, Per: 10 * time.Second}
)

// limiter keeps a sliding window of call times per key.
type limiter struct {
	windows map[string][]time.Time
}

// allow records a call at now under key and reports how long to wait when
// it goes over r.
func (l *limiter) allow(key string, r Rate, now time.Time) (ok bool, wait time.Duration) {
	if r.Limit <= 0 {
		return true, 0
	}
	calls := l.windows[key]
	i := 0
	for i < len(calls) && !calls[i].After(now.Add(-r.Per)) {
		i++
	}
	calls = calls[i:]
	if len(calls) >= r.Limit {
		l.windows[key] = calls
		return false, calls[0].Add(r.Per).Sub(now)
	}
	l.windows[key] = append(calls, now)
	return true, 0
}

// rateFor is the limit for a method, after the options' overrides.
func (e *Emulator) rateFor(method string, def Rate) Rate {
	if e.opts.NoRateLimits {
		return Rate{}
	}
	if r, ok := e.opts.Rates[method]; ok {
		return r
	}
	return def
}
