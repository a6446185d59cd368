package sdk

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzSplitKeys checks the decoder of a Partition request's keys, which
// a plugin process gets from its host: any input is refused or split
// into keys that fit the data, and what joinKeys lays out splits back
// into the same keys, nil and empty ones kept apart.
func FuzzSplitKeys(f *testing.F) {
	f.Add([]byte("abc"), []byte{1, 0, 0, 0, 255, 255, 255, 255, 2, 0, 0, 0})
	f.Add([]byte{}, []byte{0, 0, 0, 0})
	f.Add([]byte("x"), []byte{5, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data, rawLengths []byte) {
		lengths := make([]int32, len(rawLengths)/4)
		for i := range lengths {
			lengths[i] = int32(binary.LittleEndian.Uint32(rawLengths[4*i:]))
		}
		keys, err := splitKeys(data, lengths)
		if err != nil {
			return
		}
		if len(keys) != len(lengths) {
			t.Fatalf("%d keys for %d lengths", len(keys), len(lengths))
		}
		for i, k := range keys {
			if (lengths[i] == -1) != (k == nil) || (k != nil && len(k) != int(lengths[i])) {
				t.Fatalf("key %d: %q for length %d", i, k, lengths[i])
			}
		}
		d2, l2 := joinKeys(keys)
		again, err := splitKeys(d2, l2)
		if err != nil || len(again) != len(keys) {
			t.Fatalf("round trip: %v", err)
		}
		for i := range keys {
			if (keys[i] == nil) != (again[i] == nil) || !bytes.Equal(keys[i], again[i]) {
				t.Fatalf("round trip key %d: %q became %q", i, keys[i], again[i])
			}
		}
	})
}
