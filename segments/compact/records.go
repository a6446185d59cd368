package compact

import (
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
)

// Header is a record header. A header key is never null in Kafka; a nil
// Value is a null value.
type Header struct{ Key, Value []byte }

// Record is one record of a v2 batch, as stored: its offset and timestamp
// are deltas from the batch's baseOffset and baseTimestamp.
type Record struct {
	Attributes     int8
	TimestampDelta int64
	OffsetDelta    int32
	Key, Value     []byte // nil means null; a null Value is a tombstone
	Headers        []Header
}

// minRecordSize is the smallest encoded record: a length, attributes,
// timestampDelta, offsetDelta, key length, value length and header count
// of one byte each.
const minRecordSize = 7

// ReadRecords decodes the records of one v2 batch, decompressing them if
// the batch is compressed, and appends them to dst.
//
// The Key, Value and header byte slices of the returned records alias
// batch when it is uncompressed, or a buffer allocated by this call when
// it is compressed: they stay valid as long as batch is not modified, and
// must not be modified themselves (their capacity is capped, so appending
// to one copies it). The Headers slices share one backing array per call.
//
// batch must be exactly one batch (see the package doc for the checks).
// On error, dst is returned as it was given.
func ReadRecords(dst []Record, batch []byte) ([]Record, error) {
	h, err := parseBatch(batch)
	if err != nil {
		return dst, err
	}
	data, _, err := recordsData(&h, batch, nil)
	if err != nil {
		return dst, err
	}
	n0 := len(dst)
	dst = slices.Grow(dst, int(min(int64(h.count), int64(len(data)/minRecordSize))))
	var hdrs []Header
	it := newRecordIter(data, &h)
	var rv recordView
	for it.more() {
		if err := it.next(&rv); err != nil {
			clear(dst[n0:])
			return dst[:n0], err
		}
		r := Record{
			Attributes:     rv.attributes,
			TimestampDelta: rv.timestampDelta,
			OffsetDelta:    rv.offsetDelta,
			Key:            rv.key,
			Value:          rv.value,
		}
		if rv.headerCount > 0 {
			start := len(hdrs)
			hdrs = slices.Grow(hdrs, rv.headerCount)
			b := rv.headers
			for range rv.headerCount {
				var k, v []byte
				k, b, _ = readBytes(b, false) // checked by it.next
				v, b, _ = readBytes(b, true)
				hdrs = append(hdrs, Header{Key: k, Value: v})
			}
			r.Headers = hdrs[start:len(hdrs):len(hdrs)]
		}
		dst = append(dst, r)
	}
	if err := it.finish(); err != nil {
		clear(dst[n0:])
		return dst[:n0], err
	}
	return dst, nil
}

// AppendRecord appends r in its wire form (length-prefixed) to dst. A nil
// Key or Value is written as null. A nil header Key is written as empty,
// since Kafka has no null header keys.
func AppendRecord(dst []byte, r *Record) []byte {
	dst = binary.AppendVarint(dst, int64(recordBodySize(r)))
	dst = append(dst, byte(r.Attributes))
	dst = binary.AppendVarint(dst, r.TimestampDelta)
	dst = binary.AppendVarint(dst, int64(r.OffsetDelta))
	dst = appendNullableBytes(dst, r.Key)
	dst = appendNullableBytes(dst, r.Value)
	dst = binary.AppendVarint(dst, int64(len(r.Headers)))
	for i := range r.Headers {
		h := &r.Headers[i]
		dst = binary.AppendVarint(dst, int64(len(h.Key)))
		dst = append(dst, h.Key...)
		dst = appendNullableBytes(dst, h.Value)
	}
	return dst
}

