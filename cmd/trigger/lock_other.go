//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

// instanceLock does nothing where flock is not available: there, run one
// `trigger serve` per database by other means (the service manager), and
// serve does not reclaim leases at start (it cannot know that no other serve
// holds them).
type instanceLock struct{}

func lockPath(db string) string { return db + ".lock" }

func lockInstance(db string) (*instanceLock, error) { return &instanceLock{}, nil }

func (l *instanceLock) exclusive() bool { return false }

func (l *instanceLock) release() error { return nil }
