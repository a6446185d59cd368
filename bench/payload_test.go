package bench

import (
	"bytes"
	"compress/flate"
	"testing"
	"time"
)

func TestPayloadSlots(t *testing.T) {
	p := newPayload(1000, 1<<20, 1)
	if len(p.pool) < minPoolBytes-1000 || p.slots != len(p.pool)/1000 {
		t.Fatalf("pool of %d bytes in %d slots", len(p.pool), p.slots)
	}
	a, b := p.value(0), p.value(1)
	if len(a) != 1000 || cap(a) != 1000 || bytes.Equal(a, b) {
		t.Fatal("consecutive values are not distinct slots of the record size")
	}
	if !bytes.Equal(p.value(0), p.value(int64(p.slots))) {
		t.Fatal("values do not cycle through the pool")
	}
	// Enough partitions' batches grow the pool, up to its bound.
	if big := newPayload(1000, 4<<20, 64); len(big.pool) < maxPoolBytes-1000 {
		t.Fatalf("pool of %d bytes for 64 partitions of 4 MiB batches", len(big.pool))
	}
	if empty := newPayload(0, 1<<20, 1); len(empty.value(5)) != 0 {
		t.Fatal("zero-size values are not empty")
	}
}

// TestPayloadIncompressible: a batch's worth of consecutive values does not
// shrink under compression.
func TestPayloadIncompressible(t *testing.T) {
	p := newPayload(1024, 1<<20, 1)
	var batch bytes.Buffer
	for i := range int64(1024) {
		batch.Write(p.value(i))
	}
	var out bytes.Buffer
	w, _ := flate.NewWriter(&out, flate.BestCompression)
	w.Write(batch.Bytes())
	w.Close()
	if out.Len() < batch.Len()*99/100 {
		t.Fatalf("1 MiB of values compressed to %d bytes", out.Len())
	}
}

func TestStampRoundTrip(t *testing.T) {
	now := time.Now()
	v := newPayload(32, 1<<20, 1).stampedValue(3, now)
	got, ok := readStamp(v)
	if !ok || !got.Equal(time.Unix(0, now.UnixNano())) || len(v) != 32 {
		t.Fatalf("stamp %v, %t", got, ok)
	}
	if _, ok := readStamp([]byte{1, 2, 3}); ok {
		t.Fatal("a short value has a stamp")
	}
}

func TestPutKey(t *testing.T) {
	var k [keyBytes]byte
	for n, want := range map[int]string{0: "00000000", 42: "00000042", maxKeys - 1: "99999999"} {
		putKey(&k, n)
		if string(k[:]) != want {
			t.Errorf("putKey(%d) = %q", n, k)
		}
	}
}
