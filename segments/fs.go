package segments

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// FS is the filesystem a Log does all its file I/O through. OSFS is the
// real one; segments/errorfs wraps any FS to inject errors, short writes
// and latency. Paths are OS paths, joined with path/filepath.
//
// Two things stay outside the seam: the flock of LockDir (it must be the
// kernel's), and memory-mapping, which needs a descriptor. A File that also
// implements OSFiler hands one out; without it, indexes live on the heap
// and are written through WriteAt, and ReadRanges is unsupported.
type FS interface {
	// OpenFile opens a file with the os.OpenFile flags.
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	Remove(name string) error
	RemoveAll(name string) error
	Rename(oldpath, newpath string) error
	ReadDir(name string) ([]os.DirEntry, error)
	MkdirAll(name string, perm os.FileMode) error
	Stat(name string) (os.FileInfo, error)
	// SyncDir makes the creations, renames and removals of entries in the
	// directory durable.
	SyncDir(name string) error
}

// File is an open file of an FS.
type File interface {
	io.ReaderAt
	io.WriterAt
	Truncate(size int64) error
	// Sync flushes data and metadata (fsync).
	Sync() error
	// Datasync flushes data and the metadata needed to read it back, the
	// file size included (fdatasync).
	Datasync() error
	// Fallocate allocates disk blocks for [off, off+n), extending the file
	// if that goes past its end (fallocate mode 0: the new bytes read as
	// zeros). It returns an error wrapping errors.ErrUnsupported when the
	// filesystem cannot.
	Fallocate(off, n int64) error
	Stat() (os.FileInfo, error)
	Close() error
}

// OSFiler is an optional capability of a File: the *os.File behind it, for
// mmap and sendfile. OSFile may return nil (a wrapper around a File that
// has none). The *os.File stays owned by the File: do not close it.
type OSFiler interface {
	OSFile() *os.File
}

// osFileOf returns the *os.File behind f, or nil.
func osFileOf(f File) *os.File {
	if o, ok := f.(OSFiler); ok {
		return o.OSFile()
	}
	return nil
}

// OSFS is the operating system's filesystem.
type OSFS struct{}

var _ FS = OSFS{}

// OpenFile implements FS.
func (OSFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// Remove implements FS.
func (OSFS) Remove(name string) error { return os.Remove(name) }

// RemoveAll implements FS.
func (OSFS) RemoveAll(name string) error { return os.RemoveAll(name) }

// Rename implements FS.
func (OSFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// ReadDir implements FS.
func (OSFS) ReadDir(name string) ([]os.DirEntry, error) { return os.ReadDir(name) }

// MkdirAll implements FS.
func (OSFS) MkdirAll(name string, perm os.FileMode) error { return os.MkdirAll(name, perm) }

// Stat implements FS.
func (OSFS) Stat(name string) (os.FileInfo, error) { return os.Stat(name) }

// SyncDir implements FS.
func (OSFS) SyncDir(name string) error {
	d, err := os.Open(name)
	if err != nil {
		return err
	}
	serr := d.Sync()
	return errors.Join(serr, d.Close())
}

// osFile is a File over an *os.File.
type osFile struct{ *os.File }

var (
	_ File    = osFile{}
	_ OSFiler = osFile{}
)

func (f osFile) OSFile() *os.File { return f.File }

// Datasync runs fdatasync through SyscallConn, so that a concurrent Close
// cannot free (and the process reuse) the descriptor mid-call.
func (f osFile) Datasync() error {
	return f.control("fdatasync", func(fd int) error { return unix.Fdatasync(fd) })
}

func (f osFile) Fallocate(off, n int64) error {
	err := f.control("fallocate", func(fd int) error { return unix.Fallocate(fd, 0, off, n) })
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("%w: %w", errors.ErrUnsupported, err)
	}
	return err
}

// control runs op on the descriptor, retrying on EINTR.
func (f osFile) control(name string, op func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	if err := rc.Control(func(fd uintptr) {
		for {
			if opErr = op(int(fd)); opErr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if opErr != nil {
		return &os.PathError{Op: name, Path: f.Name(), Err: opErr}
	}
	return nil
}
