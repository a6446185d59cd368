package segments

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/runnel-dev/runnel/segments/compact"
)

// TestDataDriven runs the scripts in testdata/ (go test -rewrite updates
// their expected output). Each script drives one log, "p-0", in a Dir:
//
//	open [segment-bytes=N] [segment-ms=N] [index-interval=N] [prealloc=N]
//	append [count=K] [records=N] [size=B] [ts=T] [ts-step=S]
//	                   K batches of N records of B bytes, max timestamps
//	                   T, T+S, ...; prints the base offsets
//	read offset=N [max=M]    AppendRead; prints the batches
//	ranges offset=N [max=M]  ReadRanges; prints the ranges
//	scan [from=N]            Scan; prints the batches
//	find-ts ts=T             FindTimestamp
//	max-ts                   MaxTimestamp
//	retain now=T [ms=M] [bytes=B]
//	advance offset=N         AdvanceStartOffset
//	sync | checkpoint
//	reopen                   clean close, open again
//	crash [truncate-tail=N] [zero-tail=N] [flip=N] [garbage-index]
//	                   kill -9, damage the newest segment (cut N bytes
//	                   off its data, add N zero bytes, flip the byte N
//	                   from the end of its data, scribble on its sealed
//	                   predecessor's .index), open again
//	clock ms=N               move the clock forward
//	segments | files         the segment list; the files on disk
//	append-keyed [ts=T] [ts-step=S] [pid=P] [seq=N] [codec=C]
//	k=v k=~ ~=v ...    one batch per input line of records "key=value"
//	                   ("~" is null: k=~ is a tombstone), timestamps T,
//	                   T+S, ... per batch; producer P from sequence N;
//	                   codec none|gzip|snappy|lz4|zstd; prints the bases
//	dump [from=N]            read everything with AppendRead, records too
//	compact [now=T] [retention=MS] [map=N] [ratio=F]
//	                   one Compact pass; prints its stats and the segments
//	set-roll [segment-bytes=N] [segment-ms=N]   SetRoll
//
// Commands that open a log print what the open logged and how many batches
// it checked.
func TestDataDriven(t *testing.T) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range entries {
		if !de.Type().IsRegular() {
			continue // the fuzz corpus
		}
		t.Run(de.Name(), func(t *testing.T) {
			e := &ddEnv{t: t, root: t.TempDir(), now: time.UnixMilli(1_000_000)}
			defer e.shutdown()
			datadriven.RunTest(t, filepath.Join("testdata", de.Name()), e.run)
		})
	}
}

type ddEnv struct {
	t         *testing.T
	root      string
	opts      Options
	dir       *Dir
	log       *Log
	logs      bytes.Buffer
	now       time.Time
	recovered int
}

func (e *ddEnv) shutdown() {
	if e.dir != nil {
		_ = e.dir.Close()
	}
}

