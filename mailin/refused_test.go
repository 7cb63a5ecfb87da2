package mailin_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/mailin"
)

// failingStore is a case file that refuses or fails every message, and
// records what was quarantined.
type failingStore struct {
	err         error
	quarantined []string
}

func (f *failingStore) Now() time.Time { return time.Date(2026, 10, 12, 10, 0, 0, 0, casefile.London) }
func (f *failingStore) Ingest(context.Context, casefile.Inbound) (casefile.IngestResult, error) {
	return casefile.IngestResult{}, f.err
}
func (f *failingStore) IngestBatch(_ context.Context, ins []casefile.Inbound) ([]casefile.IngestResult, []error, error) {
	errs := make([]error, len(ins))
	for i := range errs {
		errs[i] = f.err
	}
	return make([]casefile.IngestResult, len(ins)), errs, nil
}
func (f *failingStore) Quarantine(_ context.Context, id string, raw []byte, cause error) (casefile.IngestResult, error) {
	f.quarantined = append(f.quarantined, cause.Error())
	return casefile.IngestResult{Outcome: casefile.OutcomeQuarantined, MessageID: id, Reason: cause.Error()}, nil
}
func (f *failingStore) QuarantineFetched(ctx context.Context, _ casefile.MailItem, id string, raw []byte, cause error) (casefile.IngestResult, error) {
	return f.Quarantine(ctx, id, raw, cause)
}
func (f *failingStore) QuarantineItem(context.Context, int64) (*casefile.QuarantineRecord, error) {
	return nil, errors.New("not used")
}
func (f *failingStore) ResolveQuarantine(context.Context, int64) error { return nil }

// TestRefusedQuarantinedFailedRetried: a message the case file refuses as
// it is (a coded error) is quarantined at once; a database failure is the
// caller's to retry, and never quarantines a good application.
func TestRefusedQuarantinedFailedRetried(t *testing.T) {
	raw := []byte("From: Lucy <lucy@example.net>\r\nTo: ct@example-council.gov.uk\r\nSubject: ASB\r\nMessage-ID: <r1@example.net>\r\nDate: Mon, 12 Oct 2026 09:00:00 +0100\r\n\r\nPlease help.\r\n")
	for _, tc := range []struct {
		name        string
		err         error
		quarantined bool
	}{
		{"Refused", casefile.Errorf(casefile.EINVALID, "incidents[0].agency: \"fire\" is not a configured agency"), true},
		{"DatabaseFailed", errors.New("database is locked"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, batch := range []bool{false, true} {
				st := &failingStore{err: tc.err}
				in := &mailin.Intake{Store: st}
				var res casefile.IngestResult
				var err error
				if batch {
					rs, errs := in.IngestBatch(context.Background(), [][]byte{raw}, []time.Time{{}})
					res, err = rs[0], errs[0]
				} else {
					res, err = in.IngestRaw(context.Background(), raw, time.Time{})
				}
				if tc.quarantined {
					if err != nil || res.Outcome != casefile.OutcomeQuarantined || len(st.quarantined) != 1 {
						t.Fatalf("batch=%v: outcome %q, err %v, quarantined %q; want quarantined at once", batch, res.Outcome, err, st.quarantined)
					}
					continue
				}
				if err == nil || len(st.quarantined) != 0 {
					t.Fatalf("batch=%v: err %v, quarantined %q; want an error to retry and nothing quarantined", batch, err, st.quarantined)
				}
			}
		})
	}
}
