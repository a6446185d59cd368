package bench

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// testBatch returns a record batch of n records from base, size bytes in
// all, with a valid header and filler for records (the raw reader never
// looks past the header).
func testBatch(base int64, n int32, size int) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint64(b, uint64(base))
	binary.BigEndian.PutUint32(b[8:], uint32(size-12))
	b[16] = 2 // magic
	binary.BigEndian.PutUint32(b[23:], uint32(n-1))
	binary.BigEndian.PutUint32(b[57:], uint32(n))
	for i := batchHeaderBytes; i < size; i++ {
		b[i] = byte(i)
	}
	return b
}

// responseFrame frames resp (Fetch v12) as a broker sends it: size,
// correlation id, header tags, body.
func responseFrame(corr int32, resp *kmsg.FetchResponse) []byte {
	resp.Version = rawFetchVersion
	body := binary.BigEndian.AppendUint32(nil, uint32(corr))
	body = append(body, 0)
	body = resp.AppendTo(body)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

func newRawLeaderForTest(topic string, next, ends map[int32]int64, goal *goal) *rawLeader {
	c := &consumer{topic: topic, goal: goal, clock: realClock{}, tally: newTally()}
	return &rawLeader{c: c, next: next, ends: ends}
}

func fetchPartition(p int32, code int16, batches ...[]byte) kmsg.FetchResponseTopicPartition {
	rp := kmsg.NewFetchResponseTopicPartition()
	rp.Partition, rp.ErrorCode = p, code
	rp.RecordBatches = bytes.Join(batches, nil)
	return rp
}

func TestRawReadResponse(t *testing.T) {
	resp := kmsg.NewPtrFetchResponse()
	// A topic this reader did not ask for comes first, and is skipped.
	other := kmsg.NewFetchResponseTopic()
	other.Topic = "other"
	other.Partitions = append(other.Partitions, fetchPartition(0, 0, testBatch(0, 50, 3000)))
	mine := kmsg.NewFetchResponseTopic()
	mine.Topic = "t"
	p0 := fetchPartition(0, 0,
		testBatch(0, 10, 500),        // before the offset asked for (5): skipped... partly
		testBatch(10, 10, 700),       // counted
		testBatch(20, 10, 900)[:100]) // cut short: the reader stops before it
	p0.AbortedTransactions = append(p0.AbortedTransactions, kmsg.NewFetchResponseTopicPartitionAbortedTransaction())
	p0.UnknownTags.Set(7, []byte("future"))
	p1 := fetchPartition(1, 1) // OFFSET_OUT_OF_RANGE
	p2 := fetchPartition(2, 0, testBatch(100, 20, 400), testBatch(120, 20, 400))
	mine.Partitions = append(mine.Partitions, p0, p1, p2)
	resp.Topics = append(resp.Topics, other, mine)
	resp.UnknownTags.Set(3, []byte{1, 2, 3})

	l := newRawLeaderForTest("t",
		map[int32]int64{0: 5, 1: 0, 2: 100},
		map[int32]int64{0: 1000, 1: 1000, 2: 130}, nil)
	frame := responseFrame(9, resp)
	frame = append(frame, responseFrame(10, kmsg.NewPtrFetchResponse())...) // the next response
	r := newStreamReader(bufio.NewReaderSize(bytes.NewReader(frame), 64))
	done, err := l.readResponse(r, 9)
	if err != nil || done {
		t.Fatalf("done %v, err %v", done, err)
	}
	// Partition 0: the first batch's records 5..9 were asked for, so it
	// counts whole (a broker returns whole batches); then the second.
	// Partition 2: its end is 130, so 10 of the second batch's 20 count.
	tl := l.c.tally
	if tl.records != 10+10+20+10 || tl.bytes != 500+700+400+400 {
		t.Fatalf("counted %d records, %d bytes", tl.records, tl.bytes)
	}
	if tl.errors != 1 || tl.firstErr == nil {
		t.Fatalf("errors %d (%v), want the partition error", tl.errors, tl.firstErr)
	}
	if l.next[0] != 20 || l.next[1] != 0 {
		t.Fatalf("next offsets %v", l.next)
	}
	if _, open := l.next[2]; open {
		t.Fatal("partition 2 reached its end but is still read")
	}
	// The reader stopped exactly at the end of the frame.
	if done, err := l.readResponse(r, 10); err != nil || done {
		t.Fatalf("next response: done %v, err %v", done, err)
	}
}

func TestRawReadResponseGoal(t *testing.T) {
	resp := kmsg.NewPtrFetchResponse()
	mine := kmsg.NewFetchResponseTopic()
	mine.Topic = "t"
	mine.Partitions = append(mine.Partitions, fetchPartition(0, 0, testBatch(0, 10, 300), testBatch(10, 10, 300)))
	resp.Topics = append(resp.Topics, mine)
	l := newRawLeaderForTest("t", map[int32]int64{0: 0}, map[int32]int64{}, newGoal(15))
	r := newStreamReader(bufio.NewReader(bytes.NewReader(responseFrame(1, resp))))
	done, err := l.readResponse(r, 1)
	if err != nil || !done {
		t.Fatalf("done %v, err %v", done, err)
	}
	if l.c.tally.records != 15 {
		t.Fatalf("counted %d records past a goal of 15", l.c.tally.records)
	}
}

func TestRawReadResponseErrors(t *testing.T) {
	good := kmsg.NewPtrFetchResponse()
	top := kmsg.NewFetchResponseTopic()
	top.Topic = "t"
	top.Partitions = append(top.Partitions, fetchPartition(0, 0, testBatch(0, 1, 100)))
	good.Topics = append(good.Topics, top)
	frame := responseFrame(1, good)
	for name, b := range map[string][]byte{
		"wrong correlation id": responseFrame(2, good),
		"cut short":            frame[:len(frame)-10],
		"size past the frame":  append(binary.BigEndian.AppendUint32(nil, uint32(len(frame)-4-10)), frame[4:len(frame)-10]...),
		"negative size":        {0xff, 0xff, 0xff, 0xff},
		"top-level error":      responseFrame(1, &kmsg.FetchResponse{ErrorCode: 29}),
		"endless varint":       append(binary.BigEndian.AppendUint32(nil, 14), 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
	} {
		l := newRawLeaderForTest("t", map[int32]int64{0: 0}, map[int32]int64{0: 1}, nil)
		r := newStreamReader(bufio.NewReader(bytes.NewReader(b)))
		if _, err := l.readResponse(r, 1); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzRawReadResponse feeds arbitrary response frames to the raw reader:
// it must never panic or read past a frame, and where kmsg decodes the
// same bytes, it must count the records kmsg's batches hold.
func FuzzRawReadResponse(f *testing.F) {
	resp := kmsg.NewPtrFetchResponse()
	top := kmsg.NewFetchResponseTopic()
	top.Topic = "t"
	top.Partitions = append(top.Partitions,
		fetchPartition(0, 0, testBatch(0, 3, 100), testBatch(3, 2, 80)),
		fetchPartition(1, 0, testBatch(7, 4, 90)))
	resp.Topics = append(resp.Topics, top)
	f.Add(responseFrame(1, resp)[8:]) // body after size and correlation id
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		frame := binary.BigEndian.AppendUint32(nil, uint32(4+len(body)))
		frame = binary.BigEndian.AppendUint32(frame, 1)
		frame = append(frame, body...)
		trailer := []byte("next")
		l := newRawLeaderForTest("t", map[int32]int64{0: 0, 1: 0}, map[int32]int64{0: 1 << 40, 1: 1 << 40}, nil)
		br := bufio.NewReaderSize(bytes.NewReader(append(frame, trailer...)), 16)
		r := newStreamReader(br)
		_, err := l.readResponse(r, 1)
		if rest, _ := br.Peek(len(trailer)); err == nil && !bytes.Equal(rest, trailer) {
			t.Fatalf("the reader did not stop at the end of the frame: %q left", rest)
		}

		// Differential check against kmsg.
		if len(body) < 1 || body[0] != 0 { // header tags: kmsg reads the body only
			return
		}
		ref := kmsg.NewPtrFetchResponse()
		ref.Version = rawFetchVersion
		if ref.ReadFrom(body[1:]) != nil || ref.ErrorCode != 0 {
			return
		}
		if err != nil {
			t.Fatalf("kmsg decodes the response, the raw reader fails: %v", err)
		}
		var want int64
		const end = 1 << 40
		next := map[int32]int64{0: 0, 1: 0}
		for _, rt := range ref.Topics {
			for _, rp := range rt.Partitions {
				from, ours := next[rp.Partition]
				if rt.Topic != "t" || !ours || rp.ErrorCode != 0 {
					continue
				}
				for b := rp.RecordBatches; len(b) >= batchHeaderBytes; {
					size := 12 + int(int32(binary.BigEndian.Uint32(b[8:])))
					if size < batchHeaderBytes || size > len(b) {
						break
					}
					base := int64(binary.BigEndian.Uint64(b))
					last := base + int64(int32(binary.BigEndian.Uint32(b[23:])))
					if last >= from {
						n := min(int64(int32(binary.BigEndian.Uint32(b[57:]))), max(end-base, 0))
						want += max(n, 0)
						from = last + 1
					}
					b = b[size:]
				}
				next[rp.Partition] = from
				if from >= end {
					delete(next, rp.Partition)
				}
			}
		}
		if got := l.c.tally.records; got != want {
			t.Fatalf("raw reader counted %d records, kmsg's batches hold %d", got, want)
		}
	})
}
