package segments

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/runnel-dev/runnel/segments/compact"
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

// fuzzLog is the fixed first segment FuzzRecover puts before the fuzzed
// one: 4 batches, offsets 0-9, timestamps going up and down.
func fuzzLog() []byte {
	var log []byte
	base := int64(0)
	for i, ts := range []int64{500, 300, 900, 700} {
		b := buildBatch(batchSpec{records: 1 + i, payload: []byte("record"), producerID: -1, producerEpoch: -1,
			baseSequence: -1, baseTimestamp: ts, maxTimestamp: ts, setMax: true})
		binary.BigEndian.PutUint64(b, uint64(base))
		base += int64(1 + i)
		log = append(log, b...)
	}
	return log
}

// realTimeindex is the .timeindex of fuzzLog's segment.
var realTimeindex []byte

// fuzzOpts are the options FuzzRecover opens logs with: small index
// intervals, so the fixed segment's index has several entries.
var fuzzOpts = Options{IndexIntervalBytes: 50, Logger: slog.New(slog.DiscardHandler)}

// FuzzRecover opens a log of two segments: the fixed fuzzLog, whose index
// files are the fuzzed index and timeindex (nil: missing), then data (with
// its CRCs fixed if fix) followed by zeros bytes of preallocated space.
// mode 0 checks everything, mode 1 trusts the first segment (the
// recovery point is past it), mode 2 trusts both (a clean shutdown).
// Whatever the bytes, opening must not fail or panic; what is read must
// be whole batches; unless the data was trusted, valid ones (possibly
// empty, as compaction leaves them) with offsets that never go backwards
// (gaps are allowed: compaction leaves them), the first segment's
// intact, and the second's a prefix of data.
func FuzzRecover(f *testing.F) {
	good := fuzzLog()
	var more []byte
	for i := range 3 {
		b := testBatch(1+i, []byte("more"))
		binary.BigEndian.PutUint64(b, uint64(10+i*(i+1)/2))
		more = append(more, b...)
	}
	// What compaction leaves: a gap at the segment's start, an empty
	// batch, a gap between batches.
	var compacted []byte
	{
		empty := keyed(700, "a=1", "b=1")
		binary.BigEndian.PutUint64(empty, 12)
		m := compact.NewOffsetMap(2)
		m.Add([]byte("a"), 99)
		m.Add([]byte("b"), 99)
		empty, _, _, _ = (&compact.Policy{Map: m}).FilterBatch(nil, empty, true)
		last := keyed(800, "c=1")
		binary.BigEndian.PutUint64(last, 20)
		compacted = append(empty, last...)
	}
	// Real index files for the first segment, as seeds.
	var index []byte
	{
		dir := f.TempDir()
		l, err := Open(dir, fuzzOpts)
		if err != nil {
			f.Fatal(err)
		}
		_ = SplitBatches(bytes.Clone(good), func(b []byte) bool {
			if _, err := l.Append(b); err != nil {
				f.Fatal(err)
			}
			return true
		})
		if err := l.Close(); err != nil {
			f.Fatal(err)
		}
		if index, err = os.ReadFile(filepath.Join(dir, "00000000000000000000.index")); err != nil {
			f.Fatal(err)
		}
		if realTimeindex, err = os.ReadFile(filepath.Join(dir, "00000000000000000000.timeindex")); err != nil {
			f.Fatal(err)
		}
	}
	timeindex := realTimeindex
	for mode := range uint8(3) {
		f.Add(more, false, uint16(0), index, timeindex, mode)
		f.Add(more[:len(more)-5], false, uint16(100), index, timeindex, mode)
		f.Add(append(bytes.Clone(more), 1), false, uint16(4000), index, timeindex, mode)
		f.Add(more, false, uint16(0), []byte(nil), []byte(nil), mode)
		f.Add(more, false, uint16(0), index[:len(index)-3], timeindex[:12], mode)
		f.Add(bytes.Repeat([]byte{0xff}, 100), true, uint16(7), bytes.Repeat([]byte{1}, 24), timeindex, mode)
		f.Add([]byte{}, false, uint16(4096), index, bytes.Repeat([]byte{0}, 36), mode)
		f.Add(append(bytes.Clone(more), more...), true, uint16(0), index, timeindex, mode)
		// The last time entry names offset 2, inside a batch.
		f.Add(more, false, uint16(0), index, []byte("RNTI\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x84\x00\x00\x00\x02"), mode)
		f.Add(compacted, false, uint16(0), index, timeindex, mode)
	}
	f.Fuzz(func(t *testing.T, data []byte, fix bool, zeros uint16, index, timeindex []byte, mode uint8) {
		mode %= 3
		if fix {
			fixCRCs(data)
		}
		root := fuzzDir(t)
		dir := filepath.Join(root, "p-0")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		write := func(name string, b []byte) {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write(segmentName(0), good)
		if index != nil {
			write("00000000000000000000.index", index)
		}
		if timeindex != nil {
			write("00000000000000000000.timeindex", timeindex)
		}
		second := append(bytes.Clone(data), make([]byte, zeros)...)
		write(segmentName(10), second)
		if mode == 2 {
			// A clean shutdown trusts the second segment's index files too.
			if index != nil {
				write("00000000000000000010.index", index)
			}
			if timeindex != nil {
				write("00000000000000000010.timeindex", timeindex)
			}
		}
		rp := map[uint8]string{0: "p-0 0 dirty", 1: "p-0 10 dirty", 2: "p-0 10 clean"}[mode]
		if err := os.WriteFile(filepath.Join(root, recoveryPointFile), []byte("1\n1\n"+rp+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}

		d, err := OpenDir(root, nil, fuzzOpts.Logger)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		l, err := d.OpenLog("p-0", fuzzOpts)
		if err != nil {
			t.Fatalf("OpenLog: %v", err)
		}
		if mode == 2 {
			// Trusted bytes are not checked: only ask for whole batches
			// and no panic.
			got, err := l.AppendRead(nil, 0, 1<<20)
			if err == nil && wholeBatches(got) != len(got) {
				t.Fatal("read returned a partial batch")
			}
			_, _, _ = l.FindTimestamp(600)
			l.MaxTimestamp()
			return
		}
		if l.StartOffset() != 0 || l.EndOffset() < 10 || l.Size() > int64(len(good)+len(second)) {
			t.Fatalf("start %d end %d size %d", l.StartOffset(), l.EndOffset(), l.Size())
		}
		all := readAllStored(t, l, 1<<20)
		readAllStored(t, l, 0)
		got := bytes.Join(all, nil)
		if !bytes.HasPrefix(got, good) || !bytes.HasPrefix(data, got[len(good):]) {
			t.Fatal("kept bytes differ from the files")
		}
		// Every offset of the trusted segment, through its index.
		for off := int64(0); off < 10; off++ {
			b, err := l.AppendRead(nil, off, 1)
			if err != nil {
				t.Fatal(err)
			}
			h, err := ValidateBatch(b)
			if err != nil || h.BaseOffset > off || h.LastOffset() < off {
				t.Fatalf("read %d: %+v, %v", off, h, err)
			}
		}
		// Time lookups agree with a walk, unless a trusted time index was
		// made up: its last entry (the segment's largest timestamp) is
		// believed, as Kafka believes it.
		exact := mode == 0 || bytes.Equal(timeindex, realTimeindex)
		var heads []BatchHeader
		if err := l.Scan(0, func(h BatchHeader) bool { heads = append(heads, h); return true }); err != nil {
			t.Fatal(err)
		}
		for _, ts := range []int64{0, 300, 600, 800, 900, 1000} {
			h, ok, err := l.FindTimestamp(ts)
			if err != nil {
				t.Fatal(err)
			}
			var want *BatchHeader
			for i := range heads {
				if heads[i].MaxTimestamp >= ts && heads[i].RecordCount > 0 {
					want = &heads[i]
					break
				}
			}
			if ok && h.MaxTimestamp < ts || exact && (ok != (want != nil) || ok && h != *want) {
				t.Fatalf("FindTimestamp(%d) = %+v %v, want %+v", ts, h, ok, want)
			}
		}
		end := l.EndOffset()
		if base, err := l.Append(testBatch(2, []byte("new"))); err != nil || base != end {
			t.Fatalf("append after recovery: base %d (end %d), %v", base, end, err)
		}
		want := mustRead(t, l)
		// A clean close and reopen trusts what recovery made.
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if l, err = d.OpenLog("p-0", fuzzOpts); err != nil {
			t.Fatal(err)
		}
		if l.EndOffset() != end+2 || !bytes.Equal(mustRead(t, l), want) {
			t.Fatal("reopened log differs")
		}
		var maxH BatchHeader
		for _, h := range heads {
			if h.MaxTimestamp > maxH.MaxTimestamp {
				maxH = h
			}
		}
		if h, ok := l.MaxTimestamp(); exact && (!ok || h != maxH) {
			t.Fatalf("MaxTimestamp after reopen: %+v %v, want %+v; heads %+v", h, ok, maxH, heads)
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
