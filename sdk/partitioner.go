package sdk

// Partitioner chooses a partition for each record of a batch.
//
// A Partitioner is asked once per batch of keys, never once per record
// across a process boundary: an out-of-process plugin pays one round trip
// per batch.
type Partitioner interface {
	// Partition writes into dst[i] the partition for keys[i], for a topic
	// with numPartitions partitions (numPartitions > 0). A nil key means
	// the record has no key. dst and keys have the same length.
	// Implementations must not retain keys or dst.
	Partition(topic string, numPartitions int32, keys [][]byte, dst []int32) error
}

// StatefulPartitioner is an optional capability of a Partitioner whose
// choice for unkeyed records depends on what was produced before (sticky
// and round-robin partitioners). OnNewBatch tells it that the producer
// closed a batch for topic, so a sticky partitioner may move on.
type StatefulPartitioner interface {
	Partitioner
	OnNewBatch(topic string)
}
