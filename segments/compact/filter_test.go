package compact

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// absRecord is a record with its absolute offset and timestamp.
type absRecord struct {
	offset    int64
	timestamp int64
	key       string
	value     string
}

// decodeAbs decodes a batch produced by FilterBatch after checking its
// framing and CRC.
func decodeAbs(t *testing.T, b []byte) (header, []absRecord) {
	t.Helper()
	h := mustHeader(t, b)
	recs, err := ReadRecords(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	if int(h.recordCount) != len(recs) {
		t.Fatalf("recordCount %d, %d records", h.recordCount, len(recs))
	}
	var out []absRecord
	for _, r := range recs {
		a := absRecord{offset: h.baseOffset + int64(r.OffsetDelta), timestamp: h.baseTimestamp + r.TimestampDelta, key: string(r.Key), value: string(r.Value)}
		if r.Key == nil {
			a.key = nullStr
		}
		if r.Value == nil {
			a.value = nullStr
		}
		out = append(out, a)
	}
	return h, out
}

func TestFilterBatchKeepsLatest(t *testing.T) {
	recs := []Record{
		rec(0, "a", "a0"), rec(1, "b", "b1"), rec(2, "a", "a2"), rec(3, "c", "c3"),
		rec(4, "b", "b4"), rec(5, "d", "d5"), rec(6, "a", "a6"), rec(7, "e", "e7"),
	}
	recs[7].Headers = []Header{{Key: []byte("h"), Value: []byte("v")}}
	for _, codec := range allCodecs {
		t.Run(codecNames[codec], func(t *testing.T) {
			const base = 500
			in := newTestBatch(base, codec, recs...)
			in.lastOffsetDelta = 9 // trailing offsets removed by an earlier pass
			batch := in.build(t)
			inHdr := mustHeader(t, batch)

			m := NewOffsetMap(100)
			if last, full, err := m.AddBatch(batch); err != nil || full || last != base+9 {
				t.Fatalf("AddBatch: %d %v %v", last, full, err)
			}
			// A later batch holds a newer "e", which removes this one.
			m.Add([]byte("e"), base+20)

			p := &Policy{Map: m}
			out, kept, changed, err := p.FilterBatch([]byte("dst"), batch, false)
			if err != nil {
				t.Fatal(err)
			}
			if !changed || kept != 4 || string(out[:3]) != "dst" {
				t.Fatalf("kept %d, changed %v, prefix %q", kept, changed, out[:3])
			}
			h, got := decodeAbs(t, out[3:])
			want := []absRecord{
				{base + 3, in.baseTimestamp + 30, "c", "c3"},
				{base + 4, in.baseTimestamp + 40, "b", "b4"},
				{base + 5, in.baseTimestamp + 50, "d", "d5"},
				{base + 6, in.baseTimestamp + 60, "a", "a6"},
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("kept %v, want %v", got, want)
			}
			// Everything but the count, length, maxTimestamp and CRC is kept.
			wantHdr := inHdr
			wantHdr.batchLength, wantHdr.crc = h.batchLength, h.crc
			wantHdr.recordCount = 4
			wantHdr.maxTimestamp = in.baseTimestamp + 60
			if h != wantHdr {
				t.Errorf("header %+v\nwant   %+v", h, wantHdr)
			}
			if h.attrs&attrCodecMask != int16(codec) {
				t.Errorf("codec %d, want %d", h.attrs&attrCodecMask, codec)
			}
			if inHdr.maxTimestamp != in.baseTimestamp+70 {
				t.Fatalf("input maxTimestamp %d", inHdr.maxTimestamp)
			}

			// Filtering the output again changes nothing and copies it.
			again, kept2, changed2, err := p.FilterBatch(nil, out[3:], false)
			if err != nil || changed2 || kept2 != 4 || !bytes.Equal(again, out[3:]) {
				t.Errorf("second filter: kept %d, changed %v, equal %v, %v", kept2, changed2, bytes.Equal(again, out[3:]), err)
			}
		})
	}
}

func TestFilterBatchUnchangedIsVerbatim(t *testing.T) {
	for _, codec := range allCodecs {
		batch := newTestBatch(10, codec, rec(0, "a", "1"), rec(1, "b", "2"), rec(2, "c", nullStr)).build(t)
		m := NewOffsetMap(10)
		m.Add([]byte("a"), 10) // the record itself
		m.Add([]byte("b"), 3)  // older than the record
		for _, p := range []*Policy{{Map: m}, {}, {Map: m, TombstoneHorizon: 1}} {
			out, kept, changed, err := p.FilterBatch([]byte{1, 2}, batch, false)
			if err != nil || changed || kept != 3 || !bytes.Equal(out, append([]byte{1, 2}, batch...)) {
				t.Errorf("%s: kept %d, changed %v, %v", codecNames[codec], kept, changed, err)
			}
		}
	}
}

func TestFilterBatchTombstones(t *testing.T) {
	// Timestamps: baseTimestamp + 10*offsetDelta.
	recs := []Record{rec(0, "a", nullStr), rec(1, "b", "live"), rec(2, "c", nullStr), rec(3, "d", nullStr)}
	for _, codec := range allCodecs {
		tb := newTestBatch(0, codec, recs...)
		batch := tb.build(t)
		base := tb.baseTimestamp
		for _, tc := range []struct {
			horizon int64
			keys    string
		}{
			{0, "abcd"},
			{base, "abcd"},      // nothing older than the horizon
			{base + 1, "bcd"},   // a (ts base) is older
			{base + 20, "bcd"},  // c (ts base+20) is not older
			{base + 21, "bd"},   // c is
			{base + 1000, "b"},  // all tombstones gone, live value stays
			{-1 << 62, "abcd"},  // a horizon in the far past
			{1<<63 - 1, "b"},    // and the far future
			{base + 31, "b"},    // d at base+30
			{base + 30, "bd"},   // not older than itself
			{base + 11, "bcd"},  // b is not a tombstone, c and d newer
			{base + 10, "bcd"},  // a dropped only
			{base + 0, "abcd"},  // same as base
			{base - 10, "abcd"}, // before everything
		} {
			p := &Policy{TombstoneHorizon: tc.horizon}
			out, kept, _, err := p.FilterBatch(nil, batch, false)
			if err != nil {
				t.Fatal(err)
			}
			_, got := decodeAbs(t, out)
			keys := ""
			for _, r := range got {
				keys += r.key
			}
			if keys != tc.keys || kept != len(tc.keys) {
				t.Errorf("%s horizon %d: kept %q (%d), want %q", codecNames[codec], tc.horizon-base, keys, kept, tc.keys)
			}
		}
	}
}

func TestFilterBatchLogAppendTime(t *testing.T) {
	tb := newTestBatch(0, CodecNone, rec(0, "a", nullStr), rec(1, "b", "x"), rec(2, "a", "y"))
	tb.attrs |= attrLogAppendTime
	tb.maxTimestamp = 5_000
	batch := tb.build(t)
	m := NewOffsetMap(4)
	m.Add([]byte("b"), 9)
	// Under LogAppendTime the records' timestamp is maxTimestamp (5000),
	// whatever their deltas say.
	p := &Policy{Map: m, TombstoneHorizon: 5_001}
	out, kept, _, err := p.FilterBatch(nil, batch, false)
	if err != nil || kept != 1 {
		t.Fatalf("kept %d, %v", kept, err)
	}
	h, got := decodeAbs(t, out)
	if h.maxTimestamp != 5_000 || got[0].key != "a" || got[0].value != "y" {
		t.Errorf("maxTimestamp %d, kept %v", h.maxTimestamp, got)
	}
	p.TombstoneHorizon = 5_000
	if _, kept, _, _ := p.FilterBatch(nil, batch, false); kept != 2 {
		t.Errorf("tombstone at the horizon: kept %d, want 2", kept)
	}
}

func TestFilterBatchAllRemoved(t *testing.T) {
	for _, codec := range allCodecs {
		tb := newTestBatch(100, codec, rec(0, "a", "1"), rec(1, nullStr, "no key"), rec(2, "a", "2"))
		tb.lastOffsetDelta = 4
		tb.attrs |= attrDeleteHorizon | 0x10 // transactional, too
		batch := tb.build(t)
		in := mustHeader(t, batch)
		m := NewOffsetMap(4)
		m.Add([]byte("a"), 200)
		p := &Policy{Map: m}

		out, kept, changed, err := p.FilterBatch([]byte("x"), batch, false)
		if err != nil || kept != 0 || !changed || string(out) != "x" {
			t.Errorf("%s without keepEmpty: %q, kept %d, changed %v, %v", codecNames[codec], out, kept, changed, err)
		}

		out, kept, changed, err = p.FilterBatch(nil, batch, true)
		if err != nil || kept != 0 || !changed {
			t.Fatalf("%s keepEmpty: kept %d, changed %v, %v", codecNames[codec], kept, changed, err)
		}
		h := mustHeader(t, out)
		want := in
		want.batchLength, want.crc = 49, h.crc
		want.recordCount = 0
		want.attrs = 0x10 // codec and delete horizon cleared
		want.baseTimestamp = in.maxTimestamp
		if h != want || len(out) != 61 {
			t.Errorf("%s empty batch %+v\nwant %+v", codecNames[codec], h, want)
		}
		if recs, err := ReadRecords(nil, out); err != nil || len(recs) != 0 {
			t.Errorf("%s empty batch reads %d records, %v", codecNames[codec], len(recs), err)
		}

		// An empty batch stays as it is with keepEmpty and goes without.
		again, kept, changed, err := p.FilterBatch(nil, out, true)
		if err != nil || kept != 0 || changed || !bytes.Equal(again, out) {
			t.Errorf("%s refilter empty, keepEmpty: changed %v, %v", codecNames[codec], changed, err)
		}
		again, _, changed, err = p.FilterBatch(nil, out, false)
		if err != nil || !changed || len(again) != 0 {
			t.Errorf("%s refilter empty: %d bytes, changed %v, %v", codecNames[codec], len(again), changed, err)
		}
	}
}

func TestFilterBatchControl(t *testing.T) {
	// A commit marker: key version 0, type 1.
	tb := newTestBatch(7, CodecNone, Record{Key: []byte{0, 0, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 0}})
	tb.attrs |= attrControl | 0x10
	batch := tb.build(t)
	m := NewOffsetMap(4)
	m.Add([]byte{0, 0, 0, 1}, 1000)
	p := &Policy{Map: m, TombstoneHorizon: 1 << 62}
	out, kept, changed, err := p.FilterBatch(nil, batch, false)
	if err != nil || changed || kept != 1 || !bytes.Equal(out, batch) {
		t.Errorf("control batch: kept %d, changed %v, %v", kept, changed, err)
	}
	if _, full, err := m.AddBatch(batch); err != nil || full || m.Len() != 1 {
		t.Errorf("AddBatch of a control batch: full %v, len %d, %v", full, m.Len(), err)
	}
}

func TestFilterBatchErrors(t *testing.T) {
	batch := newTestBatch(0, CodecGzip, rec(0, "a", "1"), rec(1, "a", "2")).build(t)
	batch[len(batch)-3] ^= 0xff
	p := &Policy{}
	out, _, _, err := p.FilterBatch([]byte("keep"), batch, true)
	if !errors.Is(err, ErrCRCMismatch) || string(out) != "keep" {
		t.Errorf("corrupt batch: %q, %v", out, err)
	}
	fixCRC(batch) // now the gzip data itself is damaged
	out, _, _, err = p.FilterBatch([]byte("keep"), batch, true)
	if err == nil || string(out) != "keep" {
		t.Errorf("damaged gzip: %q, %v", out, err)
	}
}

func TestHasNullKey(t *testing.T) {
	for _, codec := range allCodecs {
		keyed := newTestBatch(0, codec, rec(0, "a", "1"), rec(1, "", nullStr)).build(t)
		if has, err := HasNullKey(keyed); has || err != nil {
			t.Errorf("%s keyed: %v, %v", codecNames[codec], has, err)
		}
		null := newTestBatch(0, codec, rec(0, "a", "1"), rec(1, nullStr, "v")).build(t)
		if has, err := HasNullKey(null); !has || err != nil {
			t.Errorf("%s null key: %v, %v", codecNames[codec], has, err)
		}
	}
	if _, err := HasNullKey([]byte("short")); !errors.Is(err, ErrMalformed) {
		t.Errorf("short: %v", err)
	}
}

func TestOffsetMap(t *testing.T) {
	m := NewOffsetMap(3)
	if _, ok := m.Get([]byte("a")); ok || m.Len() != 0 || m.Capacity() != 3 {
		t.Fatal("new map not empty")
	}
	for i, k := range []string{"a", "b", "c"} {
		if !m.Add([]byte(k), int64(i)) {
			t.Fatalf("Add %s failed", k)
		}
	}
	if m.Add([]byte("d"), 9) || m.Len() != 3 {
		t.Fatal("Add past capacity succeeded")
	}
	if _, ok := m.Get([]byte("d")); ok {
		t.Fatal("refused key is present")
	}
	// A full map still updates the keys it has.
	if !m.Add([]byte("b"), 10) {
		t.Fatal("update of a present key refused when full")
	}
	m.Add([]byte("c"), 1) // older: ignored
	for k, want := range map[string]int64{"a": 0, "b": 10, "c": 2} {
		if got, ok := m.Get([]byte(k)); !ok || got != want {
			t.Errorf("Get(%s) = %d, %v; want %d", k, got, ok, want)
		}
	}
	// The empty key is a key like any other.
	m.Reset()
	if m.Len() != 0 || !m.Add([]byte{}, 5) || !m.Add(nil, 6) {
		t.Fatal("Reset or empty key")
	}
	if got, ok := m.Get([]byte{}); !ok || got != 6 || m.Len() != 1 {
		t.Errorf("empty key: %d, %v, len %d", got, ok, m.Len())
	}
	if NewOffsetMap(0).Capacity() != 1 {
		t.Error("capacity 0 not raised to 1")
	}
}

func TestOffsetMapMany(t *testing.T) {
	const n = 100_000
	m := NewOffsetMap(n)
	for i := range n {
		if !m.Add(fmt.Appendf(nil, "key-%d", i), int64(i)) {
			t.Fatalf("Add %d refused", i)
		}
	}
	if m.Add([]byte("one more"), 0) {
		t.Fatal("Add past capacity succeeded")
	}
	for i := range n {
		if got, ok := m.Get(fmt.Appendf(nil, "key-%d", i)); !ok || got != int64(i) {
			t.Fatalf("Get %d = %d, %v", i, got, ok)
		}
		if _, ok := m.Get(fmt.Appendf(nil, "absent-%d", i)); ok {
			t.Fatalf("absent key %d found", i)
		}
	}
}

func TestAddBatch(t *testing.T) {
	recs := []Record{rec(0, "a", "1"), rec(1, nullStr, "x"), rec(2, "b", "2"), rec(4, "a", nullStr), rec(5, "c", "3"), rec(6, "d", "4")}
	for _, codec := range allCodecs {
		batch := newTestBatch(1000, codec, recs...).build(t)
		m := NewOffsetMap(10)
		last, full, err := m.AddBatch(batch)
		if err != nil || full || last != 1006 || m.Len() != 4 {
			t.Fatalf("%s: last %d, full %v, len %d, %v", codecNames[codec], last, full, m.Len(), err)
		}
		for k, want := range map[string]int64{"a": 1004, "b": 1002, "c": 1005, "d": 1006} {
			if got, ok := m.Get([]byte(k)); !ok || got != want {
				t.Errorf("%s: Get(%s) = %d, %v; want %d", codecNames[codec], k, got, ok, want)
			}
		}

		// Capacity 2: a and b fit, c does not. The next pass starts at c.
		m = NewOffsetMap(2)
		last, full, err = m.AddBatch(batch)
		if err != nil || !full || last != 1004 || m.Len() != 2 {
			t.Fatalf("%s small: last %d, full %v, len %d, %v", codecNames[codec], last, full, m.Len(), err)
		}
		if got, _ := m.Get([]byte("a")); got != 1004 {
			t.Errorf("%s small: a at %d, want 1004", codecNames[codec], got)
		}
		m.Reset()
		last, full, err = m.AddBatchFrom(batch, last+1)
		if err != nil || full || last != 1006 || m.Len() != 2 {
			t.Fatalf("%s second pass: last %d, full %v, len %d, %v", codecNames[codec], last, full, m.Len(), err)
		}
		if _, ok := m.Get([]byte("a")); ok {
			t.Errorf("%s second pass added a record before from", codecNames[codec])
		}

		// A malformed batch adds nothing.
		bad := bytes.Clone(batch)
		bad[posRecordCount+3]++
		fixCRC(bad)
		m = NewOffsetMap(10)
		if _, _, err := m.AddBatch(bad); err == nil || m.Len() != 0 {
			t.Errorf("%s malformed: len %d, %v", codecNames[codec], m.Len(), err)
		}
	}
}
