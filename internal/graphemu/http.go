package graphemu

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Call is one request the emulator received, for tests to inspect. It is
// logged when it arrives; its status, code and Retry-After are filled in
// before the client can see the answer, and Written and Complete when the
// answer is done (WaitIdle).
type Call struct {
	At         time.Time // emulated time the request arrived
	Method     string
	Path       string // the URL path, without the query
	Op         string // "delta", "value", "move", "sendMail", "listFolders", …
	App        string // the client id of the token, when it was valid
	Mailbox    string // the mailbox's UPN, when it was found
	Status     int
	Code       string // Graph's error code, for a refusal
	RetryAfter string // the Retry-After header sent
	Written    int64  // response body bytes the client took
	Complete   bool   // the whole response body was written
}

// Calls returns every request answered so far, in order.
func (e *Emulator) Calls() []Call {
	e.cmu.Lock()
	defer e.cmu.Unlock()
	return append([]Call(nil), e.calls...)
}

// OnRequest sets a function called with each request as it arrives, before
// it is handled (outside the emulator's lock: it may call test helpers
// such as Deliver).
func (e *Emulator) OnRequest(f func(Call)) {
	e.cmu.Lock()
	defer e.cmu.Unlock()
	e.onRequest = f
}

// route is a request's target.
type route struct {
	op      string
	me      bool
	user    string // as given in the path
	folder  string // folder id or well-known name in the path
	parent  bool   // the op is on the folder's children (childFolders)
	message string
}

// parseRoute maps a /v1.0 path to an operation. Segments are compared
// without regard to case, as Graph does; mailFolders('id') is the same as
// mailFolders/id (the form Graph uses in its own links).
func parseRoute(method, escapedPath string) (route, *apiError) {
	var segs []string
	for _, s := range strings.Split(strings.Trim(escapedPath, "/"), "/") {
		u, err := url.PathUnescape(s)
		if err != nil {
			return route{}, errBadRequest("Invalid URL segment.")
		}
		if i := strings.Index(u, "('"); i > 0 && strings.HasSuffix(u, "')") {
			segs = append(segs, u[:i], u[i+2:len(u)-2])
			continue
		}
		segs = append(segs, u)
	}
	if len(segs) == 0 || segs[0] != "v1.0" {
		return route{}, errBadRequest("graphemu serves the v1.0 endpoint only.")
	}
	segs = segs[1:]
	var rt route
	switch {
	case len(segs) >= 1 && strings.EqualFold(segs[0], "me"):
		rt.me = true
		segs = segs[1:]
	case len(segs) >= 2 && strings.EqualFold(segs[0], "users"):
		rt.user = segs[1]
		segs = segs[2:]
	default:
		return route{}, errBadRequest("Resource not found for the segment '" + strings.Join(segs, "/") + "'.")
	}
	is := func(i int, name string) bool { return len(segs) > i && strings.EqualFold(segs[i], name) }
	want := func(m string) *apiError {
		if method != m {
			return errMethod
		}
		return nil
	}
	switch {
	case len(segs) == 1 && is(0, "sendMail"):
		rt.op = "sendMail"
		return rt, want(http.MethodPost)
	case len(segs) == 1 && is(0, "mailFolders"):
		rt.folder = "msgfolderroot"
		rt.parent = true
		if method == http.MethodPost {
			rt.op = "createFolder"
			return rt, nil
		}
		rt.op = "listFolders"
		return rt, want(http.MethodGet)
	case is(0, "mailFolders") && len(segs) >= 2:
		rt.folder = segs[1]
		rest := segs[2:]
		switch {
		case len(rest) == 0:
			rt.op = "getFolder"
			return rt, want(http.MethodGet)
		case len(rest) == 1 && strings.EqualFold(rest[0], "childFolders"):
			rt.parent = true
			if method == http.MethodPost {
				rt.op = "createFolder"
				return rt, nil
			}
			rt.op = "listFolders"
			return rt, want(http.MethodGet)
		case len(rest) == 1 && strings.EqualFold(rest[0], "messages"):
			rt.op = "listMessages"
			return rt, want(http.MethodGet)
		case len(rest) == 2 && strings.EqualFold(rest[0], "messages") && isDelta(rest[1]):
			rt.op = "delta"
			return rt, want(http.MethodGet)
		case len(rest) >= 2 && strings.EqualFold(rest[0], "messages"):
			return messageRoute(rt, rest[1:], method)
		}
	case is(0, "messages") && len(segs) >= 2:
		return messageRoute(rt, segs[1:], method)
	}
	return route{}, errBadRequest("Resource not found for the segment '" + strings.Join(segs, "/") + "'.")
}

