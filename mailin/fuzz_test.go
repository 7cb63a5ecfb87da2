package mailin_test

import (
	"encoding/json"
	"os"
	"testing"
	"unicode/utf8"

	"github.com/csp/trigger/mailin"
)

// FuzzParse feeds the parser arbitrary bytes, starting from the corpus: it
// must never panic, must keep within its limits, and whatever it returns
// must be valid UTF-8 that marshals to JSON.
func FuzzParse(f *testing.F) {
	for _, file := range corpus(f) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) < 64<<10 {
			f.Add(b)
		}
	}
	opt := testOptions()
	opt.Limits = mailin.Limits{MaxSize: 1 << 20, MaxParts: 50, MaxDepth: 8, MaxHeaderBytes: 32 << 10}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := mailin.ParseMessage(raw, opt)
		if err != nil {
			return
		}
		in := p.Inbound
		for _, s := range []string{in.Text, in.HTML, in.Subject, in.From, in.MessageID, in.Application.Description,
			in.Application.Applicant.Name, in.Application.Applicant.Address, in.Application.Location} {
			if !utf8.ValidString(s) {
				t.Fatalf("not UTF-8: %q", s)
			}
		}
		for _, a := range in.Attachments {
			if !utf8.ValidString(a.Filename) {
				t.Fatalf("filename not UTF-8: %q", a.Filename)
			}
		}
		if len(in.Attachments) > 50 {
			t.Fatalf("%d attachments over the parts limit", len(in.Attachments))
		}
		if _, err := json.Marshal(toGolden(p, nil)); err != nil {
			t.Fatal(err)
		}
	})
}
