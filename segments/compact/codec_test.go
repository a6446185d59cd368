package compact

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// testData returns n bytes that compress somewhat: random words.
func testData(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	words := []string{"kafka", "runnel", "compact", "offset", "record", "batch", "key", "value", "tombstone", "segment"}
	b := make([]byte, 0, n+16)
	for len(b) < n {
		if r.IntN(8) == 0 {
			b = binary.LittleEndian.AppendUint64(b, r.Uint64())
		} else {
			b = append(b, words[r.IntN(len(words))]...)
			b = append(b, ' ')
		}
	}
	return b[:n]
}

func TestCodecRoundTrip(t *testing.T) {
	inputs := map[string][]byte{
		"empty": {},
		"small": []byte("hello, compacted world"),
		"1MiB":  testData(1<<20, 1),
	}
	for _, codec := range allCodecs {
		for name, in := range inputs {
			t.Run(codecNames[codec]+"/"+name, func(t *testing.T) {
				prefix := []byte("prefix")
				enc, err := Compress(codec, bytes.Clone(prefix), in)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasPrefix(enc, prefix) {
					t.Fatal("Compress did not append to dst")
				}
				enc = enc[len(prefix):]
				if codec != CodecNone && len(in) == 1<<20 && len(enc) >= len(in) {
					t.Errorf("1 MiB compressed to %d bytes", len(enc))
				}
				dec, err := Decompress(codec, enc)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(dec, in) {
					t.Fatalf("round trip: got %d bytes, want %d", len(dec), len(in))
				}
			})
		}
	}
}

func TestUnknownCodec(t *testing.T) {
	for _, c := range []int{-1, 5, 7} {
		if _, err := Compress(c, nil, []byte("x")); !errors.Is(err, ErrUnknownCodec) {
			t.Errorf("Compress(%d): %v", c, err)
		}
		if _, err := Decompress(c, []byte("x")); !errors.Is(err, ErrUnknownCodec) {
			t.Errorf("Decompress(%d): %v", c, err)
		}
	}
}

// xerialHeader is the 16-byte header snappy-java writes: magic, version
// 1, minimum compatible version 1.
var xerialHeader = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1}

func xerialFrame(blocks ...[]byte) []byte {
	b := bytes.Clone(xerialHeader)
	for _, blk := range blocks {
		b = binary.BigEndian.AppendUint32(b, uint32(len(blk)))
		b = append(b, blk...)
	}
	return b
}

// snappyLiteral is a hand-made raw snappy block holding s as one literal
// (s shorter than 61 bytes): the decoded length, then a literal tag.
func snappyLiteral(s string) []byte {
	b := binary.AppendUvarint(nil, uint64(len(s)))
	b = append(b, byte(len(s)-1)<<2)
	return append(b, s...)
}

