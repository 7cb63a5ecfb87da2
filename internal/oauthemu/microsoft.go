package oauthemu

import (
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// msError answers as Entra ID does: the AADSTS code leads the description,
// trace lines follow, error_codes repeats it.
func (s *Server) msError(w http.ResponseWriter, status int, errCode string, aadsts int, desc string) {
	now := s.Now().UTC().Format("2006-01-02 15:04:05Z")
	trace := randomString(8)
	writeJSON(w, status, map[string]any{
		"error":             errCode,
		"error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", aadsts, desc, trace, trace, now),
		"error_codes":       []int{aadsts},
		"timestamp":         now,
		"trace_id":          trace,
		"correlation_id":    trace,
		"error_uri":         fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", aadsts),
	})
}

// msFailure is an error answer decided under the lock, written after it.
type msFailure struct {
	status, aadsts int
	code, desc     string
}

// app finds the client in the tenant, answering the error when it cannot.
func (s *Server) app(w http.ResponseWriter, tenant, clientID string) (*appState, bool) {
	s.mu.Lock()
	a := s.apps[clientID]
	known := false
	for _, x := range s.apps {
		known = known || x.Tenant == tenant
	}
	s.mu.Unlock()
	switch {
	case clientID == "":
		s.msError(w, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	case !known:
		s.msError(w, 400, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
	case a == nil || a.Tenant != tenant:
		s.msError(w, 400, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", clientID, tenant))
	default:
		return a, true
	}
	return nil, false
}

func (s *Server) microsoftToken(w http.ResponseWriter, r *http.Request, tenant string) {
	switch grant := r.PostForm.Get("grant_type"); grant {
	case GrantClientCredentials:
		s.msClientCredentials(w, r, tenant)
	case GrantDeviceCode:
		s.msDeviceToken(w, r, tenant)
	case GrantRefreshToken:
		s.msRefresh(w, r, tenant)
	case "":
		s.msError(w, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
	default:
		s.msError(w, 400, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'.", grant))
	}
}

func (s *Server) msClientCredentials(w http.ResponseWriter, r *http.Request, tenant string) {
	id, secret, _ := clientSecret(r)
	a, ok := s.app(w, tenant, id)
	if !ok {
		return
	}
	scope := r.PostForm.Get("scope")
	if !strings.HasSuffix(scope, "/.default") || strings.Contains(scope, " ") {
		s.msError(w, 400, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope))
		return
	}
	assertion := r.PostForm.Get("client_assertion")
	switch {
	case assertion != "":
		if t := r.PostForm.Get("client_assertion_type"); t != assertionType {
			s.msError(w, 400, "invalid_request", 50027, "Invalid client_assertion_type: want "+assertionType+".")
			return
		}
		if !s.checkAssertion(w, r, a, assertion) {
			return
		}
	case secret != "":
		s.mu.Lock()
		expired := a.secretExpired
		s.mu.Unlock()
		if a.Secret == "" || secret != a.Secret {
			s.msError(w, 401, "invalid_client", 7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", a.ClientID))
			return
		}
		if expired {
			s.msError(w, 401, "invalid_client", 7000222, fmt.Sprintf("The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app.", a.ClientID))
			return
		}
	default:
		s.msError(w, 401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	s.mu.Lock()
	tok, life := s.issue(jwtPrefix, a.Mailbox, a.ClientID, scope)
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": life, "ext_expires_in": life, "access_token": tok})
}

// checkAssertion verifies a certificate's client assertion as Entra ID
// does: signed by the registered certificate (named by x5t or x5t#S256),
// for this token endpoint, by this client, within its time.
func (s *Server) checkAssertion(w http.ResponseWriter, r *http.Request, a *appState, assertion string) bool {
	j, err := parseJWT(assertion)
	if err != nil {
		s.msError(w, 400, "invalid_request", 50027, "JWT token is invalid or malformed.")
		return false
	}
	if a.Cert == nil {
		s.msError(w, 401, "invalid_client", 700027, "The certificate with identifier used to sign the client assertion is not registered on application.")
		return false
	}
	s1 := sha1.Sum(a.Cert.Raw)
	s256 := sha256.Sum256(a.Cert.Raw)
	x5t, _ := j.header["x5t"].(string)
	x5tS256, _ := j.header["x5t#S256"].(string)
	if x5t != b64url(s1[:]) && x5tS256 != b64url(s256[:]) {
		s.msError(w, 401, "invalid_client", 700027, "The certificate with identifier used to sign the client assertion is not registered on application.")
		return false
	}
	if err := j.verify(a.Cert.PublicKey); err != nil {
		s.msError(w, 401, "invalid_client", 700027, "Client assertion failed signature validation.")
		return false
	}
	aud, _ := j.claims["aud"].(string)
	iss, _ := j.claims["iss"].(string)
	sub, _ := j.claims["sub"].(string)
	jti, _ := j.claims["jti"].(string)
	if aud != endpointURL(r) {
		s.msError(w, 401, "invalid_client", 700212, fmt.Sprintf("No matching federated identity record found for presented assertion audience '%s'.", aud))
		return false
	}
	if iss != a.ClientID || sub != a.ClientID || jti == "" {
		s.msError(w, 401, "invalid_client", 700023, "Client assertion audience claim does not match Realm issuer, or iss/sub are not the client id, or it has no jti.")
		return false
	}
	now := s.Now()
	exp, okExp := j.time("exp")
	nbf, okNbf := j.time("nbf")
	if !okExp || !now.Before(exp) || (okNbf && now.Add(5*time.Minute).Before(nbf)) {
		s.msError(w, 401, "invalid_client", 700024, "Client assertion is not within its valid time range.")
		return false
	}
	return true
}

// endpointURL is the URL the client posted to: what aud must name.
func endpointURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.Path
}

func (s *Server) deviceCode(w http.ResponseWriter, r *http.Request, tenant string) {
	a, ok := s.app(w, tenant, r.PostForm.Get("client_id"))
	if !ok {
		return
	}
	scope := r.PostForm.Get("scope")
	if scope == "" {
		s.msError(w, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
		return
	}
	dc := randomString(64)
	uc := strings.ToUpper(randomString(9))
	uc = strings.NewReplacer("-", "A", "_", "B").Replace(uc)
	s.mu.Lock()
	s.devices[dc] = &deviceGrant{clientID: a.ClientID, scope: scope, userCode: uc, expires: s.now().Add(15 * time.Minute)}
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{
		"user_code": uc, "device_code": dc, "verification_uri": "https://microsoft.com/devicelogin",
		"expires_in": 900, "interval": 5,
		"message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code " + uc + " to authenticate.",
	})
}

func (s *Server) msDeviceToken(w http.ResponseWriter, r *http.Request, tenant string) {
	a, ok := s.app(w, tenant, r.PostForm.Get("client_id"))
	if !ok {
		return
	}
	if !a.PublicClient {
		s.msError(w, 401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	var fail *msFailure
	var answer map[string]any
	s.mu.Lock()
	g := s.devices[r.PostForm.Get("device_code")]
	switch {
	case g == nil || g.clientID != a.ClientID || g.redeemed:
		fail = &msFailure{400, 70000, "invalid_grant", "The provided value for the input parameter 'device_code' is not valid."}
	case !s.now().Before(g.expires):
		fail = &msFailure{400, 70019, "expired_token", "Verification code expired."}
	case g.declined:
		fail = &msFailure{400, 70000, "authorization_declined", "The user declined the sign-in."}
	case s.slowDown > 0:
		s.slowDown--
		fail = &msFailure{400, 70016, "slow_down", "OAuth 2.0 device flow error. Polling too fast: slow down."}
	case g.approvedBy == "":
		fail = &msFailure{400, 70016, "authorization_pending", "OAuth 2.0 device flow error. Authorization is pending. Continue polling."}
	default:
		g.redeemed = true
		tok, life := s.issue(jwtPrefix, g.approvedBy, a.ClientID, g.scope)
		answer = map[string]any{"token_type": "Bearer", "scope": g.scope, "expires_in": life, "ext_expires_in": life, "access_token": tok}
		if strings.Contains(" "+g.scope+" ", " offline_access ") {
			answer["refresh_token"] = s.newRefresh(g.approvedBy, a.ClientID, g.scope)
		}
	}
	s.mu.Unlock()
	if fail != nil {
		s.msError(w, fail.status, fail.code, fail.aadsts, fail.desc)
		return
	}
	writeJSON(w, 200, answer)
}

// msRefresh redeems a refresh token for a new access token and a new
// refresh token; the old one is refused from then on (Entra ID keeps old
// ones valid a while; a client that depends on that breaks here first). One
// unused for RefreshInactivity has lapsed (AADSTS700082).
func (s *Server) msRefresh(w http.ResponseWriter, r *http.Request, tenant string) {
	a, ok := s.app(w, tenant, r.PostForm.Get("client_id"))
	if !ok {
		return
	}
	inactivity := s.RefreshInactivity
	if inactivity <= 0 {
		inactivity = 90 * 24 * time.Hour
	}
	var fail *msFailure
	s.mu.Lock()
	rt := s.refresh[r.PostForm.Get("refresh_token")]
	now := s.now()
	switch {
	case rt == nil || rt.clientID != a.ClientID:
		fail = &msFailure{400, 9002313, "invalid_grant", "Invalid request. Request is malformed or invalid."}
	case rt.revoked || rt.used:
		fail = &msFailure{400, 50173, "invalid_grant", "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password."}
	case now.Sub(rt.lastUsed) >= inactivity:
		fail = &msFailure{400, 700082, "invalid_grant", fmt.Sprintf("The refresh token has expired due to inactivity. The token was issued on %s and was inactive for %d.00:00:00.",
			rt.lastUsed.UTC().Format("2006-01-02T15:04:05Z"), int(inactivity/(24*time.Hour)))}
	case !scopeSubset(r.PostForm.Get("scope"), rt.scope):
		fail = &msFailure{400, 70011, "invalid_scope", "The provided request must include a 'scope' input parameter within the scopes granted."}
	}
	var answer map[string]any
	if fail == nil {
		rt.used = true
		tok, life := s.issue(jwtPrefix, rt.user, a.ClientID, rt.scope)
		next := s.newRefresh(rt.user, a.ClientID, rt.scope)
		answer = map[string]any{"token_type": "Bearer", "scope": rt.scope, "expires_in": life, "ext_expires_in": life, "access_token": tok, "refresh_token": next}
	}
	s.mu.Unlock()
	if fail != nil {
		s.msError(w, fail.status, fail.code, fail.aadsts, fail.desc)
		return
	}
	writeJSON(w, 200, answer)
}

// scopeSubset reports whether the requested scopes (empty: all granted)
// were granted.
func scopeSubset(requested, granted string) bool {
	have := strings.Fields(granted)
	for _, s := range strings.Fields(requested) {
		found := false
		for _, g := range have {
			found = found || g == s
		}
		if !found {
			return false
		}
	}
	return true
}
