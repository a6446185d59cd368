package kernel

import (
	"context"
	"encoding/binary"
	"slices"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/runnel-dev/runnel/sdk"
	"github.com/runnel-dev/runnel/segments"
)

// holdBack is an sdk.Replicator that commits nothing past limit, as if
// followers had only copied that far, and records what it is told.
type holdBack struct {
	mu    sync.Mutex
	limit int64
	ends  []int64 // the end of every LeaderDurable call, in order
}

var _ sdk.Replicator = (*holdBack)(nil)

func (h *holdBack) LeaderDurable(_ sdk.TopicPartition, end int64) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ends = append(h.ends, end)
	return min(end, h.limit)
}

func (h *holdBack) setLimit(n int64) {
	h.mu.Lock()
	h.limit = n
	h.mu.Unlock()
}

func (h *holdBack) calls() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int64(nil), h.ends...)
}

// fetchedRecords counts the records of the batches a fetch returned.
func fetchedRecords(t *testing.T, data []byte) int {
	t.Helper()
	n := 0
	if err := segments.SplitBatches(data, func(b []byte) bool {
		n += int(binary.BigEndian.Uint32(b[57:]))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func one(v string) []byte { return testBatch(-1, 0, 0, kv{value: []byte(v)}) }

// TestReplicatorHoldsBackCommit: in the default (fsync) mode the
// replicator's answer is the high watermark. Consumers see nothing past
// it; acks=1 is answered once the batch is durable on the leader; acks=all
// is answered NOT_ENOUGH_REPLICAS_AFTER_APPEND when the replicator has
// not committed the batch by the time it is durable. The replicator is
// told batch ends, never a record inside a batch.
func TestReplicatorHoldsBackCommit(t *testing.T) {
	dir := t.TempDir()
	r := &holdBack{}
	b := openWith(t, Options{Config: testConfig(dir), Replicator: r})
	createTopic(t, b, "r", 1, nil)

	three := testBatch(-1, 0, 0, kv{value: []byte("a")}, kv{value: []byte("b")}, kv{value: []byte("c")})
	if sp := produce(t, b, 1, "r", 0, three); sp.ErrorCode != 0 || sp.BaseOffset != 0 {
		t.Fatalf("acks=1 produce: error %d base %d", sp.ErrorCode, sp.BaseOffset)
	}
	if fp := fetch(t, b, 12, "r", 0, 0); fp.ErrorCode != 0 || fp.HighWatermark != 0 || len(fp.RecordBatches) != 0 {
		t.Fatalf("fetch past the committed offset: error %d hwm %d, %d bytes", fp.ErrorCode, fp.HighWatermark, len(fp.RecordBatches))
	}
	if sp := produce(t, b, -1, "r", 0, one("d")); sp.ErrorCode != kerr.NotEnoughReplicasAfterAppend.Code || sp.BaseOffset != -1 {
		t.Fatalf("acks=all produce the replicator holds back: error %d base %d", sp.ErrorCode, sp.BaseOffset)
	}
	for _, end := range r.calls() {
		if end != 0 && end != 3 && end != 4 {
			t.Fatalf("LeaderDurable told end %d: not a batch end (calls %v)", end, r.calls())
		}
	}

	// The replicator catches up to the first batch; the next flush
	// publishes that, and only that.
	r.setLimit(3)
	if sp := produce(t, b, 1, "r", 0, one("e")); sp.ErrorCode != 0 {
		t.Fatalf("produce: error %d", sp.ErrorCode)
	}
	fp := fetch(t, b, 12, "r", 0, 0)
	if fp.HighWatermark != 3 || fetchedRecords(t, fp.RecordBatches) != 3 {
		t.Fatalf("after committing 3: hwm %d, %d records", fp.HighWatermark, fetchedRecords(t, fp.RecordBatches))
	}
	if lo := latestOffset(t, b, "r"); lo != 3 {
		t.Fatalf("ListOffsets latest %d, want the committed 3", lo)
	}

	r.setLimit(1 << 40)
	if sp := produce(t, b, -1, "r", 0, one("f")); sp.ErrorCode != 0 || sp.BaseOffset != 5 {
		t.Fatalf("acks=all once replicated: error %d base %d", sp.ErrorCode, sp.BaseOffset)
	}
	if fp := fetch(t, b, 12, "r", 0, 0); fp.HighWatermark != 6 || fetchedRecords(t, fp.RecordBatches) != 6 {
		t.Fatalf("all committed: hwm %d, %d records", fp.HighWatermark, fetchedRecords(t, fp.RecordBatches))
	}
	b.Close(context.Background())

	// A broker starting as leader asks again: what it recovered is
	// durable, the replicator says what is committed.
	r2 := &holdBack{limit: 2}
	b = openWith(t, Options{Config: testConfig(dir), Replicator: r2})
	defer b.Close(context.Background())
	if fp := fetch(t, b, 12, "r", 0, 0); fp.HighWatermark != 2 {
		t.Fatalf("after restart: hwm %d, want the replicator's 2", fp.HighWatermark)
	}
	if c := r2.calls(); len(c) != 1 || c[0] != 6 {
		t.Fatalf("at open the replicator was told %v, want [6]", c)
	}
}

func latestOffset(t *testing.T, b *Broker, topic string) int64 {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version = 4
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp = 0, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := serve(t, b, req).(*kmsg.ListOffsetsResponse)
	return resp.Topics[0].Partitions[0].Offset
}

// TestReplicatorAcksAllRetry: an idempotent producer retries after
// NOT_ENOUGH_REPLICAS_AFTER_APPEND; the retry is deduplicated (the batch
// is in the log once) and asks the replicator again, so it succeeds once
// the replicator has caught up, although no new data was flushed.
func TestReplicatorAcksAllRetry(t *testing.T) {
	r := &holdBack{}
	b := openWith(t, Options{Config: testConfig(t.TempDir()), Replicator: r})
	defer b.Close(context.Background())
	createTopic(t, b, "idem", 1, nil)
	pid := serve(t, b, &kmsg.InitProducerIDRequest{Version: 4, ProducerID: -1, ProducerEpoch: -1}).(*kmsg.InitProducerIDResponse)
	batch := func() []byte { return testBatch(pid.ProducerID, 0, 0, kv{value: []byte("x")}) }
	if sp := produce(t, b, -1, "idem", 0, batch()); sp.ErrorCode != kerr.NotEnoughReplicasAfterAppend.Code {
		t.Fatalf("first try: error %d", sp.ErrorCode)
	}
	r.setLimit(1 << 40)
	if sp := produce(t, b, -1, "idem", 0, batch()); sp.ErrorCode != 0 || sp.BaseOffset != 0 {
		t.Fatalf("retry: error %d base %d", sp.ErrorCode, sp.BaseOffset)
	}
	if fp := fetch(t, b, 12, "idem", 0, 0); fp.HighWatermark != 1 || fetchedRecords(t, fp.RecordBatches) != 1 {
		t.Fatalf("after the retry: hwm %d, %d records", fp.HighWatermark, fetchedRecords(t, fp.RecordBatches))
	}
}

// TestReplicatorRelaxedMode: with flush.messages above 1 a batch counts
// as durable once appended, so the replicator is told at each produce,
// once per partition per request.
func TestReplicatorRelaxedMode(t *testing.T) {
	r := &holdBack{limit: 1}
	b := openWith(t, Options{Config: testConfig(t.TempDir()), Replicator: r})
	defer b.Close(context.Background())
	createTopic(t, b, "relaxed", 1, map[string]string{"flush.messages": "1000000"})
	before := len(r.calls())
	for _, v := range []string{"a", "b"} {
		if sp := produce(t, b, 1, "relaxed", 0, one(v)); sp.ErrorCode != 0 {
			t.Fatalf("acks=1: error %d", sp.ErrorCode)
		}
	}
	if sp := produce(t, b, -1, "relaxed", 0, one("c")); sp.ErrorCode != kerr.NotEnoughReplicasAfterAppend.Code {
		t.Fatalf("acks=all held back: error %d", sp.ErrorCode)
	}
	if fp := fetch(t, b, 12, "relaxed", 0, 0); fp.HighWatermark != 1 || fetchedRecords(t, fp.RecordBatches) != 1 {
		t.Fatalf("hwm %d, %d records; want 1 of each", fp.HighWatermark, fetchedRecords(t, fp.RecordBatches))
	}
	// One call per produce, plus the acks=all request asking again.
	if c := r.calls()[before:]; !slices.Equal(c, []int64{1, 2, 3, 3}) {
		t.Fatalf("LeaderDurable calls %v, want [1 2 3 3]", c)
	}
}
