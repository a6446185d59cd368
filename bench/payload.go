package bench

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

const (
	// keyBytes is the size of every key: 8 decimal digits, readable in
	// kcat and wide enough for maxKeys distinct values.
	keyBytes = 8
	// stampBytes is the size of the send time an e2e producer writes at
	// the start of each value.
	stampBytes = 8
	// recordOverhead bounds the framing of one record in a batch (the
	// batch header plus a record's varints), for the does-it-fit check.
	recordOverhead = 128
)

// Pool size bounds. See newPayload.
const (
	minPoolBytes = 16 << 20
	maxPoolBytes = 256 << 20
)

// payload hands out record values cut from one pool of random bytes made
// before the run, so the hot path never generates data. Values are
// incompressible only if no batch holds the same bytes twice, so the pool
// is cut into non-overlapping slots and is larger than what a batch can
// span: record i takes slot i mod slots, and consecutive records of a
// partition's batch come from distinct slots as long as a batch of every
// partition fits in the pool.
type payload struct {
	pool  []byte
	size  int // bytes per value
	slots int
}

// newPayload returns values of size bytes for batches of batchBytes spread
// over partitions.
func newPayload(size int, batchBytes int32, partitions int32) *payload {
	want := 2 * int64(batchBytes) * int64(max(partitions, 1))
	want = min(max(want, minPoolBytes), maxPoolBytes)
	slots := 1
	if size > 0 {
		slots = max(int(want)/size, 2)
	}
	pool := make([]byte, slots*size)
	rand.Read(pool) // never fails (crypto/rand, Go 1.24+)
	return &payload{pool: pool, size: size, slots: slots}
}

// value returns the value of record i. It aliases the pool, which nobody
// writes after newPayload, so it stays valid for the whole run; the capacity
// is cut so an append cannot spill into the next slot.
func (p *payload) value(i int64) []byte {
	off := int(i%int64(p.slots)) * p.size
	return p.pool[off : off+p.size : off+p.size]
}

// stampedValue returns a fresh copy of record i's value that begins with
// sent, for e2e: the consumer reads it back to compute the latency. The
// copy is needed because every record's stamp differs.
func (p *payload) stampedValue(i int64, sent time.Time) []byte {
	v := make([]byte, p.size)
	copy(v, p.value(i))
	putStamp(v, sent)
	return v
}

// putStamp writes t as big-endian Unix nanoseconds into v[:8]. Wall-clock
// time, not the monotonic clock, so that any consumer can read it; e2e runs
// producers and consumers in one process, so both read the same clock.
func putStamp(v []byte, t time.Time) {
	binary.BigEndian.PutUint64(v, uint64(t.UnixNano()))
}

// readStamp returns the send time at the start of v, and false if v is too
// short to hold one.
func readStamp(v []byte) (time.Time, bool) {
	if len(v) < stampBytes {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(v))), true
}

// putKey writes n as keyBytes zero-padded decimal digits into k.
func putKey(k *[keyBytes]byte, n int) {
	for i := keyBytes - 1; i >= 0; i-- {
		k[i] = byte('0' + n%10)
		n /= 10
	}
}
