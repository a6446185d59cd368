package segments

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Checkpoint files, one pair per log directory. Both are text, format
// version 1:
//
//	1                  the format version
//	2                  the number of entries
//	orders-0 1234 clean
//	orders-1 99 dirty
//
// recovery-point-offset-checkpoint holds, per log (by its directory name),
// the recovery point and whether the log was closed cleanly;
// log-start-offset-checkpoint holds the log start offset (name and offset
// only). A third, cleaner-offset-checkpoint, in the start offset's format,
// holds the offset up to which each log has been compacted; it is written
// once some log of the directory has been compacted. Files are replaced
// atomically: written to a temporary, fsync'd, renamed over the old one,
// directory fsync'd.
const (
	recoveryPointFile = "recovery-point-offset-checkpoint"
	startOffsetFile   = "log-start-offset-checkpoint"
	cleanerOffsetFile = "cleaner-offset-checkpoint"
	checkpointVersion = 1
)

// Dir is a log directory: a directory of logs (one subdirectory each)
// sharing the two checkpoint files, held with LockDir.
//
// A log's recovery point, checkpointed, bounds what the next open checks:
// segments wholly below it are trusted, the rest are checked batch by
// batch. A log closed cleanly is trusted whole: opening it reads no batch
// but its last few. The clean mark is dropped on disk (OpenDir rewrites
// the checkpoint) before the log can be written again, so a crash after
// that never passes for a clean shutdown.
type Dir struct {
	path   string
	fs     FS
	logger *slog.Logger
	lock   *DirLock

	// ckMu serializes checkpoint writes, and orders OpenLog with them.
	// It guards onDiskClean: the logs the files on disk call clean; and
	// cleanerFile: whether the cleaner offsets are to be written.
	ckMu        sync.Mutex
	onDiskClean map[string]bool
	cleanerFile bool

	// mu guards logs (an entry with a nil Log is being opened), states
	// (the last known state of logs not open) and closed.
	mu     sync.Mutex
	logs   map[string]*Log
	states map[string]logState
	closed bool
}

// OpenDir locks the log directory at path (creating it) and reads its
// checkpoints. fs nil means OSFS; logger nil means slog.Default(). Logs
// are opened with OpenLog.
func OpenDir(path string, fs FS, logger *slog.Logger) (*Dir, error) {
	if fs == nil {
		fs = OSFS{}
	}
	if logger == nil {
		logger = slog.Default()
	}
	lock, err := LockDir(path)
	if err != nil {
		return nil, err
	}
	d := &Dir{
		path:        path,
		fs:          fs,
		logger:      logger,
		lock:        lock,
		onDiskClean: make(map[string]bool),
		logs:        make(map[string]*Log),
		states:      make(map[string]logState),
	}
	rps, err := d.readCheckpoint(recoveryPointFile, 3)
	if err == nil {
		var starts, cleaned map[string][]string
		if starts, err = d.readCheckpoint(startOffsetFile, 2); err == nil {
			cleaned, err = d.readCheckpoint(cleanerOffsetFile, 2)
		}
		if err == nil {
			d.merge(rps, starts, cleaned)
		}
	}
	if err == nil && len(d.onDiskClean) > 0 {
		// Take the clean marks off disk before any log is written.
		d.ckMu.Lock()
		err = d.checkpoint(true)
		d.ckMu.Unlock()
	}
	if err != nil {
		_ = lock.Unlock()
		return nil, err
	}
	return d, nil
}

// Path is the directory's path.
func (d *Dir) Path() string { return d.path }

func (d *Dir) merge(rps, starts, cleaned map[string][]string) {
	for name, f := range rps {
		rp, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || rp < 0 || (f[1] != "clean" && f[1] != "dirty") {
			d.logger.Warn("segments: ignoring bad recovery point", "dir", d.path, "log", name)
			continue
		}
		st := d.states[name]
		st.rp, st.clean = rp, f[1] == "clean"
		d.states[name] = st
		d.onDiskClean[name] = st.clean
	}
	for name, f := range starts {
		start, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || start < 0 {
			d.logger.Warn("segments: ignoring bad log start offset", "dir", d.path, "log", name)
			continue
		}
		st := d.states[name]
		st.start = start
		d.states[name] = st
	}
	for name, f := range cleaned {
		d.cleanerFile = true
		off, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || off < 0 {
			d.logger.Warn("segments: ignoring bad cleaner offset", "dir", d.path, "log", name)
			continue
		}
		if st, ok := d.states[name]; ok {
			st.cleaned = off
			d.states[name] = st
		}
	}
}

