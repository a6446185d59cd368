package compact

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Compression codecs, as numbered in bits 0-2 of a batch's attributes.
const (
	CodecNone   = 0
	CodecGzip   = 1
	CodecSnappy = 2
	CodecLZ4    = 3
	CodecZstd   = 4
)

var codecNames = [...]string{"none", "gzip", "snappy", "lz4", "zstd"}

// MaxDecompressedSize bounds what one call to Decompress (and so one
// batch) may decompress to, so that a small crafted input cannot exhaust
// memory. Kafka batches are bounded by max.message.bytes (1 MiB by
// default) before compression; 64 MiB leaves room for very compressible
// data and large limits.
const MaxDecompressedSize = 64 << 20

// decompressLimit is MaxDecompressedSize, lowered by tests so that they
// need not decompress 64 MiB to see the limit work.
var decompressLimit = MaxDecompressedSize

// Decompress returns src decompressed with codec. For CodecNone it
// returns src itself; otherwise the result is a new slice that src does
// not alias.
//
// Snappy accepts both a raw snappy block and the xerial framing that Java
// clients write; LZ4 is the LZ4 frame format. Output larger than
// MaxDecompressedSize is an error wrapping ErrTooLarge.
func Decompress(codec int, src []byte) ([]byte, error) {
	if codec == CodecNone {
		return src, nil
	}
	return decompressAppend(codec, nil, src)
}

// Compress appends src compressed with codec to dst and returns the
// extended slice. CodecNone appends src as it is. Snappy output is one raw
// snappy block, which every Kafka client reads; LZ4 output is an LZ4 frame
// with 64 KiB independent blocks, as the Java client writes.
func Compress(codec int, dst, src []byte) ([]byte, error) {
	switch codec {
	case CodecNone:
		return append(dst, src...), nil
	case CodecGzip:
		return gzipAppend(dst, src)
	case CodecSnappy:
		n := s2.MaxEncodedLen(len(src))
		if n < 0 {
			return dst, ErrTooLarge
		}
		dst = slices.Grow(dst, n)
		enc := s2.EncodeSnappy(dst[len(dst):len(dst)+n], src)
		return dst[:len(dst)+len(enc)], nil
	case CodecLZ4:
		return lz4Append(dst, src)
	case CodecZstd:
		enc, err := zstdEncoder()
		if err != nil {
			return dst, err
		}
		return enc.EncodeAll(src, dst), nil
	}
	return dst, fmt.Errorf("%w %d", ErrUnknownCodec, codec)
}

// decompressAppend appends src decompressed with codec (not CodecNone)
// to dst. At most MaxDecompressedSize bytes may be appended.
func decompressAppend(codec int, dst, src []byte) ([]byte, error) {
	if len(src) == 0 && codec > CodecNone && codec <= CodecZstd {
		return dst, malformed("no %s data", codecNames[codec])
	}
	switch codec {
	case CodecGzip:
		return gunzipAppend(dst, src)
	case CodecSnappy:
		return unsnappyAppend(dst, src)
	case CodecLZ4:
		return unlz4Append(dst, src)
	case CodecZstd:
		dec, err := zstdDecoder()
		if err != nil {
			return dst, err
		}
		// The decoder enforces MaxDecompressedSize itself, before
		// allocating for a frame that declares its size.
		out, err := dec.DecodeAll(src, dst)
		if err != nil {
			if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
				return dst, fmt.Errorf("%w: zstd: %w", ErrTooLarge, err)
			}
			return dst, fmt.Errorf("%w: zstd: %w", ErrMalformed, err)
		}
		if len(out)-len(dst) > decompressLimit {
			return dst, ErrTooLarge
		}
		return out, nil
	}
	return dst, fmt.Errorf("%w %d", ErrUnknownCodec, codec)
}

// sliceWriter is an io.Writer appending to a byte slice.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// errNoProgress guards readAppend against a reader that returns nothing,
// forever.
var errNoProgress = errors.New("compact: decompressor made no progress")

