package segments

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Index files, format version 1. Each segment has two, named like its .log:
//
//	.index      relative offset -> position: 8-byte entries,
//	            relOffset int32 | position uint32
//	.timeindex  timestamp -> relative offset: 12-byte entries,
//	            maxTimestamp int64 | relOffset int32
//
// Integers are big-endian; relOffset is a batch's base offset minus the
// segment's. The file is an array of entry-sized slots, and slot 0 is a
// header: a 4-byte magic, the version byte, zeros. Slots never straddle a
// 4 KiB boundary: a page holds floor(4096/size) of them and the rest is
// padding (the last 4 bytes of every .timeindex page), so a torn page
// write can lose whole entries but never splice halves of two.
//
// A .index entry is added for the segment's first batch and then for the
// first batch that starts IndexIntervalBytes or more after the previous
// entry. A .timeindex entry (maxTimestamp so far, the batch that set it)
// is added when that maximum has grown since the last entry and either the
// index is empty or IndexIntervalBytes were written since; sealing a
// segment adds a last entry for its final maximum, so the last entry of a
// sealed segment's .timeindex is its largest timestamp. Batches without a
// timestamp (-1) are not indexed by time.
//
// While its segment is active, an index file is sized to its capacity up
// front (sparse, as Kafka does) and mapped; the pages entries go into are
// fallocated before the append that needs them, so a full disk fails the
// append rather than raising SIGBUS on a store to the mapping. Roll and
// Close trim the file to its last entry; sealed indexes are mapped
// read-only when first used. The mapping is dropped when the segment's
// last reference goes.

const indexFormatVersion = 1

// indexKind describes one of the two index file formats.
type indexKind struct {
	suffix    string
	entrySize int
	magic     [4]byte
}

var (
	offsetIndexKind = &indexKind{suffix: ".index", entrySize: 8, magic: [4]byte{'R', 'N', 'O', 'I'}}
	timeIndexKind   = &indexKind{suffix: ".timeindex", entrySize: 12, magic: [4]byte{'R', 'N', 'T', 'I'}}
)

// errIndexCorrupt: an index file is missing, or does not hold a valid
// index for its segment. Such an index is rebuilt from the .log.
var errIndexCorrupt = errors.New("segments: index file invalid")

func (k *indexKind) perPage() int { return pageSize / k.entrySize }

// slotPos is the file position of slot i (slot 0 is the header).
func (k *indexKind) slotPos(i int) int64 {
	pp := k.perPage()
	return int64(i/pp)*pageSize + int64(i%pp*k.entrySize)
}

// sizeFor is the size of a file holding n slots.
func (k *indexKind) sizeFor(n int) int64 {
	if n == 0 {
		return 0
	}
	return k.slotPos(n-1) + int64(k.entrySize)
}

// slotsFor is the number of slots in a file of size bytes, and whether
// that size is one a trimmed file of this kind can have.
func (k *indexKind) slotsFor(size int64) (int, bool) {
	if size < 0 || size > 1<<40 {
		return 0, false
	}
	n := int(size/pageSize)*k.perPage() + int(size%pageSize)/k.entrySize
	return n, k.sizeFor(n) == size
}

// capSlots is how many slots an active segment's index may need: the
// header, the first batch, one entry per interval, and the final time
// entry; at most maxIndexBytes worth.
func (k *indexKind) capSlots(segmentBytes int64, interval int) int {
	need := 3 + segmentBytes/int64(max(interval, 1))
	limit := int64(maxIndexBytes / pageSize * k.perPage())
	return int(max(min(need, limit), 4))
}

func (k *indexKind) header() []byte {
	h := make([]byte, k.entrySize)
	copy(h, k.magic[:])
	h[len(k.magic)] = indexFormatVersion
	return h
}

func (k *indexKind) checkHeader(b []byte) error {
	if len(b) < k.entrySize || [4]byte(b[:4]) != k.magic || b[4] != indexFormatVersion {
		return fmt.Errorf("%w: bad header", errIndexCorrupt)
	}
	for _, c := range b[5:k.entrySize] {
		if c != 0 {
			return fmt.Errorf("%w: bad header", errIndexCorrupt)
		}
	}
	return nil
}

