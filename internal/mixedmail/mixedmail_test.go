package mixedmail_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
	"github.com/csp/trigger/internal/mixedmail"
	"github.com/csp/trigger/mailin"
)

// TestMailboxIsFiledAsItSays files a mixed mailbox with the real intake and
// checks every message came out as the generator says: the outcome, the
// case and whether it is verified. The benchmarks rely on it: they check
// only the totals.
func TestMailboxIsFiledAsItSays(t *testing.T) {
	cfg := mixedmail.Config()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "trigger.db"), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	year := casefile.DateOf(s.Now()).Year
	mb := mixedmail.Generate(mixedmail.Options{Messages: 1500, History: 200, Seed: 7, Year: year})
	in := &mailin.Intake{Store: s, Config: &cfg}
	ctx := context.Background()
	if err := mb.Seed(ctx, s, in.IngestBatch); err != nil {
		t.Fatal(err)
	}
	for lo := 0; lo < len(mb.Inbox); lo += 100 {
		part := mb.Inbox[lo:min(lo+100, len(mb.Inbox))]
		raws, dates := make([][]byte, len(part)), make([]time.Time, len(part))
		for i, m := range part {
			raws[i], dates[i] = m.Raw, m.Date
		}
		res, errs := in.IngestBatch(ctx, raws, dates)
		for i, m := range part {
			r := res[i]
			ref := ""
			if r.Case != nil {
				ref = *r.Case
			}
			if errs[i] != nil || r.Outcome != m.Outcome || ref != m.Case || r.Verified != m.Verified {
				t.Errorf("inbox message %d (%s, %s): %s %q verified %v (%s %s) err %v; want %s %q verified %v",
					lo+i, m.Kind, m.MessageID, r.Outcome, ref, r.Verified, r.UnverifiedReason, r.Reason, errs[i], m.Outcome, m.Case, m.Verified)
			}
		}
	}
	// Every kind is there, in about its share.
	counts := mb.Counts()
	for _, k := range mixedmail.Mix {
		want := k.Percent * len(mb.Inbox) / 100
		if got := counts[k.Kind]; got < want/2 || got > want*2 {
			t.Errorf("%d %s messages in %d, want about %d", got, k.Kind, len(mb.Inbox), want)
		}
	}
	t.Logf("inbox of %d messages, %.1f MB: %v; outcomes %v", len(mb.Inbox), float64(mb.Bytes())/1e6, counts, mb.Expect())
}

// TestGenerateIsDeterministic: the same options make the same bytes, so a
// figure can be measured again on the same mailbox.
func TestGenerateIsDeterministic(t *testing.T) {
	a := mixedmail.Generate(mixedmail.Options{Messages: 300, Seed: 3, Year: 2026})
	b := mixedmail.Generate(mixedmail.Options{Messages: 300, Seed: 3, Year: 2026})
	c := mixedmail.Generate(mixedmail.Options{Messages: 300, Seed: 4, Year: 2026})
	same := func(x, y *mixedmail.Mailbox) bool {
		for i := range x.Inbox {
			if !bytes.Equal(x.Inbox[i].Raw, y.Inbox[i].Raw) {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("the same seed made different mailboxes")
	}
	if same(a, c) {
		t.Error("another seed made the same mailbox")
	}
	ids := map[string]bool{}
	for _, m := range a.Inbox {
		if m.Kind != mixedmail.DeliveredTwice && ids[m.MessageID] {
			t.Errorf("Message-ID %s made twice", m.MessageID)
		}
		ids[m.MessageID] = true
	}
}

// TestWriteMbox: mailin.SplitMbox gives back every message byte for byte.
func TestWriteMbox(t *testing.T) {
	mb := mixedmail.Generate(mixedmail.Options{Messages: 200, Seed: 5, Year: 2026})
	mb.Inbox[3].Raw = append([]byte(nil), mb.Inbox[3].Raw...)
	mb.Inbox[3].Raw = append(mb.Inbox[3].Raw, "From the start of a line\r\n>From quoted\r\n"...)
	var buf bytes.Buffer
	if err := mixedmail.WriteMbox(&buf, mb.Inbox); err != nil {
		t.Fatal(err)
	}
	i := 0
	err := mailin.SplitMbox(&buf, func(raw []byte) error {
		if i >= len(mb.Inbox) || !bytes.Equal(raw, mb.Inbox[i].Raw) {
			t.Errorf("message %d (%s) differs after the mbox: %d bytes, want %d; ends %q", i, mb.Inbox[i].Kind, len(raw), len(mb.Inbox[i].Raw), raw[max(0, len(raw)-30):])
		}
		i++
		return nil
	})
	if err != nil || i != len(mb.Inbox) {
		t.Errorf("split %d messages (%v), want %d", i, err, len(mb.Inbox))
	}
}