// readCheckpoint reads a checkpoint file into name -> the other fields. A
// missing file is empty; a malformed one is logged and ignored, which
// costs a full check of its logs at open but loses no data.
func (d *Dir) readCheckpoint(file string, fields int) (map[string][]string, error) {
	path := filepath.Join(d.path, file)
	data, err := readFile(d.fs, path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("segments: read %s: %w", path, err)
	}
	m, err := parseCheckpoint(data, fields)
	if err != nil {
		d.logger.Warn("segments: ignoring malformed checkpoint", "file", path, "error", err.Error())
		return nil, nil
	}
	return m, nil
}

func parseCheckpoint(data []byte, fields int) (map[string][]string, error) {
	lines := strings.Split(string(data), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) < 2 {
		return nil, errors.New("too short")
	}
	if lines[0] != strconv.Itoa(checkpointVersion) {
		return nil, fmt.Errorf("unknown version %q", lines[0])
	}
	n, err := strconv.Atoi(lines[1])
	if err != nil || n != len(lines)-2 {
		return nil, fmt.Errorf("count %q does not match %d entries", lines[1], len(lines)-2)
	}
	m := make(map[string][]string, n)
	for i, line := range lines[2:] {
		f := strings.Split(line, " ")
		if len(f) != fields || checkLogName(f[0]) != nil {
			return nil, fmt.Errorf("bad entry %d: %q", i, line)
		}
		if _, dup := m[f[0]]; dup {
			return nil, fmt.Errorf("duplicate entry for %q", f[0])
		}
		m[f[0]] = f[1:]
	}
	return m, nil
}

// checkLogName accepts a log name that is one path element and fits the
// checkpoint format.
func checkLogName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\ \t\r\n") {
		return fmt.Errorf("segments: bad log name %q", name)
	}
	return nil
}

// OpenLog opens (creating if missing) the log in the subdirectory name,
// like Open, but checking only the segments past its checkpointed recovery
// point, none after a clean shutdown, and starting it at its checkpointed
// start offset. opts.FS nil means the Dir's. A log can be open once at a
// time.
func (d *Dir) OpenLog(name string, opts Options) (*Log, error) {
	if err := checkLogName(name); err != nil {
		return nil, err
	}
	d.ckMu.Lock()
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		d.ckMu.Unlock()
		return nil, ErrClosed
	}
	if _, open := d.logs[name]; open {
		d.mu.Unlock()
		d.ckMu.Unlock()
		return nil, fmt.Errorf("segments: log %s is already open", name)
	}
	d.logs[name] = nil
	st := d.states[name]
	d.mu.Unlock()
	var err error
	if d.onDiskClean[name] {
		err = d.checkpoint(false) // now with the log marked dirty
	}
	d.ckMu.Unlock()

	var l *Log
	if err == nil {
		if opts.FS == nil {
			opts.FS = d.fs
		}
		l, err = openLog(filepath.Join(d.path, name), opts, st, d, name)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		delete(d.logs, name)
		return nil, err
	}
	d.logs[name] = l
	return l, nil
}

// logClosed records the final state of a log that closed.
func (d *Dir) logClosed(l *Log, clean bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.states[l.name] = logState{rp: l.RecoveryPoint(), start: l.StartOffset(), cleaned: l.cleaned.Load(), clean: clean}
	delete(d.logs, l.name)
}

// logRemoved forgets a removed log.
func (d *Dir) logRemoved(l *Log) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.states, l.name)
	if d.logs[l.name] == l {
		delete(d.logs, l.name)
	}
}

// logCrashed forgets an open log without recording a state (tests).
func (d *Dir) logCrashed(l *Log) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.logs, l.name)
}

// Checkpoint writes the recovery points and start offsets of the open
// logs (and the last known ones of the others) to the checkpoint files.
// The kernel calls it periodically and on shutdown; Close calls it last.
func (d *Dir) Checkpoint() error {
	d.ckMu.Lock()
	defer d.ckMu.Unlock()
	return d.checkpoint(false)
}

