package partitioner

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/runnel-dev/runnel/plugins"
	"github.com/runnel-dev/runnel/sdk"
)

// stickyKinds are the partitioners that place keys by murmur2 and stick
// unkeyed records.
func stickyKinds() map[string]sdk.StatefulPartitioner {
	return map[string]sdk.StatefulPartitioner{"murmur2": new(Murmur2), "sticky": new(Sticky)}
}

func partition(t *testing.T, p sdk.Partitioner, topic string, n int32, keys [][]byte) []int32 {
	t.Helper()
	dst := make([]int32, len(keys))
	if err := p.Partition(topic, n, keys, dst); err != nil {
		t.Fatalf("Partition(%q, %d): %v", topic, n, err)
	}
	return dst
}

func TestStickyUnkeyed(t *testing.T) {
	for name, p := range stickyKinds() {
		t.Run(name, func(t *testing.T) {
			unkeyed := make([][]byte, 50)
			first := partition(t, p, "t", 8, unkeyed)
			for _, got := range first {
				if got != first[0] {
					t.Fatalf("unkeyed records of one batch spread over partitions: %v", first)
				}
			}
			if again := partition(t, p, "t", 8, unkeyed[:3]); again[0] != first[0] {
				t.Errorf("without OnNewBatch the partition moved from %d to %d", first[0], again[0])
			}

			// Each new batch moves to a different partition, and over
			// many batches every partition is used.
			seen := map[int32]bool{}
			prev := first[0]
			for range 400 {
				p.OnNewBatch("t")
				cur := partition(t, p, "t", 8, unkeyed[:1])[0]
				if cur == prev {
					t.Fatalf("OnNewBatch kept partition %d", cur)
				}
				seen[cur], prev = true, cur
			}
			if len(seen) != 8 {
				t.Errorf("400 batches used partitions %v, want all 8", seen)
			}

			// One partition: nowhere to move.
			p.OnNewBatch("one")
			partition(t, p, "one", 1, unkeyed[:1])
			p.OnNewBatch("one")
			if got := partition(t, p, "one", 1, unkeyed[:1])[0]; got != 0 {
				t.Errorf("single-partition topic got partition %d", got)
			}
		})
	}
}

func TestStickyKeyedIgnoresBatches(t *testing.T) {
	for name, p := range stickyKinds() {
		t.Run(name, func(t *testing.T) {
			keys := [][]byte{[]byte("a"), nil, []byte("b"), {}, nil}
			before := partition(t, p, "t", 100, keys)
			p.OnNewBatch("t")
			after := partition(t, p, "t", 100, keys)
			for _, i := range []int{0, 2, 3} {
				if want := keyPartition(keys[i], 100); before[i] != want || after[i] != want {
					t.Errorf("key %q: got %d then %d, want %d", keys[i], before[i], after[i], want)
				}
			}
			if before[1] != before[4] {
				t.Errorf("unkeyed records in one batch got %d and %d", before[1], before[4])
			}
		})
	}
}

func TestStickyPerTopicAndShrink(t *testing.T) {
	var p Murmur2
	// Find topics whose sticky partitions differ, then check that moving
	// one leaves the other alone.
	a := partition(t, &p, "a", 1000, [][]byte{nil})[0]
	b := partition(t, &p, "b", 1000, [][]byte{nil})[0]
	p.OnNewBatch("a")
	if got := partition(t, &p, "b", 1000, [][]byte{nil})[0]; got != b {
		t.Errorf("OnNewBatch(a) moved topic b from %d to %d", b, got)
	}
	if got := partition(t, &p, "a", 1000, [][]byte{nil})[0]; got == a {
		t.Errorf("OnNewBatch(a) left topic a on %d", a)
	}

	// A topic whose count no longer covers its sticky partition is
	// re-placed within range.
	for range 50 {
		p.OnNewBatch("a")
		partition(t, &p, "a", 1000, [][]byte{nil})
		if got := partition(t, &p, "a", 3, [][]byte{nil})[0]; got < 0 || got >= 3 {
			t.Fatalf("after shrinking to 3 partitions got %d", got)
		}
	}
}

