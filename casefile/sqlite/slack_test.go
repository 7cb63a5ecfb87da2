package sqlite_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
)

// TestReplyFiles: a reply in Slack may be only a file; the file's name and
// permalink are kept with it, and a file without them is refused.
func TestReplyFiles(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpenStore(t)
	c := mustCreate(t, s, sampleApplication())
	must(t)(s.Decide(ctx, who("U-COORD"), c.Ref, casefile.Met, ""))
	files := []casefile.SharedFile{{Name: "statement.pdf", Permalink: "https://csp.slack.com/files/U1/F1/statement.pdf"}}
	if _, err := s.RecordReply(ctx, who("U-PC"), casefile.ReplyInput{Ref: c.Ref, Agency: "police", Author: "U-PC", Source: "thread", Files: files, DedupeKey: "f1"}); err != nil {
		t.Fatalf("a reply that is only a file: %v", err)
	}
	_, err := s.RecordReply(ctx, who("U-PC"), casefile.ReplyInput{Ref: c.Ref, Agency: "police", Author: "U-PC", Source: "thread",
		Files: []casefile.SharedFile{{Name: "x.pdf", Permalink: "javascript:alert(1)"}}, DedupeKey: "f2"})
	if casefile.ErrorCode(err) != casefile.EINVALID {
		t.Errorf("a file without an https permalink: %v", err)
	}
	reqs, err := s.Requests(ctx, c.Ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		if r.Agency != "police" {
			continue
		}
		if len(r.Replies) != 1 || !reflect.DeepEqual(r.Replies[0].Files, files) || !r.Replied {
			t.Errorf("police replies %+v", r.Replies)
		}
	}
}

// TestSlackEventInbox: an event kept before its acknowledgement is offered
// until it is done, not while another holds its lease, and again after a
// failed attempt's wait; done, its payload is gone and Slack's retry of it
// is not fresh.
func TestSlackEventInbox(t *testing.T) {
	ctx := context.Background()
	s, clk := MustOpenStore(t)
	payload := []byte(`{"type":"event_callback","event_id":"Ev1"}`)
	if fresh, err := s.KeepEvent(ctx, "Ev1", payload, time.Minute); err != nil || !fresh {
		t.Fatalf("keep: %v %v", fresh, err)
	}
	if fresh, err := s.KeepEvent(ctx, "Ev1", payload, time.Minute); err != nil || fresh {
		t.Fatalf("a retry of the same event is fresh: %v %v", fresh, err)
	}
	if _, err := s.KeepEvent(ctx, "", payload, time.Minute); casefile.ErrorCode(err) != casefile.EINVALID {
		t.Errorf("an event without an id: %v", err)
	}
	if evs, _ := s.PendingEvents(ctx, 10, time.Minute); len(evs) != 0 {
		t.Fatalf("an event offered while its first handler holds the lease: %+v", evs)
	}
	clk.Add(61 * time.Second) // the handler died
	evs, err := s.PendingEvents(ctx, 10, time.Minute)
	if err != nil || len(evs) != 1 || evs[0].ID != "Ev1" || string(evs[0].Payload) != string(payload) || evs[0].Attempts != 0 {
		t.Fatalf("pending after the lease: %+v %v", evs, err)
	}
	if again, _ := s.PendingEvents(ctx, 10, time.Minute); len(again) != 0 {
		t.Fatalf("offered twice at once: %+v", again)
	}
	if err := s.EventLater(ctx, "Ev1", 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	clk.Add(4 * time.Minute)
	if evs, _ := s.PendingEvents(ctx, 10, time.Minute); len(evs) != 0 {
		t.Fatalf("offered before its wait is over: %+v", evs)
	}
	clk.Add(2 * time.Minute)
	evs, _ = s.PendingEvents(ctx, 10, time.Minute)
	if len(evs) != 1 || evs[0].Attempts != 1 {
		t.Fatalf("after the wait: %+v", evs)
	}
	if err := s.EventDone(ctx, "Ev1", "handled"); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	if evs, _ := s.PendingEvents(ctx, 10, time.Minute); len(evs) != 0 {
		t.Fatalf("a done event offered: %+v", evs)
	}
	if fresh, _ := s.KeepEvent(ctx, "Ev1", payload, time.Minute); fresh {
		t.Error("Slack's retry of a done event is fresh")
	}
}

// TestSetTopic: the channel remembers the topic the bot set.
func TestSetTopic(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpenStore(t)
	c := mustCreate(t, s, sampleApplication())
	if err := s.SetTopic(ctx, c.Ref, "x"); casefile.ErrorCode(err) != casefile.ENOTFOUND {
		t.Errorf("topic of a case with no channel: %v", err)
	}
	if err := s.SetChannel(ctx, c.Ref, "C1", "ct-2026-0001"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTopic(ctx, c.Ref, "CT-2026-0001 · Received"); err != nil {
		t.Fatal(err)
	}
	if ch, err := s.Channel(ctx, c.Ref); err != nil || ch.Topic != "CT-2026-0001 · Received" {
		t.Errorf("channel %+v %v", ch, err)
	}
}
