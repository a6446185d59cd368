package partitioner

import "fmt"

// checkBatch enforces the sdk.Partitioner contract, so a host bug becomes
// an error instead of a panic or a division by zero.
func checkBatch(topic string, numPartitions int32, keys [][]byte, dst []int32) error {
	if numPartitions <= 0 {
		return fmt.Errorf("partitioner: topic %q has %d partitions; want at least 1", topic, numPartitions)
	}
	if len(dst) != len(keys) {
		return fmt.Errorf("partitioner: %d keys but room for %d partitions; the lengths must match", len(keys), len(dst))
	}
	return nil
}

// partitionKeyed places keyed records with Kafka's murmur2 and unkeyed
// ones on the topic's sticky partition. It shares the implementation of
// Murmur2 and Sticky. The sticky state is consulted at most once per
// batch, so a batch of only keyed records takes no lock.
func partitionKeyed(s *stickyTopics, topic string, numPartitions int32, keys [][]byte, dst []int32) error {
	if err := checkBatch(topic, numPartitions, keys, dst); err != nil {
		return err
	}
	unkeyed := int32(-1)
	for i, key := range keys {
		if key != nil {
			dst[i] = keyPartition(key, numPartitions)
			continue
		}
		if unkeyed < 0 {
			unkeyed = s.current(topic, numPartitions)
		}
		dst[i] = unkeyed
	}
	return nil
}
