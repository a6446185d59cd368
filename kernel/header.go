package kernel

import (
	"encoding/binary"
	"errors"
)

// requestHeader is the part of a Kafka request header the router needs.
type requestHeader struct {
	key         int16
	version     int16
	correlation int32
	clientID    string
}

var (
	errShortHeader = errors.New("request header truncated")
	errBadTags     = errors.New("request header tagged fields malformed")
)

// parseHeaderPrefix reads the fixed part of a request header: api key,
// version and correlation id.
func parseHeaderPrefix(frame []byte) (key, version int16, correlation int32, err error) {
	if len(frame) < 8 {
		return 0, 0, 0, errShortHeader
	}
	return int16(binary.BigEndian.Uint16(frame)), int16(binary.BigEndian.Uint16(frame[2:])),
		int32(binary.BigEndian.Uint32(frame[4:])), nil
}

// parseRequestHeader decodes a request header (v1, or v2 when flexible)
// and returns it with the body that follows. Header v1 is api key,
// version, correlation id and a nullable int16-length client id; v2 adds
// tagged fields after it. The client id keeps its classic encoding even
// in v2 (KIP-482).
func parseRequestHeader(frame []byte, flexible bool) (requestHeader, []byte, error) {
	var h requestHeader
	var err error
	h.key, h.version, h.correlation, err = parseHeaderPrefix(frame)
	if err != nil {
		return h, nil, err
	}
	rest := frame[8:]
	if len(rest) < 2 {
		return h, nil, errShortHeader
	}
	n := int16(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if n > 0 {
		if int(n) > len(rest) {
			return h, nil, errShortHeader
		}
		h.clientID = string(rest[:n])
		rest = rest[n:]
	} else if n < -1 {
		return h, nil, errShortHeader
	}
	if flexible {
		rest, err = skipTags(rest)
		if err != nil {
			return h, nil, err
		}
	}
	return h, rest, nil
}

// skipTags skips a tagged-field section: an unsigned varint count, then
// for each field an unsigned varint tag, an unsigned varint size and that
// many bytes.
func skipTags(b []byte) ([]byte, error) {
	count, n := binary.Uvarint(b)
	if n <= 0 {
		return nil, errBadTags
	}
	b = b[n:]
	for i := uint64(0); i < count; i++ {
		if _, n = binary.Uvarint(b); n <= 0 {
			return nil, errBadTags
		}
		b = b[n:]
		size, n := binary.Uvarint(b)
		if n <= 0 || size > uint64(len(b)-n) {
			return nil, errBadTags
		}
		b = b[n+int(size):]
	}
	return b, nil
}

// appendResponseHeader appends a response header: the correlation id,
// then (header v1, for flexible responses) an empty tagged-field section.
// ApiVersions always answers with header v0, so clients can read it
// before they know which versions the broker speaks.
func appendResponseHeader(dst []byte, key int16, flexible bool, correlation int32) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(correlation))
	if flexible && key != apiKeyApiVersions {
		dst = append(dst, 0)
	}
	return dst
}
