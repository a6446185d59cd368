package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestConcurrentProducers runs several idempotent producers at once
// against many partitions, each on its own connections, then reads
// everything back: every acknowledged record is there exactly once, and
// every partition's offsets are dense.
func TestConcurrentProducers(t *testing.T) {
	b := startBroker(t, "")
	ctx := testContext(t)
	const topic, partitions, producers, perProducer = "load", 8, 4, 3000
	if _, err := b.admin().CreateTopic(ctx, partitions, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, producers)
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			cl := b.client(kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0), kgo.MaxBufferedRecords(500))
			var inner sync.WaitGroup
			for i := 0; i < perProducer; i++ {
				inner.Add(1)
				r := &kgo.Record{Key: []byte(fmt.Sprintf("p%d-k%d", p, i%50)), Value: []byte(fmt.Sprintf("p%d-%d", p, i))}
				cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
					if err != nil {
						select {
						case errs <- err:
						default:
						}
					}
					inner.Done()
				})
			}
			inner.Wait()
		}(p)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatalf("produce: %v", err)
	}

	cons := b.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	seen := make(map[string]bool, producers*perProducer)
	next := map[int32]int64{}
	for len(seen) < producers*perProducer {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("poll after %d records: %v", len(seen), err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset != next[r.Partition] {
				t.Fatalf("partition %d: offset %d, want %d", r.Partition, r.Offset, next[r.Partition])
			}
			next[r.Partition]++
			if seen[string(r.Value)] {
				t.Fatalf("record %s twice", r.Value)
			}
			seen[string(r.Value)] = true
		})
	}
	ends, err := b.admin().ListEndOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	ends.Each(func(o kadmOffset) { total += o.Offset })
	if total != producers*perProducer {
		t.Fatalf("end offsets sum to %d, want %d", total, producers*perProducer)
	}
}
