package casefile

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"
)

// Config is the whole configuration file (TOML; README lists every key). The
// adapters' sections are plain data here, so every part of the program reads
// one validated value.
type Config struct {
	Database    DatabaseConfig    `toml:"database"`
	Mail        MailConfig        `toml:"mail"`
	IMAP        IMAPConfig        `toml:"imap"`
	Intake      IntakeConfig      `toml:"intake"`
	SMTP        SMTPConfig        `toml:"smtp"`
	Graph       GraphConfig       `toml:"graph"`
	OAuth2      OAuth2Config      `toml:"oauth2"`
	Slack       SlackConfig       `toml:"slack"`
	HTTP        HTTPConfig        `toml:"http"`
	Roles       RolesConfig       `toml:"roles"`
	Agencies    []Agency          `toml:"agency"`
	Threshold   ThresholdRules    `toml:"threshold"`
	Timescales  Timescales        `toml:"timescales"`
	Retention   RetentionConfig   `toml:"retention"`
	Calendar    CalendarConfig    `toml:"calendar"`
	Partnership PartnershipConfig `toml:"partnership"`
	// FurtherReview names who hears each kind of review a resident may ask
	// for: of the review's outcome, and of a threshold-not-met decision.
	FurtherReview FurtherReviewConfig `toml:"further_review"`
	// Officers are the people who may be a case's contact officer, with the
	// direct contact details letters give.
	Officers []Officer     `toml:"officer"`
	Log      LogConfig     `toml:"log"`
	Letters  LettersConfig `toml:"letters"`
	Outbox   OutboxConfig  `toml:"outbox"`

	// Secrets come from the environment (or a file it names), never from
	// the configuration file, and are never printed.
	Secrets Secrets `toml:"-"`
}

type DatabaseConfig struct {
	Path string `toml:"path"`
}

// MailConfig is the [mail] section: what the service reads mail from and
// sends it through.
type MailConfig struct {
	Source string `toml:"source"` // imap (default), graph
	Sender string `toml:"sender"` // smtp (default), graph
}

// The mail adapters ([mail] source and sender).
const (
	MailIMAP  = "imap"  // read the mailbox over IMAP ([imap])
	MailSMTP  = "smtp"  // send over SMTP ([smtp])
	MailGraph = "graph" // read or send through Microsoft Graph ([graph]), for tenants where IMAP and SMTP AUTH are off
)

// ReadsGraph reports whether the mailbox is read through Microsoft Graph.
func (c *Config) ReadsGraph() bool { return c.Mail.Source == MailGraph }

// SendsGraph reports whether mail is sent through Microsoft Graph.
func (c *Config) SendsGraph() bool { return c.Mail.Sender == MailGraph }

// UsesGraph reports whether the service reads or sends through Graph.
func (c *Config) UsesGraph() bool { return c.ReadsGraph() || c.SendsGraph() }

// GraphConfig is the [graph] section: the Microsoft 365 mailbox the service
// reads (mail.source = "graph") and sends from (mail.sender = "graph")
// through Microsoft Graph, signing in as the app of [oauth2] (provider
// microsoft, client credentials). The size limit and the trusted gateway
// of [imap] (max_message_size, trusted_authserv_id) hold for mail read
// through Graph too.
type GraphConfig struct {
	// Mailbox is the mailbox's address (its user principal name): where
	// mail is read, and the From of what is sent.
	Mailbox string `toml:"mailbox"`
	// Processed and Quarantine are the folders (beside the Inbox) filed
	// mail is moved to; created when missing.
	Processed  string `toml:"processed"`
	Quarantine string `toml:"quarantine"`
	// PollInterval is how often the Inbox is asked for what changed
	// (Graph pushes only to a public URL).
	PollInterval Duration `toml:"poll_interval"`
	// APIURL overrides https://graph.microsoft.com (proxies, the emulator).
	APIURL string `toml:"api_url"`
}

