package segments

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
)

// Log is the log of one partition. All methods are safe for concurrent
// use.
type Log struct {
	dir    string
	fs     FS
	opts   Options
	logger *slog.Logger
	// owner and name: the Dir that opened the log and its name there.
	owner *Dir
	name  string
	// offCap, timeCap: capacities in slots of the active segment's
	// indexes, from SegmentBytes (SetRoll changes them).
	offCap, timeCap atomic.Int32

	// mu serializes Append (and the rolls it does), Sync's bookkeeping,
	// retention, Close and Remove. It guards the fields below and each
	// segment's appender state. Readers never take it.
	mu     sync.Mutex
	active *segment
	// dirDirty is set when files were created, renamed or removed since
	// the directory was last synced.
	dirDirty bool
	// unsynced are sealed segments whose data or index files are not yet
	// known to be on stable storage.
	unsynced []*segment
	// failed is set when an fsync failed: what reached the disk is
	// unknown, so the log takes no more appends and every Sync fails.
	failed error
	// prealloc is the preallocation step; 0 once the FS turned out not to
	// support it.
	prealloc int64

	// segs is the segment list, oldest first. It is replaced (never
	// modified) under mu and read without a lock.
	segs atomic.Pointer[[]*segment]
	// start is the log start offset: reads below it are out of range.
	start atomic.Int64
	// end is the log end offset. The appender stores it after the batch is
	// committed to its segment, so every offset below it is readable.
	end atomic.Int64
	// size is the committed bytes over all segments.
	size atomic.Int64
	// rp is the recovery point: offsets below it were on stable storage
	// when the last Sync returned (or when the log was opened).
	rp     atomic.Int64
	closed atomic.Bool

	// maxMu guards maxSeg and the segments' maxHdr: the segment holding
	// the batch with the log's largest timestamp.
	maxMu  sync.Mutex
	maxSeg *segment

	// cleanMu serializes Compact passes; Close waits for the one running
	// (which stops at its next batch) so that no compaction file
	// operation outlives the log.
	cleanMu sync.Mutex
	// cleaned is the offset up to which the log has been compacted
	// (Kafka's cleaner checkpoint): the next pass's dirty range starts
	// there.
	cleaned atomic.Int64
	// compactHook, for tests, is called at each step of a compaction
	// swap; true makes Compact stop there, as if the process died.
	compactHook func(step string) bool
}

// logState is what a Dir's checkpoints say about a log.
type logState struct {
	rp      int64 // recovery point
	start   int64 // log start offset
	cleaned int64 // compacted up to here
	clean   bool  // closed cleanly: files trimmed and synced
}

// Open opens the log in dir, creating the directory and an empty first
// segment if missing. It checks every segment (see the package doc for the
// recovery rules), calling opts.OnRecoveredBatch for each good batch, and
// rebuilds the indexes. Only I/O errors make it fail: bad data is
// truncated away and logged. Dir.OpenLog opens a log faster, checking
// only what the last run may not have synced.
func Open(dir string, opts Options) (*Log, error) {
	return openLog(dir, opts, logState{}, nil, "")
}

func openLog(dir string, opts Options, st logState, owner *Dir, name string) (*Log, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	fs := opts.FS
	_, statErr := fs.Stat(dir)
	if err := fs.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("segments: open log: %w", err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// Make the new directory's own entry durable, not just its files.
		if err := fs.SyncDir(filepath.Dir(dir)); err != nil {
			return nil, fmt.Errorf("segments: sync dir: %w", err)
		}
	}
	l := &Log{
		dir:      dir,
		fs:       fs,
		opts:     opts,
		logger:   opts.Logger,
		owner:    owner,
		name:     name,
		prealloc: opts.PreallocateBytes,
	}
	l.setIndexCaps()
	if err := l.load(st, opts.OnRecoveredBatch); err != nil {
		return nil, err
	}
	l.cleaned.Store(min(st.cleaned, l.end.Load()))
	return l, nil
}

// StartOffset is the log start offset: the first offset that can be read.
func (l *Log) StartOffset() int64 { return l.start.Load() }

// EndOffset is the offset the next appended record will get.
func (l *Log) EndOffset() int64 { return l.end.Load() }

// Size is the bytes of batches on disk, over all segments.
func (l *Log) Size() int64 { return l.size.Load() }

// SegmentInfo describes a segment of a log.
type SegmentInfo struct {
	Base, Next   int64 // the offsets it holds: [Base, Next)
	Size         int64 // bytes of batches
	MaxTimestamp int64 // the largest batch max timestamp; -1 for none
}

