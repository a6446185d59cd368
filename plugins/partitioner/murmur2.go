package partitioner

import "github.com/runnel-dev/runnel/sdk"

// Murmur2 is Kafka's default partitioner: keyed records go to
// toPositive(murmur2(key)) % numPartitions, exactly as Java clients and
// franz-go place them; unkeyed records stick to one random partition per
// topic until OnNewBatch, as with Sticky. It is the partitioner to use
// when other Kafka clients produce to the same topics, because equal keys
// then meet on equal partitions. The zero value is ready to use and safe
// for concurrent use.
type Murmur2 struct {
	sticky stickyTopics
}

var _ sdk.StatefulPartitioner = (*Murmur2)(nil)

// Partition implements sdk.Partitioner.
func (p *Murmur2) Partition(topic string, numPartitions int32, keys [][]byte, dst []int32) error {
	return partitionKeyed(&p.sticky, topic, numPartitions, keys, dst)
}

// OnNewBatch implements sdk.StatefulPartitioner: unkeyed records of topic
// move to another random partition.
func (p *Murmur2) OnNewBatch(topic string) { p.sticky.next(topic) }
