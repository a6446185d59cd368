package segments

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// appendMany appends n batches of varying shape and returns copies of
// them as stored (with their offsets).
func appendMany(t testing.TB, l *Log, n int) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range n {
		b := testBatch(1+i%5, bytes.Repeat([]byte{byte(i)}, 10+i*7%90))
		want := l.EndOffset()
		if base := mustAppend(t, l, b); base != want {
			t.Fatalf("batch %d got base %d, want %d", i, base, want)
		}
		out = append(out, b)
	}
	return out
}

func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameBatches(t testing.TB, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d batches, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("batch %d differs", i)
		}
	}
}

func TestEmptyLog(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "topic-0")
	l := openTestLog(t, dir, Options{})
	defer l.Close()
	if l.StartOffset() != 0 || l.EndOffset() != 0 || l.Size() != 0 {
		t.Fatalf("start %d end %d size %d", l.StartOffset(), l.EndOffset(), l.Size())
	}
	if got, err := l.AppendRead([]byte("x"), 0, 100); err != nil || string(got) != "x" {
		t.Fatalf("read at end: %q, %v", got, err)
	}
	for _, off := range []int64{-1, 1} {
		if _, err := l.AppendRead(nil, off, 100); !errors.Is(err, ErrOffsetOutOfRange) {
			t.Fatalf("read at %d: %v", off, err)
		}
	}
	if err := l.Scan(0, func(BatchHeader) bool { t.Fatal("scan of empty log called fn"); return true }); err != nil {
		t.Fatal(err)
	}
	if files := segmentFiles(t, dir); len(files) != 1 || filepath.Base(files[0]) != "00000000000000000000.log" {
		t.Fatalf("segment files %v", files)
	}
}

func TestRoundTripAcrossRolls(t *testing.T) {
	dir := t.TempDir()
	l := openTestLog(t, dir, Options{SegmentBytes: 1000})
	defer l.Close()
	want := appendMany(t, l, 60)
	if n := len(segmentFiles(t, dir)); n < 5 {
		t.Fatalf("only %d segments after 60 appends", n)
	}
	var size int64
	for _, b := range want {
		size += int64(len(b))
	}
	if l.Size() != size {
		t.Fatalf("Size %d, want %d", l.Size(), size)
	}
	sameBatches(t, readAll(t, l, 1<<20), want)
	sameBatches(t, readAll(t, l, 1), want)
	sameBatches(t, readAll(t, l, 700), want)
}

func TestLargeBatchIntoEmptySegment(t *testing.T) {
	dir := t.TempDir()
	l := openTestLog(t, dir, Options{SegmentBytes: 100})
	defer l.Close()
	want := [][]byte{testBatch(3, make([]byte, 200)), testBatch(1, make([]byte, 500)), testBatch(2, nil)}
	for _, b := range want {
		mustAppend(t, l, b)
	}
	if n := len(segmentFiles(t, dir)); n != 3 {
		t.Fatalf("%d segments, want one per batch", n)
	}
	sameBatches(t, readAll(t, l, 0), want)
}

func TestReadEveryOffset(t *testing.T) {
	// Many small batches per segment, so reads go through several index
	// entries and walks.
	l := openTestLog(t, t.TempDir(), Options{SegmentBytes: 64 << 10})
	defer l.Close()
	batches := appendMany(t, l, 2000)
	i := 0
	for off := int64(0); off < l.EndOffset(); off++ {
		h, _ := ParseBatchHeader(batches[i])
		if off > h.LastOffset() {
			i++
			h, _ = ParseBatchHeader(batches[i])
		}
		got, err := l.AppendRead(nil, off, 1)
		if err != nil {
			t.Fatalf("read %d: %v", off, err)
		}
		if !bytes.Equal(got, batches[i]) {
			t.Fatalf("read %d: got %d bytes, want batch %d at %d", off, len(got), i, h.BaseOffset)
		}
	}
}

