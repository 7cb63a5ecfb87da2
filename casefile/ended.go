package casefile

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Why an outbox job ended without being done.
const (
	EndPermanent = "permanent" // the other side refused it for good (an SMTP 550, Slack's channel_not_found)
	EndGaveUp    = "gave_up"   // it kept failing for [outbox] give_up_after
	// EndBounced: the email was sent, and a bounce that returns it (our
	// Message-ID, to that address) came back: it was not delivered after all.
	EndBounced = "bounced"
)

// BouncedError is the error an email job that bounced ends with.
func BouncedError(status string) string {
	return "bounced: the recipient's mail server returned it (" + status + ")"
}

// EndedJob is an outbox job that ended without being done, as the person
// who must now do it by hand is told of it. Its methods are the one place
// that explains ended jobs: per kind of job, in plain words, what was not
// done, why, and what to do.
type EndedJob struct {
	ID            int64
	CaseRef       string // "" for a job about no case
	Kind          string
	Payload       json.RawMessage
	Reason        string // EndPermanent, EndGaveUp, EndBounced
	Error         string // the last error, scrubbed (ScrubError)
	FirstFailedAt time.Time
	EndedAt       time.Time
}

// Explanation is what a person is told of an ended job.
type Explanation struct {
	What string // "The acknowledgement to the applicant could not be sent"
	Why  string // "the mail server refused the address (550)"
	Todo string // "Contact the applicant another way (post or phone), then press *Acknowledged*."
	// Prompt names the buttons that go with the notice in the case
	// channel (NotifyJob.Prompt): "acknowledged" for an acknowledgement.
	Prompt string
}

// Notice is the message in the case channel: what, why and what to do.
func (x Explanation) Notice() string {
	return x.What + ": " + x.Why + ". " + x.Todo
}

// Explain says what was not done, why and what to do. cfg names the
// agencies.
func (e EndedJob) Explain(cfg *Config) Explanation {
	x := Explanation{Why: e.why()}
	job := Job{ID: e.ID, Kind: e.Kind, Payload: e.Payload}
	agency := func(id string) string {
		if cfg != nil {
			if a, ok := cfg.Agency(id); ok {
				return a.Name
			}
		}
		if id == "" {
			return "an agency"
		}
		return id
	}
	retry := fmt.Sprintf("`trigger outbox retry %d`", e.ID)
	show := "`trigger case show " + e.CaseRef + "`"
	switch e.Kind {
	case JobEmailAck:
		x.What = "The acknowledgement to the applicant could not be sent"
		x.Todo = "Contact the applicant another way (post or phone), then press *Acknowledged*."
		x.Prompt = "acknowledged"
	case JobEmailLetter:
		p, _ := PayloadOf[LetterJob](job)
		if p.Role == "victim" {
			x.What = "The copy of the letter for the person the application was made for could not be sent by email"
		} else {
			x.What = "The letter to the applicant could not be sent by email"
		}
		x.Todo = "Send it by post instead (the approved letter is in the case channel, and in `trigger case export " + e.CaseRef + "`), and note in the case channel when you did."
	case JobEmailAgency:
		p, _ := PayloadOf[AgencyEmailJob](job)
		if p.Stage != "" {
			x.What = "The reminder to " + agency(p.Agency) + " could not be emailed"
		} else {
			x.What = "The request for details to " + agency(p.Agency) + " could not be emailed"
		}
		x.Todo = "Ask them another way (phone, or their usual contact), and check their address in `[[agency]] email`."
	case JobEmailCoordinator:
		x.What = "An email telling the coordinator of work that could not be done could not be sent"
		x.Todo = "Check `[roles] coordinator_email` and the mail server, then run `trigger outbox list --dead` to see what was not done."
	case JobSlackCreateChannel:
		x.What = "The Slack channel for this case could not be created"
		x.Todo = "Nothing about the case can appear in Slack until it is. Fix the cause (a channel of that name the bot cannot see: invite the bot to it, or rename it), then run " + retry + "; " + show + " has the case meanwhile."
	case JobSlackUpdateCard:
		x.What = "The case card in Slack could not be updated"
		x.Todo = "It may show an old status: " + show + " has the current one. Once the cause is fixed, " + retry + " updates it."
	case JobSlackPostRequest:
		p, _ := PayloadOf[PostRequestJob](job)
		x.What = "The request for details to " + agency(p.Agency) + " could not be posted in the case channel"
		x.Todo = "Ask them another way, or fix the cause and run " + retry + "."
	case JobSlackUpdateRequest:
		p, _ := PayloadOf[UpdateRequestJob](job)
		x.What = "The reply from " + agency(p.Agency) + " could not be shown on its request in the case channel"
		x.Todo = show + " has the reply. Once the cause is fixed, " + retry + " shows it in Slack."
	case JobSlackNotify:
		x.What = "A message for the case channel could not be posted"
		x.Todo = "`trigger case events " + e.CaseRef + "` shows what happened on the case. Once the cause is fixed, " + retry + " posts it."
	case JobSlackPostDraft:
		x.What = "A letter draft could not be posted in the case channel for approval"
		x.Todo = "Nobody can approve it in Slack until it is: fix the cause, then run " + retry + "."
	case JobSlackReminder:
		p, _ := PayloadOf[ReminderJob](job)
		x.What = "A reminder to " + agency(p.Agency) + " could not be posted in the case channel"
		x.Todo = "Remind them another way if their deadline is near."
	case JobSlackDigest:
		p, _ := PayloadOf[DigestJob](job)
		x.What = "The daily digest of overdue work for " + p.Day.Human() + " could not be posted in the digest channel"
		x.Todo = "`trigger case list` and the Home tab in Slack show what is due. Check that the app is a member of `[slack] digest_channel` (invite it there), then run " + retry + "."
	case JobSlackDirect:
		p, _ := PayloadOf[DirectMessageJob](job)
		x.What = "A direct message to the coordinators about the service could not be posted in Slack"
		x.Todo = "It said: " + p.Text
	default:
		x.What = "Outbox job " + e.Kind + " could not be done"
		x.Todo = "Fix the cause, then run " + retry + "."
	}
	return x
}

