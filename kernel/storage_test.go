package kernel

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func deleteRecords(t *testing.T, b *Broker, topic string, partition int32, offset int64) kmsg.DeleteRecordsResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.Version = 2
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Partition, rp.Offset = partition, offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return serve(t, b, req).(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0]
}

// TestDeleteRecords advances the log start offset, checks reads below it
// fail, and that it survives a restart.
func TestDeleteRecords(t *testing.T) {
	dir := t.TempDir()
	b := openTestBroker(t, testConfig(dir))
	createTopic(t, b, "dr", 1, map[string]string{"segment.bytes": "200"})
	for i := 0; i < 10; i++ {
		produce(t, b, -1, "dr", 0, testBatch(-1, 0, 0, kv{value: []byte("0123456789012345678901234567890123456789")}))
	}
	if r := deleteRecords(t, b, "dr", 0, 4); r.ErrorCode != 0 || r.LowWatermark != 4 {
		t.Fatalf("delete below 4: error %d low watermark %d", r.ErrorCode, r.LowWatermark)
	}
	if fp := fetch(t, b, 12, "dr", 0, 3); fp.ErrorCode != kerr.OffsetOutOfRange.Code {
		t.Fatalf("fetch below the start: error %d", fp.ErrorCode)
	}
	if fp := fetch(t, b, 12, "dr", 0, 4); fp.ErrorCode != 0 || fp.LogStartOffset != 4 {
		t.Fatalf("fetch at the start: error %d, log start %d", fp.ErrorCode, fp.LogStartOffset)
	}
	if r := deleteRecords(t, b, "dr", 0, 11); r.ErrorCode != kerr.OffsetOutOfRange.Code {
		t.Fatalf("delete past the high watermark: error %d", r.ErrorCode)
	}
	if r := deleteRecords(t, b, "dr", 0, 2); r.ErrorCode != 0 || r.LowWatermark != 4 {
		t.Fatalf("delete below the current start: error %d low watermark %d", r.ErrorCode, r.LowWatermark)
	}
	createTopic(t, b, "compacted", 1, map[string]string{"cleanup.policy": "compact"})
	if r := deleteRecords(t, b, "compacted", 0, 0); r.ErrorCode != kerr.PolicyViolation.Code {
		t.Fatalf("delete on a compact-only topic: error %d", r.ErrorCode)
	}
	// Kill-like: no clean close of this broker; the checkpoint written by
	// DeleteRecords must hold the start offset.
	b.Close(context.Background())
	b = openTestBroker(t, testConfig(dir))
	defer b.Close(context.Background())
	if fp := fetch(t, b, 12, "dr", 0, 4); fp.ErrorCode != 0 || fp.LogStartOffset != 4 || fp.HighWatermark != 10 {
		t.Fatalf("after restart: error %d, log start %d, hwm %d", fp.ErrorCode, fp.LogStartOffset, fp.HighWatermark)
	}
	if r := deleteRecords(t, b, "dr", 0, -1); r.ErrorCode != 0 || r.LowWatermark != 10 {
		t.Fatalf("delete to the high watermark: error %d low watermark %d", r.ErrorCode, r.LowWatermark)
	}
}

// TestRetention deletes old segments by time and by size.
func TestRetention(t *testing.T) {
	b := newTestBroker(t)
	createTopic(t, b, "ret", 1, map[string]string{"segment.bytes": "200", "retention.bytes": "600"})
	for i := 0; i < 20; i++ {
		produce(t, b, -1, "ret", 0, testBatch(-1, 0, 0, kv{value: []byte("0123456789012345678901234567890123456789")}))
	}
	p := b.topicByName("ret").partitions[0]
	before := p.log.Size()
	b.applyRetention(time.Now())
	if p.log.Size() > 600+200 || p.log.Size() >= before || p.log.StartOffset() == 0 {
		t.Fatalf("retention.bytes=600: size %d (was %d), start %d", p.log.Size(), before, p.log.StartOffset())
	}
	if fp := fetch(t, b, 12, "ret", 0, 0); fp.ErrorCode != kerr.OffsetOutOfRange.Code {
		t.Fatalf("fetch from 0 after retention: error %d", fp.ErrorCode)
	}

	createTopic(t, b, "old", 1, map[string]string{"segment.bytes": "200", "retention.ms": "60000"})
	for i := 0; i < 5; i++ {
		produce(t, b, -1, "old", 0, testBatch(-1, 0, 0, kv{value: []byte("0123456789012345678901234567890123456789")}))
	}
	q := b.topicByName("old").partitions[0]
	b.applyRetention(time.Now()) // nothing is a minute old yet
	if q.log.StartOffset() != 0 {
		t.Fatalf("retention.ms deleted fresh data: start %d", q.log.StartOffset())
	}
	b.applyRetention(time.Now().Add(2 * time.Minute))
	if q.log.StartOffset() != 5 || q.highWatermark() != 5 {
		t.Fatalf("retention.ms after two minutes: start %d, hwm %d; want every record gone", q.log.StartOffset(), q.highWatermark())
	}
	if r := produce(t, b, -1, "old", 0, testBatch(-1, 0, 0, kv{value: []byte("new")})); r.ErrorCode != 0 || r.BaseOffset != 5 {
		t.Fatalf("produce after full retention: error %d base %d", r.ErrorCode, r.BaseOffset)
	}
}

// TestProducerStateAcrossCrash checks that after a restart with a stale
// producer snapshot, or none, duplicates are still recognised: the state
// is rebuilt from the snapshot plus the log after it.
func TestProducerStateAcrossCrash(t *testing.T) {
	for _, stale := range []bool{true, false} {
		dir := t.TempDir()
		b := openTestBroker(t, testConfig(dir))
		createTopic(t, b, "ps", 1, nil)
		id := serve(t, b, &kmsg.InitProducerIDRequest{Version: 4, ProducerID: -1, ProducerEpoch: -1}).(*kmsg.InitProducerIDResponse).ProducerID
		batch := func(seq int32) []byte { return testBatch(id, 0, seq, kv{value: []byte("x")}) }
		produce(t, b, -1, "ps", 0, batch(0))
		b.checkpoint() // a snapshot covering offset 1 only
		snapPath := filepath.Join(dir, "ps-0", producerSnapshotFile)
		old, err := os.ReadFile(snapPath)
		if err != nil {
			t.Fatal(err)
		}
		produce(t, b, -1, "ps", 0, batch(1))
		produce(t, b, -1, "ps", 0, batch(2))
		b.Close(context.Background())
		// Put back the stale snapshot (as after a crash), or none.
		if stale {
			err = os.WriteFile(snapPath, old, 0o644)
		} else {
			err = os.Remove(snapPath)
		}
		if err != nil {
			t.Fatal(err)
		}
		b = openTestBroker(t, testConfig(dir))
		if r := produce(t, b, -1, "ps", 0, batch(1)); r.ErrorCode != 0 || r.BaseOffset != 1 {
			t.Fatalf("stale=%v: duplicate after restart: error %d base %d, want its original offset 1", stale, r.ErrorCode, r.BaseOffset)
		}
		if r := produce(t, b, -1, "ps", 0, batch(3)); r.ErrorCode != 0 || r.BaseOffset != 3 {
			t.Fatalf("stale=%v: next batch after restart: error %d base %d", stale, r.ErrorCode, r.BaseOffset)
		}
		if r := produce(t, b, -1, "ps", 0, batch(9)); r.ErrorCode != kerr.OutOfOrderSequenceNumber.Code {
			t.Fatalf("stale=%v: gap after restart: error %d", stale, r.ErrorCode)
		}
		b.Close(context.Background())
	}
}
