// Package mailout sends the system's email: it is the casefile.Handler for
// the email.* outbox jobs (the acknowledgement of an application, a request
// for information to an agency without Slack officers), and composes and
// sends over SMTP with go-smtp, or through Microsoft Graph's sendMail
// (Sender.Graph). It also sends approved letters (email.letter), plain text
// with an HTML alternative.
//
// Delivery is at most once: a resident is never emailed twice by mistake.
// Before the message is handed to the SMTP server the job is marked as
// being handed over (Store.HandOver); the job is marked done once the server
// has it. If the process dies in between, the server may or may not have
// the message: the job is then "in doubt", is not sent again, and the
// coordinator is asked to check with the recipient. A server that refuses
// the message clears the mark, and the job is retried as usual.
package mailout

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/internal/graph"
	"github.com/csp/trigger/internal/mailauth"
)

// Store is the part of the case file outgoing mail uses.
type Store interface {
	Now() time.Time
	Case(ctx context.Context, ref string) (*casefile.Case, error)
	Letter(ctx context.Context, id int64) (*casefile.Letter, error)
	Undeliverable(ctx context.Context, ref, addr string) (bool, error)
	MessageIDKey(ctx context.Context) ([]byte, error)
	HandOver(ctx context.Context, j casefile.Job) error
	ClearHandOver(ctx context.Context, j casefile.Job) error
	ResidentEmail(ctx context.Context, id int64) (*casefile.ResidentEmail, error)
	ThresholdReviewForward(ctx context.Context, ref string, id int64) (*casefile.ThresholdReviewForward, error)
}

// Sender sends outbox email. Store must be set; the rest comes from the
// configuration. Letters and emails to residents are in the resident's
// language, from the templates (the partnership's own from [letters] dir).
type Sender struct {
	Config      casefile.SMTPConfig
	Password    string
	Store       Store
	Partnership casefile.PartnershipConfig
	// Service is the whole configuration, for the agencies, the timescales
	// and the working-day calendar; nil means the defaults.
	Service *casefile.Config
	// TLSConfig replaces the default TLS settings (tests use it to trust a
	// self-signed certificate).
	TLSConfig *tls.Config
	// OAuth, when set, signs in as Config.Username with its tokens
	// (XOAUTH2 or OAUTHBEARER) instead of Password.
	OAuth *mailauth.Source
	// Graph, when set, sends through Microsoft Graph's sendMail as the
	// mailbox GraphMailbox ([graph] mailbox, which Config.From must be)
	// instead of over SMTP: the same message, our Message-ID and headers
	// kept, a copy saved to Sent Items, the same hand-over and in-doubt
	// rules.
	Graph        *graph.Client
	GraphMailbox string
	// Timeout bounds one SMTP transaction; default 2 minutes.
	Timeout time.Duration
	Logger  *slog.Logger
}

var _ casefile.Handler = (*Sender)(nil)

// Handle does one email.* job.
func (s *Sender) Handle(ctx context.Context, j casefile.Job) (casefile.JobDone, error) {
	switch j.Kind {
	case casefile.JobEmailAck:
		return s.handleAck(ctx, j)
	case casefile.JobEmailAgency:
		return s.handleAgency(ctx, j)
	case casefile.JobEmailLetter:
		return s.handleLetter(ctx, j)
	case casefile.JobEmailResident:
		return s.handleResident(ctx, j)
	case casefile.JobEmailThresholdReview:
		return s.handleThresholdReview(ctx, j)
	case casefile.JobEmailCoordinator:
		return s.handleCoordinator(ctx, j)
	default:
		return casefile.JobDone{}, casefile.Permanent(fmt.Errorf("job %d: mailout does not know the job kind %q", j.ID, j.Kind))
	}
}

