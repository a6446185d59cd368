package segments

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
)

// listSegments returns the base offsets of the segment files in dir,
// ascending. Other files are ignored.
func listSegments(dir string) ([]int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("segments: list log dir: %w", err)
	}
	var bases []int64
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if base, ok := parseSegmentName(e.Name()); ok {
			bases = append(bases, base)
		}
	}
	slices.Sort(bases)
	return bases, nil
}

// recover opens and checks every segment in l.dir, oldest first. At the
// first bad batch it truncates that segment after the last good batch and
// removes every later segment; a segment whose name does not continue the
// offsets of the one before is removed with all that follow. It returns
// the segments kept, open; on an I/O error it closes them and fails.
func (l *Log) recover(onBatch func(BatchHeader)) (segs []*segment, err error) {
	defer func() {
		if err != nil {
			for _, s := range segs {
				_ = s.f.Close()
			}
			segs = nil
		}
	}()
	bases, err := listSegments(l.dir)
	if err != nil {
		return nil, err
	}
	for i, base := range bases {
		if len(segs) > 0 {
			if want := segs[len(segs)-1].next.Load(); base != want {
				reason := fmt.Errorf("%w: segment starts at %d, previous segment ends at %d", errOffsetGap, base, want)
				dropped, err := l.removeSegments(bases[i:])
				if err != nil {
					return segs, err
				}
				l.warnDropped(filepath.Join(l.dir, segmentName(base)), want, dropped, len(bases)-i, reason)
				return segs, syncDir(l.dir)
			}
		}
		s, err := openSegment(l.dir, base)
		if err != nil {
			return segs, err
		}
		segs = append(segs, s)
		fi, err := s.f.Stat()
		if err != nil {
			return segs, fmt.Errorf("segments: stat %s: %w", s.path, err)
		}
		bad, err := recoverSegment(s, fi.Size(), onBatch)
		if err != nil {
			return segs, err
		}
		if bad == nil {
			continue
		}
		valid := s.size.Load()
		if err := s.f.Truncate(valid); err != nil {
			return segs, fmt.Errorf("segments: truncate %s: %w", s.path, err)
		}
		if err := s.datasync(); err != nil {
			return segs, err
		}
		dropped, err := l.removeSegments(bases[i+1:])
		if err != nil {
			return segs, err
		}
		l.warnDropped(s.path, s.next.Load(), fi.Size()-valid+dropped, len(bases)-i-1, bad)
		return segs, syncDir(l.dir)
	}
	return segs, nil
}

// recoverSegment walks s from its start, checking each batch, rebuilding
// the sparse index and setting s.size and s.next to the end of the last
// good batch. It returns the reason the segment continues past that point
// with bad data (nil if it does not); err is an I/O error.
func recoverSegment(s *segment, fileSize int64, onBatch func(BatchHeader)) (bad *corruptError, err error) {
	br := newBatchReader(s.f, s.path, fileSize)
	next := s.base
	var p int64
	for p < fileSize {
		h, err := br.header(p)
		if err != nil {
			if ce := (*corruptError)(nil); errors.As(err, &ce) {
				bad = ce
				break
			}
			return nil, err
		}
		if err := checkBatch(br, p, h, next); err != nil {
			if ce := (*corruptError)(nil); errors.As(err, &ce) {
				bad = ce
				break
			}
			return nil, err
		}
		s.index.maybeAdd(h.BaseOffset-s.base, p)
		if onBatch != nil {
			onBatch(h)
		}
		next = h.NextOffset()
		p += h.size64()
	}
	s.size.Store(p)
	s.next.Store(next)
	return bad, nil
}

// checkBatch checks the batch at p, whose header h fits in the file,
// expected to start at offset next.
func checkBatch(br *batchReader, p int64, h BatchHeader, next int64) error {
	if err := checkHeader(h, h.size64()); err != nil {
		return &corruptError{pos: p, err: err}
	}
	sum, err := br.crc(p, h)
	if err != nil {
		return err
	}
	if sum != h.CRC {
		return &corruptError{pos: p, err: ErrCRCMismatch}
	}
	if h.BaseOffset != next {
		return &corruptError{pos: p, err: fmt.Errorf("%w: batch starts at offset %d, want %d", errOffsetGap, h.BaseOffset, next)}
	}
	if h.BaseOffset > math.MaxInt64-int64(h.LastOffsetDelta)-1 {
		return &corruptError{pos: p, err: fmt.Errorf("%w: offsets overflow", ErrRecordCount)}
	}
	return nil
}

// removeSegments deletes the segment files with the given bases and
// returns how many bytes they held.
func (l *Log) removeSegments(bases []int64) (int64, error) {
	var dropped int64
	for _, base := range bases {
		path := filepath.Join(l.dir, segmentName(base))
		if fi, err := os.Stat(path); err == nil {
			dropped += fi.Size()
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return dropped, fmt.Errorf("segments: remove invalid segment: %w", err)
		}
	}
	return dropped, nil
}

func (l *Log) warnDropped(file string, offset, bytes int64, removed int, reason error) {
	l.logger.Warn("segments: dropped invalid log tail",
		"file", file,
		"offset", offset,
		"bytes", bytes,
		"removed_segments", removed,
		"reason", reason.Error())
}
