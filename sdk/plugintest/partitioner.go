package plugintest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/runnel-dev/runnel/sdk"
)

// PartitionerOptions says what TestPartitioner may expect of an
// implementation beyond the sdk.Partitioner contract.
type PartitionerOptions struct {
	// KeyStable says that a keyed record's partition depends only on its
	// key, topic and partition count, not on the batch it comes in or the
	// calls before: what lets records of one key stay in order, and
	// Kafka's murmur2 placement. A round-robin partitioner is not
	// key-stable.
	KeyStable bool
}

// partitionCounts are the partition counts every property is checked
// with: one partition, where only 0 is right, and counts that are not
// powers of two, where a hash reduced by masking would go out of range.
var partitionCounts = []int32{1, 2, 3, 7, 16, 100, 1000, 10000}

// TestPartitioner checks that the sdk.Partitioner newImpl returns keeps
// the contract the host relies on. Each subtest takes a fresh
// implementation from newImpl.
func TestPartitioner(t *testing.T, newImpl func() sdk.Partitioner, opts PartitionerOptions) {
	t.Run("range", func(t *testing.T) {
		// Every count on one topic, growing and then shrinking (a topic
		// deleted and created again), so state kept per topic meets
		// counts it was not made for.
		p := build(t, newImpl)
		keys := testKeys(200, 1)
		for _, n := range slices.Concat(partitionCounts, reversed(partitionCounts)) {
			partition(t, p, "range", n, keys)
			newBatch(p, "range")
			partition(t, p, "range", n, keys[:1])
		}
	})

	t.Run("nil-and-empty-keys", func(t *testing.T) {
		// A nil key is a record without a key; an empty key is a key.
		// The host sends both, alone and mixed.
		p := build(t, newImpl)
		for _, n := range partitionCounts {
			partition(t, p, "nil", n, make([][]byte, 5))
			partition(t, p, "empty", n, [][]byte{{}, {}, {}})
			partition(t, p, "mixed", n, [][]byte{nil, {}, []byte("k"), nil, {}})
		}
	})

	t.Run("empty-batch", func(t *testing.T) {
		p := build(t, newImpl)
		for _, n := range []int32{1, 10} {
			if err := p.Partition("empty", n, nil, nil); err != nil {
				t.Errorf("a nil batch, %d partitions: %v", n, err)
			}
			if err := p.Partition("empty", n, [][]byte{}, []int32{}); err != nil {
				t.Errorf("an empty batch, %d partitions: %v", n, err)
			}
		}
	})

	t.Run("large-batch", func(t *testing.T) {
		p := build(t, newImpl)
		keys := testKeys(10000, 2)
		for i := 0; i < len(keys); i += 10 {
			keys[i] = nil // one record in ten without a key
		}
		for _, n := range []int32{1, 64} {
			got := partition(t, p, "large", n, keys)
			if n == 1 {
				for i, part := range got {
					if part != 0 {
						t.Fatalf("keys[%d] went to partition %d of a topic with one", i, part)
					}
				}
			}
		}
	})

	t.Run("key-stable", func(t *testing.T) {
		if !opts.KeyStable {
			t.Skip("not key-stable (PartitionerOptions.KeyStable)")
		}
		p := build(t, newImpl)
		const n = 37
		keys := append(testKeys(500, 3), []byte{}) // the empty key is a key too
		want := map[string]int32{}
		for i, part := range partition(t, p, "stable", n, keys) {
			want[string(keys[i])] = part
		}
		check := func(how string, keys [][]byte, got []int32) {
			t.Helper()
			for i, k := range keys {
				if k != nil && got[i] != want[string(k)] {
					t.Fatalf("%s: key %q moved from partition %d to %d", how, k, want[string(k)], got[i])
				}
			}
		}
		check("the same batch again", keys, partition(t, p, "stable", n, keys))
		rev := reversed(keys)
		check("the batch reversed", rev, partition(t, p, "stable", n, rev))
		partition(t, p, "other topic", n, keys) // state of another topic must not matter
		newBatch(p, "stable")
		for start := 0; start < len(keys); start += 7 {
			// Small batches with unkeyed records among the keys.
			batch := [][]byte{nil}
			batch = append(batch, keys[start:min(start+7, len(keys))]...)
			batch = append(batch, nil)
			check("smaller batches", batch, partition(t, p, "stable", n, batch))
			newBatch(p, "stable")
		}
	})

	t.Run("new-batch", func(t *testing.T) {
		p := build(t, newImpl)
		sp, ok := p.(sdk.StatefulPartitioner)
		if !ok {
			t.Skipf("%T is not an sdk.StatefulPartitioner", p)
		}
		// A batch closed on a topic never seen, then batches closed
		// between calls while the partition count changes.
		sp.OnNewBatch("unseen")
		partition(t, p, "unseen", 3, [][]byte{nil})
		keys := [][]byte{nil, []byte("a"), nil, {}}
		for i := range 300 {
			n := []int32{1, 3, 8, 2}[i%4]
			sp.OnNewBatch("batches")
			partition(t, p, "batches", n, keys)
			if i%3 == 0 {
				sp.OnNewBatch("batches") // two in a row
			}
		}
	})

	t.Run("spread", func(t *testing.T) {
		// Distinct keys must not all land on one partition: that would
		// put a topic's whole load on one broker.
		p := build(t, newImpl)
		const n = 16
		used := map[int32]bool{}
		for _, part := range partition(t, p, "spread", n, testKeys(1000, 4)) {
			used[part] = true
		}
		if len(used) < 2 {
			t.Errorf("1000 distinct keys all went to partition(s) %v of %d", used, n)
		}
	})

	t.Run("keys-untouched", func(t *testing.T) {
		// The host partitions the records' own key bytes: an
		// implementation must not write into them.
		p := build(t, newImpl)
		keys := append(testKeys(100, 5), nil, []byte{})
		saved := make([][]byte, len(keys))
		for i, k := range keys {
			if k != nil {
				saved[i] = bytes.Clone(k)
			}
		}
		partition(t, p, "untouched", 10, keys)
		for i, k := range keys {
			if (k == nil) != (saved[i] == nil) || !bytes.Equal(k, saved[i]) {
				t.Fatalf("keys[%d] was %q, is %q after Partition", i, saved[i], k)
			}
		}
	})
}

