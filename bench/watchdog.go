package bench

import (
	"context"
	"fmt"
	"time"
)

// watchdog ends a run that stopped making progress: a broker that no longer
// acknowledges (kgo retries idempotent writes without end), or consumers
// waiting for records that will not come (consume --records beyond what the
// topic holds). It cancels the workers' context with an error saying so;
// the figures up to then are still reported.
type watchdog struct {
	stop chan struct{}
	done chan struct{}
}

// stallCheckInterval is how often the watchdog looks.
const stallCheckInterval = 100 * time.Millisecond

// watch starts a watchdog over the run's workers, which cancel stops.
func (r *runner) watch(ctx context.Context, cancel context.CancelCauseFunc) *watchdog {
	d := &watchdog{stop: make(chan struct{}), done: make(chan struct{})}
	limit := r.stallLimit().Round(100 * time.Millisecond)
	go func() {
		defer close(d.done)
		t := time.NewTicker(stallCheckInterval)
		defer t.Stop()
		last, lastChange := int64(-1), time.Now()
		for {
			select {
			case <-d.stop:
				return
			case <-ctx.Done():
				return
			case now := <-t.C:
				if p := r.progressMark(); p != last {
					last, lastChange = p, now
				} else if now.Sub(lastChange) > limit {
					cancel(r.stallError(limit))
					return
				}
			}
		}
	}()
	return d
}

func (d *watchdog) finish() {
	close(d.stop)
	<-d.done
}

// stallLimit is how long a run may go without progress: the timeout, plus
// room for the gaps between records at a slow fixed rate.
func (r *runner) stallLimit() time.Duration {
	limit := r.cfg.Timeout
	if r.cfg.Rate > 0 && r.cfg.produces() {
		limit += time.Duration(2 * float64(r.cfg.Producers) / r.cfg.Rate * float64(time.Second))
	}
	return limit
}

// progressMark is a number that grows whenever a record is done, or
// failed. Records sent do not count: kgo takes them into its buffer long
// after the broker has stopped answering.
func (r *runner) progressMark() int64 {
	s := sum(r.allTallies(), false)
	return s.records + s.errors
}

// stallError says which side stalled.
func (r *runner) stallError(limit time.Duration) error {
	if r.sched != nil {
		p := sum(r.producerTallies(), false)
		if sent := r.sched.claimed(); p.records+p.errors < sent {
			return fmt.Errorf("stalled: the broker acknowledged nothing for %v (%d of %d records sent are acknowledged)",
				limit, p.records, sent)
		}
	}
	c := sum(r.consumerTallies(), false)
	if r.cfg.Workload == Consume && r.cfg.Records > 0 {
		return fmt.Errorf("stalled: no records for %v after %d of the %d asked for; does the topic hold that many?",
			limit, c.records, r.cfg.Records)
	}
	return fmt.Errorf("stalled: no records for %v after %d", limit, c.records)
}
