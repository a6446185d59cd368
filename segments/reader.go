package segments

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// scanBufferSize is the read window used when walking a segment
// sequentially (recovery, Scan): large enough that small batches cost a
// fraction of a syscall each, small enough to allocate per walk.
const scanBufferSize = 256 << 10

// batchReader walks a segment file through a read window, so that many
// small batches cost one pread and a batch larger than the window never
// has to be held in memory whole.
type batchReader struct {
	r     io.ReaderAt
	path  string // for error messages
	limit int64  // bytes of the file to consider
	buf   []byte
	fixed bool  // buf is borrowed: never replace it
	off   int64 // file position of buf[0]
	n     int   // valid bytes in buf
}

func newBatchReader(r io.ReaderAt, path string, limit int64) *batchReader {
	size := int64(scanBufferSize)
	if limit < size {
		// Small segments (most tests, fresh logs) get a small buffer.
		size = max(limit, BatchHeaderSize)
	}
	return &batchReader{r: r, path: path, limit: limit, buf: make([]byte, size)}
}

// at returns the n bytes at position p, refilling the window from p when
// it does not already hold them. The caller makes sure p+n <= limit and
// n <= len(buf); an error is an I/O error, never bad data.
func (br *batchReader) at(p int64, n int) ([]byte, error) {
	if p < br.off || p+int64(n) > br.off+int64(br.n) {
		want := min(int64(len(br.buf)), br.limit-p)
		m, err := br.r.ReadAt(br.buf[:want], p)
		if int64(m) < want {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			br.n = 0
			return nil, fmt.Errorf("segments: read %s at %d: %w", br.path, p, mapClosed(err))
		}
		br.off, br.n = p, m
	}
	i := p - br.off
	return br.buf[i : i+int64(n)], nil
}

// header reads and decodes the header of the batch at p and checks that
// the batch fits before limit. Bad data is reported as a *corruptError.
func (br *batchReader) header(p int64) (BatchHeader, error) {
	if br.limit-p < BatchHeaderSize {
		return BatchHeader{}, &corruptError{pos: p, err: ErrBatchTooShort}
	}
	b, err := br.at(p, BatchHeaderSize)
	if err != nil {
		return BatchHeader{}, err
	}
	h, _ := ParseBatchHeader(b) // cannot fail: b holds a whole header
	if h.BatchLength < minBatchLength || h.size64() > br.limit-p {
		return h, &corruptError{pos: p, err: ErrBatchLength}
	}
	return h, nil
}

// crc computes the CRC-32C of the batch at p with header h, a window at a
// time.
func (br *batchReader) crc(p int64, h BatchHeader) (uint32, error) {
	var sum uint32
	end := p + h.size64()
	for q := p + posAttributes; q < end; {
		n := int(min(end-q, int64(len(br.buf))))
		b, err := br.at(q, n)
		if err != nil {
			return 0, err
		}
		sum = crc32.Update(sum, castagnoli, b)
		q += int64(n)
	}
	return sum, nil
}

// corruptError is bad data found at a position in a segment, as opposed to
// an I/O error: recovery truncates at the former and fails on the latter.
type corruptError struct {
	pos int64
	err error
}

func (e *corruptError) Error() string {
	return fmt.Sprintf("at position %d: %v", e.pos, e.err)
}

func (e *corruptError) Unwrap() error { return e.err }

// reset points br at another file, keeping its buffer.
func (br *batchReader) reset(r io.ReaderAt, path string, limit int64) {
	br.r, br.path, br.limit = r, path, limit
	br.off, br.n = 0, 0
	if !br.fixed && int64(len(br.buf)) < min(limit, scanBufferSize) {
		br.buf = make([]byte, min(limit, scanBufferSize))
	}
}

// isCorrupt reports whether err is bad data rather than an I/O error.
func isCorrupt(err error) bool {
	var ce *corruptError
	return errors.As(err, &ce)
}

// batch returns the whole batch at p, whose header h came from header(p),
// growing the window if the batch does not fit in it. The slice is valid
// until the next call.
func (br *batchReader) batch(p int64, h BatchHeader) ([]byte, error) {
	n := h.size64()
	if n > int64(len(br.buf)) {
		if br.fixed {
			return nil, fmt.Errorf("segments: read %s at %d: batch of %d bytes does not fit the buffer", br.path, p, n)
		}
		br.buf = make([]byte, n)
		br.off, br.n = 0, 0
	}
	return br.at(p, int(n))
}
