package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/internal/graph"
	"github.com/csp/trigger/internal/mailauth"
)

// unreachableGrace is how long the mailbox or the mail server may be out of
// reach (a network fault, the provider's outage) before the coordinators
// are told: the watcher and the outbox retry by themselves, and most such
// faults pass within minutes. A refused sign-in is told at once: it never
// passes by itself.
const unreachableGrace = 10 * time.Minute

// mailHealth follows whether the service can read the mailbox (imap, or
// graph_read) and send mail (smtp, or graph_send), and why not: /readyz
// says which part is down and why, /metrics counts the refused sign-ins,
// and the coordinators are told once when a part stops working and once
// when it works again, through the outbox (an outage in the store: retries
// and restarts in between tell nobody twice).
type mailHealth struct {
	store  *sqlite.Store
	logger *slog.Logger
	grace  time.Duration
	now    func() time.Time
	// onSignInFailure counts a refused sign-in (for /metrics).
	onSignInFailure func(part, code string)

	mu    sync.Mutex
	parts map[string]*partHealth
}

type partHealth struct {
	down   bool
	reason string    // for /readyz: "sign-in refused (oauth2_invalid_secret, AADSTS7000215)"
	since  time.Time // when this run of failures began
	told   bool      // an outage is open: the coordinators were told
	began  time.Time // when the open outage began
}

func newMailHealth(ctx context.Context, store *sqlite.Store, logger *slog.Logger) (*mailHealth, error) {
	h := &mailHealth{store: store, logger: logger, grace: unreachableGrace, now: time.Now, parts: map[string]*partHealth{}}
	open, err := store.OpenOutages(ctx)
	if err != nil {
		return nil, err
	}
	for part, o := range open { // a restart during an outage: told already
		h.parts[part] = &partHealth{told: true, began: o.BeganAt}
	}
	return h, nil
}

func (h *mailHealth) part(name string) *partHealth {
	p := h.parts[name]
	if p == nil {
		p = &partHealth{}
		h.parts[name] = p
	}
	return p
}

