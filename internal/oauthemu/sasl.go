package oauthemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// MaxInitialResponse is the longest initial response (decoded) the SASL
// server takes on the AUTH line: Dovecot submission refuses AUTH lines over
// about 1 KB ("500 5.5.2 Line too long") and Gmail answers 555, so a client
// must send a token, which can pass 4 KB, after the 334 instead.
const MaxInitialResponse = 700

// Verify reports whether token is an active token of the emulator's for
// user (case-insensitive, as mail servers compare mailbox names).
func (s *Server) Verify(user, token string) error {
	who, ok := s.TokenUser(token)
	if !ok || !strings.EqualFold(who, user) {
		return errors.New("token refused")
	}
	return nil
}

// NewSASLServer is the server side of XOAUTH2 or OAUTHBEARER for a go-smtp
// server, as Gmail runs it: verify checks the user and token; a refused
// token gets a base64 JSON error challenge, the client's dummy answer then
// gets 535 5.7.8. An initial response longer than MaxInitialResponse is
// refused like a too long line.
func NewSASLServer(mech string, verify func(user, token string) error) sasl.Server {
	return &saslServer{mech: strings.ToUpper(mech), verify: verify}
}

type saslServer struct {
	mech    string
	verify  func(user, token string) error
	started bool
	failed  bool
}

var (
	errLineTooLong = &smtp.SMTPError{Code: 500, EnhancedCode: smtp.EnhancedCode{5, 5, 2}, Message: "Line too long"}
	errSyntax      = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 5, 2}, Message: "Invalid SASL response"}
	errRefused     = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Username and Password not accepted"}
)

func (s *saslServer) Next(response []byte) ([]byte, bool, error) {
	if s.failed {
		want := []byte{}
		if s.mech == sasl.OAuthBearer {
			want = []byte{0x01}
		}
		if !bytes.Equal(response, want) {
			return nil, false, errSyntax
		}
		return nil, false, errRefused
	}
	first := !s.started
	s.started = true
	if first && response == nil {
		return []byte{}, false, nil // 334 with an empty challenge: the client sends the token
	}
	if first && len(response) > MaxInitialResponse {
		return nil, false, errLineTooLong
	}
	user, token, ok := parseBearer(s.mech, response)
	if !ok {
		return nil, false, errSyntax
	}
	if err := s.verify(user, token); err != nil {
		s.failed = true
		status := "401"
		if s.mech == sasl.OAuthBearer {
			status = "invalid_token"
		}
		challenge, _ := json.Marshal(map[string]string{"status": status, "schemes": "bearer", "scope": "https://mail.google.com/"})
		return challenge, false, nil
	}
	return nil, true, nil
}

// parseBearer reads user and token from an XOAUTH2 or OAUTHBEARER message.
func parseBearer(mech string, msg []byte) (user, token string, ok bool) {
	s := string(msg)
	if !strings.HasSuffix(s, "\x01\x01") {
		return "", "", false
	}
	fields := strings.Split(strings.TrimSuffix(s, "\x01\x01"), "\x01")
	switch mech {
	case "XOAUTH2":
		if len(fields) != 2 || !strings.HasPrefix(fields[0], "user=") {
			return "", "", false
		}
		user = strings.TrimPrefix(fields[0], "user=")
		fields = fields[1:]
	case sasl.OAuthBearer:
		gs2 := strings.Split(fields[0], ",")
		if len(gs2) < 3 || gs2[0] != "n" || !strings.HasPrefix(gs2[1], "a=") {
			return "", "", false
		}
		user = strings.NewReplacer("=2C", ",", "=3D", "=").Replace(strings.TrimPrefix(gs2[1], "a="))
		fields = fields[1:]
	default:
		return "", "", false
	}
	for _, f := range fields {
		if t, found := strings.CutPrefix(f, "auth=Bearer "); found {
			token = t
		}
	}
	return user, token, user != "" && token != ""
}