func TestRoundRobin(t *testing.T) {
	var p RoundRobin
	keys := [][]byte{[]byte("k"), nil, []byte("k"), nil}
	if got, want := partition(t, &p, "t", 3, keys), []int32{0, 1, 2, 0}; !slices.Equal(got, want) {
		t.Errorf("first batch = %v, want %v", got, want)
	}
	p.OnNewBatch("t") // must not skip a partition
	if got, want := partition(t, &p, "t", 3, keys[:2]), []int32{1, 2}; !slices.Equal(got, want) {
		t.Errorf("second batch = %v, want %v", got, want)
	}
	if got, want := partition(t, &p, "other", 3, keys[:2]), []int32{0, 1}; !slices.Equal(got, want) {
		t.Errorf("another topic = %v, want its own rotation %v", got, want)
	}
	// Growing keeps the rotation going; shrinking below it restarts at 0.
	if got, want := partition(t, &p, "t", 5, keys), []int32{0, 1, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("after growing = %v, want %v", got, want)
	}
	if got, want := partition(t, &p, "t", 2, keys[:3]), []int32{0, 1, 0}; !slices.Equal(got, want) {
		t.Errorf("after shrinking = %v, want %v", got, want)
	}
	if got := partition(t, &p, "t", 1, keys); !slices.Equal(got, []int32{0, 0, 0, 0}) {
		t.Errorf("one partition = %v", got)
	}
}

func TestBadBatch(t *testing.T) {
	for name, p := range map[string]sdk.Partitioner{"murmur2": new(Murmur2), "sticky": new(Sticky), "roundrobin": new(RoundRobin)} {
		err := p.Partition("t", 0, [][]byte{nil}, make([]int32, 1))
		if err == nil || !strings.Contains(err.Error(), `topic "t" has 0 partitions`) {
			t.Errorf("%s: zero partitions: %v", name, err)
		}
		err = p.Partition("t", 3, [][]byte{nil, nil}, make([]int32, 1))
		if err == nil || !strings.Contains(err.Error(), "2 keys but room for 1") {
			t.Errorf("%s: short dst: %v", name, err)
		}
		if err := p.Partition("t", 3, nil, nil); err != nil {
			t.Errorf("%s: empty batch: %v", name, err)
		}
	}
}

// Run with -race: Partition and OnNewBatch from many goroutines.
func TestConcurrentUse(t *testing.T) {
	for name, p := range map[string]sdk.StatefulPartitioner{"murmur2": new(Murmur2), "sticky": new(Sticky), "roundrobin": new(RoundRobin)} {
		t.Run(name, func(t *testing.T) {
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					keys := [][]byte{nil, []byte("x"), nil}
					dst := make([]int32, len(keys))
					for i := range 500 {
						topic := fmt.Sprintf("t%d", (g+i)%3)
						if err := p.Partition(topic, 7, keys, dst); err != nil {
							t.Error(err)
							return
						}
						for _, d := range dst {
							if d < 0 || d >= 7 {
								t.Errorf("partition %d out of range", d)
								return
							}
						}
						if i%5 == 0 {
							p.OnNewBatch(topic)
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

func TestRegistered(t *testing.T) {
	want := map[string]any{"murmur2": new(Murmur2), "sticky": new(Sticky), "roundrobin": new(RoundRobin)}
	for name, typ := range want {
		p, err := plugins.NewPartitioner(name)
		if err != nil {
			t.Fatalf("NewPartitioner(%q): %v", name, err)
		}
		if fmt.Sprintf("%T", p) != fmt.Sprintf("%T", typ) {
			t.Errorf("NewPartitioner(%q) = %T, want %T", name, p, typ)
		}
		if m, _ := plugins.Lookup("partitioner." + name); m.Doc == "" || strings.Contains(m.Doc, "\n") {
			t.Errorf("partitioner.%s needs a one-line Doc, has %q", name, m.Doc)
		}
	}
}

// randomKeys returns n random 8 to 40 byte keys.
func randomKeys(n int) [][]byte {
	rng := rand.New(rand.NewPCG(3, 4))
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = make([]byte, 8+rng.IntN(33))
		for j := range keys[i] {
			keys[i][j] = byte(rng.Uint32())
		}
	}
	return keys
}

// Partitioning a batch must not allocate once a topic has been seen.
func TestPartitionDoesNotAllocate(t *testing.T) {
	keys := randomKeys(100)
	keys[10], keys[20] = nil, nil
	dst := make([]int32, len(keys))
	for name, p := range map[string]sdk.Partitioner{"murmur2": new(Murmur2), "sticky": new(Sticky), "roundrobin": new(RoundRobin)} {
		allocs := testing.AllocsPerRun(100, func() {
			if err := p.Partition("topic", 12, keys, dst); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per batch, want 0", name, allocs)
		}
	}
}

func BenchmarkPartition(b *testing.B) {
	keys := randomKeys(10000)
	for i := 0; i < len(keys); i += 10 { // one record in ten unkeyed
		keys[i] = nil
	}
	dst := make([]int32, len(keys))
	for _, name := range []string{"murmur2", "sticky", "roundrobin"} {
		p, err := plugins.NewPartitioner(name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Partition("topic", 64, keys, dst); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/key")
		})
	}
}