func isDelta(s string) bool {
	s = strings.ToLower(strings.TrimSuffix(s, "()"))
	return s == "delta" || s == "microsoft.graph.delta"
}

func messageRoute(rt route, segs []string, method string) (route, *apiError) {
	rt.message = segs[0]
	switch {
	case len(segs) == 1:
		rt.op = "getMessage"
	case len(segs) == 2 && segs[1] == "$value":
		rt.op = "value"
	case len(segs) == 2 && (strings.EqualFold(segs[1], "move") || strings.EqualFold(segs[1], "microsoft.graph.move")):
		rt.op = "move"
		if method != http.MethodPost {
			return rt, errMethod
		}
		return rt, nil
	default:
		return route{}, errBadRequest("Resource not found for the segment '" + strings.Join(segs, "/") + "'.")
	}
	if method != http.MethodGet {
		return rt, errMethod
	}
	return rt, nil
}

// needs is the role an operation needs on the mailbox.
func needs(op string) []Permission {
	switch op {
	case "sendMail":
		return []Permission{MailSend}
	case "createFolder", "move":
		return []Permission{MailReadWrite}
	default:
		return []Permission{MailRead, MailReadWrite}
	}
}

// countingWriter counts the body bytes the client took, notices a client
// that went away, and tells the call log the status before the client can
// see it.
type countingWriter struct {
	http.ResponseWriter
	onHeader func(status int)
	status   int
	written  int64
	failed   bool
}

func (w *countingWriter) WriteHeader(status int) {
	if w.status != 0 {
		return
	}
	w.status = status
	w.onHeader(status)
	w.ResponseWriter.WriteHeader(status)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.written += int64(n)
	if err != nil {
		w.failed = true
	}
	return n, err
}

func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// WaitIdle returns when no request is being answered (the call log then
// holds every request's byte counts), or when done is closed.
func (e *Emulator) WaitIdle(done <-chan struct{}) bool {
	for {
		e.cmu.Lock()
		active, changed := e.active, e.changed
		e.cmu.Unlock()
		if active == 0 {
			return true
		}
		select {
		case <-changed:
		case <-done:
			return false
		}
	}
}

// ServeHTTP answers one Graph request: authentication, the mailbox,
// faults and throttling, the app's roles, then the operation.
func (e *Emulator) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	requestID := newGUID()
	call := Call{At: e.clock.Now(), Method: r.Method, Path: r.URL.Path}
	rt, routeErr := parseRoute(r.Method, r.URL.EscapedPath())
	call.Op = rt.op

	e.cmu.Lock()
	hook := e.onRequest
	e.cmu.Unlock()
	if hook != nil {
		hook(call)
	}
	e.cmu.Lock()
	idx := len(e.calls)
	e.calls = append(e.calls, call)
	e.active++
	e.cmu.Unlock()
	update := func(f func(c *Call)) {
		e.cmu.Lock()
		f(&e.calls[idx])
		e.cmu.Unlock()
	}

	w := &countingWriter{ResponseWriter: rw}
	w.onHeader = func(status int) {
		update(func(c *Call) {
			c.Status = status
			c.RetryAfter = w.Header().Get("Retry-After")
		})
	}
	w.Header().Set("request-id", requestID)

	var (
		ae      *apiError
		key     string
		counted bool
	)
	defer func() {
		if counted {
			e.mu.Lock()
			e.inflight[key]--
			e.mu.Unlock()
		}
		e.cmu.Lock()
		c := &e.calls[idx]
		c.Written = w.written
		c.Complete = !w.failed
		e.active--
		close(e.changed)
		e.changed = make(chan struct{})
		e.cmu.Unlock()
	}()
	fail := func(ae *apiError) {
		update(func(c *Call) { c.Code = ae.code })
		if ae.status != http.StatusNotFound && ae.status != http.StatusGone {
			e.log.Info("graphemu: refused", "op", rt.op, "status", ae.status, "code", ae.code)
		}
		e.writeError(w, r, ae, requestID)
	}

	e.mu.Lock()
	a, ae := e.authenticate(r)
	if ae == nil && rt.me {
		ae = errMeAppOnly
	}
	if ae == nil && routeErr != nil {
		ae = routeErr
	}
	var mb *mailbox
	if ae == nil {
		mb, ae = e.resolveMailbox(rt.user)
	}
	var delay time.Duration
	if ae == nil {
		key = a.clientID + "|" + mb.id
		delay, ae = e.takeFaultLocked(rt.op)
	}
	if ae == nil {
		ae = e.throttleLocked(key)
	}
	if ae == nil {
		e.inflight[key]++
		counted = true
		e.peak[key] = max(e.peak[key], e.inflight[key])
		ae = e.authorizeLocked(a, mb, rt.op)
	}
	hold := e.hold
	e.mu.Unlock()
	update(func(c *Call) {
		if a != nil {
			c.App = a.clientID
		}
		if mb != nil {
			c.Mailbox = mb.upn
		}
	})

	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if ae != nil {
		fail(ae)
		return
	}
	if hold != nil {
		hold.wait(r)
	}
	if ae := e.handle(w, r, rt, mb, requestID); ae != nil {
		fail(ae)
	}
}

