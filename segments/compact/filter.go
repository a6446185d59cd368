package compact

import (
	"encoding/binary"
	"math"
	"sync"
)

// Policy decides what compaction keeps. A Policy with a nil Map keeps
// every keyed record that the tombstone rule keeps.
type Policy struct {
	// Map holds, per key, the offset of the key's latest record in the
	// part of the log being cleaned.
	Map *OffsetMap
	// TombstoneHorizon: tombstones (null values) whose record timestamp
	// is older than this (unix ms; timestamp < TombstoneHorizon) are
	// dropped; 0 keeps all tombstones.
	TombstoneHorizon int64
}

// keep reports whether a record of batch h survives compaction.
func (p *Policy) keep(h *batchInfo, r *recordView) bool {
	if r.key == nil {
		return false // compacted topics reject keyless records on produce
	}
	if p.Map != nil {
		if latest, ok := p.Map.Get(r.key); ok && h.baseOffset+int64(r.offsetDelta) < latest {
			return false
		}
	}
	if r.value == nil && p.TombstoneHorizon != 0 && h.recordTimestamp(r.timestampDelta) < p.TombstoneHorizon {
		return false
	}
	return true
}

// FilterBatch appends to dst the batch rewritten to keep only the records
// that survive compaction, and returns the extended slice, how many
// records the appended batch holds and whether it differs from the input.
//
// A keyed record survives when the map has no entry for its key or its
// offset is at least the map's offset for the key; a tombstone must also
// not be older than TombstoneHorizon; records without a key are dropped.
//
//   - A control batch is copied as it is, its records not decoded (kept
//     is its recordCount).
//   - If every record survives, the batch is copied byte for byte.
//   - Otherwise a new batch is built with the same baseOffset,
//     lastOffsetDelta (so the offset range and the producer's sequence
//     numbers stay intact), partitionLeaderEpoch, attributes (the records
//     are recompressed with the same codec), baseTimestamp, producer id,
//     epoch and baseSequence. The kept records are copied with their own
//     offsetDelta and timestampDelta; recordCount is the number kept,
//     maxTimestamp is recomputed over them (under LogAppendTime it is
//     kept), and the CRC is recomputed.
//   - If no record survives and keepEmpty is true (the caller sets it for
//     the last batch of an idempotent producer, to keep its sequence
//     state), an empty batch is appended: no records, recordCount 0,
//     lastOffsetDelta kept. Like Kafka's empty batches it is uncompressed
//     (codec bits and the delete-horizon bit cleared) and both its
//     timestamps are the original maxTimestamp. If keepEmpty is false,
//     nothing is appended; that includes an input batch that was already
//     empty.
//
// dst must not overlap batch. On error, dst is returned unchanged.
func (p *Policy) FilterBatch(dst, batch []byte, keepEmpty bool) (out []byte, kept int, changed bool, err error) {
	h, err := parseBatch(batch)
	if err != nil {
		return dst, 0, false, err
	}
	if h.control() {
		return append(dst, batch...), int(h.count), false, nil
	}
	s := getScratch()
	defer putScratch(s)
	data, dec, err := recordsData(&h, batch, s.dec)
	s.dec = dec
	if err != nil {
		return dst, 0, false, err
	}

	// Decide every record first, collecting the byte spans of the kept
	// ones (adjacent spans merged) and their largest timestamp.
	s.spans = s.spans[:0]
	maxTS := int64(math.MinInt64)
	it := newRecordIter(data, &h)
	var rv recordView
	for it.more() {
		if err := it.next(&rv); err != nil {
			return dst, 0, false, err
		}
		if !p.keep(&h, &rv) {
			continue
		}
		kept++
		maxTS = max(maxTS, h.baseTimestamp+rv.timestampDelta)
		if n := len(s.spans); n > 0 && s.spans[n-1].end == rv.start {
			s.spans[n-1].end = rv.end
		} else {
			s.spans = append(s.spans, span{rv.start, rv.end})
		}
	}
	if err := it.finish(); err != nil {
		return dst, 0, false, err
	}

	switch {
	case kept == int(h.count) && (kept > 0 || keepEmpty):
		return append(dst, batch...), kept, false, nil
	case kept == 0 && !keepEmpty:
		return dst, 0, true, nil
	}

	start := len(dst)
	dst = append(dst, batch[:headerSize]...)
	hdr := dst[start:]
	be := binary.BigEndian
	be.PutUint32(hdr[posRecordCount:], uint32(kept))
	if kept == 0 {
		be.PutUint16(hdr[posAttributes:], uint16(h.attrs&^(attrCodecMask|attrDeleteHorizon)))
		be.PutUint64(hdr[posBaseTimestamp:], uint64(h.maxTimestamp))
		finishBatch(dst, start)
		return dst, 0, true, nil
	}
	if !h.logAppendTime() {
		be.PutUint64(hdr[posMaxTimestamp:], uint64(maxTS))
	}
	if h.codec() == CodecNone {
		for _, sp := range s.spans {
			dst = append(dst, data[sp.start:sp.end]...)
		}
	} else {
		s.buf = s.buf[:0]
		for _, sp := range s.spans {
			s.buf = append(s.buf, data[sp.start:sp.end]...)
		}
		if dst, err = Compress(h.codec(), dst, s.buf); err != nil {
			return dst[:start], 0, false, err
		}
	}
	finishBatch(dst, start)
	return dst, kept, true, nil
}

// HasNullKey reports whether any record of a (possibly compressed) batch
// has a null key; the broker rejects such batches for compacted topics,
// as Kafka does. It stops at the first null key, so records after it are
// not checked.
func HasNullKey(batch []byte) (bool, error) {
	h, err := parseBatch(batch)
	if err != nil {
		return false, err
	}
	s := getScratch()
	defer putScratch(s)
	data, dec, err := recordsData(&h, batch, s.dec)
	s.dec = dec
	if err != nil {
		return false, err
	}
	it := newRecordIter(data, &h)
	var rv recordView
	for it.more() {
		if err := it.next(&rv); err != nil {
			return false, err
		}
		if rv.key == nil {
			return true, nil
		}
	}
	return false, it.finish()
}

// span is a range of bytes in a batch's records data.
type span struct{ start, end int }

// scratch holds the buffers of one FilterBatch, AddBatch or HasNullKey
// call, pooled so that steady-state compaction does not allocate them.
type scratch struct {
	dec   []byte // decompressed records
	buf   []byte // kept records, before compression
	spans []span
	keys  []keyOffset
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// maxPooledBuffer is the largest buffer kept in the pool; a rare huge
// batch does not pin its memory.
const maxPooledBuffer = 8 << 20

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(s *scratch) {
	if cap(s.dec) > maxPooledBuffer {
		s.dec = nil
	}
	if cap(s.buf) > maxPooledBuffer {
		s.buf = nil
	}
	clear(s.keys[:cap(s.keys)]) // drop references to batches
	if cap(s.keys) > maxPooledBuffer/32 {
		s.keys = nil
	}
	if cap(s.spans) > maxPooledBuffer/16 {
		s.spans = nil
	}
	scratchPool.Put(s)
}
