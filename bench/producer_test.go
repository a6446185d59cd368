package bench

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fakeClock is a clock that only moves when told to, or when slept on.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) { c.advance(d) }

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// stallingSender acknowledges every record at once, except that producing
// record number stallAt blocks for stall (as kgo's Produce does when its
// buffer is full of records a stalled broker does not acknowledge).
type stallingSender struct {
	clock   *fakeClock
	stallAt int
	stall   time.Duration
	fail    bool // fail every record instead

	sent []*kgo.Record
}

func (s *stallingSender) Produce(_ context.Context, r *kgo.Record, promise func(*kgo.Record, error)) {
	if len(s.sent) == s.stallAt {
		s.clock.advance(s.stall)
	}
	s.sent = append(s.sent, r)
	if s.fail {
		promise(r, errors.New("broker says no"))
		return
	}
	promise(r, nil)
}

func (s *stallingSender) Flush(context.Context) error { return nil }

// runStalledProducer produces records at rate (0: as fast as possible)
// through a sender that stalls for a second at record 500, and returns the
// latency histogram and the sender.
func runStalledProducer(t *testing.T, records int64, rate float64, stamp bool) (*hdrhistogram.Histogram, *stallingSender) {
	t.Helper()
	clk := newFakeClock()
	snd := &stallingSender{clock: clk, stallAt: 500, stall: time.Second}
	p := &producer{
		cl: snd, topic: "t", sched: newSchedule(records, rate, clk.Now()),
		payload: newPayload(16, 1<<20, 1), stamp: stamp, clock: clk, tally: newTally(),
		rng: rand.New(rand.NewPCG(1, 2)),
	}
	p.run(context.Background())
	if got := len(snd.sent); got != int(records) {
		t.Fatalf("sent %d records, want %d", got, records)
	}
	return sum([]*tally{p.tally}, true).hist, snd
}

// TestCoordinatedOmissionCorrection: at a fixed rate of 1000 records/s, a
// one-second stall at record 500 delays records 501..1499 too, which were
// due while the producer was blocked. Measured from their intended send
// times, record 500+k waited 1000−k ms: half the records see a latency,
// spread evenly up to a second. Measured from the Produce call, as an
// uncorrected generator would, only record 500 would.
func TestCoordinatedOmissionCorrection(t *testing.T) {
	h, _ := runStalledProducer(t, 2000, 1000, false)
	if h.TotalCount() != 2000 {
		t.Fatalf("%d latencies, want 2000", h.TotalCount())
	}
	// 1000 records at 0 ms, then one each at 1..999 ms and 1000 ms:
	// the 1500th value is 500 ms, the 1980th (p99) 980 ms.
	within := func(name string, got, want int64) {
		t.Helper()
		if tol := want / 500; got < want-tol || got > want+tol { // HDR keeps 3 digits
			t.Errorf("%s = %d µs, want %d µs", name, got, want)
		}
	}
	within("p75", h.ValueAtQuantile(75), 500_000)
	within("p99", h.ValueAtQuantile(99), 980_000)
	within("max", h.Max(), 1_000_000)
	if p50 := h.ValueAtQuantile(50); p50 != 0 {
		t.Errorf("p50 = %d µs, want 0: the records sent on time were acknowledged at once", p50)
	}
}

// TestThroughputModeMeasuresFromProduce is the contrast: without a rate
// there is no schedule to fall behind, and the stall is one record's
// latency.
func TestThroughputModeMeasuresFromProduce(t *testing.T) {
	h, _ := runStalledProducer(t, 2000, 0, false)
	if p99, max := h.ValueAtQuantile(99), h.Max(); p99 != 0 || max < 999_000 {
		t.Fatalf("p99 %d µs, max %d µs; want 0 and 1 s", p99, max)
	}
}

// TestE2EStampIsIntendedSendTime: an e2e producer at a fixed rate writes
// each record's intended send time into its value, so the consumer's
// latency is corrected the same way.
func TestE2EStampIsIntendedSendTime(t *testing.T) {
	_, snd := runStalledProducer(t, 1000, 1000, true)
	start := snd.sent[0]
	first, ok := readStamp(start.Value)
	if !ok {
		t.Fatal("no stamp")
	}
	for i, r := range snd.sent {
		got, _ := readStamp(r.Value)
		if want := first.Add(time.Duration(i) * time.Millisecond); !got.Equal(want) {
			t.Fatalf("record %d stamped %v, want %v", i, got, want)
		}
		if len(r.Value) != 16 {
			t.Fatalf("record %d: %d value bytes, want 16", i, len(r.Value))
		}
	}
}

func TestProducerCountsFailures(t *testing.T) {
	clk := newFakeClock()
	snd := &stallingSender{clock: clk, stallAt: -1, fail: true}
	p := &producer{cl: snd, topic: "t", sched: newSchedule(10, 0, clk.Now()), payload: newPayload(8, 1<<20, 1),
		keys: 3, clock: clk, tally: newTally(), rng: rand.New(rand.NewPCG(1, 2))}
	p.run(context.Background())
	s := sum([]*tally{p.tally}, false)
	if s.records != 0 || s.errors != 10 || s.firstErr == nil || s.firstErr.Error() != "broker says no" {
		t.Fatalf("got %+v", s)
	}
	for _, r := range snd.sent {
		if k := string(r.Key); k != "00000000" && k != "00000001" && k != "00000002" {
			t.Fatalf("key %q: want one of 3 keys of 8 digits", k)
		}
	}
}

func TestScheduleClaimsEachRecordOnce(t *testing.T) {
	s := newSchedule(1000, 0, time.Now())
	seen := make([]bool, 1000)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				i, ok := s.claim()
				if !ok {
					return
				}
				mu.Lock()
				if seen[i] {
					t.Errorf("record %d claimed twice", i)
				}
				seen[i] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for i, ok := range seen {
		if !ok {
			t.Fatalf("record %d never claimed", i)
		}
	}
	if s.claimed() != 1000 {
		t.Fatalf("claimed() = %d", s.claimed())
	}
}
