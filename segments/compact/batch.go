package compact

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Layout of a v2 record batch header (big-endian). These duplicate the
// parent segments package, which this package must not import.
const (
	headerSize = 61 // through recordCount; the records follow

	posBatchLength     = 8
	posMagic           = 16
	posCRC             = 17
	posAttributes      = 21 // the CRC covers from here to the end
	posLastOffsetDelta = 23
	posBaseTimestamp   = 27
	posMaxTimestamp    = 35
	posRecordCount     = 57

	// lengthOverhead is what batchLength does not count: baseOffset and
	// batchLength itself.
	lengthOverhead = 12
)

// Attribute bits.
const (
	attrCodecMask     = 0x07
	attrLogAppendTime = 0x08
	attrControl       = 0x20
	attrDeleteHorizon = 0x40
)

var (
	// ErrMalformed is wrapped by every error about a batch or record that
	// does not decode.
	ErrMalformed = errors.New("compact: malformed record batch")
	// ErrCRCMismatch means a batch's CRC-32C does not match its bytes.
	ErrCRCMismatch = errors.New("compact: record batch CRC mismatch")
	// ErrUnknownCodec is returned for a compression codec other than 0-4.
	ErrUnknownCodec = errors.New("compact: unknown compression codec")
	// ErrTooLarge is returned when data would decompress to more than
	// MaxDecompressedSize bytes.
	ErrTooLarge = errors.New("compact: decompressed data exceeds MaxDecompressedSize")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// batchInfo is what the package needs from a checked batch header.
type batchInfo struct {
	baseOffset      int64
	attrs           int16
	lastOffsetDelta int32
	baseTimestamp   int64
	maxTimestamp    int64
	count           int32
}

func (h *batchInfo) codec() int          { return int(h.attrs & attrCodecMask) }
func (h *batchInfo) control() bool       { return h.attrs&attrControl != 0 }
func (h *batchInfo) logAppendTime() bool { return h.attrs&attrLogAppendTime != 0 }
func (h *batchInfo) lastOffset() int64   { return h.baseOffset + int64(h.lastOffsetDelta) }

// recordTimestamp is the timestamp of a record of the batch: under
// LogAppendTime every record carries the batch's maxTimestamp.
func (h *batchInfo) recordTimestamp(delta int64) int64 {
	if h.logAppendTime() {
		return h.maxTimestamp
	}
	return h.baseTimestamp + delta
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// parseBatch checks that b is exactly one v2 batch with a valid CRC and a
// known codec, and decodes the header fields the package uses.
func parseBatch(b []byte) (batchInfo, error) {
	if len(b) < headerSize {
		return batchInfo{}, malformed("batch of %d bytes is shorter than the %d-byte header", len(b), headerSize)
	}
	be := binary.BigEndian
	if m := int8(b[posMagic]); m != 2 {
		return batchInfo{}, malformed("magic %d, want 2", m)
	}
	if bl := int64(int32(be.Uint32(b[posBatchLength:]))); bl+lengthOverhead != int64(len(b)) {
		return batchInfo{}, malformed("batchLength %d does not match the %d bytes given", bl, len(b))
	}
	if crc32.Checksum(b[posAttributes:], castagnoli) != be.Uint32(b[posCRC:]) {
		return batchInfo{}, ErrCRCMismatch
	}
	h := batchInfo{
		baseOffset:      int64(be.Uint64(b)),
		attrs:           int16(be.Uint16(b[posAttributes:])),
		lastOffsetDelta: int32(be.Uint32(b[posLastOffsetDelta:])),
		baseTimestamp:   int64(be.Uint64(b[posBaseTimestamp:])),
		maxTimestamp:    int64(be.Uint64(b[posMaxTimestamp:])),
		count:           int32(be.Uint32(b[posRecordCount:])),
	}
	if c := h.codec(); c > CodecZstd {
		return batchInfo{}, fmt.Errorf("%w %d", ErrUnknownCodec, c)
	}
	if h.lastOffsetDelta < 0 {
		return batchInfo{}, malformed("negative lastOffsetDelta %d", h.lastOffsetDelta)
	}
	if h.count < 0 || int64(h.count) > int64(h.lastOffsetDelta)+1 {
		return batchInfo{}, malformed("recordCount %d with lastOffsetDelta %d", h.count, h.lastOffsetDelta)
	}
	return h, nil
}

// finishBatch sets the batchLength and CRC of the batch that starts at
// b[start] and runs to the end of b.
func finishBatch(b []byte, start int) {
	batch := b[start:]
	binary.BigEndian.PutUint32(batch[posBatchLength:], uint32(len(batch)-lengthOverhead))
	binary.BigEndian.PutUint32(batch[posCRC:], crc32.Checksum(batch[posAttributes:], castagnoli))
}

// recordsData returns the records of a checked batch, decompressed into
// buf (reset first) when the batch is compressed. A batch with no records
// may carry no data even with a codec set.
func recordsData(h *batchInfo, batch, buf []byte) (data, newBuf []byte, err error) {
	data = batch[headerSize:]
	if h.codec() == CodecNone || (h.count == 0 && len(data) == 0) {
		return data, buf, nil
	}
	if buf, err = decompressAppend(h.codec(), buf[:0], data); err != nil {
		return nil, buf, err
	}
	return buf, buf, nil
}
