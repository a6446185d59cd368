package segments

import (
	"fmt"
	"slices"
	"sort"
	"sync"
)

// locateWindow is how much a read fetches to find its first batch: every
// batch header starts within indexIntervalBytes of the index entry before
// it, so one window from that entry almost always holds the header sought.
const locateWindow = indexIntervalBytes + BatchHeaderSize

// locateBufs holds *[]byte of locateWindow bytes, so that reads do not
// allocate their search window.
var locateBufs = sync.Pool{New: func() any {
	b := make([]byte, locateWindow)
	return &b
}}

// AppendRead appends to dst whole batches starting with the one holding
// offset and returns the extended slice. It stops before the batch that
// would take the bytes appended past maxBytes, except that the first batch
// is always appended whole, however large, so consumers make progress.
// Reads may span segments. offset == EndOffset appends nothing; an offset
// before StartOffset or past EndOffset is ErrOffsetOutOfRange. On error
// dst is returned at its original length.
//
// AppendRead takes no lock: it reads committed bytes with pread, so it
// runs concurrently with Append and never sees a partial batch. It does
// not allocate when dst has room.
func (l *Log) AppendRead(dst []byte, offset int64, maxBytes int) ([]byte, error) {
	if l.closed.Load() {
		return dst, ErrClosed
	}
	// Load end before segs: a batch below end is committed, and so is the
	// segment that holds it, since rolls publish segs before end moves.
	end := l.end.Load()
	segs := *l.segs.Load()
	if start := segs[0].base; offset < start || offset > end {
		return dst, fmt.Errorf("%w: offset %d not in [%d, %d]", ErrOffsetOutOfRange, offset, start, end)
	}
	if offset == end {
		return dst, nil
	}

	bufp := locateBufs.Get().(*[]byte)
	defer locateBufs.Put(bufp)
	// The batch is normally in segmentFor's segment; the loop on is only
	// defensive.
	i := segmentFor(segs, offset)
	var pos, first int64
	for ; i < len(segs); i++ {
		var found bool
		var err error
		pos, first, found, err = segs[i].locate(*bufp, offset, segs[i].size.Load())
		if err != nil {
			return dst, err
		}
		if found {
			break
		}
	}
	if i == len(segs) {
		return dst, nil
	}

	budget := max(int64(maxBytes), first)
	n0 := len(dst)
	for ; i < len(segs) && budget > 0; i, pos = i+1, 0 {
		s := segs[i]
		avail := s.size.Load() - pos
		want := min(avail, budget)
		if want <= 0 {
			continue
		}
		old := len(dst)
		dst = slices.Grow(dst, int(want))[:old+int(want)]
		if _, err := s.f.ReadAt(dst[old:], pos); err != nil {
			return dst[:n0], fmt.Errorf("segments: read %s at position %d: %w", s.path, pos, mapClosed(err))
		}
		got := wholeBatches(dst[old:])
		dst = dst[:old+got]
		budget -= int64(got)
		if int64(got) < avail {
			break // stopped inside this segment: out of budget
		}
	}
	return dst, nil
}

// segmentFor returns the index of the segment that would hold offset: the
// last one whose base is <= offset (0 if none is).
func segmentFor(segs []*segment, offset int64) int {
	i := sort.Search(len(segs), func(i int) bool { return segs[i].base > offset })
	return max(i-1, 0)
}

// locate finds the first batch in s, among the first limit bytes, whose
// last offset is >= target. It returns the batch's position and size, or
// found == false if no batch in range qualifies. buf is scratch space.
func (s *segment) locate(buf []byte, target, limit int64) (pos, size int64, found bool, err error) {
	p := s.index.lookup(target - s.base)
	for p < limit {
		w := buf[:min(int64(len(buf)), limit-p)]
		if _, err := s.f.ReadAt(w, p); err != nil {
			return 0, 0, false, fmt.Errorf("segments: read %s at position %d: %w", s.path, p, mapClosed(err))
		}
		var q int64
		for q+offsetHeaderBytes <= int64(len(w)) {
			_, size, last := batchOffsets(w[q:])
			if size < BatchHeaderSize {
				return 0, 0, false, fmt.Errorf("segments: %s: %w at position %d", s.path, ErrBatchLength, p+q)
			}
			if last >= target {
				return p + q, size, true, nil
			}
			q += size
		}
		if q == 0 {
			// Less than a header left before limit: committed data is
			// whole batches, so the file is not what we wrote.
			return 0, 0, false, fmt.Errorf("segments: %s: %w at position %d", s.path, ErrBatchTooShort, p)
		}
		p += q
	}
	return 0, 0, false, nil
}

// Scan calls fn with the header of each batch whose last offset is >= from,
// in offset order, until fn returns false or the committed end of the log.
// No lock is held while fn runs.
func (l *Log) Scan(from int64, fn func(h BatchHeader) bool) error {
	if l.closed.Load() {
		return ErrClosed
	}
	segs := *l.segs.Load()
	var br *batchReader
	for i := segmentFor(segs, from); i < len(segs); i++ {
		s := segs[i]
		limit := s.size.Load()
		if br == nil {
			br = newBatchReader(s.f, s.path, limit)
		} else {
			br.reset(s.f, s.path, limit)
		}
		for p := s.index.lookup(from - s.base); p < limit; {
			h, err := br.header(p)
			if err != nil {
				return fmt.Errorf("segments: scan %s: %w", s.path, err)
			}
			if h.LastOffset() >= from && !fn(h) {
				return nil
			}
			p += h.size64()
		}
	}
	return nil
}