// indexFile is one loaded index file.
type indexFile struct {
	kind *indexKind
	fs   FS
	path string
	// buf holds the file from position 0: a shared mapping, or a heap
	// copy when the FS gives no descriptor to map. An active index's buf
	// spans its capacity; a sealed one's may extend past the trimmed end
	// of the file, and nothing there is touched.
	buf    []byte
	mapped bool
	// f is kept open for a heap copy that can still grow: entries are
	// also written through it.
	f File
	// n is the number of entries (slots after the header). The appender
	// writes an entry, then stores n; readers load n, then read entries.
	n        atomic.Int32
	capSlots int

	// Appender state (Log.mu, or single-threaded recovery).
	writable bool
	allocEnd int64 // file bytes known to be allocated
	writeErr error // a failed write through f; the copy is rewritten at seal
}

// createIndexFile creates (or empties) an index file holding only its
// header.
func createIndexFile(fs FS, k *indexKind, path string) error {
	f, err := fs.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return err
	}
	_, werr := f.WriteAt(k.header(), 0)
	return errors.Join(werr, f.Close())
}

// openIndexFile loads an existing index file: writable maps it at
// capSlots for appends, otherwise it is mapped read-only at its size. A
// missing or malformed file is errIndexCorrupt; entries are not checked
// here (see checkOffsets, checkTimes).
func openIndexFile(fs FS, k *indexKind, path string, writable bool, capSlots int) (*indexFile, error) {
	flag := os.O_RDONLY
	if writable {
		flag = os.O_RDWR
	}
	f, err := fs.OpenFile(path, flag, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s missing", errIndexCorrupt, path)
	}
	if err != nil {
		return nil, err
	}
	keep := false
	defer func() {
		if !keep {
			_ = f.Close()
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	slots, ok := k.slotsFor(size)
	if !ok || slots < 1 {
		return nil, fmt.Errorf("%w: %s: size %d is not a whole number of entries", errIndexCorrupt, path, size)
	}
	x := &indexFile{kind: k, fs: fs, path: path, writable: writable, capSlots: slots}
	length := size
	if writable {
		x.capSlots = max(capSlots, slots+2)
		length = k.sizeFor(x.capSlots)
	}
	if osf := osFileOf(f); osf != nil {
		prot := unix.PROT_READ
		if writable {
			// Reserve the capacity: sparse, allocated page by page in
			// reserve.
			if err := f.Truncate(length); err != nil {
				return nil, err
			}
			prot |= unix.PROT_WRITE
		}
		buf, err := unix.Mmap(int(osf.Fd()), 0, int(length), prot, unix.MAP_SHARED)
		if err != nil {
			return nil, fmt.Errorf("mmap %s: %w", path, err)
		}
		x.buf, x.mapped = buf, true
		x.allocEnd = alignUp(size, pageSize)
	} else {
		x.buf = make([]byte, length)
		if _, err := f.ReadAt(x.buf[:size], 0); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if writable {
			x.f, keep = f, true
		}
		x.allocEnd = length
	}
	if err := k.checkHeader(x.buf); err != nil {
		_ = x.close()
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	x.n.Store(int32(slots - 1))
	return x, nil
}

// readIndexTail reads the last entry of the index file at path into e
// without loading the file, and returns the number of entries (0 leaves e
// alone). A missing or malformed file is errIndexCorrupt.
func readIndexTail(fs FS, k *indexKind, path string, e []byte) (int, error) {
	f, err := fs.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("%w: %s missing", errIndexCorrupt, path)
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	slots, ok := k.slotsFor(fi.Size())
	if !ok || slots < 1 {
		return 0, fmt.Errorf("%w: %s: size %d is not a whole number of entries", errIndexCorrupt, path, fi.Size())
	}
	h := make([]byte, k.entrySize)
	if _, err := f.ReadAt(h, 0); err != nil {
		return 0, err
	}
	if err := k.checkHeader(h); err != nil {
		return 0, fmt.Errorf("%w (%s)", err, path)
	}
	if slots == 1 {
		return 0, nil
	}
	if _, err := f.ReadAt(e[:k.entrySize], k.slotPos(slots-1)); err != nil {
		return 0, err
	}
	return slots - 1, nil
}

// entry returns the bytes of entry i.
func (x *indexFile) entry(i int) []byte {
	p := x.kind.slotPos(i + 1)
	return x.buf[p : p+int64(x.kind.entrySize)]
}

// offsetEntry decodes entry i of an offset index.
func (x *indexFile) offsetEntry(i int) (rel, pos int64) {
	return decodeOffsetEntry(x.entry(i))
}

func decodeOffsetEntry(b []byte) (rel, pos int64) {
	return int64(int32(binary.BigEndian.Uint32(b))), int64(binary.BigEndian.Uint32(b[4:]))
}

// timeEntry decodes entry i of a time index.
func (x *indexFile) timeEntry(i int) (ts, rel int64) {
	return decodeTimeEntry(x.entry(i))
}

func decodeTimeEntry(b []byte) (ts, rel int64) {
	return int64(binary.BigEndian.Uint64(b)), int64(int32(binary.BigEndian.Uint32(b[8:])))
}

// lookupOffset returns the last entry whose relative offset is <= rel.
func (x *indexFile) lookupOffset(rel int64) (erel, pos int64, ok bool) {
	return x.lastOffsetEntry(func(r, _ int64) bool { return r <= rel })
}

// lookupPosition returns the last entry whose position is <= p.
func (x *indexFile) lookupPosition(p int64) (erel, pos int64, ok bool) {
	return x.lastOffsetEntry(func(_, q int64) bool { return q <= p })
}

// lastOffsetEntry binary-searches the offset index for the last entry
// satisfying atOrBefore, which must hold for a prefix of the entries
// (offsets and positions both only grow).
func (x *indexFile) lastOffsetEntry(atOrBefore func(rel, pos int64) bool) (erel, pos int64, ok bool) {
	lo, hi := 0, int(x.n.Load())
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if atOrBefore(x.offsetEntry(m)) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return 0, 0, false
	}
	erel, pos = x.offsetEntry(lo - 1)
	return erel, pos, true
}

// lookupTime returns the relative offset of the last entry whose
// timestamp is < ts: every batch up to and including that one has a max
// timestamp below ts.
func (x *indexFile) lookupTime(ts int64) (rel int64, ok bool) {
	lo, hi := 0, int(x.n.Load())
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t, _ := x.timeEntry(m); t < ts {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return 0, false
	}
	_, rel = x.timeEntry(lo - 1)
	return rel, true
}

// checkOffsets checks that the entries increase, start with the first
// batch, and lie inside a segment of size bytes whose relative offsets are
// below relEnd.
func (x *indexFile) checkOffsets(relEnd, size int64) error {
	// The first batch is always indexed. It starts at the segment's base
	// offset unless compaction removed the batches there.
	if size > 0 {
		if x.n.Load() == 0 {
			return fmt.Errorf("%w: %s: no entries for a segment of %d bytes", errIndexCorrupt, x.path, size)
		}
		if rel, pos := x.offsetEntry(0); rel < 0 || pos != 0 {
			return fmt.Errorf("%w: %s: first entry is not the first batch", errIndexCorrupt, x.path)
		}
	}
	prevRel, prevPos := int64(-1), int64(-1)
	for i := range int(x.n.Load()) {
		rel, pos := x.offsetEntry(i)
		if rel <= prevRel || pos <= prevPos || rel >= relEnd || pos >= size {
			return fmt.Errorf("%w: %s: entry %d (offset +%d at %d) out of order or range", errIndexCorrupt, x.path, i, rel, pos)
		}
		prevRel, prevPos = rel, pos
	}
	return nil
}

// checkTimes checks that timestamps increase, offsets do not decrease, and
// offsets are below relEnd.
func (x *indexFile) checkTimes(relEnd int64) error {
	prevTs, prevRel := int64(-1), int64(0)
	for i := range int(x.n.Load()) {
		ts, rel := x.timeEntry(i)
		if ts <= prevTs || rel < prevRel || rel >= relEnd {
			return fmt.Errorf("%w: %s: entry %d (%d at offset +%d) out of order or range", errIndexCorrupt, x.path, i, ts, rel)
		}
		prevTs, prevRel = ts, rel
	}
	return nil
}

// room reports whether extra more entries fit.
func (x *indexFile) room(extra int) bool {
	return int(x.n.Load())+1+extra <= x.capSlots
}

// reserve makes sure the file blocks for the next extra entries are
// allocated, so that storing them into the mapping cannot fault.
func (x *indexFile) reserve(extra int) error {
	if !x.writable {
		return nil
	}
	end := x.kind.sizeFor(min(int(x.n.Load())+1+extra, x.capSlots))
	if end <= x.allocEnd {
		return nil
	}
	// Allocate 64 KiB at a time: one reopen per 8192 offset entries.
	target := min(alignUp(end, pageSize)+15*pageSize, int64(len(x.buf)))
	f, err := x.fs.OpenFile(x.path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Fallocate(x.allocEnd, target-x.allocEnd)
	err = errors.Join(err, f.Close())
	if errors.Is(err, errors.ErrUnsupported) {
		x.allocEnd = int64(len(x.buf)) // the filesystem cannot; rely on sparse
		return nil
	}
	if err != nil {
		return fmt.Errorf("segments: allocate %s: %w", x.path, err)
	}
	x.allocEnd = target
	return nil
}

// add appends an entry. REQUIRES: writable, room(1), reserve(1) done.
func (x *indexFile) add(e []byte) {
	n := int(x.n.Load())
	p := x.kind.slotPos(n + 1)
	slot := x.buf[p : p+int64(len(e))]
	copy(slot, e)
	if x.f != nil && x.writeErr == nil {
		if _, err := x.f.WriteAt(slot, p); err != nil {
			x.writeErr = err
		}
	}
	x.n.Store(int32(n + 1))
}

func (x *indexFile) addOffset(rel, pos int64) {
	var e [8]byte
	binary.BigEndian.PutUint32(e[:], uint32(rel))
	binary.BigEndian.PutUint32(e[4:], uint32(pos))
	x.add(e[:])
}

func (x *indexFile) addTime(ts, rel int64) {
	var e [12]byte
	binary.BigEndian.PutUint64(e[:], uint64(ts))
	binary.BigEndian.PutUint32(e[8:], uint32(rel))
	x.add(e[:])
}

// seal trims the file to its last entry; no entries are added after.
func (x *indexFile) seal() error {
	if !x.writable {
		return nil
	}
	size := x.kind.sizeFor(int(x.n.Load()) + 1)
	if x.f != nil {
		if x.writeErr != nil {
			if _, err := x.f.WriteAt(x.buf[:size], 0); err != nil {
				return err
			}
			x.writeErr = nil
		}
		if err := x.f.Truncate(size); err != nil {
			return err
		}
	} else {
		f, err := x.fs.OpenFile(x.path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		err = f.Truncate(size)
		if err = errors.Join(err, f.Close()); err != nil {
			return err
		}
	}
	x.writable = false
	return nil
}

// sync makes the file durable.
func (x *indexFile) sync() error {
	if x.f != nil {
		return x.f.Datasync()
	}
	f, err := x.fs.OpenFile(x.path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return errors.Join(f.Datasync(), f.Close())
}

// close drops the mapping and any open file.
func (x *indexFile) close() error {
	var err error
	if x.mapped && x.buf != nil {
		err = unix.Munmap(x.buf)
	}
	x.buf = nil
	if x.f != nil {
		err = errors.Join(err, x.f.Close())
		x.f = nil
	}
	return err
}

// emptyIndex is an in-memory index with no entries and no file, for a
// segment that is being deleted while its index could not be loaded.
func emptyIndex(k *indexKind) *indexFile {
	x := &indexFile{kind: k, buf: k.header(), capSlots: 1}
	return x
}
