package bench

import (
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// tally counts what one producer or consumer got done. Each worker has its
// own, so the hot path never contends with other workers; the progress
// reporter and the final result read all of them.
type tally struct {
	// mu guards the fields below. The writer is one kgo promise goroutine
	// or one consumer loop; readers come once a second.
	mu       sync.Mutex
	records  int64
	bytes    int64 // payload: keys and values
	keyBytes int64 // of bytes, the keys' (counted by consumers only)
	errors   int64
	firstErr error
	last     time.Time // when the last record was done
	hist     *hdrhistogram.Histogram
}

func newTally() *tally { return &tally{hist: newHistogram()} }

// done counts one record of n payload bytes finished at now with latency
// lat.
func (t *tally) done(now time.Time, lat time.Duration, n int) {
	t.mu.Lock()
	t.records++
	t.bytes += int64(n)
	t.last = now
	recordLatency(t.hist, lat)
	t.mu.Unlock()
}

// fail counts one failed record or fetch.
func (t *tally) fail(err error) {
	t.mu.Lock()
	t.errors++
	if t.firstErr == nil {
		t.firstErr = err
	}
	t.mu.Unlock()
}

// totals is the sum of some tallies at one moment.
type totals struct {
	records  int64
	bytes    int64
	keyBytes int64
	errors   int64
	firstErr error
	last     time.Time
	hist     *hdrhistogram.Histogram // nil unless asked for
}

// sum adds up ts. With withHist it also merges their histograms, which
// costs a walk over each: fine once a second, not per record.
func sum(ts []*tally, withHist bool) totals {
	var s totals
	if withHist {
		s.hist = newHistogram()
	}
	for _, t := range ts {
		t.mu.Lock()
		s.records += t.records
		s.bytes += t.bytes
		s.keyBytes += t.keyBytes
		s.errors += t.errors
		if s.firstErr == nil {
			s.firstErr = t.firstErr
		}
		if t.last.After(s.last) {
			s.last = t.last
		}
		if withHist {
			s.hist.Merge(t.hist)
		}
		t.mu.Unlock()
	}
	return s
}
