package mailauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/emersion/go-sasl"
)

// The SASL mechanisms that carry an OAuth 2.0 bearer token. Exchange Online
// offers XOAUTH2 only; Gmail and Dovecot offer both.
const (
	XOAUTH2     = "XOAUTH2"
	OAUTHBEARER = sasl.OAuthBearer // RFC 7628
)

// Protocol is the mail protocol a SASL client signs in to. The two need the
// same message sent at different moments, and a refusal answered in
// different ways: see NewSASLClient.
type Protocol string

const (
	IMAP Protocol = "imap"
	SMTP Protocol = "smtp"
)

// PickMechanism returns the mechanism to use given what the server offers
// (offers reports whether it offers one): XOAUTH2, the one every provider
// has, else OAUTHBEARER, else "".
func PickMechanism(offers func(mech string) bool) string {
	for _, m := range []string{XOAUTH2, OAUTHBEARER} {
		if offers(m) {
			return m
		}
	}
	return ""
}

// SASLClient is a go-sasl client for XOAUTH2 or OAUTHBEARER, the one
// mechanism code for both IMAP and SMTP. The protocol decides two things:
//
//   - When the token goes. For IMAP, Start returns it as the initial
//     response (go-imap sends it inline with SASL-IR, or after the server's
//     empty "+"). For SMTP, Start returns no initial response and the token
//     answers the server's 334: go-smtp would put an initial response on
//     the AUTH line itself, and tokens (over 4 KB from Microsoft) are longer
//     than some servers allow a command line to be (Dovecot submission
//     refuses about 1 KB, Gmail answers 555).
//   - How a refusal is answered. A server that refuses the token sends an
//     error challenge (Google's and Dovecot's are base64 JSON) and wants a
//     dummy answer. For IMAP, Next returns a *ChallengeError: go-imap v2
//     would encode an empty answer as "=", which Dovecot refuses as invalid
//     base64, so the caller must close the connection instead. For SMTP,
//     Next answers with an empty line (OAUTHBEARER: "\x01", RFC 7628), never
//     nil: go-smtp takes a nil answer for the end of the exchange and would
//     report the refused sign-in as a success. The server's 535 then comes
//     back as the error of go-smtp's Auth, and Refusal holds the challenge.
//
// A SASLClient is for one sign-in.
type SASLClient struct {
	Mechanism string // XOAUTH2 or OAUTHBEARER
	Protocol  Protocol
	User      string // the mailbox signed in to
	Token     string // the access token

	sent    bool
	refusal *ChallengeError
}

var _ sasl.Client = (*SASLClient)(nil)

// NewSASLClient returns a client that signs user (the mailbox, which may be
// a shared mailbox the token's owner may open) in with token.
func NewSASLClient(p Protocol, mech, user, token string) *SASLClient {
	return &SASLClient{Mechanism: mech, Protocol: p, User: user, Token: token}
}

// Start begins the exchange.
func (c *SASLClient) Start() (string, []byte, error) {
	msg, err := c.message()
	if err != nil {
		return "", nil, err
	}
	switch c.Protocol {
	case IMAP:
		c.sent = true
		return c.Mechanism, msg, nil
	case SMTP:
		return c.Mechanism, nil, nil
	default:
		return "", nil, fmt.Errorf("%s: unknown protocol %q", c.Mechanism, c.Protocol)
	}
}

// Next answers a challenge: the server's empty 334 with the token (SMTP),
// or an error challenge as the type's documentation says.
func (c *SASLClient) Next(challenge []byte) ([]byte, error) {
	if !c.sent {
		if len(challenge) != 0 {
			return nil, fmt.Errorf("%s: the server sent a challenge before the token: %s", c.Mechanism, printable(challenge))
		}
		c.sent = true
		return c.message()
	}
	c.refusal = parseChallenge(c.Mechanism, challenge)
	if c.Protocol == IMAP {
		return nil, c.refusal
	}
	if c.Mechanism == OAUTHBEARER {
		return []byte{0x01}, nil
	}
	return []byte{}, nil
}

// Refusal returns the server's error challenge, if it sent one.
func (c *SASLClient) Refusal() *ChallengeError { return c.refusal }

