package oauthemu

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// signedJWT is a compact JWS as received.
type signedJWT struct {
	header, claims map[string]any
	signed         string // header.payload, what the signature covers
	sig            []byte
}

func parseJWT(s string) (*signedJWT, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, errors.New("not three parts")
	}
	j := &signedJWT{signed: parts[0] + "." + parts[1]}
	for i, dst := range []*map[string]any{&j.header, &j.claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return nil, fmt.Errorf("part %d: %w", i, err)
		}
		d := json.NewDecoder(strings.NewReader(string(b)))
		d.UseNumber()
		if err := d.Decode(dst); err != nil {
			return nil, fmt.Errorf("part %d: %w", i, err)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	j.sig = sig
	return j, nil
}

// verify checks an RS256 (or PS256) signature with key.
func (j *signedJWT) verify(key any) error {
	pub, ok := key.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("the key is %T, not RSA", key)
	}
	sum := sha256.Sum256([]byte(j.signed))
	switch j.header["alg"] {
	case "RS256":
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], j.sig)
	case "PS256":
		return rsa.VerifyPSS(pub, crypto.SHA256, sum[:], j.sig, nil)
	default:
		return fmt.Errorf("alg %v is not RS256 or PS256", j.header["alg"])
	}
}

// time reads a NumericDate claim.
func (j *signedJWT) time(claim string) (time.Time, bool) {
	n, ok := j.claims[claim].(json.Number)
	if !ok {
		return time.Time{}, false
	}
	v, err := n.Int64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(v, 0), true
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
