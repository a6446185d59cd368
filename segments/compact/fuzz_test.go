package compact

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func fuzzSeeds(f *testing.F) [][]byte {
	f.Helper()
	recs := sampleRecords()
	var seeds [][]byte
	for _, codec := range allCodecs {
		seeds = append(seeds, newTestBatch(0, codec, recs...).build(f))
		seeds = append(seeds, newTestBatch(1<<40, codec, rec(0, "a", "1"), rec(1, "a", nullStr), rec(3, "b", "2")).build(f))
	}
	ctl := newTestBatch(9, CodecNone, Record{Key: []byte{0, 0, 0, 0}, Value: []byte{0, 0, 0, 0, 0, 0}})
	ctl.attrs |= attrControl
	seeds = append(seeds, ctl.build(f), rawBatch(0, 5, nil), []byte{})
	return seeds
}

func FuzzReadRecords(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		batch := bytes.Clone(data)
		fixCRC(batch)
		recs, err := ReadRecords(nil, batch)
		hasNull, nullErr := HasNullKey(batch)
		if err != nil {
			if nullErr == nil && !hasNull {
				t.Fatalf("ReadRecords failed (%v) but HasNullKey checked the whole batch", err)
			}
			return
		}
		if nullErr != nil {
			t.Fatalf("ReadRecords succeeded, HasNullKey failed: %v", nullErr)
		}
		anyNull := false
		var raw []byte
		for i := range recs {
			anyNull = anyNull || recs[i].Key == nil
			raw = AppendRecord(raw, &recs[i])
		}
		if anyNull != hasNull {
			t.Fatalf("HasNullKey %v, records say %v", hasNull, anyNull)
		}
		// Re-encoded records, uncompressed under the same header, decode
		// to the same records.
		again := append(bytes.Clone(batch[:headerSize]), raw...)
		binary.BigEndian.PutUint16(again[posAttributes:], binary.BigEndian.Uint16(again[posAttributes:])&^attrCodecMask)
		finishBatch(again, 0)
		recs2, err := ReadRecords(nil, again)
		if err != nil {
			t.Fatalf("re-encoded batch: %v", err)
		}
		if len(recs2) != len(recs) {
			t.Fatalf("re-encoded: %d records, want %d", len(recs2), len(recs))
		}
		for i := range recs {
			if !sameRecord(recs[i], recs2[i]) {
				t.Fatalf("record %d: %+v re-decoded as %+v", i, recs[i], recs2[i])
			}
		}
	})
}

func FuzzFilterBatch(f *testing.F) {
	for i, s := range fuzzSeeds(f) {
		f.Add(s, []byte("a,b"), int64(1_700_000_000_010), i%2 == 0, uint8(i))
	}
	f.Fuzz(func(t *testing.T, data, keys []byte, horizon int64, keepEmpty bool, capacity uint8) {
		batch := bytes.Clone(data)
		fixCRC(batch)
		m := NewOffsetMap(int(capacity%16) + 1)
		_, _, _ = m.AddBatch(batch)
		base := int64(0)
		if len(batch) >= 8 {
			base = int64(binary.BigEndian.Uint64(batch))
		}
		for i, k := range bytes.Split(keys, []byte(",")) {
			m.Add(k, base+int64(i))
		}
		p := &Policy{Map: m, TombstoneHorizon: horizon}
		out, kept, changed, err := p.FilterBatch([]byte("pre"), batch, keepEmpty)
		if string(out[:3]) != "pre" {
			t.Fatal("dst prefix clobbered")
		}
		out = out[3:]
		if err != nil {
			if len(out) != 0 {
				t.Fatalf("error %v with %d bytes appended", err, len(out))
			}
			return
		}
		if !changed && !bytes.Equal(out, batch) {
			t.Fatal("unchanged but not a verbatim copy")
		}
		if len(out) == 0 {
			if kept != 0 || keepEmpty && !changed {
				t.Fatalf("nothing appended, kept %d, keepEmpty %v, changed %v", kept, keepEmpty, changed)
			}
			return
		}
		in := mustHeader(t, batch)
		h := mustHeader(t, out)
		if h.baseOffset != in.baseOffset || h.lastOffsetDelta != in.lastOffsetDelta ||
			h.producerID != in.producerID || h.baseSequence != in.baseSequence || h.leaderEpoch != in.leaderEpoch {
			t.Fatalf("header changed: %+v from %+v", h, in)
		}
		if in.attrs&attrControl != 0 {
			// Copied without decoding its records.
			if changed || !bytes.Equal(out, batch) || kept != int(in.recordCount) {
				t.Fatalf("control batch: changed %v, kept %d", changed, kept)
			}
			return
		}
		recs, err := ReadRecords(nil, out)
		if err != nil {
			t.Fatalf("output does not decode: %v", err)
		}
		if len(recs) != kept || int(h.recordCount) != kept {
			t.Fatalf("kept %d, recordCount %d, %d records", kept, h.recordCount, len(recs))
		}
		if kept > 0 && h.attrs != in.attrs {
			t.Fatalf("attributes %x from %x", h.attrs, in.attrs)
		}
		info := batchInfo{baseOffset: h.baseOffset, attrs: h.attrs, baseTimestamp: h.baseTimestamp, maxTimestamp: h.maxTimestamp}
		for _, r := range recs {
			rv := recordView{key: r.Key, value: r.Value, offsetDelta: r.OffsetDelta, timestampDelta: r.TimestampDelta}
			if !p.keep(&info, &rv) {
				t.Fatalf("kept a record the policy drops: %+v", r)
			}
		}
		if has, err := HasNullKey(out); has || err != nil {
			t.Fatalf("output HasNullKey %v, %v", has, err)
		}
	})
}
