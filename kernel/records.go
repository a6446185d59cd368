package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Records inside a v2 batch, after the 61-byte batch header:
//
//	length varint | attributes int8 | timestampDelta varlong |
//	offsetDelta varint | keyLength varint | key | valueLength varint |
//	value | headerCount varint | headers (keyLength varint, key,
//	valueLength varint, value)
//
// All varints are zigzag-encoded, as in protobuf.

var errRecords = errors.New("records malformed")

// validateRecords walks the records of an uncompressed batch and checks
// what Kafka checks: each record's length covers exactly its fields,
// offset deltas run 0, 1, 2, ..., and the count matches the header. It
// allocates nothing. Compressed batches are not walked: the broker does
// not decompress on the produce path.
func validateRecords(recs []byte, count int32) error {
	for i := int32(0); i < count; i++ {
		length, n := binary.Varint(recs)
		if n <= 0 || length < 0 || length > int64(len(recs)-n) {
			return fmt.Errorf("%w: record %d has a bad length", errRecords, i)
		}
		body := recs[n : n+int(length)]
		recs = recs[n+int(length):]
		if err := validateRecordBody(body, i); err != nil {
			return err
		}
	}
	if len(recs) != 0 {
		return fmt.Errorf("%w: %d bytes follow the last of %d records", errRecords, len(recs), count)
	}
	return nil
}

func validateRecordBody(b []byte, index int32) error {
	if len(b) < 1 {
		return fmt.Errorf("%w: record %d is empty", errRecords, index)
	}
	b = b[1:] // attributes: unused in v2
	var ok bool
	if _, b, ok = readVarint(b); !ok { // timestamp delta
		return fmt.Errorf("%w: record %d timestamp", errRecords, index)
	}
	var delta int64
	if delta, b, ok = readVarint(b); !ok || delta != int64(index) {
		return fmt.Errorf("%w: record %d has offset delta %d", errRecords, index, delta)
	}
	if b, ok = skipVarBytes(b, true); !ok { // key
		return fmt.Errorf("%w: record %d key", errRecords, index)
	}
	if b, ok = skipVarBytes(b, true); !ok { // value
		return fmt.Errorf("%w: record %d value", errRecords, index)
	}
	var headers int64
	if headers, b, ok = readVarint(b); !ok || headers < 0 || headers > int64(len(b)) {
		return fmt.Errorf("%w: record %d header count", errRecords, index)
	}
	for h := int64(0); h < headers; h++ {
		if b, ok = skipVarBytes(b, false); !ok {
			return fmt.Errorf("%w: record %d header %d key", errRecords, index, h)
		}
		if b, ok = skipVarBytes(b, true); !ok {
			return fmt.Errorf("%w: record %d header %d value", errRecords, index, h)
		}
	}
	if len(b) != 0 {
		return fmt.Errorf("%w: record %d has %d stray bytes", errRecords, index, len(b))
	}
	return nil
}

func readVarint(b []byte) (int64, []byte, bool) {
	v, n := binary.Varint(b)
	if n <= 0 {
		return 0, nil, false
	}
	return v, b[n:], true
}

// skipVarBytes skips a varint length and that many bytes; -1 (null) is
// allowed where nullable.
func skipVarBytes(b []byte, nullable bool) ([]byte, bool) {
	l, rest, ok := readVarint(b)
	if !ok {
		return nil, false
	}
	if l == -1 && nullable {
		return rest, true
	}
	if l < 0 || l > int64(len(rest)) {
		return nil, false
	}
	return rest[l:], true
}
