// Package partitioner owns Runnel's builtin partitioners, the
// implementations of sdk.Partitioner registered as partitioner.murmur2,
// partitioner.sticky and partitioner.roundrobin.
//
// Keyed placement is Kafka's, bit for bit: murmur2 of the key bytes with
// the sign bit masked, modulo the partition count, so a key lands on the
// same partition whether a Java client, franz-go or Runnel chose it.
// Unkeyed records either stick to one random partition per topic until the
// producer closes a batch (Kafka's sticky default, KIP-480), or rotate
// through partitions record by record.
//
// Every type's zero value is ready to use and safe for concurrent use.
package partitioner
