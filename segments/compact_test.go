package segments

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel-dev/runnel/segments/compact"
)

// workload makes random keyed batches: a few keys, some tombstones, some
// idempotent producers, some compressed.
type workload struct {
	rng  *rand.Rand
	keys int
	ts   int64
	seq  map[int64]int32
}

func newWorkload(seed uint64, keys int) *workload {
	return &workload{rng: rand.New(rand.NewPCG(seed, 7)), keys: keys, ts: 1000, seq: make(map[int64]int32)}
}

func (w *workload) batch() []byte {
	n := 1 + w.rng.IntN(4)
	spec := keyedSpec{producerID: -1, producerEpoch: -1, baseSequence: -1, ts: w.ts,
		codec: []int{compact.CodecNone, compact.CodecNone, compact.CodecZstd, compact.CodecLZ4}[w.rng.IntN(4)]}
	w.ts += 10
	if w.rng.IntN(4) == 0 {
		pid := int64(w.rng.IntN(3))
		spec.producerID, spec.producerEpoch, spec.baseSequence = pid, 0, w.seq[pid]
		w.seq[pid] += int32(n)
	}
	for i := range n {
		r := compact.Record{Key: fmt.Appendf(nil, "k%d", w.rng.IntN(w.keys))}
		if w.rng.IntN(6) != 0 {
			r.Value = fmt.Appendf(nil, "v%d.%d", w.ts, i)
		}
		spec.records = append(spec.records, r)
	}
	return keyedBatch(spec)
}

// producers records each producer's last batch appended.
type producers map[int64]BatchHeader

func (p producers) note(t testing.TB, base int64, batch []byte) {
	h, err := ParseBatchHeader(batch)
	if err != nil {
		t.Fatal(err)
	}
	if h.ProducerID >= 0 {
		h.BaseOffset = base
		p[h.ProducerID] = h
	}
}