type IMAPConfig struct {
	Address        string   `toml:"address"` // host:port; empty disables the watcher
	TLS            string   `toml:"tls"`     // implicit, starttls, none
	Auth           string   `toml:"auth"`    // password, oauth2
	Username       string   `toml:"username"`
	Mailbox        string   `toml:"mailbox"`
	Processed      string   `toml:"processed"`
	Quarantine     string   `toml:"quarantine"`
	PollInterval   Duration `toml:"poll_interval"`
	MaxMessageSize int64    `toml:"max_message_size"` // bytes
	// TrustedAuthServID is the authserv-id of the receiving gateway whose
	// Authentication-Results are believed (RFC 8601); "" believes none.
	// AuthServMicrosoft365 reads Microsoft 365's, which carry no id.
	TrustedAuthServID string `toml:"trusted_authserv_id"`
}

// AuthServMicrosoft365 is the trusted_authserv_id that believes the
// Authentication-Results field Microsoft 365 (Exchange Online Protection)
// adds at the top of every message it receives: Microsoft writes it with
// no authserv-id, so there is no name to match.
const AuthServMicrosoft365 = "microsoft365"

// IntakeConfig limits what mail from outside can make the service do.
type IntakeConfig struct {
	// AcksPerSenderHour is how many new cases from one sender address an
	// hour are acknowledged by email automatically; the others wait for
	// the coordinator's Acknowledged. 0: every acknowledgement waits.
	AcksPerSenderHour int `toml:"acks_per_sender_hour"`
	// FormSenders are the addresses of web-form systems, which send every
	// resident's form from one address: their applications count against
	// the applicant's address instead, and they are never a party to a
	// case themselves.
	FormSenders []string `toml:"form_senders"`
}

// IsFormSender reports whether addr is one of the configured web-form
// systems.
func (c IntakeConfig) IsFormSender(addr string) bool {
	addr = strings.ToLower(strings.TrimSpace(addr))
	for _, f := range c.FormSenders {
		if addr != "" && strings.ToLower(strings.TrimSpace(f)) == addr {
			return true
		}
	}
	return false
}

type SMTPConfig struct {
	Address  string `toml:"address"`  // host:port; empty means mail waits in the outbox
	TLS      string `toml:"tls"`      // implicit, starttls, none
	Auth     string `toml:"auth"`     // password, oauth2
	Username string `toml:"username"` // with oauth2: the mailbox to send as
	From     string `toml:"from"`
	// Domain is the right-hand side of our Message-IDs; by default the
	// domain of From.
	Domain string `toml:"domain"`
}

// How the service signs in to IMAP and SMTP ([imap] auth, [smtp] auth).
const (
	AuthPassword = "password" // the account's password (TRIGGER_IMAP_PASSWORD, TRIGGER_SMTP_PASSWORD)
	AuthOAuth2   = "oauth2"   // an OAuth 2.0 token ([oauth2]): Microsoft 365, Google Workspace
)

// OAuth2Config is the [oauth2] section: how the service gets the tokens it
// signs in with when imap.auth or smtp.auth is "oauth2". It is plain data
// here; cmd/trigger hands it, with the OAuth2 secrets, to internal/mailauth,
// which checks the combination (a missing piece names its key) and gets the
// tokens.
type OAuth2Config struct {
	Provider string   `toml:"provider"`  // microsoft, google, custom
	Flow     string   `toml:"flow"`      // client_credentials, device_code (microsoft)
	Tenant   string   `toml:"tenant"`    // microsoft: the tenant id or domain
	ClientID string   `toml:"client_id"` // the app registration's (client) id
	TokenURL string   `toml:"token_url"` // custom only: the token endpoint
	Scopes   []string `toml:"scopes"`    // empty: the provider's default for IMAP and SMTP
	Subject  string   `toml:"subject"`   // google: the mailbox the service account acts for
}

