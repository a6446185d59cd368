package segments

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrentAppendRead runs appenders and readers together (meant for
// -race): readers must only ever see whole, valid, contiguous batches.
func TestConcurrentAppendRead(t *testing.T) {
	l := openTestLog(t, t.TempDir(), Options{SegmentBytes: 8 << 10})
	defer l.Close()
	const appenders, perAppender, readers = 4, 200, 4
	var done atomic.Bool
	var wg, rwg sync.WaitGroup
	for a := range appenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perAppender {
				b := testBatch(1+(a+i)%7, make([]byte, 50+i%300))
				if _, err := l.Append(b); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for r := range readers {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			var buf []byte
			for !done.Load() {
				end := l.EndOffset()
				if end == 0 {
					continue
				}
				off := rng.Int64N(end)
				var err error
				buf, err = l.AppendRead(buf[:0], off, rng.IntN(20000))
				if err != nil {
					t.Error(err)
					return
				}
				checkBatches(t, buf, off)
				if r == 0 {
					n := 0
					if err := l.Scan(off, func(BatchHeader) bool { n++; return n < 50 }); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	done.Store(true)
	rwg.Wait()
	if got := len(readAll(t, l, 1<<20)); got != appenders*perAppender {
		t.Fatalf("%d batches, want %d", got, appenders*perAppender)
	}
}

// checkBatches checks that b is whole valid batches with contiguous
// offsets, the first holding offset.
func checkBatches(t testing.TB, b []byte, offset int64) {
	t.Helper()
	if len(b) == 0 {
		t.Errorf("read at %d returned nothing", offset)
		return
	}
	first := true
	var next int64
	err := SplitBatches(b, func(batch []byte) bool {
		h, err := ValidateBatch(batch)
		if err != nil {
			t.Errorf("read at %d: invalid batch: %v", offset, err)
			return false
		}
		if first && (h.BaseOffset > offset || h.LastOffset() < offset) {
			t.Errorf("read at %d: first batch holds [%d, %d]", offset, h.BaseOffset, h.LastOffset())
		}
		if !first && h.BaseOffset != next {
			t.Errorf("read at %d: batch at %d, want %d", offset, h.BaseOffset, next)
		}
		first, next = false, h.NextOffset()
		return true
	})
	if err != nil {
		t.Errorf("read at %d: %v", offset, err)
	}
}

// TestReadRacingClose checks that reads racing with Close fail with
// ErrClosed rather than anything stranger.
func TestReadRacingClose(t *testing.T) {
	l := openTestLog(t, t.TempDir(), Options{SegmentBytes: 4 << 10})
	appendMany(t, l, 200)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, err := l.AppendRead(nil, 0, 1<<20)
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

func TestNonZeroStart(t *testing.T) {
	dir := t.TempDir()
	var data []byte
	var batches [][]byte
	for off := int64(100); off < 110; off += 2 {
		b := testBatch(2, []byte("z"))
		binary.BigEndian.PutUint64(b, uint64(off))
		batches = append(batches, b)
		data = append(data, b...)
	}
	if err := os.WriteFile(filepath.Join(dir, segmentName(100)), data, 0o644); err != nil {
		t.Fatal(err)
	}
	l := openTestLog(t, dir, Options{})
	defer l.Close()
	if l.StartOffset() != 100 || l.EndOffset() != 110 {
		t.Fatalf("start %d end %d", l.StartOffset(), l.EndOffset())
	}
	if _, err := l.AppendRead(nil, 99, 100); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read before start: %v", err)
	}
	sameBatches(t, readAll(t, l, 1<<20), batches)
}
