package segments

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lockFileName is the lock file a process holds in each data directory.
const lockFileName = ".lock"

// ErrDirLocked reports that another process already uses a data
// directory.
var ErrDirLocked = errors.New("data directory is in use by another process")

// DirLock is an exclusive hold on a data directory.
type DirLock struct{ f *os.File }

// LockDir takes an exclusive advisory lock on dir (creating it), so two
// brokers never write one log. The lock dies with the process, so a
// kill -9 leaves nothing to clean up.
func LockDir(dir string) (*DirLock, error) {
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("segments: lock %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("segments: lock %s: %w", dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", dir, ErrDirLocked)
		}
		return nil, fmt.Errorf("segments: lock %s: %w", dir, err)
	}
	return &DirLock{f: f}, nil
}

// Unlock releases the lock.
func (l *DirLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	return err
}
