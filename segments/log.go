package segments

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// Log is the log of one partition. All methods are safe for concurrent
// use.
type Log struct {
	dir          string
	segmentBytes int64
	logger       *slog.Logger

	// mu serializes Append (and the rolls it does), Sync's bookkeeping,
	// Close and Remove. It guards active, dirDirty, and each segment's
	// syncedSize and index.lastPos. Readers never take it.
	mu     sync.Mutex
	active *segment
	// dirDirty is set when a segment file was created since the directory
	// was last synced.
	dirDirty bool

	// segs is the segment list, oldest first. It is replaced (never
	// modified) under mu and read without a lock.
	segs atomic.Pointer[[]*segment]
	// end is the log end offset. The appender stores it after the batch is
	// committed to its segment, so every offset below it is readable.
	end atomic.Int64
	// size is the committed bytes over all segments.
	size   atomic.Int64
	closed atomic.Bool
}

// Open opens the log in dir, creating the directory and an empty first
// segment if missing. It checks every segment (see the package doc for the
// recovery rules), calling opts.OnRecoveredBatch for each good batch, and
// rebuilds the sparse indexes. Only I/O errors make it fail: bad data is
// truncated away and logged.
func Open(dir string, opts Options) (*Log, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	_, statErr := os.Stat(dir)
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("segments: open log: %w", err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// Make the new directory's own entry durable, not just its files.
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return nil, err
		}
	}
	l := &Log{dir: dir, segmentBytes: opts.SegmentBytes, logger: opts.Logger}
	segs, err := l.recover(opts.OnRecoveredBatch)
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		s, err := createSegment(dir, 0)
		if err != nil {
			return nil, err
		}
		if err := syncDir(dir); err != nil {
			_ = s.f.Close()
			return nil, err
		}
		segs = append(segs, s)
	}
	var size int64
	for _, s := range segs {
		size += s.size.Load()
	}
	l.segs.Store(&segs)
	l.active = segs[len(segs)-1]
	l.end.Store(l.active.next.Load())
	l.size.Store(size)
	return l, nil
}

// StartOffset is the first offset in the log.
func (l *Log) StartOffset() int64 { return (*l.segs.Load())[0].base }

// EndOffset is the offset the next appended record will get.
func (l *Log) EndOffset() int64 { return l.end.Load() }

// Size is the bytes of batches on disk, over all segments.
func (l *Log) Size() int64 { return l.size.Load() }

// Sync flushes every byte appended so far to stable storage: the data of
// each segment written since its last sync (the active one, and any rolled
// since) and the directory if segments were created. The flushes run
// without holding mu, so appends continue meanwhile.
func (l *Log) Sync() error {
	type pending struct {
		s    *segment
		size int64
	}
	l.mu.Lock()
	if l.closed.Load() {
		l.mu.Unlock()
		return ErrClosed
	}
	var todo []pending
	for _, s := range *l.segs.Load() {
		if n := s.size.Load(); n > s.syncedSize {
			todo = append(todo, pending{s, n})
		}
	}
	dirDirty := l.dirDirty
	l.dirDirty = false
	l.mu.Unlock()

	if dirDirty {
		if err := syncDir(l.dir); err != nil {
			l.mu.Lock()
			l.dirDirty = true
			l.mu.Unlock()
			return err
		}
	}
	for _, p := range todo {
		if err := p.s.datasync(); err != nil {
			if l.closed.Load() {
				return ErrClosed // Close won the race and synced itself
			}
			return err
		}
		l.mu.Lock()
		p.s.syncedSize = max(p.s.syncedSize, p.size)
		l.mu.Unlock()
	}
	return nil
}

// Close syncs and closes the segment files. Reads and appends racing with
// Close, and any call after it, return ErrClosed.
func (l *Log) Close() error {
	return l.close(true)
}

// Remove closes the log (without syncing: its data is going away) and
// deletes its directory. It may be called after Close.
func (l *Log) Remove() error {
	if err := l.close(false); err != nil && !errors.Is(err, ErrClosed) {
		return err
	}
	if err := os.RemoveAll(l.dir); err != nil {
		return fmt.Errorf("segments: remove log: %w", err)
	}
	return nil
}

func (l *Log) close(sync bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return ErrClosed
	}
	var errs []error
	if sync {
		// Under mu, so no append can slip in between the sync and the
		// close.
		for _, s := range *l.segs.Load() {
			if s.size.Load() > s.syncedSize {
				errs = append(errs, s.datasync())
			}
		}
		if l.dirDirty {
			errs = append(errs, syncDir(l.dir))
			l.dirDirty = false
		}
	}
	l.closed.Store(true)
	for _, s := range *l.segs.Load() {
		if err := s.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("segments: close %s: %w", s.path, err))
		}
	}
	return errors.Join(errs...)
}