// readAppend appends everything r yields to dst, failing with ErrTooLarge
// once more than decompressLimit bytes came out. hint is the expected
// output size, used only to size the first allocation.
func readAppend(r io.Reader, dst []byte, hint int) ([]byte, error) {
	start := len(dst)
	dst = slices.Grow(dst, min(max(hint, 512), decompressLimit+1))
	idle := 0
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		// Never read past one byte over the limit: that byte is the proof
		// the data is too large.
		room := dst[len(dst):cap(dst)]
		if left := decompressLimit + 1 - (len(dst) - start); len(room) > left {
			room = room[:left]
		}
		n, err := r.Read(room)
		dst = dst[:len(dst)+n]
		if len(dst)-start > decompressLimit {
			return dst[:start], ErrTooLarge
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst[:start], err
		}
		if n == 0 {
			if idle++; idle > 100 {
				return dst[:start], errNoProgress
			}
		} else {
			idle = 0
		}
	}
}

// gzip

type gzipReader struct {
	src bytes.Reader
	zr  gzip.Reader
}

type gzipWriter struct {
	dst sliceWriter
	zw  *gzip.Writer
}

var (
	gzipReaders = sync.Pool{New: func() any { return new(gzipReader) }}
	gzipWriters = sync.Pool{New: func() any {
		w := new(gzipWriter)
		w.zw, _ = gzip.NewWriterLevel(&w.dst, gzip.DefaultCompression)
		return w
	}}
)

func gunzipAppend(dst, src []byte) ([]byte, error) {
	g := gzipReaders.Get().(*gzipReader)
	defer gzipReaders.Put(g)
	g.src.Reset(src)
	if err := g.zr.Reset(&g.src); err != nil {
		return dst, fmt.Errorf("%w: gzip: %w", ErrMalformed, err)
	}
	// The trailer's ISIZE is the size mod 2^32 of the last member, so
	// that member alone is at least that large: past the limit, there is
	// no need to inflate anything. Otherwise it is a good first guess at
	// the size, capped by what deflate can expand to (about 1032:1).
	hint := 0
	if len(src) >= 4 {
		isize := int64(binary.LittleEndian.Uint32(src[len(src)-4:]))
		if isize > int64(decompressLimit) {
			return dst, ErrTooLarge
		}
		hint = min(int(isize), len(src)*1032)
	}
	out, err := readAppend(&g.zr, dst, hint)
	g.src.Reset(nil)
	if err != nil && !errors.Is(err, ErrTooLarge) {
		err = fmt.Errorf("%w: gzip: %w", ErrMalformed, err)
	}
	return out, err
}

func gzipAppend(dst, src []byte) ([]byte, error) {
	g := gzipWriters.Get().(*gzipWriter)
	defer gzipWriters.Put(g)
	g.dst.b = dst
	g.zw.Reset(&g.dst)
	_, err := g.zw.Write(src)
	if err == nil {
		err = g.zw.Close()
	}
	out := g.dst.b
	g.dst.b = nil
	if err != nil {
		return dst, fmt.Errorf("compact: gzip: %w", err)
	}
	return out, nil
}

// snappy

// xerialMagic starts the framing of Java's snappy-java SnappyOutputStream.
// It is followed by two big-endian int32s (version and minimum compatible
// version) and then by blocks, each a big-endian int32 length and a raw
// snappy block. A raw snappy block cannot start with these bytes: its
// varint length would be followed by an invalid copy.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const xerialHeaderSize = 16

func unsnappyAppend(dst, src []byte) ([]byte, error) {
	if len(src) >= xerialHeaderSize && bytes.HasPrefix(src, xerialMagic) {
		return unxerialAppend(dst, src[xerialHeaderSize:])
	}
	return unsnappyBlock(dst, src, decompressLimit)
}

// unsnappyBlock appends one raw snappy block, refusing to produce more
// than limit bytes.
func unsnappyBlock(dst, block []byte, limit int) ([]byte, error) {
	n, err := s2.DecodedLen(block)
	if err != nil {
		return dst, fmt.Errorf("%w: snappy: %w", ErrMalformed, err)
	}
	if n > limit {
		return dst, ErrTooLarge
	}
	dst = slices.Grow(dst, n)
	if _, err := s2.Decode(dst[len(dst):len(dst)+n], block); err != nil {
		return dst, fmt.Errorf("%w: snappy: %w", ErrMalformed, err)
	}
	return dst[:len(dst)+n], nil
}

