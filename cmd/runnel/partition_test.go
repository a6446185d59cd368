package main

import (
	"strings"
	"testing"

	"github.com/runnel-dev/runnel/plugins"
)

// failingPartitioner puts every record on partition 0, or fails with
// fail when it is set.
type failingPartitioner struct{ fail error }

func (f *failingPartitioner) Partition(_ string, _ int32, _ [][]byte, dst []int32) error {
	if f.fail != nil {
		return f.fail
	}
	clear(dst)
	return nil
}

func init() {
	// A unique id, so the test never collides with the builtins.
	plugins.Register(plugins.Module{
		ID:  "partitioner.clitest-fake",
		Doc: "test partitioner of cmd/runnel",
		New: func() any { return &failingPartitioner{} },
	})
}

func TestProducePartitionerFromRegistry(t *testing.T) {
	o := &produceOptions{client: &clientFlags{}, partition: -1, partitioner: "clitest-fake", idempotent: true}
	_, part, err := o.kgoOptions()
	if err != nil || part == nil {
		t.Fatalf("kgoOptions: %v", err)
	}
	o.partitioner = "no-such-partitioner"
	if _, _, err := o.kgoOptions(); err == nil || !strings.Contains(err.Error(), `no builtin partitioner named "no-such-partitioner"`) {
		t.Fatalf("unknown partitioner: %v", err)
	}
	o.partition = 2
	if _, part, err := o.kgoOptions(); err != nil || part != nil {
		t.Fatalf("with -p: part=%v err=%v", part, err)
	}
}
