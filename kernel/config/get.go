package config

import (
	"strconv"
	"strings"
)

// getters maps every property of the properties table to its current
// value, in the form Set accepts. A property added to the table needs a
// getter here too; TestGetCoversEveryProperty checks that.
var getters = map[string]func(b Broker) (string, bool){
	"node.id":                     func(b Broker) (string, bool) { return itoa(int64(b.NodeID)), true },
	"listeners":                   func(b Broker) (string, bool) { return joinListeners(b.Listeners), true },
	"advertised.listeners":        func(b Broker) (string, bool) { return joinListeners(b.AdvertisedListeners), true },
	"log.dirs":                    func(b Broker) (string, bool) { return strings.Join(b.LogDirs, ","), true },
	"log.dir":                     func(b Broker) (string, bool) { return singleDir(b.LogDirs) },
	"num.partitions":              func(b Broker) (string, bool) { return itoa(int64(b.NumPartitions)), true },
	"default.replication.factor":  func(b Broker) (string, bool) { return itoa(int64(b.DefaultReplicationFactor)), true },
	"auto.create.topics.enable":   func(b Broker) (string, bool) { return strconv.FormatBool(b.AutoCreateTopics), true },
	"delete.topic.enable":         func(b Broker) (string, bool) { return strconv.FormatBool(b.DeleteTopicEnable), true },
	"log.segment.bytes":           func(b Broker) (string, bool) { return itoa(b.LogSegmentBytes), true },
	"log.roll.ms":                 func(b Broker) (string, bool) { return itoa(b.LogRollMs), true },
	"log.roll.hours":              func(b Broker) (string, bool) { return inUnit(b.LogRollMs, msPerHour) },
	"log.retention.ms":            func(b Broker) (string, bool) { return itoa(b.LogRetentionMs), true },
	"log.retention.minutes":       func(b Broker) (string, bool) { return inUnit(b.LogRetentionMs, msPerMinute) },
	"log.retention.hours":         func(b Broker) (string, bool) { return inUnit(b.LogRetentionMs, msPerHour) },
	"log.retention.bytes":         func(b Broker) (string, bool) { return itoa(b.LogRetentionBytes), true },
	"message.max.bytes":           func(b Broker) (string, bool) { return itoa(int64(b.MessageMaxBytes)), true },
	"socket.request.max.bytes":    func(b Broker) (string, bool) { return itoa(int64(b.SocketRequestMaxBytes)), true },
	"log.flush.interval.messages": func(b Broker) (string, bool) { return itoa(b.LogFlushIntervalMessages), true },
	"log.flush.interval.ms":       func(b Broker) (string, bool) { return itoa(b.LogFlushIntervalMs), true },
	"admin.listener":              func(b Broker) (string, bool) { return b.AdminListener, true },
	"plugin.dir":                  func(b Broker) (string, bool) { return b.Plugins.Dir, true },
	"plugin.assignor":             func(b Broker) (string, bool) { return b.Plugins.Assignor, true },
	"plugin.assignor.fallback":    func(b Broker) (string, bool) { return b.Plugins.AssignorFallback, true },
	"plugin.assignor.groups": func(b Broker) (string, bool) {
		pins := make([]string, 0, len(b.Plugins.AssignorGroups))
		for _, p := range b.Plugins.AssignorGroups {
			pins = append(pins, p.Group+"="+p.Assignor)
		}
		return strings.Join(pins, ","), true
	},
	"plugin.consensus":                func(b Broker) (string, bool) { return b.Plugins.Consensus, true },
	"plugin.replicator":               func(b Broker) (string, bool) { return b.Plugins.Replicator, true },
	"plugin.call.timeout.ms":          func(b Broker) (string, bool) { return itoa(b.Plugins.CallTimeoutMs), true },
	"plugin.start.timeout.ms":         func(b Broker) (string, bool) { return itoa(b.Plugins.StartTimeoutMs), true },
	"plugin.health.check.interval.ms": func(b Broker) (string, bool) { return itoa(b.Plugins.HealthCheckIntervalMs), true },
	"fetch.zero.copy.enable":          func(b Broker) (string, bool) { return strconv.FormatBool(b.FetchZeroCopy), true },
	"num.network.threads":             func(b Broker) (string, bool) { return strconv.Itoa(b.NumNetworkThreads), true },
	"offsets.topic.num.partitions":    func(b Broker) (string, bool) { return itoa(int64(b.OffsetsTopicNumPartitions)), true },
	"offsets.retention.minutes":       func(b Broker) (string, bool) { return itoa(int64(b.OffsetsRetentionMinutes)), true },
	"group.initial.rebalance.delay.ms": func(b Broker) (string, bool) {
		return itoa(int64(b.GroupInitialRebalanceDelayMs)), true
	},
	"group.min.session.timeout.ms": func(b Broker) (string, bool) { return itoa(int64(b.GroupMinSessionTimeoutMs)), true },
	"group.max.session.timeout.ms": func(b Broker) (string, bool) { return itoa(int64(b.GroupMaxSessionTimeoutMs)), true },
	"group.consumer.heartbeat.interval.ms": func(b Broker) (string, bool) {
		return itoa(int64(b.ConsumerGroupHeartbeatMs)), true
	},
	"group.consumer.session.timeout.ms": func(b Broker) (string, bool) {
		return itoa(int64(b.ConsumerGroupSessionTimeoutMs)), true
	},
	"log.retention.check.interval.ms": func(b Broker) (string, bool) {
		return itoa(b.LogRetentionCheckIntervalMs), true
	},
	"log.cleaner.backoff.ms": func(b Broker) (string, bool) { return itoa(b.LogCleanerBackoffMs), true },
	"log.cleaner.min.cleanable.ratio": func(b Broker) (string, bool) {
		return strconv.FormatFloat(b.LogCleanerMinCleanableRatio, 'g', -1, 64), true
	},
	"log.flush.offset.checkpoint.interval.ms": func(b Broker) (string, bool) {
		return itoa(b.LogFlushOffsetCheckpointIntervalMs), true
	},
}

// Get returns a property's current value in the form Set accepts, as
// DescribeConfigs reports it for the broker. ok is false for a name that
// is not a supported property, and for an alias whose value cannot be
// told in its own terms: log.roll.hours, log.retention.minutes and
// log.retention.hours when the effective value is not a whole number of
// that unit, and log.dir when log.dirs names several directories.
func (b Broker) Get(name string) (value string, ok bool) {
	g, known := getters[name]
	if !known {
		return "", false
	}
	return g(b)
}

func joinListeners(ls []Listener) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.String()
	}
	return strings.Join(parts, ",")
}

func singleDir(dirs []string) (string, bool) {
	if len(dirs) != 1 {
		return "", false
	}
	return dirs[0], true
}

// inUnit expresses ms in a coarser unit; -1 (no limit) stays -1.
func inUnit(ms, unit int64) (string, bool) {
	if ms == -1 {
		return "-1", true
	}
	if ms%unit != 0 {
		return "", false
	}
	return itoa(ms / unit), true
}
