package imapwatch_test

import (
	"context"
	"strings"
	"testing"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/mailin"
)

// The watcher with mail intake's real parser, as `trigger serve` wires it:
// an application becomes a case; a message the parser cannot read is
// quarantined by intake and moved to Quarantine; neither blocks the other.
func TestWithMailIntake(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(map[bool]string{false: "OneByOne", true: "Batch"}[batch], func(t *testing.T) { testWithMailIntake(t, batch) })
	}
}

func testWithMailIntake(t *testing.T, batch bool) {
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
	if batch {
		w.IngestBatch = intake.IngestBatch
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
