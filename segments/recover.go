package segments

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// dirListing is what a log directory holds.
type dirListing struct {
	bases []int64        // segment .log files, ascending
	index map[int64]bool // bases with a .index file
}

// list reads the log directory, removing what earlier runs left behind:
// files of deleted segments, index files without a segment, temporaries,
// compaction output that was never committed; and it completes the
// compaction swaps that were (see compact.go).
func (l *Log) list() (dirListing, error) {
	entries, err := l.fs.ReadDir(l.dir)
	if err != nil {
		return dirListing{}, fmt.Errorf("segments: list log dir: %w", err)
	}
	d := dirListing{index: make(map[int64]bool)}
	logs := make(map[int64]bool)
	var indexes []string
	var swaps []int64
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		base, rest, ok := parseBase(e.Name())
		if !ok {
			continue
		}
		switch {
		case rest == segmentSuffix:
			d.bases = append(d.bases, base)
			logs[base] = true
		case rest == offsetIndexKind.suffix:
			d.index[base] = true
			indexes = append(indexes, e.Name())
		case rest == timeIndexKind.suffix:
			indexes = append(indexes, e.Name())
		case rest == segmentSuffix+swapSuffix:
			swaps = append(swaps, base)
		case strings.HasSuffix(rest, deletedSuffix) || strings.HasSuffix(rest, tmpSuffix) || strings.HasSuffix(rest, cleanedSuffix):
			if err := l.fs.Remove(filepath.Join(l.dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return dirListing{}, fmt.Errorf("segments: remove leftover: %w", err)
			}
			l.dirDirty = true
		}
	}
	for _, base := range swaps {
		done, err := l.finishSwap(base, logs[base])
		if err != nil {
			return dirListing{}, err
		}
		if done {
			delete(d.index, base)
		}
		l.dirDirty = true
	}
	for _, name := range indexes {
		if base, _, _ := parseBase(name); !logs[base] {
			if err := l.fs.Remove(filepath.Join(l.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return dirListing{}, fmt.Errorf("segments: remove orphan index: %w", err)
			}
			l.dirDirty = true
		}
	}
	slices.Sort(d.bases)
	return d, nil
}

const tmpSuffix = ".tmp"

// load opens the segments and makes the log ready to append.
//
// Segments below the recovery point (all of them after a clean shutdown)
// are trusted: their size is their file's, their next offset the next
// segment's base, their largest timestamp their .timeindex's last entry;
// the newest of a clean log is only walked from its last index entry to
// find its end. The rest are checked batch by batch (length, magic, CRC,
// offsets that never go backwards: compaction leaves gaps) and their
// indexes rebuilt. At the first bad batch the segment is truncated after
// the last good one and every later segment removed; a segment whose name
// is below the end of the one before is removed with all that follow. A
// tail of zeros is preallocated space, not a batch: it is trimmed
// silently.
func (l *Log) load(st logState, onBatch func(BatchHeader)) (err error) {
	var segs []*segment
	defer func() {
		if err != nil {
			for _, s := range segs {
				_ = s.unref()
			}
		}
	}()
	d, err := l.list()
	if err != nil {
		return err
	}
	bases := d.bases

	// How far to trust.
	trusted := 0
	if st.clean {
		trusted = len(bases)
	} else if len(bases) > 0 && st.rp > bases[0] {
		trusted = segmentForBase(bases, st.rp)
	}
	for i := 0; i < trusted; i++ {
		s, err := l.openSegment(bases[i])
		if err != nil {
			return err
		}
		var ok bool
		if i+1 < len(bases) {
			ok, err = l.trustSegment(s, bases[i+1], d.index[bases[i]])
		} else {
			ok, err = l.trustTail(s)
		}
		if err != nil || !ok {
			_ = s.unref()
			if err != nil {
				return err
			}
			trusted = i
			break
		}
		segs = append(segs, s)
	}
	if err := l.checkSegments(&segs, bases[trusted:], onBatch); err != nil {
		return err
	}

	if len(segs) == 0 {
		s, err := l.createSegment(max(st.start, 0))
		if err != nil {
			return err
		}
		segs = append(segs, s)
		l.dirDirty = true
	}
	last := segs[len(segs)-1]
	for _, s := range segs {
		s.active = s == last
	}
	// Segments checked above were loaded writable; all but the newest are
	// sealed now, and need their index files synced.
	for _, s := range segs[:len(segs)-1] {
		if ix := s.ix.Load(); ix != nil && ix.off.writable {
			if err := s.sealIndexes(ix); err != nil {
				return fmt.Errorf("segments: trim index of %s: %w", s.path(), err)
			}
			s.indexDirty = true
		}
		if s.indexDirty || s.syncedSize < s.size.Load() {
			l.unsynced = append(l.unsynced, s)
		}
	}

	// The start offset: the checkpointed one, but within the log.
	start, end := segs[0].base, last.next.Load()
	if st.start > start {
		start = st.start
	}
	if start > end {
		// The log lost offsets it had already given out (a checkpointed
		// start offset says so): start again, empty, where it ended, so
		// that offsets never repeat.
		l.logger.Warn("segments: log ends before its checkpointed start offset; starting empty there",
			"dir", l.dir, "end", end, "start_offset", start)
		old := segs
		segs = nil
		l.unsynced = nil
		for _, s := range old {
			err = errors.Join(err, s.doom(), s.unref())
		}
		if err != nil {
			return err
		}
		s, err := l.createSegment(start)
		if err != nil {
			return err
		}
		segs = append(segs, s)
		last, end = s, start
		l.dirDirty = true
	}
	// Whole segments below the start offset go (never the newest).
	k := 0
	for k+1 < len(segs) && segs[k+1].base <= start {
		k++
	}
	if k > 0 {
		gone := segs[:k]
		segs = slices.Clone(segs[k:])
		for _, s := range gone {
			l.unsynced = slices.DeleteFunc(l.unsynced, func(u *segment) bool { return u == s })
			err = errors.Join(err, s.doom(), s.unref())
		}
		if err != nil {
			return err
		}
		l.dirDirty = true
	}

	var size int64
	for _, s := range segs {
		size += s.size.Load()
	}
	l.segs.Store(&segs)
	l.active = last
	l.start.Store(start)
	l.end.Store(end)
	l.size.Store(size)
	if st.clean && trusted == len(bases) {
		l.rp.Store(end)
	} else {
		l.rp.Store(min(max(st.rp, start), end))
	}
	if l.dirDirty {
		if err := l.fs.SyncDir(l.dir); err != nil {
			return fmt.Errorf("segments: sync dir: %w", err)
		}
		l.dirDirty = false
	}
	return l.findMax(segs)
}

// segmentForBase is the index of the last base <= offset (0 if none).
func segmentForBase(bases []int64, offset int64) int {
	i, found := slices.BinarySearch(bases, offset)
	if found {
		return i
	}
	return max(i-1, 0)
}

// trustSegment sets up a sealed segment below the recovery point without
// reading its batches: it ends where the next segment starts, and its
// largest timestamp is its .timeindex's last entry. Missing or malformed
// index files are rebuilt (reading headers only); it reports false if
// that shows the file is not what the log wrote, so the caller checks it
// instead.
func (l *Log) trustSegment(s *segment, next int64, hasIndex bool) (bool, error) {
	fi, err := s.f.Stat()
	if err != nil {
		return false, fmt.Errorf("segments: stat %s: %w", s.path(), err)
	}
	if fi.Size() == 0 || next <= s.base {
		return false, nil
	}
	s.size.Store(fi.Size())
	s.next.Store(next)
	s.alloc, s.syncedSize = fi.Size(), fi.Size()
	rebuild := !hasIndex
	if !rebuild {
		var e [16]byte
		n, err := readIndexTail(l.fs, timeIndexKind, s.timePath(), e[:])
		switch {
		case errors.Is(err, errIndexCorrupt):
			rebuild = true
		case err != nil:
			return false, err
		case n == 0:
			// Only a segment without timestamps has no time entries:
			// check the first batch.
			br := batchReader{r: s.f, path: s.path(), limit: fi.Size(), buf: make([]byte, BatchHeaderSize)}
			h, err := br.header(0)
			if err != nil && !isCorrupt(err) {
				return false, err
			}
			rebuild = err != nil || h.MaxTimestamp >= 0
		default:
			ts, rel := decodeTimeEntry(e[:])
			if ts < 0 || rel < 0 || s.base+rel >= next {
				rebuild = true
				break
			}
			s.maxTs.Store(ts)
			s.maxOff.Store(s.base + rel)
		}
	}
	if !rebuild {
		return true, nil
	}
	return l.rebuildTrusted(s)
}

// rebuildTrusted rebuilds a trusted segment's indexes at open, reporting
// false if its batches do not run from its base to its next offset.
func (l *Log) rebuildTrusted(s *segment) (bool, error) {
	l.logger.Warn("segments: rebuilding index", "file", s.path(), "reason", "index file missing or invalid")
	s.maxTs.Store(-1)
	s.maxOff.Store(-1)
	ix, err := s.rebuildIndexes()
	if isCorrupt(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s.ix.Store(ix)
	s.indexDirty = !s.active
	l.dirDirty = true
	return true, nil
}

// trustTail sets up the newest segment of a cleanly closed log: its size
// is the file's (Close trimmed it), and its end is found by walking the
// batch headers after its last .index entry. It reports false if anything
// there disagrees, and the caller then checks the segment.
func (l *Log) trustTail(s *segment) (bool, error) {
	s.active = true
	fi, err := s.f.Stat()
	if err != nil {
		return false, fmt.Errorf("segments: stat %s: %w", s.path(), err)
	}
	size := fi.Size()
	var e [16]byte
	n, err := readIndexTail(l.fs, offsetIndexKind, s.indexPath(), e[:])
	if errors.Is(err, errIndexCorrupt) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	pos, next := int64(0), s.base
	if n > 0 {
		rel, p := decodeOffsetEntry(e[:])
		pos, next = p, s.base+rel
	}
	if (n == 0 && size > 0) || (n > 0 && pos >= size) {
		return false, nil
	}
	n, err = readIndexTail(l.fs, timeIndexKind, s.timePath(), e[:])
	if errors.Is(err, errIndexCorrupt) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	maxTs, maxOff := int64(-1), int64(-1)
	if n > 0 {
		ts, rel := decodeTimeEntry(e[:])
		if ts < 0 || rel < 0 {
			return false, nil
		}
		maxTs, maxOff = ts, s.base+rel
	}

	bufp := locateBufs.Get().(*[]byte)
	defer locateBufs.Put(bufp)
	br := batchReader{r: s.f, path: s.path(), limit: size, buf: *bufp}
	var maxHdr BatchHeader
	gotHdr := false
	found := maxOff < next // before the walk: resolved later if needed
	for first := true; pos < size; first = false {
		h, err := br.header(pos)
		if isCorrupt(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		// The indexed batch starts exactly where its entry says; later
		// ones may follow a gap (a compacted segment that recovery left
		// as the newest).
		if (first && h.BaseOffset != next) || h.BaseOffset < next || h.MaxTimestamp > maxTs ||
			checkStored(h, h.size64()) != nil || checkSpan(pos, h, s.base) != nil {
			return false, nil
		}
		if h.BaseOffset == maxOff {
			if h.MaxTimestamp != maxTs {
				return false, nil
			}
			maxHdr, found, gotHdr = h, true, true
		}
		next = h.NextOffset()
		pos += h.size64()
	}
	if maxOff >= 0 && (!found || maxOff >= next) {
		return false, nil
	}
	s.size.Store(size)
	s.next.Store(next)
	s.alloc, s.syncedSize = size, size
	s.maxTs.Store(maxTs)
	s.maxOff.Store(maxOff)
	if gotHdr {
		s.maxHdr, s.maxHdrOK = maxHdr, true
	}
	return true, nil
}

// checkSegments checks the segments with the given bases, oldest first,
// appending those it keeps to segs (open, indexes built). On an I/O error
// it fails.
func (l *Log) checkSegments(segs *[]*segment, bases []int64, onBatch func(BatchHeader)) error {
	for i, base := range bases {
		if n := len(*segs); n > 0 {
			// A gap is fine (compaction may have emptied the end of the
			// previous segment); an overlap is not.
			if want := (*segs)[n-1].next.Load(); base < want {
				reason := fmt.Errorf("%w: segment starts at %d, previous segment ends at %d", errOffsetOrder, base, want)
				dropped, err := l.removeSegments(bases[i:])
				if err != nil {
					return err
				}
				l.warnDropped(filepath.Join(l.dir, segmentName(base)), want, dropped, len(bases)-i, reason)
				return nil
			}
		}
		s, err := l.openSegment(base)
		if err != nil {
			return err
		}
		*segs = append(*segs, s)
		fi, err := s.f.Stat()
		if err != nil {
			return fmt.Errorf("segments: stat %s: %w", s.path(), err)
		}
		ix, err := s.newIndexes("")
		if err != nil {
			return err
		}
		s.ix.Store(ix)
		s.active = true // writable until sealed by load
		l.dirDirty = true
		bad, err := checkSegment(s, ix, fi.Size(), onBatch)
		if err != nil {
			return err
		}
		valid := s.size.Load()
		s.alloc = valid
		if valid < fi.Size() {
			if err := s.f.Truncate(valid); err != nil {
				return fmt.Errorf("segments: truncate %s: %w", s.path(), err)
			}
		}
		if bad == nil {
			if valid < fi.Size() {
				l.logger.Debug("segments: trimmed preallocated tail", "file", s.path(), "bytes", fi.Size()-valid)
			}
			continue
		}
		if err := s.datasync(); err != nil {
			return err
		}
		dropped, err := l.removeSegments(bases[i+1:])
		if err != nil {
			return err
		}
		l.warnDropped(s.path(), s.next.Load(), fi.Size()-valid+dropped, len(bases)-i-1, bad)
		return nil
	}
	return nil
}

// checkSegment walks s from its start, checking each batch, filling the
// indexes and setting s.size and s.next to the end of the last good
// batch. A run of zeros to the end of the file is preallocated space and
// ends the walk quietly; anything else that is not a good batch is
// returned as bad. err is an I/O error.
func checkSegment(s *segment, ix *segIndexes, fileSize int64, onBatch func(BatchHeader)) (bad *corruptError, err error) {
	br := newBatchReader(s.f, s.path(), fileSize)
	next := s.base
	var p int64
	for p < fileSize {
		zero, err := br.zeroTail(p)
		if err != nil {
			return nil, err
		}
		if zero {
			break
		}
		h, err := br.header(p)
		if err == nil {
			err = checkBatch(br, p, h, s.base, next)
		}
		if err != nil {
			if ce := (*corruptError)(nil); errors.As(err, &ce) {
				bad = ce
				break
			}
			return nil, err
		}
		if s.noteMax(h) {
			s.maxHdr, s.maxHdrOK = h, true
		}
		s.indexBatch(ix, h, p, s.maxTs.Load(), s.maxOff.Load())
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
// expected to start at offset next or, after a gap compaction left, later,
// in a segment with the given base offset.
func checkBatch(br *batchReader, p int64, h BatchHeader, base, next int64) error {
	if err := checkStored(h, h.size64()); err != nil {
		return &corruptError{pos: p, err: err}
	}
	sum, err := br.crc(p, h)
	if err != nil {
		return err
	}
	if sum != h.CRC {
		return &corruptError{pos: p, err: ErrCRCMismatch}
	}
	if h.BaseOffset < next {
		return &corruptError{pos: p, err: fmt.Errorf("%w: batch starts at offset %d, want %d or more", errOffsetOrder, h.BaseOffset, next)}
	}
	if h.BaseOffset > math.MaxInt64-int64(h.LastOffsetDelta)-1 {
		return &corruptError{pos: p, err: fmt.Errorf("%w: offsets overflow", ErrRecordCount)}
	}
	return checkSpan(p, h, base)
}

// checkSpan rejects a batch whose last offset is more than MaxInt32 past
// its segment's base: Append rolls before that (the indexes hold 32-bit
// relative offsets) and compaction never moves offsets, so the log never
// wrote it, however valid it looks.
func checkSpan(p int64, h BatchHeader, base int64) error {
	if h.LastOffset()-base > math.MaxInt32 {
		return &corruptError{pos: p, err: fmt.Errorf("%w: batch ends at offset %d, too far past the segment's base %d", errOffsetOrder, h.LastOffset(), base)}
	}
	return nil
}

// removeSegments deletes the segment files (and their indexes) with the
// given bases and returns how many .log bytes they held.
func (l *Log) removeSegments(bases []int64) (int64, error) {
	var dropped int64
	for _, base := range bases {
		path := filepath.Join(l.dir, segmentName(base))
		if fi, err := l.fs.Stat(path); err == nil {
			dropped += fi.Size()
		}
		stem := strings.TrimSuffix(path, segmentSuffix)
		for _, p := range []string{path, stem + offsetIndexKind.suffix, stem + timeIndexKind.suffix} {
			if err := l.fs.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return dropped, fmt.Errorf("segments: remove invalid segment: %w", err)
			}
		}
		l.dirDirty = true
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

// zeroTail reports whether the file holds only zeros from p to its limit:
// space preallocated and never written. It looks no further than the
// length field unless that is zero, so a normal batch costs nothing more.
func (br *batchReader) zeroTail(p int64) (bool, error) {
	n := min(br.limit-p, batchLengthOverhead)
	b, err := br.at(p, int(n))
	if err != nil {
		return false, err
	}
	if n == batchLengthOverhead && (b[posBatchLength] != 0 || b[posBatchLength+1] != 0 ||
		b[posBatchLength+2] != 0 || b[posBatchLength+3] != 0) {
		return false, nil
	}
	for q := p; q < br.limit; {
		n := min(br.limit-q, int64(len(br.buf)))
		b, err := br.at(q, int(n))
		if err != nil {
			return false, err
		}
		for _, c := range b {
			if c != 0 {
				return false, nil
			}
		}
		q += n
	}
	return true, nil
}
