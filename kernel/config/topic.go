package config

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ErrUnknownTopicConfig is wrapped by Topic.Set's error for a name that
// is not a supported topic config. The kernel answers it, like any other
// Topic.Set error, with Kafka's INVALID_CONFIG.
var ErrUnknownTopicConfig = errors.New("unknown topic config")

// Topic is one topic's configuration, the per-topic overrides Kafka's
// CreateTopics, AlterConfigs and DescribeConfigs deal in. A topic that
// overrides nothing has the values of Broker.TopicDefaults.
type Topic struct {
	RetentionMs          int64  // retention.ms; -1 keeps forever
	RetentionBytes       int64  // retention.bytes; -1 unbounded
	SegmentBytes         int64  // segment.bytes
	SegmentMs            int64  // segment.ms
	CleanupPolicy        string // cleanup.policy: "delete", "compact" or "compact,delete"
	MaxMessageBytes      int32  // max.message.bytes: largest record batch
	MinInsyncReplicas    int32  // min.insync.replicas
	MessageTimestampType string // message.timestamp.type: "CreateTime" or "LogAppendTime"
	DeleteRetentionMs    int64  // delete.retention.ms: how long compaction keeps tombstones
	FlushMessages        int64  // flush.messages: 1 fsyncs before acknowledging
	FlushMs              int64  // flush.ms: longest wait for an fsync in the relaxed mode
}

// Durable reports whether a produce is acknowledged only after its batch
// is fsync'd (flush.messages=1), rather than from the page cache.
func (t Topic) Durable() bool { return t.FlushMessages <= 1 }

// TopicDefaults returns the configuration of a topic that overrides
// nothing, derived from the broker's log.* settings as Kafka derives it.
func (b Broker) TopicDefaults() Topic {
	return Topic{
		RetentionMs:          b.LogRetentionMs,
		RetentionBytes:       b.LogRetentionBytes,
		SegmentBytes:         b.LogSegmentBytes,
		SegmentMs:            b.LogRollMs,
		CleanupPolicy:        "delete",
		MaxMessageBytes:      b.MessageMaxBytes,
		MinInsyncReplicas:    1,
		MessageTimestampType: "CreateTime",
		DeleteRetentionMs:    24 * msPerHour,
		FlushMessages:        b.LogFlushIntervalMessages,
		FlushMs:              b.LogFlushIntervalMs,
	}
}

// topicConfig binds one topic config name to its field.
type topicConfig struct {
	get func(t Topic) string
	set func(t *Topic, name, value string) error
}

var topicConfigs = map[string]topicConfig{
	"retention.ms": {
		get: func(t Topic) string { return itoa(t.RetentionMs) },
		set: func(t *Topic, n, v string) error { return setLimit(&t.RetentionMs, n, v, 0) },
	},
	"retention.bytes": {
		get: func(t Topic) string { return itoa(t.RetentionBytes) },
		set: func(t *Topic, n, v string) error { return setLimit(&t.RetentionBytes, n, v, 0) },
	},
	"segment.bytes": {
		get: func(t Topic) string { return itoa(t.SegmentBytes) },
		set: func(t *Topic, n, v string) error { return setInt64(&t.SegmentBytes, n, v, 32, minSegmentBytes) },
	},
	"segment.ms": {
		get: func(t Topic) string { return itoa(t.SegmentMs) },
		set: func(t *Topic, n, v string) error { return setInt64(&t.SegmentMs, n, v, 64, 1) },
	},
	"cleanup.policy": {
		get: func(t Topic) string { return t.CleanupPolicy },
		set: func(t *Topic, n, v string) error {
			p, err := parseCleanupPolicy(n, v)
			if err == nil {
				t.CleanupPolicy = p
			}
			return err
		},
	},
	"max.message.bytes": {
		get: func(t Topic) string { return itoa(int64(t.MaxMessageBytes)) },
		set: func(t *Topic, n, v string) error { return setInt32(&t.MaxMessageBytes, n, v, 0) },
	},
	"min.insync.replicas": {
		get: func(t Topic) string { return itoa(int64(t.MinInsyncReplicas)) },
		set: func(t *Topic, n, v string) error { return setInt32(&t.MinInsyncReplicas, n, v, 1) },
	},
	"message.timestamp.type": {
		get: func(t Topic) string { return t.MessageTimestampType },
		set: func(t *Topic, n, v string) error {
			// Case-sensitive, as Kafka validates it.
			if v != "CreateTime" && v != "LogAppendTime" {
				return fmt.Errorf("%s: %q is not CreateTime or LogAppendTime", n, v)
			}
			t.MessageTimestampType = v
			return nil
		},
	},
	"flush.messages": {
		get: func(t Topic) string { return itoa(t.FlushMessages) },
		set: func(t *Topic, n, v string) error { return setInt64(&t.FlushMessages, n, v, 64, 1) },
	},
	"flush.ms": {
		get: func(t Topic) string { return itoa(t.FlushMs) },
		set: func(t *Topic, n, v string) error { return setInt64(&t.FlushMs, n, v, 64, 0) },
	},
	"delete.retention.ms": {
		get: func(t Topic) string { return itoa(t.DeleteRetentionMs) },
		set: func(t *Topic, n, v string) error { return setInt64(&t.DeleteRetentionMs, n, v, 64, 0) },
	},
}

// TopicConfigNames returns the supported topic config names, sorted, as
// DescribeConfigs lists them.
func TopicConfigNames() []string {
	names := make([]string, 0, len(topicConfigs))
	for n := range topicConfigs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Set sets one topic config by its Kafka name. Surrounding whitespace in
// the value is ignored. An unknown name returns an error wrapping
// ErrUnknownTopicConfig; any other error is a sentence naming the config
// and the bad value, and leaves t unchanged.
func (t *Topic) Set(name, value string) error {
	c, ok := topicConfigs[name]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownTopicConfig, name)
	}
	return c.set(t, name, strings.TrimSpace(value))
}

// Get returns a config's value in the string form Kafka reports and Set
// accepts, and whether name is a supported topic config.
func (t Topic) Get(name string) (string, bool) {
	c, ok := topicConfigs[name]
	if !ok {
		return "", false
	}
	return c.get(t), true
}

// parseCleanupPolicy accepts a comma-separated list of delete and compact
// in any order and returns its canonical form.
func parseCleanupPolicy(name, value string) (string, error) {
	var compact, del bool
	for _, p := range parseList(value) {
		switch p {
		case "compact":
			compact = true
		case "delete":
			del = true
		default:
			return "", fmt.Errorf("%s: %q is not delete, compact or compact,delete", name, value)
		}
	}
	switch {
	case compact && del:
		return "compact,delete", nil
	case compact:
		return "compact", nil
	case del:
		return "delete", nil
	}
	return "", fmt.Errorf("%s: a policy is required: delete, compact or compact,delete", name)
}

// setLimit sets a retention limit: -1 for none, else at least min.
func setLimit(dst *int64, name, value string, min int64) error {
	n, err := parseLimit(name, value, 64, min)
	if err == nil {
		*dst = n
	}
	return err
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
