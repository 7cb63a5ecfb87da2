package sqlite_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
	"github.com/csp/trigger/casefile/sqlite"
)

// claim claims the one ready job of kind, failing the test if there is none.
func claim(tb testing.TB, s *sqlite.Store, kind string) casefile.Job {
	tb.Helper()
	jobs, err := s.ClaimJobs(context.Background(), kind, 1, 2*time.Minute)
	if err != nil || len(jobs) != 1 {
		tb.Fatalf("claim %s: %+v, %v", kind, jobs, err)
	}
	return jobs[0]
}

func jobOf(tb testing.TB, s *sqlite.Store, ref, kind string) casefile.JobInfo {
	tb.Helper()
	jobs, err := s.Jobs(context.Background(), ref)
	if err != nil {
		tb.Fatal(err)
	}
	for _, j := range jobs {
		if j.Kind == kind {
			return j
		}
	}
	tb.Fatalf("no %s job of %s", kind, ref)
	return casefile.JobInfo{}
}

// ListJobs shows what `trigger outbox list` shows: by default the jobs not
// done, with --dead the ended ones; each with its attempts, first and last
// error and next run.
func TestListJobs(t *testing.T) {
	ctx := context.Background()
	s, clk := MustOpenStore(t)
	noEmail := sampleApplication()
	noEmail.Applicant.Email = ""
	c := mustCreate(t, s, noEmail)             // a channel job; no acknowledgement
	d := mustCreate(t, s, sampleApplication()) // a channel job and an acknowledgement
	t0 := clk.Now()

	// The first case's channel is made; the second's acknowledgement fails
	// once, then for good.
	if err := s.CompleteJob(ctx, claim(t, s, casefile.JobSlackCreateChannel), casefile.JobDone{}); err != nil {
		t.Fatal(err)
	}
	ack := claim(t, s, casefile.JobEmailAck)
	if err := s.RetryJob(ctx, ack, errors.New("smtp: connect: connection refused"), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	ack = claim(t, s, casefile.JobEmailAck)
	if !ack.FirstFailedAt.Equal(t0) || ack.Attempts != 2 {
		t.Fatalf("claimed again: %+v, want attempt 2, failing since %s", ack, t0)
	}
	if err := s.EndJob(ctx, ack, casefile.EndPermanent, errors.New("smtp: RCPT TO: 550 <lucy.fielding@example.net>: no such user")); err != nil {
		t.Fatal(err)
	}

	t.Run("Default", func(t *testing.T) {
		jobs, err := s.ListJobs(ctx, casefile.JobFilter{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, j := range jobs {
			got[j.CaseRef+" "+j.Kind] = j.State
		}
		want := map[string]string{
			d.Ref + " " + casefile.JobSlackCreateChannel: "pending",
			d.Ref + " " + casefile.JobEmailAck:           "dead",
			d.Ref + " " + casefile.JobSlackNotify:        "pending", // the coordinator is told
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s is %q, want %q (all: %v)", k, got[k], v, got)
			}
		}
		if _, ok := got[c.Ref+" "+casefile.JobSlackCreateChannel]; ok {
			t.Errorf("a done job is listed: %v", got)
		}
	})
	t.Run("Dead", func(t *testing.T) {
		jobs, err := s.ListJobs(ctx, casefile.JobFilter{State: casefile.JobStateDead})
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) != 1 {
			t.Fatalf("%d dead jobs, want 1: %+v", len(jobs), jobs)
		}
		j := jobs[0]
		if j.Kind != casefile.JobEmailAck || j.Attempts != 2 || j.EndReason != casefile.EndPermanent ||
			j.FirstErrorAt == nil || !j.FirstErrorAt.Equal(t0) || j.EndedAt == nil || !j.EndedAt.Equal(t0.Add(time.Minute)) || j.NextRun != nil {
			t.Errorf("dead job %+v", j)
		}
		if j.LastError != "smtp: RCPT TO: 550 <address>: no such user" {
			t.Errorf("last error %q: the address must be scrubbed", j.LastError)
		}
	})
	t.Run("ErrBadState", func(t *testing.T) {
		if _, err := s.ListJobs(ctx, casefile.JobFilter{State: "stuck"}); casefile.ErrorCode(err) != casefile.EINVALID {
			t.Errorf("err %v, want EINVALID", err)
		}
	})
}

// RetryJobs puts an ended job back, to run now, with its attempts kept and
// its give-up clock restarted, and records who asked.
func TestRetryJobs(t *testing.T) {
	ctx := context.Background()
	s, clk := MustOpenStore(t)
	app := sampleApplication()
	c := mustCreate(t, s, app)
	ack := claim(t, s, casefile.JobEmailAck)
	if err := s.EndJob(ctx, ack, casefile.EndGaveUp, errors.New("smtp: connect: connection refused")); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)

	t.Run("OK", func(t *testing.T) {
		jobs, err := s.RetryJobs(ctx, casefile.Admin("Sam Patel"), []int64{ack.ID}, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) != 1 {
			t.Fatalf("retried %+v", jobs)
		}
		j := jobOf(t, s, c.Ref, casefile.JobEmailAck)
		if j.State != "pending" || j.Attempts != 1 || j.FirstErrorAt != nil || j.EndReason != "" || j.NextRun == nil || !j.NextRun.Equal(clk.Now()) {
			t.Errorf("after retry the job is %+v, want pending now, 1 attempt kept, its clock restarted", j)
		}
		evs, _ := s.Events(ctx, c.Ref)
		last := evs[len(evs)-1]
		if last.Kind != "job.retried" || last.Actor != "Sam Patel" || last.Details["as"] != "administrator" || last.Details["was"] != "dead" {
			t.Errorf("last event %+v, want job.retried by Sam Patel as admin", last)
		}
		// It is claimable at once, as attempt 2.
		if j := claim(t, s, casefile.JobEmailAck); j.Attempts != 2 || !j.FirstFailedAt.IsZero() {
			t.Errorf("claimed %+v", j)
		}
	})
	t.Run("InHand", func(t *testing.T) {
		// A pending job a worker holds now is not freed for another.
		held := claim(t, s, casefile.JobSlackCreateChannel)
		if _, err := s.RetryJobs(ctx, casefile.Admin("Sam Patel"), []int64{held.ID}, false); err != nil {
			t.Fatal(err)
		}
		if again, _ := s.ClaimJobs(ctx, casefile.JobSlackCreateChannel, 1, time.Minute); len(again) != 0 {
			t.Errorf("a job in a worker's hands was claimed again after a retry: %+v", again)
		}
		if err := s.CompleteJob(ctx, held, casefile.JobDone{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrDone", func(t *testing.T) {
		ch := jobOf(t, s, c.Ref, casefile.JobSlackCreateChannel) // done in InHand
		if _, err := s.RetryJobs(ctx, casefile.Admin("Sam Patel"), []int64{ch.ID}, false); casefile.ErrorCode(err) != casefile.ECONFLICT {
			t.Errorf("retrying a done job: %v, want ECONFLICT", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := s.RetryJobs(ctx, casefile.Admin("Sam Patel"), []int64{9999}, false); casefile.ErrorCode(err) != casefile.ENOTFOUND {
			t.Errorf("retrying job 9999: %v, want ENOTFOUND", err)
		}
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		officer := casefile.Actor{ID: "U0POLICE"}.OfficerOf("police")
		if _, err := s.RetryJobs(ctx, officer, nil, true); casefile.ErrorCode(err) != casefile.EFORBIDDEN {
			t.Errorf("an officer retrying: %v, want EFORBIDDEN", err)
		}
	})
	t.Run("ErrNoName", func(t *testing.T) {
		if _, err := s.RetryJobs(ctx, casefile.Admin(" "), nil, true); casefile.ErrorCode(err) != casefile.EINVALID {
			t.Errorf("retry without a name: %v, want EINVALID", err)
		}
	})
	t.Run("AllDead", func(t *testing.T) {
		app.Applicant.Email = "someone.else@example.net"
		d := mustCreate(t, s, app)
		for _, kind := range []string{casefile.JobEmailAck, casefile.JobSlackCreateChannel} {
			if err := s.EndJob(ctx, claim(t, s, kind), casefile.EndPermanent, errors.New("refused")); err != nil {
				t.Fatal(err)
			}
		}
		jobs, err := s.RetryJobs(ctx, casefile.Admin("Sam Patel"), nil, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) != 2 {
			t.Errorf("retried %+v, want the two dead jobs of %s", jobs, d.Ref)
		}
		if left, _ := s.ListJobs(ctx, casefile.JobFilter{State: casefile.JobStateDead}); len(left) != 0 {
			t.Errorf("still dead: %+v", left)
		}
	})
}

// ReclaimLeases frees the jobs a dead process had claimed: they are
// claimable at once rather than when their lease runs out.
func TestReclaimLeases(t *testing.T) {
	ctx := context.Background()
	s, _ := MustOpenStore(t)
	mustCreate(t, s, sampleApplication())
	if _, err := s.ClaimJobs(ctx, "", 10, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.ClaimJobs(ctx, "", 10, 2*time.Minute); len(again) != 0 {
		t.Fatalf("leased jobs claimed again: %+v", again)
	}
	n, err := s.ReclaimLeases(ctx)
	if err != nil || n != 2 {
		t.Fatalf("reclaimed %d, %v; want the 2 jobs", n, err)
	}
	if again, _ := s.ClaimJobs(ctx, "", 10, 2*time.Minute); len(again) != 2 {
		t.Errorf("after reclaiming, claimed %+v, want both jobs", again)
	}
}
