package segments

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// AdvanceStartOffset raises the log start offset to off (DeleteRecords),
// clamped to EndOffset; a lower off is a no-op. Reads below the new start
// fail with ErrOffsetOutOfRange, and segments wholly below it are deleted
// (never the active one). Readers still using a deleted segment keep it
// until they are done. The new start is persisted by the next
// Dir.Checkpoint; a log opened without a Dir only persists the deletions.
func (l *Log) AdvanceStartOffset(off int64) error {
	l.mu.Lock()
	if l.closed.Load() {
		l.mu.Unlock()
		return ErrClosed
	}
	off = min(off, l.end.Load())
	if off <= l.start.Load() {
		l.mu.Unlock()
		return nil
	}
	l.start.Store(off)
	segs := *l.segs.Load()
	k := 0
	for k+1 < len(segs) && segs[k+1].base <= off {
		k++
	}
	gone, err := l.dropOldest(k)
	l.mu.Unlock()
	return errors.Join(err, unrefAll(gone))
}

// Retain applies Kafka's retention rules and returns how many segments it
// deleted. retentionMs >= 0 deletes the oldest segments whose largest
// timestamp (or, with no timestamps, file modification time) is more than
// retentionMs before now; retentionBytes >= 0 then deletes the oldest
// segments while the log stays at least retentionBytes without them. -1
// disables either rule. Deletion goes oldest first and stops at the first
// segment to keep. If the active segment itself is to go (and is not
// empty), a new one is rolled first so the log always has one. The start
// offset moves to the new first segment's base.
func (l *Log) Retain(now time.Time, retentionMs, retentionBytes int64) (int, error) {
	l.mu.Lock()
	if l.closed.Load() {
		l.mu.Unlock()
		return 0, ErrClosed
	}
	segs := *l.segs.Load()
	k := 0
	var err error
	if retentionMs >= 0 {
		nowMs := now.UnixMilli()
		for ; k < len(segs) && segs[k].size.Load() > 0; k++ {
			var ts int64
			if ts, err = l.largestTimestamp(segs[k]); err != nil || nowMs-ts <= retentionMs {
				break
			}
		}
	}
	if retentionBytes >= 0 && err == nil {
		excess := l.size.Load() - retentionBytes
		for j := 0; j < len(segs) && segs[j].size.Load() > 0; j++ {
			n := segs[j].size.Load()
			if j >= k {
				if excess-n < 0 {
					break
				}
				k = j + 1
			}
			excess -= n
		}
	}
	if k == 0 {
		l.mu.Unlock()
		return 0, err
	}
	if k == len(segs) {
		// The active segment goes too: roll so the log keeps one.
		if _, rerr := l.roll(l.end.Load()); rerr != nil {
			l.mu.Unlock()
			return 0, errors.Join(err, rerr)
		}
	}
	gone, derr := l.dropOldest(k)
	l.mu.Unlock()
	return k, errors.Join(err, derr, unrefAll(gone))
}

// largestTimestamp is the time retention.ms measures a segment by: its
// largest batch timestamp, or its file's modification time when it has
// none. REQUIRES: mu held.
func (l *Log) largestTimestamp(s *segment) (int64, error) {
	if ts := s.maxTs.Load(); ts >= 0 {
		return ts, nil
	}
	fi, err := s.f.Stat()
	if err != nil {
		return 0, fmt.Errorf("segments: stat %s: %w", s.path(), err)
	}
	return fi.ModTime().UnixMilli(), nil
}

// dropOldest takes the k oldest segments out of the log and renames their
// files to *.deleted. It returns them for the caller to unref once mu is
// released. REQUIRES: mu held, k < the number of segments.
func (l *Log) dropOldest(k int) ([]*segment, error) {
	if k == 0 {
		return nil, nil
	}
	old := *l.segs.Load()
	segs := slices.Clone(old[k:])
	gone := old[:k]
	l.segs.Store(&segs)
	if b := segs[0].base; b > l.start.Load() {
		l.start.Store(b)
	}
	var freed int64
	var errs []error
	maxGone := false
	for _, s := range gone {
		freed += s.size.Load()
		l.unsynced = slices.DeleteFunc(l.unsynced, func(u *segment) bool { return u == s })
		if err := s.doom(); err != nil {
			errs = append(errs, err)
		}
		l.maxMu.Lock()
		maxGone = maxGone || l.maxSeg == s
		l.maxMu.Unlock()
	}
	l.size.Add(-freed)
	l.dirDirty = true
	if maxGone {
		errs = append(errs, l.findMax(segs))
	}
	return gone, errors.Join(errs...)
}

func unrefAll(segs []*segment) error {
	var errs []error
	for _, s := range segs {
		errs = append(errs, s.unref())
	}
	return errors.Join(errs...)
}