func (e *ddEnv) run(t *testing.T, d *datadriven.TestData) string {
	var out strings.Builder
	arg := func(key string, def int64) int64 {
		if !d.HasArg(key) {
			return def
		}
		var v int64
		d.ScanArgs(t, key, &v)
		return v
	}
	switch d.Cmd {
	case "open":
		if e.dir != nil { // start over
			if err := e.log.Remove(); err != nil {
				t.Fatal(err)
			}
			if err := e.dir.Close(); err != nil {
				t.Fatal(err)
			}
		}
		e.opts = Options{
			SegmentBytes:       arg("segment-bytes", 0),
			SegmentMs:          arg("segment-ms", 0),
			IndexIntervalBytes: int(arg("index-interval", 0)),
			PreallocateBytes:   arg("prealloc", 0),
		}
		e.open(&out)
	case "reopen":
		if err := e.dir.Close(); err != nil {
			fmt.Fprintf(&out, "close: %v\n", err)
		}
		e.open(&out)
	case "crash":
		e.dir.crash()
		e.damage(t, d, arg)
		e.open(&out)
	case "append":
		count, records, size := arg("count", 1), arg("records", 1), arg("size", 10)
		ts, step := arg("ts", 1000), arg("ts-step", 0)
		var bases []string
		for i := range count {
			b := buildBatch(batchSpec{records: int(records), payload: bytes.Repeat([]byte{'x'}, int(size)),
				producerID: -1, producerEpoch: -1, baseSequence: -1,
				baseTimestamp: ts + i*step, maxTimestamp: ts + i*step, setMax: true})
			base, err := e.log.Append(b)
			if err != nil {
				fmt.Fprintf(&out, "error: %v\n", err)
				break
			}
			bases = append(bases, fmt.Sprint(base))
		}
		fmt.Fprintf(&out, "bases: %s\n", strings.Join(bases, " "))
	case "read":
		got, err := e.log.AppendRead(nil, arg("offset", 0), int(arg("max", 1<<20)))
		if err != nil {
			return fmt.Sprintf("error: %v\n", e.clean(err.Error()))
		}
		if err := SplitBatches(got, func(b []byte) bool {
			h, err := validStored(b)
			if err != nil {
				t.Fatalf("read returned a bad batch: %v", err)
			}
			printBatch(&out, h)
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			out.WriteString("nothing\n")
		}
	case "ranges":
		rs, release, err := e.log.ReadRanges(nil, arg("offset", 0), int(arg("max", 1<<20)))
		if err != nil {
			return fmt.Sprintf("error: %v\n", e.clean(err.Error()))
		}
		for _, r := range rs {
			fmt.Fprintf(&out, "%s pos=%d len=%d\n", filepath.Base(r.File.Name()), r.Pos, r.Len)
		}
		if len(rs) == 0 {
			out.WriteString("nothing\n")
		}
		release()
	case "scan":
		err := e.log.Scan(arg("from", 0), func(h BatchHeader) bool { printBatch(&out, h); return true })
		if err != nil {
			fmt.Fprintf(&out, "error: %v\n", err)
		}
	case "find-ts":
		h, ok, err := e.log.FindTimestamp(arg("ts", 0))
		switch {
		case err != nil:
			fmt.Fprintf(&out, "error: %v\n", err)
		case !ok:
			out.WriteString("none\n")
		default:
			printBatch(&out, h)
		}
	case "max-ts":
		if h, ok := e.log.MaxTimestamp(); ok {
			printBatch(&out, h)
		} else {
			out.WriteString("none\n")
		}
	case "retain":
		n, err := e.log.Retain(time.UnixMilli(arg("now", 0)), arg("ms", -1), arg("bytes", -1))
		fmt.Fprintf(&out, "deleted %d segments\n", n)
		if err != nil {
			fmt.Fprintf(&out, "error: %v\n", err)
		}
		e.printSegments(&out)
	case "advance":
		if err := e.log.AdvanceStartOffset(arg("offset", 0)); err != nil {
			fmt.Fprintf(&out, "error: %v\n", err)
		}
		e.printSegments(&out)
	case "sync":
		if err := e.log.Sync(); err != nil {
			fmt.Fprintf(&out, "error: %v\n", err)
		}
		fmt.Fprintf(&out, "recovery point %d\n", e.log.RecoveryPoint())
	case "checkpoint":
		if err := e.dir.Checkpoint(); err != nil {
			fmt.Fprintf(&out, "error: %v\n", err)
		}
		for _, f := range []string{recoveryPointFile, startOffsetFile, cleanerOffsetFile} {
			b, err := os.ReadFile(filepath.Join(e.root, f))
			if f == cleanerOffsetFile && errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&out, "%s:\n%s", f, b)
		}
	case "clock":
		e.now = e.now.Add(time.Duration(arg("ms", 0)) * time.Millisecond)
	case "append-keyed":
		ts, step := arg("ts", 1000), arg("ts-step", 0)
		pid, seq := arg("pid", -1), arg("seq", 0)
		codec := compact.CodecNone
		if d.HasArg("codec") {
			var name string
			d.ScanArgs(t, "codec", &name)
			codec = slices.Index([]string{"none", "gzip", "snappy", "lz4", "zstd"}, name)
			if codec < 0 {
				t.Fatalf("unknown codec %q", name)
			}
		}
		var bases []string
		for i, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
			spec := keyedSpec{codec: codec, producerID: -1, producerEpoch: -1, baseSequence: -1, ts: ts + int64(i)*step}
			for _, tok := range strings.Fields(line) {
				spec.records = append(spec.records, parseKV(tok))
			}
			if pid >= 0 {
				spec.producerID, spec.producerEpoch, spec.baseSequence = pid, 0, int32(seq)
				seq += int64(len(spec.records))
			}
			base, err := e.log.Append(keyedBatch(spec))
			if err != nil {
				fmt.Fprintf(&out, "error: %v\n", err)
				break
			}
			bases = append(bases, fmt.Sprint(base))
		}
		fmt.Fprintf(&out, "bases: %s\n", strings.Join(bases, " "))
	case "dump":
		bs := readBatches(t, e.log, arg("from", e.log.StartOffset()), 1<<20)
		for _, b := range bs {
			printKeyed(&out, b)
		}
		if len(bs) == 0 {
			out.WriteString("nothing\n")
		}
	case "compact":
		opts := CompactOptions{Now: time.UnixMilli(arg("now", 0)), DeleteRetentionMs: arg("retention", -1), MapCapacity: int(arg("map", 0))}
		if d.HasArg("ratio") {
			d.ScanArgs(t, "ratio", &opts.MinCleanableRatio)
		}
		if opts.Now.UnixMilli() == 0 {
			opts.Now = time.Time{}
		}
		st, err := e.log.Compact(opts)
		if err != nil {
			fmt.Fprintf(&out, "error: %v\n", err)
		}
		fmt.Fprintf(&out, "cleaned %d segments, %d -> %d bytes, %d records removed, clean to %d\n",
			st.SegmentsCleaned, st.BytesBefore, st.BytesAfter, st.RecordsRemoved, st.CleanedTo)
		e.printSegments(&out)
	case "set-roll":
		if err := e.log.SetRoll(arg("segment-bytes", e.opts.SegmentBytes), arg("segment-ms", e.opts.SegmentMs)); err != nil {
			fmt.Fprintf(&out, "error: %v\n", err)
		}
	case "segments":
		e.printSegments(&out)
	case "files":
		e.printFiles(&out)
	default:
		t.Fatalf("unknown command %q", d.Cmd)
	}
	e.printLogs(&out)
	return out.String()
}

