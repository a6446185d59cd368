package kernel

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"runtime/debug"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/runnel-dev/runnel/segments"
)

// seedRequests are well-formed requests of every served API, used as
// fuzz seeds.
func seedRequests() [][]byte {
	topic := "fuzz"
	var out [][]byte
	add := func(r kmsg.Request) { out = append(out, encodeRequest(r, 1)) }
	for v := int16(0); v <= 4; v++ {
		add(&kmsg.ApiVersionsRequest{Version: v, ClientSoftwareName: "f", ClientSoftwareVersion: "1"})
	}
	for _, v := range []int16{0, 1, 4, 9, 12} {
		add(&kmsg.MetadataRequest{Version: v, AllowAutoTopicCreation: true, Topics: []kmsg.MetadataRequestTopic{{Topic: &topic}}})
	}
	batch := testBatch(-1, 0, 0, kv{key: []byte("k"), value: []byte("v"), headers: [][2][]byte{{[]byte("h"), []byte("x")}}})
	for _, v := range []int16{3, 9, 11} {
		add(&kmsg.ProduceRequest{Version: v, Acks: -1, TimeoutMillis: 1000, Topics: []kmsg.ProduceRequestTopic{{
			Topic: topic, Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: batch}}}}})
	}
	for _, v := range []int16{4, 12, 13, 16} {
		add(&kmsg.FetchRequest{Version: v, MaxBytes: 1 << 20, SessionEpoch: -1, Topics: []kmsg.FetchRequestTopic{{
			Topic: topic, Partitions: []kmsg.FetchRequestTopicPartition{{Partition: 0, PartitionMaxBytes: 1 << 20}}}}})
	}
	for _, v := range []int16{1, 8} {
		add(&kmsg.ListOffsetsRequest{Version: v, ReplicaID: -1, Topics: []kmsg.ListOffsetsRequestTopic{{
			Topic: topic, Partitions: []kmsg.ListOffsetsRequestTopicPartition{{Partition: 0, Timestamp: -1}}}}})
	}
	add(&kmsg.CreateTopicsRequest{Version: 7, Topics: []kmsg.CreateTopicsRequestTopic{{Topic: "c", NumPartitions: 2, ReplicationFactor: 1}}})
	add(&kmsg.DeleteTopicsRequest{Version: 6, Topics: []kmsg.DeleteTopicsRequestTopic{{Topic: &topic}}})
	add(&kmsg.DeleteTopicsRequest{Version: 1, TopicNames: []string{"c"}})
	add(&kmsg.InitProducerIDRequest{Version: 4, ProducerID: -1, ProducerEpoch: -1})
	return out
}

// FuzzRequestHeader checks that header decoding never panics and that a
// decoded body is always a suffix of the frame.
func FuzzRequestHeader(f *testing.F) {
	for _, s := range seedRequests() {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Add([]byte{0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 0x01, 0x00, 0x05}, true)
	f.Fuzz(func(t *testing.T, frame []byte, flexible bool) {
		h, body, err := parseRequestHeader(frame, flexible)
		if err != nil {
			return
		}
		if !bytes.HasSuffix(frame, body) {
			t.Fatalf("body is not a suffix of the frame")
		}
		if len(frame)-len(body) < 10 {
			t.Fatalf("header of %d bytes is shorter than the minimum", len(frame)-len(body))
		}
		if len(h.clientID) > len(frame) {
			t.Fatalf("client id longer than the frame")
		}
	})
}

// FuzzServeRequest feeds arbitrary frames to the whole router of a live
// (unlistening) broker. Nothing may panic, and any response the broker
// writes must decode as the response to that request with franz-go's
// kmsg, the same decoder real clients use.
func FuzzServeRequest(f *testing.F) {
	for _, s := range seedRequests() {
		f.Add(s)
	}
	keepCrashOutput(f)
	b := openTestBroker(f, testConfig(f.TempDir()))
	f.Cleanup(func() { b.Close(context.Background()) })
	f.Fuzz(func(t *testing.T, frame []byte) {
		if manyPartitions(frame) {
			// Creating tens of thousands of partitions on disk is legal
			// but slow; it would only stall the fuzzer.
			return
		}
		in := append([]byte(nil), frame...) // the router may not keep or need the caller's bytes
		r := b.ServeRequest(nil, in)
		key, version, correlation, err := parseHeaderPrefix(frame)
		if err != nil {
			if r.CloseReason == "" {
				t.Fatalf("short header not refused")
			}
			return
		}
		if r.CloseReason != "" {
			return
		}
		a := b.lookupAPI(key)
		if a == nil {
			t.Fatalf("unknown key %d answered", key)
		}
		if version < a.min || version > a.max {
			version = 0 // the ApiVersions fallback answers in v0
		}
		if r.Wait != nil {
			return // a parked fetch: waiting would only slow the fuzzer
		}
		if _, err := decodeReply(key, version, correlation, r); err != nil {
			t.Fatalf("%s v%d: response does not decode: %v", kmsg.NameForKey(key), version, err)
		}
	})
}

func manyPartitions(frame []byte) bool {
	key, version, _, err := parseHeaderPrefix(frame)
	if err != nil || key != 19 || version < 0 || version > 7 {
		return false
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version = version
	_, body, err := parseRequestHeader(frame, req.IsFlexible())
	if err != nil || req.ReadFrom(body) != nil {
		return false
	}
	total := 0
	for _, t := range req.Topics {
		total += max(int(t.NumPartitions), len(t.ReplicaAssignment))
	}
	return total > 64
}

// FuzzValidateProduceBatch checks the produce-side validator: it never
// panics, and what it accepts is a well-formed batch whose records walk
// cleanly.
func FuzzValidateProduceBatch(f *testing.F) {
	f.Add(testBatch(-1, 0, 0, kv{value: []byte("a")}))
	f.Add(testBatch(7, 0, 3, kv{key: []byte("k"), value: []byte("a")}, kv{value: nil, headers: [][2][]byte{{[]byte("h"), nil}}}))
	f.Add(make([]byte, 61))
	f.Fuzz(func(t *testing.T, batch []byte) {
		h, perr, _ := validateProduceBatch(batch, 9, 1<<20)
		if perr != nil {
			return
		}
		if _, err := segments.ValidateBatch(batch); err != nil {
			t.Fatalf("accepted a batch segments rejects: %v", err)
		}
		if h.Size() != len(batch) || int(binary.BigEndian.Uint32(batch[8:]))+12 != len(batch) {
			t.Fatalf("accepted a batch whose length field lies")
		}
		if h.Compression() == 0 && h.RecordCount != h.LastOffsetDelta+1 {
			t.Fatalf("accepted an uncompressed batch with %d records and last delta %d", h.RecordCount, h.LastOffsetDelta)
		}
	})
}

// keepCrashOutput sends the crash report of a fuzz worker process to the
// file named by RUNNEL_FUZZ_CRASH_OUT. go test discards a worker's
// output, so without it a worker that dies (a panic on another goroutine,
// an input running past the fuzzer's 10 s limit) says only "exit status 2".
func keepCrashOutput(f *testing.F) {
	p := os.Getenv("RUNNEL_FUZZ_CRASH_OUT")
	if p == "" {
		return
	}
	out, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		f.Fatal(err)
	}
	if err := debug.SetCrashOutput(out, debug.CrashOptions{}); err != nil {
		f.Fatal(err)
	}
	_ = out.Close() // SetCrashOutput keeps its own descriptor
}
