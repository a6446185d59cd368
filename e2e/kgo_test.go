package e2e

import (
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKgoProduceConsume produces keyed and unkeyed records with franz-go
// (idempotent by default) and reads them back in per-partition order.
func TestKgoProduceConsume(t *testing.T) {
	b := startBroker(t, "")
	ctx := testContext(t)
	adm := b.admin()
	const topic, partitions = "kgo-orders", 4
	if _, err := adm.CreateTopic(ctx, partitions, 1, nil, topic); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	prod := b.client(kgo.DefaultProduceTopic(topic))
	const n = 2000
	var records []*kgo.Record
	for i := 0; i < n; i++ {
		r := &kgo.Record{Value: []byte(fmt.Sprintf("v%d", i))}
		if i%2 == 0 {
			r.Key = []byte(fmt.Sprintf("key-%d", i%17))
		}
		records = append(records, r)
	}
	if err := prod.ProduceSync(ctx, records...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	keyPartition := map[string]int32{}
	produced := map[int32][]string{}
	for _, r := range records {
		if r.Key != nil {
			if p, ok := keyPartition[string(r.Key)]; ok && p != r.Partition {
				t.Fatalf("key %s went to partitions %d and %d", r.Key, p, r.Partition)
			}
			keyPartition[string(r.Key)] = r.Partition
		}
		produced[r.Partition] = append(produced[r.Partition], string(r.Value))
	}
	if len(produced) < 2 {
		t.Fatalf("all records went to %d partition(s); expected a spread", len(produced))
	}

	cons := b.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	consumed := map[int32][]string{}
	next := map[int32]int64{}
	total := 0
	for total < n {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("poll: %v", err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset != next[r.Partition] {
				t.Fatalf("partition %d: offset %d, want %d", r.Partition, r.Offset, next[r.Partition])
			}
			next[r.Partition]++
			consumed[r.Partition] = append(consumed[r.Partition], string(r.Value))
			total++
		})
	}
	for p, vals := range produced {
		if !slices.Equal(vals, consumed[p]) {
			t.Fatalf("partition %d: consumed order differs from produced order", p)
		}
	}
}

// TestKadmTopics creates, lists, describes and deletes topics with kadm.
func TestKadmTopics(t *testing.T) {
	b := startBroker(t, "")
	ctx := testContext(t)
	adm := b.admin()
	resp, err := adm.CreateTopics(ctx, 3, 1, map[string]*string{"retention.ms": kadm.StringPtr("3600000")}, "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil {
			t.Fatalf("create %s: %v", r.Topic, r.Err)
		}
	}
	again, err := adm.CreateTopics(ctx, 1, 1, nil, "a")
	if err != nil {
		t.Fatal(err)
	}
	if again["a"].Err == nil {
		t.Fatal("creating an existing topic succeeded")
	}
	list, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !list.Has("a") || !list.Has("b") || len(list["a"].Partitions) != 3 {
		t.Fatalf("list: %v", list.Names())
	}
	if list["a"].ID == (kadm.TopicID{}) {
		t.Fatal("topic has no id")
	}
	del, err := adm.DeleteTopics(ctx, "a")
	if err != nil || del["a"].Err != nil {
		t.Fatalf("delete: %v %v", err, del["a"].Err)
	}
	// A fresh client: kgo answers metadata requests from a short-lived
	// cache, which would still hold the deleted topic.
	list, err = b.admin().ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list.Has("a") || !list.Has("b") {
		t.Fatalf("after delete: %v", list.Names())
	}
}

// TestRestartKeepsData stops the broker and starts a new one on the same
// data dir: topics, records and offsets are all still there.
func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	ctx := testContext(t)
	if _, err := b.admin().CreateTopic(ctx, 2, 1, nil, "durable"); err != nil {
		t.Fatal(err)
	}
	prod := b.client(kgo.DefaultProduceTopic("durable"))
	var want []string
	for i := 0; i < 500; i++ {
		v := fmt.Sprintf("record-%d", i)
		want = append(want, v)
		if err := prod.ProduceSync(ctx, &kgo.Record{Key: []byte(v), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	prod.Close()
	b.stop()

	b2 := startBroker(t, dir)
	list, err := b2.admin().ListTopics(ctx)
	if err != nil || !list.Has("durable") || len(list["durable"].Partitions) != 2 {
		t.Fatalf("after restart: %v %v", err, list.Names())
	}
	cons := b2.client(kgo.ConsumeTopics("durable"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := map[string]bool{}
	for len(got) < len(want) {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("poll after restart (have %d of %d): %v", len(got), len(want), err)
		}
		fs.EachRecord(func(r *kgo.Record) { got[string(r.Value)] = true })
	}
	for _, v := range want {
		if !got[v] {
			t.Fatalf("%s missing after restart", v)
		}
	}
	// New records continue at the right offsets.
	prod2 := b2.client(kgo.DefaultProduceTopic("durable"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	r := &kgo.Record{Value: []byte("after"), Partition: 0}
	if err := prod2.ProduceSync(ctx, r).FirstErr(); err != nil {
		t.Fatal(err)
	}
	ends, err := b2.admin().ListEndOffsets(ctx, "durable")
	if err != nil {
		t.Fatal(err)
	}
	end0, _ := ends.Lookup("durable", 0)
	if r.Offset != end0.Offset-1 {
		t.Fatalf("record after restart at offset %d, end offset %d", r.Offset, end0.Offset)
	}
}
