package segments

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/runnel-dev/runnel/segments/compact"
)

// Compaction (cleanup.policy=compact), after Kafka's log cleaner.
//
// A pass cleans the closed segments; the active one is never touched, so
// appends go on throughout, and l.mu is held only for the moments a
// segment's files are renamed and the segment list replaced. Offsets never
// change: batches keep their base offset and lastOffsetDelta, and removed
// batches leave gaps, which reads and recovery accept.
//
// The pass. The log remembers the offset up to which it has been cleaned,
// l.cleaned (checkpointed by a Dir in cleaner-offset-checkpoint; 0 after a
// plain Open, which costs the first pass a full clean, not correctness).
// The dirty range runs from there to the active segment's base. A first
// scan of the closed segments fills a compact.OffsetMap (key -> latest
// offset) from the dirty range, cutting the range short where the map
// fills up, and notes each producer id's last batch. Then every closed
// segment from the log start to the end of the dirty range is rewritten,
// oldest first, through compact.Policy.FilterBatch: a record survives if
// it is its key's latest (or its key is not in the map), a tombstone only
// while younger than DeleteRetentionMs, and a batch whose records all go
// is kept as an empty batch if it is its producer's last (so idempotent
// producers keep their sequence state), or if it is the last batch of the
// closed segments (so a fetch beyond the last record still finds a batch),
// or the last of the first segment and nothing else is left in it (so the
// first segment, which holds the log start offset, stays non-empty and
// retention can measure it). Records past the end of the dirty range are
// never dropped: a batch straddling it keeps its tombstones, and batches
// after it are copied as they are. A segment that comes out empty is
// deleted (its range becomes part of the gap at the end of the segment
// before it); one that comes out unchanged is left alone.
//
// Why tombstones may go: one is dropped only when it is its key's latest
// in the map (or its key is no longer in the map because it was cleaned in
// an earlier pass, which dropped every older record of the key). Every
// older record of the key is in a segment at or before the tombstone's,
// and segments are swapped oldest first, each durably before the next
// starts: so once a tombstone's removal can survive a crash, so does the
// removal of every value it deleted.
//
// The swap, for a segment X (files X.log, X.index, X.timeindex):
//
//  1. Write X.log.cleaned, X.index.cleaned, X.timeindex.cleaned; fsync
//     all three. (A crash: list() removes *.cleaned at the next open; the
//     old segment is untouched.)
//  2. Under l.mu, if X is still in the list: rename X.log.cleaned to
//     X.log.swap, freeze X (its indexes are loaded; from now on nothing
//     rebuilds, writes or syncs its index files) and remove X.index and
//     X.timeindex. Then fsync the directory: the commit point. (A crash
//     before the fsync returns leaves X.log, maybe X.log.swap, maybe the
//     old indexes. A .swap file is always complete, its data synced before
//     the rename: list() completes it, see below. Without one, X.log is
//     the old data and any index missing is rebuilt from it.)
//  3. Under l.mu, if X is still in the list (retention may have deleted it
//     meanwhile: then drop the new files and stop): rename X.log.swap over
//     X.log (atomic), rename the .cleaned indexes into place, replace the
//     segment in the list; then fsync the directory. Readers holding the
//     old segment keep reading its open file (the replaced inode) and
//     mapped indexes until they release it.
//
// At open, list() finishes an interrupted swap: for X.log.swap with an
// X.log beside it, remove X.index and X.timeindex (whichever version they
// are), rename X.log.swap over X.log, and let the indexes be rebuilt from
// it; an X.log.swap without X.log is a segment retention deleted after the
// commit: the swap is removed. Any crash therefore leaves X.log either
// wholly old or wholly new, and its index files either matching it or
// missing, never the old indexes with the new data: they were removed
// durably (step 2) before the new data could take X.log's name, and the
// new ones are only renamed in after it (step 3), or discarded by list().
//
// Deleting an emptied segment is retention's doom (rename to *.deleted)
// under l.mu, then a directory fsync.

// DefaultCompactMapCapacity is CompactOptions.MapCapacity's default: about
// 44 MB of offset map (see compact.OffsetMap).
const DefaultCompactMapCapacity = 1 << 20

