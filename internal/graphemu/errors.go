package graphemu

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// apiError is one refusal: the HTTP status, Graph's code and message, and
// the headers that go with it.
type apiError struct {
	status     int
	code       string
	message    string
	innerCode  string        // innerError.code, when Graph gives one
	retryAfter time.Duration // emulated; sets Retry-After
	location   string        // sets Location (410 resyncRequired)
}

func (e *apiError) Error() string { return strconv.Itoa(e.status) + " " + e.code + ": " + e.message }

func errf(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message}
}

// The refusals the emulator gives, with Graph's codes and messages.
var (
	errTokenEmpty    = errf(401, "InvalidAuthenticationToken", "Access token is empty.")
	errTokenInvalid  = errf(401, "InvalidAuthenticationToken", "Access token validation failure.")
	errTokenExpired  = errf(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
	errMeAppOnly     = errf(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
	errAccessDenied  = errf(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
	errNotEnabled    = errf(404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
	errItemNotFound  = errf(404, "ErrorItemNotFound", "The specified object was not found in the store.")
	errFolderExists  = errf(409, "ErrorFolderExists", "A folder with the specified name already exists.")
	errSyncExpired   = errf(410, "syncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be synchronized again.")
	errBadBase64     = errf(400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")
	errBadMIME       = errf(400, "ErrorMimeContentInvalid", "The MIME content is invalid.")
	errNoRecipients  = errf(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
	errSendAsDenied  = errf(403, "ErrorSendAsDenied", "The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account.")
	errTooLarge      = errf(413, "RequestEntityTooLarge", "The request body is larger than the limit of 4 MB.")
	errJSONSendMail  = errf(400, "ErrorInvalidRequest", "graphemu emulates sendMail with a MIME body (Content-Type: text/plain) only.")
	errBadMediaType  = errf(415, "UnsupportedMediaType", "The content type of the request is not supported.")
	errBadFilter     = errf(400, "ErrorInvalidUrlQueryFilter", "The filter expression is not supported.")
	errMethod        = errf(405, "Request_BadRequest", "The HTTP method is not allowed on the resource.")
	errConcurrency   = errf(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
	errRateLimit     = errf(429, "ApplicationThrottled", "Application is over its request rate limit.")
	errUnavailable   = errf(503, "serviceNotAvailable", "The service is temporarily unavailable. Try again after a delay.")
	errGatewayTimout = errf(504, "UnknownError", "The gateway timed out.")
)

func errInvalidUser(user string) *apiError {
	return errf(404, "ErrorInvalidUser", "The requested user '"+user+"' is invalid.")
}

func errBadRequest(message string) *apiError { return errf(400, "BadRequest", message) }

func errNoProperty(name string) *apiError {
	return errf(400, "RequestBroker--ParseUri", "Could not find a property named '"+name+"' on type 'Microsoft.OutlookServices.Message'.")
}

// writeError answers with Graph's error body.
func (e *Emulator) writeError(w http.ResponseWriter, r *http.Request, ae *apiError, requestID string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if ae.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.clock.RetryAfterSeconds(ae.retryAfter)))
	}
	if ae.location != "" {
		h.Set("Location", ae.location)
	}
	if ae.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
	}
	inner := map[string]any{
		"date":              e.clock.Now().Format("2006-01-02T15:04:05"),
		"request-id":        requestID,
		"client-request-id": cmpOr(r.Header.Get("client-request-id"), requestID),
	}
	if ae.innerCode != "" {
		inner["code"] = ae.innerCode
	}
	w.WriteHeader(ae.status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": ae.code, "message": ae.message, "innerError": inner,
	}})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