// check: each producer's last batch in the log is its last appended, with
// its offsets and sequence numbers.
func (p producers) check(t testing.TB, l *Log) {
	t.Helper()
	last := make(map[int64]BatchHeader)
	if err := l.Scan(l.StartOffset(), func(h BatchHeader) bool {
		if h.ProducerID >= 0 {
			last[h.ProducerID] = h
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	for pid, want := range p {
		got, ok := last[pid]
		if !ok || got.BaseOffset != want.BaseOffset || got.LastOffset() != want.LastOffset() || got.LastSequence() != want.LastSequence() {
			t.Fatalf("producer %d: last batch %+v (%v), want %+v", pid, got, ok, want)
		}
	}
}

// fill appends n workload batches.
func fill(t testing.TB, l *Log, m *model, p producers, w *workload, n int) {
	t.Helper()
	for range n {
		b := w.batch()
		base := m.appendKeyed(t, l, b)
		p.note(t, base, b)
	}
}

// checkEveryOffset reads at every offset of the log, through AppendRead,
// ReadRanges and Scan, and checks each gives the first batch whose last
// offset is at or past it; and that FindTimestamp and MaxTimestamp agree
// with a walk.
func checkEveryOffset(t testing.TB, l *Log) {
	t.Helper()
	all := readBatches(t, l, l.StartOffset(), 1<<20)
	j := 0
	for off := l.StartOffset(); off < l.EndOffset(); off++ {
		for j < len(all) && all[j].h.LastOffset() < off {
			j++
		}
		got, err := l.AppendRead(nil, off, 1)
		if err != nil {
			t.Fatalf("AppendRead(%d): %v", off, err)
		}
		if j == len(all) {
			if len(got) != 0 {
				t.Fatalf("AppendRead(%d) past the last batch: %d bytes", off, len(got))
			}
			continue
		}
		if !bytes.Equal(got, all[j].raw) {
			h, _ := ParseBatchHeader(got)
			t.Fatalf("AppendRead(%d) = batch %d, want %d", off, h.BaseOffset, all[j].h.BaseOffset)
		}
		rs, release, err := l.ReadRanges(nil, off, 1)
		if err != nil || len(rs) == 0 {
			t.Fatalf("ReadRanges(%d): %v, %v", off, rs, err)
		}
		b := make([]byte, rs[0].Len)
		if _, err := rs[0].File.ReadAt(b, rs[0].Pos); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		release()
		if !bytes.Equal(b, all[j].raw) {
			t.Fatalf("ReadRanges(%d) differs from AppendRead", off)
		}
		var first BatchHeader
		if err := l.Scan(off, func(h BatchHeader) bool { first = h; return false }); err != nil {
			t.Fatal(err)
		}
		if first != all[j].h {
			t.Fatalf("Scan(%d) starts at %d, want %d", off, first.BaseOffset, all[j].h.BaseOffset)
		}
	}
	var maxH *BatchHeader
	for i := range all {
		if maxH == nil || all[i].h.MaxTimestamp > maxH.MaxTimestamp {
			maxH = &all[i].h
		}
	}
	if h, ok := l.MaxTimestamp(); maxH != nil && (!ok || h != *maxH) {
		t.Fatalf("MaxTimestamp = %+v %v, want %+v", h, ok, *maxH)
	}
	for _, ts := range []int64{0, 1000, 1200, 1500, 1777, 2000, 2500, 3000, 1 << 40} {
		var want *BatchHeader
		for i := range all {
			if all[i].h.MaxTimestamp >= ts && all[i].h.RecordCount > 0 {
				want = &all[i].h
				break
			}
		}
		h, ok, err := l.FindTimestamp(ts)
		if err != nil || ok != (want != nil) || ok && h != *want {
			t.Fatalf("FindTimestamp(%d) = %+v %v %v, want %+v", ts, h, ok, err, want)
		}
	}
}

// noLeftovers checks that the log directory holds only segment files.
func noLeftovers(t testing.TB, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		_, rest, ok := parseBase(e.Name())
		if !ok || (rest != segmentSuffix && rest != offsetIndexKind.suffix && rest != timeIndexKind.suffix) {
			t.Fatalf("leftover file %s", e.Name())
		}
	}
}

func TestCompactModel(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{SegmentBytes: 700, IndexIntervalBytes: 100}
			l := openTestLog(t, dir, opts)
			m, p, w := newModel(), producers{}, newWorkload(seed, 12)
			for round := range 8 {
				fill(t, l, m, p, w, 20+int(seed)*3)
				co := CompactOptions{Now: time.UnixMilli(w.ts), DeleteRetentionMs: int64(300 * (round % 3)), MapCapacity: []int{0, 3, 5, 100}[round%4]}
				before := l.Size()
				st, err := l.Compact(co)
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				if st.BytesBefore-st.BytesAfter != before-l.Size() {
					t.Fatalf("stats say %d bytes went, size went down by %d", st.BytesBefore-st.BytesAfter, before-l.Size())
				}
				got := m.check(t, l)
				checkClean(t, l, got)
				p.check(t, l)
				checkEveryOffset(t, l)
			}
			// Until it is all clean.
			for l.CleanedOffset() < l.Segments()[len(l.Segments())-1].Base {
				if _, err := l.Compact(CompactOptions{MapCapacity: 4}); err != nil {
					t.Fatal(err)
				}
			}
			want := readBatches(t, l, 0, 1<<20)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			noLeftovers(t, dir)
			// Open checks every batch (no Dir): gaps and empty batches
			// are accepted, nothing is dropped.
			logger, logs := testLogger()
			opts.Logger = logger
			l = openTestLog(t, dir, opts)
			defer l.Close()
			if logs.String() != "" {
				t.Fatalf("open logged:\n%s", logs)
			}
			got := readBatches(t, l, 0, 1<<20)
			if len(got) != len(want) {
				t.Fatalf("%d batches after reopen, want %d", len(got), len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i].raw, want[i].raw) {
					t.Fatalf("batch %d differs after reopen", i)
				}
			}
			m.check(t, l)
			p.check(t, l)
			checkEveryOffset(t, l)
		})
	}
}

