package errorfs

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/runnel-dev/runnel/segments"
)

func TestRules(t *testing.T) {
	dir := t.TempDir()
	fs := New(segments.OSFS{})
	in := fs.Inject(Rule{Op: OpWrite | OpSync, Pattern: "*.log", Nth: 2, Count: 2, Err: ErrInjected})
	f, err := fs.OpenFile(filepath.Join(dir, "a.log"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := fs.OpenFile(filepath.Join(dir, "a.index"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var got []bool
	for range 5 {
		_, err := f.WriteAt([]byte("x"), 0)
		got = append(got, errors.Is(err, ErrInjected))
		if _, err := g.WriteAt([]byte("x"), 0); err != nil {
			t.Fatalf("unmatched file: %v", err)
		}
	}
	if want := []bool{false, true, true, false, false}; !slices.Equal(got, want) {
		t.Fatalf("writes failed %v, want %v", got, want)
	}
	if in.Fired() != 2 {
		t.Fatalf("fired %d", in.Fired())
	}
	if err := f.Datasync(); err != nil {
		t.Fatalf("sync after the rule is spent: %v", err)
	}
	in.Remove()

	fs.Inject(Rule{Op: OpWrite, ShortWrite: true, Count: 1})
	n, err := f.WriteAt([]byte("0123456789"), 0)
	if n != 5 || !errors.Is(err, ErrInjected) {
		t.Fatalf("short write: %d, %v", n, err)
	}
	fs.Reset()

	fs.Inject(Rule{Op: OpSync, Latency: 30 * time.Millisecond})
	start := time.Now()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("latency rule: sync took %v", d)
	}

	if osf := f.(segments.OSFiler).OSFile(); osf == nil {
		t.Fatal("no *os.File")
	}
	fs.NoOSFile = true
	if osf := f.(segments.OSFiler).OSFile(); osf != nil {
		t.Fatal("*os.File with NoOSFile")
	}
}
