package kernel

import (
	"sync"

	"github.com/runnel-dev/runnel/sdk"
)

// Commits a replicator reports on its own time (sdk.CommitNotifier), after
// LeaderDurable has answered: the listener it is given only records the
// highest offset per partition and signals; a goroutine of the broker
// applies them. So the listener never blocks and takes no kernel lock,
// which matters because a replicator may call it from inside
// LeaderDurable, and the kernel calls that with partition locks held.

// commitQueue holds reported commits until they are applied.
type commitQueue struct {
	mu      sync.Mutex
	pending map[sdk.TopicPartition]int64
	signal  chan struct{} // capacity 1: "there is something to apply"
}

func newCommitQueue() *commitQueue {
	return &commitQueue{pending: map[sdk.TopicPartition]int64{}, signal: make(chan struct{}, 1)}
}

// report is the listener handed to the replicator.
func (q *commitQueue) report(tp sdk.TopicPartition, committed int64) {
	q.mu.Lock()
	if c, ok := q.pending[tp]; !ok || committed > c {
		q.pending[tp] = committed
	}
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take returns the reported commits and empties the queue.
func (q *commitQueue) take() map[sdk.TopicPartition]int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		return nil
	}
	out := q.pending
	q.pending = map[sdk.TopicPartition]int64{}
	return out
}

// applyCommits moves partitions' high watermarks as the replicator reports
// commits, until the broker closes. A report for a partition that does not
// exist (any more) is dropped.
func (b *Broker) applyCommits(q *commitQueue) {
	for {
		select {
		case <-b.closing:
			return
		case <-q.signal:
		}
		for tp, c := range q.take() {
			t := b.topicByName(tp.Topic)
			if t == nil || tp.Partition < 0 || int(tp.Partition) >= len(t.partitions) {
				continue
			}
			t.partitions[tp.Partition].commitReported(c)
		}
	}
}
