package casefile

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"strconv"
	"strings"
)

// OutgoingMessageID is the Message-ID of an email the system sends about a
// case: "ct." and 32 characters of an HMAC of the case, the kind of email
// and its outbox job under key (a secret the store makes once), at domain.
// It is the same for the same job, so a retry sends the same one; nobody
// without the key can write one, so nobody can thread mail into a case by
// guessing it; and "ct." on our domain still says it is ours. It names
// nothing about the case.
func OutgoingMessageID(key []byte, ref, kind string, job int64, domain string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(ref + "\x00" + kind + "\x00" + strconv.FormatInt(job, 10)))
	token := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(mac.Sum(nil)[:20])
	return "ct." + strings.ToLower(token) + "@" + domain
}