func TestCompactDoesNotBlockAppends(t *testing.T) {
	l := openTestLog(t, t.TempDir(), Options{SegmentBytes: 600})
	defer l.Close()
	m, p, w := newModel(), producers{}, newWorkload(9, 10)
	fill(t, l, m, p, w, 60)
	// Stop the pass in the middle of its second swap, with the old
	// segment's index files gone and the new one not yet in place.
	paused, resume := make(chan struct{}), make(chan struct{})
	n := 0
	l.compactHook = func(step string) bool {
		if step == "committed" {
			if n++; n == 2 {
				close(paused)
				<-resume
			}
		}
		return false
	}
	type result struct {
		st  CompactStats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := l.Compact(CompactOptions{})
		done <- result{st, err}
	}()
	select {
	case <-paused:
	case r := <-done:
		t.Fatalf("pass ended without pausing: %+v", r)
	}
	end := l.EndOffset()
	// Appends (rolling several times), syncs and reads go on.
	start := time.Now()
	fill(t, l, m, p, w, 60)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("appends took %v", d)
	}
	m.check(t, l)
	close(resume)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.st.CleanedTo > end {
		t.Fatalf("cleaned to %d, past the active segment when the pass began (end %d)", r.st.CleanedTo, end)
	}
	// The appends landed after the compacted part, and the next pass
	// cleans them.
	m.check(t, l)
	checkEveryOffset(t, l)
	if _, err := l.Compact(CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	got := m.check(t, l)
	checkClean(t, l, got)
	p.check(t, l)
}

// TestCompactConcurrent runs appends, compaction passes and readers
// together (meant for -race).
func TestCompactConcurrent(t *testing.T) {
	l := openTestLog(t, t.TempDir(), Options{SegmentBytes: 1000, IndexIntervalBytes: 128})
	defer l.Close()
	m, p, w := newModel(), producers{}, newWorkload(5, 20)
	fill(t, l, m, p, w, 20)
	var stop atomic.Bool
	var removed atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			st, err := l.Compact(CompactOptions{MapCapacity: 8, DeleteRetentionMs: 100})
			if err != nil {
				t.Error(err)
				return
			}
			removed.Add(st.RecordsRemoved)
		}
	}()
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 3))
			var buf []byte
			for !stop.Load() {
				end := l.EndOffset()
				off := rng.Int64N(end)
				var err error
				if buf, err = l.AppendRead(buf[:0], off, rng.IntN(3000)); err != nil {
					t.Error(err)
					return
				}
				prev := int64(-1)
				if err := SplitBatches(buf, func(b []byte) bool {
					h, err := validStored(b)
					if err != nil || h.LastOffset() < off || h.BaseOffset < prev {
						t.Errorf("read at %d: batch %+v after %d: %v", off, h, prev, err)
						return false
					}
					prev = h.NextOffset()
					return true
				}); err != nil {
					t.Error(err)
				}
				if len(buf) == 0 {
					t.Errorf("read at %d < end %d: nothing", off, end)
				}
				n := 0
				if err := l.Scan(off, func(BatchHeader) bool { n++; return n < 20 }); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	fill(t, l, m, p, w, 300)
	stop.Store(true)
	wg.Wait()
	if removed.Load() == 0 {
		t.Fatal("no pass removed anything while appends ran")
	}
	m.check(t, l)
	p.check(t, l)
	checkEveryOffset(t, l)
}

