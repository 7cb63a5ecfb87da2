package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/bot"
	"github.com/csp/trigger/bot/slackemu"
	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// TestEndedJobsAreTold runs the real serve wiring while the world refuses
// work for good, and checks what the people see. The mail server refuses an
// applicant's address (550): the coordinator reads in the case channel that
// the acknowledgement could not be sent, why and what to do, and presses
// Acknowledged, which records it; /readyz says a job needs attention. Slack
// refuses to create the next case's channel (restricted_action): the
// coordinator gets an email saying so, with the case reference and nothing
// of the applicant's. `outbox retry ID` then puts the channel job back, and
// the running serve creates the channel.
func TestEndedJobsAreTold(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: -short")
	}
	const coordinatorEmail = "sam.patel@example-council.gov.uk"
	w := newWorld(t, worldOptions{})
	cfg := w.config()
	cfg.Roles.CoordinatorEmail = casefile.IDList{coordinatorEmail}
	store, err := sqlite.Open(w.db, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var logs syncBuffer
	srv, _ := w.serveInProcess(&cfg, store, &logs)
	defer func() {
		if t.Failed() {
			t.Logf("service log:\n%s", logs.tail(8<<10))
		}
	}()
	ctx := context.Background()
	apps := applications("ended", 2)

	// 1. The acknowledgement is refused: told in the case channel.
	w.sink.Reject(apps[0].email, "5.1.1 <"+apps[0].email+">: no such user")
	w.deliver(apps[0])
	var ref string
	var ch slackemu.Channel
	var notice slackemu.Message
	waitFor(t, 30*time.Second, "the notice about the acknowledgement", func() bool {
		cases, _ := store.Cases(ctx, "")
		if len(cases) != 1 {
			return false
		}
		ref = cases[0].Ref
		var ok bool
		if ch, ok = w.emu.ChannelByName("ct-" + strings.ToLower(strings.TrimPrefix(ref, "CT-"))); !ok {
			return false
		}
		for _, m := range w.emu.Messages(ch.ID) {
			if strings.Contains(m.Text, "The acknowledgement to the applicant could not be sent") {
				notice = m
				return true
			}
		}
		return false
	})
	want := "The acknowledgement to the applicant could not be sent: the mail server refused the address (550). Contact the applicant another way (post or phone), then press *Acknowledged*."
	if notice.Text != want {
		t.Errorf("notice %q, want %q", notice.Text, want)
	}
	if !bytes.Contains(notice.Blocks, []byte(`"action_id":"`+bot.ActionAcknowledged+`"`)) || !bytes.Contains(notice.Blocks, []byte(w.coord)) {
		t.Errorf("the notice lacks the Acknowledged button or the coordinator's mention: %s", notice.Blocks)
	}
	if strings.Contains(string(notice.Blocks), apps[0].email) {
		t.Errorf("the notice carries the applicant's address")
	}
	code, body := httpGet(t, "http://"+srv.HTTPAddr()+"/readyz")
	if code != http.StatusOK || !strings.Contains(body, "outbox: 1 ended job needs attention") {
		t.Errorf("/readyz: %d %q", code, body)
	}
	if _, err := w.emu.ClickButton(w.coord, ch.ID, notice.TS, bot.ActionAcknowledged, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the acknowledgement to be recorded", func() bool {
		c, err := store.Case(ctx, ref)
		return err == nil && c.Deadlines[casefile.DeadlineAcknowledge].DoneAt != nil
	})

	// 2. Slack refuses the next channel: told by email.
	w.emu.InjectFault(slackemu.Fault{Method: "conversations.create", Error: "restricted_action"})
	w.deliver(apps[1])
	var mail []byte
	waitFor(t, 30*time.Second, "the email to the coordinator", func() bool {
		for _, m := range w.sink.Messages() {
			for _, to := range m.To {
				if to == coordinatorEmail {
					mail = m.Data
					return true
				}
			}
		}
		return false
	})
	cases, _ := store.Cases(ctx, "")
	ref2 := ""
	for _, c := range cases {
		if c.Ref != ref {
			ref2 = c.Ref
		}
	}
	flat := strings.Join(strings.Fields(string(mail)), " ")
	for _, s := range []string{
		"Subject: Community Trigger " + ref2 + ": action needed: the Slack channel for this case could not be created",
		"Why: Slack answered `restricted_action`.",
		"You are told by email because Slack is the part that failed.",
	} {
		if !strings.Contains(flat, s) {
			t.Errorf("the email lacks %q:\n%s", s, mail)
		}
	}
	for _, private := range []string{apps[1].email, "Resident 2", "Mill Street", "07700", "DE12"} {
		if strings.Contains(string(mail), private) {
			t.Errorf("the email to the coordinator carries %q", private)
		}
	}

	// 3. Once the cause is fixed, an administrator retries it, and the
	// running serve creates the channel.
	dead, err := store.ListJobs(ctx, casefile.JobFilter{Case: ref2, State: casefile.JobStateDead})
	if err != nil || len(dead) != 1 || dead[0].Kind != casefile.JobSlackCreateChannel {
		t.Fatalf("ended jobs of %s: %+v %v", ref2, dead, err)
	}
	if code, out, stderr := run(t, w.dir, "", nil, "outbox", "retry", fmt.Sprint(dead[0].ID), "--by", "Sam Patel"); code != 0 || !strings.Contains(out, "slack.create_channel") {
		t.Fatalf("outbox retry: %d %q %q", code, out, stderr)
	}
	waitFor(t, 30*time.Second, "the channel after the retry", func() bool {
		_, ok := w.emu.ChannelByName("ct-" + strings.ToLower(strings.TrimPrefix(ref2, "CT-")))
		return ok
	})
}
