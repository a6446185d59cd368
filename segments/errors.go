package segments

import "errors"

// Sentinel errors. Functions on the hot path (ValidateBatch) return them
// bare so that rejecting a batch allocates nothing; the rest wrap them with
// context, so test with errors.Is.
var (
	// ErrBatchTooShort: fewer bytes than a batch header.
	ErrBatchTooShort = errors.New("segments: record batch shorter than its header")
	// ErrBatchLength: batchLength disagrees with the bytes present, or is
	// below the minimum of a header with no records.
	ErrBatchLength = errors.New("segments: record batch length does not match its bytes")
	// ErrUnsupportedMagic: not a v2 batch.
	ErrUnsupportedMagic = errors.New("segments: unsupported record batch magic (want 2)")
	// ErrCRCMismatch: the CRC-32C of the batch does not match its header.
	ErrCRCMismatch = errors.New("segments: record batch CRC mismatch")
	// ErrRecordCount: recordCount or lastOffsetDelta is out of range.
	ErrRecordCount = errors.New("segments: record batch has an invalid record count or offset delta")
	// ErrOffsetOutOfRange: the offset is before the log start or past its end.
	ErrOffsetOutOfRange = errors.New("segments: offset out of range")
	// ErrClosed: the log has been closed.
	ErrClosed = errors.New("segments: log closed")
)

// errOffsetOrder: during recovery, a batch (or segment) whose base offset
// is below the end of the batch before it, or whose offsets run out of
// its segment's 32-bit range. Gaps are allowed (compaction leaves them);
// going backwards is not. Only ever reported as a truncation reason.
var errOffsetOrder = errors.New("segments: record batch offsets go backwards or out of range")