// partition partitions keys and checks that every record got a
// partition in [0, n). dst starts out of range, so a record the
// implementation left alone is caught too.
func partition(t *testing.T, p sdk.Partitioner, topic string, n int32, keys [][]byte) []int32 {
	t.Helper()
	dst := make([]int32, len(keys))
	for i := range dst {
		dst[i] = -1
	}
	if err := p.Partition(topic, n, keys, dst); err != nil {
		t.Fatalf("Partition(%q, %d partitions, %d keys): %v", topic, n, len(keys), err)
	}
	for i, part := range dst {
		if part < 0 || part >= n {
			t.Fatalf("Partition(%q, %d partitions, %d keys): keys[%d] = %s went to partition %d, outside [0, %d)",
				topic, n, len(keys), i, showKey(keys[i]), part, n)
		}
	}
	return dst
}

// newBatch closes a batch if p keeps state across batches.
func newBatch(p sdk.Partitioner, topic string) {
	if sp, ok := p.(sdk.StatefulPartitioner); ok {
		sp.OnNewBatch(topic)
	}
}

// testKeys returns n distinct keys of varied lengths, the same for the
// same seed so a failure can be reproduced.
func testKeys(n int, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 0x72756e6e656c))
	keys := make([][]byte, n)
	for i := range keys {
		k := fmt.Appendf(nil, "%d:", i) // distinct whatever follows
		for range rng.IntN(40) {
			k = append(k, byte(rng.Uint32()))
		}
		keys[i] = k
	}
	return keys
}

func showKey(k []byte) string {
	if k == nil {
		return "nil"
	}
	return fmt.Sprintf("%q", k)
}

func reversed[T any](s []T) []T {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}
