package segments

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

func TestParseBatchHeader(t *testing.T) {
	b := buildBatch(batchSpec{records: 3, payload: []byte("abc"), attributes: 0x31, producerID: 7, producerEpoch: 2, baseSequence: 10, baseTimestamp: 1000})
	binary.BigEndian.PutUint64(b, 42)
	h, err := ParseBatchHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	want := BatchHeader{
		BaseOffset: 42, BatchLength: int32(len(b) - 12), PartitionLeaderEpoch: -1, Magic: 2,
		CRC: h.CRC, Attributes: 0x31, LastOffsetDelta: 2, BaseTimestamp: 1000, MaxTimestamp: 1003,
		ProducerID: 7, ProducerEpoch: 2, BaseSequence: 10, RecordCount: 3,
	}
	if h != want {
		t.Fatalf("got %+v\nwant %+v", h, want)
	}
	if h.Size() != len(b) || h.LastOffset() != 44 || h.NextOffset() != 45 || h.LastSequence() != 12 {
		t.Fatalf("derived: size %d last %d next %d lastSeq %d", h.Size(), h.LastOffset(), h.NextOffset(), h.LastSequence())
	}
	if h.Compression() != 1 || !h.Transactional() || !h.Control() {
		t.Fatalf("attributes: compression %d transactional %v control %v", h.Compression(), h.Transactional(), h.Control())
	}
	if _, err := ParseBatchHeader(b[:BatchHeaderSize-1]); !errors.Is(err, ErrBatchTooShort) {
		t.Fatalf("short header: %v", err)
	}
}

func TestLastSequence(t *testing.T) {
	for _, c := range []struct {
		base, delta, want int32
	}{
		{0, 0, 0},
		{5, 3, 8},
		{-1, 4, -1},
		{math.MaxInt32, 0, math.MaxInt32},
		{math.MaxInt32, 1, 0},
		{math.MaxInt32 - 1, 3, 1},
	} {
		h := BatchHeader{BaseSequence: c.base, LastOffsetDelta: c.delta}
		if got := h.LastSequence(); got != c.want {
			t.Errorf("LastSequence(base %d, delta %d) = %d, want %d", c.base, c.delta, got, c.want)
		}
	}
}

func TestValidateBatch(t *testing.T) {
	good := testBatch(4, []byte("payload"))
	if _, err := ValidateBatch(good); err != nil {
		t.Fatalf("valid batch: %v", err)
	}
	// baseOffset and partitionLeaderEpoch are outside the CRC.
	b := bytes.Clone(good)
	binary.BigEndian.PutUint64(b, 12345)
	binary.BigEndian.PutUint32(b[posLeaderEpoch:], 9)
	if _, err := ValidateBatch(b); err != nil {
		t.Fatalf("rewritten offset and epoch: %v", err)
	}

	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	recrc := func(b []byte) []byte {
		binary.BigEndian.PutUint32(b[posCRC:], crc32c(b[posAttributes:]))
		return b
	}
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrBatchTooShort},
		{"short", good[:60], ErrBatchTooShort},
		{"truncated", good[:len(good)-1], ErrBatchLength},
		{"trailing", append(bytes.Clone(good), 0), ErrBatchLength},
		{"length below minimum", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[posBatchLength:], 48)
			return b[:60]
		}), ErrBatchTooShort},
		{"negative length", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[posBatchLength:], math.MaxUint32)
			return b
		}), ErrBatchLength},
		{"magic 1", mutate(func(b []byte) []byte { b[posMagic] = 1; return b }), ErrUnsupportedMagic},
		{"crc", mutate(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), ErrCRCMismatch},
		{"crc field", mutate(func(b []byte) []byte { b[posCRC] ^= 0x80; return b }), ErrCRCMismatch},
		{"zero records", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[posRecordCount:], 0)
			return recrc(b)
		}), ErrRecordCount},
		{"negative delta", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[posLastOffsetDelta:], math.MaxUint32)
			return recrc(b)
		}), ErrRecordCount},
	} {
		if _, err := ValidateBatch(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestValidateBatchAllocs(t *testing.T) {
	good := testBatch(16, make([]byte, 1024))
	bad := bytes.Clone(good)
	bad[100] ^= 1
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = ValidateBatch(good)
		_, _ = ValidateBatch(bad)
		_, _ = ValidateBatch(good[:10])
	})
	if allocs != 0 {
		t.Fatalf("ValidateBatch allocates %v times per run", allocs)
	}
}

func TestSplitBatches(t *testing.T) {
	a, b, c := testBatch(1, []byte("a")), testBatch(2, []byte("bb")), testBatch(3, []byte("ccc"))
	all := bytes.Join([][]byte{a, b, c}, nil)
	var got [][]byte
	if err := SplitBatches(all, func(x []byte) bool { got = append(got, x); return true }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !bytes.Equal(got[0], a) || !bytes.Equal(got[1], b) || !bytes.Equal(got[2], c) {
		t.Fatalf("split into %d batches", len(got))
	}
	if cap(got[0]) != len(a) {
		t.Fatalf("batch capacity %d leaks into the next batch", cap(got[0]))
	}
	if err := SplitBatches(nil, func([]byte) bool { t.Fatal("called on empty input"); return true }); err != nil {
		t.Fatal(err)
	}

	n := 0
	if err := SplitBatches(all, func([]byte) bool { n++; return false }); err != nil || n != 1 {
		t.Fatalf("stop: err %v, calls %d", err, n)
	}

	for name, in := range map[string][]byte{
		"partial batch":  all[:len(all)-1],
		"partial length": append(bytes.Clone(a), 0, 0, 0),
		"small length":   append(bytes.Clone(a), make([]byte, 61)...),
	} {
		n := 0
		err := SplitBatches(in, func([]byte) bool { n++; return true })
		if !errors.Is(err, ErrBatchLength) {
			t.Errorf("%s: got %v, want ErrBatchLength", name, err)
		}
		if n == 0 {
			t.Errorf("%s: whole batches before the bad one not passed on", name)
		}
	}
}