// CompactOptions configures a compaction pass.
type CompactOptions struct {
	// Now is the time the tombstone horizon counts back from; zero means
	// the log's clock (Options.Now).
	Now time.Time
	// DeleteRetentionMs (Kafka's delete.retention.ms): tombstones whose
	// record timestamp is older than Now-DeleteRetentionMs are dropped.
	// Negative keeps every tombstone.
	DeleteRetentionMs int64
	// MapCapacity is how many keys the pass's offset map holds (about 32
	// bytes each, allocated up front); when the dirty part of the log has
	// more, the pass cleans up to where the map filled and the next pass
	// goes on from there. 0 means DefaultCompactMapCapacity.
	MapCapacity int
	// MinCleanableRatio (Kafka's min.cleanable.dirty.ratio, 0.5 by
	// default there): skip the pass when the dirty bytes (the closed
	// segments not yet cleaned) are less than this fraction of all closed
	// bytes. 0 always cleans.
	MinCleanableRatio float64
}

// CompactStats describes a compaction pass.
type CompactStats struct {
	// SegmentsCleaned is how many closed segments the pass went through
	// (each rewritten, deleted because nothing in it survived, or left as
	// it was because nothing in it changed).
	SegmentsCleaned int
	// BytesBefore and BytesAfter are those segments' sizes before and
	// after.
	BytesBefore, BytesAfter int64
	// RecordsRemoved counts the records dropped.
	RecordsRemoved int64
	// CleanedTo is the offset up to which the log is now clean: the next
	// pass's dirty range starts there.
	CleanedTo int64
}

// Suffixes of compaction's files: output not yet committed, and output
// committed but not yet in place.
const (
	cleanedSuffix = ".cleaned"
	swapSuffix    = ".swap"
)

// errCrashed is what Compact returns when the test hook stopped it as a
// crash would.
var errCrashed = errors.New("segments: compaction stopped by the test hook")

// Compact runs one compaction pass over the closed segments (see the notes
// at the top of compact.go): it keeps the latest record of each key,
// drops tombstones older than DeleteRetentionMs, and keeps offsets. It
// does not block appends or reads; readers still holding a segment it
// replaced keep reading the old one. Passes on one log are serialized.
//
// A pass that fails leaves the log readable and consistent: the segments
// it had swapped stay swapped, the others as they were, and the next pass
// starts where this one started.
//
// The log does not know about transactions: records of aborted
// transactions are compacted like any others, and control batches are
// kept as they are.
func (l *Log) Compact(opts CompactOptions) (CompactStats, error) {
	var st CompactStats
	if opts.MapCapacity < 0 {
		return st, fmt.Errorf("segments: compact: MapCapacity %d is negative", opts.MapCapacity)
	}
	if math.IsNaN(opts.MinCleanableRatio) || opts.MinCleanableRatio < 0 || opts.MinCleanableRatio > 1 {
		return st, fmt.Errorf("segments: compact: MinCleanableRatio %v not in [0, 1]", opts.MinCleanableRatio)
	}
	if opts.MapCapacity == 0 {
		opts.MapCapacity = DefaultCompactMapCapacity
	}
	if opts.Now.IsZero() {
		opts.Now = l.opts.Now()
	}
	l.cleanMu.Lock()
	defer l.cleanMu.Unlock()

	// The closed segments, pinned for the pass.
	l.mu.Lock()
	if l.closed.Load() {
		l.mu.Unlock()
		return st, ErrClosed
	}
	segs := *l.segs.Load()
	closed := segs[:len(segs)-1]
	activeBase := l.active.base
	firstDirty := max(l.cleaned.Load(), l.start.Load())
	for _, s := range closed {
		s.acquire() // cannot fail: the list holds a reference, under mu
	}
	l.mu.Unlock()
	defer func() {
		for _, s := range closed {
			s.release()
		}
	}()
	st.CleanedTo = firstDirty
	if firstDirty >= activeBase || len(closed) == 0 {
		return st, nil
	}
	var total, dirty int64
	for i, s := range closed {
		n := s.size.Load()
		total += n
		if segLimit(closed, i, activeBase) > firstDirty {
			dirty += n
		}
	}
	if dirty == 0 || float64(dirty) < opts.MinCleanableRatio*float64(total) {
		return st, nil
	}

	m := getOffsetMap(opts.MapCapacity, activeBase-firstDirty)
	defer putOffsetMap(m)
	p := &cleanPass{l: l, firstDirty: firstDirty}
	if err := p.scan(closed, m, activeBase); err != nil {
		return st, err
	}
	horizon := int64(0)
	if opts.DeleteRetentionMs >= 0 {
		horizon = max(opts.Now.UnixMilli()-opts.DeleteRetentionMs, 0)
	}
	p.policy = compact.Policy{Map: m, TombstoneHorizon: horizon}
	p.keepTombstones = compact.Policy{Map: m}

	for i, o := range closed {
		if o.base >= p.dirtyEnd {
			break
		}
		before, after, removed, done, err := p.cleanSegment(o, i == 0, i == len(closed)-1)
		if err != nil {
			return st, err
		}
		if !done {
			continue // retention deleted it meanwhile
		}
		st.SegmentsCleaned++
		st.BytesBefore += before
		st.BytesAfter += after
		st.RecordsRemoved += removed
	}
	if p.malformed > 0 {
		l.logger.Warn("segments: compaction kept batches it could not decode as they were",
			"dir", l.dir, "batches", p.malformed, "error", p.malformedErr.Error())
	}
	l.cleaned.Store(p.dirtyEnd)
	st.CleanedTo = p.dirtyEnd
	return st, nil
}

