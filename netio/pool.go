package netio

import (
	"math/bits"
	"sync"
)

// Request frames are copied out of gnet's buffers into pooled buffers of
// power-of-two size classes from 512 B to 16 MiB: a producer's request
// carries up to a 1 MiB batch per partition, so several MiB are common,
// and allocating them afresh costs zeroing and, on a fresh VM, first-touch
// page faults. Larger frames are allocated and left to the garbage
// collector, so one huge request never pins a huge buffer in a pool.
const (
	minClassShift = 9  // 512 B
	maxClassShift = 24 // 16 MiB
)

var framePools [maxClassShift - minClassShift + 1]sync.Pool

func classOf(n int) int {
	if n <= 1<<minClassShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minClassShift
}

// getBuf returns a buffer of length n. Release it with putBuf.
func getBuf(n int) []byte {
	c := classOf(n)
	if c >= len(framePools) {
		return make([]byte, n)
	}
	if v := framePools[c].Get(); v != nil {
		return (*(v.(*[]byte)))[:n]
	}
	b := make([]byte, n, 1<<(c+minClassShift))
	return b
}

// putBuf returns b to its pool. Buffers whose capacity is not exactly a
// class size (oversized or foreign) are dropped.
func putBuf(b []byte) {
	c := classOf(cap(b))
	if c >= len(framePools) || cap(b) != 1<<(c+minClassShift) {
		return
	}
	b = b[:0]
	framePools[c].Put(&b)
}
