package slackemu

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// ackDeadline is how long the app has to acknowledge a delivery.
const ackDeadline = 3 * time.Second

// maxRedeliveries is how often an unacknowledged envelope is sent again.
const maxRedeliveries = 3

// socketConn is one Socket Mode connection. draining and drainAt are
// guarded by Emulator.mu.
type socketConn struct {
	ws       *websocket.Conn
	seq      int
	writeMu  sync.Mutex
	once     sync.Once
	draining bool
	drainAt  time.Time
}

func (c *socketConn) writeJSON(v any) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(v)
}

// close cuts the connection; its read loop then ends and the emulator
// forgets it.
func (c *socketConn) close() {
	c.once.Do(func() { _ = c.ws.NetConn().Close() })
}

// envelope is one Socket Mode delivery, from its first send to its ack.
type envelope struct {
	id              string
	typ             string
	payload         json.RawMessage
	acceptsResponse bool
	attempt         int
	reason          string
	conn            *socketConn // the connection of the current attempt; nil while queued
	deadline        time.Time
	waiter          chan ackResult // a person waiting for the ack, until waitUntil
	waitUntil       time.Time
	delivery        *Delivery
}

// ackResult is what a person's Slack client learns from a delivery.
type ackResult struct {
	acked       bool
	payload     json.RawMessage
	contentType string // of an HTTP answer's body; "" over Socket Mode
	problem     string
}

func (env *envelope) message() map[string]any {
	m := map[string]any{
		"envelope_id":              env.id,
		"type":                     env.typ,
		"payload":                  env.payload,
		"accepts_response_payload": env.acceptsResponse,
	}
	if env.attempt > 0 {
		m["retry_attempt"], m["retry_reason"] = env.attempt, env.reason
	}
	return m
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// serveSocket accepts a Socket Mode connection with a ticket from
// apps.connections.open, says hello, pings, and reads acks until the
// connection ends.
func (e *Emulator) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	e.mu.Lock()
	expires, ok := e.tickets[ticket]
	delete(e.tickets, ticket)
	ok = ok && e.clock.Now().Before(expires)
	e.mu.Unlock()
	if !ok {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &socketConn{ws: ws}
	e.mu.Lock()
	if e.ctx.Err() != nil {
		e.mu.Unlock()
		c.close()
		return
	}
	e.wg.Add(1)
	defer e.wg.Done()
	e.nextID++
	c.seq = e.nextID
	e.sockets[c] = true
	n := len(e.sockets)
	e.changedLocked()
	e.mu.Unlock()
	e.log.Info("slackemu: socket mode connected", "connections", n)
	defer e.dropSocket(c)

	hello := map[string]any{
		"type":            "hello",
		"num_connections": n,
		"debug_info":      map[string]any{"host": "slackemu", "build_number": 1, "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": e.appID},
	}
	if err := c.writeJSON(hello); err != nil {
		return
	}
	e.poke()
	stop := make(chan struct{})
	defer close(stop)
	e.wg.Go(func() { e.ping(c, stop) })
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) == nil && ack.EnvelopeID != "" {
			e.ack(ack.EnvelopeID, ack.Payload)
		}
	}
}

// ping sends a WebSocket ping at once and then every PingInterval; pongs
// and the client's own pings are handled by the read loop.
func (e *Emulator) ping(c *socketConn, stop <-chan struct{}) {
	t := time.NewTicker(e.opts.PingInterval)
	defer t.Stop()
	for {
		if err := c.ws.WriteControl(websocket.PingMessage, []byte("slackemu"), time.Now().Add(5*time.Second)); err != nil {
			c.close()
			return
		}
		select {
		case <-stop:
			return
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// dropSocket forgets a connection; whatever was sent on it and not acked
// is queued again.
func (e *Emulator) dropSocket(c *socketConn) {
	c.close()
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.sockets, c)
	e.log.Info("slackemu: socket mode connection closed", "connections", len(e.sockets))
	for _, env := range e.envelopes {
		if env.conn == c {
			env.conn, env.reason = nil, "connection_lost"
			env.attempt++
		}
	}
	e.changedLocked()
	e.poke()
}

func (e *Emulator) ack(id string, payload json.RawMessage) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, env := range e.envelopes {
		if env.id != id {
			continue
		}
		e.envelopes = append(e.envelopes[:i:i], e.envelopes[i+1:]...)
		env.delivery.Acked = true
		if env.waiter != nil {
			env.waiter <- ackResult{acked: true, payload: payload}
			env.waiter = nil
		}
		e.changedLocked()
		return
	}
}

// queueEnvelopeLocked queues a delivery for the next live connection.
// With wait, the returned envelope's waiter reports the ack or, after the
// ack deadline, its absence.
func (e *Emulator) queueEnvelopeLocked(typ string, payload json.RawMessage, acceptsResponse, wait bool) *envelope {
	env := &envelope{id: uuid(), typ: typ, payload: payload, acceptsResponse: acceptsResponse}
	env.delivery = &Delivery{ID: env.id, Type: typ, Transport: "socket"}
	if wait {
		env.waiter = make(chan ackResult, 1)
		env.waitUntil = e.clock.Now().Add(ackDeadline)
	}
	e.deliveries = append(e.deliveries, env.delivery)
	e.envelopes = append(e.envelopes, env)
	e.changedLocked()
	e.poke()
	return env
}

// sweepSockets sends queued envelopes, requeues those not acked in time,
// gives up on those retried too often, and closes drained connections.
func (e *Emulator) sweepSockets() {
	type send struct {
		c   *socketConn
		msg map[string]any
	}
	var sends []send
	var closing []*socketConn

	e.mu.Lock()
	now := e.clock.Now()
	var live *socketConn
	for c := range e.sockets {
		if c.draining && !now.Before(c.drainAt) {
			closing = append(closing, c)
		}
		if !c.draining && (live == nil || c.seq > live.seq) {
			live = c
		}
	}
	kept := e.envelopes[:0]
	for _, env := range e.envelopes {
		if env.waiter != nil && !now.Before(env.waitUntil) {
			env.waiter <- ackResult{problem: ProblemTimeout}
			env.waiter = nil
		}
		if env.conn != nil && !now.Before(env.deadline) {
			env.conn, env.reason = nil, "timeout"
			env.attempt++
		}
		if env.attempt > maxRedeliveries {
			e.log.Warn("slackemu: envelope never acknowledged", "envelope_id", env.id, "type", env.typ)
			env.delivery.Failed = true
			e.changedLocked()
			continue
		}
		if env.conn == nil && live != nil {
			env.conn, env.deadline = live, now.Add(ackDeadline)
			env.delivery.Attempts++
			sends = append(sends, send{live, env.message()})
			e.changedLocked()
		}
		kept = append(kept, env)
	}
	clear(e.envelopes[len(kept):])
	e.envelopes = kept
	e.mu.Unlock()

	for _, s := range sends {
		if err := s.c.writeJSON(s.msg); err != nil {
			s.c.close()
		}
	}
	for _, c := range closing {
		c.close()
	}
}

// SocketConnections counts the open Socket Mode connections.
func (e *Emulator) SocketConnections() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.sockets)
}

func uuid() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
