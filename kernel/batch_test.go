package kernel

import (
	"encoding/binary"
	"hash/crc32"
	"time"
)

// kv is one record for testBatch; a nil key means no key.
type kv struct {
	key, value []byte
	headers    [][2][]byte
}

// appendTestRecord encodes one v2 record.
func appendTestRecord(dst []byte, offsetDelta int, tsDelta int64, r kv) []byte {
	var body []byte
	body = append(body, 0) // attributes
	body = binary.AppendVarint(body, tsDelta)
	body = binary.AppendVarint(body, int64(offsetDelta))
	if r.key == nil {
		body = binary.AppendVarint(body, -1)
	} else {
		body = binary.AppendVarint(body, int64(len(r.key)))
		body = append(body, r.key...)
	}
	if r.value == nil {
		body = binary.AppendVarint(body, -1)
	} else {
		body = binary.AppendVarint(body, int64(len(r.value)))
		body = append(body, r.value...)
	}
	body = binary.AppendVarint(body, int64(len(r.headers)))
	for _, h := range r.headers {
		body = binary.AppendVarint(body, int64(len(h[0])))
		body = append(body, h[0]...)
		body = binary.AppendVarint(body, int64(len(h[1])))
		body = append(body, h[1]...)
	}
	dst = binary.AppendVarint(dst, int64(len(body)))
	return append(dst, body...)
}

// testBatch builds a valid uncompressed v2 batch. pid -1 makes a
// non-idempotent batch.
func testBatch(pid int64, epoch int16, seq int32, recs ...kv) []byte {
	ts := time.Now().UnixMilli()
	b := make([]byte, 61)
	for i, r := range recs {
		b = appendTestRecord(b, i, int64(i), r)
	}
	binary.BigEndian.PutUint64(b[0:], 0)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[12:], 0)
	b[16] = 2
	binary.BigEndian.PutUint16(b[21:], 0)
	binary.BigEndian.PutUint32(b[23:], uint32(len(recs)-1))
	binary.BigEndian.PutUint64(b[27:], uint64(ts))
	binary.BigEndian.PutUint64(b[35:], uint64(ts+int64(len(recs)-1)))
	binary.BigEndian.PutUint64(b[43:], uint64(pid))
	if pid < 0 {
		epoch, seq = -1, -1
	}
	binary.BigEndian.PutUint16(b[51:], uint16(epoch))
	binary.BigEndian.PutUint32(b[53:], uint32(seq))
	binary.BigEndian.PutUint32(b[57:], uint32(len(recs)))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}