func TestXerialSnappy(t *testing.T) {
	// Two blocks written by hand.
	fixture := []byte{
		0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, // magic
		0, 0, 0, 1, 0, 0, 0, 1, // version, compatible version
		0, 0, 0, 7, 5, 0x10, 'h', 'e', 'l', 'l', 'o', // "hello"
		0, 0, 0, 8, 6, 0x14, ' ', 'w', 'o', 'r', 'l', 'd', // " world"
	}
	got, err := Decompress(CodecSnappy, fixture)
	if err != nil || string(got) != "hello world" {
		t.Fatalf("hand-made xerial: %q, %v", got, err)
	}
	if !bytes.Equal(fixture, xerialFrame(snappyLiteral("hello"), snappyLiteral(" world"))) {
		t.Fatal("xerialFrame disagrees with the fixture")
	}

	// Larger data in 32 KiB blocks, as snappy-java writes it, each block
	// compressed by Compress (a raw snappy block).
	in := testData(200_000, 2)
	var blocks [][]byte
	for rest := in; len(rest) > 0; {
		n := min(len(rest), 32<<10)
		blk, err := Compress(CodecSnappy, nil, rest[:n])
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, blk)
		rest = rest[n:]
	}
	got, err = Decompress(CodecSnappy, xerialFrame(blocks...))
	if err != nil || !bytes.Equal(got, in) {
		t.Fatalf("multi-block xerial: %d bytes, %v", len(got), err)
	}

	// Header only: no data.
	if got, err := Decompress(CodecSnappy, xerialFrame()); err != nil || len(got) != 0 {
		t.Fatalf("empty xerial: %q, %v", got, err)
	}

	bad := map[string][]byte{
		"cut length":     append(xerialFrame(snappyLiteral("hello")), 0, 0),
		"block too long": append(bytes.Clone(xerialHeader), 0, 0, 0, 9, 5, 0x10, 'h'),
		"negative block": append(bytes.Clone(xerialHeader), 0xff, 0xff, 0xff, 0xff),
		"empty block":    append(bytes.Clone(xerialHeader), 0, 0, 0, 0),
		"corrupt block":  xerialFrame([]byte{5, 0x10, 'h', 'e'}),
	}
	for name, b := range bad {
		if _, err := Decompress(CodecSnappy, b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func TestDecompressMalformed(t *testing.T) {
	junk := []byte("this is not compressed data at all, not in any codec")
	for _, codec := range allCodecs[1:] {
		if _, err := Decompress(codec, junk); err == nil {
			t.Errorf("%s: junk decompressed", codecNames[codec])
		}
		enc, err := Compress(codec, nil, testData(10_000, 3))
		if err != nil {
			t.Fatal(err)
		}
		for _, cut := range []int{0, 1, len(enc) / 2, len(enc) - 1} {
			if _, err := Decompress(codec, enc[:cut]); err == nil {
				t.Errorf("%s: truncated to %d of %d bytes decompressed", codecNames[codec], cut, len(enc))
			}
		}
	}
}

// withLimit lowers the decompression limit for one test.
func withLimit(t *testing.T, n int) {
	old := decompressLimit
	decompressLimit = n
	t.Cleanup(func() { decompressLimit = old })
}

// TestDecompressLimit checks the bound on every codec, lowered to 1 MiB
// so that the test need not produce 64 MiB of output for each.
func TestDecompressLimit(t *testing.T) {
	const limit = 1 << 20
	withLimit(t, limit)
	zeros := make([]byte, limit+1)
	for _, codec := range allCodecs[1:] {
		enc, err := Compress(codec, nil, zeros[:limit])
		if err != nil {
			t.Fatal(err)
		}
		if out, err := Decompress(codec, enc); err != nil || len(out) != limit {
			t.Errorf("%s at the limit: %d bytes, %v", codecNames[codec], len(out), err)
		}
		if enc, err = Compress(codec, nil, zeros); err != nil {
			t.Fatal(err)
		}
		if _, err := Decompress(codec, enc); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: %d-byte bomb: %v, want ErrTooLarge", codecNames[codec], len(enc), err)
		}
	}

	// A zstd stream, which declares no content size.
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(zeros); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Decompress(CodecZstd, buf.Bytes()); !errors.Is(err, ErrTooLarge) {
		t.Errorf("zstd stream bomb: %v, want ErrTooLarge", err)
	}
	// gzip members, each under the limit and its ISIZE too.
	member, _ := Compress(CodecGzip, nil, zeros[:limit/4])
	if _, err := Decompress(CodecGzip, bytes.Repeat(member, 5)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("gzip members: %v, want ErrTooLarge", err)
	}
	if out, err := Decompress(CodecGzip, bytes.Repeat(member, 4)); err != nil || len(out) != limit {
		t.Errorf("gzip members at the limit: %d bytes, %v", len(out), err)
	}
	// xerial blocks, each under the limit.
	blk, _ := Compress(CodecSnappy, nil, zeros[:limit/2])
	if _, err := Decompress(CodecSnappy, xerialFrame(blk, blk, blk)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("xerial blocks: %v, want ErrTooLarge", err)
	}
	if out, err := Decompress(CodecSnappy, xerialFrame(blk, blk)); err != nil || len(out) != limit {
		t.Errorf("xerial blocks at the limit: %d bytes, %v", len(out), err)
	}
}

// TestDecompressBomb checks the real limit with bombs that are cheap to
// make or refused from their headers.
func TestDecompressBomb(t *testing.T) {
	// A zstd frame declaring more than the limit.
	enc, err := Compress(CodecZstd, nil, make([]byte, MaxDecompressedSize+1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decompress(CodecZstd, enc); !errors.Is(err, ErrTooLarge) {
		t.Errorf("zstd frame bomb: %v, want ErrTooLarge", err)
	}
	// A raw snappy block claiming 1 GiB: refused before allocating.
	claim := binary.AppendUvarint(nil, 1<<30)
	if _, err := Decompress(CodecSnappy, append(claim, 0x00)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("snappy claim: %v, want ErrTooLarge", err)
	}
	// Xerial blocks whose claims add up past the limit, each under it.
	blk := append(binary.AppendUvarint(nil, 40<<20), 0x00)
	if _, err := Decompress(CodecSnappy, xerialFrame(blk, blk)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("xerial claims: %v, want ErrTooLarge", err)
	}
	// A gzip trailer saying the last member alone is larger than the limit.
	gz, _ := Compress(CodecGzip, nil, []byte("small"))
	binary.LittleEndian.PutUint32(gz[len(gz)-4:], MaxDecompressedSize+1)
	if _, err := Decompress(CodecGzip, gz); !errors.Is(err, ErrTooLarge) {
		t.Errorf("gzip ISIZE: %v, want ErrTooLarge", err)
	}
}

// TestDecompressBombStream decompresses real streams up to the real limit:
// slow under the race detector, so not in short mode.
func TestDecompressBombStream(t *testing.T) {
	if testing.Short() {
		t.Skip("decompresses 64 MiB")
	}
	zeros := make([]byte, MaxDecompressedSize+1)
	// zstd without a declared size: only the decoder's own bound stops it.
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(zeros); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Decompress(CodecZstd, buf.Bytes()); !errors.Is(err, ErrTooLarge) {
		t.Errorf("zstd stream bomb: %v, want ErrTooLarge", err)
	}
	// lz4 frames do not declare their size either.
	enc, err := Compress(CodecLZ4, nil, zeros)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decompress(CodecLZ4, enc); !errors.Is(err, ErrTooLarge) {
		t.Errorf("lz4 bomb: %v, want ErrTooLarge", err)
	}
}