// Segments describes the log's segments, oldest first.
func (l *Log) Segments() []SegmentInfo {
	segs := *l.segs.Load()
	out := make([]SegmentInfo, len(segs))
	for i, s := range segs {
		out[i] = SegmentInfo{Base: s.base, Next: s.next.Load(), Size: s.size.Load(), MaxTimestamp: s.maxTs.Load()}
	}
	return out
}

// RecoveryPoint is the offset below which every batch was on stable
// storage when the last Sync returned (or when the log was opened).
func (l *Log) RecoveryPoint() int64 { return l.rp.Load() }

// MaxTimestamp returns the header of the first batch holding the largest
// max timestamp in the log (what ListOffsets -3 wants), and false when no
// batch has a timestamp. Batches whose segments retention or
// AdvanceStartOffset deleted no longer count.
func (l *Log) MaxTimestamp() (BatchHeader, bool) {
	l.maxMu.Lock()
	defer l.maxMu.Unlock()
	if l.maxSeg == nil || !l.maxSeg.maxHdrOK {
		return BatchHeader{}, false
	}
	return l.maxSeg.maxHdr, true
}

// noteMax records that h, just appended to s, raised s's largest
// timestamp.
func (l *Log) noteMax(s *segment, h BatchHeader) {
	l.maxMu.Lock()
	s.maxHdr, s.maxHdrOK = h, true
	if l.maxSeg == nil || h.MaxTimestamp > l.maxSeg.maxTs.Load() || l.maxSeg == s {
		l.maxSeg = s
	}
	l.maxMu.Unlock()
}

// findMax picks the segment holding the log's largest timestamp, reading
// its batch header if it is not known yet. If a trusted time index named
// a batch that is not there, the segment's indexes are rebuilt and the
// pick made again. REQUIRES: mu held (or the log not yet published).
func (l *Log) findMax(segs []*segment) error {
	for attempt := 0; ; attempt++ {
		var best *segment
		for _, s := range segs {
			if ts := s.maxTs.Load(); ts >= 0 && (best == nil || ts > best.maxTs.Load()) {
				best = s
			}
		}
		var err error
		if best != nil && !best.hdrKnown(l) {
			var h BatchHeader
			if h, err = best.headerAt(best.maxOff.Load()); err == nil {
				l.maxMu.Lock()
				best.maxHdr, best.maxHdrOK = h, true
				l.maxMu.Unlock()
			}
		}
		// The active segment's indexes cannot be rebuilt while it takes
		// appends: its largest timestamp is then just unknown (below).
		if errors.Is(err, errNoBatch) && attempt == 0 && !best.active {
			l.logger.Warn("segments: rebuilding index", "file", best.path(), "reason", err.Error())
			rerr := best.rebuild()
			if rerr == nil {
				continue
			}
			if !errors.Is(rerr, errNoRebuild) && !isCorrupt(rerr) {
				err = rerr // an I/O error
			}
			// Otherwise (the active segment, whose index is not
			// replaced, or bad data): the largest timestamp is unknown.
		}
		l.maxMu.Lock()
		l.maxSeg = best
		l.maxMu.Unlock()
		if errors.Is(err, errNoBatch) {
			l.logger.Warn("segments: largest timestamp unknown", "file", best.path(), "reason", err.Error())
			return nil
		}
		return err
	}
}

func (s *segment) hdrKnown(l *Log) bool {
	l.maxMu.Lock()
	defer l.maxMu.Unlock()
	return s.maxHdrOK
}

// ErrBroken reports a log that failed an fsync. What reached the disk is
// unknown (the kernel may have dropped the dirty pages), so the log takes
// no more appends and every Sync fails; reopening it recovers what the
// files hold.
var ErrBroken = errors.New("segments: log failed to sync and is read-only until reopened")

// Sync flushes every byte appended so far to stable storage: the data of
// each segment written since its last sync (the active one, and any rolled
// since, with their index files) and the directory if files were created
// or removed. The flushes run without holding mu, so appends continue
// meanwhile. On success the recovery point moves to the end offset Sync
// started with. A failure is sticky: see ErrBroken.
func (l *Log) Sync() error {
	var buf [4]pendingSync
	l.mu.Lock()
	if l.closed.Load() {
		l.mu.Unlock()
		return ErrClosed
	}
	if l.failed != nil {
		l.mu.Unlock()
		return l.failed
	}
	end := l.end.Load()
	todo := l.collectUnsynced(buf[:0])
	dirDirty := l.dirDirty
	l.dirDirty = false
	l.mu.Unlock()

	err := l.syncFiles(dirDirty, todo)

	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		if l.failed == nil {
			l.failed = fmt.Errorf("%w: %w", ErrBroken, err)
		}
		return l.failed
	}
	l.markSynced(todo)
	l.rp.Store(max(l.rp.Load(), end))
	return nil
}

