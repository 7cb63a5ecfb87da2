package slackemu

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// apiMethod is one Web API method: its rate limit and its handler, which
// runs with e.mu held.
type apiMethod struct {
	rate       Rate
	perChannel bool // the limit applies per channel (chat.postMessage)
	appToken   bool // takes the xapp- token, in the Authorization header only
	handle     func(e *Emulator, p params) (reply, error)
}

var webAPI = map[string]apiMethod{
	"auth.test":              {rate: Tier4, handle: (*Emulator).authTest},
	"apps.connections.open":  {rate: Tier1, appToken: true, handle: (*Emulator).appsConnectionsOpen},
	"users.info":             {rate: Tier4, handle: (*Emulator).usersInfo},
	"users.lookupByEmail":    {rate: Tier3, handle: (*Emulator).usersLookupByEmail},
	"conversations.create":   {rate: Tier2, handle: (*Emulator).conversationsCreate},
	"conversations.invite":   {rate: Tier3, handle: (*Emulator).conversationsInvite},
	"conversations.info":     {rate: Tier3, handle: (*Emulator).conversationsInfo},
	"conversations.list":     {rate: Tier2, handle: (*Emulator).conversationsList},
	"conversations.members":  {rate: Tier4, handle: (*Emulator).conversationsMembers},
	"conversations.setTopic": {rate: Tier2, handle: (*Emulator).conversationsSetTopic},
	"conversations.join":     {rate: Tier3, handle: (*Emulator).conversationsJoin},
	"conversations.history":  {rate: Tier3, handle: (*Emulator).conversationsHistory},
	"conversations.replies":  {rate: Tier3, handle: (*Emulator).conversationsReplies},
	"conversations.open":     {rate: Tier3, handle: (*Emulator).conversationsOpen},
	"users.conversations":    {rate: Tier3, handle: (*Emulator).usersConversations},
	"files.info":             {rate: Tier4, handle: (*Emulator).filesInfo},
	"chat.postMessage":       {rate: PostMessageRate, perChannel: true, handle: (*Emulator).chatPostMessage},
	"chat.postEphemeral":     {rate: Tier4, handle: (*Emulator).chatPostEphemeral},
	"chat.update":            {rate: Tier3, handle: (*Emulator).chatUpdate},
	"chat.getPermalink":      {rate: Tier4, handle: (*Emulator).chatGetPermalink},
	"views.open":             {rate: Tier4, handle: (*Emulator).viewsOpen},
	"views.push":             {rate: Tier4, handle: (*Emulator).viewsPush},
	"views.update":           {rate: Tier4, handle: (*Emulator).viewsUpdate},
	"views.publish":          {rate: Tier4, handle: (*Emulator).viewsPublish},
}

// params are a call's arguments, from the query, a form or a JSON body
// (nested JSON values kept as JSON text, as Slack accepts them).
type params struct {
	url.Values
	host string // the Host the call came to, for URLs handed back
}

// reply is a successful answer's fields besides "ok".
type reply map[string]any

// apiError is a Slack error answer: {"ok":false,"error":code,...}.
type apiError struct {
	code     string
	messages []string       // response_metadata.messages
	fields   map[string]any // extra top-level fields
}

func (e *apiError) Error() string { return e.code }

func fail(code string, messages ...string) *apiError {
	return &apiError{code: code, messages: messages}
}

func (e *Emulator) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	m, known := webAPI[method]
	p, token, perr := readParams(r, m.appToken)

	e.mu.Lock()
	fault, faulty := e.takeFaultLocked(method)
	e.mu.Unlock()
	if faulty && fault.Delay > 0 {
		t := time.NewTimer(fault.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		case <-e.ctx.Done():
			t.Stop()
		}
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.changedLocked()
	call := Call{Method: method, Params: p.Values, At: e.clock.Now()}
	switch {
	case faulty && fault.Status != 0:
		call.Status, call.Error = fault.Status, http.StatusText(fault.Status)
		e.calls = append(e.calls, call)
		if fault.Status == http.StatusTooManyRequests && fault.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(fault.RetryAfter.Seconds()))))
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(fault.Status)
		fmt.Fprintf(w, "<html><body>%d %s</body></html>\n", fault.Status, http.StatusText(fault.Status))
		return
	case faulty && fault.Error != "":
		e.answerLocked(w, call, nil, fail(fault.Error))
		return
	case !known:
		e.answerLocked(w, call, nil, fail("unknown_method"))
		return
	case perr != nil:
		e.answerLocked(w, call, nil, perr)
		return
	}
	if code := e.checkToken(token, m.appToken); code != "" {
		e.answerLocked(w, call, nil, fail(code))
		return
	}
	if !m.appToken {
		w.Header().Set("X-OAuth-Scopes", strings.Join(e.Scopes(), ","))
		if err := e.checkMethodScopes(method); err != nil {
			w.Header().Set("X-Accepted-OAuth-Scopes", strings.Join(methodScopes[method], ","))
			e.answerLocked(w, call, nil, err)
			return
		}
	}
	key := method
	if m.perChannel {
		key += ":" + p.Get("channel")
	}
	if ok, wait := e.limiter.allow(key, e.rateFor(method, m.rate), call.At); !ok {
		call.Status, call.Error = http.StatusTooManyRequests, "ratelimited"
		e.calls = append(e.calls, call)
		w.Header().Set("Retry-After", strconv.Itoa(e.clock.RetryAfterSeconds(wait)))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"})
		return
	}
	rep, err := m.handle(e, p)
	e.answerLocked(w, call, rep, err)
}

