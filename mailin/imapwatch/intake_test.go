package imapwatch_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/mailin"
)

// The watcher with mail intake's real parser, as `trigger serve` wires it:
// an application becomes a case; a message the parser cannot read is
// quarantined by intake and moved to Quarantine; neither blocks the other.
func TestWithMailIntake(t *testing.T) {
	for _, how := range []string{"OneByOne", "Batch", "ReadAhead"} {
		t.Run(how, func(t *testing.T) { testWithMailIntake(t, how) })
	}
}

func testWithMailIntake(t *testing.T, how string) {
	ms := startMemServer(t, memOptions{})
	s := MustOpenStore(t)
	broken := []byte("From: Rita Gomez <rita.gomez@example.net>\r\n" +
		"To: communitytrigger@example-council.gov.uk\r\n" +
		"Subject: broken\r\n" +
		"Date: Mon, 02 Mar 2026 09:00:00 +0000\r\n" +
		"Message-ID: <broken-boundary-1@example.net>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"declared\"\r\n\r\n" +
		"--actually-used\r\nContent-Type: text/plain\r\n\r\nI reported it to the police.\r\n--actually-used--\r\n")
	ms.append(t, "INBOX", broken)
	ms.append(t, "INBOX", testMessage("intake1", "I have reported the noise to the police three times since January.\r\n"))

	intake := &mailin.Intake{Store: s}
	ms.append(t, "INBOX", testMessage("intake2", "The police came once; the council never replied.\r\n"))
	w := newWatcher(t, ms.Addr, s, intake.IngestRaw, nil)
	switch how {
	case "Batch":
		w.IngestBatch = intake.IngestBatch
	case "ReadAhead":
		// One message a unit: each is read while the one before is
		// filed, and still filed and numbered in mailbox order.
		w.ReadBatch, w.BatchSize = intake.ReadBatch, 1
	}
	st, err := w.FetchOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Outcomes[casefile.OutcomeCreated] != 2 || st.Outcomes[casefile.OutcomeQuarantined] != 1 {
		t.Errorf("outcomes = %v, want two created and one quarantined", st.Outcomes)
	}
	if in, done, q := ms.count(t, "INBOX"), ms.count(t, "Processed"), ms.count(t, "Quarantine"); in != 0 || done != 2 || q != 1 {
		t.Errorf("INBOX %d, Processed %d, Quarantine %d; want 0, 2, 1", in, done, q)
	}
	// Cases are numbered in the order the mail arrived.
	cases, _ := s.Cases(context.Background(), "")
	if len(cases) != 2 || cases[1].Ref != "CT-2026-0001" {
		t.Fatalf("cases %+v", cases)
	}
	first, _ := s.Case(context.Background(), "CT-2026-0001")
	if len(first.Messages) != 1 || !strings.Contains(first.Messages[0].MessageID, "intake1") {
		t.Errorf("CT-2026-0001 is not the first message: %+v", first.Messages)
	}
	list, err := s.QuarantineList(context.Background(), false)
	if err != nil || len(list) != 1 || list[0].MessageKey != "broken-boundary-1@example.net" {
		t.Errorf("quarantine = %+v, %v", list, err)
	}
}

// With ReadBatch, the watcher reads a unit while the unit before is being
// filed, yet files, numbers and moves them in mailbox order. A unit whose
// reading panics is quarantined; the others are filed.
func TestReadAhead(t *testing.T) {
	ms := startMemServer(t, memOptions{})
	s := MustOpenStore(t)
	const n = 12
	for i := range n {
		id := fmt.Sprintf("ahead%02d", i)
		if i == 7 {
			id = "panics"
		}
		ms.append(t, "INBOX", testMessage(id, "I have reported the noise to the police three times since January.\r\n"))
	}
	intake := &mailin.Intake{Store: s}
	w := newWatcher(t, ms.Addr, s, intake.IngestRaw, nil)
	w.BatchSize = 3
	var mu sync.Mutex
	reads := 0
	readSecond := make(chan struct{})
	w.ReadBatch = func(raws [][]byte, dates []time.Time) func(context.Context) ([]casefile.IngestResult, []error) {
		mu.Lock()
		reads++
		if reads == 2 {
			close(readSecond)
		}
		mu.Unlock()
		for _, raw := range raws {
			if bytes.Contains(raw, []byte("<panics@")) {
				panic("index out of range")
			}
		}
		file := intake.ReadBatch(raws, dates)
		return func(ctx context.Context) ([]casefile.IngestResult, []error) {
			if first := len(raws) > 0 && bytes.Contains(raws[0], []byte("<ahead00@")); first {
				// The first unit is filed only once the second was read.
				select {
				case <-readSecond:
				case <-time.After(30 * time.Second):
					t.Error("the second unit was not read while the first was being filed")
				}
			}
			return file(ctx)
		}
	}
	st, err := w.FetchOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Units of three: the panicking message's unit (6-8) is quarantined.
	if st.Outcomes[casefile.OutcomeCreated] != n-3 || st.Outcomes[casefile.OutcomeQuarantined] != 3 {
		t.Errorf("outcomes = %v, want %d created and 3 quarantined", st.Outcomes, n-3)
	}
	if in, done, q := ms.count(t, "INBOX"), ms.count(t, "Processed"), ms.count(t, "Quarantine"); in != 0 || done != n-3 || q != 3 {
		t.Errorf("INBOX %d, Processed %d, Quarantine %d; want 0, %d, 3", in, done, q, n-3)
	}
	ref := 0
	for i := range n {
		if i >= 6 && i <= 8 {
			continue
		}
		ref++
		c, err := s.Case(context.Background(), fmt.Sprintf("CT-2026-%04d", ref))
		if err != nil || len(c.Messages) != 1 || !strings.Contains(c.Messages[0].MessageID, fmt.Sprintf("ahead%02d@", i)) {
			t.Errorf("CT-2026-%04d is not message %d: %+v %v", ref, i, c, err)
		}
	}
}
