package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/csp/trigger/casefile"
)

// TestMailTokens: the refresh token of a device code sign-in survives a
// restart, and a renewal's lock holds across two processes on one file.
func TestMailTokens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "trigger.db")
	serve, serveClock := MustOpenStoreAt(t, path)
	cli, cliClock := MustOpenStoreAt(t, path) // another process: its own pools
	const name = "microsoft/contoso.onmicrosoft.com/app"

	t.Run("LoadSaveRotate", func(t *testing.T) {
		tokens := serve.MailTokens(name)
		if rt, err := tokens.Load(ctx); err != nil || rt != "" {
			t.Fatalf("before any login: %q, %v", rt, err)
		}
		if _, ok, _ := tokens.Updated(ctx); ok {
			t.Error("signed in before any login")
		}
		for _, rt := range []string{"0.AAAA-first", "0.AAAA-rotated"} {
			if err := tokens.Save(ctx, rt); err != nil {
				t.Fatal(err)
			}
		}
		// The other process (a restart) sees the newest.
		if rt, err := cli.MailTokens(name).Load(ctx); err != nil || rt != "0.AAAA-rotated" {
			t.Errorf("the other process loads %q, %v", rt, err)
		}
		if at, ok, err := cli.MailTokens(name).Updated(ctx); err != nil || !ok || !at.Equal(serveClock.Now()) {
			t.Errorf("updated %v %v %v", at, ok, err)
		}
		if rt, _ := cli.MailTokens("google/other").Load(ctx); rt != "" {
			t.Errorf("another sign-in's token: %q", rt)
		}
	})

	t.Run("LockAcrossProcesses", func(t *testing.T) {
		unlock, err := serve.MailTokens(name).LockRefresh(ctx)
		if err != nil {
			t.Fatal(err)
		}
		waiting, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		if _, err := cli.MailTokens(name).LockRefresh(waiting); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the other process took the lock while it was held: %v", err)
		}
		got := make(chan error, 1)
		go func() {
			u, err := cli.MailTokens(name).LockRefresh(ctx)
			if err == nil {
				u()
			}
			got <- err
		}()
		unlock()
		if err := <-got; err != nil {
			t.Fatalf("after the release: %v", err)
		}
		// The token was not touched by locking.
		if rt, _ := serve.MailTokens(name).Load(ctx); rt != "0.AAAA-rotated" {
			t.Errorf("token after locking: %q", rt)
		}
	})

	t.Run("LeaseOfADeadHolderRunsOut", func(t *testing.T) {
		if _, err := serve.MailTokens(name).LockRefresh(ctx); err != nil { // never released
			t.Fatal(err)
		}
		waiting, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		if _, err := cli.MailTokens(name).LockRefresh(waiting); err == nil {
			t.Fatal("took a lease that has not run out")
		}
		cliClock.Set(serveClock.Now().Add(2*time.Minute + time.Second))
		unlock, err := cli.MailTokens(name).LockRefresh(ctx)
		if err != nil {
			t.Fatalf("after the lease ran out: %v", err)
		}
		unlock()
	})
}

// TestOutages: the coordinators are told once when a part stops working
// and once when it works again, whatever happens in between.
func TestOutages(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "trigger.db")
	s, _ := MustOpenStoreAt(t, path)

	for range 3 { // the watcher retries: one outage
		if _, err := s.BeginOutage(ctx, casefile.PartIMAP, "oauth2_invalid_secret", "Mail is not being read."); err != nil {
			t.Fatal(err)
		}
	}
	// A restart while it lasts: still the same outage.
	restarted, _ := MustOpenStoreAt(t, path)
	if began, err := restarted.BeginOutage(ctx, casefile.PartIMAP, "oauth2_invalid_secret", "Mail is not being read."); err != nil || began {
		t.Fatalf("after a restart: began %v, %v", began, err)
	}
	open, err := restarted.OpenOutages(ctx)
	if err != nil || len(open) != 1 || open[casefile.PartIMAP].Code != "oauth2_invalid_secret" {
		t.Fatalf("open outages %+v, %v", open, err)
	}
	// Another part has its own.
	if began, _ := s.BeginOutage(ctx, casefile.PartSMTP, "mailbox_permission", "Mail is not being sent."); !began {
		t.Error("the SMTP outage did not begin")
	}
	for range 2 {
		if _, err := restarted.EndOutage(ctx, casefile.PartIMAP, "Mail is being read again."); err != nil {
			t.Fatal(err)
		}
	}
	if began, _ := s.BeginOutage(ctx, casefile.PartIMAP, "unreachable", "Mail is not being read."); !began {
		t.Error("a second IMAP outage did not begin")
	}
	if queued, err := s.NotifyCoordinators(ctx, "credential-expiry:2026-11-01:30", "service.credential_expiring", "The certificate expires on 1 November 2026.", nil); err != nil || !queued {
		t.Errorf("credential notice: %v %v", queued, err)
	}
	if queued, _ := s.NotifyCoordinators(ctx, "credential-expiry:2026-11-01:30", "service.credential_expiring", "again", nil); queued {
		t.Error("the same notice was queued twice")
	}

	// What the bot will post: one direct message each, to the coordinators.
	jobs, err := s.ClaimJobs(ctx, "slack.", 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, j := range jobs {
		p, err := casefile.PayloadOf[casefile.DirectMessageJob](j)
		if err != nil {
			t.Fatal(err)
		}
		if p.Role != casefile.RoleCoordinator || j.CaseID != 0 || p.Event == 0 {
			b, _ := json.Marshal(p)
			t.Errorf("job %s: %s (case %d)", j.DedupeKey, b, j.CaseID)
		}
		texts = append(texts, p.Text)
	}
	// Each message can be traced to an audit event, which names codes only.
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var began, ended, expiring int
	if err := db.QueryRow(`SELECT
		(SELECT count(*) FROM events WHERE case_id IS NULL AND kind = 'service.outage_began'),
		(SELECT count(*) FROM events WHERE case_id IS NULL AND kind = 'service.outage_ended'),
		(SELECT count(*) FROM events WHERE case_id IS NULL AND kind = 'service.credential_expiring')`).Scan(&began, &ended, &expiring); err != nil {
		t.Fatal(err)
	}
	if began != 3 || ended != 1 || expiring != 1 {
		t.Errorf("audit events: %d began, %d ended, %d expiring; want 3, 1, 1", began, ended, expiring)
	}
	want := []string{"Mail is not being read.", "Mail is not being sent.", "Mail is being read again.", "Mail is not being read.", "The certificate expires on 1 November 2026."}
	if len(texts) != len(want) {
		t.Fatalf("direct messages %q; want %q", texts, want)
	}
	for i := range want {
		if texts[i] != want[i] {
			t.Errorf("message %d: %q; want %q", i, texts[i], want[i])
		}
	}
}
