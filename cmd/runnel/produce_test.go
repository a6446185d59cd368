package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel-dev/runnel/sdk/kgoadapter"
)

func TestParseProduceFlags(t *testing.T) {
	o, err := parseProduceFlags([]string{"-t", "orders"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.topic != "orders" || o.partition != -1 || o.partitioner != "murmur2" || !o.idempotent ||
		o.linger != 10*time.Millisecond || o.file != "" || o.keyDelim != "" || o.headers != nil {
		t.Fatalf("defaults: %+v", o)
	}

	o, err = parseProduceFlags([]string{
		"--topic", "t", "-p", "3", "-K", ":", "-H", "a=1", "--header", "b=x=y",
		"--acks", "1", "--linger", "1s", "-f", "in.txt", "-b", "h:1",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantHeaders := []kgo.RecordHeader{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("x=y")}}
	if o.topic != "t" || o.partition != 3 || o.keyDelim != ":" || !reflect.DeepEqual(o.headers, wantHeaders) ||
		o.idempotent || o.linger != time.Second || o.file != "in.txt" || o.client.bootstrap != "h:1" {
		t.Fatalf("parsed: %+v", o)
	}
}

func TestParseProduceFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-t", "x", "extra"},
		{"-t", "x", "-p", "-2"},
		{"-t", "x", "-p", "1", "--partitioner", "sticky"},
		{"-t", "x", "--acks", "2"},
		{"-t", "x", "-H", "novalue"},
		{"-t", "x", "--linger", "-1ms"},
		{"-t", "x", "-p", "many"},
	} {
		_, err := parseProduceFlags(args, nil)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: err = %v, want a usage error", args, err)
		}
	}
}

func TestParseAcks(t *testing.T) {
	for in, idem := range map[string]bool{"all": true, "-1": true, "1": false, "0": false} {
		_, gotIdem, err := parseAcks(in)
		if err != nil || gotIdem != idem {
			t.Errorf("%q: idempotent=%t err=%v", in, gotIdem, err)
		}
	}
	if _, _, err := parseAcks("leader"); err == nil {
		t.Error("no error for --acks leader")
	}
}

func TestSplitKey(t *testing.T) {
	for _, tc := range []struct {
		line, delim string
		key         []byte
		value       string
	}{
		{"k:v", "", nil, "k:v"},
		{"k:v", ":", []byte("k"), "v"},
		{"k:v:w", ":", []byte("k"), "v:w"},
		{":v", ":", []byte{}, "v"},
		{"k:", ":", []byte("k"), ""},
		{"nokey", ":", nil, "nokey"},
		{"a::b::c", "::", []byte("a"), "b::c"},
	} {
		key, value := splitKey([]byte(tc.line), tc.delim)
		if !reflect.DeepEqual(key, tc.key) || string(value) != tc.value {
			t.Errorf("splitKey(%q, %q) = %q, %q", tc.line, tc.delim, key, value)
		}
	}
}

func TestReadLine(t *testing.T) {
	long := strings.Repeat("x", 1<<20) // far beyond bufio.Scanner's 64 KiB
	in := "a\r\n\nb\n" + long + "\nlast"
	br := bufio.NewReaderSize(strings.NewReader(in), 16)
	var got []string
	for {
		line, err := readLine(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(line))
	}
	want := []string{"a", "", "b", long, "last"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %d lines, want %d (first: %.20q)", len(got), len(want), got)
	}
}

func TestProduceRecord(t *testing.T) {
	hs := []kgo.RecordHeader{{Key: "h", Value: []byte("v")}}
	o := &produceOptions{topic: "t", partition: 4, keyDelim: "\t", headers: hs}
	r := o.record([]byte("k\tv"))
	if r.Topic != "t" || r.Partition != 4 || string(r.Key) != "k" || string(r.Value) != "v" || !reflect.DeepEqual(r.Headers, hs) {
		t.Fatalf("record = %+v", r)
	}
}

func TestProduceResultErr(t *testing.T) {
	res := &produceResult{read: 3}
	res.promise(nil, nil)
	res.promise(nil, errors.New("first"))
	res.promise(nil, errors.New("second"))
	err := res.err(nil)
	if err == nil || !strings.Contains(err.Error(), "2 of 3 records were not produced; first error: first") {
		t.Fatalf("err = %v", err)
	}
	part := kgoadapter.New("p", &failingPartitioner{fail: errors.New("bad key")})
	part.ForTopic("t").Partition(&kgo.Record{}, 1)
	if err := res.err(part); err == nil || !strings.Contains(err.Error(), "bad key") {
		t.Fatalf("partitioner cause not reported: %v", err)
	}
	if err := (&produceResult{read: 1, ok: 1}).err(nil); err != nil {
		t.Fatalf("all produced: %v", err)
	}
}

func TestOpenInput(t *testing.T) {
	stdin := strings.NewReader("x")
	for _, f := range []string{"", "-"} {
		r, err := openInput(f, stdin)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		if string(b) != "x" {
			t.Fatalf("%q: read %q", f, b)
		}
		stdin.Reset("x")
	}
	if _, err := openInput(t.TempDir()+"/missing", stdin); err == nil {
		t.Fatal("no error for a missing file")
	}
}

func TestReadLinesStopsOnCancel(t *testing.T) {
	ctx, cancel := contextWithCancel(t)
	lines, errc := readLines(ctx, bytes.NewReader(bytes.Repeat([]byte("x\n"), 10000)))
	<-lines
	cancel()
	// The reader must give up rather than block on a full channel.
	for range lines {
	}
	if err := <-errc; err != nil {
		t.Fatalf("err = %v", err)
	}
}
