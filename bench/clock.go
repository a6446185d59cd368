package bench

import (
	"context"
	"time"
)

// clock is the time source of the load generators. Tests swap in a fake one
// to check the coordinated-omission correction without waiting.
type clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx is done.
	Sleep(ctx context.Context, d time.Duration)
}

// realClock is the clock of a real run.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
