package segments

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// crashSetup writes n batches with small segments, closes the log, and
// returns the dir, the stored batches and the path of the last segment.
func crashSetup(t *testing.T, n int) (dir string, batches [][]byte, last string) {
	t.Helper()
	dir = t.TempDir()
	l := openTestLog(t, dir, Options{SegmentBytes: 600})
	batches = appendMany(t, l, n)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files := segmentFiles(t, dir)
	if len(files) < 3 {
		t.Fatalf("want several segments, got %d", len(files))
	}
	return dir, batches, files[len(files)-1]
}

// reopenAfterCrash opens dir, checks that exactly the first keep batches
// survive, that one warning was logged mentioning wantInLog, and that
// appends continue at the right offset.
func reopenAfterCrash(t *testing.T, dir string, batches [][]byte, keep int, wantInLog ...string) {
	t.Helper()
	logger, logs := testLogger()
	var recovered int
	l := openTestLog(t, dir, Options{SegmentBytes: 600, Logger: logger, OnRecoveredBatch: func(BatchHeader) { recovered++ }})
	defer l.Close()
	sameBatches(t, readAll(t, l, 1<<20), batches[:keep])
	var want, onDisk int64
	for _, b := range batches[:keep] {
		want += int64(len(b))
	}
	for _, f := range segmentFiles(t, dir) {
		onDisk += fileSize(t, f)
	}
	if l.Size() != want || onDisk != want {
		t.Fatalf("Size %d, files hold %d bytes, want %d", l.Size(), onDisk, want)
	}
	if recovered != keep {
		t.Fatalf("OnRecoveredBatch called %d times, want %d", recovered, keep)
	}
	out := logs.String()
	if n := strings.Count(out, "level=WARN"); n != 1 {
		t.Fatalf("want one warning, got:\n%s", out)
	}
	for _, s := range wantInLog {
		if !strings.Contains(out, s) {
			t.Fatalf("warning lacks %q:\n%s", s, out)
		}
	}
	h, _ := ParseBatchHeader(batches[keep-1])
	b := testBatch(2, []byte("after"))
	if base := mustAppend(t, l, b); base != h.NextOffset() {
		t.Fatalf("append after recovery at %d, want %d", base, h.NextOffset())
	}
	got := readAll(t, l, 1<<20)
	if len(got) != keep+1 || !bytes.Equal(got[keep], b) {
		t.Fatalf("after append: %d batches", len(got))
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestRecoverTornBatch(t *testing.T) {
	dir, batches, last := crashSetup(t, 30)
	lastLen := int64(len(batches[len(batches)-1]))
	size := fileSize(t, last)
	if err := os.Truncate(last, size-lastLen/2); err != nil {
		t.Fatal(err)
	}
	h, _ := ParseBatchHeader(batches[len(batches)-1])
	reopenAfterCrash(t, dir, batches, len(batches)-1,
		"file="+last, "offset="+itoa(h.BaseOffset), "bytes="+itoa(lastLen-lastLen/2))
}

func TestRecoverTornHeader(t *testing.T) {
	dir, batches, last := crashSetup(t, 30)
	lastLen := int64(len(batches[len(batches)-1]))
	if err := os.Truncate(last, fileSize(t, last)-lastLen+20); err != nil {
		t.Fatal(err)
	}
	reopenAfterCrash(t, dir, batches, len(batches)-1, "bytes=20")
}

func TestRecoverFlippedByte(t *testing.T) {
	dir, batches, last := crashSetup(t, 30)
	data, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-3] ^= 0x40 // inside the last batch's records
	if err := os.WriteFile(last, data, 0o644); err != nil {
		t.Fatal(err)
	}
	reopenAfterCrash(t, dir, batches, len(batches)-1, "CRC mismatch")
}

func TestRecoverGarbageTail(t *testing.T) {
	dir, batches, last := crashSetup(t, 30)
	f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	garbage := bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 50)
	if _, err := f.Write(garbage); err != nil {
		t.Fatal(err)
	}
	f.Close()
	reopenAfterCrash(t, dir, batches, len(batches), "bytes=200")
}

