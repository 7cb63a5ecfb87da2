package mailauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/oauth2"
)

// Error codes of getting a token: stable, safe for /readyz and metrics.
const (
	CodeInvalidSecret        = "oauth2_invalid_secret"
	CodeSecretExpired        = "oauth2_secret_expired"
	CodeAppNotFound          = "oauth2_app_not_found"
	CodeTenantNotFound       = "oauth2_tenant_not_found"
	CodeCertificateRefused   = "oauth2_certificate_refused"
	CodeConsentMissing       = "oauth2_consent_missing"
	CodeInvalidScope         = "oauth2_invalid_scope"
	CodePublicClientDisabled = "oauth2_public_client_disabled"
	CodeBlockedByPolicy      = "oauth2_blocked_by_policy"
	CodeRefreshExpired       = "oauth2_refresh_token_expired"
	CodeGrantRevoked         = "oauth2_grant_revoked"
	CodeNotSignedIn          = "oauth2_not_signed_in"
	CodeDeviceCodeExpired    = "oauth2_device_code_expired"
	CodeDeclined             = "oauth2_declined"
	CodeDelegationMissing    = "oauth2_delegation_missing"
	CodeInvalidSubject       = "oauth2_invalid_subject"
	CodeInvalidKey           = "oauth2_invalid_key"
	CodeRefused              = "oauth2_refused"     // any other refusal
	CodeUnreachable          = "oauth2_unreachable" // network, timeout, 5xx: temporary
	CodeStore                = "oauth2_store"       // the refresh token could not be read or written
)

