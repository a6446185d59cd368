package segments

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	segmentSuffix  = ".log"
	deletedSuffix  = ".deleted"
	segmentNameLen = 20 // digits of the zero-padded base offset
	filePerm       = 0o644
	dirPerm        = 0o755
)

// segment is one segment: a .log file holding a run of batches starting
// at offset base, and its two index files.
//
// Lifetime. A segment is reference-counted: the log's segment list holds
// one reference, and every reader holds one while it uses the segment's
// files. Deleting a segment (retention, start offset) takes it out of the
// list and renames its files to *.deleted; closing the log drops the
// list's references. The files are closed, unmapped and, if deleted,
// removed when the last reference goes.
type segment struct {
	base    int64
	stem    string // path without suffix: dir/%020d
	logPath string // stem + ".log"
	l       *Log
	f       File
	osf     *os.File // nil when the FS has no descriptor to give

	// size is the committed size: the file bytes that hold whole, written
	// batches. The appender stores it after each write returns; readers
	// load it once and never read past it.
	size atomic.Int64
	// next is the offset that follows the last committed batch.
	next atomic.Int64
	// maxTs is the largest max timestamp of the segment's batches (-1:
	// none has a timestamp) and maxOff the base offset of the first batch
	// holding it. Stored by the appender after the batch is committed.
	maxTs  atomic.Int64
	maxOff atomic.Int64

	refs      atomic.Int32
	releaseFn func() // s.release, made once so handing it out is free

	// idxMu guards loading, rebuilding and sealing the indexes, and active
	// and doomed. ix is loaded on first use; readers load it without the
	// lock.
	idxMu   sync.Mutex
	ix      atomic.Pointer[segIndexes]
	active  bool // indexes load writable (the appender may add entries)
	doomed  bool // deleted: do not rebuild files for it
	renamed bool // its files are now *.deleted
	// frozen: compaction is replacing the segment's files (its index
	// files are already gone from the directory): never write, rebuild or
	// sync files for it. Its loaded indexes stay usable.
	frozen  bool
	retired []*indexFile // replaced indexes, unmapped with the segment

	// Guarded by Log.maxMu.
	maxHdr   BatchHeader // the batch at maxOff, when maxHdrOK
	maxHdrOK bool

	// Appender state, guarded by Log.mu (or single-threaded recovery).
	alloc      int64     // file size, preallocation included
	syncedSize int64     // bytes known to be on stable storage
	indexDirty bool      // sealed index files not yet synced
	firstTs    int64     // first batch's max timestamp; noFirstTs until known
	created    time.Time // for rolling by time without timestamps
}

// segIndexes is a segment's two loaded indexes and the appender's cursors
// over them.
type segIndexes struct {
	off, tim *indexFile
	// Appender state (Log.mu): where the last entries were added, and the
	// last time entry's timestamp.
	lastOffPos, lastTimePos, lastTs int64
}

const noFirstTs = -2

// segmentName is the file name of the segment with the given base offset.
func segmentName(base int64) string {
	return fmt.Sprintf("%0*d%s", segmentNameLen, base, segmentSuffix)
}

// parseBase returns the base offset a file name starts with and the rest
// of the name, or false if it does not start with 20 digits.
func parseBase(name string) (int64, string, bool) {
	if len(name) < segmentNameLen {
		return 0, "", false
	}
	digits := name[:segmentNameLen]
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, "", false
		}
	}
	base, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, "", false
	}
	return base, name[segmentNameLen:], true
}

// parseSegmentName returns the base offset of a segment file name, and
// false for any other file.
func parseSegmentName(name string) (int64, bool) {
	base, rest, ok := parseBase(name)
	return base, ok && rest == segmentSuffix
}

func (l *Log) newSegment(base int64, f File) *segment {
	stem := filepath.Join(l.dir, strings.TrimSuffix(segmentName(base), segmentSuffix))
	s := &segment{
		base:    base,
		stem:    stem,
		logPath: stem + segmentSuffix,
		l:       l,
		f:       f,
		osf:     osFileOf(f),
		firstTs: noFirstTs,
		created: l.opts.Now(),
	}
	s.next.Store(base)
	s.maxTs.Store(-1)
	s.maxOff.Store(-1)
	s.refs.Store(1)
	s.releaseFn = s.release
	return s
}

func (s *segment) path() string      { return s.logPath }
func (s *segment) indexPath() string { return s.stem + offsetIndexKind.suffix }
func (s *segment) timePath() string  { return s.stem + timeIndexKind.suffix }

// openSegment opens an existing segment file for reading and writing.
func (l *Log) openSegment(base int64) (*segment, error) {
	path := filepath.Join(l.dir, segmentName(base))
	f, err := l.fs.OpenFile(path, os.O_RDWR, filePerm)
	if err != nil {
		return nil, fmt.Errorf("segments: open segment: %w", err)
	}
	return l.newSegment(base, f), nil
}

