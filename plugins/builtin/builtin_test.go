package builtin_test

import (
	"testing"

	"github.com/runnel-dev/runnel/plugins"
	_ "github.com/runnel-dev/runnel/plugins/builtin"
)

func TestPartitionersRegistered(t *testing.T) {
	for _, id := range []string{"partitioner.murmur2", "partitioner.sticky", "partitioner.roundrobin"} {
		if _, ok := plugins.Lookup(id); !ok {
			t.Errorf("%s is not registered by importing builtin", id)
		}
	}
}
