package e2e

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// randomValue returns incompressible bytes, so a client's default
// compression cannot shrink what crosses the wire.
func randomValue(n int) []byte {
	v := make([]byte, n)
	_, _ = rand.Read(v)
	return v
}

// BenchmarkKgoProduce measures end-to-end produce throughput: franz-go,
// idempotent, acks=all, 1 KiB records into one partition, over loopback
// to an in-process broker.
func BenchmarkKgoProduce(b *testing.B) {
	br := startBroker(b, "")
	ctx := context.Background()
	if _, err := br.admin().CreateTopic(ctx, 1, 1, nil, "bench"); err != nil {
		b.Fatal(err)
	}
	cl := br.client(kgo.DefaultProduceTopic("bench"), kgo.ProducerBatchMaxBytes(1<<20),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	value := randomValue(1024)
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	b.ResetTimer()
	// A plain b.N loop, not b.Loop: the Flush after it, which waits for
	// every acknowledgement, must be inside the timed region.
	for i := 0; i < b.N; i++ {
		cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				b.Error(err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkKgoConsume measures reading 1 KiB records from the start of
// one partition with franz-go.
func BenchmarkKgoConsume(b *testing.B) {
	br := startBroker(b, "")
	ctx := context.Background()
	if _, err := br.admin().CreateTopic(ctx, 1, 1, nil, "bench"); err != nil {
		b.Fatal(err)
	}
	prod := br.client(kgo.DefaultProduceTopic("bench"), kgo.ProducerBatchMaxBytes(1<<20),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	value := randomValue(1024)
	n := max(b.N, 1)
	for i := 0; i < n; i++ {
		prod.Produce(ctx, &kgo.Record{Value: value}, nil)
	}
	if err := prod.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	cons := br.client(kgo.ConsumeTopics("bench"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	b.ResetTimer()
	for got := 0; got < n; {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			b.Fatal(err)
		}
		got += fs.NumRecords()
	}
}