// CleanedOffset is the offset up to which the log has been compacted:
// the next Compact's dirty range starts there (or at the start offset, if
// that is higher).
func (l *Log) CleanedOffset() int64 { return max(l.cleaned.Load(), l.start.Load()) }

// segLimit is where closed[i]'s offsets end: the next segment's base.
func segLimit(closed []*segment, i int, activeBase int64) int64 {
	if i+1 < len(closed) {
		return closed[i+1].base
	}
	return activeBase
}

// offsetMaps keeps the last pass's offset map for the next, so that a
// cleaner going from log to log does not allocate tens of megabytes each
// time.
var offsetMaps struct {
	sync.Mutex
	m *compact.OffsetMap
}

// getOffsetMap returns an empty map of capacity keys, or fewer when the
// dirty range has fewer offsets (then a power of two, for reuse).
func getOffsetMap(capacity int, offsets int64) *compact.OffsetMap {
	if offsets < int64(capacity) {
		c := 1024
		for int64(c) < offsets {
			c *= 2
		}
		capacity = min(capacity, c)
	}
	offsetMaps.Lock()
	m := offsetMaps.m
	if m != nil && m.Capacity() == capacity {
		offsetMaps.m = nil
	} else {
		m = nil
	}
	offsetMaps.Unlock()
	if m == nil {
		return compact.NewOffsetMap(capacity)
	}
	m.Reset()
	return m
}

func putOffsetMap(m *compact.OffsetMap) {
	offsetMaps.Lock()
	offsetMaps.m = m
	offsetMaps.Unlock()
}

// cleanPass is the state of one Compact pass.
type cleanPass struct {
	l          *Log
	firstDirty int64
	// dirtyEnd is where the map's coverage ends: records below it (and at
	// or past firstDirty) are in the map.
	dirtyEnd int64
	// lastBase is the base offset of each producer id's last batch in the
	// closed segments.
	lastBase map[int64]int64
	// policy drops shadowed records and old tombstones; keepTombstones
	// only shadowed records, for batches reaching past dirtyEnd.
	policy, keepTombstones compact.Policy

	out     []byte       // output not yet written
	lastBuf []byte       // the last batch read, when it was dropped
	br      *batchReader // reads the segment being rewritten

	malformed    int
	malformedErr error
}

