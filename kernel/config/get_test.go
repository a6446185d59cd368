package config

import (
	"reflect"
	"testing"
)

// Every property has a getter, and on the defaults it reports the
// documented default.
func TestGetCoversEveryProperty(t *testing.T) {
	def := Default()
	for _, p := range Properties() {
		v, ok := def.Get(p.Name)
		if !ok {
			t.Errorf("Get(%q) on the defaults: no value; add a getter to get.go", p.Name)
			continue
		}
		if v != p.Default {
			t.Errorf("Get(%q) = %q, want the documented default %q", p.Name, v, p.Default)
		}
	}
	if len(getters) != len(Properties()) {
		t.Errorf("%d getters for %d properties", len(getters), len(Properties()))
	}
	if _, ok := def.Get("no.such.property"); ok {
		t.Error("Get of an unknown name reports ok")
	}
}

// What Get reports, Set accepts and turns back into the same broker.
func TestGetSetRoundTrip(t *testing.T) {
	b := Default()
	for _, kv := range [][2]string{
		{"node.id", "7"},
		{"listeners", "PLAINTEXT://:9092,INTERNAL://[::1]:9093"},
		{"advertised.listeners", "PLAINTEXT://kafka.example:9092"},
		{"log.dirs", "/a,/b"},
		{"num.partitions", "3"},
		{"default.replication.factor", "2"},
		{"auto.create.topics.enable", "false"},
		{"log.segment.bytes", "1048576"},
		{"log.roll.ms", "7200000"},
		{"log.retention.ms", "-1"},
		{"log.retention.bytes", "1000"},
		{"log.flush.interval.messages", "100"},
		{"num.network.threads", "4"},
	} {
		if err := b.Set(kv[0], kv[1]); err != nil {
			t.Fatalf("Set(%q, %q): %v", kv[0], kv[1], err)
		}
	}
	for _, p := range Properties() {
		v, ok := b.Get(p.Name)
		if !ok {
			continue
		}
		c := b
		if err := c.Set(p.Name, v); err != nil {
			t.Errorf("Set(%q, Get() = %q): %v", p.Name, v, err)
			continue
		}
		if !reflect.DeepEqual(c, b) {
			t.Errorf("Set(%q, %q) changed the broker:\n got %+v\nwant %+v", p.Name, v, c, b)
		}
	}
	if v, _ := b.Get("log.retention.hours"); v != "-1" {
		t.Errorf("log.retention.hours with log.retention.ms=-1: %q, want -1", v)
	}
	if v, _ := b.Get("log.roll.hours"); v != "2" {
		t.Errorf("log.roll.hours with log.roll.ms=7200000: %q, want 2", v)
	}
}

// An alias in coarser units has no value when the effective one does not
// divide evenly, and log.dir has none when there are several dirs.
func TestGetAliasWithoutAValue(t *testing.T) {
	b := Default()
	b.LogRetentionMs = 90000
	b.LogRollMs = 1
	b.LogDirs = []string{"/a", "/b"}
	for _, name := range []string{"log.retention.minutes", "log.retention.hours", "log.roll.hours", "log.dir"} {
		if v, ok := b.Get(name); ok {
			t.Errorf("Get(%q) = %q, want no value", name, v)
		}
	}
	if v, ok := b.Get("log.retention.ms"); !ok || v != "90000" {
		t.Errorf("Get(log.retention.ms) = %q, %v", v, ok)
	}
}
