package segments

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Append stores one batch, already checked with ValidateBatch, at the end
// of the log. It assigns the batch its offsets by overwriting batch[0:8]
// (the caller's slice is modified) with the log end offset, which it
// returns; the end offset then moves past the batch's last offset.
//
// Append rechecks the header's shape (length, magic, counts), which the
// offset arithmetic depends on, but not the CRC: that is the caller's
// ValidateBatch. It rolls to a new segment when the batch would take the
// active one past SegmentBytes (a batch is always accepted into an empty
// segment), when the segment is older than SegmentMs, or when its index
// is full. Otherwise it costs one pwrite (and, once per preallocation
// step, a fallocate) and no allocation.
//
// A failed write leaves the log as it was: the end offset does not move,
// readers never see the partial batch, and the next Append writes at the
// same place. After a failed Sync the log refuses appends (ErrBroken).
func (l *Log) Append(batch []byte) (baseOffset int64, err error) {
	h, err := ParseBatchHeader(batch)
	if err != nil {
		return -1, fmt.Errorf("segments: append: %w", err)
	}
	if err := checkHeader(h, int64(len(batch))); err != nil {
		return -1, fmt.Errorf("segments: append: %w", err)
	}
	n := int64(len(batch))

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return -1, ErrClosed
	}
	if l.failed != nil {
		return -1, l.failed
	}
	base := l.end.Load()
	if base > math.MaxInt64-int64(h.LastOffsetDelta)-1 {
		return -1, fmt.Errorf("segments: append: %w: offsets past %d overflow", ErrOffsetOutOfRange, base)
	}
	next := base + int64(h.LastOffsetDelta) + 1
	h.BaseOffset = base

	s := l.active
	ix, err := s.indexes()
	if err != nil {
		return -1, fmt.Errorf("segments: append: %w", err)
	}
	pos := s.size.Load()
	if pos > 0 && l.shouldRoll(s, ix, pos, n, next, h) {
		if s, err = l.roll(base); err != nil {
			return -1, err
		}
		if ix, err = s.indexes(); err != nil {
			return -1, fmt.Errorf("segments: append: %w", err)
		}
		pos = 0
	}
	// Everything that can fail without harm happens before the write.
	if err := ix.reserve(); err != nil {
		return -1, err
	}
	if err := s.preallocate(pos+n, l.prealloc, l.opts.SegmentBytes); err != nil {
		return -1, err
	}

	binary.BigEndian.PutUint64(batch[posBaseOffset:], uint64(base))
	if _, err := s.f.WriteAt(batch, pos); err != nil {
		// Nothing past pos is committed and the next append overwrites
		// it, but trim it so that a crash now does not leave recovery a
		// half batch to find.
		if s.f.Truncate(pos) == nil {
			s.alloc = pos
		}
		return -1, fmt.Errorf("segments: append to %s at position %d: %w", s.path(), pos, mapClosed(err))
	}
	s.alloc = max(s.alloc, pos+n)
	// Commit: size first, so that by the time a reader sees the new end
	// offset it also sees the bytes.
	s.size.Store(pos + n)
	s.next.Store(next)
	if pos == 0 {
		s.firstTs = h.MaxTimestamp
	}
	if s.noteMax(h) {
		l.noteMax(s, h)
	}
	s.indexBatch(ix, h, pos, s.maxTs.Load(), s.maxOff.Load())
	l.size.Add(n)
	l.end.Store(next)
	return base, nil
}

// shouldRoll reports whether a batch of n bytes with header h, whose
// offsets end before next, must go to a new segment rather than s, which
// holds pos bytes. REQUIRES: mu held.
func (l *Log) shouldRoll(s *segment, ix *segIndexes, pos, n, next int64, h BatchHeader) bool {
	switch {
	case pos+n > l.opts.SegmentBytes:
		return true
	case next-1-s.base > math.MaxInt32:
		// Offsets would not fit the indexes' 32-bit relative offsets.
		return true
	case ix.full():
		return true
	case l.opts.SegmentMs > 0:
		return l.segmentAge(s, h) > l.opts.SegmentMs
	}
	return false
}

// segmentAge is how many milliseconds the active segment spans if h joins
// it: from its first batch's timestamp to h's, as Kafka measures it, or,
// when either has none, from the segment's creation (or opening) to now.
// REQUIRES: mu held.
func (l *Log) segmentAge(s *segment, h BatchHeader) int64 {
	if s.firstTs == noFirstTs {
		s.firstTs = -1
		if h0, err := s.headerAt(s.base); err == nil {
			s.firstTs = h0.MaxTimestamp
		}
	}
	if s.firstTs >= 0 && h.MaxTimestamp >= 0 {
		return h.MaxTimestamp - s.firstTs
	}
	return l.opts.Now().Sub(s.created).Milliseconds()
}

// roll seals the active segment and starts a new one at offset base.
// REQUIRES: mu held. On error the old segment stays active.
func (l *Log) roll(base int64) (*segment, error) {
	s, err := l.createSegment(base)
	if err != nil {
		return nil, fmt.Errorf("segments: roll at offset %d: %w", base, err)
	}
	old := l.active
	if err := old.seal(); err != nil {
		_ = s.unref()
		for _, p := range []string{s.path(), s.indexPath(), s.timePath()} {
			_ = l.fs.Remove(p)
		}
		return nil, fmt.Errorf("segments: roll at offset %d: %w", base, err)
	}
	segs := make([]*segment, 0, len(*l.segs.Load())+1)
	segs = append(append(segs, *l.segs.Load()...), s)
	l.segs.Store(&segs)
	l.active = s
	l.unsynced = append(l.unsynced, old)
	l.dirDirty = true
	return s, nil
}
