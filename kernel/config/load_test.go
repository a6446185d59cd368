package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "runnel.properties")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadDefaults(t *testing.T) {
	b, warnings, err := Load("", nil, nil)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Load: %v, warnings %q", err, warnings)
	}
	if !reflect.DeepEqual(b, Default()) {
		t.Errorf("Load with no sources = %+v, want Default()", b)
	}
}

// A file with comments, continuations, the three separators and aliases
// in the "wrong" order: the stronger alias must win within the file.
func TestLoadFile(t *testing.T) {
	path := writeFile(t, `# Runnel test configuration
node.id=3
listeners = PLAINTEXT://:19092,\
            INTERNAL://[::1]:19093
advertised.listeners: PLAINTEXT://broker.example:19092
log.dirs /d1,/d2
log.dir=/ignored
log.retention.ms=1000
log.retention.hours=5
log.retention.minutes=7
log.roll.hours=2
! Kafka-only settings become warnings
zookeeper.connect=localhost:2181
auto.create.topics.enable=FALSE
`)
	b, warnings, err := Load(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.NodeID = 3
	want.Listeners = []Listener{{"PLAINTEXT", "", 19092}, {"INTERNAL", "::1", 19093}}
	want.AdvertisedListeners = []Listener{{"PLAINTEXT", "broker.example", 19092}}
	want.LogDirs = []string{"/d1", "/d2"}
	want.LogRetentionMs = 1000
	want.LogRollMs = 2 * 3600000
	want.AutoCreateTopics = false
	if !reflect.DeepEqual(b, want) {
		t.Errorf("Load:\n got %+v\nwant %+v", b, want)
	}
	wantWarnings := []string{
		path + ":7: log.dir ignored because log.dirs is also set",
		path + ":9: log.retention.hours ignored because log.retention.ms is also set",
		path + ":10: log.retention.minutes ignored because log.retention.ms is also set",
		path + `:13: unknown property "zookeeper.connect" ignored`,
	}
	if !reflect.DeepEqual(warnings, wantWarnings) {
		t.Errorf("warnings:\n got %q\nwant %q", warnings, wantWarnings)
	}
}

func TestLoadPrecedence(t *testing.T) {
	path := writeFile(t, "num.partitions=2\nlog.retention.ms=1000\nlog.dirs=/file\nmessage.max.bytes=100\n")
	environ := []string{
		"HOME=/root",
		"RUNNEL_NUM_PARTITIONS=3",
		"RUNNEL_LOG_RETENTION_HOURS=2", // a later source beats the file's .ms
		"RUNNEL_LOG_DIRS=/env",
		"RUNNEL_NOT_A_PROPERTY=x",
		"runnel_num_partitions=99", // variable names are case-sensitive
	}
	overrides := []string{"num.partitions=4", "log.dirs = /set", "num.partitions=5"}
	b, warnings, err := Load(path, environ, overrides)
	if err != nil {
		t.Fatal(err)
	}
	if b.NumPartitions != 5 {
		t.Errorf("num.partitions = %d, want 5 from the last --set", b.NumPartitions)
	}
	if b.LogRetentionMs != 2*3600000 {
		t.Errorf("log.retention.ms = %d, want 2h from the environment", b.LogRetentionMs)
	}
	if !reflect.DeepEqual(b.LogDirs, []string{"/set"}) {
		t.Errorf("log.dirs = %q, want /set", b.LogDirs)
	}
	if b.MessageMaxBytes != 100 {
		t.Errorf("message.max.bytes = %d, want 100 from the file", b.MessageMaxBytes)
	}
	want := []string{`RUNNEL_NOT_A_PROPERTY: unknown property "not.a.property" ignored`}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings = %q, want %q", warnings, want)
	}

	// Within the environment, aliases resolve as in a file.
	b, warnings, err = Load("", []string{"RUNNEL_LOG_DIRS=/a", "RUNNEL_LOG_DIR=/b"}, []string{"foo=1"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(b.LogDirs, []string{"/a"}) {
		t.Errorf("log.dirs = %q, want /a", b.LogDirs)
	}
	want = []string{
		"RUNNEL_LOG_DIR: log.dir ignored because log.dirs is also set",
		`--set: unknown property "foo" ignored`,
	}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings = %q, want %q", warnings, want)
	}
}

func TestLoadErrors(t *testing.T) {
	bad := writeFile(t, "# ok\nnum.partitions=1\n\nnum.partitions = abc\n")
	badAlias := writeFile(t, "log.retention.ms=5\nlog.retention.hours=x\n")
	badEscape := writeFile(t, "a=\\u00\n")
	tests := []struct {
		name      string
		path      string
		env, sets []string
		want      string
	}{
		{"file", bad, nil, nil, bad + `:4: num.partitions: "abc" is not a whole number`},
		{"superseded alias still validated", badAlias, nil, nil, badAlias + `:2: log.retention.hours: "x" is not a whole number`},
		{"escape", badEscape, nil, nil, badEscape + `: line 1: malformed \u escape`},
		{"missing file", filepath.Join(t.TempDir(), "nope.properties"), nil, nil, "reading configuration: open "},
		{"env", "", []string{"RUNNEL_DELETE_TOPIC_ENABLE=maybe"}, nil,
			`RUNNEL_DELETE_TOPIC_ENABLE: delete.topic.enable: "maybe" is not true or false`},
		{"set", "", nil, []string{"log.segment.bytes=1"}, `--set: log.segment.bytes: "1" is too small (at least 14)`},
		{"set form", "", nil, []string{"num.partitions"}, `--set "num.partitions": want key=value`},
		{"advertised names", "", nil, []string{"advertised.listeners=OTHER://h:1"},
			"advertised.listeners: OTHER://h:1 names listener OTHER, which listeners does not define"},
	}
	for _, tt := range tests {
		b, _, err := Load(tt.path, tt.env, tt.sets)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Load error = %v, want it to contain %q", tt.name, err, tt.want)
		}
		if !reflect.DeepEqual(b, Broker{}) {
			t.Errorf("%s: Load returned %+v with an error, want the zero Broker", tt.name, b)
		}
	}
	if _, _, err := Load(filepath.Join(t.TempDir(), "nope"), nil, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file error %v does not wrap os.ErrNotExist", err)
	}
}
