package segments

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"log/slog"
	"math"
	"sync"
	"testing"
)

// batchSpec describes a test batch. Records are opaque to the log, so each
// "record" is just a copy of payload.
type batchSpec struct {
	records       int
	payload       []byte
	attributes    int16
	producerID    int64
	producerEpoch int16
	baseSequence  int32
	baseTimestamp int64
	// maxTimestamp is used when setMax; otherwise the max timestamp is
	// baseTimestamp+records.
	maxTimestamp int64
	setMax       bool
}

// testBatch builds a valid v2 batch of records copies of payload, with no
// producer id and base offset 0.
func testBatch(records int, payload []byte) []byte {
	return buildBatch(batchSpec{records: records, payload: payload, producerID: -1, producerEpoch: -1, baseSequence: -1})
}

func buildBatch(s batchSpec) []byte {
	b := make([]byte, BatchHeaderSize, BatchHeaderSize+s.records*len(s.payload))
	for range s.records {
		b = append(b, s.payload...)
	}
	be := binary.BigEndian
	be.PutUint32(b[posBatchLength:], uint32(len(b)-batchLengthOverhead))
	be.PutUint32(b[posLeaderEpoch:], math.MaxUint32) // -1, as clients send
	b[posMagic] = 2
	be.PutUint16(b[posAttributes:], uint16(s.attributes))
	be.PutUint32(b[posLastOffsetDelta:], uint32(s.records-1))
	be.PutUint64(b[posBaseTimestamp:], uint64(s.baseTimestamp))
	maxTs := s.baseTimestamp + int64(s.records)
	if s.setMax {
		maxTs = s.maxTimestamp
	}
	be.PutUint64(b[posMaxTimestamp:], uint64(maxTs))
	be.PutUint64(b[posProducerID:], uint64(s.producerID))
	be.PutUint16(b[posProducerEpoch:], uint16(s.producerEpoch))
	be.PutUint32(b[posBaseSequence:], uint32(s.baseSequence))
	be.PutUint32(b[posRecordCount:], uint32(s.records))
	be.PutUint32(b[posCRC:], crc32c(b[posAttributes:]))
	return b
}

// testCRCTable is the tests' own CRC-32C table, so a mistake in the
// package's checksum setup cannot cancel out in the tests.
var testCRCTable = crc32.MakeTable(crc32.Castagnoli)

func crc32c(b []byte) uint32 { return crc32.Checksum(b, testCRCTable) }

// syncBuffer is a bytes.Buffer safe for a slog handler.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testLogger returns a logger writing text lines to the returned buffer.
func testLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, nil)), buf
}

func openTestLog(t testing.TB, dir string, opts Options) *Log {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger, _ = testLogger()
	}
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func mustAppend(t testing.TB, l *Log, batch []byte) int64 {
	t.Helper()
	base, err := l.Append(batch)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return base
}

// readAll reads the whole log with AppendRead and checks that every batch
// is valid and that offsets are contiguous from StartOffset to EndOffset.
func readAll(t testing.TB, l *Log, maxBytes int) [][]byte {
	t.Helper()
	var out [][]byte
	next := l.StartOffset()
	for next < l.EndOffset() {
		got, err := l.AppendRead(nil, next, maxBytes)
		if err != nil {
			t.Fatalf("AppendRead(%d): %v", next, err)
		}
		if len(got) == 0 {
			t.Fatalf("AppendRead(%d) returned nothing below end %d", next, l.EndOffset())
		}
		err = SplitBatches(got, func(b []byte) bool {
			h, err := ValidateBatch(b)
			if err != nil {
				t.Fatalf("batch at offset %d: %v", next, err)
			}
			if h.BaseOffset != next {
				t.Fatalf("batch base offset %d, want %d", h.BaseOffset, next)
			}
			next = h.NextOffset()
			out = append(out, b)
			return true
		})
		if err != nil {
			t.Fatalf("SplitBatches: %v", err)
		}
	}
	if next != l.EndOffset() {
		t.Fatalf("read up to %d, end offset %d", next, l.EndOffset())
	}
	return out
}

// quietLogger discards everything.
func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// readAllStored is readAll for logs compaction may have been through:
// offsets may have gaps (never go backwards) and batches may hold no
// records. Every offset below EndOffset must lead to a batch.
func readAllStored(t testing.TB, l *Log, maxBytes int) [][]byte {
	t.Helper()
	var out [][]byte
	next := l.StartOffset()
	for next < l.EndOffset() {
		got, err := l.AppendRead(nil, next, maxBytes)
		if err != nil {
			t.Fatalf("AppendRead(%d): %v", next, err)
		}
		if len(got) == 0 {
			t.Fatalf("AppendRead(%d) returned nothing below end %d", next, l.EndOffset())
		}
		first := true
		err = SplitBatches(got, func(b []byte) bool {
			h, err := validStored(b)
			if err != nil {
				t.Fatalf("batch at offset %d: %v", next, err)
			}
			if (first && h.LastOffset() < next) || (!first && h.BaseOffset < next) {
				t.Fatalf("batch %d-%d, reading from %d", h.BaseOffset, h.LastOffset(), next)
			}
			first, next = false, h.NextOffset()
			out = append(out, b)
			return true
		})
		if err != nil {
			t.Fatalf("SplitBatches: %v", err)
		}
	}
	if next != l.EndOffset() {
		t.Fatalf("read up to %d, end offset %d", next, l.EndOffset())
	}
	return out
}
