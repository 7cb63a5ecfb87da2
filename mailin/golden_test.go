package mailin_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/mailin"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the parser's output")

// testNow is the clock of the golden tests: every message in testdata is
// older.
var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// testAuthServID is the receiving gateway of the golden tests: the
// Authentication-Results it writes are believed, no others.
const testAuthServID = "mx.example-council.gov.uk"

// golden is what a message becomes: the Inbound without its raw bytes and
// attachment data, with the extracted application; or the error that
// quarantines it.
type golden struct {
	Error              string                `json:"error,omitempty"`
	MessageID          string                `json:"message_id,omitempty"`
	ReceivedAt         *time.Time            `json:"received_at,omitempty"`
	Subject            string                `json:"subject,omitempty"`
	From               string                `json:"from,omitempty"`
	Machine            string                `json:"machine,omitempty"`
	Bounce             *casefile.Bounce      `json:"bounce,omitempty"`
	SubjectRefs        []string              `json:"subject_refs,omitempty"`
	ReplyTo            []string              `json:"reply_to,omitempty"`
	WantsFurtherReview bool                  `json:"wants_further_review,omitempty"`
	Text               string                `json:"text,omitempty"`
	HTML               string                `json:"html,omitempty"`
	Attachments        []goldenAttachment    `json:"attachments,omitempty"`
	Application        *casefile.Application `json:"application,omitempty"`
	ConsentEvidence    string                `json:"consent_evidence,omitempty"`
	Auth               *mailin.AuthVerdict   `json:"auth,omitempty"`
	Returned           *mailin.Returned      `json:"returned,omitempty"`
}

type goldenAttachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
	SHA256      string `json:"sha256"`
}

func toGolden(p mailin.Parsed, err error) golden {
	if err != nil {
		return golden{Error: err.Error()}
	}
	in := p.Inbound
	g := golden{ConsentEvidence: p.ConsentEvidence, Returned: p.Returned,
		MessageID: in.MessageID, Subject: in.Subject, From: in.From, Machine: in.Machine, Bounce: in.Bounce,
		SubjectRefs: in.SubjectRefs, ReplyTo: in.ReplyTo, WantsFurtherReview: in.WantsFurtherReview,
		Text: in.Text, HTML: in.HTML,
	}
	if !in.ReceivedAt.IsZero() {
		t := in.ReceivedAt.UTC()
		g.ReceivedAt = &t
	}
	for _, a := range in.Attachments {
		g.Attachments = append(g.Attachments, goldenAttachment{a.Filename, a.ContentType, len(a.Data), a.SHA256})
	}
	app := in.Application
	g.Application = &app
	if p.Auth != (mailin.AuthVerdict{}) {
		g.Auth = &p.Auth
	}
	return g
}

// testOptions parse with the default agencies, named as a partnership
// would configure them: the force's name, and the housing association's
// name as an alias.
func testOptions() mailin.Options {
	cfg := casefile.DefaultConfig()
	for i, a := range cfg.Agencies {
		switch a.ID {
		case "police":
			cfg.Agencies[i].Name = "Leicestershire Police"
		case "housing":
			cfg.Agencies[i].Aliases = append(append([]string{}, a.Aliases...), "Futurehome", "Futurehome Housing")
		}
	}
	return mailin.Options{Config: &cfg, Now: testNow, TrustedAuthServID: testAuthServID}
}

func corpus(t testing.TB) []string {
	files, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	return files
}

func TestParseGolden(t *testing.T) {
	cfg := casefile.DefaultConfig()
	for _, file := range corpus(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".eml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			p, perr := mailin.ParseMessage(raw, testOptions())
			in := p.Inbound
			got, err := json.MarshalIndent(toGolden(p, perr), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			gfile := strings.TrimSuffix(file, ".eml") + ".golden.json"
			if *update {
				if err := os.WriteFile(gfile, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(gfile)
			if err != nil {
				t.Fatalf("%v (run go test ./mailin -run TestParseGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the parser's output:\n%s", gfile, diff(string(want), string(got)))
			}
			if perr == nil {
				app := in.Application
				if err := app.Validate(cfg.Agencies); err != nil {
					t.Errorf("application does not validate: %v", err)
				}
			}
		})
	}
}

// diff shows the first lines that differ.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var sb strings.Builder
	n := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			sb.WriteString("line " + itoa(i+1) + "\n- " + a + "\n+ " + b + "\n")
			if n++; n > 10 {
				break
			}
		}
	}
	return sb.String()
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