// sendJob sends m as the email of job j and reports it for the case file.
func (s *Sender) sendJob(ctx context.Context, j casefile.Job, kind string, m Message) (casefile.JobDone, error) {
	if j.InDoubt {
		// An earlier attempt was handing this email over when the service
		// died: the server may have it. Never send it twice by mistake.
		s.log().Warn("mail in doubt: not sent again; the coordinator is asked to check", "job", j.ID, "kind", kind, "case", j.CaseRef)
		return casefile.JobDone{InDoubt: true, Result: map[string]any{"in_doubt": true, "message_id": m.MessageID}}, nil
	}
	handedOver := false
	raw, err := s.send(ctx, m, func() error {
		handedOver = true
		return s.Store.HandOver(ctx, j)
	})
	if err != nil && handedOver && notSent(err) {
		// The server answered: it did not take the message. Not in doubt.
		if cerr := s.Store.ClearHandOver(ctx, j); cerr != nil {
			return casefile.JobDone{}, fmt.Errorf("job %d: %w (and clearing its hand-over: %v)", j.ID, err, cerr)
		}
	}
	if err != nil {
		return casefile.JobDone{}, fmt.Errorf("job %d (%s, %s): %w", j.ID, j.Kind, j.CaseRef, err)
	}
	s.log().Info("mail sent", "job", j.ID, "kind", kind, "case", j.CaseRef, "message_id", m.MessageID)
	return casefile.JobDone{
		Result: map[string]string{"message_id": m.MessageID},
		Sent: &casefile.Outbound{
			MessageID: m.MessageID, Kind: kind, Subject: m.Subject, To: strings.Join(m.To, ", "), Raw: raw,
		},
	}, nil
}

// loadCase reads the case a job is about; a case that is gone or purged is
// a permanent failure.
func (s *Sender) loadCase(ctx context.Context, j casefile.Job, ref string) (*casefile.Case, error) {
	if ref == "" {
		ref = j.CaseRef
	}
	c, err := s.Store.Case(ctx, ref)
	switch {
	case casefile.ErrorCode(err) == casefile.ENOTFOUND:
		return nil, casefile.Permanent(fmt.Errorf("job %d: %w", j.ID, err))
	case err != nil:
		return nil, fmt.Errorf("job %d: read case %s: %w", j.ID, ref, err)
	case c.Purged:
		return nil, casefile.Permanent(fmt.Errorf("job %d: case %s was purged", j.ID, ref))
	}
	return c, nil
}

// checkDeliverable fails for good when mail to addr on case ref bounced
// before. who names the recipient in the error without giving the address.
func (s *Sender) checkDeliverable(ctx context.Context, j casefile.Job, ref, addr, who string) error {
	bad, err := s.Store.Undeliverable(ctx, ref, addr)
	if err != nil {
		return fmt.Errorf("job %d: undeliverable check: %w", j.ID, err)
	}
	if bad {
		return casefile.Permanent(fmt.Errorf("job %d (%s): the %s's address is marked undeliverable (mail to it bounced): not sent", j.ID, j.CaseRef, who))
	}
	return nil
}

// messageID is the Message-ID of job j's email of kind about case ref:
// unguessable (casefile.OutgoingMessageID), the same at every attempt.
func (s *Sender) messageID(ctx context.Context, j casefile.Job, ref, kind string) (string, error) {
	key, err := s.Store.MessageIDKey(ctx)
	if err != nil {
		return "", fmt.Errorf("job %d: message-id key: %w", j.ID, err)
	}
	if len(key) < 16 {
		return "", casefile.Permanent(fmt.Errorf("job %d: the case file has no key for our Message-IDs", j.ID))
	}
	return MessageID(key, ref, kind, j.ID, s.domain()), nil
}

// domain is the right-hand side of our Message-IDs and our EHLO name.
func (s *Sender) domain() string {
	if s.Config.Domain != "" {
		return s.Config.Domain
	}
	if a, err := parseAddress(s.Config.From); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
			return a.Address[i+1:]
		}
	}
	return "localhost"
}

func (s *Sender) now() time.Time {
	if s.Store != nil {
		return s.Store.Now()
	}
	return time.Now()
}

func (s *Sender) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return 2 * time.Minute
}

func (s *Sender) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Sender) service() *casefile.Config {
	if s.Service != nil {
		return s.Service
	}
	def := casefile.DefaultConfig()
	return &def
}

func (s *Sender) agencies() []casefile.Agency { return s.service().Agencies }

func (s *Sender) timescales() casefile.Timescales { return s.service().Timescales }

func parseAddress(s string) (*mail.Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("not an email address: %w", err)
	}
	return a, nil
}

var errNoAddress = errors.New("no address to write to")