// failed records that part failed with err. usedToken says whether it
// signed in with a token (a refusal after a good token points at the
// mailbox's permissions).
func (h *mailHealth) failed(part string, err error, usedToken bool) {
	f, ok := explainMailError(err, usedToken)
	if !ok {
		return
	}
	now := h.now()
	h.mu.Lock()
	p := h.part(part)
	if !p.down {
		p.down, p.since = true, now
	}
	p.reason = f.reason
	tell := !p.told && (f.signIn || now.Sub(p.since) >= h.grace)
	h.mu.Unlock()
	if f.signIn && h.onSignInFailure != nil {
		h.onSignInFailure(part, f.code)
	}
	h.logger.Warn("mail: "+part+" is not working", "part", part, "code", f.code, "reason", f.reason)
	if !tell {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := h.store.BeginOutage(ctx, part, f.code, outageText(part, f)); err != nil {
		h.logger.Error("mail: the coordinators could not be told of the outage; told at the next failure", "part", part, "err", err)
		return
	}
	h.mu.Lock()
	if !p.told {
		p.told, p.began = true, now
	}
	h.mu.Unlock()
}

// working records that part works (the mailbox is selected, an email was
// accepted).
func (h *mailHealth) working(part string) {
	h.mu.Lock()
	p := h.part(part)
	wasDown, told, began := p.down, p.told, p.began
	p.down, p.reason = false, ""
	h.mu.Unlock()
	if wasDown {
		h.logger.Info("mail: "+part+" works again", "part", part)
	}
	if !told {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := h.store.EndOutage(ctx, part, recoveryText(part, began)); err != nil {
		h.logger.Error("mail: the coordinators could not be told of the recovery; told at the next success", "part", part, "err", err)
		return
	}
	h.mu.Lock()
	p.told = false
	h.mu.Unlock()
}

// problem is /readyz's line for part, "" when it is not known to be down.
func (h *mailHealth) problem(part string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.parts[part]; p != nil && p.down {
		return part + ": " + p.reason
	}
	return ""
}

// mailFailure is a failure of the mailbox or the mail server, translated.
type mailFailure struct {
	code   string // mailauth's code, or unreachable
	codes  string // code and the provider's: "oauth2_invalid_secret, AADSTS7000215"
	reason string // /readyz's: "sign-in refused (…)", "not connected (timeout)"; no secret, no address
	advice string // what a person should do
	signIn bool   // a refused sign-in, which never passes by itself
}

// explainMailError translates an error of the IMAP watcher or of sending
// mail; ok is false for errors that say nothing of the part's health (a
// cancelled context, a refused recipient).
func explainMailError(err error, usedToken bool) (mailFailure, bool) {
	if err == nil || errors.Is(err, context.Canceled) {
		return mailFailure{}, false
	}
	var te *mailauth.Error
	if errors.As(err, &te) {
		f := mailFailure{code: te.Code, codes: te.Code, advice: te.Advice}
		if te.ProviderCode != "" {
			f.codes += ", " + te.ProviderCode
		}
		if te.Temporary {
			f.reason = "cannot get a sign-in token (" + f.codes + ")"
			return f, true
		}
		f.reason, f.signIn = "sign-in refused ("+f.codes+")", true
		return f, true
	}
	var ge *graph.Error
	if errors.As(err, &ge) {
		return explainGraphError(ge)
	}
	if p, ok := mailauth.ExplainSignIn(err, usedToken); ok {
		if p.Code == mailauth.CodeTokenExpired {
			return mailFailure{}, false // the watcher renews and reconnects
		}
		return mailFailure{code: p.Code, codes: p.Code, reason: "sign-in refused by the server (" + p.Code + ")", advice: p.Advice, signIn: true}, true
	}
	if mailauth.IsRefused(err) {
		c := mailauth.CodeSignInRefused
		return mailFailure{code: c, codes: c, reason: "sign-in refused by the server (" + c + ")", signIn: true}, true
	}
	if kind := networkKind(err); kind != "" {
		return mailFailure{code: "unreachable", codes: kind, reason: "not connected (" + kind + ")",
			advice: "Check that the server's address and port are right and that this machine can reach it (firewall, proxy, DNS); the service keeps retrying."}, true
	}
	return mailFailure{}, false
}

// Codes of Microsoft Graph's refusals of the service's set-up (for
// /readyz, metrics and the coordinators' notice).
const (
	codeGraphTokenRefused   = "graph_token_refused"
	codeGraphAccessDenied   = "graph_access_denied"
	codeGraphSendAsDenied   = "graph_send_as_denied"
	codeGraphMailboxMissing = "graph_mailbox_not_found"
)

// explainGraphError translates Graph's answers about the service's set-up
// (its token, its role on the mailbox, the mailbox) and its outages; ok is
// false for other answers, which are about one message (a recipient
// refused) and say nothing of the part's health.
func explainGraphError(ge *graph.Error) (mailFailure, bool) {
	refused := func(code, advice string) (mailFailure, bool) {
		codes := code + ", " + ge.Code
		return mailFailure{code: code, codes: codes, reason: "refused by Microsoft Graph (" + codes + ")", advice: advice, signIn: true}, true
	}
	switch {
	case ge.Status == http.StatusUnauthorized:
		return refused(codeGraphTokenRefused, "Graph refused the app's token, also a fresh one: check oauth2.tenant and oauth2.client_id against the app registration, and its secret or certificate.")
	case ge.Status == http.StatusForbidden && ge.Code == "ErrorSendAsDenied":
		return refused(codeGraphSendAsDenied, "Mail is sent as graph.mailbox itself: smtp.from's address must be that mailbox's.")
	case ge.Status == http.StatusForbidden:
		need := cmp.Or(ge.Need, "Mail.ReadWrite and Mail.Send")
		return refused(codeGraphAccessDenied, "The app has no "+need+" role on the mailbox. In Exchange Online PowerShell: New-ManagementRoleAssignment -App <its service principal> -Role \"Application "+need+"\" -CustomResourceScope <the mailbox's management scope>; Test-ServicePrincipalAuthorization -Identity <its service principal> -Resource <the mailbox> shows what it may do (README: Microsoft 365 through Graph). Changes can take an hour to apply.")
	case ge.Status == http.StatusNotFound && (ge.Code == "ErrorInvalidUser" || ge.Code == "MailboxNotEnabledForRESTAPI"):
		return refused(codeGraphMailboxMissing, "Graph knows no Exchange Online mailbox by graph.mailbox: check the address (the mailbox's user principal name), and that the mailbox is in Exchange Online, not on premises.")
	case ge.Temporary():
		codes := fmt.Sprintf("graph %d %s", ge.Status, ge.Code)
		return mailFailure{code: "unreachable", codes: codes, reason: "not answering (" + codes + ")",
			advice: "Microsoft Graph is throttling the app or having trouble; the service keeps retrying, waiting as long as Graph asks."}, true
	}
	return mailFailure{}, false
}

// networkKind names a failure to reach a server, "" when err is not one.
func networkKind(err error) string {
	var dns *net.DNSError
	var ne net.Error
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var rh tls.RecordHeaderError
	switch {
	case errors.As(err, &dns):
		return "dns"
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &hn):
		return "tls certificate"
	case errors.As(err, &rh):
		return "tls"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &ne):
		return "network"
	}
	s := err.Error()
	switch {
	case strings.Contains(s, "EOF"), strings.Contains(s, "connection reset"), strings.Contains(s, "broken pipe"),
		strings.Contains(s, "connection closed"), strings.Contains(s, "use of closed network connection"):
		return "connection lost"
	}
	return ""
}

