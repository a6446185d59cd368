package metalog

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

const (
	// FormatVersion is the version of the file format this package
	// writes in the header of every file. A later format bumps it and
	// keeps reading the older ones.
	FormatVersion = 1
	// FileName is the log's file in the directory given to Open.
	FileName = "metadata.log"
	// MaxEntryBytes bounds one entry. Open reads a longer length as a
	// torn record, so Append refuses longer entries.
	MaxEntryBytes = 64 << 20

	frameHeaderBytes = 8 // length uint32, crc32c uint32
	formatType       = "format"
)

// ErrClosed is returned by the methods of a Store that is not open.
var ErrClosed = errors.New("metalog: store is not open")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// header is the payload of a file's first record. Its JSON encoding is
// fixed: the field order and names make the bytes of format version 1,
// {"type":"format","format_version":1}.
type header struct {
	Type          string `json:"type"`
	FormatVersion int    `json:"format_version"`
}

// Store is the metadata log kept in one directory. The zero value is not
// usable; call New.
type Store struct {
	logger *slog.Logger

	// mu guards every field below. Appends hold it through their fsync,
	// so they are committed in the order they take it.
	mu      sync.Mutex
	path    string
	f       *os.File // nil unless open
	size    int64    // bytes of whole records in the file
	entries int      // entries in the file, the header not counted
	// failed is set when the file's durable state became unknown (a
	// failed fsync, or a compaction that failed past its rename); later
	// Appends and Compacts refuse with it.
	failed error
}

// New returns a Store that logs recovery and failures to logger (nil
// means slog.Default()). Call Open before anything else.
func New(logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.Default()
	}
	return &Store{logger: logger}
}

