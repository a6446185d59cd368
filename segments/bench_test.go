package segments

import "testing"

// benchBatch is a ~16 KiB batch of 1 KiB records.
func benchBatch() []byte { return testBatch(16, make([]byte, 1024)) }

func BenchmarkAppend(b *testing.B) {
	l := openLog(b, b.TempDir(), Options{})
	defer l.Close()
	batch := benchBatch()
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Append(batch); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendRead(b *testing.B) {
	l := openLog(b, b.TempDir(), Options{SegmentBytes: 16 << 20})
	defer l.Close()
	batch := benchBatch()
	for range 4096 { // 64 MiB over four segments
		mustAppend(b, l, batch)
	}
	end := l.EndOffset()
	const maxBytes = 1 << 20
	dst := make([]byte, 0, maxBytes)
	off := int64(0)
	b.SetBytes(maxBytes)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = l.AppendRead(dst[:0], off, maxBytes); err != nil {
			b.Fatal(err)
		}
		off = (off + 16*64 + 5) % end // a fresh 1 MiB, starting mid-batch
	}
}
