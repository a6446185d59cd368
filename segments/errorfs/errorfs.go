// Package errorfs wraps a segments.FS to inject faults for tests: errors,
// short writes and latency, chosen by operation and file name pattern, on
// the Nth matching call and for as many calls as asked.
//
//	fs := errorfs.New(segments.OSFS{})
//	in := fs.Inject(errorfs.Rule{Op: errorfs.OpSync, Pattern: "*.log", Nth: 3, Count: 1, Err: errorfs.ErrInjected})
//	... use fs as Options.FS; in.Fired() tells whether it struck.
//
// Files of the wrapped FS keep their *os.File (segments.OSFiler) unless
// NoOSFile is set, so mmap'd index stores and sendfile bypass injection;
// with NoOSFile the log keeps its indexes on the heap and writes them
// through WriteAt, which rules then see.
package errorfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/runnel-dev/runnel/segments"
)

// Op is a set of operations, for Rule.Op.
type Op uint32

// Operations rules can match.
const (
	OpOpen      Op = 1 << iota // FS.OpenFile
	OpRead                     // File.ReadAt
	OpWrite                    // File.WriteAt
	OpSync                     // File.Sync, File.Datasync
	OpTruncate                 // File.Truncate
	OpFallocate                // File.Fallocate
	OpStat                     // FS.Stat, File.Stat
	OpClose                    // File.Close
	OpRemove                   // FS.Remove, FS.RemoveAll
	OpRename                   // FS.Rename (matched on the old name)
	OpReadDir                  // FS.ReadDir
	OpMkdir                    // FS.MkdirAll
	OpSyncDir                  // FS.SyncDir

	OpAll Op = 1<<iota - 1
)

// ErrInjected is the error rules usually inject: an I/O error (EIO).
var ErrInjected = fmt.Errorf("errorfs: injected fault: %w", syscall.EIO)

// Rule says which calls to fault and how.
type Rule struct {
	// Op is the operations the rule applies to.
	Op Op
	// Pattern is matched (path/filepath.Match) against the base name of
	// the file; "" matches every file.
	Pattern string
	// Nth is the first matching call the rule fires on, counting from 1;
	// 0 means the first.
	Nth int
	// Count is how many times the rule fires; 0 means every matching call
	// from the Nth on.
	Count int
	// Err is returned by the calls the rule fires on. nil injects no
	// error: the rule only adds Latency (or, with ShortWrite, fails with
	// ErrInjected).
	Err error
	// ShortWrite makes a write the rule fires on write the first half of
	// its bytes, then fail.
	ShortWrite bool
	// Latency is slept before each call the rule fires on.
	Latency time.Duration
}

// FS is a fault-injecting segments.FS.
type FS struct {
	inner segments.FS
	// NoOSFile hides the *os.File of opened files. Set it before use.
	NoOSFile bool

	mu    sync.Mutex
	rules []*Injection
}

var _ segments.FS = (*FS)(nil)

// New wraps inner.
func New(inner segments.FS) *FS { return &FS{inner: inner} }

// Injection is an active rule.
type Injection struct {
	fs    *FS
	rule  Rule
	seen  int // matching calls
	fired int
}

// Inject adds a rule; rules are tried in the order they were added.
func (fs *FS) Inject(r Rule) *Injection {
	if r.Nth == 0 {
		r.Nth = 1
	}
	in := &Injection{fs: fs, rule: r}
	fs.mu.Lock()
	fs.rules = append(fs.rules, in)
	fs.mu.Unlock()
	return in
}

// Fired is how many calls the rule has faulted.
func (in *Injection) Fired() int {
	in.fs.mu.Lock()
	defer in.fs.mu.Unlock()
	return in.fired
}

// Remove deactivates the rule.
func (in *Injection) Remove() {
	in.fs.mu.Lock()
	defer in.fs.mu.Unlock()
	for i, r := range in.fs.rules {
		if r == in {
			in.fs.rules = append(in.fs.rules[:i:i], in.fs.rules[i+1:]...)
			return
		}
	}
}

// Reset removes every rule.
func (fs *FS) Reset() {
	fs.mu.Lock()
	fs.rules = nil
	fs.mu.Unlock()
}

// check applies the rules to a call of op on path: it sleeps the latency
// of every rule that fires and returns the first error, and whether the
// rule that gave it asks for a short write.
func (fs *FS) check(op Op, path string) (short bool, err error) {
	base := filepath.Base(path)
	var delay time.Duration
	fs.mu.Lock()
	for _, in := range fs.rules {
		r := &in.rule
		if r.Op&op == 0 {
			continue
		}
		if r.Pattern != "" {
			if ok, _ := filepath.Match(r.Pattern, base); !ok {
				continue
			}
		}
		in.seen++
		if in.seen < r.Nth || (r.Count > 0 && in.fired >= r.Count) {
			continue
		}
		in.fired++
		delay += r.Latency
		if err == nil && (r.Err != nil || r.ShortWrite) {
			err, short = r.Err, r.ShortWrite && op == OpWrite
			if err == nil {
				err = ErrInjected
			}
		}
	}
	fs.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	return short, err
}

