package graphemu

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"net/mail"
	"strings"
)

// sendMail takes a MIME message (base64 in a text/plain body), checks it as
// Exchange would, and saves it to Sent Items. Nothing leaves the emulator:
// Sent is the outside world's view of what was sent.
func (e *Emulator) sendMail(w http.ResponseWriter, r *http.Request, mb *mailbox) *apiError {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "text/plain":
	case "application/json":
		return errJSONSendMail
	default:
		return errBadMediaType
	}
	body, ae := e.readBody(r)
	if ae != nil {
		return ae
	}
	clean := strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, string(body))
	raw, err := base64.StdEncoding.DecodeString(clean)
	if err != nil || len(raw) == 0 {
		return errBadBase64
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return errBadMIME
	}
	recipients := 0
	for _, field := range []string{"To", "Cc", "Bcc"} {
		if m.Header.Get(field) == "" {
			continue
		}
		list, err := m.Header.AddressList(field)
		if err != nil {
			return errNoRecipients
		}
		recipients += len(list)
	}
	if recipients == 0 {
		return errNoRecipients
	}
	if from := m.Header.Get("From"); from != "" {
		a, err := mail.ParseAddress(from)
		if err != nil || !strings.EqualFold(a.Address, mb.upn) {
			return errSendAsDenied
		}
	}
	if strings.TrimSpace(m.Header.Get("Message-Id")) == "" {
		raw = append(fmt.Appendf(nil, "Message-ID: <%s@emulator.prod.outlook.com>\r\n", strings.ToLower(randomString(24))), raw...)
	}
	e.mu.Lock()
	e.storeLocked(mb, mb.wellKnown["sentitems"], raw)
	e.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	return nil
}
