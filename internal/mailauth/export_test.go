package mailauth

import (
	"context"
	"time"
)

// SetPollWait replaces the device code flow's wait between polls, so a
// test runs without waiting and sees the intervals asked for.
func SetPollWait(o *Options, f func(ctx context.Context, d time.Duration) error) { o.pollWait = f }
