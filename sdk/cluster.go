package sdk

import "context"

// Consensus orders and stores the cluster's metadata changes (topics,
// configurations, producer id blocks) in one log that every broker
// applies in the same order.
//
// Entries are opaque to Consensus: the kernel encodes them. The single
// node builtin, consensus.local, is an fsync'd file; a Raft-backed one
// fills the same seam for clusters.
type Consensus interface {
	// Open recovers the log kept under dir and calls replay for every
	// committed entry, in order, before it returns.
	Open(dir string, replay func(entry []byte) error) error
	// Append commits entry: when it returns nil, entry survives a crash
	// and will be replayed by every later Open.
	Append(ctx context.Context, entry []byte) error
	// Close releases the log. Appends after Close fail.
	Close() error
}

// Compactor is an optional capability of a Consensus whose log can be
// replaced by a snapshot of the live state.
type Compactor interface {
	// NeedsCompaction reports whether the log holds many more entries
	// than the live entries needed to rebuild the state.
	NeedsCompaction(live int) bool
	// Compact atomically replaces the log by entries.
	Compact(entries [][]byte) error
}

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Replicator keeps the copies of a partition on other brokers in step
// with its leader and decides which records count as committed (the high
// watermark). The kernel tells it whenever a leader's log becomes durable
// up to a new end offset, once per partition per produce request, never
// per record.
//
// The single-node builtin, replication.none, commits whatever the leader
// has made durable. Replication across brokers fills the same seam.
type Replicator interface {
	// LeaderDurable tells the replicator that the leader's log of tp is
	// durable up to end (exclusive) and returns the partition's committed
	// end offset: records below it are visible to consumers and
	// acknowledged to acks=all producers. The result never exceeds end.
	LeaderDurable(tp TopicPartition, end int64) (committed int64)
}

// CommitNotifier is an optional capability of a Replicator whose commits
// advance on their own, after LeaderDurable has answered: when followers
// catch up. The kernel gives it a listener before the first LeaderDurable
// call. With it, an acks=all produce whose batch is not committed yet
// waits for the commit, up to the request's timeout (then it is answered
// REQUEST_TIMED_OUT, as Kafka answers an expired wait for replicas), and
// parked fetches see the new high watermark at once. Without it, such a
// produce is answered NOT_ENOUGH_REPLICAS_AFTER_APPEND at once.
type CommitNotifier interface {
	Replicator
	// SetCommitListener hands over the function to call with a
	// partition's new committed end offset. The listener never blocks
	// and may be called from any goroutine, also from inside
	// LeaderDurable. Offsets past what LeaderDurable was last told, and
	// offsets below the committed one, are ignored.
	SetCommitListener(listener func(tp TopicPartition, committed int64))
}
