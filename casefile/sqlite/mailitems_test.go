package sqlite_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
)

// graphItem is a message of the service's mailbox as Graph knows it.
func graphItem(id, imid string, received time.Time) *casefile.MailItem {
	return &casefile.MailItem{Source: "graph:ct@example-council.gov.uk", ID: id, InternetMessageID: imid, ReceivedAt: received}
}

// TestMailItems: a message downloaded from a Graph item is filed once, however
// many times the item is downloaded and whatever bytes each download gives;
// the case file alone would keep a second download with other bytes as
// another message with the same Message-ID.
func TestMailItems(t *testing.T) {
	ctx := context.Background()
	received := time.Date(2026, 10, 12, 9, 30, 0, 0, time.UTC)
	inbound := func(raw string, item *casefile.MailItem) casefile.Inbound {
		return casefile.Inbound{MessageID: "app-1@example.net", Raw: []byte(raw), From: "lucy.fielding@example.net",
			Application: sampleApplication(), Item: item}
	}
	t.Run("SameItemOtherBytes", func(t *testing.T) {
		s, _ := MustOpenStore(t)
		item := graphItem("AAkALgAA-1", "<app-1@example.net>", received)
		first, err := s.Ingest(ctx, inbound("first download", item))
		if err != nil || first.Outcome != casefile.OutcomeCreated || first.Case == nil {
			t.Fatalf("first download: %+v %v", first, err)
		}
		again, err := s.Ingest(ctx, inbound("second download, its MIME written afresh", item))
		if err != nil || again.Outcome != casefile.OutcomeDuplicate || again.Case == nil || *again.Case != *first.Case {
			t.Fatalf("second download of the item: %+v %v; want a duplicate in %s", again, err, *first.Case)
		}
		c, err := s.Case(ctx, *first.Case)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Messages) != 1 {
			t.Errorf("the case holds %d messages, want the one", len(c.Messages))
		}
		if outcome, ok, err := s.FiledItem(ctx, *item); err != nil || !ok || outcome != casefile.OutcomeCreated {
			t.Errorf("FiledItem: %q %v %v, want created", outcome, ok, err)
		}
	})
	t.Run("WithoutTheItemAVariant", func(t *testing.T) {
		// What the item prevents: without it, the second download is kept
		// as another message with the same Message-ID.
		s, _ := MustOpenStore(t)
		first, _ := s.Ingest(ctx, inbound("first download", nil))
		again, err := s.Ingest(ctx, inbound("second download, its MIME written afresh", nil))
		if err != nil || again.Outcome == casefile.OutcomeDuplicate {
			t.Fatalf("%+v %v: the case file took other bytes for the same message", again, err)
		}
		if cases, _ := s.Cases(ctx, ""); len(cases) != 2 || again.Outcome != casefile.OutcomeCreated || *again.Case == *first.Case {
			t.Errorf("%+v, %d cases: want the second download filed as another application", again, len(cases))
		}
	})
	t.Run("SameDeliveryOtherID", func(t *testing.T) {
		// A mutable id changes when the message moves: the same Message-ID
		// received at the same instant is the same delivery.
		s, _ := MustOpenStore(t)
		first, _ := s.Ingest(ctx, inbound("first download", graphItem("AAMkAGE-before", "<app-1@example.net>", received)))
		again, err := s.Ingest(ctx, inbound("second download", graphItem("AAMkAGE-after", "<app-1@example.net>", received)))
		if err != nil || again.Outcome != casefile.OutcomeDuplicate || *again.Case != *first.Case {
			t.Errorf("the item under a new id: %+v %v, want a duplicate", again, err)
		}
		// Another delivery with that Message-ID (sent twice, or forged) is
		// filed as the case file files it: kept beside the first.
		other, err := s.Ingest(ctx, inbound("another delivery", graphItem("AAMkAGE-other", "<app-1@example.net>", received.Add(time.Minute))))
		if err != nil || other.Outcome == casefile.OutcomeDuplicate {
			t.Errorf("a later delivery with the same Message-ID: %+v %v, want it kept", other, err)
		}
	})
	t.Run("BatchRolledBackNotRecorded", func(t *testing.T) {
		s, _ := MustOpenStore(t)
		bad := inbound("refused", graphItem("AAkALgAA-bad", "<bad@example.net>", received))
		bad.MessageID = "bad@example.net"
		bad.Application.Route = "sideways" // the store refuses it
		good := inbound("good", graphItem("AAkALgAA-good", "<app-1@example.net>", received))
		res, errs, err := s.IngestBatch(ctx, []casefile.Inbound{bad, good, good})
		if err != nil {
			t.Fatal(err)
		}
		if errs[0] == nil || res[1].Outcome != casefile.OutcomeCreated || res[2].Outcome != casefile.OutcomeDuplicate {
			t.Fatalf("results %+v, errors %v", res, errs)
		}
		if _, ok, _ := s.FiledItem(ctx, *bad.Item); ok {
			t.Error("the refused message's item was recorded: it would never be tried again")
		}
	})
	t.Run("Quarantined", func(t *testing.T) {
		s, _ := MustOpenStore(t)
		item := graphItem("AAkALgAA-poison", "<poison@example.net>", received)
		res, err := s.QuarantineFetched(ctx, *item, "poison@example.net", []byte("first download"), errors.New("unreadable"))
		if err != nil || res.Outcome != casefile.OutcomeQuarantined {
			t.Fatalf("%+v %v", res, err)
		}
		again, err := s.QuarantineFetched(ctx, *item, "poison@example.net", []byte("second download"), errors.New("unreadable"))
		if err != nil || again.Outcome != casefile.OutcomeDuplicate {
			t.Fatalf("the item again: %+v %v, want a duplicate", again, err)
		}
		list, err := s.QuarantineList(ctx, true)
		if err != nil || len(list) != 1 || list[0].Attempts != 1 {
			t.Errorf("quarantine %+v %v: want the one entry, tried once", list, err)
		}
		if outcome, ok, _ := s.FiledItem(ctx, *item); !ok || outcome != casefile.OutcomeQuarantined {
			t.Errorf("FiledItem: %q %v, want quarantined (it goes to the Quarantine folder)", outcome, ok)
		}
	})
}

// TestGraphDeltaLink: the checkpoint of each folder, kept and forgotten.
func TestGraphDeltaLink(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpenStore(t)
	const mb = "ct@example-council.gov.uk"
	if link, err := s.GraphDeltaLink(ctx, mb, "inbox-id"); err != nil || link != "" {
		t.Fatalf("before any round: %q %v", link, err)
	}
	for _, l := range []string{"https://graph.microsoft.com/v1.0/…?$deltatoken=1", "https://graph.microsoft.com/v1.0/…?$deltatoken=2"} {
		if err := s.SetGraphDeltaLink(ctx, mb, "inbox-id", l); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GraphDeltaLink(ctx, mb, "inbox-id"); got != l {
			t.Errorf("stored %q, read %q", l, got)
		}
	}
	if got, _ := s.GraphDeltaLink(ctx, mb, "other-folder"); got != "" {
		t.Errorf("another folder: %q", got)
	}
	if err := s.SetGraphDeltaLink(ctx, mb, "inbox-id", ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GraphDeltaLink(ctx, mb, "inbox-id"); got != "" {
		t.Errorf("forgotten, still %q", got)
	}
}