// scan fills m from the dirty range and notes each producer's last batch,
// reading the closed segments once.
func (p *cleanPass) scan(closed []*segment, m *compact.OffsetMap, activeBase int64) error {
	p.lastBase = make(map[int64]int64)
	p.dirtyEnd = activeBase
	full := false
	var br *batchReader
	for i, s := range closed {
		size := s.size.Load()
		if br == nil {
			br = newBatchReader(s.f, s.path(), size)
		} else {
			br.reset(s.f, s.path(), size)
		}
		// Only headers are needed before the dirty range and after the
		// map is full.
		headersOnly := full || segLimit(closed, i, activeBase) <= p.firstDirty
		for pos := int64(0); pos < size; {
			if p.l.closed.Load() {
				return ErrClosed
			}
			h, err := br.header(pos)
			if err != nil {
				return fmt.Errorf("segments: compact: %w", err)
			}
			if h.ProducerID >= 0 {
				p.lastBase[h.ProducerID] = h.BaseOffset
			}
			if !headersOnly && !full && h.LastOffset() >= p.firstDirty && h.Attributes&attrControl == 0 {
				b, err := br.batch(pos, h)
				if err != nil {
					return fmt.Errorf("segments: compact: %w", err)
				}
				last, isFull, err := m.AddBatchFrom(b, p.firstDirty)
				switch {
				case err != nil:
					// Its keys stay out of the map, and its records in
					// the log: cleanSegment keeps it as it is.
					p.malformed++
					p.malformedErr = fmt.Errorf("%s at offset %d: %w", s.path(), h.BaseOffset, err)
				case isFull:
					full = true
					p.dirtyEnd = max(last+1, p.firstDirty+1)
				}
			}
			pos += h.size64()
		}
	}
	p.malformed, p.malformedErr = 0, nil // counted again when cleaning
	return nil
}

// cleanSegment rewrites o and swaps the result in. It returns o's size,
// the new size and the records removed; done is false if retention
// deleted o meanwhile.
func (p *cleanPass) cleanSegment(o *segment, first, last bool) (before, after, removed int64, done bool, err error) {
	l := p.l
	before = o.size.Load()
	// Loaded now, so that the old segment can keep serving reads from its
	// indexes once their files are gone.
	if _, err := o.indexes(); err != nil {
		return 0, 0, 0, false, fmt.Errorf("segments: compact %s: %w", o.path(), err)
	}
	n, changed, removed, err := p.rewrite(o, first, last)
	if err != nil {
		return 0, 0, 0, false, fmt.Errorf("segments: compact %s: %w", o.path(), err)
	}
	if changed && n == nil {
		dropped, gone, err := l.dropEmptied(o)
		if dropped || gone || err != nil {
			return before, 0, removed, dropped, err
		}
		// Retention made it the first segment since the pass began: it
		// must keep a batch. Skipping it is not an option: a later
		// segment may be about to lose a tombstone whose deleted
		// values are here.
		if n, changed, removed, err = p.rewrite(o, true, last); err != nil {
			return 0, 0, 0, false, fmt.Errorf("segments: compact %s: %w", o.path(), err)
		}
	}
	if !changed || n == nil {
		return before, before, 0, true, nil
	}
	if l.hook("written") {
		return 0, 0, 0, false, errCrashed
	}
	swapped, err := l.swapIn(o, n)
	if err != nil || !swapped {
		return 0, 0, 0, false, err
	}
	return before, n.size.Load(), removed, true, nil
}

