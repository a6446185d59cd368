package compact

import (
	"fmt"
	"testing"
)

// benchBatch builds a batch of about size bytes of records with 200
// distinct keys, so that compaction drops most of them.
func benchBatch(b *testing.B, codec, size int) []byte {
	b.Helper()
	var recs []Record
	n := 0
	for i := int32(0); n < size; i++ {
		r := Record{OffsetDelta: i, TimestampDelta: int64(i), Key: fmt.Appendf(nil, "key-%04d", i*7919%200), Value: testData(100, uint64(i))}
		n += len(AppendRecord(nil, &r))
		recs = append(recs, r)
	}
	return newTestBatch(0, codec, recs...).build(b)
}

func benchFilter(b *testing.B, codec int) {
	batch := benchBatch(b, codec, 64<<10)
	m := NewOffsetMap(2000)
	if _, _, err := m.AddBatch(batch); err != nil {
		b.Fatal(err)
	}
	p := &Policy{Map: m}
	recs, _ := ReadRecords(nil, batch)
	raw := 0
	for i := range recs {
		raw += len(AppendRecord(nil, &recs[i]))
	}
	var out []byte
	var kept int
	b.SetBytes(int64(raw)) // the records' bytes, uncompressed
	b.ReportAllocs()
	for b.Loop() {
		var err error
		out, kept, _, err = p.FilterBatch(out[:0], batch, false)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(kept), "kept/op")
	b.ReportMetric(float64(len(recs)), "records/op")
}

func BenchmarkFilterBatch(b *testing.B) {
	b.Run("none-64KiB", func(b *testing.B) { benchFilter(b, CodecNone) })
	b.Run("zstd-64KiB", func(b *testing.B) { benchFilter(b, CodecZstd) })
}

func BenchmarkAddBatch(b *testing.B) {
	batch := benchBatch(b, CodecNone, 64<<10)
	m := NewOffsetMap(2000)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := m.AddBatch(batch); err != nil {
			b.Fatal(err)
		}
	}
}
