package bench

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// fetches builds one poll's worth of records: offsets from..to-1 of each
// partition given, with values made by value.
func fetches(value func(off int64) []byte, parts map[int32][2]int64) kgo.Fetches {
	ft := kgo.FetchTopic{Topic: "t"}
	for p, r := range parts {
		fp := kgo.FetchPartition{Partition: p}
		for off := r[0]; off < r[1]; off++ {
			fp.Records = append(fp.Records, &kgo.Record{Topic: "t", Partition: p, Offset: off, Key: []byte("k"), Value: value(off)})
		}
		ft.Partitions = append(ft.Partitions, fp)
	}
	return kgo.Fetches{{Topics: []kgo.FetchTopic{ft}}}
}

func fixedValue(int64) []byte { return make([]byte, 9) }

// TestConsumerStopsAtEnds: reading up to the end offsets seen at the start
// counts only records below them, and finishes a partition when its end is
// reached.
func TestConsumerStopsAtEnds(t *testing.T) {
	c := &consumer{ends: map[int32]int64{0: 5, 1: 3}, clock: newFakeClock(), tally: newTally()}
	c.count(fetches(fixedValue, map[int32][2]int64{0: {0, 4}, 1: {0, 6}}))
	if _, left := c.ends[1]; left {
		t.Fatal("partition 1 read past its end is not finished")
	}
	if _, left := c.ends[0]; !left {
		t.Fatal("partition 0 finished one record early")
	}
	c.count(fetches(fixedValue, map[int32][2]int64{0: {4, 9}}))
	if len(c.ends) != 0 {
		t.Fatalf("unfinished: %v", c.ends)
	}
	s := sum([]*tally{c.tally}, false)
	if s.records != 8 || s.bytes != 8*10 || s.keyBytes != 8 {
		t.Fatalf("counted %+v; want 5 + 3 records of 1 key byte and 9 value bytes", s)
	}
}

// TestConsumersShareGoal: consumers stop at exactly the goal between them.
func TestConsumersShareGoal(t *testing.T) {
	g := newGoal(25)
	a := &consumer{goal: g, clock: newFakeClock(), tally: newTally()}
	b := &consumer{goal: g, clock: newFakeClock(), tally: newTally()}
	a.count(fetches(fixedValue, map[int32][2]int64{0: {0, 10}}))
	b.count(fetches(fixedValue, map[int32][2]int64{1: {0, 10}}))
	if g.isReached() {
		t.Fatal("goal reached at 20 of 25")
	}
	a.count(fetches(fixedValue, map[int32][2]int64{0: {10, 20}}))
	if !g.isReached() {
		t.Fatal("goal not reached")
	}
	if s := sum([]*tally{a.tally, b.tally}, false); s.records != 25 {
		t.Fatalf("counted %d records, want exactly 25", s.records)
	}
}

func TestGoalConcurrentClaims(t *testing.T) {
	g := newGoal(1000)
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := int64(0)
	for range 8 {
		wg.Go(func() {
			for !g.isReached() {
				n := g.claim(7)
				mu.Lock()
				total += n
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if total != 1000 {
		t.Fatalf("claimed %d, want 1000", total)
	}
}

func TestGoalLower(t *testing.T) {
	g := newGoal(100)
	g.claim(40)
	g.lower(200) // never raises
	if g.target.Load() != 100 || g.isReached() {
		t.Fatal("lower raised the target")
	}
	g.lower(40) // 60 records failed to be produced: what was read is all there is
	if !g.isReached() {
		t.Fatal("goal not reached after lowering it to what was read")
	}
}

// TestConsumerE2ELatency: the latency of a record is the poll's time minus
// the send time in its value.
func TestConsumerE2ELatency(t *testing.T) {
	clk := newFakeClock()
	sent := clk.Now()
	clk.advance(3 * time.Millisecond)
	c := &consumer{goal: newGoal(10), stamped: true, clock: clk, tally: newTally()}
	c.count(fetches(func(int64) []byte {
		v := make([]byte, 16)
		putStamp(v, sent)
		return v
	}, map[int32][2]int64{0: {0, 10}}))
	s := summarize(sum([]*tally{c.tally}, true).hist)
	if s.Count != 10 || s.P50 < 3000 || s.P50 > 3003 || s.Max > 3003 { // HDR reports a bucket's top
		t.Fatalf("latencies %+v, want 10 of 3 ms", s)
	}
}

// blockingPoller blocks until ctx is done, like a consumer with nothing to
// read.
type blockingPoller struct{}

func (blockingPoller) AddConsumePartitions(map[string]map[int32]kgo.Offset) {}

func (blockingPoller) PollFetches(ctx context.Context) kgo.Fetches {
	<-ctx.Done()
	return kgo.NewErrFetch(ctx.Err())
}

func TestConsumerRunStopsOnCancel(t *testing.T) {
	c := &consumer{cl: blockingPoller{}, goal: newGoal(10), clock: newFakeClock(), tally: newTally()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.run(ctx); close(done) }()
	cancel()
	<-done
	if s := sum([]*tally{c.tally}, false); s.errors != 0 {
		t.Fatalf("the cancellation counted as %d errors", s.errors)
	}
}

func TestAssignRoundRobin(t *testing.T) {
	at := func(p int32) kgo.Offset { return kgo.NewOffset().At(int64(p) * 10) }
	got := assign([]int32{4, 0, 3, 1, 2}, 2, at)
	if len(got) != 2 || len(got[0]) != 3 || len(got[1]) != 2 {
		t.Fatalf("split %v", got)
	}
	for _, p := range []int32{0, 2, 4} {
		if _, ok := got[0][p]; !ok {
			t.Errorf("consumer 0 lacks partition %d", p)
		}
	}
	if off, ok := got[1][3]; !ok || off.EpochOffset().Offset != 30 {
		t.Errorf("consumer 1, partition 3: %v", off)
	}
	if got := assign([]int32{0}, 3, at); len(got[1]) != 0 || len(got[2]) != 0 {
		t.Errorf("more consumers than partitions: %v", got)
	}
}
