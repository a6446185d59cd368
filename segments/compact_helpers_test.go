package segments

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"strings"
	"testing"

	"github.com/runnel-dev/runnel/segments/compact"
)

// keyedSpec describes a batch of keyed records for the compaction tests.
type keyedSpec struct {
	codec         int
	producerID    int64 // -1: none
	producerEpoch int16
	baseSequence  int32
	ts            int64 // every record's timestamp
	records       []compact.Record
}

// parseKV parses "k=v" into a record; "~" stands for null: "k=~" is a
// tombstone, "~=v" a record without a key.
func parseKV(tok string) compact.Record {
	k, v, ok := strings.Cut(tok, "=")
	if !ok {
		panic("bad record " + tok)
	}
	var r compact.Record
	if k != "~" {
		r.Key = []byte(k)
	}
	if v != "~" {
		r.Value = []byte(v)
	}
	return r
}

// keyed builds a batch of "k=v" records at timestamp ts, no producer.
func keyed(ts int64, kvs ...string) []byte {
	s := keyedSpec{producerID: -1, producerEpoch: -1, baseSequence: -1, ts: ts}
	for _, kv := range kvs {
		s.records = append(s.records, parseKV(kv))
	}
	return keyedBatch(s)
}

// keyedBatch builds a valid v2 batch (base offset 0) of s's records, with
// offset deltas 0, 1, ... and compressed with s.codec.
func keyedBatch(s keyedSpec) []byte {
	var raw []byte
	for i := range s.records {
		r := s.records[i]
		r.OffsetDelta = int32(i)
		r.TimestampDelta = 0
		raw = compact.AppendRecord(raw, &r)
	}
	b := make([]byte, BatchHeaderSize, BatchHeaderSize+len(raw))
	be := binary.BigEndian
	be.PutUint32(b[posLeaderEpoch:], math.MaxUint32)
	b[posMagic] = 2
	be.PutUint16(b[posAttributes:], uint16(s.codec))
	be.PutUint32(b[posLastOffsetDelta:], uint32(len(s.records)-1))
	be.PutUint64(b[posBaseTimestamp:], uint64(s.ts))
	be.PutUint64(b[posMaxTimestamp:], uint64(s.ts))
	be.PutUint64(b[posProducerID:], uint64(s.producerID))
	be.PutUint16(b[posProducerEpoch:], uint16(s.producerEpoch))
	be.PutUint32(b[posBaseSequence:], uint32(s.baseSequence))
	be.PutUint32(b[posRecordCount:], uint32(len(s.records)))
	b, err := compact.Compress(s.codec, b, raw)
	if err != nil {
		panic(err)
	}
	be.PutUint32(b[posBatchLength:], uint32(len(b)-batchLengthOverhead))
	be.PutUint32(b[posCRC:], crc32c(b[posAttributes:]))
	return b
}

// validStored checks b as recovery does: one whole v2 batch with a good
// CRC, which (unlike what ValidateBatch accepts) may hold no records.
func validStored(b []byte) (BatchHeader, error) {
	h, err := ParseBatchHeader(b)
	if err != nil {
		return h, err
	}
	if err := checkStored(h, int64(len(b))); err != nil {
		return h, err
	}
	if crc32.Checksum(b[posAttributes:], testCRCTable) != h.CRC {
		return h, ErrCRCMismatch
	}
	return h, nil
}

// storedBatch is a batch read back, with its records.
type storedBatch struct {
	h       BatchHeader
	raw     []byte
	records []compact.Record
}