// reads reports whether part is the reading of the mailbox (imap,
// graph_read), not the sending of mail.
func reads(part string) bool { return part == casefile.PartIMAP || part == casefile.PartGraphRead }

// outageText is the coordinators' message when part stops working.
func outageText(part string, f mailFailure) string {
	var b strings.Builder
	if reads(part) {
		b.WriteString("The Community Trigger is not reading its mailbox: ")
	} else {
		b.WriteString("The Community Trigger cannot send email: ")
	}
	if f.signIn {
		fmt.Fprintf(&b, "signing in to the %s was refused (%s).", partServer(part), f.codes)
	} else {
		fmt.Fprintf(&b, "the %s has not answered for some time (%s).", partServer(part), f.codes)
	}
	if reads(part) {
		b.WriteString(" New applications and replies wait in the mailbox; nothing is lost, and they are filed once it works again.")
	} else {
		b.WriteString(" Acknowledgements and letters wait in the outbox; nothing is lost, and they are sent once it works again.")
	}
	if f.advice != "" {
		b.WriteString("\nWhat to do: " + f.advice)
	}
	b.WriteString("\nThen run `trigger mail check` on the server: every line should show ✓. You will be told here when it works again.")
	return b.String()
}

// recoveryText is the coordinators' message when part works again.
func recoveryText(part string, began time.Time) string {
	since := ""
	if !began.IsZero() {
		since = " (it stopped at " + began.In(casefile.London).Format("15:04 on 2 January") + ")"
	}
	if reads(part) {
		return "The Community Trigger is reading its mailbox again" + since + ": the mail that waited is being filed now."
	}
	return "The Community Trigger is sending email again" + since + ": what waited in the outbox is being sent now."
}

func partServer(part string) string {
	switch part {
	case casefile.PartIMAP:
		return "mailbox (IMAP)"
	case casefile.PartGraphRead:
		return "mailbox (Microsoft Graph)"
	case casefile.PartGraphSend:
		return "mailbox's sending (Microsoft Graph)"
	}
	return "mail server (SMTP)"
}

// watchedSender is the email outbox's handler, telling mailHealth how
// sending goes: a refused sign-in or an unreachable server is the part's
// failure, an email accepted its recovery. Failures that are about one
// message (a refused recipient) say nothing of the part.
type watchedSender struct {
	casefile.Handler
	health *mailHealth
	part   string // smtp, graph_send
	token  bool   // signs in with a token
}

func (w *watchedSender) Handle(ctx context.Context, j casefile.Job) (casefile.JobDone, error) {
	done, err := w.Handler.Handle(ctx, j)
	switch {
	case err != nil:
		w.health.failed(w.part, err, w.token)
	case done.Sent != nil:
		w.health.working(w.part)
	}
	return done, err
}
