package oauthemu

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"time"
)

// NewCertificate makes an RSA key and a self-signed certificate for an
// app's certificate credential, valid for the given time from now. It
// returns the PEM a client is configured with (certificate and private key)
// and the certificate to register with AddApp.
func NewCertificate(valid time.Duration) (pemText string, cert *x509.Certificate, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "Community Trigger mail"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(valid),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", nil, err
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		return "", nil, err
	}
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", nil, err
	}
	pemText = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}))
	return pemText, cert, nil
}

// NewServiceAccountKey makes a Google service account key: the JSON key
// file a client is configured with, and the account to register with
// AddServiceAccount (fill in Scopes and Delegated). tokenURI goes into the
// file as Google's does.
func NewServiceAccountKey(email, tokenURI string) (keyJSON string, sa ServiceAccount, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", ServiceAccount{}, err
	}
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", ServiceAccount{}, err
	}
	kid := randomString(40)
	b, err := json.MarshalIndent(map[string]string{
		"type":           "service_account",
		"project_id":     "community-trigger",
		"private_key_id": kid,
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})),
		"client_email":   email,
		"client_id":      "1" + randomString(20),
		"auth_uri":       "https://accounts.google.com/o/oauth2/auth",
		"token_uri":      tokenURI,
	}, "", "  ")
	if err != nil {
		return "", ServiceAccount{}, err
	}
	return string(b), ServiceAccount{Email: email, KeyID: kid, Key: &key.PublicKey}, nil
}
