package graph

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// DefaultBaseURL is Microsoft Graph's global endpoint.
const DefaultBaseURL = "https://graph.microsoft.com"

// MaxSendBytes is sendMail's request size limit: the base64 of the MIME
// message must fit in 4 MB.
const MaxSendBytes = 4 << 20

// Invalidator is implemented by a token source that caches its token and
// can drop one Graph refused. On a 401 the Client calls Invalidate with
// the refused access token, asks the source for a token again and retries
// the request once. A source whose cache already holds a newer token
// (another request renewed it) keeps that one, so requests refused at once
// cause one renewal; internal/mailauth's Source has this method. A source
// without Invalidate is asked again all the same, and the request is
// retried only if it hands out a different token.
type Invalidator interface {
	Invalidate(rejected string)
}

// Client calls Microsoft Graph's mail API for app-only access to the
// service's mailbox. The zero value is not usable: set Tokens.
type Client struct {
	// BaseURL is Graph's root (default https://graph.microsoft.com); the
	// client follows @odata links only when they are on it.
	BaseURL string
	// Tokens supplies app-only access tokens (client credentials with the
	// scope https://graph.microsoft.com/.default).
	Tokens oauth2.TokenSource
	// HTTP sends the requests (default: a client with a 5-minute timeout).
	HTTP *http.Client

	// MutableIDs stops asking for immutable ids (Prefer:
	// IdType="ImmutableId"): message ids then change when a message moves.
	MutableIDs bool
	// PageSize is the delta page size asked for (Prefer:
	// odata.maxpagesize; default 50).
	PageSize int
	// MaxConcurrent caps the requests in flight per mailbox (default 4,
	// Outlook's limit per app per mailbox).
	MaxConcurrent int
	// MaxAttempts is how often a request is tried in all when Graph
	// throttles or fails transiently (default 5).
	MaxAttempts int
	// MaxBackoff caps the wait between attempts when Graph names none
	// (default 30s).
	MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits out itself
	// (default 2 minutes); a longer one is returned in the error, for the
	// caller to schedule.
	MaxRetryAfter time.Duration
	// Sleep waits between attempts (default: a timer; tests may advance a
	// clock instead).
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger gets one line per retry: the operation, status and wait, never
	// a message's content or an address.
	Logger *slog.Logger

	mu      sync.Mutex
	sems    map[string]chan struct{}
	waiting map[string]int // requests waiting for a slot, per mailbox
}

// retryPolicy says which failures a request may be repeated after.
type retryPolicy int

const (
	// retryTransient repeats after throttling, server faults and network
	// errors: for requests that are safe to repeat.
	retryTransient retryPolicy = iota
	// retryThrottled repeats only after 429, which Graph gives before it
	// does anything: for sendMail, where a repeat after an unknown outcome
	// could send the message twice.
	retryThrottled
)

type request struct {
	op          string // for errors: what, with the mailbox
	kind        string // for logs: "delta", "value", …
	mailbox     string
	method      string
	url         string
	body        []byte
	contentType string
	pageSize    int
	policy      retryPolicy
	need        string // the role the operation needs, for a 403
	limit       int64  // the most response body bytes to read
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (c *Client) base() string { return strings.TrimRight(cmp.Or(c.BaseURL, DefaultBaseURL), "/") }

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return defaultHTTP
}

var defaultHTTP = &http.Client{Timeout: 5 * time.Minute}

func (c *Client) log() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// userURL is the URL of a path under the mailbox's user.
func (c *Client) userURL(mailbox string, path ...string) string {
	u := c.base() + "/v1.0/users/" + url.PathEscape(mailbox)
	for _, p := range path {
		u += "/" + url.PathEscape(p)
	}
	return u
}

// acquire takes one of the mailbox's request slots.
func (c *Client) acquire(ctx context.Context, mailbox string) (func(), error) {
	key := strings.ToLower(mailbox)
	c.mu.Lock()
	if c.sems == nil {
		c.sems = map[string]chan struct{}{}
	}
	sem, ok := c.sems[key]
	if !ok {
		sem = make(chan struct{}, cmp.Or(c.MaxConcurrent, 4))
		c.sems[key] = sem
		if c.waiting == nil {
			c.waiting = map[string]int{}
		}
	}
	c.waiting[key]++
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.waiting[key]--
		c.mu.Unlock()
	}()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// do sends a request, holding a slot of its mailbox, renewing the token
