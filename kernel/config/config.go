package config

import "strings"

// Listener is one entry of `listeners` or `advertised.listeners`:
// NAME://host:port. Name is the listener (and, until security lands,
// protocol) name, PLAINTEXT by default.
type Listener struct {
	Name string
	Host string
	Port int
}

// Broker is a broker's configuration. Property names follow Apache Kafka's
// where Kafka has one; each field names its property.
type Broker struct {
	NodeID                   int32      // node.id
	Listeners                []Listener // listeners
	AdvertisedListeners      []Listener // advertised.listeners (empty: same as listeners)
	LogDirs                  []string   // log.dirs (log.dir)
	NumPartitions            int32      // num.partitions
	DefaultReplicationFactor int16      // default.replication.factor
	AutoCreateTopics         bool       // auto.create.topics.enable
	DeleteTopicEnable        bool       // delete.topic.enable
	LogSegmentBytes          int64      // log.segment.bytes
	LogRollMs                int64      // log.roll.ms (log.roll.hours)
	LogRetentionMs           int64      // log.retention.ms (.minutes, .hours); -1 keeps forever
	LogRetentionBytes        int64      // log.retention.bytes; -1 unbounded
	MessageMaxBytes          int32      // message.max.bytes: largest record batch accepted
	SocketRequestMaxBytes    int32      // socket.request.max.bytes: largest request frame
	NumNetworkThreads        int        // num.network.threads: gnet event loops (0: one per core)
	// LogFlushIntervalMessages is log.flush.interval.messages: 1 (the
	// default, unlike Kafka's) acknowledges a produce only once its batch
	// is fsync'd; a larger value acknowledges from the page cache and
	// fsyncs once that many records are unflushed.
	LogFlushIntervalMessages int64
	// LogFlushIntervalMs is log.flush.interval.ms: the longest unflushed
	// data waits for an fsync in the relaxed mode; MaxInt64 never by time.
	LogFlushIntervalMs int64

	// Consumer groups.
	OffsetsTopicNumPartitions     int32 // offsets.topic.num.partitions: partitions of __consumer_offsets
	OffsetsRetentionMinutes       int32 // offsets.retention.minutes: offsets kept after a group empties
	GroupInitialRebalanceDelayMs  int32 // group.initial.rebalance.delay.ms: wait for more members of a new group
	GroupMinSessionTimeoutMs      int32 // group.min.session.timeout.ms
	GroupMaxSessionTimeoutMs      int32 // group.max.session.timeout.ms
	ConsumerGroupHeartbeatMs      int32 // group.consumer.heartbeat.interval.ms (KIP-848)
	ConsumerGroupSessionTimeoutMs int32 // group.consumer.session.timeout.ms (KIP-848)
	// LogRetentionCheckIntervalMs is log.retention.check.interval.ms: how
	// often expired segments are looked for.
	LogRetentionCheckIntervalMs int64
	// LogFlushOffsetCheckpointIntervalMs is
	// log.flush.offset.checkpoint.interval.ms: how often recovery points,
	// log start offsets and producer snapshots are written.
	LogFlushOffsetCheckpointIntervalMs int64
	// LogCleanerBackoffMs is log.cleaner.backoff.ms: how often compacted
	// topics are looked at by the log cleaner.
	LogCleanerBackoffMs int64
	// LogCleanerMinCleanableRatio is log.cleaner.min.cleanable.ratio: the
	// share of a log's closed bytes that must be uncleaned before the
	// cleaner rewrites it.
	LogCleanerMinCleanableRatio float64

	// AdminListener is admin.listener: host:port of the HTTP listener
	// serving /metrics, /stats and /debug/pprof; empty serves none.
	AdminListener string
	// FetchZeroCopy is fetch.zero.copy.enable: send fetched record bytes
	// from the page cache with sendfile; false copies them (for
	// comparison, or where sendfile misbehaves).
	FetchZeroCopy bool

	// Plugins binds the extension points (plugin.*).
	Plugins Plugins
}

// AssignorPin pins the consumer groups matching Group (an exact id, or a
// prefix followed by "*") to the server-side assignor named Assignor.
type AssignorPin struct {
	Group    string
	Assignor string
}

// Matches reports whether the pin applies to group.
func (p AssignorPin) Matches(group string) bool {
	if prefix, ok := strings.CutSuffix(p.Group, "*"); ok {
		return strings.HasPrefix(group, prefix)
	}
	return group == p.Group
}

// Plugins is how the broker binds its extension points. A binding is
// "builtin:NAME", "exec:/absolute/path/to/plugin", or a bare name (a
// builtin, else a plugin in Dir); cmd/ resolves them.
type Plugins struct {
	// Dir is plugin.dir: a directory of plugin binaries, each bindable by
	// name; every assignor in it is offered to consumer groups.
	Dir string
	// Assignor is plugin.assignor: the default server-side assignor of
	// KIP-848 consumer groups.
	Assignor string
	// AssignorFallback is plugin.assignor.fallback: the binding used when
	// Assignor's plugin cannot start; empty fails the start instead.
	AssignorFallback string
	// AssignorGroups is plugin.assignor.groups: groups whose assignor the
	// broker chooses, whatever their members ask for.
	AssignorGroups []AssignorPin
	// Consensus and Replicator are plugin.consensus and plugin.replicator
	// (builtins only).
	Consensus  string
	Replicator string
	// CallTimeoutMs, StartTimeoutMs and HealthCheckIntervalMs bound the
	// broker's dealings with plugin processes.
	CallTimeoutMs         int64
	StartTimeoutMs        int64
	HealthCheckIntervalMs int64
}
