package kernel

import (
	"bytes"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// benchProduceFrame is a Produce v9 request frame carrying one batch of
// 16 records of 1 KiB, the shape of a busy producer's request.
func benchProduceFrame(topic string) ([]byte, int) {
	recs := make([]kv, 16)
	for i := range recs {
		recs[i] = kv{key: []byte("key"), value: bytes.Repeat([]byte{'x'}, 1024)}
	}
	batch := testBatch(-1, 0, 0, recs...)
	req := &kmsg.ProduceRequest{Version: 9, Acks: 1, TimeoutMillis: 1000, Topics: []kmsg.ProduceRequestTopic{{
		Topic: topic, Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: batch}}}}}
	return encodeRequest(req, 1), len(batch)
}

// BenchmarkServeProduce measures the whole produce path below the
// network: header and body decode, batch and record validation, the
// append (page cache), and the response encode. The topic is in the
// relaxed flush mode so no fsync is timed; BenchmarkServeProduceDurable
// adds it.
func BenchmarkServeProduce(b *testing.B) {
	benchServeProduce(b, map[string]string{"flush.messages": "1000000000"})
}

// BenchmarkServeProduceDurable is one producer sending one request at a
// time in the default mode: every answer waits for its own fsync, the
// worst case for group commit.
func BenchmarkServeProduceDurable(b *testing.B) {
	benchServeProduce(b, nil)
}

func benchServeProduce(b *testing.B, configs map[string]string) {
	br := newTestBroker(b)
	if _, err := br.createTopic("bench", 1, 1, configs, false); err != nil {
		b.Fatal(err)
	}
	frame, batchLen := benchProduceFrame("bench")
	work := make([]byte, len(frame))
	b.SetBytes(int64(batchLen))
	b.ReportAllocs()
	for b.Loop() {
		copy(work, frame) // the append rewrites the base offset in place
		r := br.ServeRequest(nil, work)
		for r.Wait != nil {
			r = r.Wait()
		}
		if r.Done != nil {
			r.Done()
		}
	}
}

// BenchmarkServeFetch measures a consumer's fetch of about 1 MiB from the
// page cache, through decode, read (finding the file ranges) and response
// encode.
func BenchmarkServeFetch(b *testing.B) {
	br := newTestBroker(b)
	if _, err := br.createTopic("bench", 1, 1, nil, false); err != nil {
		b.Fatal(err)
	}
	frame, _ := benchProduceFrame("bench")
	work := make([]byte, len(frame))
	for i := 0; i < 64; i++ {
		copy(work, frame)
		if _, err := decodeReply(0, 9, 1, br.ServeRequest(nil, work)); err != nil {
			b.Fatal(err) // and the batch is durable: the fetch sees it
		}
	}
	req := &kmsg.FetchRequest{Version: 12, MaxBytes: 1 << 20, SessionEpoch: -1, Topics: []kmsg.FetchRequestTopic{{
		Topic: "bench", Partitions: []kmsg.FetchRequestTopicPartition{{PartitionMaxBytes: 1 << 20}}}}}
	fetchFrame := encodeRequest(req, 1)
	r := br.ServeRequest(nil, fetchFrame)
	whole, err := flattenReply(r)
	if err != nil {
		b.Fatal(err)
	}
	r.Done()
	// The bytes a client receives; the records among them are file
	// chunks that netio sends with sendfile, so they are not copied here.
	b.SetBytes(int64(len(whole)))
	b.ReportAllocs()
	for b.Loop() {
		r := br.ServeRequest(nil, fetchFrame)
		if r.Done != nil {
			r.Done()
		}
	}
}

func BenchmarkParseRequestHeader(b *testing.B) {
	frame, _ := benchProduceFrame("bench")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := parseRequestHeader(frame, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeProduceRequest is the request decoder on the produce hot
// path: header, then the body with kmsg (record batches stay aliased in
// the frame).
func BenchmarkDecodeProduceRequest(b *testing.B) {
	frame, batchLen := benchProduceFrame("bench")
	b.SetBytes(int64(batchLen))
	b.ReportAllocs()
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(9)
	for b.Loop() {
		_, body, err := parseRequestHeader(frame, true)
		if err != nil {
			b.Fatal(err)
		}
		if err := req.ReadFrom(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateProduceBatch is the batch check every produce pays:
// header fields, CRC-32C over the batch, and a walk of its records.
func BenchmarkValidateProduceBatch(b *testing.B) {
	recs := make([]kv, 1024)
	for i := range recs {
		recs[i] = kv{value: bytes.Repeat([]byte{'x'}, 1024)}
	}
	batch := testBatch(-1, 0, 0, recs...) // ~1 MiB, the bench suite's batch size
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		if _, kerr, msg := validateProduceBatch(batch, 9, 2<<20); kerr != nil {
			b.Fatal(kerr, msg)
		}
	}
}
