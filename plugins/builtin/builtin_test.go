package builtin_test

import (
	"testing"

	"github.com/runnel-dev/runnel/plugins"
	_ "github.com/runnel-dev/runnel/plugins/builtin"
	"github.com/runnel-dev/runnel/sdk"
)

func TestPartitionersRegistered(t *testing.T) {
	for _, id := range []string{"partitioner.murmur2", "partitioner.sticky", "partitioner.roundrobin"} {
		if _, ok := plugins.Lookup(id); !ok {
			t.Errorf("%s is not registered by importing builtin", id)
		}
	}
}

func TestClusterBuiltinsRegistered(t *testing.T) {
	for _, id := range []string{"consensus.local", "replication.none"} {
		if _, ok := plugins.Lookup(id); !ok {
			t.Errorf("%s is not registered by importing builtin", id)
		}
	}
	c, err := plugins.NewConsensus("local")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(sdk.Compactor); !ok {
		t.Errorf("consensus.local (%T) does not implement sdk.Compactor", c)
	}
	r, err := plugins.NewReplicator("replication.none")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.LeaderDurable(sdk.TopicPartition{Topic: "t"}, 42); got != 42 {
		t.Errorf("replication.none committed %d of 42 durable", got)
	}
	if _, err := plugins.NewConsensus("raft-someday"); err == nil {
		t.Error("an unknown consensus resolved")
	}
}