// rewrite writes what survives of o to its .cleaned files. It returns the
// new segment (indexes built and sealed, files synced, not yet in the
// list), or nil if nothing survives; changed is false (and no segment
// returned) when the rewrite would be a copy.
func (p *cleanPass) rewrite(o *segment, first, last bool) (n *segment, changed bool, removed int64, err error) {
	l := p.l
	size := o.size.Load()
	f, err := l.fs.OpenFile(o.path()+cleanedSuffix, os.O_RDWR|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return nil, false, 0, err
	}
	ns := l.newSegment(o.base, f)
	ns.next.Store(o.next.Load())
	interval := l.opts.IndexIntervalBytes
	// The old segment's size bounds the new one's entries, whatever
	// SegmentBytes is now.
	ix, err := ns.newIndexesCap(cleanedSuffix, offsetIndexKind.capSlots(size, interval), timeIndexKind.capSlots(size, interval))
	if err == nil {
		ns.ix.Store(ix)
	}
	defer func() {
		if err != nil || n == nil {
			_ = l.discard(o, ns, false)
			n = nil
		}
	}()
	if err != nil {
		return nil, false, 0, err
	}
	n = ns

	var written int64 // bytes of p.out already in the file
	var maxHdr BatchHeader
	// emit indexes the output batches from p.out[from:] and flushes p.out
	// when it is large.
	emit := func(from int) error {
		if from < len(p.out) {
			h, _ := ParseBatchHeader(p.out[from:])
			if n.noteMax(h) {
				maxHdr = h
			}
			if err := ix.reserve(); err != nil {
				return err
			}
			n.indexBatch(ix, h, written+int64(from), n.maxTs.Load(), n.maxOff.Load())
		}
		if len(p.out) >= 1<<20 {
			if _, err := f.WriteAt(p.out, written); err != nil {
				return err
			}
			written += int64(len(p.out))
			p.out = p.out[:0]
		}
		return nil
	}

	if p.br == nil {
		p.br = newBatchReader(o.f, o.path(), size)
	} else {
		p.br.reset(o.f, o.path(), size)
	}
	br := p.br
	p.out = p.out[:0]
	dropped := false // the last batch read was dropped: it is in p.lastBuf
	var lastPolicy *compact.Policy
	changedBefore := false // changed, before the last batch was dropped
	for pos := int64(0); pos < size; {
		if l.closed.Load() {
			return n, false, 0, ErrClosed
		}
		h, err := br.header(pos)
		if err != nil {
			return n, false, 0, err
		}
		b, err := br.batch(pos, h)
		if err != nil {
			return n, false, 0, err
		}
		pos += h.size64()
		from := len(p.out)
		if h.BaseOffset >= p.dirtyEnd {
			p.out = append(p.out, b...)
			dropped = false
			if err := emit(from); err != nil {
				return n, false, 0, err
			}
			continue
		}
		pol := &p.policy
		if h.LastOffset() >= p.dirtyEnd {
			pol = &p.keepTombstones
		}
		keepEmpty := h.ProducerID >= 0 && p.lastBase[h.ProducerID] == h.BaseOffset
		out, kept, ch, ferr := pol.FilterBatch(p.out, b, keepEmpty)
		if ferr != nil {
			p.malformed++
			p.malformedErr = fmt.Errorf("%s at offset %d: %w", o.path(), h.BaseOffset, ferr)
			out, kept, ch = append(p.out, b...), int(h.RecordCount), false
		}
		p.out = out
		changedBefore = changed
		changed = changed || ch
		removed += int64(h.RecordCount) - int64(kept)
		dropped = len(p.out) == from
		if dropped {
			p.lastBuf, lastPolicy = append(p.lastBuf[:0], b...), pol
		}
		if err := emit(from); err != nil {
			return n, false, 0, err
		}
	}
	if dropped && (last || (first && written+int64(len(p.out)) == 0)) {
		// Keep the segment's last batch, empty (see the notes above).
		from := len(p.out)
		if p.out, _, _, err = lastPolicy.FilterBatch(p.out, p.lastBuf, true); err != nil {
			return n, false, 0, err
		}
		if bytes.Equal(p.out[from:], p.lastBuf) {
			changed = changedBefore // it was empty already
		}
		if err := emit(from); err != nil {
			return n, false, 0, err
		}
	}
	if !changed {
		return nil, false, 0, nil
	}
	if len(p.out) > 0 {
		if _, err := f.WriteAt(p.out, written); err != nil {
			return n, false, 0, err
		}
		written += int64(len(p.out))
		p.out = p.out[:0]
	}
	if written == 0 {
		return nil, true, removed, nil
	}
	n.size.Store(written)
	n.alloc, n.syncedSize = written, written
	if n.maxTs.Load() >= 0 {
		n.maxHdr, n.maxHdrOK = maxHdr, true // n is not shared yet
	}
	if err := n.sealIndexes(ix); err != nil {
		return n, false, 0, err
	}
	if err := n.datasync(); err != nil {
		return n, false, 0, err
	}
	if err := errors.Join(ix.off.sync(), ix.tim.sync()); err != nil {
		return n, false, 0, err
	}
	return n, true, removed, nil
}