// UsesOAuth2 reports whether IMAP or SMTP signs in with a token.
func (c *Config) UsesOAuth2() bool {
	return c.IMAP.Auth == AuthOAuth2 || c.SMTP.Auth == AuthOAuth2
}

type SlackConfig struct {
	APIURL            string `toml:"api_url"`
	Mode              string `toml:"mode"` // socket, http
	ChannelPrefix     string `toml:"channel_prefix"`
	SharePersonalData bool   `toml:"share_personal_data"`
	// DigestChannel is where the daily overdue digest goes, one message
	// for all cases, and the notices that belong to no case: a channel
	// name ("#community-trigger") or id ("C0123ABCD"). Empty: each case's
	// digest goes to its own channel. The app must be a member.
	DigestChannel string `toml:"digest_channel"`
}

// DigestChannelRef splits [slack] digest_channel into the channel id it
// names, or the name (without "#"); both "" when none is set.
func (c SlackConfig) DigestChannelRef() (id, name string) {
	v := strings.TrimSpace(c.DigestChannel)
	switch {
	case v == "":
		return "", ""
	case slackChannelIDRE.MatchString(v):
		return v, ""
	}
	return "", strings.TrimPrefix(v, "#")
}

// DigestChannelName is how people are told of the digest channel:
// "#community-trigger", or its id.
func (c SlackConfig) DigestChannelName() string {
	id, name := c.DigestChannelRef()
	if name != "" {
		return "#" + name
	}
	return id
}

type HTTPConfig struct {
	Listen string `toml:"listen"`
}

type RolesConfig struct {
	Coordinator IDList `toml:"coordinator"`
	Chair       IDList `toml:"chair"`
	Approvers   IDList `toml:"approvers"`
	// CoordinatorEmail is where the coordinator is told, by email, of
	// work the service could not do when Slack is the part that failed
	// (a job that ended); empty means [partnership] contact_email. A list
	// of email addresses, not Slack ids.
	CoordinatorEmail IDList `toml:"coordinator_email"`
}

// OutboxConfig is how long the outbox keeps trying.
type OutboxConfig struct {
	// GiveUpAfter is how long a job may keep failing (from its first
	// failure) before it ends and the coordinator is told.
	GiveUpAfter Duration `toml:"give_up_after"`
}

type Timescales struct {
	Acknowledge       int `toml:"acknowledge"`
	ThresholdDecision int `toml:"threshold_decision"`
	AgencyReplies     int `toml:"agency_replies"`
	ReviewMeeting     int `toml:"review_meeting"`
	Response          int `toml:"response"`
	FurtherReview     int `toml:"further_review"`
	// Consultation is how long the resident has to comment on the
	// proposed recommendations before the response is drafted.
	Consultation int `toml:"consultation"`
}

type RetentionConfig struct {
	Years int `toml:"years"`
}

type CalendarConfig struct {
	ExtraHolidays []string `toml:"extra_holidays"` // YYYY-MM-DD
}

type PartnershipConfig struct {
	Name           string `toml:"name"`
	NameCy         string `toml:"name_cy"` // the name in Welsh, for Welsh letters
	ContactOfficer string `toml:"contact_officer"`
	// ContactOfficerCy is the contact officer's title in Welsh.
	ContactOfficerCy string `toml:"contact_officer_cy"`
	ContactEmail     string `toml:"contact_email"`
	ContactPhone     string `toml:"contact_phone"`
	// FurtherReviewBody is [further_review] review_outcome under its older
	// name: still accepted in the file, and kept equal to it after loading
	// so that a partnership's own letter templates using it still work.
	FurtherReviewBody string `toml:"further_review_body"`
	// Languages are the languages the partnership writes in: ["en"], or
	// ["cy", "en"] for a partnership in Wales (Welsh Language Standards):
	// then every letter says that correspondence in Welsh is welcome, and a
	// resident whose preference is not known gets both, Welsh first.
	Languages []string `toml:"languages"`
}

