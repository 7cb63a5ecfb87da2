package graph

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"golang.org/x/oauth2"
)

// ErrResync reports delta state Graph no longer has (410 Gone,
// syncStateNotFound or resyncRequired), or a stored deltaLink that is not
// for this Graph endpoint: the caller starts a new round from scratch
// (deltaLink "") and drops the messages it has already handled, which it
// recognises by Graph id and internetMessageId.
var ErrResync = errors.New("graph: the delta state is gone: synchronise the folder from scratch")

// ErrTooLarge reports a message over the caller's size cap, or a MIME
// message too large for sendMail's 4 MB request limit. It is permanent.
var ErrTooLarge = errors.New("graph: message too large")

// Error is an answer from Graph that was not a success. Its text names
// the operation, the HTTP status and Graph's code; Graph's message is kept
// with email addresses removed.
type Error struct {
	Op         string // what the client was doing, with the mailbox
	Status     int
	Code       string        // Graph's error code ("ErrorAccessDenied")
	Message    string        // Graph's message, addresses removed
	RetryAfter time.Duration // the Retry-After Graph asked for, if any
	// Need is the role the operation needs, named in a 403's text.
	Need string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("graph: %s: %d %s", e.Op, e.Status, e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	switch {
	case e.Status == http.StatusForbidden && e.Code == "ErrorSendAsDenied":
		s += " (the message's From must be the mailbox itself)"
	case e.Status == http.StatusForbidden && e.Need != "":
		s += " (the app needs " + e.Need + " on this mailbox: an Exchange Online RBAC for Applications role assignment, \"Application " + e.Need + "\", scoped to it)"
	case e.Status == http.StatusUnauthorized:
		s += " (the token was refused, also after a new one was fetched: check the app registration, tenant and secret or certificate)"
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return s
}

// Temporary reports an answer that may change by itself: throttling,
// timeouts and server faults. Everything else is Graph saying no to this
// request, and asking again will not help.
func (e *Error) Temporary() bool {
	switch e.Status {
	case http.StatusRequestTimeout, http.StatusLocked, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable,
		http.StatusGatewayTimeout, 509:
		return true
	}
	return false
}

// IsPermanent reports an error that retrying cannot fix: Graph refused the
// request for good (bad request, no permission, not found, too large), or
// the message is over the size cap. Network failures, throttling and
// server faults are temporary. ErrResync is neither: the caller resyncs.
func IsPermanent(err error) bool {
	if err == nil || errors.Is(err, ErrResync) {
		return false
	}
	if errors.Is(err, ErrTooLarge) {
		return true
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		// The token endpoint refused the app (AADSTS7000215 a wrong
		// secret, AADSTS700016 an unknown app): fixing it takes a person.
		return re.Response.StatusCode == http.StatusBadRequest || re.Response.StatusCode == http.StatusUnauthorized
	}
	var ge *Error
	return errors.As(err, &ge) && !ge.Temporary()
}

// Refused reports that Graph answered and did not carry the request out
// (a 4xx status). For SendMIME it means the message was not sent; any
// other failure (no answer, a 5xx) leaves it in doubt.
func Refused(err error) bool {
	var ge *Error
	return errors.As(err, &ge) && ge.Status >= 400 && ge.Status < 500
}

// IsNotFound reports a message, folder or mailbox Graph does not know
// (404): a message already moved by an earlier attempt, for instance.
func IsNotFound(err error) bool {
	var ge *Error
	return errors.As(err, &ge) && ge.Status == http.StatusNotFound
}

// RetryAfter returns the wait Graph asked for with the error, if any.
func RetryAfter(err error) (time.Duration, bool) {
	var ge *Error
	if errors.As(err, &ge) && ge.RetryAfter > 0 {
		return ge.RetryAfter, true
	}
	return 0, false
}

var addressRE = regexp.MustCompile(`[^\s<>"'(),;:]+@[^\s<>"'(),;:]+`)

// scrub removes email addresses from Graph's text: its refusals can quote a
// recipient, and errors go to logs and the audit trail.
func scrub(s string) string { return addressRE.ReplaceAllString(s, "<address>") }