// printLogs prints and forgets what the log has logged.
func (e *ddEnv) printLogs(out *strings.Builder) {
	for line := range strings.Lines(e.logs.String()) {
		out.WriteString(line)
	}
	e.logs.Reset()
}

// printKeyed prints a batch with its records, as offset:key=value.
func printKeyed(out *strings.Builder, b storedBatch) {
	h := b.h
	fmt.Fprintf(out, "batch %d-%d ts=%d", h.BaseOffset, h.LastOffset(), h.MaxTimestamp)
	if h.ProducerID >= 0 {
		fmt.Fprintf(out, " pid=%d seq=%d", h.ProducerID, h.BaseSequence)
	}
	if c := h.Attributes & attrCompressionMask; c != 0 {
		fmt.Fprintf(out, " %s", []string{"none", "gzip", "snappy", "lz4", "zstd", "?", "?", "?"}[c])
	}
	if len(b.records) == 0 {
		out.WriteString(" empty\n")
		return
	}
	out.WriteString(":")
	for _, r := range b.records {
		k, v := "~", "~"
		if r.Key != nil {
			k = string(r.Key)
		}
		if r.Value != nil {
			v = string(r.Value)
		}
		fmt.Fprintf(out, " %d:%s=%s", h.BaseOffset+int64(r.OffsetDelta), k, v)
	}
	out.WriteString("\n")
}

func printBatch(out *strings.Builder, h BatchHeader) {
	fmt.Fprintf(out, "batch %d-%d ts=%d size=%d\n", h.BaseOffset, h.LastOffset(), h.MaxTimestamp, h.Size())
}