// authenticate finds the app of the request's bearer token.
func (e *Emulator) authenticate(r *http.Request) (*app, *apiError) {
	h := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(h, " ")
	if h == "" || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return nil, errTokenEmpty
	}
	tok = strings.TrimSpace(tok)
	t, ok := e.tokens[tok]
	if !ok {
		if e.opts.VerifyToken == nil {
			return nil, errTokenInvalid
		}
		clientID, ok := e.opts.VerifyToken(tok)
		if a := e.apps[clientID]; ok && a != nil {
			return a, nil
		}
		return nil, errTokenInvalid
	}
	if !e.clock.Now().Before(t.expires) {
		return nil, errTokenExpired
	}
	return t.app, nil
}

func (e *Emulator) resolveMailbox(user string) (*mailbox, *apiError) {
	mb := e.lookupMailbox(user)
	if mb == nil {
		return nil, errInvalidUser(user)
	}
	if !mb.enabled {
		return nil, errNotEnabled
	}
	return mb, nil
}

// authorizeLocked applies RBAC for Applications: the app needs one of the
// operation's roles on this mailbox.
func (e *Emulator) authorizeLocked(a *app, mb *mailbox, op string) *apiError {
	for _, p := range needs(op) {
		if a.grants[mb.id][p] {
			return nil
		}
	}
	return errAccessDenied
}

// Hold keeps requests waiting, after they were counted against the
// concurrency limit, until Release: a test uses it to have requests in
// flight at once without timing.
type Hold struct {
	mu       sync.Mutex
	held     int
	changed  chan struct{}
	released chan struct{}
	once     sync.Once
}

// HoldRequests starts holding every authorised request before it is
// handled. Release ends it.
func (e *Emulator) HoldRequests() *Hold {
	h := &Hold{changed: make(chan struct{}), released: make(chan struct{})}
	e.mu.Lock()
	e.hold = h
	e.mu.Unlock()
	return h
}

// Held is the number of requests waiting now.
func (h *Hold) Held() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.held
}

// WaitHeld returns when n requests are waiting, or done is closed.
func (h *Hold) WaitHeld(n int, done <-chan struct{}) bool {
	for {
		h.mu.Lock()
		held, changed := h.held, h.changed
		h.mu.Unlock()
		if held >= n {
			return true
		}
		select {
		case <-changed:
		case <-done:
			return false
		}
	}
}

// Release lets every held request, and every later one, through.
func (h *Hold) Release() { h.once.Do(func() { close(h.released) }) }

func (h *Hold) wait(r *http.Request) {
	h.mu.Lock()
	h.held++
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
	select {
	case <-h.released:
	case <-r.Context().Done():
	}
	h.mu.Lock()
	h.held--
	h.mu.Unlock()
}
