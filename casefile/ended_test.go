package casefile_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
)

// Every kind of job that can end is explained in plain words: what was not
// done (naming the agency, not its id), why, and what to do.
func TestEndedJobExplain(t *testing.T) {
	cfg := casefile.DefaultConfig()
	payload := func(p casefile.Payload) json.RawMessage {
		b, _ := json.Marshal(p)
		return b
	}
	refused := "job 7 (email.ack, CT-2026-0001): smtp: RCPT TO: the recipient was refused: SMTP error 550: 5.1.1 <address>: no such user"
	for _, tc := range []struct {
		name    string
		job     casefile.EndedJob
		notice  string
		prompt  string
		mention string // in Todo
	}{
		{"Ack", casefile.EndedJob{Kind: casefile.JobEmailAck, Error: refused, Reason: casefile.EndPermanent},
			"The acknowledgement to the applicant could not be sent: the mail server refused the address (550). Contact the applicant another way (post or phone), then press *Acknowledged*.",
			"acknowledged", ""},
		{"LetterToVictim", casefile.EndedJob{Kind: casefile.JobEmailLetter, Payload: payload(casefile.LetterJob{Role: "victim"}), Error: "job 9 (CT-2026-0001): the victim's address is marked undeliverable (mail to it bounced): not sent", Reason: casefile.EndPermanent},
			"The copy of the letter for the person the application was made for could not be sent by email: mail to that address bounced before, so it was not sent again.", "", "by post"},
		{"AgencyReminder", casefile.EndedJob{Kind: casefile.JobEmailAgency, Payload: payload(casefile.AgencyEmailJob{Agency: "housing", Stage: casefile.StageDue}), Error: "smtp: DATA: 554 5.7.1 message rejected", Reason: casefile.EndPermanent},
			"The reminder to Housing provider could not be emailed: the mail server refused the message (554).", "", "[[agency]] email"},
		{"Channel", casefile.EndedJob{ID: 3, CaseRef: "CT-2026-0001", Kind: casefile.JobSlackCreateChannel, Error: "conversations.create: restricted_action", Reason: casefile.EndPermanent},
			"The Slack channel for this case could not be created: Slack answered `restricted_action`.", "", "`trigger outbox retry 3`"},
		{"RequestGaveUp", casefile.EndedJob{ID: 4, Kind: casefile.JobSlackPostRequest, Payload: payload(casefile.PostRequestJob{Agency: "police"}), Error: "chat.postMessage: Post \"https://slack.com/api/chat.postMessage\": dial tcp: i/o timeout", Reason: casefile.EndGaveUp,
			FirstFailedAt: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), EndedAt: time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)},
			"The request for details to Police could not be posted in the case channel: it kept failing for 7 days, and the service has stopped trying (the last error: the error was: chat.postMessage: Post \"https://slack.com/api/chat.postMessage\": dial tcp: i/o timeout).", "", "Ask them another way"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := tc.job.Explain(&cfg)
			if got := x.Notice(); !strings.HasPrefix(got, tc.notice) {
				t.Errorf("notice\n got %q\nwant %q…", got, tc.notice)
			}
			if x.Prompt != tc.prompt {
				t.Errorf("prompt %q, want %q", x.Prompt, tc.prompt)
			}
			if !strings.Contains(x.Todo, tc.mention) {
				t.Errorf("todo %q lacks %q", x.Todo, tc.mention)
			}
		})
	}
	// Every kind has its own words.
	kinds := []string{casefile.JobSlackCreateChannel, casefile.JobSlackUpdateCard, casefile.JobSlackPostRequest, casefile.JobSlackUpdateRequest,
		casefile.JobSlackNotify, casefile.JobSlackPostDraft, casefile.JobSlackReminder, casefile.JobEmailAck, casefile.JobEmailAgency,
		casefile.JobEmailLetter, casefile.JobEmailCoordinator, casefile.JobSlackDirect}
	seen := map[string]string{}
	for _, k := range kinds {
		x := casefile.EndedJob{Kind: k, Payload: json.RawMessage(`{}`)}.Explain(&cfg)
		if strings.HasPrefix(x.What, "Outbox job") || x.Todo == "" {
			t.Errorf("%s has no words of its own: %+v", k, x)
		}
		if other, dup := seen[x.What]; dup {
			t.Errorf("%s and %s say the same: %q", k, other, x.What)
		}
		seen[x.What] = k
	}
}

func TestScrubError(t *testing.T) {
	for in, want := range map[string]string{
		"smtp: RCPT TO: 550 5.1.1 <jane@example.org>: no such user": "smtp: RCPT TO: 550 5.1.1 <address>: no such user",
		"550 jane.resident+ct@mail.example.org unknown":             "550 <address> unknown",
		"conversations.create: restricted_action":                   "conversations.create: restricted_action",
	} {
		if got := casefile.ScrubError(in); got != want {
			t.Errorf("ScrubError(%q) = %q, want %q", in, got, want)
		}
	}
	if got := casefile.ScrubError(strings.Repeat("é", 600)); len([]rune(got)) != 501 {
		t.Errorf("a long error is kept at %d characters, want 500 and an ellipsis", len([]rune(got)))
	}
}

func TestGiveUpAfterValidate(t *testing.T) {
	cfg := casefile.DefaultConfig()
	if cfg.Outbox.GiveUpAfter.Duration != 168*time.Hour {
		t.Errorf("default give_up_after %s, want 168h", cfg.Outbox.GiveUpAfter.Duration)
	}
	cfg.Outbox.GiveUpAfter.Duration = 30 * time.Minute
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "outbox.give_up_after") {
		t.Errorf("give_up_after 30m: %v, want an error naming outbox.give_up_after", err)
	}
	cfg = casefile.DefaultConfig()
	cfg.Roles.CoordinatorEmail = casefile.IDList{"U0COORD"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "roles.coordinator_email[0]") {
		t.Errorf("coordinator_email U0COORD: %v, want an error naming roles.coordinator_email[0]", err)
	}
}
