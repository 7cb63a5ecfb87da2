//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

// instanceLock does nothing where flock is not available: there, run one
// `trigger serve` per database by other means (the service manager).
type instanceLock struct{}

func lockPath(db string) string { return db + ".lock" }

func lockInstance(db string) (*instanceLock, error) { return &instanceLock{}, nil }

func (l *instanceLock) release() error { return nil }
