package segments

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"sync"
)

// locateWindow is how much a read fetches to find its first batch: every
// batch header starts within IndexIntervalBytes of the index entry before
// it, so with the default interval one window from that entry almost
// always holds the header sought.
const locateWindow = DefaultIndexIntervalBytes + BatchHeaderSize

// locateBufs holds *[]byte of locateWindow bytes, so that reads do not
// allocate their search window.
var locateBufs = sync.Pool{New: func() any {
	b := make([]byte, locateWindow)
	return &b
}}

// errIndexMismatch: an index entry points at a batch other than the one it
// names. The index is rebuilt (or, for the active segment, bypassed).
var errIndexMismatch = errors.New("segments: index entry does not match the segment")

// noRelease is the release func of a read that holds nothing.
var noRelease = func() {}

// pin takes a reference on the segment that would hold offset, from the
// current segment list, which it returns with the segment's index there.
func (l *Log) pin(offset int64) ([]*segment, int, error) {
	for {
		if l.closed.Load() {
			return nil, 0, ErrClosed
		}
		segs := *l.segs.Load()
		i := segmentFor(segs, offset)
		if segs[i].acquire() {
			return segs, i, nil
		}
		// Deleted or closed since the list was loaded: either the list
		// has been replaced or closed is set. Look again.
	}
}

// segmentFor returns the index of the segment that would hold offset: the
// last one whose base is <= offset (0 if none is).
func segmentFor(segs []*segment, offset int64) int {
	i := sort.Search(len(segs), func(i int) bool { return segs[i].base > offset })
	return max(i-1, 0)
}

// seekRead checks offset against the log's bounds and finds the batch
// holding it (or, if offset is in a gap compaction left, the first batch
// after it): it returns the segment list, the index of the segment
// holding the batch (with a reference taken), the batch's position and
// size. i < 0 means there is nothing to read (offset == EndOffset) and no
// reference is held.
func (l *Log) seekRead(buf []byte, offset int64) (segs []*segment, i int, pos, size int64, err error) {
	// Load end before segs: a batch below end is committed, and so is the
	// segment that holds it, since rolls publish segs before end moves.
	end := l.end.Load()
	segs, i, err = l.pin(offset)
	if err != nil {
		return nil, -1, 0, 0, err
	}
	if start := l.start.Load(); offset < start || offset > end {
		segs[i].release()
		return nil, -1, 0, 0, fmt.Errorf("%w: offset %d not in [%d, %d]", ErrOffsetOutOfRange, offset, start, end)
	}
	// The batch is normally in segmentFor's segment; it is in a later one
	// when offset falls in a gap at the end of that segment.
	for {
		s := segs[i]
		if offset < end {
			var found bool
			pos, size, found, err = s.locate(buf, offset, s.size.Load())
			if err != nil {
				s.release()
				return nil, -1, 0, 0, err
			}
			if found {
				return segs, i, pos, size, nil
			}
		}
		s.release()
		if i++; i == len(segs) || offset >= end {
			return nil, -1, 0, 0, nil
		}
		if !segs[i].acquire() {
			// Replaced (compaction) or deleted since the list was
			// loaded: carry on in the current list, from the start of
			// what was still to search.
			if segs, i, err = l.pin(max(offset, segs[i].base)); err != nil {
				return nil, -1, 0, 0, err
			}
			if offset < l.start.Load() {
				segs[i].release()
				return nil, -1, 0, 0, nil
			}
		}
	}
}