// Welsh reports whether the partnership writes in Welsh as well as English.
func (p PartnershipConfig) Welsh() bool {
	for _, l := range p.Languages {
		if l == LangWelsh {
			return true
		}
	}
	return false
}

// FurtherReviewConfig names the bodies that hear a resident's request for a
// review: ReviewOutcome hears a further review of the case review's
// outcome; ThresholdDecision, when set, hears a request to review a
// decision that the threshold was not met (the police and crime
// commissioner's route), and the not-met letter names it.
type FurtherReviewConfig struct {
	ReviewOutcome          string `toml:"review_outcome"`
	ReviewOutcomeCy        string `toml:"review_outcome_cy"`
	ThresholdDecision      string `toml:"threshold_decision"`
	ThresholdDecisionCy    string `toml:"threshold_decision_cy"`
	ThresholdDecisionEmail string `toml:"threshold_decision_email"`
}

// Officer is a member of staff who may be a case's contact officer (single
// point of contact): every letter and acknowledgement names them with
// their direct email and telephone.
type Officer struct {
	SlackID string `toml:"slack_id" json:"slack_id"`
	Name    string `toml:"name" json:"name"`
	Title   string `toml:"title" json:"title,omitempty"`
	TitleCy string `toml:"title_cy" json:"title_cy,omitempty"`
	Email   string `toml:"email" json:"email"`
	Phone   string `toml:"phone" json:"phone"`
}

// Languages of correspondence.
const (
	LangEnglish = "en"
	LangWelsh   = "cy"
)

type LettersConfig struct {
	// Dir holds the partnership's own letter templates; a file there
	// replaces the built-in template of the same name.
	Dir string `toml:"dir"`
}

type LogConfig struct {
	Format string `toml:"format"` // text, json
	Level  string `toml:"level"`  // debug, info, warn, error
}

// Secrets are read from TRIGGER_* environment variables, or from the file a
// TRIGGER_*_FILE variable names.
type Secrets struct {
	SlackBotToken      string
	SlackAppToken      string
	SlackSigningSecret string
	IMAPPassword       string
	SMTPPassword       string
	// The [oauth2] credentials: a client secret, or a certificate with its
	// private key (PEM), for Microsoft; a service account's JSON key for
	// Google.
	OAuth2ClientSecret   string
	OAuth2Certificate    string
	OAuth2ServiceAccount string
}

// IDList is a list of Slack user ids (or, for coordinator_email, of email
// addresses); in the file it may be one string or a list of strings.
type IDList []string

func (l *IDList) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		*l = IDList{v}
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("expected a list of strings")
			}
			*l = append(*l, s)
		}
	default:
		return fmt.Errorf("expected a string or a list of strings")
	}
	return nil
}

// Has reports whether id is in the list.
func (l IDList) Has(id string) bool {
	for _, x := range l {
		if x == id {
			return true
		}
	}
	return false
}

