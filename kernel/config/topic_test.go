package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestTopicDefaults(t *testing.T) {
	b := Default()
	b.LogRetentionMs, b.LogRetentionBytes, b.LogSegmentBytes, b.LogRollMs, b.MessageMaxBytes = 1, 2, 3, 4, 5
	b.LogFlushIntervalMessages, b.LogFlushIntervalMs = 6, 7
	want := Topic{
		RetentionMs: 1, RetentionBytes: 2, SegmentBytes: 3, SegmentMs: 4, MaxMessageBytes: 5,
		CleanupPolicy: "delete", MinInsyncReplicas: 1, MessageTimestampType: "CreateTime",
		DeleteRetentionMs: 86400000, FlushMessages: 6, FlushMs: 7,
	}
	if got := b.TopicDefaults(); got != want {
		t.Errorf("TopicDefaults() = %+v, want %+v", got, want)
	}
}

// Get and Set must agree: every name Get knows round-trips through Set.
func TestTopicGetSetRoundTrip(t *testing.T) {
	names := TopicConfigNames()
	if len(names) != 11 {
		t.Errorf("TopicConfigNames() = %q, want 11 names", names)
	}
	def := Default().TopicDefaults()
	for _, n := range names {
		v, ok := def.Get(n)
		if !ok {
			t.Errorf("Get(%q) not found", n)
			continue
		}
		got := def
		if err := got.Set(n, v); err != nil || got != def {
			t.Errorf("Set(%q, %q) = %v, changed %+v", n, v, err, got)
		}
	}
	if _, ok := def.Get("nope"); ok {
		t.Error(`Get("nope") found`)
	}
}

func TestTopicSet(t *testing.T) {
	tests := []struct{ name, value, get string }{
		{"retention.ms", "-1", "-1"},
		{"retention.ms", "0", "0"},
		{"retention.bytes", "1048576", "1048576"},
		{"segment.bytes", "14", "14"},
		{"segment.ms", "1", "1"},
		{"cleanup.policy", "compact", "compact"},
		{"cleanup.policy", "delete, compact", "compact,delete"},
		{"cleanup.policy", "compact,delete", "compact,delete"},
		{"max.message.bytes", "0", "0"},
		{"min.insync.replicas", "2", "2"},
		{"message.timestamp.type", "LogAppendTime", "LogAppendTime"},
		{"delete.retention.ms", "0", "0"},
	}
	for _, tt := range tests {
		topic := Default().TopicDefaults()
		if err := topic.Set(tt.name, tt.value); err != nil {
			t.Errorf("Set(%q, %q): %v", tt.name, tt.value, err)
			continue
		}
		if got, _ := topic.Get(tt.name); got != tt.get {
			t.Errorf("after Set(%q, %q), Get = %q, want %q", tt.name, tt.value, got, tt.get)
		}
	}
}

func TestTopicSetRejects(t *testing.T) {
	tests := []struct{ name, value, want string }{
		{"retention.ms", "-2", `retention.ms: "-2" must be -1 (no limit) or at least 0`},
		{"retention.ms", "1h", `retention.ms: "1h" is not a whole number`},
		{"retention.bytes", "-3", `retention.bytes: "-3" must be -1 (no limit) or at least 0`},
		{"segment.bytes", "13", `segment.bytes: "13" is too small (at least 14)`},
		{"segment.bytes", "2147483648", `segment.bytes: "2147483648" is out of range`},
		{"segment.ms", "0", `segment.ms: "0" is too small (at least 1)`},
		{"cleanup.policy", "compacted", `cleanup.policy: "compacted" is not delete, compact or compact,delete`},
		{"cleanup.policy", "", `cleanup.policy: a policy is required`},
		{"max.message.bytes", "-1", `max.message.bytes: "-1" is too small (at least 0)`},
		{"min.insync.replicas", "0", `min.insync.replicas: "0" is too small (at least 1)`},
		{"message.timestamp.type", "createtime", `message.timestamp.type: "createtime" is not CreateTime or LogAppendTime`},
		{"delete.retention.ms", "-1", `delete.retention.ms: "-1" is too small (at least 0)`},
	}
	for _, tt := range tests {
		topic := Default().TopicDefaults()
		err := topic.Set(tt.name, tt.value)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Set(%q, %q) = %v, want an error containing %q", tt.name, tt.value, err, tt.want)
		}
		if errors.Is(err, ErrUnknownTopicConfig) {
			t.Errorf("Set(%q, %q): a bad value must not look like an unknown config", tt.name, tt.value)
		}
		if !reflect.DeepEqual(topic, Default().TopicDefaults()) {
			t.Errorf("Set(%q, %q) failed but changed the topic: %+v", tt.name, tt.value, topic)
		}
	}
}

func TestTopicSetUnknown(t *testing.T) {
	var topic Topic
	err := topic.Set("compression.typo", "lz4")
	if !errors.Is(err, ErrUnknownTopicConfig) {
		t.Fatalf("Set = %v, want ErrUnknownTopicConfig", err)
	}
	if got, want := err.Error(), `unknown topic config "compression.typo"`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}
