package segments

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func openTestDir(t *testing.T, path string) (*Dir, *syncBuffer) {
	t.Helper()
	logger, logs := testLogger()
	d, err := OpenDir(path, nil, logger)
	if err != nil {
		t.Fatalf("OpenDir: %v", err)
	}
	return d, logs
}

func openDirLog(t *testing.T, d *Dir, name string, opts Options, checked *int) *Log {
	t.Helper()
	opts.Logger = d.logger
	if checked != nil {
		opts.OnRecoveredBatch = func(BatchHeader) { *checked++ }
	}
	l, err := d.OpenLog(name, opts)
	if err != nil {
		t.Fatalf("OpenLog(%s): %v", name, err)
	}
	return l
}

func readCheckpointFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDirCleanShutdownSkipsChecks(t *testing.T) {
	root := t.TempDir()
	d, _ := openTestDir(t, root)
	opts := Options{SegmentBytes: 2000}
	var want [][]byte
	for _, name := range []string{"a-0", "a-1", "b-0"} {
		l := openDirLog(t, d, name, opts, nil)
		want = appendMany(t, l, 50)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	rp := readCheckpointFile(t, filepath.Join(root, recoveryPointFile))
	if !strings.HasPrefix(rp, "1\n3\na-0 ") || strings.Count(rp, " clean\n") != 3 {
		t.Fatalf("recovery points after a clean close:\n%s", rp)
	}

	d, logs := openTestDir(t, root)
	// Clean marks come off the disk before any log can be written.
	if got := readCheckpointFile(t, filepath.Join(root, recoveryPointFile)); strings.Contains(got, "clean") {
		t.Fatalf("clean marks still on disk after OpenDir:\n%s", got)
	}
	checked := 0
	l := openDirLog(t, d, "b-0", opts, &checked)
	if checked != 0 {
		t.Fatalf("clean open checked %d batches", checked)
	}
	sameBatches(t, readAll(t, l, 1<<20), want)
	// a-0 and a-1 are untouched: a checkpoint keeps them clean.
	if err := d.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	end := itoa(appendedEnd(50))
	if got, want := readCheckpointFile(t, filepath.Join(root, recoveryPointFile)),
		"1\n3\na-0 "+end+" clean\na-1 "+end+" clean\nb-0 "+end+" dirty\n"; got != want {
		t.Fatalf("checkpoint with b-0 open:\n%s\nwant\n%s", got, want)
	}
	mustAppend(t, l, testBatch(1, []byte("more")))
	d.crash()
	if logs.String() != "" {
		t.Fatalf("logged: %s", logs)
	}

	// After the crash b-0 is checked from its recovery point; the others
	// are still clean.
	d, _ = openTestDir(t, root)
	defer d.Close()
	checked = 0
	l = openDirLog(t, d, "b-0", opts, &checked)
	if checked == 0 || checked > 50 {
		t.Fatalf("open after crash checked %d batches", checked)
	}
	if l.EndOffset() != appendedEnd(50)+1 || len(readAll(t, l, 1<<20)) != 51 {
		t.Fatalf("end offset %d", l.EndOffset())
	}
	checked = 0
	openDirLog(t, d, "a-0", opts, &checked)
	if checked != 0 {
		t.Fatalf("a-0, untouched since its clean close, checked %d batches", checked)
	}
}

func TestDirReopenAfterCheckpointClean(t *testing.T) {
	// A log closed cleanly and checkpointed mid-run, then reopened in the
	// same run, must lose its clean mark on disk before it is written.
	root := t.TempDir()
	d, _ := openTestDir(t, root)
	l := openDirLog(t, d, "x-0", Options{}, nil)
	appendMany(t, l, 10)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if got := readCheckpointFile(t, filepath.Join(root, recoveryPointFile)); !strings.Contains(got, "x-0 ") || !strings.Contains(got, " clean\n") {
		t.Fatalf("checkpoint after close:\n%s", got)
	}
	l = openDirLog(t, d, "x-0", Options{}, nil)
	if got := readCheckpointFile(t, filepath.Join(root, recoveryPointFile)); strings.Contains(got, "clean") {
		t.Fatalf("clean mark on disk while open:\n%s", got)
	}
	if _, err := d.OpenLog("x-0", Options{}); err == nil {
		t.Fatal("second OpenLog of an open log succeeded")
	}
	mustAppend(t, l, testBatch(1, nil))
	d.crash()
	d, _ = openTestDir(t, root)
	defer d.Close()
	checked := 0
	l = openDirLog(t, d, "x-0", Options{}, &checked)
	if checked != 11 || l.EndOffset() != appendedEnd(10)+1 {
		t.Fatalf("checked %d, end %d", checked, l.EndOffset())
	}
}

// appendedEnd is the end offset after appendMany(n).
func appendedEnd(n int) int64 {
	var end int64
	for i := range n {
		end += int64(1 + i%5)
	}
	return end
}

func TestDirCheckpointFormat(t *testing.T) {
	root := t.TempDir()
	d, _ := openTestDir(t, root)
	l := openDirLog(t, d, "orders-0", Options{SegmentBytes: 500}, nil)
	appendMany(t, l, 20)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.AdvanceStartOffset(7); err != nil {
		t.Fatal(err)
	}
	if err := d.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	end := l.EndOffset()
	if got, want := readCheckpointFile(t, filepath.Join(root, recoveryPointFile)), "1\n1\norders-0 "+itoa(end)+" dirty\n"; got != want {
		t.Fatalf("recovery points:\n%q\nwant\n%q", got, want)
	}
	if got, want := readCheckpointFile(t, filepath.Join(root, startOffsetFile)), "1\n1\norders-0 7\n"; got != want {
		t.Fatalf("start offsets:\n%q\nwant\n%q", got, want)
	}
	if _, err := os.Stat(filepath.Join(root, recoveryPointFile+tmpSuffix)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary left behind: %v", err)
	}
	// Removing the log drops it from the checkpoints.
	if err := l.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readCheckpointFile(t, filepath.Join(root, recoveryPointFile)); got != "1\n0\n" {
		t.Fatalf("after Remove:\n%q", got)
	}
}

func TestDirMalformedCheckpoint(t *testing.T) {
	root := t.TempDir()
	d, _ := openTestDir(t, root)
	l := openDirLog(t, d, "t-0", Options{}, nil)
	want := appendMany(t, l, 10)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "2\n0\n", "1\n2\nt-0 5 clean\n", "1\n1\nt-0 x clean\n", "1\n1\nt-0 5 maybe\n", "1\n1\nt-0 -3 clean\n"} {
		if err := os.WriteFile(filepath.Join(root, recoveryPointFile), []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		d, logs := openTestDir(t, root)
		checked := 0
		l := openDirLog(t, d, "t-0", Options{}, &checked)
		if checked != 10 {
			t.Errorf("checkpoint %q: checked %d batches, want all 10", bad, checked)
		}
		sameBatches(t, readAll(t, l, 1<<20), want)
		if !strings.Contains(logs.String(), "level=WARN") {
			t.Errorf("checkpoint %q: nothing logged", bad)
		}
		d.crash()
	}
}

func TestDirBadNames(t *testing.T) {
	d, _ := openTestDir(t, t.TempDir())
	defer d.Close()
	for _, name := range []string{"", ".", "..", "a/b", "a b", "a\nb"} {
		if _, err := d.OpenLog(name, Options{}); err == nil {
			t.Errorf("OpenLog(%q) succeeded", name)
		}
	}
	if _, err := OpenDir(d.Path(), nil, nil); !errors.Is(err, ErrDirLocked) {
		t.Fatalf("second OpenDir: %v", err)
	}
}

func TestDirStartOffsetPastEnd(t *testing.T) {
	// The log lost offsets a checkpoint says were given out: it starts
	// again, empty, at the checkpointed start.
	root := t.TempDir()
	d, _ := openTestDir(t, root)
	l := openDirLog(t, d, "t-0", Options{}, nil)
	appendMany(t, l, 10)
	if err := l.AdvanceStartOffset(20); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	files := segmentFiles(t, filepath.Join(root, "t-0"))
	if err := os.Truncate(files[0], 0); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, recoveryPointFile), []byte("1\n0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, logs := openTestDir(t, root)
	defer d.Close()
	l = openDirLog(t, d, "t-0", Options{}, nil)
	if l.StartOffset() != 20 || l.EndOffset() != 20 {
		t.Fatalf("start %d end %d, want 20 20", l.StartOffset(), l.EndOffset())
	}
	if !strings.Contains(logs.String(), "starting empty") {
		t.Fatalf("not logged: %s", logs)
	}
	if base := mustAppend(t, l, testBatch(1, nil)); base != 20 {
		t.Fatalf("appended at %d", base)
	}
}
