package kernel

import (
	"context"
	"encoding/binary"
	"slices"
	"sync"
	"testing"
	"time"

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

// lateCommitter is an sdk.CommitNotifier: it commits nothing when told
// (LeaderDurable answers the committed offset so far) and reports commits
// later, when the test releases them, as a replicator does once followers
// catch up. With inside set, LeaderDurable also reports its answer to the
// listener from inside the call, which the kernel must tolerate.
type lateCommitter struct {
	mu       sync.Mutex
	listener func(sdk.TopicPartition, int64)
	told     map[sdk.TopicPartition]int64
	commit   map[sdk.TopicPartition]int64
	inside   bool
}

var _ sdk.CommitNotifier = (*lateCommitter)(nil)

func newLateCommitter(inside bool) *lateCommitter {
	return &lateCommitter{told: map[sdk.TopicPartition]int64{}, commit: map[sdk.TopicPartition]int64{}, inside: inside}
}

func (l *lateCommitter) SetCommitListener(f func(sdk.TopicPartition, int64)) {
	l.mu.Lock()
	l.listener = f
	l.mu.Unlock()
}

func (l *lateCommitter) LeaderDurable(tp sdk.TopicPartition, end int64) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.told[tp] = end
	c := min(l.commit[tp], end)
	if l.inside {
		l.listener(tp, c)
	}
	return c
}

// toldEnd is the end offset LeaderDurable was last told for tp.
func (l *lateCommitter) toldEnd(tp sdk.TopicPartition) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.told[tp]
}

// release commits tp up to end and reports it, from a goroutine of its own.
func (l *lateCommitter) release(tp sdk.TopicPartition, end int64) {
	l.mu.Lock()
	l.commit[tp] = end
	f := l.listener
	l.mu.Unlock()
	go f(tp, end)
}

// hold makes LeaderDurable commit nothing of tp past n from now on.
func (l *lateCommitter) hold(tp sdk.TopicPartition, n int64) {
	l.mu.Lock()
	l.commit[tp] = n
	l.mu.Unlock()
}

// produceWithTimeout produces records with acks=all and the given request
// timeout.
func produceWithTimeout(t *testing.T, b *Broker, topic string, timeout time.Duration, records []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 9, -1, int32(timeout/time.Millisecond)
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return serve(t, b, req).(*kmsg.ProduceResponse).Topics[0].Partitions[0]
}

// waitTold waits until the replicator was told tp is durable up to end.
func waitTold(t *testing.T, l *lateCommitter, tp sdk.TopicPartition, end int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for l.toldEnd(tp) < end {
		if time.Now().After(deadline) {
			t.Fatalf("LeaderDurable was never told end %d of %v (last %d)", end, tp, l.toldEnd(tp))
		}
		time.Sleep(time.Millisecond)
	}
}

