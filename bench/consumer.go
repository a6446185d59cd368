package bench

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
)

// poller is the part of *kgo.Client a consumer uses.
type poller interface {
	AddConsumePartitions(partitions map[string]map[int32]kgo.Offset)
	PollFetches(ctx context.Context) kgo.Fetches
}

var _ poller = (*kgo.Client)(nil)

// consumer reads its share of the topic's partitions through one client,
// without a consumer group, and counts what it reads in its tally. It
// stops when the run's goal is reached or, reading up to the end offsets
// seen at the start (consume with Records 0), when every one of its
// partitions got there.
type consumer struct {
	cl       poller
	topic    string
	assigned map[int32]kgo.Offset // partitions to read, from these offsets
	goal     *goal                // nil: read up to ends
	ends     map[int32]int64      // partitions still to finish → end offset; with goal == nil only
	stamped  bool                 // e2e: values start with the send time
	// raw reading (consume --raw): a client to find the partitions'
	// leaders, and the first offsets, instead of cl and assigned.
	rawClient *kgo.Client
	rawStarts map[int32]int64
	clock     clock
	tally     *tally
}

func (c *consumer) run(ctx context.Context) {
	// The partitions are added only now, when the window opens: a client
	// given them at creation starts fetching at once, and would buffer a
	// fetch's worth of records before the clock starts.
	c.cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{c.topic: c.assigned})
	for c.goal != nil || len(c.ends) > 0 {
		fs := c.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		fs.EachError(func(_ string, _ int32, err error) { c.tally.fail(err) })
		c.count(fs)
		if c.goal != nil && c.goal.isReached() {
			return
		}
	}
}

// count tallies the records of one poll. Records past the goal, or past a
// partition's end offset, are not counted: the run reads exactly what it
// was asked to.
func (c *consumer) count(fs kgo.Fetches) {
	n := int64(fs.NumRecords())
	if n == 0 {
		return
	}
	budget := int64(math.MaxInt64)
	if c.goal != nil {
		budget = c.goal.claim(n)
	}
	// One clock reading per poll: the records of a poll arrived together.
	now := c.clock.Now()
	t := c.tally
	t.mu.Lock()
	defer t.mu.Unlock()
	counted := false
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		end, bounded := c.ends[p.Partition]
		for _, r := range p.Records {
			if budget == 0 || (bounded && r.Offset >= end) {
				break
			}
			budget--
			counted = true
			t.records++
			t.bytes += int64(len(r.Key) + len(r.Value))
			t.keyBytes += int64(len(r.Key))
			if c.stamped {
				if sent, ok := readStamp(r.Value); ok {
					recordLatency(t.hist, now.Sub(sent))
				}
			}
		}
		if bounded && len(p.Records) > 0 && p.Records[len(p.Records)-1].Offset >= end-1 {
			delete(c.ends, p.Partition)
		}
	})
	if counted {
		t.last = now
	}
}

// goal is the number of records the consumers of a run read together.
type goal struct {
	target  atomic.Int64
	read    atomic.Int64
	reached chan struct{} // closed once read >= target
	once    sync.Once
}

func newGoal(target int64) *goal {
	g := &goal{reached: make(chan struct{})}
	g.target.Store(target)
	return g
}

// claim takes up to n records towards the goal and returns how many count.
func (g *goal) claim(n int64) int64 {
	for {
		read, target := g.read.Load(), g.target.Load()
		k := min(n, target-read)
		if k <= 0 {
			g.finish()
			return 0
		}
		if g.read.CompareAndSwap(read, read+k) {
			if read+k >= target {
				g.finish()
			}
			return k
		}
	}
}

// lower sets the target to n if that is less, for e2e once the producers
// are done: records that failed to be produced will never be read.
func (g *goal) lower(n int64) {
	for {
		t := g.target.Load()
		if n >= t || g.target.CompareAndSwap(t, n) {
			break
		}
	}
	if g.read.Load() >= g.target.Load() {
		g.finish()
	}
}

func (g *goal) isReached() bool {
	select {
	case <-g.reached:
		return true
	default:
		return false
	}
}

func (g *goal) finish() { g.once.Do(func() { close(g.reached) }) }

// assign deals the partitions out to n consumers round-robin, each with
// the offset to start at.
func assign(partitions []int32, n int, at func(p int32) kgo.Offset) []map[int32]kgo.Offset {
	partitions = slices.Sorted(slices.Values(partitions))
	out := make([]map[int32]kgo.Offset, n)
	for i := range out {
		out[i] = map[int32]kgo.Offset{}
	}
	for i, p := range partitions {
		out[i%n][p] = at(p)
	}
	return out
}

// Fetch sizes: large, so that throughput is not bounded by round trips;
// at least a producer batch per partition (a larger batch is still
// returned whole, but alone).
const (
	fetchMaxBytes          = 50 << 20
	fetchMaxPartitionBytes = 16 << 20
)

// consumerOpts are the kgo options of a consumer's client. Its partitions
// come later, from consumer.run.
func consumerOpts(cfg *Config) []kgo.Opt {
	batch := max(cfg.BatchBytes, DefaultBatchBytes)
	fetchMax := max(fetchMaxBytes, batch)
	return append(baseOpts(cfg),
		kgo.FetchMaxBytes(fetchMax),
		kgo.FetchMaxPartitionBytes(min(max(fetchMaxPartitionBytes, batch), fetchMax)),
		kgo.BrokerMaxReadBytes(max(100<<20, 2*fetchMax)),
	)
}
