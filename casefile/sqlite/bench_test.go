package sqlite_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/csp/trigger/casefile"
)

// BenchmarkCreateCase measures opening a case with its audit event and
// outbox jobs, one transaction each, on a real database file.
func BenchmarkCreateCase(b *testing.B) {
	s, _ := MustOpenStore(b)
	ctx := context.Background()
	app := sampleApplication()
	i := 0
	b.ResetTimer()
	for b.Loop() {
		i++
		app.Applicant.Email = fmt.Sprintf("resident%d@example.net", i) // a different resident each time, as in life
		if _, err := s.CreateCase(ctx, casefile.NewCase{Application: app, Actor: who("bench")}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cases/s")
}

// BenchmarkCaseShow reads one whole case from a database of 10,000.
func BenchmarkCaseShow(b *testing.B) {
	s, _ := MustOpenStore(b)
	ctx := context.Background()
	app := sampleApplication()
	var ref string
	for i := range 10000 {
		c, err := s.CreateCase(ctx, casefile.NewCase{Application: app, Actor: who("bench")})
		if err != nil {
			b.Fatal(err)
		}
		if i == 5000 {
			ref = c.Ref
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Case(ctx, ref); err != nil {
			b.Fatal(err)
		}
	}
}
