package oauthemu_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/internal/oauthemu"
)

func post(t *testing.T, srv *httptest.Server, path string, form url.Values, basic ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s: the answer is not JSON: %v", path, err)
	}
	return resp.StatusCode, body
}

// TestIntrospection answers as Dovecot's oauth2 passdb needs: 200 with
// active true and the username for a live token, 200 with active false
// for anything else (a 4xx would be a temporary failure to Dovecot).
func TestIntrospection(t *testing.T) {
	e := oauthemu.New()
	e.TokenLifetime = time.Hour
	e.AddApp(oauthemu.App{ClientID: "c", Secret: "s&=x", Mailbox: "ct"})
	srv := httptest.NewServer(e)
	defer srv.Close()

	status, tok := post(t, srv, "/token", url.Values{"grant_type": {"client_credentials"}}, "c", "s&=x")
	access, _ := tok["access_token"].(string)
	if status != 200 || access == "" {
		t.Fatalf("client credentials with HTTP Basic: %d %v", status, tok)
	}
	status, body := post(t, srv, "/introspect", url.Values{"token": {access}, "client_id": {""}, "client_secret": {""}})
	if status != 200 || body["active"] != true || body["username"] != "ct" {
		t.Errorf("a live token: %d %v", status, body)
	}
	for name, token := range map[string]string{"unknown": "nope", "empty": ""} {
		if status, body := post(t, srv, "/introspect", url.Values{"token": {token}}); status != 200 || body["active"] != false || len(body) != 1 {
			t.Errorf("%s token: %d %v; want 200 {active:false}", name, status, body)
		}
	}
	e.Advance(time.Hour)
	if _, body := post(t, srv, "/introspect", url.Values{"token": {access}}); body["active"] != false {
		t.Errorf("an expired token: %v", body)
	}
	if status, body := post(t, srv, "/token", url.Values{"grant_type": {"client_credentials"}}, "c", "wrong"); status != 401 || body["error"] != "invalid_client" {
		t.Errorf("a wrong secret: %d %v", status, body)
	}
}

// TestMicrosoftErrorBody has Entra ID's shape: the AADSTS code first in the
// description, trace lines after it, error_codes.
func TestMicrosoftErrorBody(t *testing.T) {
	e := oauthemu.New()
	e.AddApp(oauthemu.App{Tenant: "t", ClientID: "c", Secret: "s"})
	srv := httptest.NewServer(e)
	defer srv.Close()
	status, body := post(t, srv, "/t/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"c"}, "client_secret": {"x"}, "scope": {"https://outlook.office365.com/.default"},
	})
	desc, _ := body["error_description"].(string)
	codes, _ := body["error_codes"].([]any)
	if status != 401 || body["error"] != "invalid_client" || !strings.HasPrefix(desc, "AADSTS7000215: ") || !strings.Contains(desc, "\r\nTrace ID: ") || len(codes) != 1 || codes[0] != 7000215.0 {
		t.Errorf("%d %v", status, body)
	}
}
