package casefile

import (
	"errors"
	"fmt"
)

// Error codes. Every error a command returns on purpose carries one, so the
// adapters can answer a person clearly: the CLI maps them to messages, the bot
// to polite ephemeral replies.
const (
	ENOTFOUND  = "not_found" // no such case, request, draft …
	ECONFLICT  = "conflict"  // the case is not in a state that allows this
	EINVALID   = "invalid"   // the input is wrong; Message says which field
	EFORBIDDEN = "forbidden" // the person may not do this
	EINTERNAL  = "internal"  // anything else: a bug or the database
)

// Error is a coded domain error. Message is safe to show to staff: it names
// references and fields, never a resident's personal data.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns a coded error.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first coded error in err's chain,
// EINTERNAL for an uncoded one and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the message of a coded error, or a generic text for an
// internal one, whose details belong in the log only.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	default:
		return "internal error"
	}
}
