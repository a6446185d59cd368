package compact

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

func sampleRecords() []Record {
	return []Record{
		{OffsetDelta: 0, TimestampDelta: 0, Key: []byte("k1"), Value: []byte("v1")},
		{OffsetDelta: 1, TimestampDelta: -5, Key: nil, Value: []byte("no key")},
		{OffsetDelta: 2, TimestampDelta: 1 << 40, Key: []byte("k2"), Value: nil},
		{OffsetDelta: 3, Key: []byte{}, Value: []byte{}, Attributes: 0x7f},
		{OffsetDelta: 7, Key: []byte("k3"), Value: bytes.Repeat([]byte("x"), 300), Headers: []Header{
			{Key: []byte("h1"), Value: []byte("hv1")},
			{Key: []byte(""), Value: nil},
			{Key: []byte("h3"), Value: []byte{}},
		}},
		{OffsetDelta: 8, Key: []byte("k4"), Value: []byte("v4"), Headers: []Header{{Key: []byte("only"), Value: []byte("one")}}},
	}
}

// sameRecord compares records, telling null from empty.
func sameRecord(a, b Record) bool {
	nullEq := func(x, y []byte) bool { return (x == nil) == (y == nil) && bytes.Equal(x, y) }
	if a.Attributes != b.Attributes || a.TimestampDelta != b.TimestampDelta || a.OffsetDelta != b.OffsetDelta ||
		!nullEq(a.Key, b.Key) || !nullEq(a.Value, b.Value) || len(a.Headers) != len(b.Headers) {
		return false
	}
	for i := range a.Headers {
		if !bytes.Equal(a.Headers[i].Key, b.Headers[i].Key) || !nullEq(a.Headers[i].Value, b.Headers[i].Value) {
			return false
		}
	}
	return true
}

func TestRecordsRoundTrip(t *testing.T) {
	want := sampleRecords()
	for _, codec := range allCodecs {
		t.Run(codecNames[codec], func(t *testing.T) {
			batch := newTestBatch(1000, codec, want...).build(t)
			mustHeader(t, batch)
			prior := []Record{{Key: []byte("already here")}}
			got, err := ReadRecords(prior, batch)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want)+1 || string(got[0].Key) != "already here" {
				t.Fatalf("got %d records, want %d appended to the one given", len(got), len(want))
			}
			for i, r := range got[1:] {
				if !sameRecord(r, want[i]) {
					t.Errorf("record %d: got %+v, want %+v", i, r, want[i])
				}
			}
			// Re-encoding gives the same bytes.
			var raw []byte
			for i := range got[1:] {
				raw = AppendRecord(raw, &got[1+i])
			}
			dec, err := Decompress(codec, batch[headerSize:])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(raw, dec) {
				t.Error("re-encoded records differ from the batch's")
			}
		})
	}
}

func TestAppendRecordSize(t *testing.T) {
	for _, r := range sampleRecords() {
		b := AppendRecord(nil, &r)
		l, n := binary.Varint(b)
		if n <= 0 || int(l) != len(b)-n || int(l) != recordBodySize(&r) {
			t.Errorf("length prefix %d, body %d bytes, recordBodySize %d", l, len(b)-n, recordBodySize(&r))
		}
	}
	for _, x := range []int64{0, 1, -1, 63, 64, -64, -65, 1 << 20, -1 << 40, 1<<63 - 1, -1 << 63} {
		if got, want := varintSize(x), len(binary.AppendVarint(nil, x)); got != want {
			t.Errorf("varintSize(%d) = %d, want %d", x, got, want)
		}
	}
}

func TestReadRecordsEmptyBatch(t *testing.T) {
	for _, codec := range allCodecs {
		tb := newTestBatch(5, codec)
		tb.lastOffsetDelta = 3
		b := tb.build(t)
		got, err := ReadRecords(nil, b)
		if err != nil || len(got) != 0 {
			t.Errorf("%s: %d records, %v", codecNames[codec], len(got), err)
		}
	}
	// A compressed codec with no data at all and no records is fine too.
	tb := newTestBatch(5, CodecNone)
	tb.attrs = CodecZstd
	b := tb.build(t)[:headerSize]
	binary.BigEndian.PutUint16(b[posAttributes:], CodecZstd)
	finishBatch(b, 0)
	if got, err := ReadRecords(nil, b); err != nil || len(got) != 0 {
		t.Errorf("codec without data: %d records, %v", len(got), err)
	}
}

// rawBatch builds an uncompressed batch around raw record bytes.
func rawBatch(count, lastOffsetDelta int32, raw []byte) []byte {
	b := make([]byte, headerSize, headerSize+len(raw))
	b[posMagic] = 2
	binary.BigEndian.PutUint32(b[posLastOffsetDelta:], uint32(lastOffsetDelta))
	binary.BigEndian.PutUint32(b[posRecordCount:], uint32(count))
	b = append(b, raw...)
	finishBatch(b, 0)
	return b
}