func pathErr(op, path string, err error) error {
	return &os.PathError{Op: op, Path: path, Err: err}
}

// OpenFile implements segments.FS.
func (fs *FS) OpenFile(name string, flag int, perm os.FileMode) (segments.File, error) {
	if _, err := fs.check(OpOpen, name); err != nil {
		return nil, pathErr("open", name, err)
	}
	f, err := fs.inner.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &file{fs: fs, f: f, path: name}, nil
}

// Remove implements segments.FS.
func (fs *FS) Remove(name string) error {
	if _, err := fs.check(OpRemove, name); err != nil {
		return pathErr("remove", name, err)
	}
	return fs.inner.Remove(name)
}

// RemoveAll implements segments.FS.
func (fs *FS) RemoveAll(name string) error {
	if _, err := fs.check(OpRemove, name); err != nil {
		return pathErr("removeall", name, err)
	}
	return fs.inner.RemoveAll(name)
}

// Rename implements segments.FS.
func (fs *FS) Rename(oldpath, newpath string) error {
	if _, err := fs.check(OpRename, oldpath); err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return fs.inner.Rename(oldpath, newpath)
}

// ReadDir implements segments.FS.
func (fs *FS) ReadDir(name string) ([]os.DirEntry, error) {
	if _, err := fs.check(OpReadDir, name); err != nil {
		return nil, pathErr("readdir", name, err)
	}
	return fs.inner.ReadDir(name)
}

// MkdirAll implements segments.FS.
func (fs *FS) MkdirAll(name string, perm os.FileMode) error {
	if _, err := fs.check(OpMkdir, name); err != nil {
		return pathErr("mkdir", name, err)
	}
	return fs.inner.MkdirAll(name, perm)
}

// Stat implements segments.FS.
func (fs *FS) Stat(name string) (os.FileInfo, error) {
	if _, err := fs.check(OpStat, name); err != nil {
		return nil, pathErr("stat", name, err)
	}
	return fs.inner.Stat(name)
}

// SyncDir implements segments.FS.
func (fs *FS) SyncDir(name string) error {
	if _, err := fs.check(OpSyncDir, name); err != nil {
		return pathErr("syncdir", name, err)
	}
	return fs.inner.SyncDir(name)
}

// file is a fault-injecting segments.File.
type file struct {
	fs   *FS
	f    segments.File
	path string
}

var (
	_ segments.File    = (*file)(nil)
	_ segments.OSFiler = (*file)(nil)
)

func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if _, err := f.fs.check(OpRead, f.path); err != nil {
		return 0, pathErr("read", f.path, err)
	}
	return f.f.ReadAt(p, off)
}

func (f *file) WriteAt(p []byte, off int64) (int, error) {
	short, err := f.fs.check(OpWrite, f.path)
	if err == nil {
		return f.f.WriteAt(p, off)
	}
	if !short {
		return 0, pathErr("write", f.path, err)
	}
	n, werr := f.f.WriteAt(p[:len(p)/2], off)
	return n, pathErr("write", f.path, errors.Join(err, werr))
}

func (f *file) Truncate(size int64) error {
	if _, err := f.fs.check(OpTruncate, f.path); err != nil {
		return pathErr("truncate", f.path, err)
	}
	return f.f.Truncate(size)
}

func (f *file) Sync() error {
	if _, err := f.fs.check(OpSync, f.path); err != nil {
		return pathErr("sync", f.path, err)
	}
	return f.f.Sync()
}

func (f *file) Datasync() error {
	if _, err := f.fs.check(OpSync, f.path); err != nil {
		return pathErr("fdatasync", f.path, err)
	}
	return f.f.Datasync()
}

func (f *file) Fallocate(off, n int64) error {
	if _, err := f.fs.check(OpFallocate, f.path); err != nil {
		return pathErr("fallocate", f.path, err)
	}
	return f.f.Fallocate(off, n)
}

func (f *file) Stat() (os.FileInfo, error) {
	if _, err := f.fs.check(OpStat, f.path); err != nil {
		return nil, pathErr("stat", f.path, err)
	}
	return f.f.Stat()
}

func (f *file) Close() error {
	if _, err := f.fs.check(OpClose, f.path); err != nil {
		// The descriptor is released anyway, as close(2) does.
		_ = f.f.Close()
		return pathErr("close", f.path, err)
	}
	return f.f.Close()
}

// OSFile implements segments.OSFiler: the wrapped file's, unless
// NoOSFile.
func (f *file) OSFile() *os.File {
	if f.fs.NoOSFile {
		return nil
	}
	if o, ok := f.f.(segments.OSFiler); ok {
		return o.OSFile()
	}
	return nil
}