// readBatches reads the whole log from offset from with AppendRead,
// allowing gaps, and checks every batch: valid, offsets never going
// backwards, records decodable.
func readBatches(t testing.TB, l *Log, from int64, maxBytes int) []storedBatch {
	t.Helper()
	var out []storedBatch
	next := from
	for next < l.EndOffset() {
		got, err := l.AppendRead(nil, next, maxBytes)
		if err != nil {
			t.Fatalf("AppendRead(%d): %v", next, err)
		}
		if len(got) == 0 {
			break // past the last batch: a gap at the end of the log
		}
		err = SplitBatches(got, func(b []byte) bool {
			h, err := validStored(b)
			if err != nil {
				t.Fatalf("batch at offset %d: %v", next, err)
			}
			if h.BaseOffset < next && h.LastOffset() < next {
				t.Fatalf("batch %d-%d read at %d", h.BaseOffset, h.LastOffset(), next)
			}
			if len(out) > 0 && h.BaseOffset < out[len(out)-1].h.NextOffset() {
				t.Fatalf("batch at %d after one ending at %d", h.BaseOffset, out[len(out)-1].h.NextOffset())
			}
			recs, err := compact.ReadRecords(nil, b)
			if err != nil {
				t.Fatalf("records of batch %d: %v", h.BaseOffset, err)
			}
			out = append(out, storedBatch{h: h, raw: b, records: recs})
			next = h.NextOffset()
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// rec is a record as the model knows it.
type rec struct {
	offset     int64
	key, value string
	tombstone  bool
	ts         int64
}

func (r rec) String() string {
	if r.tombstone {
		return fmt.Sprintf("%d:%s=~", r.offset, r.key)
	}
	return fmt.Sprintf("%d:%s=%s", r.offset, r.key, r.value)
}

// model is every keyed record appended, by offset.
type model struct {
	recs   map[int64]rec
	latest map[string]rec
}

func newModel() *model { return &model{recs: make(map[int64]rec), latest: make(map[string]rec)} }

// add records what a batch appended at base holds.
func (m *model) add(t testing.TB, base int64, batch []byte) {
	t.Helper()
	h, err := ParseBatchHeader(batch)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := compact.ReadRecords(nil, batch)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Key == nil {
			continue
		}
		x := rec{offset: base + int64(r.OffsetDelta), key: string(r.Key), value: string(r.Value),
			tombstone: r.Value == nil, ts: h.BaseTimestamp + r.TimestampDelta}
		m.recs[x.offset] = x
		if old, ok := m.latest[x.key]; !ok || x.offset > old.offset {
			m.latest[x.key] = x
		}
	}
}

// appendKeyed appends batch to l and adds it to the model.
func (m *model) appendKeyed(t testing.TB, l *Log, batch []byte) int64 {
	t.Helper()
	base := mustAppend(t, l, batch)
	m.add(t, base, batch)
	return base
}

// check reads l and checks it against the model: every record is one
// appended, at its offset; every key's latest record is there and is the
// last of its key, except that a tombstone may be gone, and then the key
// with it. It returns the records read, in offset order.
func (m *model) check(t testing.TB, l *Log) []rec {
	t.Helper()
	var got []rec
	last := make(map[string]rec)
	for _, b := range readBatches(t, l, l.StartOffset(), 1<<20) {
		for _, r := range b.records {
			x := rec{offset: b.h.BaseOffset + int64(r.OffsetDelta), key: string(r.Key), value: string(r.Value), tombstone: r.Value == nil}
			want, ok := m.recs[x.offset]
			if !ok || want.key != x.key || want.value != x.value || want.tombstone != x.tombstone {
				t.Fatalf("record %v was not appended there (want %v)", x, want)
			}
			got = append(got, x)
			last[x.key] = x
		}
	}
	for k, want := range m.latest {
		if want.offset < l.StartOffset() {
			continue
		}
		have, ok := last[k]
		switch {
		case !ok && want.tombstone:
		case !ok:
			t.Fatalf("key %s lost its latest record %v", k, want)
		case have.offset != want.offset:
			t.Fatalf("key %s: last record %v, want %v (resurrected?)", k, have, want)
		}
	}
	return got
}

// checkClean checks that below the cleaned offset each key appears at
// most once.
func checkClean(t testing.TB, l *Log, got []rec) {
	t.Helper()
	seen := make(map[string]int64)
	for _, r := range got {
		if r.offset >= l.CleanedOffset() {
			break
		}
		if o, dup := seen[r.key]; dup {
			t.Fatalf("key %s at %d and %d below the cleaned offset %d", r.key, o, r.offset, l.CleanedOffset())
		}
		seen[r.key] = r.offset
	}
}