// Duration is a time.Duration written as "30s", "5m" in the file.
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like 30s or 5m", b)
	}
	d.Duration = v
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// DefaultConfig is the configuration with no file at all.
func DefaultConfig() Config {
	return Config{
		Database: DatabaseConfig{Path: "trigger.db"},
		IMAP: IMAPConfig{
			TLS: "implicit", Auth: AuthPassword, Mailbox: "INBOX", Processed: "Processed", Quarantine: "Quarantine",
			PollInterval: Duration{time.Minute}, MaxMessageSize: 25 << 20,
		},
		Mail: MailConfig{Source: MailIMAP, Sender: MailSMTP},
		Graph: GraphConfig{
			Processed: "Processed", Quarantine: "Quarantine", PollInterval: Duration{30 * time.Second},
		},
		Intake: IntakeConfig{AcksPerSenderHour: 5},
		SMTP:   SMTPConfig{TLS: "starttls", Auth: AuthPassword, From: "Community Trigger <communitytrigger@example-council.gov.uk>"},
		OAuth2: OAuth2Config{Provider: "microsoft", Flow: "client_credentials"},
		Slack:  SlackConfig{Mode: "socket", ChannelPrefix: "ct-"},
		HTTP:   HTTPConfig{Listen: "127.0.0.1:8080"},
		Agencies: []Agency{
			{ID: "police", Name: "Police", NameCy: "Heddlu", Aliases: []string{"police", "constabulary", "pcso", "101", "officer"}},
			{ID: "council", Name: "District Council", NameCy: "Cyngor Dosbarth", Aliases: []string{"council", "district council", "borough council", "city council", "environmental health", "asb team", "anti-social behaviour team", "community safety"}},
			{ID: "housing", Name: "Housing provider", NameCy: "Darparwr tai", Aliases: []string{"housing", "housing association", "housing provider", "landlord", "housing officer"}},
		},
		Threshold: DefaultThresholdRules(),
		Timescales: Timescales{
			Acknowledge: 5, ThresholdDecision: 10, AgencyReplies: 10,
			ReviewMeeting: 20, Response: 10, FurtherReview: 20, Consultation: 5,
		},
		Retention: RetentionConfig{Years: 6},
		Partnership: PartnershipConfig{
			Name:              "Community Safety Partnership",
			ContactOfficer:    "Community Safety Team Leader",
			FurtherReviewBody: DefaultReviewOutcomeBody,
			Languages:         []string{LangEnglish},
		},
		FurtherReview: FurtherReviewConfig{ReviewOutcome: DefaultReviewOutcomeBody},
		Log:           LogConfig{Format: "text", Level: "info"},
		Outbox:        OutboxConfig{GiveUpAfter: Duration{7 * 24 * time.Hour}},
	}
}

// DefaultReviewOutcomeBody hears a further review unless the configuration
// names another body.
const DefaultReviewOutcomeBody = "the Chair of the Community Safety Partnership"

var (
	agencyIDRE      = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	channelPrefixRE = regexp.MustCompile(`^[a-z0-9_-]{0,20}$`)
	// Slack's channel ids (C… public, G… older private ones) and names.
	slackChannelIDRE   = regexp.MustCompile(`^[CG][A-Z0-9]{8,}$`)
	slackChannelNameRE = regexp.MustCompile(`^#?[a-z0-9_-]{1,80}$`)
)

