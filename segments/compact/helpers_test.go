package compact

import (
	"encoding/binary"
	"hash/crc32"
	"testing"
)

// testBatch describes a batch for the tests to build.
type testBatch struct {
	baseOffset      int64
	leaderEpoch     int32
	attrs           int16
	lastOffsetDelta int32 // -1: the last record's offsetDelta
	baseTimestamp   int64
	maxTimestamp    int64 // -1: computed from the records
	producerID      int64
	producerEpoch   int16
	baseSequence    int32
	records         []Record
}

func newTestBatch(base int64, codec int, recs ...Record) testBatch {
	return testBatch{
		baseOffset: base, leaderEpoch: 7, attrs: int16(codec),
		lastOffsetDelta: -1, baseTimestamp: 1_700_000_000_000, maxTimestamp: -1,
		producerID: 4242, producerEpoch: 3, baseSequence: 100,
		records: recs,
	}
}

func (tb testBatch) build(t testing.TB) []byte {
	t.Helper()
	var raw []byte
	lod := tb.lastOffsetDelta
	maxTS := tb.maxTimestamp
	computeMax := maxTS == -1
	if computeMax {
		maxTS = tb.baseTimestamp
	}
	for i := range tb.records {
		r := &tb.records[i]
		raw = AppendRecord(raw, r)
		if tb.lastOffsetDelta == -1 {
			lod = r.OffsetDelta
		}
		if computeMax {
			maxTS = max(maxTS, tb.baseTimestamp+r.TimestampDelta)
		}
	}
	lod = max(lod, 0)
	b := make([]byte, headerSize, headerSize+len(raw)+64)
	be := binary.BigEndian
	be.PutUint64(b[0:], uint64(tb.baseOffset))
	be.PutUint32(b[12:], uint32(tb.leaderEpoch))
	b[16] = 2
	be.PutUint16(b[21:], uint16(tb.attrs))
	be.PutUint32(b[23:], uint32(lod))
	be.PutUint64(b[27:], uint64(tb.baseTimestamp))
	be.PutUint64(b[35:], uint64(maxTS))
	be.PutUint64(b[43:], uint64(tb.producerID))
	be.PutUint16(b[51:], uint16(tb.producerEpoch))
	be.PutUint32(b[53:], uint32(tb.baseSequence))
	be.PutUint32(b[57:], uint32(len(tb.records)))
	var err error
	if b, err = Compress(int(tb.attrs&attrCodecMask), b, raw); err != nil {
		t.Fatal(err)
	}
	finishBatch(b, 0)
	return b
}

// rec makes a record; a nil value is a tombstone.
func rec(offsetDelta int32, key, value string) Record {
	r := Record{OffsetDelta: offsetDelta, TimestampDelta: int64(offsetDelta) * 10}
	if key != nullStr {
		r.Key = []byte(key)
	}
	if value != nullStr {
		r.Value = []byte(value)
	}
	return r
}

// nullStr stands for null in rec.
const nullStr = "\x00null"

// header is the decoded header of a batch, as the tests check it.
type header struct {
	baseOffset      int64
	batchLength     int32
	leaderEpoch     int32
	magic           int8
	crc             uint32
	attrs           int16
	lastOffsetDelta int32
	baseTimestamp   int64
	maxTimestamp    int64
	producerID      int64
	producerEpoch   int16
	baseSequence    int32
	recordCount     int32
}

// mustHeader decodes b's header and checks, independently of the code
// under test, that b is exactly one batch with a valid CRC-32C.
func mustHeader(t testing.TB, b []byte) header {
	t.Helper()
	if len(b) < 61 {
		t.Fatalf("batch of %d bytes", len(b))
	}
	be := binary.BigEndian
	h := header{
		baseOffset:      int64(be.Uint64(b[0:])),
		batchLength:     int32(be.Uint32(b[8:])),
		leaderEpoch:     int32(be.Uint32(b[12:])),
		magic:           int8(b[16]),
		crc:             be.Uint32(b[17:]),
		attrs:           int16(be.Uint16(b[21:])),
		lastOffsetDelta: int32(be.Uint32(b[23:])),
		baseTimestamp:   int64(be.Uint64(b[27:])),
		maxTimestamp:    int64(be.Uint64(b[35:])),
		producerID:      int64(be.Uint64(b[43:])),
		producerEpoch:   int16(be.Uint16(b[51:])),
		baseSequence:    int32(be.Uint32(b[53:])),
		recordCount:     int32(be.Uint32(b[57:])),
	}
	if int(h.batchLength)+12 != len(b) {
		t.Fatalf("batchLength %d, batch of %d bytes", h.batchLength, len(b))
	}
	if got := crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)); got != h.crc {
		t.Fatalf("CRC %08x, computed %08x", h.crc, got)
	}
	if h.magic != 2 {
		t.Fatalf("magic %d", h.magic)
	}
	return h
}

// fixCRC makes b's CRC valid if b is long enough to have one.
func fixCRC(b []byte) {
	if len(b) >= headerSize {
		binary.BigEndian.PutUint32(b[posCRC:], crc32.Checksum(b[posAttributes:], crc32.MakeTable(crc32.Castagnoli)))
	}
}

var allCodecs = []int{CodecNone, CodecGzip, CodecSnappy, CodecLZ4, CodecZstd}
