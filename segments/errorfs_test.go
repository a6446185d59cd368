package segments_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runnel-dev/runnel/segments"
	"github.com/runnel-dev/runnel/segments/errorfs"
)

// faultEnv is a Dir over an errorfs, with one log "p-0".
type faultEnv struct {
	t    *testing.T
	root string
	fs   *errorfs.FS
	dir  *segments.Dir
	log  *segments.Log
	logs *bytes.Buffer
	mu   sync.Mutex
}

func newFaultEnv(t *testing.T, opts segments.Options) *faultEnv {
	e := &faultEnv{t: t, root: t.TempDir(), fs: errorfs.New(segments.OSFS{})}
	e.open(opts)
	t.Cleanup(func() {
		e.fs.Reset()
		_ = e.dir.Close()
	})
	return e
}

func (e *faultEnv) open(opts segments.Options) {
	e.t.Helper()
	e.logs = &bytes.Buffer{}
	logger := slog.New(slog.NewTextHandler(lockedWriter{&e.mu, e.logs}, nil))
	var err error
	if e.dir, err = segments.OpenDir(e.root, e.fs, logger); err != nil {
		e.t.Fatal(err)
	}
	opts.Logger = logger
	if e.log, err = e.dir.OpenLog("p-0", opts); err != nil {
		e.t.Fatal(err)
	}
}

// crash abandons the log and opens it again.
func (e *faultEnv) crash(opts segments.Options) {
	e.t.Helper()
	segments.CrashDir(e.dir)
	e.open(opts)
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (e *faultEnv) append(n int) []int64 {
	e.t.Helper()
	var bases []int64
	for range n {
		base, err := e.log.Append(segments.TestBatch(2, []byte("0123456789")))
		if err != nil {
			e.t.Fatalf("Append: %v", err)
		}
		bases = append(bases, base)
	}
	return bases
}

// checkLog reads the whole log and checks it holds batches of 2 records
// from 0 to end.
func (e *faultEnv) checkLog(end int64) {
	e.t.Helper()
	if e.log.EndOffset() != end {
		e.t.Fatalf("end offset %d, want %d", e.log.EndOffset(), end)
	}
	got, err := e.log.AppendRead(nil, 0, 1<<30)
	if err != nil {
		e.t.Fatal(err)
	}
	next := int64(0)
	if err := segments.SplitBatches(got, func(b []byte) bool {
		h, err := segments.ValidateBatch(b)
		if err != nil || h.BaseOffset != next {
			e.t.Fatalf("batch at %d: %+v, %v", next, h, err)
		}
		next = h.NextOffset()
		return true
	}); err != nil {
		e.t.Fatal(err)
	}
	if next != end {
		e.t.Fatalf("read up to %d, want %d", next, end)
	}
}

func TestFailedWriteKeepsOffset(t *testing.T) {
	for _, short := range []bool{false, true} {
		t.Run(map[bool]string{false: "error", true: "short"}[short], func(t *testing.T) {
			e := newFaultEnv(t, segments.Options{SegmentBytes: 1000})
			e.append(5)
			in := e.fs.Inject(errorfs.Rule{Op: errorfs.OpWrite, Pattern: "*.log", Count: 1, Err: errorfs.ErrInjected, ShortWrite: short})
			if _, err := e.log.Append(segments.TestBatch(2, []byte("0123456789"))); !errors.Is(err, errorfs.ErrInjected) {
				t.Fatalf("Append: %v", err)
			}
			if in.Fired() != 1 {
				t.Fatal("rule did not fire")
			}
			e.checkLog(10)
			if got := e.append(1); got[0] != 10 {
				t.Fatalf("next append at %d, want 10", got[0])
			}
			e.append(20) // and through a roll
			e.checkLog(52)
			e.crash(segments.Options{SegmentBytes: 1000})
			e.checkLog(52)
			if strings.Contains(e.logs.String(), "WARN") {
				t.Fatalf("recovery found damage:\n%s", e.logs)
			}
		})
	}
}

func TestShortWriteUntrimmed(t *testing.T) {
	// The write is torn and trimming it fails too: the half batch stays
	// in the file, invisible to readers, overwritten by the next append,
	// and a crash before that leaves recovery something to cut.
	e := newFaultEnv(t, segments.Options{PreallocateBytes: -1})
	e.append(5)
	e.fs.Inject(errorfs.Rule{Op: errorfs.OpWrite, Pattern: "*.log", Count: 1, ShortWrite: true})
	e.fs.Inject(errorfs.Rule{Op: errorfs.OpTruncate, Pattern: "*.log", Count: 1, Err: errorfs.ErrInjected})
	if _, err := e.log.Append(segments.TestBatch(20, []byte("0123456789"))); err == nil {
		t.Fatal("torn append succeeded")
	}
	e.checkLog(10)
	e.crash(segments.Options{PreallocateBytes: -1})
	e.checkLog(10)
	if !strings.Contains(e.logs.String(), "dropped invalid log tail") {
		t.Fatalf("torn batch not reported:\n%s", e.logs)
	}
}

func TestFailedSyncIsReportedAndSticks(t *testing.T) {
	e := newFaultEnv(t, segments.Options{SegmentBytes: 1000})
	e.append(3)
	if err := e.log.Sync(); err != nil {
		t.Fatal(err)
	}
	rp := e.log.RecoveryPoint()
	e.append(3)
	e.fs.Inject(errorfs.Rule{Op: errorfs.OpSync, Pattern: "*.log", Count: 1, Err: errorfs.ErrInjected})
	err := e.log.Sync()
	if !errors.Is(err, errorfs.ErrInjected) || !errors.Is(err, segments.ErrBroken) {
		t.Fatalf("Sync: %v", err)
	}
	// The fault is over, but what reached the disk is unknown: the log
	// does not pretend otherwise.
	if err := e.log.Sync(); !errors.Is(err, segments.ErrBroken) {
		t.Fatalf("second Sync: %v", err)
	}
	if _, err := e.log.Append(segments.TestBatch(1, nil)); !errors.Is(err, segments.ErrBroken) {
		t.Fatalf("Append after failed sync: %v", err)
	}
	if e.log.RecoveryPoint() != rp {
		t.Fatalf("recovery point moved to %d", e.log.RecoveryPoint())
	}
	e.checkLog(12) // reads go on
	// Not a clean close: the next open checks the tail.
	if err := e.dir.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(e.root, "recovery-point-offset-checkpoint"))
	if err != nil || !strings.Contains(string(b), "p-0 6 dirty") {
		t.Fatalf("checkpoint:\n%s (%v)", b, err)
	}
	e.open(segments.Options{SegmentBytes: 1000})
	e.checkLog(12)
}