func TestRecoverZeroTail(t *testing.T) {
	// Preallocated space reads back as zeros: it is not a batch, and
	// trimming it is not worth a warning.
	dir, batches, last := crashSetup(t, 30)
	if err := os.Truncate(last, fileSize(t, last)+4096); err != nil {
		t.Fatal(err)
	}
	logger, logs := testLogger()
	l := openTestLog(t, dir, Options{SegmentBytes: 600, Logger: logger})
	defer l.Close()
	sameBatches(t, readAll(t, l, 1<<20), batches)
	if logs.String() != "" {
		t.Fatalf("zero tail logged: %s", logs)
	}
	var size int64
	for _, f := range segmentFiles(t, dir) {
		size += fileSize(t, f)
	}
	if size != l.Size() {
		t.Fatalf("files hold %d bytes, log %d", size, l.Size())
	}
}

func TestRecoverZerosThenGarbage(t *testing.T) {
	// A zero length followed by data is not preallocation: a torn write.
	dir, batches, last := crashSetup(t, 30)
	f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	tail := make([]byte, 300)
	tail[250] = 1
	if _, err := f.Write(tail); err != nil {
		t.Fatal(err)
	}
	f.Close()
	reopenAfterCrash(t, dir, batches, len(batches), "bytes=300")
}

func TestRecoverDropsLaterSegments(t *testing.T) {
	dir, batches, _ := crashSetup(t, 30)
	files := segmentFiles(t, dir)
	// Corrupt the first batch of the second segment: the rest of the log
	// after it goes.
	second := files[1]
	data, err := os.ReadFile(second)
	if err != nil {
		t.Fatal(err)
	}
	data[BatchHeaderSize+1] ^= 1
	if err := os.WriteFile(second, data, 0o644); err != nil {
		t.Fatal(err)
	}
	base, _ := parseSegmentName(filepath.Base(second))
	keep := 0
	for _, b := range batches {
		if h, _ := ParseBatchHeader(b); h.BaseOffset < base {
			keep++
		}
	}
	reopenAfterCrash(t, dir, batches, keep, "file="+second, "offset="+itoa(base),
		"removed_segments="+itoa(int64(len(files)-2)))
	if n := len(segmentFiles(t, dir)); n < 2 {
		t.Fatalf("%d segments left", n)
	}
}

func TestRecoverSegmentOverlap(t *testing.T) {
	dir, batches, _ := crashSetup(t, 30)
	files := segmentFiles(t, dir)
	// Rename the third segment so that its name is below the end of the
	// second: a gap would be fine (compaction leaves them), an overlap is
	// not.
	base, _ := parseSegmentName(filepath.Base(files[2]))
	moved := filepath.Join(dir, segmentName(base-1))
	if err := os.Rename(files[2], moved); err != nil {
		t.Fatal(err)
	}
	keep := 0
	for _, b := range batches {
		if h, _ := ParseBatchHeader(b); h.BaseOffset < base {
			keep++
		}
	}
	reopenAfterCrash(t, dir, batches, keep, "file="+moved, "go backwards",
		"removed_segments="+itoa(int64(len(files)-2)))
	if _, err := os.Stat(moved); !os.IsNotExist(err) {
		t.Fatalf("out-of-order segment kept: %v", err)
	}
}

func TestRecoverBatchOffsetMismatch(t *testing.T) {
	// A valid batch (CRC does not cover baseOffset) whose offset goes
	// backwards. (One that jumps forwards is a gap, which compaction
	// leaves and recovery accepts.)
	dir, batches, last := crashSetup(t, 30)
	data, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	lastLen := len(batches[len(batches)-1])
	low := &data[len(data)-lastLen+7] // low byte of the last batch's baseOffset
	if *low == 0 {
		t.Fatal("pick another batch")
	}
	*low--
	if err := os.WriteFile(last, data, 0o644); err != nil {
		t.Fatal(err)
	}
	reopenAfterCrash(t, dir, batches, len(batches)-1, "go backwards")
}

func TestRecoverIgnoresOtherFiles(t *testing.T) {
	dir, batches, _ := crashSetup(t, 10)
	for _, name := range []string{"00000000000000000000.index", "x.log", "0000000000000000000a.log", "leader-epoch-checkpoint"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logger, logs := testLogger()
	l := openTestLog(t, dir, Options{Logger: logger})
	defer l.Close()
	sameBatches(t, readAll(t, l, 1<<20), batches)
	if logs.String() != "" {
		t.Fatalf("logged: %s", logs)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
