package segments

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestDeletedSegmentOutlivesReaders: ranges handed out stay readable while
// retention deletes their segment, and the files go when they are
// released.
func TestDeletedSegmentOutlivesReaders(t *testing.T) {
	dir := t.TempDir()
	l := openTestLog(t, dir, Options{SegmentBytes: 1000})
	defer l.Close()
	batches := appendMany(t, l, 40)
	rs, release, err := l.ReadRanges(nil, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) < 3 {
		t.Fatalf("%d ranges", len(rs))
	}
	n, err := l.Retain(time.Now(), -1, 0)
	if err != nil || n != len(rs) {
		t.Fatalf("Retain deleted %d segments (of %d), %v", n, len(rs), err)
	}
	if l.StartOffset() != l.EndOffset() || l.Size() != 0 {
		t.Fatalf("start %d end %d size %d", l.StartOffset(), l.EndOffset(), l.Size())
	}
	names := strings.Join(listDir(t, dir), " ")
	if strings.Count(names, ".log.deleted") != len(rs) {
		t.Fatalf("files while ranges are held: %s", names)
	}
	var got []byte
	for _, r := range rs {
		b := make([]byte, r.Len)
		if _, err := r.File.ReadAt(b, r.Pos); err != nil {
			t.Fatal(err)
		}
		got = append(got, b...)
	}
	var want []byte
	for _, b := range batches {
		want = append(want, b...)
	}
	if string(got) != string(want) {
		t.Fatal("ranges of deleted segments read back wrong")
	}
	release()
	if names := strings.Join(listDir(t, dir), " "); strings.Contains(names, "deleted") {
		t.Fatalf("files after release: %s", names)
	}
	if _, err := rs[0].File.ReadAt(make([]byte, 1), 0); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("file still open after release: %v", err)
	}
}

func TestRangesOutliveClose(t *testing.T) {
	l := openTestLog(t, t.TempDir(), Options{})
	appendMany(t, l, 5)
	rs, release, err := l.ReadRanges(nil, 0, 1<<20)
	if err != nil || len(rs) != 1 {
		t.Fatalf("%d ranges, %v", len(rs), err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := rs[0].File.ReadAt(make([]byte, rs[0].Len), rs[0].Pos); err != nil && err != io.EOF {
		t.Fatalf("range unreadable after Close: %v", err)
	}
	if _, _, err := l.ReadRanges(nil, 0, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("ReadRanges after Close: %v", err)
	}
	release()
	if _, err := rs[0].File.ReadAt(make([]byte, 1), 0); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("file still open after release: %v", err)
	}
}

func TestReadRangesMatchAppendRead(t *testing.T) {
	l := openTestLog(t, t.TempDir(), Options{SegmentBytes: 3000, IndexIntervalBytes: 200})
	defer l.Close()
	appendMany(t, l, 300)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		off := rng.Int64N(l.EndOffset())
		max := rng.IntN(5000)
		want, err := l.AppendRead(nil, off, max)
		if err != nil {
			t.Fatal(err)
		}
		rs, release, err := l.ReadRanges(nil, off, max)
		if err != nil {
			t.Fatal(err)
		}
		got := rangeBytes(t, rs)
		release()
		if string(got) != string(want) {
			t.Fatalf("read %d max %d: ranges give %d bytes, AppendRead %d", off, max, len(got), len(want))
		}
	}
}

// TestReadRangesBeforeMatchesTrim checks the end bound against a copy
// read cut at the first batch whose base offset is end or more, for ends
// inside batches, at batch boundaries, across segments and before the
// read offset.
func TestReadRangesBeforeMatchesTrim(t *testing.T) {
	l := openTestLog(t, t.TempDir(), Options{SegmentBytes: 3000, IndexIntervalBytes: 200})
	defer l.Close()
	appendMany(t, l, 300)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		off := rng.Int64N(l.EndOffset())
		end := rng.Int64N(l.EndOffset() + 2)
		max := rng.IntN(5000)
		all, err := l.AppendRead(nil, off, max)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		_ = SplitBatches(all, func(b []byte) bool {
			if int64(binary.BigEndian.Uint64(b)) >= end {
				return false
			}
			n += len(b)
			return true
		})
		want := all[:n]
		rs, release, err := l.ReadRangesBefore(nil, off, end, max)
		if err != nil {
			t.Fatal(err)
		}
		got := rangeBytes(t, rs)
		release()
		if !bytes.Equal(got, want) {
			t.Fatalf("read %d before %d max %d: ranges give %d bytes, want %d", off, end, max, len(got), len(want))
		}
	}
}

