package partitioner

import (
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/runnel-dev/runnel/sdk"
)

// Sticky places keyed records by Kafka's murmur2 and sends unkeyed records
// of a topic to one randomly chosen partition until OnNewBatch moves it
// on: the behaviour of Kafka's default partitioner since KIP-480 and of
// franz-go's StickyKeyPartitioner. Sticking fills one batch at a time
// instead of spreading a handful of records over every partition. The zero
// value is ready to use and safe for concurrent use.
type Sticky struct {
	sticky stickyTopics
}

var _ sdk.StatefulPartitioner = (*Sticky)(nil)

// Partition implements sdk.Partitioner.
func (p *Sticky) Partition(topic string, numPartitions int32, keys [][]byte, dst []int32) error {
	return partitionKeyed(&p.sticky, topic, numPartitions, keys, dst)
}

// OnNewBatch implements sdk.StatefulPartitioner: unkeyed records of topic
// move to another random partition.
func (p *Sticky) OnNewBatch(topic string) { p.sticky.next(topic) }

// stickyTopics remembers, per topic, the partition unkeyed records stick
// to. The zero value is ready to use.
type stickyTopics struct {
	mu     sync.Mutex
	topics map[string]stickyChoice // guarded by mu
}

// stickyChoice is a topic's sticky partition and the partition count it
// was chosen from, which OnNewBatch needs to choose the next one.
type stickyChoice struct {
	partition, numPartitions int32
}

// current returns topic's sticky partition, choosing one at random for a
// topic not seen yet or whose partition no longer exists.
func (s *stickyTopics) current(topic string, numPartitions int32) int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.topics[topic]
	if ok && c.numPartitions == numPartitions {
		return c.partition
	}
	if !ok || c.partition >= numPartitions {
		c.partition = rand.Int32N(numPartitions)
	}
	c.numPartitions = numPartitions
	if s.topics == nil {
		s.topics = make(map[string]stickyChoice)
	}
	if !ok {
		// The map outlives the call; don't keep a caller's string that
		// may alias a reused buffer.
		topic = strings.Clone(topic)
	}
	s.topics[topic] = c
	return c.partition
}

// next moves topic to a random partition other than its current one, so
// that consecutive batches never land on the same partition when there is
// a choice. A topic not seen yet has nothing to move.
func (s *stickyTopics) next(topic string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.topics[topic]
	if !ok || c.numPartitions < 2 {
		return
	}
	c.partition = (c.partition + 1 + rand.Int32N(c.numPartitions-1)) % c.numPartitions
	s.topics[topic] = c
}