// createSegment creates an empty active segment: its .log and two index
// files holding only their headers. Existing files of those names are
// truncated: a new segment is only created at the log end, so any file
// already there holds nothing the log still refers to.
func (l *Log) createSegment(base int64) (*segment, error) {
	path := filepath.Join(l.dir, segmentName(base))
	f, err := l.fs.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return nil, fmt.Errorf("segments: create segment: %w", err)
	}
	s := l.newSegment(base, f)
	s.active = true
	for _, k := range []*indexKind{offsetIndexKind, timeIndexKind} {
		if err := createIndexFile(l.fs, k, s.stem+k.suffix); err != nil {
			_ = f.Close()
			_ = l.fs.Remove(path)
			_ = l.fs.Remove(s.indexPath())
			return nil, fmt.Errorf("segments: create segment: %w", err)
		}
	}
	return s, nil
}

func (s *segment) isFrozen() bool {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	return s.frozen
}

// acquire takes a reference, failing if the segment is already gone.
func (s *segment) acquire() bool {
	for {
		r := s.refs.Load()
		if r <= 0 {
			return false
		}
		if s.refs.CompareAndSwap(r, r+1) {
			return true
		}
	}
}

// release drops a reference, logging what goes wrong freeing the files.
func (s *segment) release() {
	if err := s.unref(); err != nil {
		s.l.logger.Warn("segments: closing segment files", "file", s.path(), "error", err.Error())
	}
}

