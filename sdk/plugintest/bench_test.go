package plugintest_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/runnel-dev/runnel/plugins"
	"github.com/runnel-dev/runnel/sdk"
	"github.com/runnel-dev/runnel/sdk/plugintest"
)

// The cost of crossing to a plugin: the same builtin called in process,
// over gRPC in memory (encoding and a local socket) and in a plugin
// process. The gap between "builtin" and the others is what one crossing
// costs, and why the sdk carries whole batches, never single records.

// benchBindings returns the three ways to reach the builtin id at point.
func benchBindings[T any](b *testing.B, point, id string, newImpl func() T) []struct {
	name string
	impl T
} {
	return []struct {
		name string
		impl T
	}{
		{"builtin", newImpl()},
		{"grpc", plugintest.InMemory(b, point, newImpl())},
		{"process", plugintest.Subprocess[T](b, point, pluginCmd(b, id))},
	}
}

func BenchmarkPartitionCrossing(b *testing.B) {
	newImpl := func() sdk.Partitioner {
		p, err := plugins.NewPartitioner("murmur2")
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	rng := rand.New(rand.NewPCG(1, 2))
	all := make([][]byte, 10000)
	for i := range all {
		all[i] = make([]byte, 16+rng.IntN(25)) // 16 to 40 bytes, like ids
		for j := range all[i] {
			all[i][j] = byte(rng.Uint32())
		}
	}
	for _, bind := range benchBindings(b, sdk.PointPartitioner, "partitioner.murmur2", newImpl) {
		for _, n := range []int{1, len(all)} {
			keys := all[:n]
			dst := make([]int32, n)
			var size int64
			for _, k := range keys {
				size += int64(len(k))
			}
			b.Run(fmt.Sprintf("keys=%d/%s", n, bind.name), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(size)
				for b.Loop() {
					if err := bind.impl.Partition("topic", 64, keys, dst); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
			})
		}
	}
}

func BenchmarkAssignCrossing(b *testing.B) {
	newImpl := func() sdk.Assignor {
		a, err := plugins.NewAssignor("uniform")
		if err != nil {
			b.Fatal(err)
		}
		return a
	}
	// 100 members subscribed to 10 topics of 100 partitions each.
	in := sdk.AssignmentInput{GroupID: "bench"}
	var names []string
	for i := range 10 {
		tp := sdk.TopicPartitions{Topic: fmt.Sprintf("topic-%d", i)}
		for p := range int32(100) {
			tp.Partitions = append(tp.Partitions, p)
		}
		in.Topics = append(in.Topics, tp)
		names = append(names, tp.Topic)
	}
	for i := range 100 {
		in.Members = append(in.Members, sdk.GroupMember{MemberID: fmt.Sprintf("member-%03d", i), Subscribed: names})
	}
	for _, bind := range benchBindings(b, sdk.PointAssignor, "assignor.uniform", newImpl) {
		b.Run(fmt.Sprintf("members=100,partitions=1000/%s", bind.name), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bind.impl.Assign(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
