package partitioner

import (
	"math/rand/v2"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Vectors from Kafka's UtilsTest.testMurmur2.
func TestMurmur2HashKafkaVectors(t *testing.T) {
	tests := []struct {
		in   string
		want int32
	}{
		{"21", -973932308},
		{"foobar", -790332482},
		{"a-little-bit-long-string", -985981536},
		{"a-little-bit-longer-string", -1486304829},
		{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
		{"abc", 479470107},
	}
	for _, tt := range tests {
		if got := Murmur2Hash([]byte(tt.in)); got != tt.want {
			t.Errorf("Murmur2Hash(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// franz-go's StickyKeyPartitioner(nil) places keyed records exactly as
// Kafka does; ours must agree for any key and partition count.
func TestKeyPartitionMatchesKgo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	kp := kgo.StickyKeyPartitioner(nil).ForTopic("t")
	var p Murmur2
	keys := make([][]byte, 1)
	dst := make([]int32, 1)
	for i := range 20000 {
		key := make([]byte, rng.IntN(64)) // includes the empty, non-nil key
		for j := range key {
			key[j] = byte(rng.Uint32())
		}
		n := int32(1 + rng.IntN(1000))
		if i%10 == 0 {
			n = int32(1 + rng.IntN(1<<20))
		}
		want := kp.Partition(&kgo.Record{Key: key}, int(n))
		keys[0] = key
		if err := p.Partition("t", n, keys, dst); err != nil {
			t.Fatal(err)
		}
		if int(dst[0]) != want {
			t.Fatalf("key %x, %d partitions: got partition %d, kgo chose %d", key, n, dst[0], want)
		}
	}
}
