package bench

import (
	"context"
	"sync/atomic"
	"time"
)

// schedule deals out record numbers to the producers and, with a fixed
// rate, the time each record is meant to be sent.
//
// Coordinated omission: a load generator that waits for the system before
// sending its next request sends less while the system stalls, so the stall
// shows up in one sample instead of in every request that should have been
// sent meanwhile, and the percentiles look far better than what a client
// arriving at that rate would see. So with a fixed rate, record i has an
// intended send time start + i/rate, fixed before the run, and its latency
// is measured from that time even when the producer is late sending it
// (because Produce blocked on a full buffer, say): the delay a real client
// would have suffered is charged to each record it delayed. A producer that
// falls behind sends without sleeping until it has caught up. In
// throughput mode (rate 0) there is no intended time, and latency is
// measured from the Produce call.
type schedule struct {
	total int64 // records to send
	next  atomic.Int64
	start time.Time
	rate  float64 // records/s over all producers; 0: as fast as possible
}

func newSchedule(total int64, rate float64, start time.Time) *schedule {
	return &schedule{total: total, rate: rate, start: start}
}

// claim returns the number of the next record to send, and false once all
// have been handed out.
func (s *schedule) claim() (int64, bool) {
	i := s.next.Add(1) - 1
	return i, i < s.total
}

// claimed returns how many records have been handed out.
func (s *schedule) claimed() int64 { return min(s.next.Load(), s.total) }

// intended returns when record i is meant to be sent. Only for rate > 0.
func (s *schedule) intended(i int64) time.Time {
	return s.start.Add(time.Duration(float64(i) * float64(time.Second) / s.rate))
}

// sendTime waits until record i is due and returns the time its latency is
// measured from: the intended time with a fixed rate (however late it is
// now), else now.
func (s *schedule) sendTime(ctx context.Context, c clock, i int64) time.Time {
	now := c.Now()
	if s.rate <= 0 {
		return now
	}
	due := s.intended(i)
	if d := due.Sub(now); d > 0 {
		c.Sleep(ctx, d)
	}
	return due
}