func TestReadRecordsMalformed(t *testing.T) {
	good := newTestBatch(0, CodecNone, rec(0, "a", "1"), rec(1, "b", "2")).build(t)
	one := AppendRecord(nil, &Record{Key: []byte("k"), Value: []byte("v")})
	// body builds a record from its body bytes.
	body := func(b ...byte) []byte { return append(binary.AppendVarint(nil, int64(len(b))), b...) }
	v := func(x int64) []byte { return binary.AppendVarint(nil, x) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

	cases := map[string][]byte{
		"short":           good[:60],
		"trailing byte":   append(bytes.Clone(good), 0),
		"bad magic":       func() []byte { b := bytes.Clone(good); b[posMagic] = 1; return b }(),
		"count too high":  rawBatch(2, 1, one),
		"count too low":   rawBatch(1, 5, append(bytes.Clone(one), one...)),
		"count negative":  rawBatch(-1, 0, nil),
		"count over lod":  rawBatch(3, 1, nil),
		"negative lod":    rawBatch(0, -1, nil),
		"bad length":      rawBatch(1, 0, []byte{0x7f}),
		"negative length": rawBatch(1, 0, []byte{0x01}),
		"empty record":    rawBatch(1, 0, []byte{0x00}),
		"length overflow": rawBatch(1, 0, bytes.Repeat([]byte{0xff}, 11)),
		"cut varint":      rawBatch(1, 0, body(0, 0x80)),
		"offset over lod": rawBatch(1, 0, body(cat([]byte{0, 0}, v(1), v(-1), v(-1), v(0))...)),
		"offset negative": rawBatch(1, 3, body(cat([]byte{0, 0}, v(-1), v(-1), v(-1), v(0))...)),
		"offsets not increasing": rawBatch(2, 3, cat(
			body(cat([]byte{0, 0}, v(1), v(-1), v(-1), v(0))...),
			body(cat([]byte{0, 0}, v(1), v(-1), v(-1), v(0))...))),
		"key too long":        rawBatch(1, 0, body(cat([]byte{0, 0}, v(0), v(5), []byte("ab"))...)),
		"key -2":              rawBatch(1, 0, body(cat([]byte{0, 0}, v(0), v(-2), v(-1), v(0))...)),
		"value too long":      rawBatch(1, 0, body(cat([]byte{0, 0}, v(0), v(-1), v(9), []byte("ab"))...)),
		"no header count":     rawBatch(1, 0, body(cat([]byte{0, 0}, v(0), v(-1), v(-1))...)),
		"negative headers":    rawBatch(1, 0, body(cat([]byte{0, 0}, v(0), v(-1), v(-1), v(-1))...)),
		"too many headers":    rawBatch(1, 0, body(cat([]byte{0, 0}, v(0), v(-1), v(-1), v(1000))...)),
		"null header key":     rawBatch(1, 0, body(cat([]byte{0, 0}, v(0), v(-1), v(-1), v(1), v(-1), v(-1))...)),
		"header value cut":    rawBatch(1, 0, body(cat([]byte{0, 0}, v(0), v(-1), v(-1), v(1), v(0), v(4), []byte("ab"))...)),
		"stray bytes in body": rawBatch(1, 0, body(cat([]byte{0, 0}, v(0), v(-1), v(-1), v(0), []byte{1})...)),
		"bad gzip data": func() []byte {
			b := rawBatch(1, 0, []byte("garbage"))
			b[posAttributes+1] = CodecGzip
			finishBatch(b, 0)
			return b
		}(),
	}
	for name, b := range cases {
		got, err := ReadRecords([]Record{{}}, b)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
		if len(got) != 1 {
			t.Errorf("%s: dst changed to %d records", name, len(got))
		}
	}

	crc := bytes.Clone(good)
	crc[len(crc)-1] ^= 1
	if _, err := ReadRecords(nil, crc); !errors.Is(err, ErrCRCMismatch) {
		t.Errorf("flipped bit: %v, want ErrCRCMismatch", err)
	}
	codec := rawBatch(0, 0, nil)
	codec[posAttributes+1] = 5
	finishBatch(codec, 0)
	if _, err := ReadRecords(nil, codec); !errors.Is(err, ErrUnknownCodec) {
		t.Errorf("codec 5: %v, want ErrUnknownCodec", err)
	}
}

func TestReadRecordsCapsSlices(t *testing.T) {
	b := newTestBatch(0, CodecNone, rec(0, "ab", "cd"), rec(1, "ef", "gh")).build(t)
	recs, err := ReadRecords(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	before := bytes.Clone(b)
	_ = append(recs[0].Key, 'X')
	_ = append(recs[0].Value, 'X')
	if !reflect.DeepEqual(before, b) {
		t.Fatal("appending to a returned key wrote into the batch")
	}
}
