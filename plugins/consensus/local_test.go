package consensus_test

import (
	"context"
	"testing"

	"github.com/runnel-dev/runnel/plugins"
	_ "github.com/runnel-dev/runnel/plugins/consensus"
	"github.com/runnel-dev/runnel/sdk"
)

// TestLocalThroughRegistry drives consensus.local as the kernel does:
// resolved by name, opened, appended to, compacted, reopened.
func TestLocalThroughRegistry(t *testing.T) {
	dir := t.TempDir()
	open := func() (sdk.Consensus, []string) {
		c, err := plugins.NewConsensus("local")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		if err := c.Open(dir, func(e []byte) error { got = append(got, string(e)); return nil }); err != nil {
			t.Fatal(err)
		}
		return c, got
	}
	c, _ := open()
	for _, e := range []string{"a", "b", "c"} {
		if err := c.Append(context.Background(), []byte(e)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.(sdk.Compactor).Compact([][]byte{[]byte("c")}); err != nil {
		t.Fatal(err)
	}
	if err := c.Append(context.Background(), []byte("d")); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Append(context.Background(), []byte("e")); err == nil {
		t.Fatal("Append after Close succeeded")
	}
	c, got := open()
	defer c.Close()
	if len(got) != 2 || got[0] != "c" || got[1] != "d" {
		t.Fatalf("replayed %q, want [c d]", got)
	}
}
