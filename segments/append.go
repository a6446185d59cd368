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
// segment), and otherwise costs one pwrite and no allocation.
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
	base := l.end.Load()
	if base > math.MaxInt64-int64(h.LastOffsetDelta)-1 {
		return -1, fmt.Errorf("segments: append: %w: offsets past %d overflow", ErrOffsetOutOfRange, base)
	}
	next := base + int64(h.LastOffsetDelta) + 1

	s := l.active
	pos := s.size.Load()
	// Roll when the batch would overfill the segment, or when its offsets
	// would not fit the index's 32-bit relative offsets.
	if pos > 0 && (pos+n > l.segmentBytes || next-1-s.base > math.MaxInt32) {
		if s, err = l.roll(base); err != nil {
			return -1, err
		}
		pos = 0
	}

	binary.BigEndian.PutUint64(batch[posBaseOffset:], uint64(base))
	if _, err := s.f.WriteAt(batch, pos); err != nil {
		// Nothing past pos is committed and the next append overwrites
		// it, but trim it so that a crash now does not leave recovery a
		// half batch to find.
		_ = s.f.Truncate(pos)
		return -1, fmt.Errorf("segments: append to %s at position %d: %w", s.path, pos, mapClosed(err))
	}
	// Commit: size first, so that by the time a reader sees the new end
	// offset it also sees the bytes.
	s.size.Store(pos + n)
	s.next.Store(next)
	s.index.maybeAdd(base-s.base, pos)
	l.size.Add(n)
	l.end.Store(next)
	return base, nil
}

// roll starts a new active segment at offset base. Called with mu held.
func (l *Log) roll(base int64) (*segment, error) {
	s, err := createSegment(l.dir, base)
	if err != nil {
		return nil, fmt.Errorf("segments: roll at offset %d: %w", base, err)
	}
	old := *l.segs.Load()
	segs := make([]*segment, len(old), len(old)+1)
	copy(segs, old)
	segs = append(segs, s)
	l.segs.Store(&segs)
	l.active = s
	l.dirDirty = true
	return s, nil
}
