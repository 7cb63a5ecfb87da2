package graphemu

import (
	"time"
)

// Fault makes the next Count requests (of operation Op, or of any when Op
// is empty) that pass authentication misbehave:
//
//   - Delay: answer only after this much real time;
//   - Status: answer with this status instead: 503 (serviceNotAvailable,
//     with Retry-After when RetryAfter is set), 504, 500 or 502.
//
// With only Delay set the request then proceeds normally.
type Fault struct {
	Op         string
	Count      int // 0 means 1
	Delay      time.Duration
	Status     int
	RetryAfter time.Duration // emulated time, for Status 503
}

type faultState struct {
	Fault
	left int
}

// InjectFault arms a fault; faults are used in the order they were armed.
func (e *Emulator) InjectFault(f Fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, &faultState{Fault: f, left: max(1, f.Count)})
}

// Throttle makes the next n requests that pass authentication get 429
// ApplicationThrottled with Retry-After: wait (emulated time). Each refusal
// starts a throttling window: requests from the same app to the same
// mailbox before it ends are refused too, as Graph refuses a client that
// does not wait.
func (e *Emulator) Throttle(n int, wait time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.throttleN, e.throttleD = n, wait
}

// PeakConcurrency is the most requests the app had in flight at once
// against the mailbox.
func (e *Emulator) PeakConcurrency(clientID, mailbox string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	mb := e.mustMailbox(mailbox)
	return e.peak[clientID+"|"+mb.id]
}

func (e *Emulator) takeFaultLocked(op string) (time.Duration, *apiError) {
	for i, f := range e.faults {
		if f.Op != "" && f.Op != op {
			continue
		}
		f.left--
		if f.left <= 0 {
			e.faults = append(e.faults[:i:i], e.faults[i+1:]...)
		}
		var ae *apiError
		switch f.Status {
		case 0:
		case 503:
			c := *errUnavailable
			c.retryAfter = f.RetryAfter
			ae = &c
		case 504:
			ae = errGatewayTimout
		default:
			ae = errf(f.Status, "UnknownError", "An internal server error occurred.")
		}
		return f.Delay, ae
	}
	return 0, nil
}

// throttleLocked applies Outlook's limits to a request of app|mailbox key:
// an armed Throttle, the window of an earlier refusal, the concurrency
// limit and the request rate.
func (e *Emulator) throttleLocked(key string) *apiError {
	now := e.clock.Now()
	refuse := func(base *apiError, wait time.Duration, window bool) *apiError {
		c := *base
		c.retryAfter = wait
		if window {
			e.throttled[key] = now.Add(wait)
		}
		return &c
	}
	if e.throttleN > 0 {
		e.throttleN--
		return refuse(errRateLimit, e.throttleD, true)
	}
	if until, ok := e.throttled[key]; ok {
		if now.Before(until) {
			return refuse(errRateLimit, until.Sub(now), false)
		}
		delete(e.throttled, key)
	}
	if e.inflight[key] >= e.opts.ConcurrencyLimit {
		return refuse(errConcurrency, e.opts.ConcurrencyRetryAfter, false)
	}
	times := e.rate[key]
	cut := 0
	for cut < len(times) && !times[cut].After(now.Add(-e.opts.RateWindow)) {
		cut++
	}
	times = times[cut:]
	if len(times) >= e.opts.RateLimit {
		e.rate[key] = times
		return refuse(errRateLimit, times[0].Add(e.opts.RateWindow).Sub(now), true)
	}
	e.rate[key] = append(times, now)
	return nil
}