func TestFailedDirSyncIsReported(t *testing.T) {
	e := newFaultEnv(t, segments.Options{SegmentBytes: 300})
	e.append(3)
	e.fs.Inject(errorfs.Rule{Op: errorfs.OpSyncDir, Count: 1, Err: errorfs.ErrInjected})
	e.append(3) // rolls: the directory needs a sync
	if err := e.log.Sync(); !errors.Is(err, errorfs.ErrInjected) {
		t.Fatalf("Sync: %v", err)
	}
}

func TestFailedRollKeepsAppending(t *testing.T) {
	e := newFaultEnv(t, segments.Options{SegmentBytes: 300})
	e.append(5) // 83 bytes each: 3 fit in a segment
	for _, r := range []errorfs.Rule{
		{Op: errorfs.OpOpen, Pattern: "*.timeindex", Count: 1, Err: errorfs.ErrInjected},
		{Op: errorfs.OpTruncate, Pattern: "*.log", Count: 1, Err: errorfs.ErrInjected},
		{Op: errorfs.OpTruncate, Pattern: "*.index", Count: 1, Err: errorfs.ErrInjected},
	} {
		in := e.fs.Inject(r)
		end := e.log.EndOffset()
		// Fill the active segment, then fail the roll.
		for e.log.EndOffset() == end || in.Fired() == 0 {
			if _, err := e.log.Append(segments.TestBatch(2, []byte("0123456789"))); err != nil {
				if !errors.Is(err, errorfs.ErrInjected) {
					t.Fatalf("Append: %v", err)
				}
				break
			}
		}
		if in.Fired() != 1 {
			t.Fatalf("rule %+v did not fire", r)
		}
		e.append(4)
	}
	end := e.log.EndOffset()
	e.checkLog(end)
	if err := e.dir.Close(); err != nil {
		t.Fatal(err)
	}
	e.open(segments.Options{SegmentBytes: 300})
	e.checkLog(end)
	if strings.Contains(e.logs.String(), "WARN") {
		t.Fatalf("reopen found damage:\n%s", e.logs)
	}
}

