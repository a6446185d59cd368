package kernel

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func longPollRequest(b *Broker, topic string, offset int64, wait time.Duration) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version = 13
	req.MaxWaitMillis = int32(wait / time.Millisecond)
	req.MinBytes = 1
	req.MaxBytes = 1 << 20
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.TopicID = b.topicByName(topic).id
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.FetchOffset, rp.PartitionMaxBytes = offset, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// TestLongPollWakesOnAppend parks a fetch with a long max wait and checks
// that an append answers it with the new data. If the wake-up were lost
// the fetch would sit out its full minute.
func TestLongPollWakesOnAppend(t *testing.T) {
	b := newTestBroker(t)
	createTopic(t, b, "lp", 1, nil)
	req := longPollRequest(b, "lp", 0, time.Minute)
	r := b.ServeRequest(nil, encodeRequest(req, 3))
	if r.Wait == nil {
		t.Fatal("fetch on an empty partition with min bytes 1 was not parked")
	}
	got := make(chan *kmsg.FetchResponse, 1)
	go func() {
		resp, err := decodeReply(1, 13, 3, r)
		if err != nil {
			t.Error(err)
		}
		got <- resp.(*kmsg.FetchResponse)
	}()
	time.Sleep(20 * time.Millisecond)
	produce(t, b, 1, "lp", 0, testBatch(-1, 0, 0, kv{value: []byte("wake")}))
	select {
	case resp := <-got:
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != 0 || len(p.RecordBatches) == 0 || p.HighWatermark != 1 {
			t.Fatalf("woken fetch: error %d, %d bytes, hwm %d", p.ErrorCode, len(p.RecordBatches), p.HighWatermark)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("parked fetch did not wake on append")
	}
}

// TestCloseAnswersParkedFetch checks that shutdown does not wait out a
// parked fetch.
func TestCloseAnswersParkedFetch(t *testing.T) {
	b := openTestBroker(t, testConfig(t.TempDir()))
	createTopic(t, b, "lp", 1, nil)
	r := b.ServeRequest(nil, encodeRequest(longPollRequest(b, "lp", 0, time.Minute), 3))
	if r.Wait == nil {
		t.Fatal("fetch was not parked")
	}
	done := make(chan struct{})
	go func() {
		_, _ = decodeReply(1, 13, 3, r)
		close(done)
	}()
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("parked fetch still waiting after Close")
	}
}

// TestMetadataLogRewrite creates and deletes many topics, so the metadata
// log is rewritten from a snapshot, and checks the image survives it.
func TestMetadataLogRewrite(t *testing.T) {
	dir := t.TempDir()
	b := openTestBroker(t, testConfig(dir))
	createTopic(t, b, "stays", 2, map[string]string{"retention.ms": "5000"})
	for i := 0; i < 60; i++ {
		name := "churn-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		createTopic(t, b, name, 1, nil)
		del := serve(t, b, &kmsg.DeleteTopicsRequest{Version: 1, TopicNames: []string{name}}).(*kmsg.DeleteTopicsResponse)
		if del.Topics[0].ErrorCode != 0 {
			t.Fatalf("delete %s: %d", name, del.Topics[0].ErrorCode)
		}
	}
	if b.meta.records > 2*3+64 {
		t.Fatalf("metadata log holds %d records after churn; it should have been rewritten", b.meta.records)
	}
	b.Close(context.Background())
	b = openTestBroker(t, testConfig(dir))
	defer b.Close(context.Background())
	ts := b.allTopics()
	if len(ts) != 1 || ts[0].name != "stays" || len(ts[0].partitions) != 2 || ts[0].overrides()["retention.ms"] != "5000" {
		t.Fatalf("after rewrite and restart: %d topics", len(ts))
	}
}

// TestFetchByteLimits checks Kafka's limits: the first partition with
// data always gets a whole batch even past the limits (KIP-74), later
// partitions only get what fits in the response's max bytes.
func TestFetchByteLimits(t *testing.T) {
	b := newTestBroker(t)
	createTopic(t, b, "lim", 2, nil)
	big := testBatch(-1, 0, 0, kv{value: make([]byte, 4000)})
	for p := int32(0); p < 2; p++ {
		produce(t, b, 1, "lim", p, big)
		produce(t, b, 1, "lim", p, big)
	}
	req := kmsg.NewPtrFetchRequest()
	req.Version = 12
	req.MaxBytes = 1000 // smaller than one batch
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "lim"
	for p := int32(0); p < 2; p++ {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.PartitionMaxBytes = p, 1000
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp := serve(t, b, req).(*kmsg.FetchResponse)
	p0, p1 := resp.Topics[0].Partitions[0], resp.Topics[0].Partitions[1]
	if len(p0.RecordBatches) != len(big) {
		t.Fatalf("first partition got %d bytes, want exactly one whole batch of %d", len(p0.RecordBatches), len(big))
	}
	if len(p1.RecordBatches) != 0 || p1.ErrorCode != 0 || p1.HighWatermark != 2 {
		t.Fatalf("second partition got %d bytes (error %d, hwm %d), want none past the response limit",
			len(p1.RecordBatches), p1.ErrorCode, p1.HighWatermark)
	}
	// With room for both, each partition is capped by its own limit.
	req.MaxBytes = 1 << 20
	for i := range req.Topics[0].Partitions {
		req.Topics[0].Partitions[i].PartitionMaxBytes = int32(len(big) + 10)
	}
	resp = serve(t, b, req).(*kmsg.FetchResponse)
	for i, p := range resp.Topics[0].Partitions {
		if len(p.RecordBatches) != len(big) {
			t.Fatalf("partition %d: %d bytes, want one batch (%d) under its partition limit", i, len(p.RecordBatches), len(big))
		}
	}
}
