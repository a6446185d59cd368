package segments

import (
	"encoding/binary"
	"math"
)

// BatchHeaderSize is the size of a v2 record batch header: everything up
// to and including recordCount.
const BatchHeaderSize = 61

// Byte positions of the header fields, from the start of the batch.
const (
	posBaseOffset      = 0
	posBatchLength     = 8
	posLeaderEpoch     = 12
	posMagic           = 16
	posCRC             = 17
	posAttributes      = 21 // the CRC covers from here to the end
	posLastOffsetDelta = 23
	posBaseTimestamp   = 27
	posMaxTimestamp    = 35
	posProducerID      = 43
	posProducerEpoch   = 51
	posBaseSequence    = 53
	posRecordCount     = 57
)

const (
	// batchLengthOverhead is the bytes batchLength does not count: the
	// baseOffset and batchLength fields themselves.
	batchLengthOverhead = 12
	// minBatchLength is the batchLength of a batch with no record bytes.
	minBatchLength = BatchHeaderSize - batchLengthOverhead
	// offsetHeaderBytes is how much of a header a reader needs to find a
	// batch's size and offsets (up to the end of lastOffsetDelta).
	offsetHeaderBytes = posBaseTimestamp
)

// Attribute bits.
const (
	attrCompressionMask = 0x07
	attrTransactional   = 0x10
	attrControl         = 0x20
)

// BatchHeader is the decoded header of a record batch (magic 2).
type BatchHeader struct {
	BaseOffset           int64
	BatchLength          int32
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	RecordCount          int32
}

// Size is the total size of the batch in bytes.
func (h BatchHeader) Size() int { return int(h.BatchLength) + batchLengthOverhead }

// size64 is Size computed in int64, which cannot overflow on 32-bit
// platforms whatever BatchLength holds.
func (h BatchHeader) size64() int64 { return int64(h.BatchLength) + batchLengthOverhead }

// LastOffset is the offset of the last record in the batch.
func (h BatchHeader) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// NextOffset is the offset that follows the batch.
func (h BatchHeader) NextOffset() int64 { return h.LastOffset() + 1 }

// LastSequence is the producer sequence number of the last record. Kafka
// sequences wrap from MaxInt32 to 0, and a batch without a sequence (-1)
// keeps -1.
func (h BatchHeader) LastSequence() int32 {
	if h.BaseSequence == -1 {
		return -1
	}
	s := int64(h.BaseSequence) + int64(h.LastOffsetDelta)
	if s > math.MaxInt32 {
		s -= math.MaxInt32 + 1
	}
	return int32(s)
}

// Transactional reports whether the batch belongs to a transaction.
func (h BatchHeader) Transactional() bool { return h.Attributes&attrTransactional != 0 }

// Control reports whether the batch holds control records (transaction
// markers).
func (h BatchHeader) Control() bool { return h.Attributes&attrControl != 0 }

// Compression is the codec id: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
func (h BatchHeader) Compression() int { return int(h.Attributes & attrCompressionMask) }

// ParseBatchHeader decodes the header at the start of b. It checks only
// that b holds a whole header; see ValidateBatch for the rest.
func ParseBatchHeader(b []byte) (BatchHeader, error) {
	if len(b) < BatchHeaderSize {
		return BatchHeader{}, ErrBatchTooShort
	}
	be := binary.BigEndian
	return BatchHeader{
		BaseOffset:           int64(be.Uint64(b[posBaseOffset:])),
		BatchLength:          int32(be.Uint32(b[posBatchLength:])),
		PartitionLeaderEpoch: int32(be.Uint32(b[posLeaderEpoch:])),
		Magic:                int8(b[posMagic]),
		CRC:                  be.Uint32(b[posCRC:]),
		Attributes:           int16(be.Uint16(b[posAttributes:])),
		LastOffsetDelta:      int32(be.Uint32(b[posLastOffsetDelta:])),
		BaseTimestamp:        int64(be.Uint64(b[posBaseTimestamp:])),
		MaxTimestamp:         int64(be.Uint64(b[posMaxTimestamp:])),
		ProducerID:           int64(be.Uint64(b[posProducerID:])),
		ProducerEpoch:        int16(be.Uint16(b[posProducerEpoch:])),
		BaseSequence:         int32(be.Uint32(b[posBaseSequence:])),
		RecordCount:          int32(be.Uint32(b[posRecordCount:])),
	}, nil
}

// batchOffsets decodes just what a reader needs to walk batches: the base
// offset, the total size and the last offset. b must hold at least
// offsetHeaderBytes bytes.
func batchOffsets(b []byte) (base, size, last int64) {
	be := binary.BigEndian
	base = int64(be.Uint64(b[posBaseOffset:]))
	size = int64(int32(be.Uint32(b[posBatchLength:]))) + batchLengthOverhead
	last = base + int64(int32(be.Uint32(b[posLastOffsetDelta:])))
	return base, size, last
}