// hook runs the test hook for a step of a swap; true means stop as a
// crash would, leaving everything as it is.
func (l *Log) hook(step string) bool {
	return l.compactHook != nil && l.compactHook(step)
}

// holds returns the index of s in the segment list, or -1. REQUIRES: mu
// held.
func (l *Log) holds(s *segment) int {
	segs := *l.segs.Load()
	if i := segmentFor(segs, s.base); segs[i] == s {
		return i
	}
	return -1
}

// discard closes n, the unpublished replacement of o, and removes its
// files under whichever names they have reached (committed tells whether
// the log file was renamed to .swap).
func (l *Log) discard(o, n *segment, committed bool) error {
	var errs []error
	if n != nil {
		errs = append(errs, n.unref())
	}
	paths := []string{o.path() + cleanedSuffix, o.indexPath() + cleanedSuffix, o.timePath() + cleanedSuffix}
	if committed {
		paths[0] = o.path() + swapSuffix
	}
	for _, path := range paths {
		if err := l.fs.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// swapIn replaces o, a closed segment, with n, its compacted version,
// written and synced under the .cleaned names (see the notes at the top
// of the file for the sequence and why it is crash-safe). It reports false
// if retention deleted o meanwhile: n is dropped.
func (l *Log) swapIn(o, n *segment) (bool, error) {
	fail := func(committed bool, err error) (bool, error) {
		return false, errors.Join(fmt.Errorf("segments: compact %s: %w", o.path(), err), l.discard(o, n, committed))
	}
	// abandon drops n when the log closed or o is gone.
	abandon := func(closed, committed bool) (bool, error) {
		err := l.discard(o, n, committed)
		if closed {
			err = errors.Join(ErrClosed, err)
		}
		return false, err
	}
	// Step 2: commit.
	l.mu.Lock()
	if l.closed.Load() || l.holds(o) < 0 {
		closed := l.closed.Load()
		l.mu.Unlock()
		return abandon(closed, false)
	}
	if err := l.fs.Rename(o.path()+cleanedSuffix, o.path()+swapSuffix); err != nil {
		l.mu.Unlock()
		return fail(false, err)
	}
	if l.hook("swap") {
		l.mu.Unlock()
		return false, errCrashed
	}
	o.idxMu.Lock()
	o.frozen = true
	o.idxMu.Unlock()
	for _, path := range []string{o.indexPath(), o.timePath()} {
		if err := l.fs.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.mu.Unlock()
			// The swap file may outlive us: the next open then
			// completes it, removing the index files first.
			return fail(true, err)
		}
	}
	l.mu.Unlock()
	if l.hook("unindexed") {
		return false, errCrashed
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return fail(true, fmt.Errorf("sync dir: %w", err))
	}
	if l.hook("committed") {
		return false, errCrashed
	}

	// Step 3: in place.
	l.mu.Lock()
	i := l.holds(o)
	if l.closed.Load() || i < 0 {
		closed := l.closed.Load()
		l.mu.Unlock()
		return abandon(closed, true)
	}
	if err := l.fs.Rename(o.path()+swapSuffix, o.path()); err != nil {
		l.mu.Unlock()
		return fail(true, err)
	}
	if l.hook("renamed") {
		l.mu.Unlock()
		return false, errCrashed
	}
	// Reopen the data under its name (for FileRange.File.Name, error
	// messages); if that fails, the descriptor from before the rename
	// serves as well.
	if f, err := l.fs.OpenFile(o.path(), os.O_RDWR, 0); err == nil {
		_ = n.f.Close()
		n.f, n.osf = f, osFileOf(f)
	}
	ix := n.ix.Load()
	for _, x := range []*indexFile{ix.off, ix.tim} {
		final := x.path[:len(x.path)-len(cleanedSuffix)]
		if err := l.fs.Rename(x.path, final); err != nil {
			// Readers use the mapping; the next open rebuilds the
			// missing file (and removes the .cleaned one).
			l.logger.Warn("segments: compact: index left under its temporary name", "file", x.path, "error", err.Error())
			continue
		}
		x.path = final
		if l.hook("reindexed") {
			l.mu.Unlock()
			return false, errCrashed
		}
	}
	l.replaceSegment(i, n)
	l.mu.Unlock()
	o.release() // the list's reference
	if l.hook("swapped") {
		return true, errCrashed
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return true, fmt.Errorf("segments: compact %s: sync dir: %w", o.path(), err)
	}
	return true, nil
}

// replaceSegment puts n in the place of the segment at index i of the
// list, or, n nil, deletes that segment, its offsets becoming part of the
// gap at the end of the segment before it. REQUIRES: mu held.
func (l *Log) replaceSegment(i int, n *segment) {
	old := *l.segs.Load()
	o := old[i]
	segs := make([]*segment, 0, len(old))
	segs = append(segs, old[:i]...)
	if n != nil {
		segs = append(segs, n)
		l.size.Add(n.size.Load() - o.size.Load())
	} else {
		old[i-1].next.Store(o.next.Load())
		l.size.Add(-o.size.Load())
	}
	segs = append(segs, old[i+1:]...)
	l.segs.Store(&segs)
	// n's files were synced before it took over.
	for j, u := range l.unsynced {
		if u == o {
			l.unsynced = append(l.unsynced[:j:j], l.unsynced[j+1:]...)
			break
		}
	}
	l.dirDirty = true
	l.maxMu.Lock()
	maxGone := l.maxSeg == o
	l.maxMu.Unlock()
	if maxGone {
		if err := l.findMax(segs); err != nil {
			l.logger.Warn("segments: compact: largest timestamp unknown", "dir", l.dir, "error", err.Error())
		}
	}
}

// dropEmptied deletes o, a closed segment none of whose batches survived
// compaction, and reports whether it did; it does not if retention
// deleted o first (gone), nor if o is the first segment, which holds the
// log start offset.
func (l *Log) dropEmptied(o *segment) (dropped, gone bool, err error) {
	l.mu.Lock()
	i := l.holds(o)
	if l.closed.Load() || i <= 0 {
		closed := l.closed.Load()
		l.mu.Unlock()
		if closed {
			return false, false, ErrClosed
		}
		return false, i < 0, nil
	}
	l.replaceSegment(i, nil)
	err = o.doom()
	l.mu.Unlock()
	err = errors.Join(err, o.unref())
	if l.hook("dropped") {
		return true, false, errCrashed
	}
	if err == nil {
		err = l.fs.SyncDir(l.dir)
	}
	if err != nil {
		return true, false, fmt.Errorf("segments: compact: delete emptied segment %s: %w", o.path(), err)
	}
	return true, false, nil
}

// finishSwap completes, at open, a compaction swap that committed but was
// not finished (see the notes at the top of the file), and reports
// whether it did; a swap whose segment is gone is removed.
func (l *Log) finishSwap(base int64, hasLog bool) (bool, error) {
	path := filepath.Join(l.dir, segmentName(base))
	swap := path + swapSuffix
	if !hasLog {
		if err := l.fs.Remove(swap); err != nil && !errors.Is(err, os.ErrNotExist) {
			return false, fmt.Errorf("segments: remove leftover: %w", err)
		}
		return false, nil
	}
	stem := path[:len(path)-len(segmentSuffix)]
	for _, p := range []string{stem + offsetIndexKind.suffix, stem + timeIndexKind.suffix} {
		if err := l.fs.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return false, fmt.Errorf("segments: finish compaction of %s: %w", path, err)
		}
	}
	if err := l.fs.Rename(swap, path); err != nil {
		return false, fmt.Errorf("segments: finish compaction of %s: %w", path, err)
	}
	l.logger.Info("segments: finished an interrupted compaction", "file", path)
	return true, nil
}
