package segments

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runnel-dev/runnel/segments/compact"
)

// benchBatch is a ~16 KiB batch of 1 KiB records.
func benchBatch() []byte { return testBatch(16, make([]byte, 1024)) }

func BenchmarkAppend(b *testing.B) {
	l := openTestLog(b, b.TempDir(), Options{})
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

// BenchmarkAppendDurable measures the default durability: every ~64 KiB
// batch of 1 KiB records is appended and then Sync'd before the next, as
// a produce with acks=all and no concurrency would be. The plain
// sub-benchmark writes the same bytes sequentially to a plain file with
// fdatasync after each write: the ceiling the log is measured against.
func BenchmarkAppendDurable(b *testing.B) {
	batch := testBatch(64, make([]byte, 1024))
	b.Run("log", func(b *testing.B) {
		l := openTestLog(b, b.TempDir(), Options{})
		defer l.Close()
		b.SetBytes(int64(len(batch)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := l.Append(batch); err != nil {
				b.Fatal(err)
			}
			if err := l.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plain", func(b *testing.B) {
		f, err := OSFS{}.OpenFile(filepath.Join(b.TempDir(), "plain"), os.O_RDWR|os.O_CREATE, filePerm)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		b.SetBytes(int64(len(batch)))
		b.ReportAllocs()
		var pos int64
		for b.Loop() {
			if _, err := f.WriteAt(batch, pos); err != nil {
				b.Fatal(err)
			}
			if err := f.Datasync(); err != nil {
				b.Fatal(err)
			}
			pos += int64(len(batch))
		}
	})
}

func BenchmarkAppendRead(b *testing.B) {
	l := openTestLog(b, b.TempDir(), Options{SegmentBytes: 16 << 20})
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

// BenchmarkReadRanges is the zero-copy lookup: where the batches of a 1
// MiB fetch are, without reading them.
func BenchmarkReadRanges(b *testing.B) {
	l := openTestLog(b, b.TempDir(), Options{SegmentBytes: 16 << 20})
	defer l.Close()
	batch := benchBatch()
	for range 4096 {
		mustAppend(b, l, batch)
	}
	end := l.EndOffset()
	dst := make([]FileRange, 0, 4)
	off := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		rs, release, err := l.ReadRanges(dst[:0], off, 1<<20)
		if err != nil || len(rs) == 0 {
			b.Fatal(err)
		}
		release()
		off = (off + 16*64 + 5) % end
	}
}

// BenchmarkOpenDir10k creates 10,000 partitions of one batch each in a
// Dir, closes it cleanly, and measures reopening the Dir and every log. It
// reports the open time and the resident set and Go heap growth per open
// partition.
func BenchmarkOpenDir10k(b *testing.B) {
	const partitions = 10_000
	root := b.TempDir()
	opts := Options{Logger: quietLogger()}
	d, err := OpenDir(root, nil, opts.Logger)
	if err != nil {
		b.Fatal(err)
	}
	batch := testBatch(4, make([]byte, 256))
	for i := range partitions {
		l, err := d.OpenLog(fmt.Sprintf("topic-%d", i), opts)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.Append(batch); err != nil {
			b.Fatal(err)
		}
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		b.Fatal(err)
	}
	logs := make([]*Log, partitions)
	var open time.Duration
	var rss, heap int64
	for b.Loop() {
		runtime.GC()
		rss0, heap0 := vmRSS(b), heapInUse()
		start := time.Now()
		d, err := OpenDir(root, nil, opts.Logger)
		if err != nil {
			b.Fatal(err)
		}
		for i := range logs {
			if logs[i], err = d.OpenLog(fmt.Sprintf("topic-%d", i), opts); err != nil {
				b.Fatal(err)
			}
		}
		open += time.Since(start)
		runtime.GC()
		rss += vmRSS(b) - rss0
		heap += heapInUse() - heap0
		b.StopTimer()
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
		clear(logs)
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(open.Seconds()/n, "open-s")
	b.ReportMetric(float64(rss)/n/partitions/1024, "rss-KiB/partition")
	b.ReportMetric(float64(heap)/n/partitions/1024, "heap-KiB/partition")
}

// vmRSS is the process's resident set in bytes, from /proc/self/status.
func vmRSS(tb testing.TB) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb << 10
		}
	}
	tb.Skip("no VmRSS in /proc/self/status")
	return 0
}

func heapInUse() int64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

// BenchmarkCompact compacts an 8 MiB log of 1 MiB segments, holding 2,000 keys each written about 40 times in
// batches of 50 records of ~100-byte values, so that compaction keeps
// about one record in 40. Each iteration cleans a fresh copy; MB/s is of
// the log cleaned.
func BenchmarkCompact(b *testing.B) {
	for _, codec := range []int{compact.CodecNone, compact.CodecZstd} {
		b.Run([]string{"none", "gzip", "snappy", "lz4", "zstd"}[codec], func(b *testing.B) {
			tmpl := b.TempDir()
			opts := Options{SegmentBytes: 1 << 20, Logger: quietLogger()}
			l := openTestLog(b, tmpl, opts)
			rng := rand.New(rand.NewPCG(1, 2))
			value := bytes.Repeat([]byte("0123456789"), 10)
			for l.Size() < 8<<20 {
				spec := keyedSpec{codec: codec, producerID: -1, producerEpoch: -1, baseSequence: -1, ts: 1000}
				for range 50 {
					v := append(fmt.Appendf(nil, "%08d", rng.IntN(1e8)), value...)
					spec.records = append(spec.records, compact.Record{Key: fmt.Appendf(nil, "key-%05d", rng.IntN(2000)), Value: v})
				}
				mustAppend(b, l, keyedBatch(spec))
			}
			mustAppend(b, l, keyed(2000, "x=1")) // into a fresh active segment
			l.mu.Lock()
			_, err := l.roll(l.end.Load())
			l.mu.Unlock()
			if err != nil {
				b.Fatal(err)
			}
			size := l.Size()
			if err := l.Close(); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			var st CompactStats
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := filepath.Join(b.TempDir(), "log")
				if err := os.CopyFS(dir, os.DirFS(tmpl)); err != nil {
					b.Fatal(err)
				}
				l := openTestLog(b, dir, opts)
				b.StartTimer()
				if st, err = l.Compact(CompactOptions{}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := l.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(st.BytesAfter)/float64(st.BytesBefore), "kept-ratio")
		})
	}
}
