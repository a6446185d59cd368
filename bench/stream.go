package bench

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// streamReader reads Kafka response frames field by field from a
// buffered connection, without holding a whole frame. It never reads past
// the frame it is in: every length is checked against what the frame has
// left. The first error sticks: later reads return zeros, and the frame's
// caller learns of it from endFrame (or err).
type streamReader struct {
	r    *bufio.Reader
	left int // bytes of the current frame not read yet
	err  error
	buf  [8]byte
}

// maxResponseFrameBytes bounds a response frame's size field.
const maxResponseFrameBytes = 1 << 30

func newStreamReader(r *bufio.Reader) *streamReader { return &streamReader{r: r} }

// startFrame reads a frame's size and starts reading its body.
func (s *streamReader) startFrame() error {
	s.err, s.left = nil, 4
	size := int(int32(s.uint32()))
	if s.err != nil {
		return s.err
	}
	if size < 0 || size > maxResponseFrameBytes {
		s.err = fmt.Errorf("response frame size %d out of range", size)
		return s.err
	}
	s.left = size
	return nil
}

// endFrame reads past what is left of the frame (fields this reader does
// not know) and returns the first error of the frame.
func (s *streamReader) endFrame() error {
	s.skip(s.left)
	return s.err
}

func (s *streamReader) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// read fills b from the frame.
func (s *streamReader) read(b []byte) {
	if s.err != nil {
		clear(b)
		return
	}
	if len(b) > s.left {
		clear(b)
		s.fail(errors.New("response frame ends inside a field"))
		return
	}
	if _, err := io.ReadFull(s.r, b); err != nil {
		clear(b)
		s.fail(fmt.Errorf("reading a response: %w", err))
		return
	}
	s.left -= len(b)
}

// skip reads past n bytes of the frame.
func (s *streamReader) skip(n int) {
	if s.err != nil {
		return
	}
	if n < 0 || n > s.left {
		s.fail(errors.New("response frame ends inside a field"))
		return
	}
	k, err := s.r.Discard(n)
	s.left -= k
	if err != nil {
		s.fail(fmt.Errorf("reading a response: %w", err))
	}
}

func (s *streamReader) int16() int16 {
	s.read(s.buf[:2])
	return int16(binary.BigEndian.Uint16(s.buf[:]))
}

func (s *streamReader) uint32() uint32 {
	s.read(s.buf[:4])
	return binary.BigEndian.Uint32(s.buf[:])
}

func (s *streamReader) int32() int32 { return int32(s.uint32()) }

// uvarint reads an unsigned varint of at most 5 bytes (32 bits), as the
// flexible versions' lengths and counts are.
func (s *streamReader) uvarint() uint32 {
	var v uint32
	for i := 0; i < 5; i++ {
		s.read(s.buf[:1])
		if s.err != nil {
			return 0
		}
		c := s.buf[0]
		v |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v
		}
	}
	s.fail(errors.New("varint longer than 5 bytes in a response"))
	return 0
}

// compactLen reads the length of a compact array, string or bytes (null
// reads as 0). A length the frame cannot hold is an error: every element
// takes at least a byte.
func (s *streamReader) compactLen() int {
	n := int64(s.uvarint()) - 1
	if s.err != nil || n <= 0 {
		return 0
	}
	if n > int64(s.left) {
		s.fail(fmt.Errorf("length %d is more than the %d bytes left in the response", n, s.left))
		return 0
	}
	return int(n)
}

func (s *streamReader) compactString() string {
	n := s.compactLen()
	if n == 0 {
		return ""
	}
	b := make([]byte, n)
	s.read(b)
	return string(b)
}

// skipTags reads past a tagged-field section.
func (s *streamReader) skipTags() {
	for n := s.uvarint(); n > 0 && s.err == nil; n-- {
		s.uvarint() // tag
		s.skip(int(s.uvarint()))
	}
}