func (c *SASLClient) message() ([]byte, error) {
	if c.User == "" {
		return nil, fmt.Errorf("%s: no mailbox to sign in as", c.Mechanism)
	}
	if c.Token == "" {
		return nil, fmt.Errorf("%s: no access token", c.Mechanism)
	}
	if strings.ContainsAny(c.User, "\x01\r\n") || strings.ContainsAny(c.Token, "\x01\r\n ") {
		return nil, fmt.Errorf("%s: the mailbox name or the token holds a character the mechanism cannot carry", c.Mechanism)
	}
	switch c.Mechanism {
	case XOAUTH2:
		return []byte("user=" + c.User + "\x01auth=Bearer " + c.Token + "\x01\x01"), nil
	case OAUTHBEARER:
		// RFC 7628 with the GS2 header naming the authorization identity
		// (RFC 5801 escapes "," and "=").
		user := strings.NewReplacer("=", "=3D", ",", "=2C").Replace(c.User)
		return []byte("n,a=" + user + ",\x01auth=Bearer " + c.Token + "\x01\x01"), nil
	default:
		return nil, fmt.Errorf("mailauth: unknown SASL mechanism %q (want %s or %s)", c.Mechanism, XOAUTH2, OAUTHBEARER)
	}
}

// ChallengeError is a server's refusal of a token, read from its error
// challenge: Google, Microsoft and Dovecot send
// {"status":"401","schemes":"bearer","scope":"…"} (RFC 7628 names
// the status "invalid_token", "insufficient_scope" …).
type ChallengeError struct {
	Mechanism string
	Status    string
	Scope     string
	Raw       string // the challenge when it is not JSON, made printable
}

func (e *ChallengeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s sign-in refused", e.Mechanism)
	switch {
	case e.Status != "":
		fmt.Fprintf(&b, ": status %s", e.Status)
		if m := statusMeaning[e.Status]; m != "" {
			fmt.Fprintf(&b, " (%s)", m)
		}
		if e.Scope != "" {
			fmt.Fprintf(&b, "; the server wants scope %s", e.Scope)
		}
	case e.Raw != "":
		fmt.Fprintf(&b, ": %s", e.Raw)
	}
	return b.String()
}

var statusMeaning = map[string]string{
	"400":                "the request was malformed",
	"401":                "the token is invalid, expired, or not for this mailbox",
	"403":                "the token lacks the permission this mailbox needs",
	"invalid_token":      "the token is invalid, expired, or not for this mailbox",
	"invalid_request":    "the request was malformed",
	"insufficient_scope": "the token lacks the scope this mailbox needs",
}

func parseChallenge(mech string, challenge []byte) *ChallengeError {
	e := &ChallengeError{Mechanism: mech}
	var j struct {
		Status json.RawMessage `json:"status"`
		Scope  string          `json:"scope"`
	}
	if json.Unmarshal(challenge, &j) == nil && len(j.Status) > 0 {
		// Google sends "401"; some servers a number.
		if s, err := strconv.Unquote(string(j.Status)); err == nil {
			e.Status = s
		} else {
			e.Status = printable(j.Status)
		}
		e.Scope = printable([]byte(j.Scope))
		return e
	}
	e.Raw = printable(challenge)
	return e
}

// printable is b for an error message: control characters replaced,
// at most 200 bytes.
func printable(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// IsRefused reports whether err is a server's refusal of a sign-in, marked
// with Refused (or a ChallengeError): a fresh token may be worth one more
// try.
func IsRefused(err error) bool {
	var r *refusedError
	var c *ChallengeError
	return errors.As(err, &r) || errors.As(err, &c)
}

// Refused marks err, a protocol's answer to a sign-in, as a refusal of the
// credentials (an IMAP NO to AUTHENTICATE, an SMTP 535), as opposed to a
// network failure: Source.SignIn then tries once more with a fresh token.
func Refused(err error) error {
	if err == nil {
		return nil
	}
	return &refusedError{err}
}

type refusedError struct{ err error }

func (e *refusedError) Error() string { return e.err.Error() }
func (e *refusedError) Unwrap() error { return e.err }