// unref drops a reference; the last one closes the files (and removes
// them if the segment was deleted).
func (s *segment) unref() error {
	if s.refs.Add(-1) != 0 {
		return nil
	}
	s.idxMu.Lock()
	ix := s.ix.Swap(nil)
	retired := s.retired
	s.retired = nil
	doomed, renamed := s.doomed, s.renamed
	s.idxMu.Unlock()
	var errs []error
	if ix != nil {
		errs = append(errs, ix.off.close(), ix.tim.close())
	}
	for _, x := range retired {
		errs = append(errs, x.close())
	}
	if err := s.f.Close(); err != nil {
		errs = append(errs, fmt.Errorf("segments: close %s: %w", s.path(), err))
	}
	if doomed {
		for _, p := range []string{s.path(), s.indexPath(), s.timePath()} {
			if renamed {
				p += deletedSuffix
			}
			if err := s.l.fs.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("segments: remove deleted segment: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// doom marks the segment deleted and renames its files to *.deleted, so a
// crash before they are removed cannot bring it back. REQUIRES: Log.mu
// held, the segment already out of the list.
func (s *segment) doom() error {
	s.idxMu.Lock()
	s.doomed = true
	s.idxMu.Unlock()
	var errs []error
	for _, p := range []string{s.path(), s.indexPath(), s.timePath()} {
		if err := s.l.fs.Rename(p, p+deletedSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		// Some files kept their names: remove by those names, and the
		// renamed ones too.
		for _, p := range []string{s.path(), s.indexPath(), s.timePath()} {
			_ = s.l.fs.Rename(p+deletedSuffix, p)
		}
		return fmt.Errorf("segments: delete segment %s: %w", s.path(), errors.Join(errs...))
	}
	s.idxMu.Lock()
	s.renamed = true
	s.idxMu.Unlock()
	return nil
}

// indexes returns the segment's indexes, loading them on first use. An
// index that is missing or fails its checks is rebuilt from the .log.
func (s *segment) indexes() (*segIndexes, error) {
	if ix := s.ix.Load(); ix != nil {
		return ix, nil
	}
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	if ix := s.ix.Load(); ix != nil {
		return ix, nil
	}
	ix, err := s.loadIndexes()
	if errors.Is(err, errIndexCorrupt) {
		s.l.logger.Warn("segments: rebuilding index", "file", s.path(), "reason", err.Error())
		ix, err = s.rebuildIndexes()
	}
	if err != nil {
		return nil, err
	}
	s.ix.Store(ix)
	return ix, nil
}

// loadIndexes opens and checks the index files. REQUIRES: idxMu held.
func (s *segment) loadIndexes() (*segIndexes, error) {
	l := s.l
	off, err := openIndexFile(l.fs, offsetIndexKind, s.indexPath(), s.active, int(l.offCap.Load()))
	if err != nil {
		return nil, err
	}
	tim, err := openIndexFile(l.fs, timeIndexKind, s.timePath(), s.active, int(l.timeCap.Load()))
	if err != nil {
		_ = off.close()
		return nil, err
	}
	ix := &segIndexes{off: off, tim: tim, lastTs: -1}
	relEnd, size := s.next.Load()-s.base, s.size.Load()
	if err := errors.Join(off.checkOffsets(relEnd, size), tim.checkTimes(relEnd)); err != nil {
		_ = off.close()
		_ = tim.close()
		return nil, err
	}
	if n := int(off.n.Load()); n > 0 {
		_, ix.lastOffPos = off.offsetEntry(n - 1)
	}
	if n := int(tim.n.Load()); n > 0 {
		ix.lastTs, _ = tim.timeEntry(n - 1)
		ix.lastTimePos = size // the entry's position is not stored; wait an interval from here
	}
	return ix, nil
}

// newIndexes creates empty index files (named with the given extra
// suffix) and loads them writable, for recovery or a rebuild to fill.
// REQUIRES: idxMu held (or recovery).
func (s *segment) newIndexes(extra string) (*segIndexes, error) {
	return s.newIndexesCap(extra, int(s.l.offCap.Load()), int(s.l.timeCap.Load()))
}

// newIndexesCap is newIndexes with the given capacities in slots.
func (s *segment) newIndexesCap(extra string, offCap, timeCap int) (*segIndexes, error) {
	l := s.l
	for _, k := range []*indexKind{offsetIndexKind, timeIndexKind} {
		if err := createIndexFile(l.fs, k, s.stem+k.suffix+extra); err != nil {
			return nil, fmt.Errorf("segments: create index: %w", err)
		}
	}
	off, err := openIndexFile(l.fs, offsetIndexKind, s.indexPath()+extra, true, offCap)
	if err != nil {
		return nil, err
	}
	tim, err := openIndexFile(l.fs, timeIndexKind, s.timePath()+extra, true, timeCap)
	if err != nil {
		_ = off.close()
		return nil, err
	}
	return &segIndexes{off: off, tim: tim, lastTs: -1}, nil
}

// rebuildIndexes recreates the index files from the segment's committed
// batches, reading their headers only. The new files are written under
// temporary names and renamed into place, so mappings of the old ones stay
// valid for readers still using them. Batch offsets may have gaps
// (compaction) but never go backwards, and end by s.next. REQUIRES: idxMu
// held.
func (s *segment) rebuildIndexes() (*segIndexes, error) {
	if s.doomed || s.frozen {
		return &segIndexes{off: emptyIndex(offsetIndexKind), tim: emptyIndex(timeIndexKind), lastTs: -1}, nil
	}
	ix, err := s.newIndexes(tmpSuffix)
	if err != nil {
		return nil, err
	}
	size := s.size.Load()
	br := newBatchReader(s.f, s.path(), size)
	next := s.base
	maxTs, maxOff := int64(-1), int64(-1)
	fail := func(err error) (*segIndexes, error) {
		_ = ix.off.close()
		_ = ix.tim.close()
		return nil, fmt.Errorf("segments: rebuild index of %s: %w", s.path(), err)
	}
	for p := int64(0); p < size; {
		h, err := br.header(p)
		if err == nil && h.BaseOffset < next {
			err = &corruptError{pos: p, err: fmt.Errorf("%w: batch starts at offset %d, want %d or more", errOffsetOrder, h.BaseOffset, next)}
		}
		if err == nil {
			err = checkSpan(p, h, s.base)
		}
		if err != nil {
			return fail(err)
		}
		if h.MaxTimestamp > maxTs {
			maxTs, maxOff = h.MaxTimestamp, h.BaseOffset
		}
		s.indexBatch(ix, h, p, maxTs, maxOff)
		next = h.NextOffset()
		p += h.size64()
	}
	if want := s.next.Load(); next > want {
		return fail(&corruptError{pos: size, err: fmt.Errorf("%w: batches end at offset %d, next segment starts at %d", errOffsetOrder, next, want)})
	}
	s.maxTs.Store(maxTs)
	s.maxOff.Store(maxOff)
	if !s.active {
		if err := s.sealIndexes(ix); err != nil {
			return fail(err)
		}
	}
	for _, x := range []*indexFile{ix.off, ix.tim} {
		final := strings.TrimSuffix(x.path, tmpSuffix)
		if err := s.l.fs.Rename(x.path, final); err != nil {
			return fail(err)
		}
		x.path = final
	}
	return ix, nil
}

// noteMax records h as the batch holding the segment's largest timestamp
// if it raises it. REQUIRES: the appender, or recovery.
func (s *segment) noteMax(h BatchHeader) bool {
	if h.MaxTimestamp <= s.maxTs.Load() {
		return false
	}
	s.maxTs.Store(h.MaxTimestamp)
	s.maxOff.Store(h.BaseOffset)
	return true
}

// indexBatch adds the index entries the batch h at position pos calls for
// (see the format notes in index.go), given the segment's largest
// timestamp up to and including h and the batch that holds it.
// REQUIRES: the appender, or exclusive access.
func (s *segment) indexBatch(ix *segIndexes, h BatchHeader, pos, maxTs, maxOff int64) {
	interval := int64(s.l.opts.IndexIntervalBytes)
	rel := h.BaseOffset - s.base
	if ix.off.writable && (ix.off.n.Load() == 0 || pos-ix.lastOffPos >= interval) {
		// Entries are 32-bit; only files written by something else can
		// hold batches past that, and reads find those by walking.
		if rel <= math.MaxInt32 && pos <= math.MaxUint32 && ix.off.room(0) {
			ix.off.addOffset(rel, pos)
			ix.lastOffPos = pos
		}
	}
	if ix.tim.writable && maxTs > ix.lastTs && (ix.tim.n.Load() == 0 || pos-ix.lastTimePos >= interval) {
		if mrel := maxOff - s.base; mrel <= math.MaxInt32 && ix.tim.room(1) {
			ix.tim.addTime(maxTs, mrel)
			ix.lastTs, ix.lastTimePos = maxTs, pos
		}
	}
}

// reserveIndexes allocates index file space for the entries the next
// append may add, so the append cannot fail (or fault) after its batch is
// written. REQUIRES: Log.mu held, indexes loaded writable.
func (ix *segIndexes) reserve() error {
	if err := ix.off.reserve(1); err != nil {
		return err
	}
	return ix.tim.reserve(2)
}

// full reports whether the indexes cannot take another batch's entries.
func (ix *segIndexes) full() bool {
	return !ix.off.room(1) || !ix.tim.room(2)
}

// sealIndexes adds the final time entry and trims both files.
func (s *segment) sealIndexes(ix *segIndexes) error {
	if !ix.off.writable && !ix.tim.writable {
		return nil
	}
	if ts := s.maxTs.Load(); ts > ix.lastTs && ix.tim.writable && ix.tim.room(0) {
		if mrel := s.maxOff.Load() - s.base; mrel <= math.MaxInt32 {
			if err := ix.tim.reserve(1); err != nil {
				return err
			}
			ix.tim.addTime(ts, mrel)
			ix.lastTs = ts
		}
	}
	return errors.Join(ix.off.seal(), ix.tim.seal())
}

// seal ends the segment's time as the active one: the .log is trimmed of
// its preallocated tail, the indexes get their final entry and are
// trimmed. REQUIRES: Log.mu held. On error nothing is lost and seal can
// be retried.
func (s *segment) seal() error {
	size := s.size.Load()
	if s.alloc > size {
		if err := s.f.Truncate(size); err != nil {
			return fmt.Errorf("segments: trim %s: %w", s.path(), err)
		}
		s.alloc = size
	}
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	if ix := s.ix.Load(); ix != nil {
		if err := s.sealIndexes(ix); err != nil {
			return fmt.Errorf("segments: trim index of %s: %w", s.path(), err)
		}
		s.indexDirty = true
	}
	s.active = false
	return nil
}

// syncIndexes makes sealed index files durable. REQUIRES: a reference.
func (s *segment) syncIndexes() error {
	ix := s.ix.Load()
	if ix == nil || s.isFrozen() {
		// Nothing to sync: a frozen segment's index files are gone, and
		// its replacement's were synced before it took over.
		return nil
	}
	if err := errors.Join(ix.off.sync(), ix.tim.sync()); err != nil {
		return fmt.Errorf("segments: sync index of %s: %w", s.path(), err)
	}
	return nil
}

// datasync flushes the segment's data to stable storage. fdatasync also
// flushes the file size, the one piece of metadata an appended file needs.
func (s *segment) datasync() error {
	if err := s.f.Datasync(); err != nil {
		return fmt.Errorf("segments: sync %s: %w", s.path(), mapClosed(err))
	}
	return nil
}

// preallocate grows the file ahead of a write ending at end, in whole
// steps, never past limit (but always to end). REQUIRES: Log.mu held.
func (s *segment) preallocate(end, step, limit int64) error {
	if end <= s.alloc || step == 0 {
		return nil
	}
	target := max(min((end+step-1)/step*step, limit), end)
	if err := s.f.Fallocate(s.alloc, target-s.alloc); err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			s.l.prealloc = 0
			return nil
		}
		return fmt.Errorf("segments: preallocate %s: %w", s.path(), err)
	}
	s.alloc = target
	return nil
}

// mapClosed turns the os package's error for a closed file into ErrClosed,
// which is what a read racing with Log.Close should report.
func mapClosed(err error) error {
	if errors.Is(err, os.ErrClosed) {
		return ErrClosed
	}
	return err
}
