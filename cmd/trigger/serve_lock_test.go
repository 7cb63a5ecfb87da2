package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/csp/trigger/casefile/sqlite"
)

// serveRun is `trigger serve` run by Main, as main runs it, in a goroutine.
type serveRun struct {
	cancel context.CancelFunc
	exited chan struct{}
	code   int // once exited is closed
	stderr *syncBuffer
}

func startServe(t *testing.T, dir, cfgPath string) *serveRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &serveRun{cancel: cancel, exited: make(chan struct{}), stderr: &syncBuffer{}}
	m := &Main{Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: r.stderr, Getenv: func(string) string { return "" }}
	go func() {
		r.code = m.Run(ctx, []string{"--config", cfgPath, "--db", filepath.Join(dir, "trigger.db"), "serve"})
		close(r.exited)
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// running fails the test if serve has exited.
func (r *serveRun) running(t *testing.T) {
	t.Helper()
	select {
	case <-r.exited:
		t.Fatalf("serve exited %d: %s", r.code, r.stderr.tail(4<<10))
	default:
	}
}

// stop cancels serve (as SIGTERM does) and returns its exit status.
func (r *serveRun) stop(t *testing.T) int {
	r.cancel()
	select {
	case <-r.exited:
		return r.code
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not stop; log:\n%s", r.stderr.tail(4<<10))
		return -1
	}
}

// TestServeSingleInstance: one `trigger serve` per database. A second one
// refuses to start and names the first; CLI commands work while it runs;
// the jobs a dead serve had claimed are claimable as soon as the next one
// starts (their leases reset), not two minutes later; /readyz stays 200 with
// ended jobs and says how many need attention.
func TestServeSingleInstance(t *testing.T) {
	dir := t.TempDir()
	path, _ := newCaseWithEndedAck(t, dir)
	addr := freeAddr(t)
	cfgPath := filepath.Join(dir, "trigger.toml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf("[http]\nlisten = %q\n\n[log]\nlevel = \"warn\"\n", addr)), 0o600); err != nil {
		t.Fatal(err)
	}

	// A serve that died holding leases: its jobs are claimed for two
	// minutes.
	s, err := sqlite.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := s.ClaimJobs(context.Background(), "", 10, 2*time.Minute)
	s.Close()
	if err != nil || len(claimed) == 0 {
		t.Fatalf("claimed %+v, %v", claimed, err)
	}
	db := openDB(t, path)
	defer db.Close()
	leased := `SELECT count(*) FROM outbox WHERE state = 'pending' AND locked_until > 0`
	if n := queryInt(t, db, leased); n != len(claimed) {
		t.Fatalf("%d jobs leased, want %d", n, len(claimed))
	}

	first := startServe(t, dir, cfgPath)
	var body string
	waitFor(t, 20*time.Second, "/readyz", func() bool {
		first.running(t)
		code, b := httpGet(t, "http://"+addr+"/readyz")
		body = b
		return code == http.StatusOK
	})
	if n := queryInt(t, db, leased); n != 0 {
		t.Errorf("%d jobs still leased after serve started: their leases were not reclaimed", n)
	}
	if !strings.Contains(first.stderr.String(), fmt.Sprintf("reclaimed=%d", len(claimed))) {
		t.Errorf("serve's log does not say it reclaimed %d jobs:\n%s", len(claimed), first.stderr.tail(4<<10))
	}
	if body != "ready\noutbox: 1 ended job needs attention (trigger outbox list --dead)\n" {
		t.Errorf("/readyz body %q", body)
	}

	// A second serve on the same database refuses, naming the first.
	second := startServe(t, dir, cfgPath)
	select {
	case <-second.exited:
		msg := second.stderr.String()
		if code := second.code; code != exitFail || !strings.Contains(msg, "is in use by another 'trigger serve' (pid "+fmt.Sprint(os.Getpid())+")") {
			t.Errorf("second serve: exit %d, %q", code, msg)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a second serve on the same database kept running")
	}

	// Readers and other commands work meanwhile.
	if code, out, stderr := run(t, dir, "", nil, "outbox", "list", "--dead"); code != 0 || !strings.Contains(out, "email.ack") {
		t.Errorf("outbox list while serve runs: %d %q %q", code, out, stderr)
	}
	if code, _, stderr := run(t, dir, "", nil, "outbox", "retry", "--all-dead", "--by", "admin"); code != 0 {
		t.Errorf("outbox retry while serve runs: %d %q", code, stderr)
	}
	waitFor(t, 20*time.Second, "/readyz without ended jobs", func() bool {
		_, b := httpGet(t, "http://"+addr+"/readyz")
		return b == "ready\n"
	})

	// Once the first has stopped, another starts.
	if code := first.stop(t); code != 0 {
		t.Errorf("serve exited %d", code)
	}
	third := startServe(t, dir, cfgPath)
	waitFor(t, 20*time.Second, "a serve after the first stopped", func() bool {
		third.running(t)
		code, _ := httpGet(t, "http://"+addr+"/readyz")
		return code == http.StatusOK
	})
}
