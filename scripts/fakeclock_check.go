//go:build ignore

// fakeclock_check proves that a `-overlay` from scripts/fakeclock.sh moves
// the clock: run under it with TRIGGER_FAKE_NOW (and TRIGGER_FAKE_NOW_AT)
// set, it prints the moved time.Now in Europe/London and fails unless it is
// the target plus the real time elapsed since TRIGGER_FAKE_NOW_AT (the real
// time read from the kernel, as a new file's modification time), and unless
// time.Since still measures real durations.
//
//	go run -overlay "$overlay" scripts/fakeclock_check.go
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func main() {
	if err := check(); err != nil {
		fmt.Fprintln(os.Stderr, "fakeclock:", err)
		os.Exit(1)
	}
}

func check() error {
	target, err := time.Parse(time.RFC3339Nano, os.Getenv("TRIGGER_FAKE_NOW"))
	if err != nil {
		return fmt.Errorf("TRIGGER_FAKE_NOW: %w", err)
	}
	at, err := time.Parse(time.RFC3339Nano, os.Getenv("TRIGGER_FAKE_NOW_AT"))
	if err != nil {
		return fmt.Errorf("TRIGGER_FAKE_NOW_AT: %w", err)
	}
	kern, err := kernelNow()
	if err != nil {
		return err
	}
	now := time.Now()
	want := target.Add(kern.Sub(at))
	if d := now.Sub(want).Abs(); d > 5*time.Second {
		return fmt.Errorf("time.Now() is %s, want %s: the overlay does not move the clock", now.Format(time.RFC3339), want.Format(time.RFC3339))
	}
	t0 := time.Now()
	time.Sleep(50 * time.Millisecond)
	if d := time.Since(t0); d < 50*time.Millisecond || d > 5*time.Second {
		return fmt.Errorf("time.Since measured a 50ms sleep as %s", d)
	}
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		return err
	}
	fmt.Printf("fakeclock: time.Now() is %s (Europe/London)\n", now.In(london).Format("Monday 2 January 2006 15:04:05 MST"))
	return nil
}

// kernelNow is the real time, which the moved time.Now cannot tell: the
// modification time the kernel gives a new file.
func kernelNow() (time.Time, error) {
	dir, err := os.MkdirTemp("", "fakeclock-")
	if err != nil {
		return time.Time{}, err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "now")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		return time.Time{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime(), nil
}