// once on a 401 and repeating after the failures its policy allows.
func (c *Client) do(ctx context.Context, req request) (*response, error) {
	// The slot is held through the waits between attempts too: while Graph
	// throttles this mailbox, more requests would only be refused.
	release, err := c.acquire(ctx, req.mailbox)
	if err != nil {
		return nil, err
	}
	defer release()

	attempts := cmp.Or(c.MaxAttempts, 5)
	tok, err := c.token(nil)
	if err != nil {
		return nil, fmt.Errorf("graph: %s: getting a token: %w", req.op, err)
	}
	renewed := false
	for attempt := 1; ; attempt++ {
		if !tok.Valid() { // it expired while the client waited
			if tok, err = c.token(nil); err != nil {
				return nil, fmt.Errorf("graph: %s: getting a token: %w", req.op, err)
			}
		}
		resp, err := c.send(ctx, req, tok)
		var wait time.Duration
		switch {
		case err != nil:
			if errors.Is(err, ErrTooLarge) || ctx.Err() != nil || req.policy != retryTransient || attempt >= attempts {
				return nil, err
			}
			wait = c.backoff(attempt)
			cause := err // without the URL, which names the mailbox
			var ue *url.Error
			if errors.As(err, &ue) {
				cause = ue.Err
			}
			c.log().Warn("graph: retrying", "op", req.kind, "error", cause, "wait", wait, "attempt", attempt)
		case resp.status < 300:
			return resp, nil
		case resp.status == http.StatusUnauthorized && !renewed:
			// The token expired or was revoked early: renew it once.
			renewed = true
			fresh, err := c.token(tok)
			if err != nil {
				return nil, fmt.Errorf("graph: %s: renewing the refused token: %w", req.op, err)
			}
			if fresh.AccessToken == tok.AccessToken {
				return nil, c.graphError(req, resp)
			}
			c.log().Info("graph: token refused, retrying with a new one", "op", req.kind)
			tok = fresh
			attempt--
			continue
		default:
			ge := c.graphError(req, resp)
			retriable := ge.Status == http.StatusTooManyRequests ||
				(req.policy == retryTransient && ge.Temporary())
			if !retriable || attempt >= attempts {
				return nil, ge
			}
			wait = ge.RetryAfter
			if wait == 0 {
				wait = c.backoff(attempt)
			}
			if wait > cmp.Or(c.MaxRetryAfter, 2*time.Minute) {
				return nil, ge
			}
			c.log().Warn("graph: retrying", "op", req.kind, "status", ge.Status, "code", ge.Code, "wait", wait, "attempt", attempt)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// token gets a token, first dropping refused from the source's cache.
func (c *Client) token(refused *oauth2.Token) (*oauth2.Token, error) {
	if c.Tokens == nil {
		return nil, errors.New("no token source configured")
	}
	if refused != nil {
		if inv, ok := c.Tokens.(Invalidator); ok {
			inv.Invalidate(refused.AccessToken)
		}
	}
	return c.Tokens.Token()
}

func (c *Client) backoff(attempt int) time.Duration {
	d := min(500*time.Millisecond<<min(attempt-1, 16), cmp.Or(c.MaxBackoff, 30*time.Second))
	return d/2 + rand.N(d/2+1)
}

// send makes one HTTP exchange and reads the body, up to req.limit bytes.
func (c *Client) send(ctx context.Context, req request, tok *oauth2.Token) (*response, error) {
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, req.url, body)
	if err != nil {
		return nil, fmt.Errorf("graph: %s: %w", req.op, err)
	}
	hr.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if req.contentType != "" {
		hr.Header.Set("Content-Type", req.contentType)
	}
	var prefer []string
	if !c.MutableIDs {
		prefer = append(prefer, `IdType="ImmutableId"`)
	}
	if req.pageSize > 0 {
		prefer = append(prefer, "odata.maxpagesize="+strconv.Itoa(req.pageSize))
	}
	if len(prefer) > 0 {
		hr.Header.Set("Prefer", strings.Join(prefer, ", "))
	}
	res, err := c.httpClient().Do(hr)
	if err != nil {
		return nil, fmt.Errorf("graph: %s: %w", req.op, err)
	}
	defer res.Body.Close()
	limit := cmp.Or(req.limit, 16<<20)
	if res.StatusCode < 300 && res.ContentLength > limit {
		return nil, fmt.Errorf("graph: %s: %d bytes, over the limit of %d: %w", req.op, res.ContentLength, limit, ErrTooLarge)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("graph: %s: reading the answer: %w", req.op, err)
	}
	if int64(len(data)) > limit {
		if res.StatusCode < 300 {
			return nil, fmt.Errorf("graph: %s: over the limit of %d bytes: %w", req.op, limit, ErrTooLarge)
		}
		data = data[:limit]
	}
	return &response{status: res.StatusCode, header: res.Header, body: data}, nil
}

// graphError reads Graph's error body.
func (c *Client) graphError(req request, resp *response) *Error {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(resp.body, &body)
	ge := &Error{Op: req.op, Status: resp.status, Code: body.Error.Code, Message: scrub(body.Error.Message)}
	if ge.Code == "" {
		ge.Code = http.StatusText(resp.status)
	}
	if s := resp.header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 {
			ge.RetryAfter = time.Duration(n) * time.Second
		} else if t, err := http.ParseTime(s); err == nil {
			ge.RetryAfter = max(0, time.Until(t))
		}
	}
	if ge.Status == http.StatusForbidden {
		ge.Need = req.need
	}
	return ge
}

// sameOrigin reports whether link is on the client's Graph endpoint: the
// bearer token goes nowhere else.
func (c *Client) sameOrigin(link string) bool {
	b, err1 := url.Parse(c.base())
	l, err2 := url.Parse(link)
	return err1 == nil && err2 == nil && strings.EqualFold(b.Scheme, l.Scheme) && strings.EqualFold(b.Host, l.Host)
}

func (c *Client) getJSON(ctx context.Context, req request, v any) error {
	req.method = http.MethodGet
	resp, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.body, v); err != nil {
		return fmt.Errorf("graph: %s: reading the answer: %w", req.op, err)
	}
	return nil
}