// AppendRead appends to dst whole batches starting with the one holding
// offset and returns the extended slice. It stops before the batch that
// would take the bytes appended past maxBytes, except that the first batch
// is always appended whole, however large, so consumers make progress.
// Reads may span segments. offset == EndOffset appends nothing; an offset
// before StartOffset or past EndOffset is ErrOffsetOutOfRange. On error
// dst is returned at its original length.
//
// In a compacted log, offsets have gaps and batches may be empty: a read
// at an offset whose records compaction removed starts with the first
// batch after it, and offsets between the batches returned are missing.
//
// AppendRead takes no lock: it reads committed bytes with pread, so it
// runs concurrently with Append and never sees a partial batch. It does
// not allocate when dst has room.
func (l *Log) AppendRead(dst []byte, offset int64, maxBytes int) ([]byte, error) {
	bufp := locateBufs.Get().(*[]byte)
	defer locateBufs.Put(bufp)
	segs, i, pos, first, err := l.seekRead(*bufp, offset)
	if err != nil || i < 0 {
		return dst, err
	}
	budget := max(int64(maxBytes), first)
	n0 := len(dst)
	for s := segs[i]; ; {
		avail := s.size.Load() - pos
		want := min(avail, budget)
		var got int
		if want > 0 {
			old := len(dst)
			dst = slices.Grow(dst, int(want))[:old+int(want)]
			if _, err := s.f.ReadAt(dst[old:], pos); err != nil {
				s.release()
				return dst[:n0], fmt.Errorf("segments: read %s at position %d: %w", s.path(), pos, mapClosed(err))
			}
			got = wholeBatches(dst[old:])
			dst = dst[:old+got]
			budget -= int64(got)
		}
		s.release()
		if int64(got) < avail || budget <= 0 || i+1 == len(segs) {
			return dst, nil // out of budget, or at the end
		}
		i++
		if s = segs[i]; !s.acquire() {
			return dst, nil // deleted or closed meanwhile
		}
		pos = 0
	}
}

// FileRange is a run of whole batches in a segment file, for sending with
// sendfile or splice: Len bytes at Pos of File. File stays open, and the
// bytes in place, until the release func of the read that returned the
// range is called, even if the log closes or retention deletes the
// segment meanwhile; do not close File.
type FileRange struct {
	File     *os.File
	Pos, Len int64
}

// ReadRanges is AppendRead without the copy: it appends to dst the file
// ranges holding the batches AppendRead would return, with the same
// maxBytes rules (one range per segment touched), and a release func that
// must be called exactly once when the ranges have been sent. It finds
// batch boundaries through the index, reading only batch headers. An FS
// whose files have no *os.File makes it fail with errors.ErrUnsupported.
// Reading from a single segment (the common case) does not allocate when
// dst has room.
func (l *Log) ReadRanges(dst []FileRange, offset int64, maxBytes int) ([]FileRange, func(), error) {
	return l.ReadRangesBefore(dst, offset, math.MaxInt64, maxBytes)
}

// ReadRangesBefore is ReadRanges that also stops before the first batch
// whose base offset is end or more: a fetch passes the high watermark, so
// that batches written but not yet durable stay out of the answer. A
// batch that starts before end is returned whole.
func (l *Log) ReadRangesBefore(dst []FileRange, offset, end int64, maxBytes int) ([]FileRange, func(), error) {
	bufp := locateBufs.Get().(*[]byte)
	defer locateBufs.Put(bufp)
	segs, i, pos, first, err := l.seekRead(*bufp, offset)
	if err != nil || i < 0 {
		return dst, noRelease, err
	}
	s0 := segs[i]
	var more []*segment // segments pinned after the first
	budget := max(int64(maxBytes), first)
	n0 := len(dst)
	for s := s0; ; {
		if s.osf == nil {
			releaseAll(s0, more)
			return dst[:n0], noRelease, fmt.Errorf("segments: read ranges from %s: %w", s.path(), errors.ErrUnsupported)
		}
		size := s.size.Load()
		last := i+1 == len(segs)
		if end < math.MaxInt64 && (last || end < segs[i+1].base) {
			// end falls in this segment (or before it): read no further.
			if size, err = s.positionBefore(*bufp, end, size); err != nil {
				releaseAll(s0, more)
				return dst[:n0], noRelease, err
			}
			last = true
		}
		if avail := size - pos; avail > budget {
			cut, err := s.lastBoundary(*bufp, pos, pos+budget, size)
			if err != nil {
				releaseAll(s0, more)
				return dst[:n0], noRelease, err
			}
			if cut > pos {
				dst = append(dst, FileRange{File: s.osf, Pos: pos, Len: cut - pos})
			}
			break
		} else if avail > 0 {
			dst = append(dst, FileRange{File: s.osf, Pos: pos, Len: avail})
			budget -= avail
		}
		if budget <= 0 || last {
			break
		}
		i++
		if s = segs[i]; !s.acquire() {
			break
		}
		more = append(more, s)
		pos = 0
	}
	if len(more) == 0 {
		return dst, s0.releaseFn, nil
	}
	// Fresh variables for the closure, so that the common path above does
	// not move s0 and more to the heap.
	held0, held := s0, more
	return dst, func() { releaseAll(held0, held) }, nil
}

