package mailauth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// certificate is a client certificate with its private key: the app's
// credential in Microsoft Entra ID (the certificate is uploaded to the app
// registration; the key stays here).
type certificate struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

// parseCertificate reads PEM holding one CERTIFICATE and its RSA private key
// (PKCS #8 "PRIVATE KEY" or PKCS #1 "RSA PRIVATE KEY"), in any order.
func parseCertificate(pemText string) (*certificate, error) {
	var c certificate
	rest := []byte(pemText)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			if c.cert != nil {
				continue // a chain: the first is the app's
			}
			cert, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("the certificate does not parse: %w", err)
			}
			c.cert = cert
		case "PRIVATE KEY", "RSA PRIVATE KEY":
			key, err := parseRSAKey(b)
			if err != nil {
				return nil, err
			}
			c.key = key
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("the private key is encrypted: give it unencrypted (openssl pkcs8 -nocrypt)")
		}
	}
	switch {
	case c.cert == nil:
		return nil, errors.New("no CERTIFICATE block in the PEM")
	case c.key == nil:
		return nil, errors.New("no PRIVATE KEY block in the PEM: the certificate's private key must be with it")
	}
	pub, ok := c.cert.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&c.key.PublicKey) {
		return nil, errors.New("the private key is not the certificate's")
	}
	return &c, nil
}

func parseRSAKey(b *pem.Block) (*rsa.PrivateKey, error) {
	if b.Type == "RSA PRIVATE KEY" {
		k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the private key does not parse: %w", err)
		}
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the private key does not parse: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the private key is %T: Microsoft and Google want RSA", k)
	}
	return rk, nil
}

// assertion returns a client assertion for Microsoft's token endpoint
// (private_key_jwt): RS256, with both thumbprint headers Microsoft's
// "certificate credentials" page names, x5t (SHA-1, the long-standing one)
// and x5t#S256 (SHA-256, the newer one); aud is the token endpoint; iss and
// sub are the client id; a fresh jti; valid for 10 minutes.
func (c *certificate) assertion(clientID, tokenURL string, now time.Time) (string, error) {
	s1 := sha1.Sum(c.cert.Raw)
	s256 := sha256.Sum256(c.cert.Raw)
	header := map[string]string{
		"alg":      "RS256",
		"typ":      "JWT",
		"x5t":      b64url(s1[:]),
		"x5t#S256": b64url(s256[:]),
	}
	jti := make([]byte, 16)
	rand.Read(jti)
	claims := map[string]any{
		"aud": tokenURL,
		"iss": clientID,
		"sub": clientID,
		"jti": hex.EncodeToString(jti),
		"nbf": now.Unix(),
		"iat": now.Unix(),
		"exp": now.Add(10 * time.Minute).Unix(),
	}
	return signRS256(c.key, header, claims)
}

// signRS256 makes a compact JWS: base64url(header).base64url(claims).sig.
func signRS256(key *rsa.PrivateKey, header, claims any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signed := b64url(h) + "." + b64url(p)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign the assertion: %w", err)
	}
	return signed + "." + b64url(sig), nil
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// serviceAccount is the part of a Google service account key file we use.
type serviceAccount struct {
	Type         string `json:"type"`
	ClientEmail  string `json:"client_email"`
	ClientID     string `json:"client_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	TokenURI     string `json:"token_uri"`
}

func parseServiceAccount(js string) (*serviceAccount, error) {
	var sa serviceAccount
	if err := json.Unmarshal([]byte(js), &sa); err != nil {
		return nil, fmt.Errorf("not a service account key file (JSON): %w", err)
	}
	switch {
	case sa.Type != "service_account":
		return nil, fmt.Errorf("the key file's type is %q, not \"service_account\"", sa.Type)
	case sa.ClientEmail == "":
		return nil, errors.New("the key file has no client_email")
	case sa.PrivateKey == "":
		return nil, errors.New("the key file has no private_key")
	}
	b, _ := pem.Decode([]byte(sa.PrivateKey))
	if b == nil {
		return nil, errors.New("the key file's private_key is not PEM")
	}
	if _, err := parseRSAKey(b); err != nil {
		return nil, fmt.Errorf("the key file's private_key: %w", err)
	}
	return &sa, nil
}