func TestReadMiddleOfBatch(t *testing.T) {
	l := openTestLog(t, t.TempDir(), Options{})
	defer l.Close()
	mustAppend(t, l, testBatch(10, []byte("a")))
	b := testBatch(5, []byte("b"))
	if base := mustAppend(t, l, b); base != 10 {
		t.Fatalf("base %d", base)
	}
	mustAppend(t, l, testBatch(1, []byte("c")))
	for off := int64(10); off < 15; off++ {
		got, err := l.AppendRead(nil, off, 1)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("read %d: %d bytes, %v", off, len(got), err)
		}
	}
}

func TestMaxBytes(t *testing.T) {
	dir := t.TempDir()
	// Each batch below is 61+5*20 = 161 bytes; 3 fit in a segment.
	l := openTestLog(t, dir, Options{SegmentBytes: 500})
	defer l.Close()
	var bs [][]byte
	for range 7 {
		b := testBatch(5, make([]byte, 20))
		mustAppend(t, l, b)
		bs = append(bs, b)
	}
	sz := len(bs[0])
	for _, c := range []struct {
		offset   int64
		maxBytes int
		want     int // batches
	}{
		{0, 0, 1},           // first batch always whole
		{0, -5, 1},          // even with a silly limit
		{0, sz - 1, 1},      // limit inside the first batch
		{0, 2*sz - 1, 1},    // second batch would pass the limit
		{0, 2 * sz, 2},      // exactly two
		{2, 4*sz + 10, 4},   // spans a segment boundary
		{7, 100 * sz, 6},    // the rest of the log
		{30, 100 * sz, 1},   // last batch
		{12, 3*sz - 1, 2},   // starts mid-batch, crosses into the next segment
		{15, 1 << 30, 4},    // from the first batch of the second segment
		{34, 1 << 30, 1},    // last offset of the log
		{10, 3 * sz, 3},     // budget ends at a segment boundary
		{0, 7 * sz, 7},      // everything
		{0, 7*sz + 1000, 7}, // more than everything
	} {
		got, err := l.AppendRead(nil, c.offset, c.maxBytes)
		if err != nil {
			t.Fatalf("read %d max %d: %v", c.offset, c.maxBytes, err)
		}
		first := int(c.offset / 5)
		want := bytes.Join(bs[first:first+c.want], nil)
		if !bytes.Equal(got, want) {
			t.Errorf("read %d max %d: got %d bytes, want %d batches (%d bytes)", c.offset, c.maxBytes, len(got), c.want, len(want))
		}
	}
}

