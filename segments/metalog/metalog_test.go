package metalog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// open opens a store on dir and returns it with the entries it replayed.
func open(t *testing.T, dir string, logger *slog.Logger) (*Store, []string) {
	t.Helper()
	s := New(logger)
	var got []string
	if err := s.Open(dir, func(e []byte) error {
		got = append(got, string(e))
		return nil
	}); err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s, got
}

func appendAll(t *testing.T, s *Store, entries ...string) {
	t.Helper()
	for _, e := range entries {
		if err := s.Append(context.Background(), []byte(e)); err != nil {
			t.Fatalf("Append(%q): %v", e, err)
		}
	}
}

func fileBytes(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// v1Header is the first record of every file, as the kernel wrote it
// before the store was a package of its own.
const v1Header = `{"type":"format","format_version":1}`

func TestAppendReplay(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "meta") // Open creates it
	s, got := open(t, dir, quiet())
	if len(got) != 0 {
		t.Fatalf("new log replayed %q", got)
	}
	want := []string{`{"type":"cluster"}`, "", "not json at all", strings.Repeat("x", 5000)}
	appendAll(t, s, want...)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b := fileBytes(t, dir)
	if n := binary.BigEndian.Uint32(b); int(n) != len(v1Header) || string(b[8:8+n]) != v1Header {
		t.Fatalf("file does not start with the v1 format header: %q", b[:min(len(b), 60)])
	}
	s, got = open(t, dir, quiet())
	defer s.Close()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("replayed %q, want %q", got, want)
	}
	appendAll(t, s, "after reopen")
	if s.entries != len(want)+1 {
		t.Fatalf("entries %d, want %d", s.entries, len(want)+1)
	}
}

// TestReadsV1File opens a metadata log written by the kernel before the
// store was split out of it (testdata/v1, made by Runnel at e73148c): the
// header is consumed, every record is replayed, and appends land after it
// with the bytes before them untouched.
func TestReadsV1File(t *testing.T) {
	old, err := os.ReadFile(filepath.Join("testdata", "v1", FileName))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), old, 0o644); err != nil {
		t.Fatal(err)
	}
	s, got := open(t, dir, quiet())
	var types []string
	for _, e := range got {
		typ, _, _ := strings.Cut(strings.TrimPrefix(e, `{"type":"`), `"`)
		types = append(types, typ)
	}
	if want := "[cluster topic topic delete_topic topic_configs producer_ids]"; fmt.Sprint(types) != want {
		t.Fatalf("replayed types %v, want %s", types, want)
	}
	appendAll(t, s, `{"type":"cluster","cluster_id":"x"}`)
	s.Close()
	if b := fileBytes(t, dir); !bytes.HasPrefix(b, old) {
		t.Fatal("appending changed the bytes of the existing records")
	}
}

func TestNewerFormatRefused(t *testing.T) {
	dir := t.TempDir()
	rec := appendFrame(nil, []byte(`{"type":"format","format_version":2}`))
	if err := os.WriteFile(filepath.Join(dir, FileName), rec, 0o644); err != nil {
		t.Fatal(err)
	}
	err := New(quiet()).Open(dir, func([]byte) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "format version 2") {
		t.Fatalf("Open of a format 2 file: %v", err)
	}
}

// TestFileWithoutHeader reads a file whose first record is not a format
// header as all entries (no Runnel wrote one, but nothing is lost).
func TestFileWithoutHeader(t *testing.T) {
	dir := t.TempDir()
	data := appendFrame(appendFrame(nil, []byte("a")), []byte("b"))
	if err := os.WriteFile(filepath.Join(dir, FileName), data, 0o644); err != nil {
		t.Fatal(err)
	}
	s, got := open(t, dir, quiet())
	defer s.Close()
	if fmt.Sprint(got) != "[a b]" {
		t.Fatalf("replayed %q", got)
	}
}

// TestTornTailTruncated damages the end of the file in the ways a crash
// mid-append can and checks that Open keeps every whole record, truncates
// the rest, says so in the log, and that appends after it are replayed.
func TestTornTailTruncated(t *testing.T) {
	cases := []struct {
		name   string
		damage func(whole []byte) []byte
	}{
		{"short frame header", func(b []byte) []byte { return append(b, 0, 0, 0) }},
		{"short payload", func(b []byte) []byte {
			rec := appendFrame(nil, []byte("lost entry"))
			return append(b, rec[:len(rec)-3]...)
		}},
		{"bad crc", func(b []byte) []byte {
			rec := appendFrame(nil, []byte("lost entry"))
			rec[len(rec)-1] ^= 0xff
			return append(b, rec...)
		}},
		{"length past the limit", func(b []byte) []byte {
			return binary.BigEndian.AppendUint32(append(b, 0xff, 0xff, 0xff, 0xff), 0)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := open(t, dir, quiet())
			appendAll(t, s, "one", "two")
			s.Close()
			whole := fileBytes(t, dir)
			if err := os.WriteFile(filepath.Join(dir, FileName), c.damage(bytes.Clone(whole)), 0o644); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			s, got := open(t, dir, slog.New(slog.NewTextHandler(&logs, nil)))
			if fmt.Sprint(got) != "[one two]" {
				t.Fatalf("replayed %q", got)
			}
			if !bytes.Equal(fileBytes(t, dir), whole) {
				t.Fatal("torn tail not truncated back to the whole records")
			}
			if !strings.Contains(logs.String(), "truncating torn tail") || !strings.Contains(logs.String(), "bytes_dropped") {
				t.Fatalf("truncation not logged: %q", logs.String())
			}
			appendAll(t, s, "three")
			s.Close()
			s, got = open(t, dir, quiet())
			defer s.Close()
			if fmt.Sprint(got) != "[one two three]" {
				t.Fatalf("after truncation and an append, replayed %q", got)
			}
		})
	}
}