// answerLocked logs the call and writes Slack's JSON answer.
func (e *Emulator) answerLocked(w http.ResponseWriter, call Call, rep reply, err error) {
	body := map[string]any{}
	for k, v := range rep {
		body[k] = v
	}
	body["ok"] = err == nil
	call.OK, call.Status = err == nil, http.StatusOK
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = fail("internal_error", err.Error())
		}
		for k, v := range ae.fields {
			body[k] = v
		}
		body["error"] = ae.code
		if len(ae.messages) > 0 {
			body["response_metadata"] = map[string]any{"messages": ae.messages}
		}
		call.Error, call.Detail = ae.code, ae.messages
	}
	e.calls = append(e.calls, call)
	writeJSON(w, http.StatusOK, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// checkToken returns the error code for a token that may not call the
// method, or "".
func (e *Emulator) checkToken(token string, app bool) string {
	switch {
	case token == "":
		return "not_authed"
	case app && token == e.opts.AppToken, !app && token == e.opts.BotToken:
		return ""
	case token == e.opts.AppToken, token == e.opts.BotToken:
		return "not_allowed_token_type"
	default:
		return "invalid_auth"
	}
}

// readParams collects a call's arguments and its token. An app-level token
// is taken from the Authorization header only, as Slack requires.
func readParams(r *http.Request, headerTokenOnly bool) (params, string, error) {
	p := params{Values: url.Values{}, host: r.Host}
	for k, v := range r.URL.Query() {
		p.Values[k] = v
	}
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case r.Method == http.MethodGet:
	case ctype == "application/json":
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return p, "", fail("request_timeout")
		}
		if len(strings.TrimSpace(string(body))) > 0 {
			var obj map[string]any
			if err := json.Unmarshal(body, &obj); err != nil {
				return p, "", fail("invalid_json")
			}
			for k, v := range obj {
				if s, ok := jsonParam(v); ok {
					p.Set(k, s)
				}
			}
		}
	case ctype == "multipart/form-data":
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return p, "", fail("invalid_form_data")
		}
		for k, v := range r.PostForm {
			p.Values[k] = v
		}
	default:
		if err := r.ParseForm(); err != nil {
			return p, "", fail("invalid_form_data")
		}
		for k, v := range r.PostForm {
			p.Values[k] = v
		}
	}
	token := ""
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = strings.TrimSpace(auth)
	} else if !headerTokenOnly {
		token = p.Get("token")
	}
	p.Del("token")
	return p, token, nil
}

// jsonParam turns a JSON body's value into the form value Slack would
// accept for it.
func jsonParam(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", false
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	default:
		b, err := json.Marshal(v)
		return string(b), err == nil
	}
}

func isTrue(s string) bool { return s == "true" || s == "1" }

// page cuts items [0,n) into the page a cursor and limit ask for.
func page(n int, p params, defLimit int) (from, to int, next string, err error) {
	limit := defLimit
	if s := p.Get("limit"); s != "" && s != "0" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 0 {
			return 0, 0, "", fail("invalid_limit")
		}
		limit = min(limit, 1000)
	}
	if c := p.Get("cursor"); c != "" {
		raw, err := base64.StdEncoding.DecodeString(c)
		off, ok := strings.CutPrefix(string(raw), "offset:")
		if err != nil || !ok {
			return 0, 0, "", fail("invalid_cursor")
		}
		if from, err = strconv.Atoi(off); err != nil || from < 0 || from > n {
			return 0, 0, "", fail("invalid_cursor")
		}
	}
	to = min(n, from+limit)
	if to < n {
		next = base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(to)))
	}
	return from, to, next, nil
}
