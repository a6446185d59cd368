package config

import "math"

// Default returns the configuration of a single-node development broker
// listening on 127.0.0.1:9092 and storing data under ./data. The values
// match Kafka's defaults except node.id (Kafka has none) and log.dirs.
// Properties documents the same defaults as strings; a test keeps the two
// in step.
func Default() Broker {
	return Broker{
		NodeID:                   1,
		Listeners:                []Listener{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}},
		AdvertisedListeners:      nil,
		LogDirs:                  []string{"./data"},
		NumPartitions:            1,
		DefaultReplicationFactor: 1,
		AutoCreateTopics:         true,
		DeleteTopicEnable:        true,
		LogSegmentBytes:          1 << 30,            // 1 GiB
		LogRollMs:                7 * 24 * msPerHour, // 7 days
		LogRetentionMs:           168 * msPerHour,    // 168 hours
		LogRetentionBytes:        -1,                 // unbounded
		MessageMaxBytes:          1048588,            // 1 MiB plus batch overhead, as Kafka
		SocketRequestMaxBytes:    100 << 20,          // 100 MiB
		NumNetworkThreads:        0,                  // one event loop per core
		LogFlushIntervalMessages: 1,                  // fsync before acknowledging
		LogFlushIntervalMs:       math.MaxInt64,      // Kafka's "never by time"

		OffsetsTopicNumPartitions:          50,
		OffsetsRetentionMinutes:            7 * 24 * 60, // 7 days
		GroupInitialRebalanceDelayMs:       3000,
		GroupMinSessionTimeoutMs:           6000,
		GroupMaxSessionTimeoutMs:           30 * 60 * 1000, // 30 minutes
		ConsumerGroupHeartbeatMs:           5000,
		ConsumerGroupSessionTimeoutMs:      45000,
		LogRetentionCheckIntervalMs:        300000, // 5 minutes, as Kafka
		LogFlushOffsetCheckpointIntervalMs: 60000,
		LogCleanerBackoffMs:                15000, // as Kafka
		LogCleanerMinCleanableRatio:        0.5,   // as Kafka
		FetchZeroCopy:                      true,
		Plugins: Plugins{
			Assignor:              "builtin:uniform",
			Consensus:             "builtin:local",
			Replicator:            "builtin:none",
			CallTimeoutMs:         5000,
			StartTimeoutMs:        10000,
			HealthCheckIntervalMs: 1000,
		},
	}
}

const (
	msPerMinute = 60 * 1000
	msPerHour   = 60 * msPerMinute
)