// why is the reason in plain words.
func (e EndedJob) why() string {
	cause := describeError(e.Kind, e.Error)
	if e.Reason != EndGaveUp {
		return cause
	}
	since := ""
	if !e.FirstFailedAt.IsZero() && !e.EndedAt.IsZero() {
		since = " for " + humanDuration(e.EndedAt.Sub(e.FirstFailedAt))
	}
	return "it kept failing" + since + ", and the service has stopped trying (the last error: " + cause + ")"
}

var (
	smtpRcptRE = regexp.MustCompile(`RCPT TO\b.*?\b([45][0-9][0-9])\b`)
	smtpDataRE = regexp.MustCompile(`DATA\b.*?\b(5[0-9][0-9])\b`)
	slackRE    = regexp.MustCompile(`^[a-z][a-z0-9_]{2,60}$`)
)

// describeError turns a (scrubbed) error into plain words where it is one
// we know, and quotes it otherwise.
func describeError(kind, msg string) string {
	switch {
	case msg == "":
		return "no reason was recorded"
	case strings.HasPrefix(msg, "bounced: "):
		return strings.TrimPrefix(msg, "bounced: ")
	case strings.Contains(msg, "marked undeliverable"):
		return "mail to that address bounced before, so it was not sent again"
	case smtpRcptRE.MatchString(msg):
		return "the mail server refused the address (" + smtpRcptRE.FindStringSubmatch(msg)[1] + ")"
	case smtpDataRE.MatchString(msg):
		return "the mail server refused the message (" + smtpDataRE.FindStringSubmatch(msg)[1] + ")"
	case strings.Contains(msg, "no address to write to"):
		return "there is no email address to send it to"
	case strings.Contains(msg, "was purged"):
		return "the case's personal data has been removed under the retention policy"
	case strings.Contains(msg, "smtp.address is not set"):
		return "no mail server is configured (`[smtp] address`)"
	case strings.HasPrefix(kind, "slack."):
		code := msg
		if i := strings.LastIndex(code, ": "); i >= 0 {
			code = code[i+2:]
		}
		if slackRE.MatchString(code) {
			return "Slack answered `" + code + "`"
		}
	}
	return "the error was: " + truncateRunes(msg, 300)
}

// humanDuration is "7 days", "36 hours", "45 minutes".
func humanDuration(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= 48*time.Hour:
		return plural(int64(d/(24*time.Hour)), "day")
	case d >= 2*time.Hour:
		return plural(int64(d/time.Hour), "hour")
	default:
		return plural(int64(d/time.Minute), "minute")
	}
}

// EndedEmail is the email that tells the coordinator of an ended job when
// Slack cannot: the ended job is a Slack job, or notice is the Slack
// message about it that could not be posted either (nil otherwise). It
// names the case by its reference only. The text is paragraphs, one line
// each, separated by blank lines: the mail adapter wraps them.
func EndedEmail(e EndedJob, notice *EndedJob, cfg *Config) (subject, text string) {
	x := e.Explain(cfg)
	about := "the service"
	subject = "Community Trigger: action needed: " + lowerFirst(x.What)
	if e.CaseRef != "" {
		about = "case " + e.CaseRef
		subject = "Community Trigger " + e.CaseRef + ": action needed: " + lowerFirst(x.What)
	}
	var b strings.Builder
	para := func(s string) { b.WriteString(plainMarkup(s) + "\n\n") }
	para("The Community Trigger service could not do something for " + about + " and has stopped trying: a person needs to do it instead.")
	para("What was not done: " + x.What + ".")
	para("Why: " + upperFirst(x.Why) + ".")
	para("What to do: " + x.Todo)
	switch {
	case notice != nil:
		para("You are told by email because the message about it could not be posted in the case channel either: " + notice.why() + ".")
	case strings.HasPrefix(e.Kind, "slack."):
		para("You are told by email because Slack is the part that failed.")
	case e.CaseRef != "":
		para("You are told by email because the case has no channel in Slack.")
	}
	ended := e.EndedAt
	if ended.IsZero() {
		ended = time.Now()
	}
	para(fmt.Sprintf("Outbox job %d (%s) ended on %s. `trigger outbox list --dead` lists every job that ended; `trigger outbox retry %d` tries this one again once the cause is fixed.",
		e.ID, e.Kind, ended.In(London).Format("Monday 2 January 2006 at 15:04"), e.ID))
	b.WriteString("This email was sent automatically by the Community Trigger service.\n")
	return subject, b.String()
}

// plainMarkup drops Slack's bold marks from text meant for email; the
// backquotes around commands stay, to show where a command begins and ends.
func plainMarkup(s string) string {
	return strings.ReplaceAll(s, "*", "")
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// addressRE finds email addresses in an error's text, with their angle
// brackets.
var addressRE = regexp.MustCompile(`<?[^\s<>"'(),;:\[\]]+@[^\s<>"'(),;:\[\]]+>?`)

// ScrubError is an error's text fit for the audit trail and the outbox:
// email addresses replaced (a mail server's refusal quotes the
// recipient's) and at most 500 characters.
func ScrubError(msg string) string {
	return truncateRunes(addressRE.ReplaceAllString(msg, "<address>"), 500)
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