// Error is a failure to get a token, translated into what to do. Its text
// carries the provider's error (its first line: no trace ids) and never a
// secret.
type Error struct {
	Op           string // what was being done: "get a token", "device login" …
	Provider     string
	Code         string // one of the Code constants
	ProviderCode string // AADSTS7000215, invalid_grant …
	Description  string // the provider's description, first line
	Advice       string // what a person should do
	Temporary    bool   // worth retrying as it is (network, the provider's fault)
	Err          error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "oauth2: %s (%s): ", e.Op, e.Provider)
	switch {
	case e.Description != "":
		if e.ProviderCode != "" && !strings.HasPrefix(e.Description, e.ProviderCode) {
			b.WriteString(e.ProviderCode + ": ")
		}
		b.WriteString(e.Description)
	case e.ProviderCode != "":
		b.WriteString(e.ProviderCode)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString(e.Code)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of an *Error in err's chain, "" for none.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

var aadstsRE = regexp.MustCompile(`AADSTS(\d+)`)

// microsoftAdvice maps AADSTS codes to a code and advice.
var microsoftAdvice = map[string]struct{ code, advice string }{
	"7000215": {CodeInvalidSecret, "The client secret is wrong. In the app registration (Certificates & secrets) copy the secret's Value, not its Secret ID, into TRIGGER_OAUTH2_CLIENT_SECRET."},
	"7000222": {CodeSecretExpired, "The client secret has expired. Add a new client secret in the app registration (Certificates & secrets), put its Value in TRIGGER_OAUTH2_CLIENT_SECRET, and restart."},
	"700016":  {CodeAppNotFound, "No application with this oauth2.client_id exists in the tenant oauth2.tenant. Check both against the app registration's Overview (Application (client) ID, Directory (tenant) ID), and that an administrator consented in this tenant."},
	"90002":   {CodeTenantNotFound, "The tenant oauth2.tenant does not exist. Use the Directory (tenant) ID from the app registration's Overview, or the organisation's primary domain."},
	"900023":  {CodeTenantNotFound, "oauth2.tenant is not a valid tenant id or domain. Use the Directory (tenant) ID from the app registration's Overview."},
	"700027":  {CodeCertificateRefused, "Microsoft refused the certificate assertion: upload this certificate (its public part, .cer or .pem) to the app registration under Certificates & secrets, or check it is the one in TRIGGER_OAUTH2_CERTIFICATE."},
	"700024":  {CodeCertificateRefused, "Microsoft refused the certificate assertion as outside its valid time: check this machine's clock."},
	"65001":   {CodeConsentMissing, "The application has no consent for the mail permissions: in the app registration (API permissions) add Office 365 Exchange Online IMAP.AccessAsApp and SMTP.SendAsApp (app-only) or IMAP.AccessAsUser.All and SMTP.Send (delegated), then Grant admin consent."},
	"500011":  {CodeConsentMissing, "The tenant has no Office 365 Exchange Online service principal for this app's permissions: grant admin consent for the app's Exchange permissions in this tenant."},
	"70011":   {CodeInvalidScope, "The scope is not valid: leave oauth2.scopes empty for the defaults (app-only tokens need https://outlook.office365.com/.default)."},
	"1002012": {CodeInvalidScope, "The scope is not valid for app-only sign-in: leave oauth2.scopes empty (https://outlook.office365.com/.default)."},
	"7000218": {CodePublicClientDisabled, "The device code sign-in needs the app registration to allow public client flows: Authentication > Advanced settings > Allow public client flows = Yes."},
	"53003":   {CodeBlockedByPolicy, "A Conditional Access policy blocked the sign-in: ask the tenant's administrator to allow this application (or this location) to sign in."},
	"700082":  {CodeRefreshExpired, "The stored sign-in lapsed after 90 days without use. Run `trigger mail login` again."},
	"50173":   {CodeGrantRevoked, "The stored sign-in was revoked (a password change, a reset, or an administrator). Run `trigger mail login` again."},
	"70008":   {CodeGrantRevoked, "The stored sign-in has expired or was revoked. Run `trigger mail login` again."},
	"50076":   {CodeBlockedByPolicy, "Multi-factor authentication is required: run `trigger mail login` again and complete it."},
	"70019":   {CodeDeviceCodeExpired, "The code was not entered in time. Run `trigger mail login` again and enter the code within 15 minutes."},
}

// googleAdvice maps Google's error (and a piece of its description) to a
// code and advice.
func googleAdvice(code, desc string) (string, string) {
	d := strings.ToLower(desc)
	switch {
	case code == "unauthorized_client":
		return CodeDelegationMissing, "The service account may not act for the mailbox: in the Google Admin console (Security > API controls > Domain-wide delegation) add the service account's client ID with the scope https://mail.google.com/."
	case strings.Contains(d, "invalid email or user id"), strings.Contains(d, "not a valid email"):
		return CodeInvalidSubject, "oauth2.subject is not a user of the Google Workspace domain: set it to the mailbox's address."
	case strings.Contains(d, "invalid jwt signature"), strings.Contains(d, "account not found"), code == "invalid_client":
		return CodeInvalidKey, "Google does not know this service account key: it was deleted or the account disabled. Create a new JSON key for the service account and put it in TRIGGER_OAUTH2_SERVICE_ACCOUNT."
	case strings.Contains(d, "invalid jwt"):
		return CodeInvalidKey, "Google refused the signed request as outside its valid time: check this machine's clock."
	case code == "invalid_scope":
		return CodeInvalidScope, "The scope is not valid: leave oauth2.scopes empty (https://mail.google.com/)."
	}
	return CodeRefused, "Google refused the service account's sign-in: check TRIGGER_OAUTH2_SERVICE_ACCOUNT, oauth2.subject and the domain-wide delegation."
}

// translate turns an error from a token endpoint into an *Error.
func translate(op, provider string, err error) error {
	if err == nil {
		return nil
	}
	var done *Error
	if errors.As(err, &done) {
		return err
	}
	e := &Error{Op: op, Provider: provider, Err: err}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			e.Code, e.Temporary = CodeUnreachable, true
			e.Advice = "The token endpoint did not answer in time; the service retries."
			return e
		}
		e.Code, e.Temporary = CodeUnreachable, true
		e.Advice = "The token endpoint could not be reached: check the network, DNS and any proxy between this machine and " + provider + "; the service retries."
		return e
	}
	code, desc := re.ErrorCode, re.ErrorDescription
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
	}
	if json.Unmarshal(re.Body, &body) == nil {
		if code == "" {
			code, desc = body.Error, body.Description
		}
	}
	e.Description = firstLine(desc)
	e.ProviderCode = code
	if m := aadstsRE.FindStringSubmatch(desc); m != nil {
		e.ProviderCode = "AADSTS" + m[1]
	} else if len(body.Codes) > 0 {
		e.ProviderCode = "AADSTS" + strconv.Itoa(body.Codes[0])
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	if status >= 500 || status == 429 || code == "temporarily_unavailable" {
		e.Code, e.Temporary = CodeUnreachable, true
		e.Advice = "The token endpoint is having trouble (HTTP " + strconv.Itoa(status) + "); the service retries."
		return e
	}
	if strings.HasPrefix(e.ProviderCode, "AADSTS") {
		if a, ok := microsoftAdvice[strings.TrimPrefix(e.ProviderCode, "AADSTS")]; ok {
			e.Code, e.Advice = a.code, a.advice
			return e
		}
	}
	if provider == Google {
		e.Code, e.Advice = googleAdvice(code, desc)
		return e
	}
	switch code {
	case "invalid_client":
		e.Code, e.Advice = CodeInvalidSecret, "The token endpoint refused the client: check oauth2.client_id and TRIGGER_OAUTH2_CLIENT_SECRET."
	case "invalid_grant":
		e.Code, e.Advice = CodeGrantRevoked, "The stored sign-in is no longer valid. Run `trigger mail login` again."
	case "invalid_scope":
		e.Code, e.Advice = CodeInvalidScope, "The scope is not valid: check oauth2.scopes."
	case "unauthorized_client":
		e.Code, e.Advice = CodeConsentMissing, "The client may not use this grant or scope: check the application's permissions at the provider."
	case "expired_token":
		e.Code, e.Advice = CodeDeviceCodeExpired, "The code was not entered in time. Run `trigger mail login` again."
	case "access_denied", "authorization_declined":
		e.Code, e.Advice = CodeDeclined, "The sign-in was declined. Run `trigger mail login` again and accept."
	default:
		e.Code, e.Advice = CodeRefused, "The token endpoint refused the request: check the [oauth2] settings and secrets."
	}
	return e
}

// firstLine is a provider's error description without the trace and
// correlation ids Microsoft appends on further lines, at most 300 bytes.
func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, " Trace ID:"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
