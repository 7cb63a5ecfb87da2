package mailout

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/internal/graph"
	"github.com/csp/trigger/internal/mailauth"
)

// sendGraph hands a composed message to Microsoft Graph's sendMail as
// GraphMailbox: the MIME as it is, so our Message-ID and headers are kept,
// and Exchange saves it to Sent Items. handOver is called just before the
// request that may send it.
//
// Its errors follow Send's: permanent when Graph refused this message for
// good (400: no valid recipient, unreadable MIME; too large); a wait when
// Graph throttles (Retry-After); anything else is temporary — the app's
// sign-in, its Mail.Send role or the mailbox refused (401, 403, 404) are
// the service's set-up, which retrying after a fix cures, as an SMTP
// sign-in refused is.
func (s *Sender) sendGraph(ctx context.Context, raw []byte, handOver func() error) error {
	op := "graph: send as " + s.GraphMailbox
	if base64.StdEncoding.EncodedLen(len(raw)) > graph.MaxSendBytes {
		return casefile.Permanent(fmt.Errorf("%s: %d bytes of MIME are over sendMail's 4 MB limit once encoded: %w", op, len(raw), graph.ErrTooLarge))
	}
	// A token first: a sign-in that fails sends nothing, and leaves the
	// email out of doubt.
	if s.Graph.Tokens != nil {
		if _, err := s.Graph.Tokens.Token(); err != nil {
			return fmt.Errorf("%s: getting a token: %w", op, err)
		}
	}
	if handOver != nil {
		if err := handOver(); err != nil {
			return fmt.Errorf("record the hand-over: %w", err)
		}
	}
	err := s.Graph.SendMIME(ctx, s.GraphMailbox, raw)
	var ge *graph.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ge) && (ge.Status == 401 || ge.Status == 403 || ge.Status == 404):
		return err
	case graph.IsPermanent(err):
		return casefile.Permanent(err)
	}
	if wait, ok := graph.RetryAfter(err); ok {
		return &casefile.RetryAfterError{Err: err, After: wait}
	}
	return err
}

// notSent reports a failure after which the message was certainly not
// sent, so its hand-over mark is cleared and the job retried as usual: the
// SMTP server or Graph answered and refused it, no token could be had, or
// the connection was never made. Any other failure after the hand-over
// (no answer, Graph's 5xx) leaves the email in doubt.
func notSent(err error) bool {
	var oe *net.OpError
	var te *mailauth.Error
	switch {
	case smtpRefused(err), graph.Refused(err), errors.Is(err, graph.ErrTooLarge):
		return true
	case errors.As(err, &te):
		return true
	case errors.As(err, &oe) && oe.Op == "dial":
		return true
	}
	return false
}
