package kernel

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/runnel-dev/runnel/netio"
	"github.com/runnel-dev/runnel/segments"
)

// FuzzFetchResponseEncoding is the differential test of the hand-written
// fetch encoder: for a response built from the seed, at every version
// served, the bytes a client receives (the encoder's frame with its file
// chunks read in) must equal kmsg's AppendTo of the same response with
// the records inline.
func FuzzFetchResponseEncoding(f *testing.F) {
	for i := range uint64(8) {
		f.Add(i, i*7+1)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, seed1, seed2 uint64) {
		rng := rand.New(rand.NewPCG(seed1, seed2))
		file, content := randomSegmentFile(t, dir, rng)
		defer file.Close()
		for version := int16(4); version <= 16; version++ {
			ff := randomFetch(rng, version, file, content)
			want := ff.FetchResponse.AppendTo(nil)
			// The encoder sees the ranges, not the inline copies.
			for ti := range ff.Topics {
				for pi := range ff.Topics[ti].Partitions {
					p := &ff.Topics[ti].Partitions[pi]
					if p.RecordBatches != nil && isRanged(ff, ti, pi) {
						p.RecordBatches = nil
					}
				}
			}
			frame, chunks := appendFetchResponse(nil, ff, nil)
			got, err := flattenReply(netio.Reply{Frame: frame, Files: chunks})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("v%d: encoder gives %d bytes, kmsg %d; first difference at %d",
					version, len(got), len(want), firstDiff(got, want))
			}
		}
	})
}

func randomSegmentFile(t *testing.T, dir string, rng *rand.Rand) (*os.File, []byte) {
	t.Helper()
	content := make([]byte, 1+rng.IntN(4<<10))
	for i := range content {
		content[i] = byte(rng.Uint32())
	}
	path := filepath.Join(dir, "segment")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return file, content
}

// randomFetch builds a response as readFetch does: every field it sets,
// random values, partitions whose records are inline bytes, file ranges
// (the inline copy kept for kmsg to encode), or empty.
func randomFetch(rng *rand.Rand, version int16, file *os.File, content []byte) *fileFetch {
	resp := kmsg.NewPtrFetchResponse()
	resp.Version = version
	resp.ThrottleMillis = rng.Int32()
	resp.ErrorCode = int16(rng.IntN(100))
	resp.SessionID = rng.Int32()
	ff := &fileFetch{FetchResponse: resp}
	for range rng.IntN(4) {
		t := kmsg.NewFetchResponseTopic()
		t.Topic = string(rune('a' + rng.IntN(26)))
		if version >= 13 {
			t.Topic = ""
			for j := range t.TopicID {
				t.TopicID[j] = byte(rng.Uint32())
			}
		}
		for range rng.IntN(5) {
			p := kmsg.NewFetchResponseTopicPartition()
			p.Partition = rng.Int32()
			p.ErrorCode = int16(rng.IntN(100))
			p.HighWatermark, p.LastStableOffset, p.LogStartOffset = rng.Int64(), rng.Int64(), rng.Int64()
			p.PreferredReadReplica = -1
			var ranges []segments.FileRange
			switch rng.IntN(3) {
			case 0:
				p.RecordBatches = noRecords
			case 1:
				p.RecordBatches = bytes.Repeat([]byte{byte(rng.Uint32())}, rng.IntN(300))
			case 2:
				for range 1 + rng.IntN(3) {
					pos := rng.Int64N(int64(len(content)))
					n := rng.Int64N(int64(len(content)) - pos + 1)
					ranges = append(ranges, segments.FileRange{File: file, Pos: pos, Len: n})
					p.RecordBatches = append(p.RecordBatches, content[pos:pos+n]...)
				}
				if p.RecordBatches == nil {
					p.RecordBatches = noRecords
				}
			}
			t.Partitions = append(t.Partitions, p)
			ff.ranges = append(ff.ranges, ranges)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return ff
}

// isRanged reports whether partition pi of topic ti has file ranges.
func isRanged(ff *fileFetch, ti, pi int) bool {
	i := pi
	for _, t := range ff.Topics[:ti] {
		i += len(t.Partitions)
	}
	return ff.ranges[i] != nil
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// BenchmarkEncodeFetch measures encoding a fetch response of 8
// partitions around their file ranges; the record bytes are not touched.
func BenchmarkEncodeFetch(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	ff := &fileFetch{FetchResponse: kmsg.NewPtrFetchResponse()}
	ff.Version = 16
	t := kmsg.NewFetchResponseTopic()
	for p := range int32(8) {
		sp := kmsg.NewFetchResponseTopicPartition()
		sp.Partition = p
		t.Partitions = append(t.Partitions, sp)
		ff.ranges = append(ff.ranges, []segments.FileRange{{Pos: rng.Int64N(1 << 30), Len: 1 << 20}})
	}
	ff.Topics = append(ff.Topics, t)
	buf := make([]byte, 0, 4096)
	chunks := make([]netio.FileChunk, 0, 8)
	b.SetBytes(8 << 20)
	b.ReportAllocs()
	for b.Loop() {
		buf, chunks = appendFetchResponse(buf[:0], ff, chunks[:0])
	}
}