// open opens the Dir and the log, printing what recovery logged.
func (e *ddEnv) open(out *strings.Builder) {
	e.logs.Reset()
	logger := slog.New(slog.NewTextHandler(&e.logs, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			if a.Value.Kind() == slog.KindString {
				a.Value = slog.StringValue(e.clean(a.Value.String()))
			}
			return a
		},
	}))
	var err error
	if e.dir, err = OpenDir(e.root, nil, logger); err != nil {
		e.t.Fatal(err)
	}
	opts := e.opts
	opts.Logger = logger
	opts.Now = func() time.Time { return e.now }
	e.recovered = 0
	opts.OnRecoveredBatch = func(BatchHeader) { e.recovered++ }
	if e.log, err = e.dir.OpenLog("p-0", opts); err != nil {
		e.t.Fatal(err)
	}
	e.printLogs(out)
	fmt.Fprintf(out, "checked %d batches\n", e.recovered)
	e.printSegments(out)
}

// clean drops the temporary directory from paths.
func (e *ddEnv) clean(s string) string {
	return strings.ReplaceAll(s, filepath.Join(e.root, "p-0")+"/", "")
}

func (e *ddEnv) printSegments(out *strings.Builder) {
	l := e.log
	fmt.Fprintf(out, "start=%d end=%d size=%d\n", l.StartOffset(), l.EndOffset(), l.Size())
	for _, s := range *l.segs.Load() {
		if n := s.next.Load(); n > s.base {
			fmt.Fprintf(out, "  %s: offsets %d-%d, %d bytes", segmentName(s.base), s.base, n-1, s.size.Load())
		} else {
			fmt.Fprintf(out, "  %s: empty", segmentName(s.base))
		}
		if ts := s.maxTs.Load(); ts >= 0 {
			fmt.Fprintf(out, ", max ts %d at %d", ts, s.maxOff.Load())
		}
		if s == l.active {
			out.WriteString(" (active)")
		}
		out.WriteString("\n")
	}
}

func (e *ddEnv) printFiles(out *strings.Builder) {
	entries, err := os.ReadDir(filepath.Join(e.root, "p-0"))
	if err != nil {
		e.t.Fatal(err)
	}
	for _, de := range entries {
		fi, err := de.Info()
		if err != nil {
			e.t.Fatal(err)
		}
		fmt.Fprintf(out, "%s %d\n", de.Name(), fi.Size())
	}
}

// damage changes the files of a crashed log as the crash command asks.
func (e *ddEnv) damage(t *testing.T, d *datadriven.TestData, arg func(string, int64) int64) {
	dir := filepath.Join(e.root, "p-0")
	files, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no segments: %v", err)
	}
	slices.Sort(files)
	newest := files[len(files)-1]
	data, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	// The data ends where the preallocated zeros start.
	end := int64(wholeBatches(data))
	if n := arg("truncate-tail", 0); n > 0 {
		if err := os.Truncate(newest, end-n); err != nil {
			t.Fatal(err)
		}
	}
	if n := arg("zero-tail", 0); n > 0 {
		if err := os.Truncate(newest, end+n); err != nil {
			t.Fatal(err)
		}
	}
	if n := arg("flip", 0); n > 0 {
		data[end-n] ^= 0x10
		if err := os.WriteFile(newest, data, filePerm); err != nil {
			t.Fatal(err)
		}
	}
	if d.HasArg("garbage-index") {
		if len(files) < 2 {
			t.Fatal("garbage-index needs two segments")
		}
		idx := strings.TrimSuffix(files[len(files)-2], segmentSuffix) + offsetIndexKind.suffix
		b, err := os.ReadFile(idx)
		if err != nil {
			t.Fatal(err)
		}
		for i := offsetIndexKind.entrySize; i < len(b); i++ {
			b[i] = byte(i * 7)
		}
		if err := os.WriteFile(idx, b, filePerm); err != nil {
			t.Fatal(err)
		}
	}
}
