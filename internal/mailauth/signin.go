package mailauth

import (
	"errors"
	"strings"
)

// Codes of sign-in failures at the mail servers, for `trigger mail check`
// and /readyz.
const (
	CodeTokenExpired        = "token_expired"         // Exchange ended the session: renew and reconnect
	CodeTokenRefused        = "token_refused"         // the server refused the token itself
	CodeMailboxPermission   = "mailbox_permission"    // a good token, but no right to this mailbox
	CodeSMTPAuthDisabled    = "smtp_auth_disabled"    // 535 5.7.139 SmtpClientAuthentication is disabled
	CodeSMTPAuthBlocked     = "smtp_auth_blocked"     // 535 5.7.139 security defaults / policy
	CodeBasicAuthDisabled   = "basic_auth_disabled"   // 550 5.7.30: passwords are no longer accepted
	CodeAppPasswordRequired = "app_password_required" // Google 534 5.7.9
	CodeSignInRefused       = "signin_refused"        // refused, reason not known
)

// SignInProblem is a mail server's refusal of a sign-in, translated.
type SignInProblem struct {
	Code   string
	Advice string
}

// ExplainSignIn translates an IMAP or SMTP sign-in failure (or a session
// ended by the server) into what to do; ok is false when err is none of the
// failures it knows. usedToken says whether the sign-in used a token (a
// failure after a good token points at mailbox permissions, one after a
// password at the end of password sign-in). Token errors (*Error) carry
// their own advice.
func ExplainSignIn(err error, usedToken bool) (p SignInProblem, ok bool) {
	if err == nil {
		return SignInProblem{}, false
	}
	var te *Error
	if errors.As(err, &te) {
		return SignInProblem{Code: te.Code, Advice: te.Advice}, true
	}
	msg := err.Error()
	low := strings.ToLower(msg)
	has := func(s ...string) bool {
		for _, x := range s {
			if !strings.Contains(low, strings.ToLower(x)) {
				return false
			}
		}
		return true
	}
	var ce *ChallengeError
	switch {
	case has("AccessTokenExpired"):
		return SignInProblem{CodeTokenExpired, "The server ended the session because its token expired: the service renews the token and reconnects; nothing to do."}, true
	// go-smtp's errors leave the enhanced code (5.7.139) out of their
	// text: match the words.
	case has("SmtpClientAuthentication is disabled"):
		return SignInProblem{CodeSMTPAuthDisabled, "SMTP AUTH is disabled for the mailbox or the whole tenant. In Exchange Online PowerShell: Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false (and check Get-TransportConfig | Format-List SmtpClientAuthenticationDisabled for the tenant)."}, true
	case has("security defaults policy"), has("did not meet the criteria to be authenticated"):
		return SignInProblem{CodeSMTPAuthBlocked, "Microsoft's security defaults or a Conditional Access policy block SMTP AUTH for this account: exclude the mailbox or the app from the policy, or turn security defaults off."}, true
	case has("5.7.30 "), has("basic authentication is not supported"):
		return SignInProblem{CodeBasicAuthDisabled, "The server no longer accepts a password: set auth = \"oauth2\" with an [oauth2] section (see README, Microsoft 365)."}, true
	case has("5.7.9 "), has("application-specific password required"):
		return SignInProblem{CodeAppPasswordRequired, "Google no longer accepts the account's password: set auth = \"oauth2\" with provider = \"google\" (see README, Google Workspace)."}, true
	case errors.As(err, &ce):
		return SignInProblem{CodeTokenRefused, "The server refused the token (" + ce.Error() + "): it expired, was revoked, or was issued for another mailbox or scope. Check that imap.username/smtp.username is the mailbox the token may open."}, true
	case usedToken && (has("AUTHENTICATE failed") || has("AUTHENTICATIONFAILED") || has("535") || has("5.7.3") || has("5.7.8")):
		return SignInProblem{CodeMailboxPermission, "The token was issued but the mail server refused it for this mailbox. For Microsoft 365 app-only access: register the app's service principal in Exchange (New-ServicePrincipal -AppId <client id> -ObjectId <enterprise app object id>) and give it the mailbox (Add-MailboxPermission -Identity <mailbox> -User <service principal id> -AccessRights FullAccess; for sending, Add-RecipientPermission -Trustee <service principal id> -AccessRights SendAs). For Google: check the domain-wide delegation and oauth2.subject."}, true
	case !usedToken && (has("LOGIN failed") || has("AUTHENTICATE failed") || has("AUTHENTICATIONFAILED") || has("535")):
		return SignInProblem{CodeSignInRefused, "The server refused the user name and password. Microsoft 365 and Google Workspace no longer accept passwords for IMAP: use auth = \"oauth2\"."}, true
	}
	return SignInProblem{}, false
}