// checkpoint writes both files; allDirty writes every log as not clean.
// REQUIRES: ckMu held.
func (d *Dir) checkpoint(allDirty bool) error {
	type entry struct {
		name string
		st   logState
	}
	d.mu.Lock()
	entries := make([]entry, 0, len(d.states)+len(d.logs))
	for name, st := range d.states {
		if _, open := d.logs[name]; !open {
			entries = append(entries, entry{name, st})
		}
	}
	for name, l := range d.logs {
		st := d.states[name]
		st.clean = false
		if l != nil {
			st.rp, st.start, st.cleaned = l.RecoveryPoint(), l.StartOffset(), l.cleaned.Load()
		}
		entries = append(entries, entry{name, st})
	}
	d.mu.Unlock()
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })

	var rp, start, cleaned bytes.Buffer
	fmt.Fprintf(&rp, "%d\n%d\n", checkpointVersion, len(entries))
	fmt.Fprintf(&start, "%d\n%d\n", checkpointVersion, len(entries))
	fmt.Fprintf(&cleaned, "%d\n%d\n", checkpointVersion, len(entries))
	clean := make(map[string]bool)
	writeCleaned := d.cleanerFile
	for _, e := range entries {
		state := "dirty"
		if e.st.clean && !allDirty {
			state = "clean"
			clean[e.name] = true
		}
		fmt.Fprintf(&rp, "%s %d %s\n", e.name, e.st.rp, state)
		fmt.Fprintf(&start, "%s %d\n", e.name, e.st.start)
		fmt.Fprintf(&cleaned, "%s %d\n", e.name, e.st.cleaned)
		writeCleaned = writeCleaned || e.st.cleaned > 0
	}
	if writeCleaned {
		if err := d.writeFile(cleanerOffsetFile, cleaned.Bytes()); err != nil {
			return err
		}
		d.cleanerFile = true
	}
	if err := d.writeFile(startOffsetFile, start.Bytes()); err != nil {
		return err
	}
	if err := d.writeFile(recoveryPointFile, rp.Bytes()); err != nil {
		return err
	}
	if err := d.fs.SyncDir(d.path); err != nil {
		return fmt.Errorf("segments: checkpoint: sync dir %s: %w", d.path, err)
	}
	d.onDiskClean = clean
	return nil
}

// writeFile replaces the file name in the directory with data: written to
// a temporary, fsync'd, renamed into place (the caller syncs the dir).
func (d *Dir) writeFile(name string, data []byte) error {
	path := filepath.Join(d.path, name)
	tmp := path + tmpSuffix
	f, err := d.fs.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return fmt.Errorf("segments: checkpoint: %w", err)
	}
	_, err = f.WriteAt(data, 0)
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err == nil {
		err = d.fs.Rename(tmp, path)
	}
	if err != nil {
		_ = d.fs.Remove(tmp)
		return fmt.Errorf("segments: checkpoint %s: %w", path, err)
	}
	return nil
}

// readFile reads a whole (small) file through fs.
func readFile(fs FS, path string) ([]byte, error) {
	f, err := fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b := make([]byte, fi.Size())
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b[:n], nil
}

// Close closes every log still open (cleanly), writes the checkpoints a
// last time and unlocks the directory.
func (d *Dir) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	d.closed = true
	var open []*Log
	for _, l := range d.logs {
		if l != nil {
			open = append(open, l)
		}
	}
	d.mu.Unlock()
	var errs []error
	for _, l := range open {
		if err := l.Close(); err != nil && !errors.Is(err, ErrClosed) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, d.Checkpoint(), d.lock.Unlock())
	return errors.Join(errs...)
}

// crash abandons the directory as kill -9 would (tests): logs dropped
// unsynced, no checkpoint written, the lock released.
func (d *Dir) crash() {
	d.mu.Lock()
	d.closed = true
	var open []*Log
	for _, l := range d.logs {
		if l != nil {
			open = append(open, l)
		}
	}
	d.mu.Unlock()
	for _, l := range open {
		l.crash()
	}
	_ = d.lock.Unlock()
}
