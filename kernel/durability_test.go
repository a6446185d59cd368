package kernel

import (
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestDurableProduceWaitsForSync checks the default mode: the produce
// answer is deferred until the fsync, and then the record is durable and
// visible.
func TestDurableProduceWaitsForSync(t *testing.T) {
	b := newTestBroker(t)
	createTopic(t, b, "d", 1, nil)
	req := &kmsg.ProduceRequest{Version: 9, Acks: -1, TimeoutMillis: 1000, Topics: []kmsg.ProduceRequestTopic{{
		Topic: "d", Partitions: []kmsg.ProduceRequestTopicPartition{{Records: testBatch(-1, 0, 0, kv{value: []byte("x")}, kv{value: []byte("y")})}}}}}
	r := b.ServeRequest(nil, encodeRequest(req, 5))
	if r.Wait == nil {
		t.Fatal("acks=all produce in the durable mode was answered before its fsync")
	}
	resp, err := decodeReply(0, 9, 5, r)
	if err != nil {
		t.Fatal(err)
	}
	sp := resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0]
	p := b.topicByName("d").partitions[0]
	if sp.ErrorCode != 0 || p.durable.Load() < 2 || p.highWatermark() != 2 {
		t.Fatalf("after the answer: error %d, durable %d, hwm %d", sp.ErrorCode, p.durable.Load(), p.highWatermark())
	}
}

// TestConcurrentDurableProduces sends many produces at once; each is
// acknowledged only when durable, and offsets are all distinct.
func TestConcurrentDurableProduces(t *testing.T) {
	b := newTestBroker(t)
	createTopic(t, b, "d", 1, nil)
	const n = 40
	var wg sync.WaitGroup
	offsets := make(chan int64, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := &kmsg.ProduceRequest{Version: 9, Acks: -1, TimeoutMillis: 1000, Topics: []kmsg.ProduceRequestTopic{{
				Topic: "d", Partitions: []kmsg.ProduceRequestTopicPartition{{Records: testBatch(-1, 0, 0, kv{value: []byte("v")})}}}}}
			resp, err := decodeReply(0, 9, 1, b.ServeRequest(nil, encodeRequest(req, 1)))
			if err != nil {
				t.Error(err)
				return
			}
			sp := resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0]
			if sp.ErrorCode != 0 {
				t.Errorf("error %d", sp.ErrorCode)
			}
			if d := b.topicByName("d").partitions[0].durable.Load(); d <= sp.BaseOffset {
				t.Errorf("acknowledged offset %d while durable offset is %d", sp.BaseOffset, d)
			}
			offsets <- sp.BaseOffset
		}()
	}
	wg.Wait()
	close(offsets)
	seen := map[int64]bool{}
	for o := range offsets {
		if seen[o] {
			t.Fatalf("offset %d given twice", o)
		}
		seen[o] = true
	}
	if len(seen) != n {
		t.Fatalf("%d offsets, want %d", len(seen), n)
	}
}

// TestRelaxedFlush checks flush.messages/flush.ms: acknowledged from the
// page cache, visible at once, fsync'd within flush.ms.
func TestRelaxedFlush(t *testing.T) {
	b := newTestBroker(t)
	createTopic(t, b, "r", 1, map[string]string{"flush.messages": "1000", "flush.ms": "20"})
	req := &kmsg.ProduceRequest{Version: 9, Acks: 1, TimeoutMillis: 1000, Topics: []kmsg.ProduceRequestTopic{{
		Topic: "r", Partitions: []kmsg.ProduceRequestTopicPartition{{Records: testBatch(-1, 0, 0, kv{value: []byte("x")})}}}}}
	r := b.ServeRequest(nil, encodeRequest(req, 5))
	if r.Wait != nil {
		t.Fatal("relaxed-mode produce waited for an fsync")
	}
	if _, err := decodeReply(0, 9, 5, r); err != nil {
		t.Fatal(err)
	}
	p := b.topicByName("r").partitions[0]
	if p.highWatermark() != 1 {
		t.Fatalf("hwm %d right after the produce, want 1", p.highWatermark())
	}
	deadline := time.Now().Add(20 * time.Second)
	for p.durable.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if p.durable.Load() < 1 {
		t.Fatal("flush.ms=20 never synced the record")
	}
}