// TestTornHeader is a crash while creating the log: the format header
// itself is torn. Open starts the file again.
func TestTornHeader(t *testing.T) {
	dir := t.TempDir()
	hdr := appendHeader(nil)
	if err := os.WriteFile(filepath.Join(dir, FileName), hdr[:len(hdr)-5], 0o644); err != nil {
		t.Fatal(err)
	}
	s, got := open(t, dir, quiet())
	if len(got) != 0 {
		t.Fatalf("replayed %q", got)
	}
	appendAll(t, s, "x")
	s.Close()
	if b := fileBytes(t, dir); !bytes.HasPrefix(b, hdr) {
		t.Fatalf("file after a torn header: %q", b)
	}
}

func TestCompact(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, quiet())
	for i := 0; i < 80; i++ {
		appendAll(t, s, fmt.Sprint("churn-", i))
	}
	if s.NeedsCompaction(40) {
		t.Fatal("80 entries for 40 live ones should not need compaction")
	}
	if !s.NeedsCompaction(2) {
		t.Fatal("80 entries for 2 live ones should need compaction")
	}
	if err := s.Compact([][]byte{[]byte("a"), []byte("b")}); err != nil {
		t.Fatal(err)
	}
	if s.NeedsCompaction(2) {
		t.Fatal("still needs compaction right after it")
	}
	appendAll(t, s, "c")
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, FileName+".tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file left behind: %v", err)
	}
	s, got := open(t, dir, quiet())
	defer s.Close()
	if fmt.Sprint(got) != "[a b c]" {
		t.Fatalf("after compaction, replayed %q", got)
	}
	if b := fileBytes(t, dir); !bytes.HasPrefix(b, appendHeader(nil)) {
		t.Fatal("compacted file lost its format header")
	}
}

// TestCompactionCrashBeforeRename leaves what a crash during Compact
// leaves, a whole or partial temporary file beside the untouched log:
// Open replays the old log, ignores the temporary file and removes it.
func TestCompactionCrashBeforeRename(t *testing.T) {
	for _, tmp := range [][]byte{
		appendFrame(appendHeader(nil), []byte("snapshot")), // whole, not yet renamed
		appendHeader(nil)[:5],                              // torn
	} {
		dir := t.TempDir()
		s, _ := open(t, dir, quiet())
		appendAll(t, s, "old-1", "old-2")
		s.Close()
		if err := os.WriteFile(filepath.Join(dir, FileName+".tmp"), tmp, 0o644); err != nil {
			t.Fatal(err)
		}
		s, got := open(t, dir, quiet())
		if fmt.Sprint(got) != "[old-1 old-2]" {
			t.Fatalf("replayed %q", got)
		}
		if _, err := os.Stat(filepath.Join(dir, FileName+".tmp")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("stale temporary file kept: %v", err)
		}
		// The next compaction is not confused by it either.
		if err := s.Compact([][]byte{[]byte("new")}); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s, got = open(t, dir, quiet())
		s.Close()
		if fmt.Sprint(got) != "[new]" {
			t.Fatalf("after compaction, replayed %q", got)
		}
	}
}

func TestClosed(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, quiet())
	appendAll(t, s, "a")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(context.Background(), []byte("b")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if err := s.Compact(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Compact after Close: %v", err)
	}
	if s.NeedsCompaction(0) {
		t.Fatal("a closed store needs compaction")
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if err := New(quiet()).Append(context.Background(), []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append before Open: %v", err)
	}
	// A closed store opens again.
	s2, got := open(t, dir, quiet())
	defer s2.Close()
	if fmt.Sprint(got) != "[a]" {
		t.Fatalf("replayed %q", got)
	}
	if err := s2.Open(dir, func([]byte) error { return nil }); err == nil {
		t.Fatal("a second Open of an open store succeeded")
	}
}

func TestReplayErrorStopsOpen(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, quiet())
	appendAll(t, s, "good", "bad", "never")
	s.Close()
	var seen []string
	s = New(quiet())
	err := s.Open(dir, func(e []byte) error {
		seen = append(seen, string(e))
		if string(e) == "bad" {
			return errors.New("cannot apply")
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "cannot apply") {
		t.Fatalf("Open: %v", err)
	}
	if fmt.Sprint(seen) != "[good bad]" {
		t.Fatalf("replay went on after an error: %q", seen)
	}
	if err := s.Append(context.Background(), []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after a failed Open: %v", err)
	}
}

func TestAppendRefusals(t *testing.T) {
	s, _ := open(t, t.TempDir(), quiet())
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Append(ctx, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a canceled context: %v", err)
	}
	if err := s.Append(context.Background(), make([]byte, MaxEntryBytes+1)); err == nil {
		t.Fatal("an entry past MaxEntryBytes was accepted; Open would read it as torn")
	}
	if s.entries != 0 {
		t.Fatalf("refused appends counted: %d entries", s.entries)
	}
}
