package oauthemu

import (
	"net/http"
	"strings"
	"time"
)

func googleError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// googleToken serves /token: Google's JWT bearer grant for service
// accounts, and client credentials for a custom provider's clients.
func (s *Server) googleToken(w http.ResponseWriter, r *http.Request) {
	switch grant := r.PostForm.Get("grant_type"); grant {
	case GrantJWTBearer:
		s.jwtBearer(w, r)
	case GrantClientCredentials:
		s.customClientCredentials(w, r)
	default:
		googleError(w, 400, "unsupported_grant_type", "Invalid grant_type: "+grant)
	}
}

// jwtBearer checks the assertion as Google does: signed by a known key of
// a known service account, for this endpoint, short-lived; a subject needs
// domain-wide delegation for the scopes and must be a user of the domain.
func (s *Server) jwtBearer(w http.ResponseWriter, r *http.Request) {
	j, err := parseJWT(r.PostForm.Get("assertion"))
	if err != nil {
		googleError(w, 400, "invalid_grant", "Invalid JWT: "+err.Error())
		return
	}
	iss, _ := j.claims["iss"].(string)
	aud, _ := j.claims["aud"].(string)
	sub, _ := j.claims["sub"].(string)
	scope, _ := j.claims["scope"].(string)
	kid, _ := j.header["kid"].(string)
	s.mu.Lock()
	sa := s.sas[iss]
	s.mu.Unlock()
	if sa == nil {
		googleError(w, 400, "invalid_grant", "Invalid grant: account not found")
		return
	}
	if (sa.KeyID != "" && kid != sa.KeyID) || j.verify(sa.Key) != nil {
		googleError(w, 400, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	if aud != endpointURL(r) {
		googleError(w, 400, "invalid_grant", "Invalid JWT: Failed audience check. The right audience is "+endpointURL(r))
		return
	}
	now := s.Now()
	iat, ok1 := j.time("iat")
	exp, ok2 := j.time("exp")
	if !ok1 || !ok2 || !now.Before(exp) || exp.Sub(iat) > time.Hour || iat.After(now.Add(5*time.Minute)) {
		googleError(w, 400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
		return
	}
	if scope == "" {
		googleError(w, 400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
		return
	}
	user := iss
	if sub != "" {
		if !sa.Delegated || !scopeSubset(scope, strings.Join(sa.Scopes, " ")) {
			googleError(w, 401, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.")
			return
		}
		s.mu.Lock()
		known := s.users[strings.ToLower(sub)]
		s.mu.Unlock()
		if !known {
			googleError(w, 400, "invalid_grant", "Invalid email or User ID")
			return
		}
		user = sub
	}
	s.mu.Lock()
	tok, life := s.issue("ya29.", user, iss, scope)
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"access_token": tok, "expires_in": life, "token_type": "Bearer"})
}

// customClientCredentials is RFC 6749 §4.4 for a client without a tenant:
// the secret in HTTP Basic or the form; the scope parameter optional.
func (s *Server) customClientCredentials(w http.ResponseWriter, r *http.Request) {
	id, secret, _ := clientSecret(r)
	s.mu.Lock()
	a := s.apps[id]
	s.mu.Unlock()
	if a == nil || a.Tenant != "" || a.Secret == "" || secret != a.Secret {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		writeJSON(w, 401, map[string]string{"error": "invalid_client", "error_description": "Client authentication failed."})
		return
	}
	s.mu.Lock()
	tok, life := s.issue("", a.Mailbox, a.ClientID, r.PostForm.Get("scope"))
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"access_token": tok, "expires_in": life, "token_type": "Bearer"})
}