// Validate checks the configuration and names the first bad key.
func (c *Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return Errorf(EINVALID, "%s: %s", key, fmt.Sprintf(format, args...))
	}
	if c.Database.Path == "" {
		return bad("database.path", "must not be empty")
	}
	for _, t := range []struct{ key, v string }{{"imap.tls", c.IMAP.TLS}, {"smtp.tls", c.SMTP.TLS}} {
		switch t.v {
		case "implicit", "starttls", "none":
		default:
			return bad(t.key, "%q is not one of implicit, starttls, none", t.v)
		}
	}
	for _, a := range []struct{ key, v string }{{"imap.address", c.IMAP.Address}, {"smtp.address", c.SMTP.Address}, {"http.listen", c.HTTP.Listen}} {
		if a.v == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.v); err != nil {
			return bad(a.key, "%q is not host:port", a.v)
		}
	}
	for _, a := range []struct{ key, v string }{{"imap.auth", c.IMAP.Auth}, {"smtp.auth", c.SMTP.Auth}} {
		switch a.v {
		case "", AuthPassword, AuthOAuth2: // "": password
		default:
			return bad(a.key, "%q is not one of %s, %s", a.v, AuthPassword, AuthOAuth2)
		}
	}
	if c.IMAP.Address != "" && c.IMAP.Username == "" {
		return bad("imap.username", "must be set when imap.address is")
	}
	if c.SMTP.Auth == AuthOAuth2 && c.SMTP.Address != "" && c.SMTP.Username == "" {
		return bad("smtp.username", "required when smtp.auth = %q: the mailbox to sign in and send as", AuthOAuth2)
	}
	if c.UsesOAuth2() {
		via := "imap.auth"
		if c.IMAP.Auth != AuthOAuth2 {
			via = "smtp.auth"
		}
		switch c.OAuth2.Provider {
		case "microsoft", "google", "custom":
		case "":
			return bad("oauth2.provider", "required when %s = %q: one of microsoft, google, custom", via, AuthOAuth2)
		default:
			return bad("oauth2.provider", "%q is not one of microsoft, google, custom", c.OAuth2.Provider)
		}
	}
	if c.IMAP.Mailbox == "" || c.IMAP.Processed == "" || c.IMAP.Quarantine == "" {
		return bad("imap.mailbox", "the mailbox, processed and quarantine folders must be named")
	}
	if c.IMAP.PollInterval.Duration < time.Second {
		return bad("imap.poll_interval", "must be at least 1s")
	}
	if c.IMAP.MaxMessageSize < 1<<10 {
		return bad("imap.max_message_size", "must be at least 1024 bytes")
	}
	// Residents' mail and the service's passwords never cross a network in
	// clear: no TLS only to the same machine (a local relay, the tests).
	for _, t := range []struct{ key, tls, addr string }{{"imap.tls", c.IMAP.TLS, c.IMAP.Address}, {"smtp.tls", c.SMTP.TLS, c.SMTP.Address}} {
		if t.tls == "none" && t.addr != "" && !loopback(t.addr) {
			return bad(t.key, `"none" sends mail and passwords in clear: use implicit or starttls (none is allowed only to a loopback address)`)
		}
	}
	if strings.ContainsAny(c.IMAP.TrustedAuthServID, " \t;()\"") {
		return bad("imap.trusted_authserv_id", "%q: an authserv-id is one word, the host name the gateway writes first in its Authentication-Results (or %q)", c.IMAP.TrustedAuthServID, AuthServMicrosoft365)
	}
	if c.Intake.AcksPerSenderHour < 0 {
		return bad("intake.acks_per_sender_hour", "must be 0 or more")
	}
	for i, f := range c.Intake.FormSenders {
		if f = strings.TrimSpace(f); strings.Count(f, "@") != 1 || strings.ContainsAny(f, " <>") {
			return bad(fmt.Sprintf("intake.form_senders[%d]", i), "%q is not an email address", f)
		}
	}
	if c.SMTP.From == "" || !strings.Contains(c.SMTP.From, "@") {
		return bad("smtp.from", "must be an email address")
	}
	if err := c.validateMail(bad); err != nil {
		return err
	}
	switch c.Slack.Mode {
	case "socket", "http":
	default:
		return bad("slack.mode", "%q is not one of socket, http", c.Slack.Mode)
	}
	if !channelPrefixRE.MatchString(c.Slack.ChannelPrefix) {
		return bad("slack.channel_prefix", "%q: use up to 20 lower-case letters, digits, - or _", c.Slack.ChannelPrefix)
	}
	if d := strings.TrimSpace(c.Slack.DigestChannel); d != "" && !slackChannelIDRE.MatchString(d) && !slackChannelNameRE.MatchString(d) {
		return bad("slack.digest_channel", "%q is neither a channel name (\"#community-trigger\": lower-case letters, digits, - and _) nor a channel id (\"C0123ABCD\")", d)
	}
	if c.Slack.APIURL != "" {
		if err := checkAPIURL(c.Slack.APIURL, "the bot's token"); err != "" {
			return bad("slack.api_url", "%s", err)
		}
	}
	if len(c.Agencies) == 0 {
		return bad("agency", "at least one agency is needed")
	}
	seen := map[string]int{}
	for i, a := range c.Agencies {
		key := fmt.Sprintf("agency[%d]", i)
		if !agencyIDRE.MatchString(a.ID) {
			return bad(key+".id", "%q: use lower-case letters, digits, - or _", a.ID)
		}
		if _, dup := seen[a.ID]; dup {
			return bad(key+".id", "duplicate %q", a.ID)
		}
		seen[a.ID] = i
		if a.Name == "" {
			return bad(key+".name", "must not be empty")
		}
		if a.Email != "" && !strings.Contains(a.Email, "@") {
			return bad(key+".email", "not an email address")
		}
	}
	t := c.Threshold
	if t.Complaints < 1 || t.Complaints > 3 {
		return bad("threshold.complaints", "%d: the law allows 1 to 3", t.Complaints)
	}
	if t.ReportWithinMonths < 1 {
		return bad("threshold.report_within_months", "must be at least 1")
	}
	if t.ApplyWithinMonths < 1 {
		return bad("threshold.apply_within_months", "must be at least 1")
	}
	if t.CommunityRoute && (t.CommunityPeople < 2 || t.CommunityMonths < 1) {
		return bad("threshold.community_people", "the community route needs at least 2 people within at least 1 month")
	}
	for _, ts := range []struct {
		key string
		v   int
	}{
		{"timescales.acknowledge", c.Timescales.Acknowledge},
		{"timescales.threshold_decision", c.Timescales.ThresholdDecision},
		{"timescales.agency_replies", c.Timescales.AgencyReplies},
		{"timescales.review_meeting", c.Timescales.ReviewMeeting},
		{"timescales.response", c.Timescales.Response},
		{"timescales.further_review", c.Timescales.FurtherReview},
		{"timescales.consultation", c.Timescales.Consultation},
	} {
		if ts.v < 1 || ts.v > 260 {
			return bad(ts.key, "%d working days: must be between 1 and 260", ts.v)
		}
	}
	if err := c.validateResident(bad); err != nil {
		return err
	}
	if c.Retention.Years < 1 {
		return bad("retention.years", "must be at least 1")
	}
	for i, h := range c.Calendar.ExtraHolidays {
		if _, err := ParseDate(h); err != nil {
			return bad(fmt.Sprintf("calendar.extra_holidays[%d]", i), "%v", err)
		}
	}
	for i, a := range c.Roles.CoordinatorEmail {
		if !strings.Contains(a, "@") {
			return bad(fmt.Sprintf("roles.coordinator_email[%d]", i), "not an email address")
		}
	}
	if c.Partnership.ContactEmail != "" && !strings.Contains(c.Partnership.ContactEmail, "@") {
		return bad("partnership.contact_email", "not an email address")
	}
	if c.Outbox.GiveUpAfter.Duration < time.Hour {
		return bad("outbox.give_up_after", "%s: must be at least 1h (the default is 168h, 7 days)", c.Outbox.GiveUpAfter.Duration)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return bad("log.format", "%q is not one of text, json", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	return nil
}

// loopback reports whether addr (host, or host:port) is this machine.
func loopback(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// WorkingCalendar returns the working-day calendar with the configured
// extra holidays.
func (c *Config) WorkingCalendar() *Calendar {
	var extra []Date
	for _, h := range c.Calendar.ExtraHolidays {
		if d, err := ParseDate(h); err == nil {
			extra = append(extra, d)
		}
	}
	return NewCalendar(extra)
}

// CoordinatorEmails are the addresses the coordinator is emailed at when
// Slack cannot reach them: [roles] coordinator_email, else [partnership]
// contact_email; none when neither is set.
func (c *Config) CoordinatorEmails() []string {
	if len(c.Roles.CoordinatorEmail) > 0 {
		return c.Roles.CoordinatorEmail
	}
	if c.Partnership.ContactEmail != "" {
		return []string{c.Partnership.ContactEmail}
	}
	return nil
}

// Agency returns the configured agency with the given id.
func (c *Config) Agency(id string) (Agency, bool) {
	for _, a := range c.Agencies {
		if a.ID == id {
			return a, true
		}
	}
	return Agency{}, false
}