// positionBefore returns where in s, among its first size bytes, the
// first batch whose base offset is end or more begins; size if there is
// none. A batch that holds end but starts before it is kept whole. buf is
// scratch space.
func (s *segment) positionBefore(buf []byte, end, size int64) (int64, error) {
	if end <= s.base {
		return 0, nil
	}
	pos, n, found, err := s.locate(buf, end, size)
	if err != nil || !found {
		return size, err
	}
	hdr := buf[:8]
	if _, err := s.f.ReadAt(hdr, pos); err != nil {
		return 0, fmt.Errorf("segments: read %s at position %d: %w", s.path(), pos, mapClosed(err))
	}
	if int64(binary.BigEndian.Uint64(hdr)) < end {
		pos += n
	}
	return pos, nil
}

func releaseAll(s0 *segment, more []*segment) {
	s0.release()
	for _, s := range more {
		s.release()
	}
}

// lastBoundary returns the end of the last batch of s that starts at or
// after pos (a batch boundary) and ends at or before limit, or pos if the
// first one does not fit. size is the committed size.
func (s *segment) lastBoundary(buf []byte, pos, limit, size int64) (int64, error) {
	ix, err := s.indexes()
	if err != nil {
		return 0, err
	}
	br := batchReader{r: s.f, path: s.path(), limit: size, buf: buf, fixed: true}
	p := pos
	if erel, q, ok := ix.off.lookupPosition(limit); ok && q > pos {
		// A shortcut, taken only if the entry checks out; otherwise walk
		// from where a batch is known to start.
		h, err := br.header(q)
		if err == nil && h.BaseOffset == s.base+erel {
			p = q
		} else if err != nil && !isCorrupt(err) {
			return 0, fmt.Errorf("segments: read %s: %w", s.path(), err)
		}
	}
	end := p
	err = br.walk(p, func(h BatchHeader, q int64) bool {
		if q+h.size64() > limit {
			return false
		}
		end = q + h.size64()
		return true
	})
	return end, err
}

// walk calls fn with each batch header from position p (a batch
// boundary) to br's limit, until fn returns false. Bad lengths are
// errors: br only walks committed data.
func (br *batchReader) walk(p int64, fn func(h BatchHeader, pos int64) bool) error {
	for p < br.limit {
		h, err := br.header(p)
		if err != nil {
			return fmt.Errorf("segments: read %s: %w", br.path, err)
		}
		if !fn(h, p) {
			return nil
		}
		p += h.size64()
	}
	return nil
}

// walkFrom calls fn with each batch header of s from the index entry at
// or before relative offset rel, to limit, until fn returns false. If
// that entry does not point at the batch it names, the index is rebuilt
// (or bypassed) and the walk starts over.
func (s *segment) walkFrom(br *batchReader, rel, limit int64, fn func(h BatchHeader, pos int64) bool) error {
	ix, err := s.indexes()
	if err != nil {
		return err
	}
	br.reset(s.f, s.path(), limit)
	p, expect := ix.seek(s.base, rel)
	if p >= limit {
		// An entry added after limit was read: what rel needs is past it.
		return nil
	}
	for attempt := 0; p > 0; attempt++ {
		// Check the entry: a batch with the base offset it names starts
		// where it says. (br keeps the header for the walk.)
		h, err := br.header(p)
		if err != nil && !isCorrupt(err) {
			return fmt.Errorf("segments: read %s: %w", s.path(), err)
		}
		if err == nil && h.BaseOffset == expect {
			break
		}
		if nix, ok := s.reindex(ix); ok && attempt == 0 {
			ix = nix
			p, expect = ix.seek(s.base, rel)
		} else {
			p = 0
		}
	}
	return br.walk(p, fn)
}

// seek returns where to start walking a segment with the given base to
// reach relative offset rel: the position of the last indexed batch at or
// before it, and that batch's base offset; or position 0 and -1 when no
// entry is at or before rel (the first batch's offset is then unknown: it
// is the base, unless compaction removed the batches there).
func (ix *segIndexes) seek(base, rel int64) (pos, batchBase int64) {
	erel, p, ok := ix.off.lookupOffset(rel)
	if !ok {
		return 0, -1
	}
	return p, base + erel
}

