package imapwatch_test

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
)

// TestFilingGrowthBenchmark files the mixed mailbox without IMAP, in the
// units FetchOnce files (DefaultBatchSize messages read, then filed), and
// times the filing of every tenth of it apart: whether a message costs the
// same to file when the case file already holds a hundred thousand. Each
// unit is read (parsed) before its filing is timed, so the figures are the
// writer's alone.
//
//	FILING_BENCH_MESSAGES=100000 go test -run TestFilingGrowthBenchmark -v ./mailin/imapwatch/
//
// FILING_BENCH_HISTORY=N files N earlier cases first (default a tenth of
// the messages). FILING_BENCH_CPUPROFILE=FILE profiles the whole loop
// (reading shows as mailin.extract and the parser, filing under the
// store's IngestBatch, each unit labelled with its tenth).
func TestFilingGrowthBenchmark(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("FILING_BENCH_MESSAGES"))
	if n <= 0 {
		t.Skip("set FILING_BENCH_MESSAGES=100000 to run the benchmark")
	}
	history, _ := strconv.Atoi(os.Getenv("FILING_BENCH_HISTORY"))
	_, intake, mb := benchWorld(t, n, history)
	ctx := context.Background()

	if path := os.Getenv("FILING_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		must(t, err)
		must(t, pprof.StartCPUProfile(f))
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	const unit = 500
	tenth := max(n/10, unit)
	var filing, slice time.Duration
	read0 := diskReadMB()
	outcomes := map[string]int{}
	for lo := 0; lo < n; lo += unit {
		part := mb.Inbox[lo:min(lo+unit, n)]
		raws, dates := make([][]byte, len(part)), make([]time.Time, len(part))
		for i, m := range part {
			raws[i], dates[i] = m.Raw, m.Date
		}
		file := intake.ReadBatch(raws, dates)
		start := time.Now()
		var res []casefile.IngestResult
		var errs []error
		// Labelled by tenth, so that a profile can compare the first
		// with the last (go tool pprof -tagfocus tenth=9).
		pprof.Do(ctx, pprof.Labels("tenth", strconv.Itoa(lo/tenth)), func(ctx context.Context) {
			res, errs = file(ctx)
		})
		d := time.Since(start)
		filing, slice = filing+d, slice+d
		for i := range res {
			must(t, errs[i])
			outcomes[res[i].Outcome]++
		}
		if done := lo + len(part); done%tenth == 0 || done == n {
			read := diskReadMB()
			fmt.Printf("BENCH filed=%d slice_ms_per_message=%.3f disk_read_mb=%.0f\n", done, float64(slice.Microseconds())/1000/float64(tenth), read-read0)
			read0 = read
			slice = 0
		}
	}
	t.Logf("filed %d messages in %v (%.3f ms a message), outcomes %v", n, filing.Round(time.Millisecond), float64(filing.Microseconds())/1000/float64(n), sortedCounts(outcomes))
}