func TestFailedPreallocateKeepsAppending(t *testing.T) {
	e := newFaultEnv(t, segments.Options{})
	e.fs.Inject(errorfs.Rule{Op: errorfs.OpFallocate, Pattern: "*.log", Count: 1, Err: errorfs.ErrInjected})
	if _, err := e.log.Append(segments.TestBatch(2, []byte("0123456789"))); !errors.Is(err, errorfs.ErrInjected) {
		t.Fatalf("Append: %v", err)
	}
	e.append(3)
	e.checkLog(6)
}

func TestHeapIndexes(t *testing.T) {
	// Without a descriptor there is no mmap: indexes live on the heap and
	// are written through the FS, where a failed write is repaired when
	// the index is sealed.
	e := &faultEnv{t: t, root: t.TempDir(), fs: errorfs.New(segments.OSFS{})}
	e.fs.NoOSFile = true
	opts := segments.Options{SegmentBytes: 2000, IndexIntervalBytes: 100}
	e.open(opts)
	defer func() { _ = e.dir.Close() }()
	e.fs.Inject(errorfs.Rule{Op: errorfs.OpWrite, Pattern: "*.index", Nth: 3, Count: 1, Err: errorfs.ErrInjected})
	e.append(100)
	e.checkLog(200)
	for off := int64(0); off < 200; off += 7 {
		got, err := e.log.AppendRead(nil, off, 1)
		if err != nil {
			t.Fatal(err)
		}
		h, err := segments.ValidateBatch(got)
		if err != nil || h.BaseOffset > off || h.LastOffset() < off {
			t.Fatalf("read %d: %+v, %v", off, h, err)
		}
	}
	if _, _, err := e.log.ReadRanges(nil, 0, 100); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("ReadRanges without descriptors: %v", err)
	}
	if err := e.dir.Close(); err != nil {
		t.Fatal(err)
	}
	e.open(opts)
	e.checkLog(200)
	if e.logs.Len() != 0 {
		t.Fatalf("reopen logged:\n%s", e.logs)
	}
}

func TestSyncLatencyDoesNotBlockAppends(t *testing.T) {
	e := newFaultEnv(t, segments.Options{})
	e.append(1)
	e.fs.Inject(errorfs.Rule{Op: errorfs.OpSync, Pattern: "*.log", Count: 1, Latency: 200 * time.Millisecond})
	done := make(chan error)
	go func() { done <- e.log.Sync() }()
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	e.append(10)
	if d := time.Since(start); d > 150*time.Millisecond {
		t.Fatalf("appends waited %v for a slow sync", d)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rp := e.log.RecoveryPoint(); rp != 2 {
		t.Fatalf("recovery point %d, want 2 (what Sync started with)", rp)
	}
}

func TestFailedCheckpointKeepsTheOldOne(t *testing.T) {
	e := newFaultEnv(t, segments.Options{})
	e.append(3)
	if err := e.log.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := e.dir.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(e.root, "recovery-point-offset-checkpoint")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e.append(3)
	if err := e.log.Sync(); err != nil {
		t.Fatal(err)
	}
	e.fs.Inject(errorfs.Rule{Op: errorfs.OpRename, Pattern: "recovery-point-offset-checkpoint.tmp", Count: 1, Err: errorfs.ErrInjected})
	if err := e.dir.Checkpoint(); !errors.Is(err, errorfs.ErrInjected) {
		t.Fatalf("Checkpoint: %v", err)
	}
	after, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("checkpoint changed:\n%s\n%s", before, after)
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary left: %v", err)
	}
}