// locate finds the first batch in s, among the first limit bytes, whose
// last offset is >= target (offsets may have gaps: that batch need not
// hold target). It returns the batch's position and size, or
// found == false if no batch in range qualifies. buf is scratch space.
func (s *segment) locate(buf []byte, target, limit int64) (pos, size int64, found bool, err error) {
	ix, err := s.indexes()
	if err != nil {
		return 0, 0, false, err
	}
	p, expect := ix.seek(s.base, target-s.base)
	for attempt := 0; ; attempt++ {
		pos, size, found, err = s.scanWindow(buf, p, expect, target, limit)
		if !errors.Is(err, errIndexMismatch) {
			return pos, size, found, err
		}
		// An entry does not name the batch it points at (even one at
		// position 0: the first batch's offset is the base only if
		// compaction left it). Rebuild the index, or walk from the start
		// without one (expect -1, which cannot mismatch).
		if attempt > 1 {
			return 0, 0, false, fmt.Errorf("segments: %s: %w", s.path(), err)
		}
		if nix, ok := s.reindex(ix); ok && attempt == 0 {
			ix = nix
			p, expect = ix.seek(s.base, target-s.base)
		} else {
			p, expect = 0, -1
		}
	}
}

// scanWindow walks batch headers from p, whose batch must have base
// offset expect (-1: any), a window at a time (usually one), for the first
// batch whose last offset is >= target: the batch holding target, or the
// first one after it if target is in a gap compaction left.
func (s *segment) scanWindow(buf []byte, p, expect, target, limit int64) (pos, size int64, found bool, err error) {
	first := true
	for p < limit {
		w := buf[:min(int64(len(buf)), limit-p)]
		if _, err := s.f.ReadAt(w, p); err != nil {
			return 0, 0, false, fmt.Errorf("segments: read %s at position %d: %w", s.path(), p, mapClosed(err))
		}
		var q int64
		for q+offsetHeaderBytes <= int64(len(w)) {
			base, size, last := batchOffsets(w[q:])
			if first && expect >= 0 && base != expect {
				return 0, 0, false, errIndexMismatch
			}
			first = false
			if size < BatchHeaderSize {
				return 0, 0, false, fmt.Errorf("segments: %s: %w at position %d", s.path(), ErrBatchLength, p+q)
			}
			if last >= target {
				return p + q, size, true, nil
			}
			q += size
		}
		if q == 0 {
			// Less than a header left before limit: committed data is
			// whole batches, so the file is not what we wrote.
			return 0, 0, false, fmt.Errorf("segments: %s: %w at position %d", s.path(), ErrBatchTooShort, p)
		}
		p += q
	}
	return 0, 0, false, nil
}

// reindex replaces an index found not to match its segment, returning the
// index to use instead, or false to walk without one. The active
// segment's index is never replaced under the appender's feet: it was
// built in this process, so only tampering can break it.
func (s *segment) reindex(bad *segIndexes) (*segIndexes, bool) {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	if cur := s.ix.Load(); cur != bad {
		return cur, cur != nil
	}
	if s.active || s.doomed || s.frozen {
		return nil, false
	}
	s.l.logger.Warn("segments: index does not match its segment; rebuilding", "file", s.path())
	ix, err := s.rebuildIndexes()
	if err != nil {
		s.l.logger.Warn("segments: rebuilding index failed", "file", s.path(), "error", err.Error())
		return nil, false
	}
	// Readers may still be searching the old mapping: keep it until the
	// segment goes.
	s.retired = append(s.retired, bad.off, bad.tim)
	s.ix.Store(ix)
	return ix, true
}

// rebuild rebuilds the indexes of a sealed segment (reindex for an index
// that was not loaded).
func (s *segment) rebuild() error {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	if s.active || s.doomed || s.frozen {
		return errNoRebuild
	}
	ix, err := s.rebuildIndexes()
	if err != nil {
		return err
	}
	if old := s.ix.Load(); old != nil {
		s.retired = append(s.retired, old.off, old.tim)
	}
	s.ix.Store(ix)
	return nil
}

// errNoRebuild: the index of an active, deleted or replaced segment is not
// rebuilt.
var errNoRebuild = errors.New("segments: cannot rebuild the index of an active, deleted or replaced segment")

// headerAt reads the header of the batch of s with base offset off.
func (s *segment) headerAt(off int64) (BatchHeader, error) {
	var found BatchHeader
	ok := false
	br := newBatchReader(s.f, s.path(), s.size.Load())
	err := s.walkFrom(br, off-s.base, s.size.Load(), func(h BatchHeader, _ int64) bool {
		if h.BaseOffset >= off {
			found, ok = h, h.BaseOffset == off
			return false
		}
		return true
	})
	if err == nil && !ok {
		err = fmt.Errorf("%w: %s: offset %d", errNoBatch, s.path(), off)
	}
	return found, err
}