// TestReplicatorReportsCommitsLater: with a replicator that reports
// commits on its own time, an acks=all produce waits for its batch to be
// committed and is then answered with success; a parked fetch wakes with
// the new high watermark; without the commit the produce is answered
// REQUEST_TIMED_OUT after its timeout; acks=1 never waits; reports past
// what the replicator was told, or for partitions that do not exist, are
// ignored. In the default and the relaxed flush modes, with the report
// made from another goroutine and from inside LeaderDurable.
func TestReplicatorReportsCommitsLater(t *testing.T) {
	for _, c := range []struct {
		name    string
		configs map[string]string
		inside  bool
	}{
		{"fsync", nil, false},
		{"relaxed", map[string]string{"flush.messages": "1000000"}, false},
		{"fsync, reported inside LeaderDurable", nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newLateCommitter(c.inside)
			b := openWith(t, Options{Config: testConfig(t.TempDir()), Replicator: r})
			defer b.Close(context.Background())
			createTopic(t, b, "late", 1, c.configs)
			tp := sdk.TopicPartition{Topic: "late", Partition: 0}

			// A consumer parks at offset 0, and a producer waits.
			fetched := make(chan *kmsg.FetchResponse, 1)
			go func() {
				req := kmsg.NewPtrFetchRequest()
				req.Version, req.MaxBytes, req.MinBytes, req.MaxWaitMillis, req.SessionEpoch = 12, 1<<20, 1, 20000, -1
				ft := kmsg.NewFetchRequestTopic()
				ft.Topic = "late"
				fp := kmsg.NewFetchRequestTopicPartition()
				fp.PartitionMaxBytes = 1 << 20
				ft.Partitions = append(ft.Partitions, fp)
				req.Topics = append(req.Topics, ft)
				fetched <- serve(t, b, req).(*kmsg.FetchResponse)
			}()
			acked := make(chan kmsg.ProduceResponseTopicPartition, 1)
			go func() { acked <- produceWithTimeout(t, b, "late", 20*time.Second, one("a")) }()
			waitTold(t, r, tp, 1)
			select {
			case sp := <-acked:
				t.Fatalf("acks=all answered before the commit: error %d", sp.ErrorCode)
			case resp := <-fetched:
				t.Fatalf("fetch answered before the commit: hwm %d", resp.Topics[0].Partitions[0].HighWatermark)
			case <-time.After(50 * time.Millisecond):
			}
			r.release(tp, 1)
			// Both wait up to 20s; the commit must end their waits, well
			// before that.
			woken := time.After(10 * time.Second)
			select {
			case sp := <-acked:
				if sp.ErrorCode != 0 || sp.BaseOffset != 0 {
					t.Fatalf("acks=all after the commit: error %d base %d", sp.ErrorCode, sp.BaseOffset)
				}
			case <-woken:
				t.Fatal("the commit did not end the acks=all produce's wait")
			}
			select {
			case resp := <-fetched:
				if fp := resp.Topics[0].Partitions[0]; fp.HighWatermark != 1 || fetchedRecords(t, fp.RecordBatches) != 1 {
					t.Fatalf("woken fetch: hwm %d, %d records", fp.HighWatermark, fetchedRecords(t, fp.RecordBatches))
				}
			case <-woken:
				t.Fatal("the commit did not wake the parked fetch")
			}

			// acks=1 does not wait for the commit.
			if sp := produce(t, b, 1, "late", 0, one("b")); sp.ErrorCode != 0 || sp.BaseOffset != 1 {
				t.Fatalf("acks=1: error %d base %d", sp.ErrorCode, sp.BaseOffset)
			}
			// No commit comes: the wait ends at the request's timeout.
			start := time.Now()
			if sp := produceWithTimeout(t, b, "late", 200*time.Millisecond, one("c")); sp.ErrorCode != kerr.RequestTimedOut.Code || sp.BaseOffset != -1 {
				t.Fatalf("acks=all never committed: error %d base %d", sp.ErrorCode, sp.BaseOffset)
			}
			if took := time.Since(start); took < 200*time.Millisecond {
				t.Fatalf("answered REQUEST_TIMED_OUT after %v, before the 200ms timeout", took)
			}

			// Reports past what was told, or of unknown partitions, are
			// ignored; the high watermark stops at the told end (3).
			waitTold(t, r, tp, 3)
			r.release(sdk.TopicPartition{Topic: "nope", Partition: 0}, 5)
			r.release(sdk.TopicPartition{Topic: "late", Partition: 7}, 5)
			r.release(tp, 1000)
			deadline := time.Now().Add(10 * time.Second)
			for {
				fp := fetch(t, b, 12, "late", 0, 0)
				if fp.HighWatermark > 3 {
					t.Fatalf("high watermark %d past the told end 3", fp.HighWatermark)
				}
				if fp.HighWatermark == 3 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("high watermark stuck at %d after the commit of everything told", fp.HighWatermark)
				}
				time.Sleep(time.Millisecond)
			}

			// A topic deleted under a waiting acks=all produce ends the
			// wait at once.
			r.hold(tp, 3)
			go func() { acked <- produceWithTimeout(t, b, "late", 20*time.Second, one("d")) }()
			waitTold(t, r, tp, 4)
			del := serve(t, b, &kmsg.DeleteTopicsRequest{Version: 1, TopicNames: []string{"late"}}).(*kmsg.DeleteTopicsResponse)
			if del.Topics[0].ErrorCode != 0 {
				t.Fatalf("delete: error %d", del.Topics[0].ErrorCode)
			}
			select {
			case sp := <-acked:
				if sp.ErrorCode != kerr.UnknownTopicOrPartition.Code {
					t.Fatalf("acks=all on a deleted topic: error %d", sp.ErrorCode)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("deleting the topic did not end the acks=all produce's wait")
			}
		})
	}
}