// pendingSync is a segment to flush, with its size when collected.
type pendingSync struct {
	s      *segment
	size   int64
	sealed bool
}

// collectUnsynced appends the segments with unsynced data or index files,
// each with a reference taken. REQUIRES: mu held.
func (l *Log) collectUnsynced(todo []pendingSync) []pendingSync {
	for _, s := range l.unsynced {
		if s.acquire() {
			todo = append(todo, pendingSync{s, s.size.Load(), true})
		}
	}
	a := l.active
	if n := a.size.Load(); n > a.syncedSize || a.indexDirty {
		if a.acquire() {
			todo = append(todo, pendingSync{a, n, a.indexDirty})
		}
	}
	return todo
}

// syncFiles flushes the directory and the collected segments, and drops
// their references.
func (l *Log) syncFiles(dirDirty bool, todo []pendingSync) error {
	var err error
	if dirDirty {
		if e := l.fs.SyncDir(l.dir); e != nil {
			err = fmt.Errorf("segments: sync dir %s: %w", l.dir, e)
		}
	}
	for _, p := range todo {
		if err == nil && p.size > 0 {
			err = p.s.datasync()
		}
		if err == nil && p.sealed {
			err = p.s.syncIndexes()
		}
		p.s.release()
	}
	return err
}

// markSynced records a successful syncFiles. REQUIRES: mu held.
func (l *Log) markSynced(todo []pendingSync) {
	for _, p := range todo {
		p.s.syncedSize = max(p.s.syncedSize, p.size)
		if p.sealed {
			p.s.indexDirty = false
		}
	}
	l.unsynced = slices.DeleteFunc(l.unsynced, func(s *segment) bool {
		return !s.indexDirty && s.syncedSize >= s.size.Load()
	})
}

// Close trims and syncs the files and closes the log. Reads and appends
// racing with Close, and any call after it, return ErrClosed; files a
// reader still holds (ReadRanges) are closed when it releases them. A log
// of a Dir that closes without error counts as cleanly shut down: the next
// OpenLog trusts its files without checking them.
func (l *Log) Close() error {
	clean, err := l.close(true)
	if l.owner != nil && !errors.Is(err, ErrClosed) {
		l.owner.logClosed(l, clean)
	}
	return err
}

// Remove closes the log (without syncing: its data is going away) and
// deletes its directory. It may be called after Close.
func (l *Log) Remove() error {
	if _, err := l.close(false); err != nil && !errors.Is(err, ErrClosed) {
		return err
	}
	if l.owner != nil {
		l.owner.logRemoved(l)
	}
	if err := l.fs.RemoveAll(l.dir); err != nil {
		return fmt.Errorf("segments: remove log: %w", err)
	}
	return nil
}

func (l *Log) close(sync bool) (clean bool, err error) {
	l.mu.Lock()
	if l.closed.Load() {
		l.mu.Unlock()
		return false, ErrClosed
	}
	var errs []error
	if sync {
		// Under mu, so no append can slip in between the sync and the
		// close.
		if err := l.active.seal(); err != nil {
			errs = append(errs, err)
		}
		todo := l.collectUnsynced(nil)
		if err := l.syncFiles(l.dirDirty, todo); err != nil {
			errs = append(errs, err)
		} else {
			l.dirDirty = false
			l.markSynced(todo)
		}
		clean = len(errs) == 0 && l.failed == nil
		if clean {
			l.rp.Store(l.end.Load())
		}
	}
	l.closed.Store(true)
	segs := *l.segs.Load()
	l.mu.Unlock()
	// A compaction pass sees closed at its next batch or swap and stops,
	// removing its temporary files.
	l.cleanMu.Lock()
	//lint:ignore SA2001 waiting for the running pass is the point
	l.cleanMu.Unlock()
	for _, s := range segs {
		if err := s.unref(); err != nil {
			errs = append(errs, err)
		}
	}
	return clean, errors.Join(errs...)
}

// crash abandons the log as kill -9 would: files closed as they are,
// nothing trimmed, synced or checkpointed. For tests.
func (l *Log) crash() {
	l.mu.Lock()
	if l.closed.Swap(true) {
		l.mu.Unlock()
		return
	}
	segs := *l.segs.Load()
	l.mu.Unlock()
	for _, s := range segs {
		_ = s.unref()
	}
	if l.owner != nil {
		l.owner.logCrashed(l)
	}
}
