package segments_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runnel-dev/runnel/segments"
	"github.com/runnel-dev/runnel/segments/compact"
	"github.com/runnel-dev/runnel/segments/errorfs"
)

// keyedEnv is a faultEnv whose log holds keyed records, with the latest
// value of each key remembered.
type keyedEnv struct {
	*faultEnv
	latest map[string]string
	at     map[int64]string // offset -> "key=value"
	n      int
}

func (e *keyedEnv) appendKeyed(count int) {
	e.t.Helper()
	for range count {
		k := fmt.Sprintf("k%d", e.n%7)
		v := fmt.Sprintf("v%d", e.n)
		e.n++
		base, err := e.log.Append(segments.Keyed(int64(1000+e.n), k+"="+v))
		if err != nil {
			e.t.Fatalf("Append: %v", err)
		}
		e.latest[k] = v
		e.at[base] = k + "=" + v
	}
}

// check reads the whole log: every record one appended at its offset,
// every key's latest value there and last.
func (e *keyedEnv) check() {
	e.t.Helper()
	last := make(map[string]string)
	next := e.log.StartOffset()
	for next < e.log.EndOffset() {
		got, err := e.log.AppendRead(nil, next, 1<<20)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(got) == 0 {
			break
		}
		if err := segments.SplitBatches(got, func(b []byte) bool {
			h, err := segments.ParseBatchHeader(b)
			if err != nil || h.BaseOffset < next && h.LastOffset() < next {
				e.t.Fatalf("batch %+v at %d: %v", h, next, err)
			}
			recs, err := compact.ReadRecords(nil, b)
			if err != nil {
				e.t.Fatalf("batch %d: %v", h.BaseOffset, err)
			}
			for _, r := range recs {
				off := h.BaseOffset + int64(r.OffsetDelta)
				kv := string(r.Key) + "=" + string(r.Value)
				if e.at[off] != kv {
					e.t.Fatalf("offset %d holds %s, appended %s", off, kv, e.at[off])
				}
				last[string(r.Key)] = string(r.Value)
			}
			next = h.NextOffset()
			return true
		}); err != nil {
			e.t.Fatal(err)
		}
	}
	for k, v := range e.latest {
		if last[k] != v {
			e.t.Fatalf("key %s: last value %q, want %q", k, last[k], v)
		}
	}
}

func noCompactionFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".cleaned") || strings.HasSuffix(e.Name(), ".swap") {
			t.Fatalf("left behind: %s", e.Name())
		}
	}
}

// TestCompactFaults fails each I/O step of a compaction pass: the pass
// reports it (or, for an index left under its temporary name, warns),
// the log stays whole and readable, appends go on, the next pass
// succeeds, and a crash after all that recovers the same log.
func TestCompactFaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule errorfs.Rule
		ok   bool // the pass succeeds anyway
	}{
		{"create", errorfs.Rule{Op: errorfs.OpOpen, Pattern: "*.log.cleaned"}, false},
		{"create index", errorfs.Rule{Op: errorfs.OpOpen, Pattern: "*.timeindex.cleaned"}, false},
		{"write", errorfs.Rule{Op: errorfs.OpWrite, Pattern: "*.log.cleaned"}, false},
		{"sync", errorfs.Rule{Op: errorfs.OpSync, Pattern: "*.log.cleaned"}, false},
		{"sync index", errorfs.Rule{Op: errorfs.OpSync, Pattern: "*.index.cleaned"}, false},
		{"read", errorfs.Rule{Op: errorfs.OpRead, Pattern: "*.log", Nth: 5}, false},
		{"commit rename", errorfs.Rule{Op: errorfs.OpRename, Pattern: "*.log.cleaned"}, false},
		{"remove index", errorfs.Rule{Op: errorfs.OpRemove, Pattern: "*.timeindex"}, false},
		{"commit sync", errorfs.Rule{Op: errorfs.OpSyncDir}, false},
		{"swap rename", errorfs.Rule{Op: errorfs.OpRename, Pattern: "*.log.swap"}, false},
		{"index rename", errorfs.Rule{Op: errorfs.OpRename, Pattern: "*.index.cleaned"}, true},
		{"final sync", errorfs.Rule{Op: errorfs.OpSyncDir, Nth: 2}, false},
		{"delete emptied", errorfs.Rule{Op: errorfs.OpRename, Pattern: "*.log", Nth: 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := segments.Options{SegmentBytes: 300}
			e := &keyedEnv{faultEnv: newFaultEnv(t, opts), latest: make(map[string]string), at: make(map[int64]string)}
			e.appendKeyed(40)
			tc.rule.Count = 1
			if tc.rule.Err == nil {
				tc.rule.Err = errorfs.ErrInjected
			}
			in := e.fs.Inject(tc.rule)
			_, err := e.log.Compact(segments.CompactOptions{})
			if in.Fired() != 1 {
				t.Fatalf("rule did not fire (Compact: %v)", err)
			}
			if tc.ok != (err == nil) || err != nil && !errors.Is(err, errorfs.ErrInjected) {
				t.Fatalf("Compact: %v", err)
			}
			e.check()
			e.appendKeyed(10)
			e.check()
			if _, err := e.log.Compact(segments.CompactOptions{}); err != nil {
				t.Fatalf("second pass: %v", err)
			}
			e.check()
			e.crash(opts)
			e.check()
			noCompactionFiles(t, filepath.Join(e.root, "p-0"))
			if strings.Contains(e.logs.String(), "dropped invalid") {
				t.Fatalf("recovery dropped data:\n%s", e.logs)
			}
			e.appendKeyed(10)
			if _, err := e.log.Compact(segments.CompactOptions{}); err != nil {
				t.Fatal(err)
			}
			e.check()
		})
	}
}
