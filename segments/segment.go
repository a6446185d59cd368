package segments

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

const (
	segmentSuffix  = ".log"
	segmentNameLen = 20 // digits of the zero-padded base offset
	filePerm       = 0o644
	dirPerm        = 0o755
)

// segment is one segment file: a run of batches starting at offset base.
type segment struct {
	base int64
	path string
	f    *os.File

	// size is the committed size: the file bytes that hold whole, written
	// batches. The appender stores it after each write returns; readers
	// load it once and never read past it.
	size atomic.Int64
	// next is the offset that follows the last committed batch.
	next atomic.Int64

	index sparseIndex

	// syncedSize is how much of the file is known to be on stable storage.
	// Guarded by Log.mu.
	syncedSize int64
}

// segmentName is the file name of the segment with the given base offset.
func segmentName(base int64) string {
	return fmt.Sprintf("%0*d%s", segmentNameLen, base, segmentSuffix)
}

// parseSegmentName returns the base offset of a segment file name, and
// false for any other file (future index files, temporaries).
func parseSegmentName(name string) (int64, bool) {
	digits, ok := strings.CutSuffix(name, segmentSuffix)
	if !ok || len(digits) != segmentNameLen {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	base, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	return base, true
}

// openSegment opens an existing segment file for reading and writing.
func openSegment(dir string, base int64) (*segment, error) {
	path := filepath.Join(dir, segmentName(base))
	f, err := os.OpenFile(path, os.O_RDWR, filePerm)
	if err != nil {
		return nil, fmt.Errorf("segments: open segment: %w", err)
	}
	s := &segment{base: base, path: path, f: f}
	s.next.Store(base)
	return s, nil
}

// createSegment creates an empty segment file. An existing file of that
// name is truncated: a new segment is only created at the log end, so any
// file already there holds nothing the log still refers to.
func createSegment(dir string, base int64) (*segment, error) {
	path := filepath.Join(dir, segmentName(base))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return nil, fmt.Errorf("segments: create segment: %w", err)
	}
	s := &segment{base: base, path: path, f: f}
	s.next.Store(base)
	return s, nil
}

// datasync flushes the segment's data to stable storage. fdatasync also
// flushes the file size, the one piece of metadata an appended file needs.
// It goes through SyscallConn so a concurrent Close cannot free (and the
// process reuse) the descriptor mid-call.
func (s *segment) datasync() error {
	rc, err := s.f.SyscallConn()
	if err != nil {
		return fmt.Errorf("segments: sync %s: %w", s.path, mapClosed(err))
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = unix.Fdatasync(int(fd))
			if serr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return fmt.Errorf("segments: sync %s: %w", s.path, mapClosed(err))
	}
	if serr != nil {
		return fmt.Errorf("segments: sync %s: %w", s.path, serr)
	}
	return nil
}

// syncDir makes creations, truncations and removals of entries in dir
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("segments: sync dir: %w", err)
	}
	serr := d.Sync()
	cerr := d.Close()
	if err := errors.Join(serr, cerr); err != nil {
		return fmt.Errorf("segments: sync dir %s: %w", dir, err)
	}
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
