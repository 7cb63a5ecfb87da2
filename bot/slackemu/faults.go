package slackemu

import (
	"time"
)

// Fault makes the next Count Web API calls (of Method, or of any method when
// Method is empty) misbehave:
//
//   - Delay: answer only after this much real time (a client timeout fires);
//   - Status: answer with this HTTP status instead (500, 503, or 429 — with a
//     Retry-After header only when RetryAfter is set);
//   - Error: answer HTTP 200 {"ok":false,"error":Error}.
//
// With only Delay set the call then proceeds normally.
type Fault struct {
	Method     string
	Count      int // 0 means 1
	Delay      time.Duration
	Status     int
	RetryAfter time.Duration // real time, for Status 429
	Error      string
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

// ClearFaults disarms every fault not yet used up.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = nil
}

// takeFaultLocked uses up one call of the first fault matching method.
func (e *Emulator) takeFaultLocked(method string) (Fault, bool) {
	for i, f := range e.faults {
		if f.Method != "" && f.Method != method {
			continue
		}
		f.left--
		if f.left <= 0 {
			e.faults = append(e.faults[:i:i], e.faults[i+1:]...)
		}
		return f.Fault, true
	}
	return Fault{}, false
}

// Disconnect sends every Socket Mode connection a disconnect message with
// reason ("refresh_requested", "warning", "link_disabled"); the emulator
// closes those connections 10 emulated seconds later and delivers new
// envelopes on the connections opened since.
func (e *Emulator) Disconnect(reason string) {
	e.mu.Lock()
	var conns []*socketConn
	deadline := e.clock.Now().Add(10 * time.Second)
	for c := range e.sockets {
		if !c.draining {
			c.draining, c.drainAt = true, deadline
			conns = append(conns, c)
		}
	}
	e.mu.Unlock()
	msg := map[string]any{"type": "disconnect", "reason": reason, "debug_info": map[string]any{"host": "slackemu"}}
	for _, c := range conns {
		if err := c.writeJSON(msg); err != nil {
			c.close()
		}
	}
}

// DropSockets cuts every Socket Mode connection at the TCP level, without
// a close frame, as a network failure would.
func (e *Emulator) DropSockets() {
	e.mu.Lock()
	var conns []*socketConn
	for c := range e.sockets {
		conns = append(conns, c)
	}
	e.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}