func TestAppendReadKeepsDst(t *testing.T) {
	l := openTestLog(t, t.TempDir(), Options{})
	defer l.Close()
	b := testBatch(2, []byte("xy"))
	mustAppend(t, l, b)
	got, err := l.AppendRead([]byte("prefix"), 1, 1000)
	if err != nil || !bytes.Equal(got, append([]byte("prefix"), b...)) {
		t.Fatalf("got %q, %v", got, err)
	}
	got, err = l.AppendRead([]byte("prefix"), 3, 1000)
	if !errors.Is(err, ErrOffsetOutOfRange) || string(got) != "prefix" {
		t.Fatalf("past end: got %q, %v", got, err)
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	l := openTestLog(t, dir, Options{SegmentBytes: 800})
	want := appendMany(t, l, 40)
	end, size := l.EndOffset(), l.Size()
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := l.Append(testBatch(1, nil)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if _, err := l.AppendRead(nil, 0, 100); !errors.Is(err, ErrClosed) {
		t.Fatalf("AppendRead after Close: %v", err)
	}
	if err := l.Scan(0, func(BatchHeader) bool { return true }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Scan after Close: %v", err)
	}
	if err := l.Sync(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sync after Close: %v", err)
	}

	logger, logs := testLogger()
	l = openTestLog(t, dir, Options{SegmentBytes: 800, Logger: logger})
	defer l.Close()
	if l.EndOffset() != end || l.Size() != size || l.StartOffset() != 0 {
		t.Fatalf("reopened: end %d size %d, want %d %d", l.EndOffset(), l.Size(), end, size)
	}
	if logs.String() != "" {
		t.Fatalf("clean reopen logged: %s", logs)
	}
	sameBatches(t, readAll(t, l, 1000), want)
	more := appendMany(t, l, 10)
	if got := readAll(t, l, 1<<20); len(got) != 50 || !bytes.Equal(got[49], more[9]) {
		t.Fatalf("after reopen and append: %d batches", len(got))
	}
}

func TestOnRecoveredBatch(t *testing.T) {
	dir := t.TempDir()
	l := openTestLog(t, dir, Options{SegmentBytes: 400})
	var want []BatchHeader
	for i := range 20 {
		b := buildBatch(batchSpec{records: 1 + i%3, payload: []byte("record"), producerID: int64(i % 4), producerEpoch: 1, baseSequence: int32(i)})
		mustAppend(t, l, b)
		h, _ := ParseBatchHeader(b)
		want = append(want, h)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	var got []BatchHeader
	l = openTestLog(t, dir, Options{SegmentBytes: 400, OnRecoveredBatch: func(h BatchHeader) { got = append(got, h) }})
	defer l.Close()
	if len(got) != len(want) {
		t.Fatalf("recovered %d batches, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("batch %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestScan(t *testing.T) {
	l := openTestLog(t, t.TempDir(), Options{SegmentBytes: 700})
	defer l.Close()
	batches := appendMany(t, l, 30)
	var heads []BatchHeader
	for _, b := range batches {
		h, _ := ParseBatchHeader(b)
		heads = append(heads, h)
	}
	for _, from := range []int64{-5, 0, 1, 7, 33, 50, heads[29].LastOffset(), l.EndOffset(), l.EndOffset() + 10} {
		var got []BatchHeader
		if err := l.Scan(from, func(h BatchHeader) bool { got = append(got, h); return true }); err != nil {
			t.Fatal(err)
		}
		var want []BatchHeader
		for _, h := range heads {
			if h.LastOffset() >= from {
				want = append(want, h)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("Scan(%d): got %d headers, want %d", from, len(got), len(want))
		}
	}
	n := 0
	if err := l.Scan(0, func(BatchHeader) bool { n++; return n < 3 }); err != nil || n != 3 {
		t.Fatalf("early stop: %d calls, %v", n, err)
	}
}

func TestAppendRejectsMalformed(t *testing.T) {
	l := openTestLog(t, t.TempDir(), Options{})
	defer l.Close()
	good := testBatch(2, []byte("ok"))
	bad := [][]byte{
		nil,
		good[:30],
		good[:len(good)-1],
		append(bytes.Clone(good), 1),
	}
	m := bytes.Clone(good)
	m[posMagic] = 1
	bad = append(bad, m)
	for i, b := range bad {
		if _, err := l.Append(b); err == nil {
			t.Errorf("malformed batch %d accepted", i)
		}
	}
	if l.EndOffset() != 0 || l.Size() != 0 {
		t.Fatalf("end %d size %d after rejected appends", l.EndOffset(), l.Size())
	}
}

func TestRemove(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p")
	l := openTestLog(t, dir, Options{SegmentBytes: 300})
	appendMany(t, l, 10)
	if err := l.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("dir still there: %v", err)
	}
	if _, err := l.Append(testBatch(1, nil)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Remove: %v", err)
	}

	// Remove after Close still deletes.
	l = openTestLog(t, dir, Options{})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("dir still there after Close+Remove: %v", err)
	}
}

func TestSyncAfterRolls(t *testing.T) {
	l := openTestLog(t, t.TempDir(), Options{SegmentBytes: 300})
	defer l.Close()
	appendMany(t, l, 10)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	for _, s := range *l.segs.Load() {
		if s.syncedSize != s.size.Load() {
			t.Fatalf("segment %d synced %d of %d bytes", s.base, s.syncedSize, s.size.Load())
		}
	}
	if l.dirDirty {
		t.Fatal("directory not synced")
	}
}

func TestBadOptions(t *testing.T) {
	for _, n := range []int64{-1, MaxSegmentBytes + 1} {
		if _, err := Open(t.TempDir(), Options{SegmentBytes: n}); err == nil {
			t.Errorf("SegmentBytes %d accepted", n)
		}
	}
}
