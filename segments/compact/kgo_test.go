package compact

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// This file checks the package against a real client: franz-go produces
// genuinely compressed batches (its snappy is a raw block here; the xerial
// framing is covered by hand-made fixtures) to a minimal
// fake broker, the test compacts them, and franz-go's consumer reads the
// compacted batches back. The fake speaks just enough of the protocol
// (ApiVersions, Metadata, Produce, ListOffsets, Fetch) on one partition,
// on the loopback interface.

type fakeBroker struct {
	t    *testing.T
	ln   net.Listener
	host string
	port int32

	mu       sync.Mutex
	produced [][]byte // every batch received
	log      []byte   // what Fetch serves
	logEnd   int64
}

const fakeTopic = "compacted"

func newFakeBroker(t *testing.T) *fakeBroker {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback listener: %v", err)
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	fb := &fakeBroker{t: t, ln: ln, host: host, port: int32(p)}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { fb.serve(c) })
			t.Cleanup(func() { c.Close() })
		}
	})
	return fb
}

func (fb *fakeBroker) addr() string { return net.JoinHostPort(fb.host, strconv.Itoa(int(fb.port))) }

func (fb *fakeBroker) serve(c net.Conn) {
	defer c.Close()
	be := binary.BigEndian
	for {
		var size [4]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return
		}
		buf := make([]byte, be.Uint32(size[:]))
		if _, err := io.ReadFull(c, buf); err != nil || len(buf) < 10 {
			return
		}
		key, version, corr := int16(be.Uint16(buf)), int16(be.Uint16(buf[2:])), be.Uint32(buf[4:])
		b := buf[8:]
		if n := int16(be.Uint16(b)); n > 0 {
			b = b[2+int(n):]
		} else {
			b = b[2:]
		}
		req := kmsg.RequestForKey(key)
		if req == nil {
			return
		}
		req.SetVersion(version)
		if req.IsFlexible() { // request header v2: skip its tagged fields
			tags, n := binary.Uvarint(b)
			b = b[n:]
			for range tags {
				_, n := binary.Uvarint(b)
				b = b[n:]
				l, n := binary.Uvarint(b)
				b = b[n+int(l):]
			}
		}
		if err := req.ReadFrom(b); err != nil {
			fb.t.Errorf("fake broker: key %d v%d: %v", key, version, err)
			return
		}
		resp := fb.handle(req)
		if resp == nil {
			return
		}
		out := be.AppendUint32(nil, 0)
		out = be.AppendUint32(out, corr)
		if req.IsFlexible() && key != 18 { // ApiVersions answers with header v0
			out = append(out, 0)
		}
		out = resp.AppendTo(out)
		be.PutUint32(out, uint32(len(out)-4))
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

func (fb *fakeBroker) handle(req kmsg.Request) kmsg.Response {
	switch req := req.(type) {
	case *kmsg.ApiVersionsRequest:
		resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
		for _, k := range []struct{ key, min, max int16 }{{0, 3, 9}, {1, 4, 11}, {2, 1, 5}, {3, 1, 9}, {18, 0, 3}} {
			resp.ApiKeys = append(resp.ApiKeys, kmsg.ApiVersionsResponseApiKey{ApiKey: k.key, MinVersion: k.min, MaxVersion: k.max})
		}
		return resp
	case *kmsg.MetadataRequest:
		resp := req.ResponseKind().(*kmsg.MetadataResponse)
		resp.Brokers = []kmsg.MetadataResponseBroker{{NodeID: 1, Host: fb.host, Port: fb.port}}
		resp.ControllerID = 1
		topic := kmsg.NewMetadataResponseTopic()
		topic.Topic = kmsg.StringPtr(fakeTopic)
		p := kmsg.NewMetadataResponseTopicPartition()
		p.Leader, p.Replicas, p.ISR = 1, []int32{1}, []int32{1}
		topic.Partitions = []kmsg.MetadataResponseTopicPartition{p}
		resp.Topics = []kmsg.MetadataResponseTopic{topic}
		return resp
	case *kmsg.ProduceRequest:
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				fb.mu.Lock()
				fb.produced = append(fb.produced, bytes.Clone(rp.Records))
				fb.mu.Unlock()
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp
	case *kmsg.ListOffsetsRequest:
		resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
		fb.mu.Lock()
		end := fb.logEnd
		fb.mu.Unlock()
		for _, rt := range req.Topics {
			st := kmsg.NewListOffsetsResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewListOffsetsResponseTopicPartition()
				sp.Partition, sp.Offset, sp.LeaderEpoch = rp.Partition, 0, -1
				if rp.Timestamp == -1 {
					sp.Offset = end
				}
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp
	case *kmsg.FetchRequest:
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		fb.mu.Lock()
		log, end := fb.log, fb.logEnd
		fb.mu.Unlock()
		served := false
		for _, rt := range req.Topics {
			st := kmsg.NewFetchResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewFetchResponseTopicPartition()
				sp.Partition, sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = rp.Partition, end, end, 0
				if rp.FetchOffset < end {
					sp.RecordBatches = log // the client skips what is below its offset
					served = true
				}
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		if !served {
			time.Sleep(20 * time.Millisecond) // a short long-poll
		}
		return resp
	}
	fb.t.Errorf("fake broker: unexpected %T", req)
	return nil
}

func TestFranzGoInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a fake broker and franz-go clients")
	}
	fb := newFakeBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	codecs := []kgo.CompressionCodec{kgo.NoCompression(), kgo.GzipCompression(), kgo.SnappyCompression(), kgo.Lz4Compression(), kgo.ZstdCompression()}
	// Produce the same 40 records once per codec.
	var produced []*kgo.Record
	for i := range 40 {
		r := &kgo.Record{
			Topic: fakeTopic,
			Key:   fmt.Appendf(nil, "key-%d", i%7),
			Value: []byte(strings.Repeat(fmt.Sprintf("value %d of a compressible record; ", i), 8)),
		}
		switch {
		case i%9 == 4:
			r.Key = nil // dropped by compaction
		case i == 38:
			r.Value = nil // a tombstone, the latest for its key
		}
		if i%3 == 0 {
			r.Headers = []kgo.RecordHeader{{Key: "h", Value: []byte(strconv.Itoa(i))}, {Key: "empty"}}
		}
		produced = append(produced, r)
	}
	// The latest record per key, as compaction should leave it.
	latest := map[string]int{}
	for i, r := range produced {
		if r.Key != nil {
			latest[string(r.Key)] = i
		}
	}

	var log []byte
	var want []*kgo.Record // what the consumer should see, in order
	next := int64(0)       // the log's next offset
	for c, codec := range codecs {
		fb.mu.Lock()
		fb.produced = nil
		fb.mu.Unlock()
		cl, err := kgo.NewClient(
			kgo.SeedBrokers(fb.addr()),
			kgo.ProducerBatchCompression(codec),
			kgo.DisableIdempotentWrite(),
			kgo.RecordPartitioner(kgo.ManualPartitioner()),
			kgo.ManualFlushing(),
		)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, r := range produced {
			r := *r
			wg.Add(1)
			cl.Produce(ctx, &r, func(_ *kgo.Record, err error) {
				defer wg.Done()
				if err != nil {
					t.Errorf("produce: %v", err)
				}
			})
		}
		if err := cl.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		cl.Close()

		// franz-go usually sends one batch; under load it may split the
		// records. Place the batches one after another in the log and
		// check that together they hold the records in order.
		fb.mu.Lock()
		batches := fb.produced
		fb.mu.Unlock()
		offsets := make([]int64, 0, len(produced)) // produced[i] is at offsets[i]
		m := NewOffsetMap(64)
		for _, batch := range batches {
			h := mustHeader(t, batch)
			if int(h.attrs&attrCodecMask) != c {
				t.Fatalf("%s: a batch has codec %d", codecNames[c], h.attrs&attrCodecMask)
			}
			binary.BigEndian.PutUint64(batch, uint64(next)) // outside the CRC
			recs, err := ReadRecords(nil, batch)
			if err != nil {
				t.Fatalf("%s: %v", codecNames[c], err)
			}
			for j, r := range recs {
				i := len(offsets)
				if i >= len(produced) {
					t.Fatalf("%s: more records than produced", codecNames[c])
				}
				p := produced[i]
				if int(r.OffsetDelta) != j || !bytes.Equal(r.Key, p.Key) || (r.Key == nil) != (p.Key == nil) ||
					!bytes.Equal(r.Value, p.Value) || (r.Value == nil) != (p.Value == nil) || len(r.Headers) != len(p.Headers) {
					t.Fatalf("%s record %d: %+v, produced %+v", codecNames[c], i, r, p)
				}
				for k, hd := range r.Headers {
					if string(hd.Key) != p.Headers[k].Key || !bytes.Equal(hd.Value, p.Headers[k].Value) {
						t.Fatalf("%s record %d header %d: %+v", codecNames[c], i, k, hd)
					}
				}
				offsets = append(offsets, next+int64(j))
			}
			if c == CodecSnappy {
				t.Logf("franz-go's snappy batch is xerial-framed: %v", bytes.HasPrefix(batch[headerSize:], xerialMagic))
			}
			if _, _, err := m.AddBatch(batch); err != nil {
				t.Fatal(err)
			}
			next += int64(h.lastOffsetDelta) + 1
		}
		if len(offsets) != len(produced) {
			t.Fatalf("%s: %d records in %d batches, want %d", codecNames[c], len(offsets), len(batches), len(produced))
		}

		p := &Policy{Map: m}
		total := 0
		for _, batch := range batches {
			h := mustHeader(t, batch)
			out, kept, _, err := p.FilterBatch(nil, batch, false)
			if err != nil {
				t.Fatalf("%s: %v", codecNames[c], err)
			}
			total += kept
			if len(out) > 0 {
				oh := mustHeader(t, out)
				if oh.attrs != h.attrs || oh.lastOffsetDelta != h.lastOffsetDelta || oh.baseOffset != h.baseOffset {
					t.Fatalf("%s: compacted header %+v from %+v", codecNames[c], oh, h)
				}
			}
			t.Logf("%s: %d-byte batch of %d records compacted to %d bytes, %d records", codecNames[c], len(batch), h.recordCount, len(out), kept)
			log = append(log, out...)
		}
		if total != len(latest) {
			t.Fatalf("%s: kept %d records, want %d", codecNames[c], total, len(latest))
		}
		for i, r := range produced {
			if r.Key != nil && latest[string(r.Key)] == i {
				w := *r
				w.Offset = offsets[i]
				want = append(want, &w)
			}
		}
	}
	fb.mu.Lock()
	fb.log, fb.logEnd = log, next
	fb.mu.Unlock()

	// franz-go's consumer reads the compacted, recompressed batches.
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(fb.addr()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{fakeTopic: {0: kgo.NewOffset().At(0)}}),
		kgo.FetchMaxWait(100*time.Millisecond),
		kgo.DisableFetchSessions(),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []*kgo.Record
	for len(got) < len(want) && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachError(func(_ string, _ int32, err error) {
			if ctx.Err() == nil {
				t.Fatalf("fetch: %v", err)
			}
		})
		got = append(got, fs.Records()...)
	}
	t.Logf("franz-go consumed %d records from the compacted batches", len(got))
	if len(got) != len(want) {
		t.Fatalf("consumed %d records, want %d", len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		if g.Offset != w.Offset || !bytes.Equal(g.Key, w.Key) || !bytes.Equal(g.Value, w.Value) ||
			(g.Value == nil) != (w.Value == nil) || len(g.Headers) != len(w.Headers) {
			t.Fatalf("consumed record %d: offset %d key %q, want offset %d key %q", i, g.Offset, g.Key, w.Offset, w.Key)
		}
	}
}
