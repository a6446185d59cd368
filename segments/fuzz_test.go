package segments

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// fixCRCs recomputes the CRC of every batch SplitBatches finds in b, so
// the fuzzer can explore what lies behind the checksum.
func fixCRCs(b []byte) {
	_ = SplitBatches(b, func(batch []byte) bool {
		if len(batch) >= BatchHeaderSize {
			binary.BigEndian.PutUint32(batch[posCRC:], crc32c(batch[posAttributes:]))
		}
		return true
	})
}

func FuzzValidateBatch(f *testing.F) {
	good := testBatch(3, []byte("hello"))
	f.Add(good)
	f.Add(good[:BatchHeaderSize])
	f.Add(good[:len(good)-1])
	f.Add(append(bytes.Clone(good), good...))
	f.Add(buildBatch(batchSpec{records: 1, producerID: 5, baseSequence: 1 << 30, attributes: 0x17}))
	f.Add([]byte{})
	f.Add(make([]byte, BatchHeaderSize))
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(b []byte) {
			h, err := ValidateBatch(b)
			if err != nil {
				return
			}
			if h.Size() != len(b) || h.Magic != 2 || crc32c(b[posAttributes:]) != h.CRC ||
				h.RecordCount < 1 || h.LastOffsetDelta < 0 {
				t.Fatalf("accepted batch breaks invariants: %+v (len %d)", h, len(b))
			}
		}
		check(data)
		if len(data) >= BatchHeaderSize {
			fixed := bytes.Clone(data)
			binary.BigEndian.PutUint32(fixed[posCRC:], crc32c(fixed[posAttributes:]))
			check(fixed)
		}
		total := 0
		_ = SplitBatches(data, func(b []byte) bool {
			if len(b) < BatchHeaderSize || cap(b) != len(b) {
				t.Fatalf("split gave a %d-byte batch (cap %d)", len(b), cap(b))
			}
			total += len(b)
			return true
		})
		if total > len(data) {
			t.Fatalf("split gave %d bytes of %d", total, len(data))
		}
	})
}

func FuzzRecover(f *testing.F) {
	var log []byte
	for i := range 4 {
		b := testBatch(1+i, []byte("record"))
		binary.BigEndian.PutUint64(b, uint64(i*(i+1)/2))
		log = append(log, b...)
	}
	f.Add(log, false)
	f.Add(log[:len(log)-5], false)
	f.Add(append(bytes.Clone(log), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), false)
	f.Add(append(bytes.Clone(log), log...), true) // offsets restart: not contiguous
	f.Add([]byte{}, false)
	f.Add(bytes.Repeat([]byte{0xff}, 100), true)
	f.Fuzz(func(t *testing.T, data []byte, fix bool) {
		if fix {
			fixCRCs(data)
		}
		dir := fuzzDir(t)
		if err := os.WriteFile(filepath.Join(dir, segmentName(0)), data, 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := Open(dir, Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer l.Close()
		if l.StartOffset() != 0 || l.Size() > int64(len(data)) {
			t.Fatalf("start %d size %d of %d bytes", l.StartOffset(), l.Size(), len(data))
		}
		if l.Size() > 0 && !bytes.Equal(data[:l.Size()], mustRead(t, l)) {
			t.Fatal("kept bytes differ from the file's prefix")
		}
		readAll(t, l, 1<<20)
		readAll(t, l, 0)
		n := 0
		if err := l.Scan(0, func(BatchHeader) bool { n++; return true }); err != nil {
			t.Fatal(err)
		}
		end := l.EndOffset()
		if base, err := l.Append(testBatch(2, []byte("new"))); err != nil || base != end {
			t.Fatalf("append after recovery: base %d (end %d), %v", base, end, err)
		}
	})
}

// mustRead returns the whole log as AppendRead gives it.
func mustRead(t *testing.T, l *Log) []byte {
	t.Helper()
	b, err := l.AppendRead(nil, l.StartOffset(), int(l.Size()))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fuzzDir returns a fresh directory, on tmpfs when there is one: every
// execution of FuzzRecover syncs files, which on a real disk would bring
// fuzzing down to a few runs a second.
func fuzzDir(t *testing.T) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "segments-fuzz-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}
