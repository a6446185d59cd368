package partitioner

import (
	"strings"
	"sync"

	"github.com/runnel-dev/runnel/sdk"
)

// RoundRobin sends each record, keyed or not, to the next partition of its
// topic in turn, starting from partition 0. Keys are ignored, so equal keys
// do not meet on one partition; use it to spread load evenly when order
// per key does not matter. The zero value is ready to use and safe for
// concurrent use.
type RoundRobin struct {
	mu   sync.Mutex
	next map[string]int32 // guarded by mu: each topic's next partition
}

var _ sdk.StatefulPartitioner = (*RoundRobin)(nil)

// Partition implements sdk.Partitioner.
func (p *RoundRobin) Partition(topic string, numPartitions int32, keys [][]byte, dst []int32) error {
	if err := checkBatch(topic, numPartitions, keys, dst); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	at, ok := p.next[topic]
	if at >= numPartitions { // the topic shrank since the last batch
		at = 0
	}
	for i := range dst {
		dst[i] = at
		if at++; at == numPartitions {
			at = 0
		}
	}
	if p.next == nil {
		p.next = make(map[string]int32)
	}
	if !ok {
		topic = strings.Clone(topic) // the map outlives the caller's string
	}
	p.next[topic] = at
	return nil
}

// OnNewBatch implements sdk.StatefulPartitioner and does nothing: the
// rotation carries on across batches. Moving on here would skip
// partitions, the bug Kafka's RoundRobinPartitioner had (KAFKA-9965).
// RoundRobin still declares the capability because its choices depend on
// earlier records, which a host may need to know.
func (p *RoundRobin) OnNewBatch(topic string) {}
