package casefile_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/csp/trigger/casefile"
)

// TestBouncedJobExplained: an acknowledgement that bounced is told to the
// coordinator as any ended job is: why (the server returned it), what to
// do, and the Acknowledged button.
func TestBouncedJobExplained(t *testing.T) {
	payload, _ := json.Marshal(casefile.AckJob{Case: "CT-2026-0001", To: "lucy@example.net"})
	e := casefile.EndedJob{ID: 3, CaseRef: "CT-2026-0001", Kind: casefile.JobEmailAck, Payload: payload,
		Reason: casefile.EndBounced, Error: casefile.ScrubError(casefile.BouncedError("5.1.1"))}
	x := e.Explain(nil)
	if x.Prompt != "acknowledged" || !strings.Contains(x.Notice(), "the recipient's mail server returned it (5.1.1)") ||
		!strings.Contains(x.Notice(), "Contact the applicant another way") {
		t.Errorf("%+v: %s", x, x.Notice())
	}
}