// Open creates dir if needed, recovers the log in it (truncating a torn
// tail, which it logs) and calls replay for every entry, in order,
// before it returns. replay owns the slice it is given. An error from
// replay stops Open, which returns it wrapped and leaves the Store
// closed. A new log gets its format header, fsync'd, before Open returns.
func (s *Store) Open(dir string, replay func(entry []byte) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil {
		return fmt.Errorf("metalog: %s is already open", s.path)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("metalog: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// A compaction that a crash interrupted before its rename leaves its
	// temporary file; the log itself is whole.
	if err := os.Remove(path + ".tmp"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("metalog: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("metalog: %w", err)
	}
	valid, entries, hasHeader, err := readLog(f, path, replay)
	if err != nil {
		f.Close()
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("metalog: %w", err)
	}
	if st.Size() > valid {
		s.logger.Warn("metadata log: truncating torn tail", "file", path, "bytes_dropped", st.Size()-valid)
		if err := f.Truncate(valid); err != nil {
			f.Close()
			return fmt.Errorf("metalog: truncate %s: %w", path, err)
		}
	}
	if valid == 0 && !hasHeader {
		hdr := appendHeader(nil)
		if _, err := f.WriteAt(hdr, 0); err != nil {
			f.Close()
			return fmt.Errorf("metalog: write %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("metalog: sync %s: %w", path, err)
		}
		valid = int64(len(hdr))
	}
	s.path, s.f, s.size, s.entries, s.failed = path, f, valid, entries, nil
	return nil
}

// readLog replays the whole records of f and returns the byte length of
// the valid prefix, the number of entries in it and whether it starts
// with a format header.
func readLog(f *os.File, path string, replay func([]byte) error) (valid int64, entries int, hasHeader bool, err error) {
	r := bufio.NewReader(f)
	var hdr [frameHeaderBytes]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return valid, entries, hasHeader, nil // clean end or torn header
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		sum := binary.BigEndian.Uint32(hdr[4:])
		if n > MaxEntryBytes {
			return valid, entries, hasHeader, nil
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			return valid, entries, hasHeader, nil
		}
		if crc32.Checksum(payload, castagnoli) != sum {
			return valid, entries, hasHeader, nil
		}
		if valid == 0 {
			if h, ok := parseHeader(payload); ok {
				if h.FormatVersion > FormatVersion {
					return 0, 0, false, fmt.Errorf("metadata log %s has format version %d; this runnel reads up to %d",
						path, h.FormatVersion, FormatVersion)
				}
				hasHeader = true
				valid += frameHeaderBytes + int64(n)
				continue
			}
		}
		if err := replay(payload); err != nil {
			return 0, 0, false, fmt.Errorf("metadata log %s: entry at byte %d: %w", path, valid, err)
		}
		entries++
		valid += frameHeaderBytes + int64(n)
	}
}

func parseHeader(payload []byte) (header, bool) {
	var h header
	if err := json.Unmarshal(payload, &h); err != nil || h.Type != formatType {
		return header{}, false
	}
	return h, true
}

func appendHeader(dst []byte) []byte {
	payload, err := json.Marshal(header{Type: formatType, FormatVersion: FormatVersion})
	if err != nil {
		panic(err) // a fixed struct of a string and an int always encodes
	}
	return appendFrame(dst, payload)
}

func appendFrame(dst, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.BigEndian.AppendUint32(dst, crc32.Checksum(payload, castagnoli))
	return append(dst, payload...)
}

// usable returns why the store takes no writes, or nil.
// REQUIRES: s.mu held.
func (s *Store) usable() error {
	if s.f == nil {
		return ErrClosed
	}
	if s.failed != nil {
		return fmt.Errorf("metalog: %s takes no writes after an earlier failure: %w", s.path, s.failed)
	}
	return nil
}

// Append writes entry and fsyncs it: once Append returns nil the entry
// survives a crash. ctx is checked before the write; the write and fsync
// themselves are not interrupted. The Store does not keep entry.
func (s *Store) Append(ctx context.Context, entry []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(entry) > MaxEntryBytes {
		return fmt.Errorf("metalog: entry of %d bytes is larger than the limit of %d", len(entry), MaxEntryBytes)
	}
	buf := appendFrame(make([]byte, 0, frameHeaderBytes+len(entry)), entry)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if _, err := s.f.WriteAt(buf, s.size); err != nil {
		// Cut the partial record away, so later appends do not land
		// behind a torn one (which the next Open would stop at).
		if terr := s.f.Truncate(s.size); terr != nil {
			s.fail(terr)
		}
		return fmt.Errorf("metalog: write %s: %w", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		s.fail(err)
		return fmt.Errorf("metalog: sync %s: %w", s.path, err)
	}
	s.size += int64(len(buf))
	s.entries++
	return nil
}

// fail records that the file's durable state is unknown.
// REQUIRES: s.mu held.
func (s *Store) fail(err error) {
	s.logger.Error("metadata log: durable state unknown; refusing writes until reopened", "file", s.path, "error", err)
	s.failed = err
}

// NeedsCompaction reports whether the log holds many more entries than
// the live entries that would replace it.
func (s *Store) NeedsCompaction(live int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f != nil && s.entries > 2*live+64
}

// Compact atomically replaces the log by entries (after a fresh format
// header): a crash at any point leaves either the old log or the new one.
func (s *Store) Compact(entries [][]byte) error {
	size := frameHeaderBytes + 64
	for _, e := range entries {
		if len(e) > MaxEntryBytes {
			return fmt.Errorf("metalog: entry of %d bytes is larger than the limit of %d", len(e), MaxEntryBytes)
		}
		size += frameHeaderBytes + len(e)
	}
	buf := appendHeader(make([]byte, 0, size))
	for _, e := range entries {
		buf = appendFrame(buf, e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := writeFileSync(tmp, buf); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("metalog: compact: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("metalog: compact: %w", err)
	}
	// From here s.f is the replaced file: appends to it would be lost.
	f, err := os.OpenFile(s.path, os.O_RDWR, 0o644)
	if err != nil {
		s.fail(err)
		return fmt.Errorf("metalog: compact: reopen: %w", err)
	}
	s.f.Close()
	s.f, s.size, s.entries = f, int64(len(buf)), len(entries)
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		// The rename may not be durable: after a crash the old log could
		// come back without what is appended to the new one.
		s.fail(err)
		return fmt.Errorf("metalog: compact: %w", err)
	}
	return nil
}

// Close releases the file. Appends after Close fail with ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return ErrClosed
	}
	err := s.f.Close()
	s.f = nil
	return err
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
