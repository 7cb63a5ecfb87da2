package casefile_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/csp/trigger/casefile"
)

// TestOutgoingMessageID: the same job gives the same Message-ID (a retry
// sends the same one); another key, case, kind or job another; it names
// nothing about the case and is recognisably ours.
func TestOutgoingMessageID(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	id := casefile.OutgoingMessageID(key, "CT-2026-0001", "ack", 7, "example-council.gov.uk")
	if !regexp.MustCompile(`^ct\.[a-z2-7]{32}@example-council\.gov\.uk$`).MatchString(id) {
		t.Errorf("%q: want ct.<32 base32 letters>@domain", id)
	}
	if strings.Contains(id, "CT-2026") || strings.Contains(id, "ack") || strings.Contains(id, ".7@") {
		t.Errorf("%q names the case, the kind or the job", id)
	}
	if again := casefile.OutgoingMessageID(key, "CT-2026-0001", "ack", 7, "example-council.gov.uk"); again != id {
		t.Errorf("not stable: %q then %q", id, again)
	}
	other := []byte("fedcba9876543210fedcba9876543210")
	for _, o := range []string{
		casefile.OutgoingMessageID(other, "CT-2026-0001", "ack", 7, "example-council.gov.uk"),
		casefile.OutgoingMessageID(key, "CT-2026-0002", "ack", 7, "example-council.gov.uk"),
		casefile.OutgoingMessageID(key, "CT-2026-0001", "letter", 7, "example-council.gov.uk"),
		casefile.OutgoingMessageID(key, "CT-2026-0001", "ack", 8, "example-council.gov.uk"),
	} {
		if o == id {
			t.Errorf("%q repeats for other inputs", o)
		}
	}
}