func appendNullableBytes(dst, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

// recordBodySize is the encoded size of r after its length prefix.
func recordBodySize(r *Record) int {
	n := 1 + varintSize(r.TimestampDelta) + varintSize(int64(r.OffsetDelta)) +
		nullableSize(r.Key) + nullableSize(r.Value) + varintSize(int64(len(r.Headers)))
	for i := range r.Headers {
		h := &r.Headers[i]
		n += varintSize(int64(len(h.Key))) + len(h.Key) + nullableSize(h.Value)
	}
	return n
}

func nullableSize(b []byte) int {
	if b == nil {
		return 1 // varint -1
	}
	return varintSize(int64(len(b))) + len(b)
}

// varintSize is the size of x as a zigzag varint.
func varintSize(x int64) int {
	ux := uint64(x<<1) ^ uint64(x>>63)
	return (bits.Len64(ux|1) + 6) / 7
}

// recordView is a decoded record whose headers are left encoded.
type recordView struct {
	attributes     int8
	timestampDelta int64
	offsetDelta    int32
	key, value     []byte
	headerCount    int
	headers        []byte // the encoded headers, after the count
	start, end     int    // the record's bytes, length prefix included, in the records data
}

// recordIter walks the records of a batch, checking each one fully.
type recordIter struct {
	data      []byte
	pos       int
	left      int32 // records still to read
	index     int32
	prevDelta int64
	lastDelta int64
}

func newRecordIter(data []byte, h *batchInfo) recordIter {
	return recordIter{data: data, left: h.count, prevDelta: -1, lastDelta: int64(h.lastOffsetDelta)}
}

func (it *recordIter) more() bool { return it.left > 0 }

// finish checks that the records filled the data exactly.
func (it *recordIter) finish() error {
	if it.left > 0 {
		return malformed("%d records missing", it.left)
	}
	if n := len(it.data) - it.pos; n != 0 {
		return malformed("%d bytes follow the last of %d records", n, it.index)
	}
	return nil
}

func (it *recordIter) next(r *recordView) error {
	i := it.index
	b := it.data[it.pos:]
	length, n := binary.Varint(b)
	if n <= 0 || length < 0 || length > int64(len(b)-n) {
		return malformed("record %d: bad length", i)
	}
	body := b[n : n+int(length)]
	r.start = it.pos
	it.pos += n + int(length)
	r.end = it.pos
	it.left--
	it.index++

	if len(body) < 1 {
		return malformed("record %d: empty", i)
	}
	r.attributes = int8(body[0])
	body = body[1:]
	if r.timestampDelta, n = binary.Varint(body); n <= 0 {
		return malformed("record %d: bad timestamp delta", i)
	}
	body = body[n:]
	od, n := binary.Varint(body)
	if n <= 0 || od <= it.prevDelta || od > it.lastDelta {
		return malformed("record %d: offset delta %d after %d, last %d", i, od, it.prevDelta, it.lastDelta)
	}
	body = body[n:]
	r.offsetDelta = int32(od) // od <= lastDelta <= MaxInt32
	it.prevDelta = od
	var ok bool
	if r.key, body, ok = readBytes(body, true); !ok {
		return malformed("record %d: bad key", i)
	}
	if r.value, body, ok = readBytes(body, true); !ok {
		return malformed("record %d: bad value", i)
	}
	hc, n := binary.Varint(body)
	// Each header takes at least two bytes.
	if n <= 0 || hc < 0 || hc > int64(len(body)-n)/2 {
		return malformed("record %d: bad header count", i)
	}
	body = body[n:]
	r.headerCount = int(hc)
	r.headers = body
	for h := range r.headerCount {
		if _, body, ok = readBytes(body, false); !ok {
			return malformed("record %d: header %d: bad key", i, h)
		}
		if _, body, ok = readBytes(body, true); !ok {
			return malformed("record %d: header %d: bad value", i, h)
		}
	}
	if len(body) != 0 {
		return malformed("record %d: %d stray bytes", i, len(body))
	}
	return nil
}

// readBytes reads a varint-length-prefixed byte string; length -1 is null
// (nil) when nullable. The result's capacity is capped at its length.
func readBytes(b []byte, nullable bool) (v, rest []byte, ok bool) {
	l, n := binary.Varint(b)
	if n <= 0 {
		return nil, nil, false
	}
	b = b[n:]
	if l == -1 && nullable {
		return nil, b, true
	}
	if l < 0 || l > int64(len(b)) || l > math.MaxInt32 {
		return nil, nil, false
	}
	return b[:l:l], b[l:], true
}
