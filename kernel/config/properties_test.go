package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Every documented property must accept its documented default, and the
// documented default must be what Default() already holds.
func TestPropertiesAgreeWithDefault(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Properties() {
		if seen[p.Name] {
			t.Errorf("property %s listed twice", p.Name)
		}
		seen[p.Name] = true
		if p.Doc == "" {
			t.Errorf("property %s has no doc", p.Name)
		}
		b := Default()
		if err := b.Set(p.Name, p.Default); err != nil {
			t.Errorf("Set(%q, %q): %v", p.Name, p.Default, err)
			continue
		}
		if !reflect.DeepEqual(b, Default()) {
			t.Errorf("Set(%q, %q) changed the defaults:\n got %+v\nwant %+v", p.Name, p.Default, b, Default())
		}
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate(): %v", err)
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		key, value string
		check      func(Broker) bool
	}{
		{"node.id", "7", func(b Broker) bool { return b.NodeID == 7 }},
		{"node.id", " 0 ", func(b Broker) bool { return b.NodeID == 0 }},
		{"num.partitions", "12", func(b Broker) bool { return b.NumPartitions == 12 }},
		{"default.replication.factor", "3", func(b Broker) bool { return b.DefaultReplicationFactor == 3 }},
		{"auto.create.topics.enable", "FALSE", func(b Broker) bool { return !b.AutoCreateTopics }},
		{"delete.topic.enable", "False", func(b Broker) bool { return !b.DeleteTopicEnable }},
		{"log.dirs", " /a , /b ,", func(b Broker) bool { return reflect.DeepEqual(b.LogDirs, []string{"/a", "/b"}) }},
		{"log.dir", "/var/runnel", func(b Broker) bool { return reflect.DeepEqual(b.LogDirs, []string{"/var/runnel"}) }},
		{"log.segment.bytes", "14", func(b Broker) bool { return b.LogSegmentBytes == 14 }},
		{"log.roll.ms", "1000", func(b Broker) bool { return b.LogRollMs == 1000 }},
		{"log.roll.hours", "2", func(b Broker) bool { return b.LogRollMs == 2*3600000 }},
		{"log.retention.ms", "-1", func(b Broker) bool { return b.LogRetentionMs == -1 }},
		{"log.retention.ms", "5000", func(b Broker) bool { return b.LogRetentionMs == 5000 }},
		{"log.retention.minutes", "3", func(b Broker) bool { return b.LogRetentionMs == 180000 }},
		{"log.retention.minutes", "-1", func(b Broker) bool { return b.LogRetentionMs == -1 }},
		{"log.retention.hours", "1", func(b Broker) bool { return b.LogRetentionMs == 3600000 }},
		{"log.retention.hours", "2147483647", func(b Broker) bool { return b.LogRetentionMs == 2147483647*3600000 }},
		{"log.retention.bytes", "1024", func(b Broker) bool { return b.LogRetentionBytes == 1024 }},
		{"message.max.bytes", "0", func(b Broker) bool { return b.MessageMaxBytes == 0 }},
		{"socket.request.max.bytes", "1048576", func(b Broker) bool { return b.SocketRequestMaxBytes == 1048576 }},
		{"num.network.threads", "4", func(b Broker) bool { return b.NumNetworkThreads == 4 }},
		{"listeners", "plaintext://:9093", func(b Broker) bool {
			return reflect.DeepEqual(b.Listeners, []Listener{{"PLAINTEXT", "", 9093}})
		}},
		{"advertised.listeners", "PLAINTEXT://broker.example:9092", func(b Broker) bool {
			return reflect.DeepEqual(b.AdvertisedListeners, []Listener{{"PLAINTEXT", "broker.example", 9092}})
		}},
		{"advertised.listeners", "", func(b Broker) bool { return b.AdvertisedListeners == nil }},
	}
	for _, tt := range tests {
		b := Default()
		if err := b.Set(tt.key, tt.value); err != nil {
			t.Errorf("Set(%q, %q): %v", tt.key, tt.value, err)
			continue
		}
		if !tt.check(b) {
			t.Errorf("Set(%q, %q) gave %+v", tt.key, tt.value, b)
		}
	}
}