func TestCompactCrashAtEachStep(t *testing.T) {
	steps := []string{"written", "swap", "unindexed", "committed", "renamed", "reindexed", "swapped", "dropped"}
	for _, step := range steps {
		for _, nth := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s-%d", step, nth), func(t *testing.T) {
				root := t.TempDir()
				opts := Options{SegmentBytes: 500, IndexIntervalBytes: 100}
				d, _ := openTestDir(t, root)
				l := openDirLog(t, d, "p-0", opts, nil)
				m, p, w := newModel(), producers{}, newWorkload(uint64(nth)+11, 8)
				fill(t, l, m, p, w, 40)
				co := CompactOptions{DeleteRetentionMs: 100}
				co.Now = time.UnixMilli(w.ts)
				if _, err := l.Compact(co); err != nil {
					t.Fatal(err)
				}
				if err := d.Checkpoint(); err != nil {
					t.Fatal(err)
				}
				fill(t, l, m, p, w, 60)
				fired := 0
				l.compactHook = func(s string) bool {
					if s == step {
						fired++
						return fired == nth
					}
					return false
				}
				co.Now = time.UnixMilli(w.ts)
				if _, err := l.Compact(co); !errors.Is(err, errCrashed) {
					t.Fatalf("Compact: %v (step %s seen %d times)", err, step, fired)
				}
				d.crash()

				d, logs := openTestDir(t, root)
				l = openDirLog(t, d, "p-0", opts, nil)
				noLeftovers(t, filepath.Join(root, "p-0"))
				m.check(t, l)
				p.check(t, l)
				checkEveryOffset(t, l)
				if strings.Contains(logs.String(), "dropped invalid") {
					t.Fatalf("recovery dropped data:\n%s", logs)
				}
				// The pass is redone from the checkpointed offset.
				co.Now = time.UnixMilli(w.ts)
				for l.CleanedOffset() < l.Segments()[len(l.Segments())-1].Base {
					if _, err := l.Compact(co); err != nil {
						t.Fatal(err)
					}
				}
				got := m.check(t, l)
				checkClean(t, l, got)
				p.check(t, l)
				cleaned := l.CleanedOffset()
				if err := d.Close(); err != nil {
					t.Fatal(err)
				}
				d, logs = openTestDir(t, root)
				defer d.Close()
				l = openDirLog(t, d, "p-0", opts, nil)
				if logs.String() != "" {
					t.Fatalf("clean reopen logged:\n%s", logs)
				}
				if l.CleanedOffset() != cleaned {
					t.Fatalf("cleaned offset %d after reopen, want %d", l.CleanedOffset(), cleaned)
				}
				m.check(t, l)
				checkEveryOffset(t, l)
			})
		}
	}
}

// TestCompactRacesRetention deletes segments while a pass is between its
// steps: the pass leaves them deleted and carries on with the rest.
func TestCompactRacesRetention(t *testing.T) {
	for _, step := range []string{"written", "committed"} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			l := openTestLog(t, dir, Options{SegmentBytes: 500})
			m, p, w := newModel(), producers{}, newWorkload(4, 8)
			fill(t, l, m, p, w, 40)
			var cut int64
			l.compactHook = func(s string) bool {
				if s == step && cut == 0 {
					segs := l.Segments()
					cut = segs[2].Base
					if err := l.AdvanceStartOffset(cut); err != nil {
						t.Error(err)
					}
				}
				return false
			}
			if _, err := l.Compact(CompactOptions{}); err != nil {
				t.Fatal(err)
			}
			if l.StartOffset() != cut || l.Segments()[0].Base != cut {
				t.Fatalf("start %d, first segment %d, want %d", l.StartOffset(), l.Segments()[0].Base, cut)
			}
			m.check(t, l)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			noLeftovers(t, dir)
			l = openTestLog(t, dir, Options{SegmentBytes: 500})
			defer l.Close()
			if l.StartOffset() != cut {
				t.Fatalf("deleted segments came back: start %d, want %d", l.StartOffset(), cut)
			}
			m.check(t, l)
			checkEveryOffset(t, l)
		})
	}
}