// unxerialAppend decodes the blocks of a xerial stream whose header has
// been stripped. It first sums the blocks' declared sizes, so the limit
// holds before anything is allocated and dst grows once.
func unxerialAppend(dst, blocks []byte) ([]byte, error) {
	total := 0
	for rest := blocks; len(rest) > 0; {
		block, next, err := xerialBlock(rest)
		if err != nil {
			return dst, err
		}
		n, err := s2.DecodedLen(block)
		if err != nil {
			return dst, fmt.Errorf("%w: snappy: %w", ErrMalformed, err)
		}
		if total += n; total > decompressLimit {
			return dst, ErrTooLarge
		}
		rest = next
	}
	start := len(dst)
	dst = slices.Grow(dst, total)
	for len(blocks) > 0 {
		block, next, _ := xerialBlock(blocks)
		var err error
		if dst, err = unsnappyBlock(dst, block, decompressLimit-(len(dst)-start)); err != nil {
			return dst[:start], err
		}
		blocks = next
	}
	return dst, nil
}

func xerialBlock(b []byte) (block, rest []byte, err error) {
	if len(b) < 4 {
		return nil, nil, malformed("snappy: xerial block length cut short")
	}
	n := int64(int32(binary.BigEndian.Uint32(b)))
	if n <= 0 || n > int64(len(b)-4) {
		return nil, nil, malformed("snappy: xerial block of %d bytes with %d left", n, len(b)-4)
	}
	return b[4 : 4+n], b[4+n:], nil
}

// lz4

type lz4Reader struct {
	src bytes.Reader
	zr  *lz4.Reader
}

type lz4Writer struct {
	dst sliceWriter
	zw  *lz4.Writer
}

var (
	lz4Readers = sync.Pool{New: func() any {
		r := new(lz4Reader)
		r.zr = lz4.NewReader(&r.src)
		return r
	}}
	lz4Writers = sync.Pool{New: func() any {
		w := new(lz4Writer)
		w.zw = lz4.NewWriter(&w.dst)
		// The Java client writes 64 KiB independent blocks; every reader
		// takes them, and they keep the pooled writers small.
		_ = w.zw.Apply(lz4.BlockSizeOption(lz4.Block64Kb)) // a valid constant: cannot fail
		return w
	}}
)

func unlz4Append(dst, src []byte) ([]byte, error) {
	r := lz4Readers.Get().(*lz4Reader)
	defer lz4Readers.Put(r)
	r.src.Reset(src)
	r.zr.Reset(&r.src)
	out, err := readAppend(r.zr, dst, 4*len(src))
	r.src.Reset(nil)
	if err != nil && !errors.Is(err, ErrTooLarge) {
		err = fmt.Errorf("%w: lz4: %w", ErrMalformed, err)
	}
	return out, err
}

func lz4Append(dst, src []byte) ([]byte, error) {
	w := lz4Writers.Get().(*lz4Writer)
	defer lz4Writers.Put(w)
	w.dst.b = dst
	w.zw.Reset(&w.dst)
	_, err := w.zw.Write(src)
	if err == nil {
		err = w.zw.Close()
	}
	out := w.dst.b
	w.dst.b = nil
	if err != nil {
		return dst, fmt.Errorf("compact: lz4: %w", err)
	}
	return out, nil
}

// zstd: one encoder and one decoder for the process. EncodeAll and
// DecodeAll are safe for concurrent use; each runs up to GOMAXPROCS
// operations at once.

var zstdEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithWindowSize(1<<20),
		// An empty input still makes a frame, which Java's zstd-jni
		// needs to decode.
		zstd.WithZeroFrames(true),
	)
})

var zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil,
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderMaxMemory(MaxDecompressedSize),
	)
})
