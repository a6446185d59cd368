package replication

import "github.com/runnel-dev/runnel/sdk"

// None is replication.none. Its zero value is ready to use and safe for
// concurrent use.
type None struct{}

var _ sdk.Replicator = None{}

// LeaderDurable implements sdk.Replicator: everything durable on the
// leader is committed.
func (None) LeaderDurable(_ sdk.TopicPartition, end int64) int64 { return end }
