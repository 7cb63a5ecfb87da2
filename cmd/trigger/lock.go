//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// instanceLock is `trigger serve`'s hold on its database: an advisory
// lock (flock) on DB.lock beside it. One serve at a time works a database's
// outbox; the kernel releases the lock when the process ends, however it
// ends (kill -9 included), so the next serve starts at once. Other commands
// (case show, ingest, outbox list …) never take it and work while serve
// runs: SQLite keeps them consistent.
type instanceLock struct {
	f *os.File
}

// lockPath is the lock file of the database at db.
func lockPath(db string) string { return db + ".lock" }

// lockInstance takes the database's instance lock, or says which process
// holds it. The lock file holds the holder's process id, for that message
// and for people; it is left in place when the lock is released (removing
// it could let two processes lock two different files).
func lockInstance(db string) (*instanceLock, error) {
	path := lockPath(db)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("instance lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := ""
			if b, rerr := os.ReadFile(path); rerr == nil {
				if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
					holder = fmt.Sprintf(" (pid %d)", pid)
				}
			}
			return nil, fmt.Errorf("database %s is in use by another 'trigger serve'%s: only one may run on a database (its lock is %s); stop the other one first", db, holder, path)
		}
		return nil, fmt.Errorf("instance lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &instanceLock{f: f}, nil
}

// exclusive reports whether the lock keeps other serves out: here it does.
func (l *instanceLock) exclusive() bool { return true }

// release gives the lock up (closing the file releases it).
func (l *instanceLock) release() error {
	return l.f.Close()
}