// TestCompactRacesClose closes the log while a pass is running: the pass
// stops, removing its files, and Close waits for that.
func TestCompactRacesClose(t *testing.T) {
	for _, step := range []string{"written", "committed"} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			l := openTestLog(t, dir, Options{SegmentBytes: 500})
			m, p, w := newModel(), producers{}, newWorkload(4, 8)
			fill(t, l, m, p, w, 40)
			closed := make(chan error, 1)
			l.compactHook = func(s string) bool {
				if s == step && len(closed) == 0 && !l.closed.Load() {
					go func() { closed <- l.Close() }()
					for !l.closed.Load() {
						time.Sleep(time.Millisecond)
					}
				}
				return false
			}
			if _, err := l.Compact(CompactOptions{}); !errors.Is(err, ErrClosed) {
				t.Fatalf("Compact: %v", err)
			}
			if err := <-closed; err != nil {
				t.Fatal(err)
			}
			noLeftovers(t, dir)
			l = openTestLog(t, dir, Options{SegmentBytes: 500})
			defer l.Close()
			m.check(t, l)
			p.check(t, l)
			checkEveryOffset(t, l)
		})
	}
}

func TestCompactOptionsChecked(t *testing.T) {
	l := openTestLog(t, t.TempDir(), Options{})
	for _, o := range []CompactOptions{{MapCapacity: -1}, {MinCleanableRatio: -0.1}, {MinCleanableRatio: 1.5}} {
		if _, err := l.Compact(o); err == nil {
			t.Errorf("Compact(%+v) succeeded", o)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Compact(CompactOptions{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Compact after Close: %v", err)
	}
	if err := l.SetRoll(100, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("SetRoll after Close: %v", err)
	}
}

// TestRecoverGapsAndEmptyBatches opens segments written by hand with gaps
// (between batches, at a segment's start and end) and an empty batch:
// recovery keeps them all.
func TestRecoverGapsAndEmptyBatches(t *testing.T) {
	dir := t.TempDir()
	at := func(base int64, b []byte) []byte {
		b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7] = 0, 0, 0, 0, 0, 0, 0, byte(base)
		return b
	}
	empty := at(12, keyed(1000, "a=1", "b=2"))
	var p compact.Policy
	m := compact.NewOffsetMap(4)
	m.Add([]byte("a"), 100)
	m.Add([]byte("b"), 100)
	p.Map = m
	empty, _, _, err := p.FilterBatch(nil, empty, true)
	if err != nil || len(empty) != BatchHeaderSize {
		t.Fatalf("empty batch: %d bytes, %v", len(empty), err)
	}
	seg0 := slicesConcat(at(3, keyed(1000, "a=1")), at(5, keyed(1100, "b=1", "c=1")), empty)
	seg20 := slicesConcat(at(22, keyed(1200, "d=1")), at(30, keyed(1300, "e=1")))
	for name, data := range map[string][]byte{segmentName(0): seg0, segmentName(20): seg20} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logger, logs := testLogger()
	var recovered []BatchHeader
	l := openTestLog(t, dir, Options{Logger: logger, OnRecoveredBatch: func(h BatchHeader) { recovered = append(recovered, h) }})
	defer l.Close()
	if logs.String() != "" {
		t.Fatalf("open logged:\n%s", logs)
	}
	if len(recovered) != 5 || recovered[2].RecordCount != 0 || recovered[2].LastOffset() != 13 {
		t.Fatalf("recovered %+v", recovered)
	}
	if l.StartOffset() != 0 || l.EndOffset() != 31 {
		t.Fatalf("start %d end %d", l.StartOffset(), l.EndOffset())
	}
	checkEveryOffset(t, l)
	if base := mustAppend(t, l, keyed(2000, "f=1")); base != 31 {
		t.Fatalf("append at %d", base)
	}
}

func slicesConcat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// TestSetRollIndexCapacity: a larger segment size takes effect for the
// index too, so segments are not rolled early by a full index.
func TestSetRollIndexCapacity(t *testing.T) {
	// An index entry per batch: the first segment's index has room for
	// about 100 entries, sized for 100-byte segments.
	l := openTestLog(t, t.TempDir(), Options{SegmentBytes: 100, IndexIntervalBytes: 1})
	defer l.Close()
	appendMany(t, l, 1) // the active segment's index is loaded, at that size
	if err := l.SetRoll(100_000, 0); err != nil {
		t.Fatal(err)
	}
	// ~70 KB: the first segment rolls when its index is full, the next
	// one, sized for the new limit, takes the rest.
	appendMany(t, l, 300)
	if n := len(l.Segments()); n != 2 {
		t.Fatalf("%d segments: %+v", n, l.Segments())
	}
	if err := l.SetRoll(0, 0); err != nil {
		t.Fatal(err)
	}
	if l.opts.SegmentBytes != DefaultSegmentBytes {
		t.Fatalf("SegmentBytes %d", l.opts.SegmentBytes)
	}
	for _, bad := range [][2]int64{{-1, 0}, {MaxSegmentBytes + 1, 0}, {100, -1}} {
		if err := l.SetRoll(bad[0], bad[1]); err == nil {
			t.Errorf("SetRoll(%d, %d) succeeded", bad[0], bad[1])
		}
	}
}

func TestDirCleanerCheckpoint(t *testing.T) {
	root := t.TempDir()
	d, _ := openTestDir(t, root)
	l := openDirLog(t, d, "c-0", Options{SegmentBytes: 400}, nil)
	m, p, w := newModel(), producers{}, newWorkload(3, 5)
	fill(t, l, m, p, w, 30)
	openDirLog(t, d, "plain-0", Options{}, nil)
	if err := d.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, cleanerOffsetFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("cleaner checkpoint before any compaction: %v", err)
	}
	st, err := l.Compact(CompactOptions{})
	if err != nil || st.CleanedTo == 0 {
		t.Fatalf("Compact: %+v %v", st, err)
	}
	if err := d.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("1\n2\nc-0 %d\nplain-0 0\n", st.CleanedTo)
	if got := readCheckpointFile(t, filepath.Join(root, cleanerOffsetFile)); got != want {
		t.Fatalf("cleaner checkpoint:\n%q\nwant\n%q", got, want)
	}
	d.crash()
	d, _ = openTestDir(t, root)
	l = openDirLog(t, d, "c-0", Options{SegmentBytes: 400}, nil)
	if l.CleanedOffset() != st.CleanedTo {
		t.Fatalf("cleaned offset %d after a crash, want %d", l.CleanedOffset(), st.CleanedTo)
	}
	// A malformed file costs a full pass, nothing else.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, cleanerOffsetFile), []byte("1\n1\nc-0 x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, logs := openTestDir(t, root)
	defer d.Close()
	l = openDirLog(t, d, "c-0", Options{SegmentBytes: 400}, nil)
	if l.CleanedOffset() != 0 || !strings.Contains(logs.String(), "bad cleaner offset") {
		t.Fatalf("cleaned offset %d; logged:\n%s", l.CleanedOffset(), logs)
	}
	m.check(t, l)
}

// TestRecoverRejectsOffsetsPastSegmentRange: a gap is fine, but not one
// taking a batch past the 32-bit offsets the segment's indexes hold.
func TestRecoverRejectsOffsetsPastSegmentRange(t *testing.T) {
	dir := t.TempDir()
	ok := keyed(1000, "a=1")
	binary.BigEndian.PutUint64(ok, 3)
	far := keyed(2000, "b=1")
	binary.BigEndian.PutUint64(far, 1<<31+5)
	if err := os.WriteFile(filepath.Join(dir, segmentName(0)), slicesConcat(ok, far), 0o644); err != nil {
		t.Fatal(err)
	}
	logger, logs := testLogger()
	l := openTestLog(t, dir, Options{Logger: logger})
	defer l.Close()
	if l.EndOffset() != 4 || !strings.Contains(logs.String(), "out of range") {
		t.Fatalf("end %d; logged:\n%s", l.EndOffset(), logs)
	}
}
