package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx, cancel
}

func TestParseOffset(t *testing.T) {
	for in, want := range map[string]startOffset{
		"beginning": {kind: offsetBeginning},
		"end":       {kind: offsetEnd},
		"0":         {kind: offsetExact, at: 0},
		"1500":      {kind: offsetExact, at: 1500},
	} {
		got, err := parseOffset(in)
		if err != nil || got != want {
			t.Errorf("%q: got %+v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1", "start", "1e3", "12x"} {
		if _, err := parseOffset(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestStartOffsetResolve(t *testing.T) {
	b := logBounds{start: 10, end: 20}
	for _, tc := range []struct {
		o    startOffset
		want int64
	}{
		{startOffset{kind: offsetBeginning}, 10},
		{startOffset{kind: offsetEnd}, 20},
		{startOffset{kind: offsetExact, at: 15}, 15},
		{startOffset{kind: offsetExact, at: 3}, 10},
		{startOffset{kind: offsetExact, at: 99}, 20},
	} {
		if got := tc.o.resolve(b); got != tc.want {
			t.Errorf("%+v: got %d, want %d", tc.o, got, tc.want)
		}
	}
}

func TestParseConsumeFlags(t *testing.T) {
	o, err := parseConsumeFlags([]string{"-t", "orders"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.topic != "orders" || o.partition != -1 || o.offset.kind != offsetBeginning || o.count != 0 || o.exitAtEnd {
		t.Fatalf("defaults: %+v", o)
	}
	if got := string(o.format.appendRecord(nil, &kgo.Record{Value: []byte("v")})); got != "v\n" {
		t.Fatalf("default format renders %q", got)
	}

	o, err = parseConsumeFlags([]string{"-t", "x", "-p", "2", "-o", "end", "-c", "5", "-e", "--format", "%k"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.partition != 2 || o.offset.kind != offsetEnd || o.count != 5 || !o.exitAtEnd || len(o.format) != 1 {
		t.Fatalf("parsed: %+v", o)
	}

	for _, args := range [][]string{
		{},
		{"-t", "x", "y"},
		{"-t", "x", "-p", "-5"},
		{"-t", "x", "-c", "-1"},
		{"-t", "x", "-o", "soon"},
		{"-t", "x", "--format", "%z"},
	} {
		var ue *usageError
		if _, err := parseConsumeFlags(args, nil); !errors.As(err, &ue) {
			t.Errorf("%q: err = %v, want a usage error", args, err)
		}
	}
}

func TestFormat(t *testing.T) {
	r := &kgo.Record{
		Topic: "orders", Partition: 3, Offset: 42,
		Key: []byte("k1"), Value: []byte("v1"),
		Headers:   []kgo.RecordHeader{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("")}},
		Timestamp: time.UnixMilli(1700000000123),
	}
	for tmpl, want := range map[string]string{
		`%v\n`:                    "v1\n",
		`%t/%p@%o %k=%v`:          "orders/3@42 k1=v1",
		`%h|%T`:                   "a=1,b=|1700000000123",
		`100%% \t%v\r\n`:          "100% \tv1\r\n",
		`back\\slash`:             `back\slash`,
		`plain`:                   "plain",
		``:                        "",
		`%k%k`:                    "k1k1",
		`[%k]` + "\n" + `literal`: "[k1]\nliteral",
	} {
		f, err := parseFormat(tmpl)
		if err != nil {
			t.Errorf("%q: %v", tmpl, err)
			continue
		}
		if got := string(f.appendRecord(nil, r)); got != want {
			t.Errorf("%q: got %q, want %q", tmpl, got, want)
		}
	}
	f, _ := parseFormat("[%k]")
	if got := string(f.appendRecord(nil, &kgo.Record{})); got != "[]" {
		t.Errorf("nil key renders %q", got)
	}
	for _, bad := range []string{"%", `\`, "%x", `\q`, "ok %"} {
		if _, err := parseFormat(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func newTestPrinter(limit int64, ends map[int32]int64) (*printer, *bytes.Buffer) {
	var out bytes.Buffer
	f, _ := parseFormat(`%p:%o\n`)
	return &printer{w: bufio.NewWriter(&out), format: f, limit: limit, ends: ends}, &out
}

func rec(p int32, o int64) *kgo.Record {
	return &kgo.Record{Partition: p, Offset: o}
}

func TestPrinterStopsAtEnds(t *testing.T) {
	p, out := newTestPrinter(0, map[int32]int64{0: 2, 1: 1})
	steps := []struct {
		r    *kgo.Record
		done bool
	}{
		{rec(0, 0), false},
		{rec(1, 0), false}, // partition 1 is read to its end
		{rec(1, 1), false}, // produced after the start: not printed
		{rec(0, 1), true},
	}
	for i, s := range steps {
		done, err := p.handle(s.r)
		if err != nil || done != s.done {
			t.Fatalf("step %d: done=%t err=%v", i, done, err)
		}
	}
	p.w.Flush()
	if out.String() != "0:0\n1:0\n0:1\n" {
		t.Fatalf("printed %q", out.String())
	}
}

func TestPrinterControlRecordEndsPartition(t *testing.T) {
	p, out := newTestPrinter(0, map[int32]int64{0: 2})
	p.handle(rec(0, 0))
	marker := rec(0, 1)
	marker.Attrs = kgo.NewRecordAttrs(kgo.RecordAttrsOpts{Control: true, Transactional: true})
	done, err := p.handle(marker)
	if !done || err != nil {
		t.Fatalf("a transaction marker at the end must finish the partition: done=%t err=%v", done, err)
	}
	p.w.Flush()
	if out.String() != "0:0\n" {
		t.Fatalf("printed %q", out.String())
	}
}

func TestPrinterCountLimit(t *testing.T) {
	p, out := newTestPrinter(2, nil)
	for i, want := range []bool{false, true} {
		done, err := p.handle(rec(0, int64(i)))
		if err != nil || done != want {
			t.Fatalf("record %d: done=%t err=%v", i, done, err)
		}
	}
	p.w.Flush()
	if out.String() != "0:0\n0:1\n" {
		t.Fatalf("printed %q", out.String())
	}
}

func TestNothingToRead(t *testing.T) {
	if (&consumePlan{}).nothingToRead() {
		t.Error("without -e there is always something to read")
	}
	if !(&consumePlan{ends: map[int32]int64{}}).nothingToRead() {
		t.Error("with -e and every partition at its end there is nothing to read")
	}
}
