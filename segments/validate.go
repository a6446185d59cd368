package segments

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// castagnoli is the CRC-32C table the v2 batch checksum uses.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ValidateBatch checks that b is exactly one well-formed v2 batch: a whole
// header, magic 2, batchLength+12 == len(b), at least one record with a
// non-negative lastOffsetDelta, and a matching CRC-32C. It returns the
// decoded header. It never panics and never allocates: errors are the bare
// sentinels, for the caller to wrap.
func ValidateBatch(b []byte) (BatchHeader, error) {
	h, err := ParseBatchHeader(b)
	if err != nil {
		return h, err
	}
	if err := checkHeader(h, int64(len(b))); err != nil {
		return h, err
	}
	if crc32.Checksum(b[posAttributes:], castagnoli) != h.CRC {
		return h, ErrCRCMismatch
	}
	return h, nil
}

// checkHeader checks everything about a header except the CRC, given the
// number of bytes n the batch occupies. Recovery shares it with
// ValidateBatch so that the log accepts on disk exactly what it accepts
// from clients.
//
// Magic is checked first: an old-format message set has its magic at the
// same byte but a different layout, so its length says nothing, and the
// caller wants to tell "old format" from "corrupt".
func checkHeader(h BatchHeader, n int64) error {
	if h.Magic != 2 {
		return ErrUnsupportedMagic
	}
	if h.BatchLength < minBatchLength || h.size64() != n {
		return ErrBatchLength
	}
	if h.RecordCount < 1 || h.LastOffsetDelta < 0 {
		return ErrRecordCount
	}
	return nil
}

// checkStored is checkHeader for a batch already in the log: compaction
// keeps empty batches (no records, lastOffsetDelta intact) for idempotent
// producers, so a stored batch may have a recordCount of 0.
func checkStored(h BatchHeader, n int64) error {
	if h.RecordCount == 0 {
		h.RecordCount = 1
	}
	return checkHeader(h, n)
}

// SplitBatches calls fn with each batch in b, a concatenation of zero or
// more batches, cut by batchLength alone (no CRC or magic check). Each
// slice handed to fn has its capacity capped at its length, so appending
// to it cannot clobber the next batch. It returns an error wrapping
// ErrBatchLength if b ends in a partial batch or a batchLength is below
// the minimum; batches before that point have already been passed to fn.
// fn returning false stops the walk with a nil error.
func SplitBatches(b []byte, fn func(batch []byte) bool) error {
	for p := 0; p < len(b); {
		rest := b[p:]
		if len(rest) < batchLengthOverhead {
			return fmt.Errorf("%w: %d trailing bytes at byte %d", ErrBatchLength, len(rest), p)
		}
		bl := int32(binary.BigEndian.Uint32(rest[posBatchLength:]))
		if bl < minBatchLength {
			return fmt.Errorf("%w: batchLength %d at byte %d", ErrBatchLength, bl, p)
		}
		size := int64(bl) + batchLengthOverhead
		if size > int64(len(rest)) {
			return fmt.Errorf("%w: batch of %d bytes at byte %d, only %d left", ErrBatchLength, size, p, len(rest))
		}
		n := int(size)
		if !fn(rest[:n:n]) {
			return nil
		}
		p += n
	}
	return nil
}

// wholeBatches returns the length of the longest prefix of b made of whole
// batches, cut by batchLength. Readers use it to trim a read that ended in
// the middle of a batch.
func wholeBatches(b []byte) int {
	p := 0
	for len(b)-p >= batchLengthOverhead {
		bl := int32(binary.BigEndian.Uint32(b[p+posBatchLength:]))
		if bl < minBatchLength {
			break
		}
		size := int64(bl) + batchLengthOverhead
		if size > int64(len(b)-p) {
			break
		}
		p += int(size)
	}
	return p
}