// errNoBatch: no batch starts at an offset an index named.
var errNoBatch = errors.New("segments: no batch starts at the offset")

// FindTimestamp returns the header of the first batch, at or after the
// log start offset, whose max timestamp is >= ts, and false if there is
// none. Empty batches (compaction keeps them for producers, with the
// timestamp of records it removed) are skipped. It skips segments whose largest timestamp is below ts, looks ts up
// in the first other one's time index and walks batch headers from there.
// Kafka's ListOffsets wants the first record with a timestamp >= ts: it is
// in this batch.
func (l *Log) FindTimestamp(ts int64) (BatchHeader, bool, error) {
	start := l.start.Load()
	segs, i, err := l.pin(start)
	if err != nil {
		return BatchHeader{}, false, err
	}
	bufp := locateBufs.Get().(*[]byte)
	defer locateBufs.Put(bufp)
	br := &batchReader{buf: *bufp, fixed: true}
	for s := segs[i]; ; {
		if s.maxTs.Load() >= ts {
			h, found, err := s.findTimestamp(br, ts, start)
			if err != nil || found {
				s.release()
				return h, found, err
			}
		}
		s.release()
		if segs, i, err = l.pinNext(segs, i); err != nil || i < 0 {
			return BatchHeader{}, false, err
		}
		s = segs[i]
	}
}

// pinNext takes a reference on the segment after segs[i] and returns it
// with its list, or i < 0 at the end of the log. If that segment was
// replaced (compaction) or deleted since segs was loaded, it looks again
// in the current list, for the segment holding its base offset.
func (l *Log) pinNext(segs []*segment, i int) ([]*segment, int, error) {
	if i++; i == len(segs) {
		return nil, -1, nil
	}
	if segs[i].acquire() {
		return segs, i, nil
	}
	base := segs[i].base
	segs, i, err := l.pin(base)
	if err != nil {
		return nil, -1, err
	}
	if segs[i].base < base {
		// Only an older segment holds base now: the one sought is
		// gone, and nothing after it was there to search that is not
		// in the list's later segments.
		segs[i].release()
		return l.pinNext(segs, i)
	}
	return segs, i, nil
}

func (s *segment) findTimestamp(br *batchReader, ts, start int64) (BatchHeader, bool, error) {
	ix, err := s.indexes()
	if err != nil {
		return BatchHeader{}, false, err
	}
	// Every batch up to the last time entry below ts is below ts; and
	// nothing before the start offset counts.
	rel := max(start-s.base, 0)
	if trel, ok := ix.tim.lookupTime(ts); ok {
		rel = max(rel, trel)
	}
	var found BatchHeader
	ok := false
	err = s.walkFrom(br, rel, s.size.Load(), func(h BatchHeader, _ int64) bool {
		if h.LastOffset() >= start && h.MaxTimestamp >= ts && h.RecordCount > 0 {
			found, ok = h, true
			return false
		}
		return true
	})
	return found, ok, err
}

// Scan calls fn with the header of each batch whose last offset is >= from
// (and >= the log start offset), in offset order, until fn returns false
// or the committed end of the log. No lock is held while fn runs. Batches
// may be empty (RecordCount 0: compaction keeps a producer's last batch
// that way, offsets and sequence numbers intact).
func (l *Log) Scan(from int64, fn func(h BatchHeader) bool) error {
	from = max(from, l.start.Load())
	segs, i, err := l.pin(from)
	if err != nil {
		return err
	}
	var br *batchReader
	for s := segs[i]; ; {
		limit := s.size.Load()
		if br == nil {
			br = newBatchReader(s.f, s.path(), limit)
		}
		stop := false
		err := s.walkFrom(br, from-s.base, limit, func(h BatchHeader, _ int64) bool {
			if h.LastOffset() >= from && !fn(h) {
				stop = true
				return false
			}
			return true
		})
		s.release()
		if err != nil {
			return fmt.Errorf("segments: scan: %w", err)
		}
		if stop {
			return nil
		}
		if segs, i, err = l.pinNext(segs, i); err != nil || i < 0 {
			return err
		}
		s = segs[i]
	}
}