// rangeBytes reads what a list of file ranges holds.
func rangeBytes(t *testing.T, rs []FileRange) []byte {
	t.Helper()
	var got []byte
	for _, r := range rs {
		b := make([]byte, r.Len)
		if _, err := r.File.ReadAt(b, r.Pos); err != nil {
			t.Fatal(err)
		}
		got = append(got, b...)
	}
	return got
}

func TestReadRangesAllocs(t *testing.T) {
	l := openTestLog(t, t.TempDir(), Options{SegmentBytes: 64 << 10})
	defer l.Close()
	appendMany(t, l, 500)
	end := l.Segments()[0].Next
	dst := make([]FileRange, 0, 4)
	off := int64(0)
	allocs := testing.AllocsPerRun(200, func() {
		rs, release, err := l.ReadRangesBefore(dst[:0], off, end-1, 8<<10)
		if err != nil || len(rs) != 1 {
			t.Fatalf("%d ranges, %v", len(rs), err)
		}
		release()
		off = (off + 97) % (end / 2) // stays in the first segment
	})
	if allocs != 0 {
		t.Fatalf("ReadRanges allocates %v times per call", allocs)
	}
}

// TestRetentionRacingReaders runs appends, reads, retention and start
// offset moves together (for -race): reads see whole valid batches or
// ErrOffsetOutOfRange, never anything else.
func TestRetentionRacingReaders(t *testing.T) {
	dir := t.TempDir()
	l := openTestLog(t, dir, Options{SegmentBytes: 2000, IndexIntervalBytes: 300})
	defer l.Close()
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !done.Load(); i++ {
			if _, err := l.Append(testBatch(1+i%4, make([]byte, 40+i%100))); err != nil {
				t.Error(err)
				return
			}
			switch i % 50 {
			case 10:
				if _, err := l.Retain(time.Now(), -1, 6000); err != nil {
					t.Error(err)
					return
				}
			case 30:
				if err := l.AdvanceStartOffset(l.EndOffset() - 20); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 7))
			var buf []byte
			for !done.Load() {
				start, end := l.StartOffset(), l.EndOffset()
				if end == start {
					continue
				}
				off := start + rng.Int64N(end-start)
				var err error
				switch r {
				case 0:
					buf, err = l.AppendRead(buf[:0], off, rng.IntN(5000))
					if err == nil {
						checkBatches(t, buf, off)
					}
				case 1:
					var rs []FileRange
					var release func()
					rs, release, err = l.ReadRanges(nil, off, rng.IntN(5000))
					if err == nil {
						buf = buf[:0]
						for _, fr := range rs {
							b := make([]byte, fr.Len)
							if _, err := fr.File.ReadAt(b, fr.Pos); err != nil {
								t.Error(err)
							}
							buf = append(buf, b...)
						}
						release()
						checkBatches(t, buf, off)
					}
				case 2:
					_, _, err = l.FindTimestamp(rng.Int64N(100))
					if err == nil {
						err = l.Scan(off, func(BatchHeader) bool { return rng.IntN(20) > 0 })
					}
				}
				if err != nil && !errors.Is(err, ErrOffsetOutOfRange) {
					t.Error(err)
					return
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	done.Store(true)
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if names := strings.Join(listDir(t, dir), " "); strings.Contains(names, "deleted") {
		t.Fatalf("deleted files left: %s", names)
	}
	l = openTestLog(t, dir, Options{SegmentBytes: 2000})
	readAll(t, l, 1<<20)
}