func TestSetRejects(t *testing.T) {
	tests := []struct{ key, value, want string }{
		{"num.partitions", "abc", `num.partitions: "abc" is not a whole number`},
		{"num.partitions", "", `num.partitions: a whole number is required`},
		{"num.partitions", "0", `num.partitions: "0" is too small (at least 1)`},
		{"num.partitions", "2147483648", `num.partitions: "2147483648" is out of range (-2147483648 to 2147483647)`},
		{"node.id", "-1", `node.id: "-1" is too small (at least 0)`},
		{"default.replication.factor", "40000", `default.replication.factor: "40000" is out of range (-32768 to 32767)`},
		{"auto.create.topics.enable", "yes", `auto.create.topics.enable: "yes" is not true or false`},
		{"log.segment.bytes", "1GB", `log.segment.bytes: "1GB" is not a whole number`},
		{"log.segment.bytes", "13", `log.segment.bytes: "13" is too small (at least 14)`},
		{"log.segment.bytes", "4294967296", `log.segment.bytes: "4294967296" is out of range`},
		{"log.roll.ms", "0", `log.roll.ms: "0" is too small (at least 1)`},
		{"log.roll.hours", "0", `log.roll.hours: "0" is too small (at least 1)`},
		{"log.retention.ms", "0", `log.retention.ms: "0" must be -1 (no limit) or at least 1`},
		{"log.retention.hours", "-2", `log.retention.hours: "-2" must be -1 (no limit) or at least 1`},
		{"log.retention.bytes", "-2", `log.retention.bytes: "-2" is too small (at least -1)`},
		{"log.dirs", " , ", `log.dirs: at least one directory is required`},
		{"log.dir", "", `log.dir: a directory is required`},
		{"listeners", "", `listeners: at least one listener is required`},
		{"listeners", "127.0.0.1:9092", `listeners: "127.0.0.1:9092" is not of the form NAME://host:port`},
		{"listeners", "PLAINTEXT://::1:9092", `(IPv6 hosts go in brackets: [::1]:9092)`},
		{"listeners", "PLAINTEXT://localhost:65536", `listeners: "PLAINTEXT://localhost:65536" has port "65536"; a port is a number from 0 to 65535`},
		{"listeners", "PLAINTEXT://localhost:", `has port ""`},
		{"listeners", "PLAIN TEXT://localhost:1", `has a listener name with ' '`},
		{"listeners", "A://:1,a://:2", `listeners: listener name A is used twice`},
		{"advertised.listeners", "PLAINTEXT://0.0.0.0:9092", `advertises the wildcard address 0.0.0.0`},
	}
	for _, tt := range tests {
		b := Default()
		err := b.Set(tt.key, tt.value)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Set(%q, %q) = %v, want an error containing %q", tt.key, tt.value, err, tt.want)
		}
		if errors.Is(err, ErrUnknownProperty) {
			t.Errorf("Set(%q, %q): a bad value must not look like an unknown property", tt.key, tt.value)
		}
		if !reflect.DeepEqual(b, Default()) {
			t.Errorf("Set(%q, %q) failed but changed the broker: %+v", tt.key, tt.value, b)
		}
	}
}

func TestSetUnknown(t *testing.T) {
	b := Default()
	err := b.Set("foo.bar", "1")
	if !errors.Is(err, ErrUnknownProperty) {
		t.Fatalf("Set(foo.bar) = %v, want ErrUnknownProperty", err)
	}
	if got, want := err.Error(), `unknown property "foo.bar"`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	// Kafka's names are case-sensitive.
	if err := b.Set("NUM.PARTITIONS", "3"); !errors.Is(err, ErrUnknownProperty) {
		t.Errorf("Set(NUM.PARTITIONS) = %v, want ErrUnknownProperty", err)
	}
}

func TestEnvVar(t *testing.T) {
	for _, p := range Properties() {
		if got := envProperty(EnvVar(p.Name)); got != p.Name {
			t.Errorf("envProperty(EnvVar(%q)) = %q", p.Name, got)
		}
	}
	if got := EnvVar("log.dirs"); got != "RUNNEL_LOG_DIRS" {
		t.Errorf("EnvVar(log.dirs) = %q", got)
	}
}
