package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// The commands staff run by hand stay interactive (under a second) with
// 100,000 cases in the case file: BenchmarkCommandsAtScale times `case
// list`, `report --year` and `retention run --dry-run` as the command line
// runs them (open the case file, query, print), on a case file built once
// per process directly through the store:
//
//	go test ./cmd/trigger -run '^$' -bench CommandsAtScale -benchtime 3x
//
// TRIGGER_BENCH_CASES changes the number of cases (default 100000);
// TRIGGER_BENCH_DIR keeps the case file built there for the next run.
// The cases are web-form applications received evenly over the last ten
// years; one in five was withdrawn a month after it came, so those of the
// four oldest years are due for retention (a first run, the worst case);
// one in three of last year's was decided.
func BenchmarkCommandsAtScale(b *testing.B) {
	w := scaleWorld(b)
	lastYear := casefile.DateOf(time.Now()).Year - 1
	for _, c := range []struct {
		name string
		args []string
	}{
		{"case_list", []string{"case", "list"}},
		{"case_list_json", []string{"case", "list", "--json"}},
		{"report_year", []string{"report", "--year", strconv.Itoa(lastYear)}},
		{"retention_dry_run", []string{"retention", "run", "--dry-run"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var out countWriter
			for b.Loop() {
				out.n = 0
				var errb strings.Builder
				m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
				if code := m.Run(context.Background(), append([]string{"--config", w.config, "--db", w.db}, c.args...)); code != 0 {
					b.Fatalf("%s: exit %d: %s", strings.Join(c.args, " "), code, errb.String())
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/command")
			b.ReportMetric(float64(out.n), "bytes_printed")
		})
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)

type scaleFiles struct{ db, config string }

var (
	scaleOnce  sync.Once
	scaleBuilt scaleFiles
	scaleErr   error
	// scaleCleanup removes the case file built in a temporary directory;
	// TestMain calls it.
	scaleCleanup = func() {}
)

// scaleWorld builds the case file of BenchmarkCommandsAtScale once per
// process, in a temporary directory removed when the process ends, or in
// TRIGGER_BENCH_DIR, kept there and used again by the next run.
func scaleWorld(b *testing.B) scaleFiles {
	scaleOnce.Do(func() {
		n := 100000
		if v, err := strconv.Atoi(os.Getenv("TRIGGER_BENCH_CASES")); err == nil && v > 0 {
			n = v
		}
		dir := os.Getenv("TRIGGER_BENCH_DIR")
		if dir == "" {
			dir, scaleErr = os.MkdirTemp("", "trigger-scale-")
			if scaleErr != nil {
				return
			}
			scaleCleanup = func() { os.RemoveAll(dir) }
		}
		scaleBuilt = scaleFiles{db: filepath.Join(dir, "trigger.db"), config: filepath.Join(dir, "trigger.toml")}
		if scaleErr = os.WriteFile(scaleBuilt.config, []byte(mixedConfigTOML), 0o600); scaleErr != nil {
			return
		}
		if _, err := os.Stat(scaleBuilt.db); err == nil {
			return // built by an earlier run, kept in TRIGGER_BENCH_DIR
		}
		start := time.Now()
		scaleErr = buildCases(scaleBuilt.db, n)
		fmt.Fprintf(os.Stderr, "scale: %d cases built in %v\n", n, time.Since(start).Round(time.Millisecond))
	})
	if scaleErr != nil {
		b.Fatal(scaleErr)
	}
	return scaleBuilt
}

// buildCases files n web-form applications through the store, 1,000 to a
// transaction, then withdraws and decides some, each at the moment it
// would have happened.
func buildCases(path string, n int) error {
	ctx := context.Background()
	cfg := casefile.DefaultConfig()
	cfg.Intake.FormSenders = []string{"noreply@forms.example-council.gov.uk"}
	s, err := sqlite.Open(path, &cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	now := time.Now()
	span := 10 * 365 * 24 * time.Hour
	received := func(i int) time.Time { return now.Add(-span + time.Duration(i)*(span/time.Duration(n))) }
	var refs []string
	for lo := 0; lo < n; lo += 1000 {
		var ins []casefile.Inbound
		for i := lo; i < min(lo+1000, n); i++ {
			ins = append(ins, scaleApplication(i, received(i)))
		}
		res, errs, err := s.IngestBatch(ctx, ins)
		if err != nil {
			return err
		}
		for i := range res {
			if errs[i] != nil || res[i].Case == nil {
				return fmt.Errorf("case %d: %+v %v", lo+i, res[i], errs[i])
			}
			refs = append(refs, *res[i].Case)
		}
	}
	staff := who("U0STAFF")
	lastYear := casefile.DateOf(now).Year - 1
	for i, ref := range refs {
		at := received(i)
		switch {
		case i%5 == 0:
			s.Clock = func() time.Time { return at.Add(30 * 24 * time.Hour) }
			if _, err := s.Withdraw(ctx, staff, ref, "The neighbours moved away."); err != nil {
				return fmt.Errorf("withdraw %s: %w", ref, err)
			}
		case i%3 == 0 && at.In(casefile.London).Year() == lastYear:
			s.Clock = func() time.Time { return at.Add(7 * 24 * time.Hour) }
			outcome := casefile.Met
			if i%2 == 0 {
				outcome = casefile.NotMet
			}
			if _, err := s.Decide(ctx, staff, ref, outcome, "Three qualifying complaints in six months."); err != nil {
				return fmt.Errorf("decide %s: %w", ref, err)
			}
		}
	}
	return nil
}

// scaleApplication is resident i's application from the web-form system.
func scaleApplication(i int, at time.Time) casefile.Inbound {
	id := fmt.Sprintf("scale-%d@forms.example", i)
	email := fmt.Sprintf("resident.%d@example.net", i)
	raw := fmt.Sprintf("Message-ID: <%s>\r\nFrom: Council Forms <noreply@forms.example-council.gov.uk>\r\nSubject: New submission #%d\r\n\r\nName: Resident %d\r\n", id, i, i)
	day := casefile.DateOf(at)
	return casefile.Inbound{
		MessageID: id, From: "noreply@forms.example-council.gov.uk", Subject: fmt.Sprintf("New submission #%d", i),
		Raw: []byte(raw), Text: raw, ReceivedAt: at,
		Application: casefile.Application{
			Route:     casefile.RouteIndividual,
			Applicant: casefile.Person{Name: fmt.Sprintf("Resident %d", i), Email: email, Address: fmt.Sprintf("%d Mill Street, Measham", i%200+1), Postcode: "DE12 7HS"},
			Location:  "Alleyway between Mill Street and the High Street",
			Incidents: []casefile.Incident{
				{OccurredOn: day.AddDays(-90), ReportedOn: day.AddDays(-89), Agency: "police"},
				{OccurredOn: day.AddDays(-60), ReportedOn: day.AddDays(-60), Agency: "council"},
				{OccurredOn: day.AddDays(-30), ReportedOn: day.AddDays(-28), Agency: "housing"},
			},
			ConsentToShare: &[]bool{true}[0],
		},
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	scaleCleanup()
	os.Exit(code)
}
