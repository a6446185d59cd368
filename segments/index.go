package segments

import (
	"math"
	"sort"
	"sync"
)

// indexIntervalBytes is how much data lies between sparse index entries
// (Kafka's index.interval.bytes default). Every batch starts less than
// this many bytes after the entry before it, which bounds the walk a read
// does after its index lookup.
const indexIntervalBytes = 4096

// indexEntry maps a batch's base offset, relative to the segment base, to
// its position in the segment file. Both fit in 32 bits (Log rolls before
// relative offsets overflow, and SegmentBytes <= MaxInt32), so an entry is
// 8 bytes like a Kafka .index entry; a file-backed index can use the same
// layout.
type indexEntry struct {
	rel int32
	pos uint32
}

// sparseIndex is the in-memory offset index of one segment.
type sparseIndex struct {
	// mu guards entries: the appender takes it to add an entry (once per
	// indexIntervalBytes), readers take it shared to look one up.
	mu      sync.RWMutex
	entries []indexEntry

	// lastPos is the position of the newest entry. Only the appender (under
	// Log.mu) or the single-threaded recovery touch it.
	lastPos int64
}

// maybeAdd records a batch with relative offset rel that starts at
// position pos, if it is the first batch or at least indexIntervalBytes
// past the previous entry. Batches whose relative offset or position do
// not fit in 32 bits (only possible in files written by something else)
// are not indexed; reads still find them by walking from an earlier entry.
func (x *sparseIndex) maybeAdd(rel, pos int64) {
	if len(x.entries) > 0 && pos-x.lastPos < indexIntervalBytes {
		return
	}
	if rel < 0 || rel > math.MaxInt32 || pos < 0 || pos > math.MaxUint32 {
		return
	}
	x.mu.Lock()
	x.entries = append(x.entries, indexEntry{rel: int32(rel), pos: uint32(pos)})
	x.mu.Unlock()
	x.lastPos = pos
}

// lookup returns the position of the last indexed batch whose relative
// base offset is <= rel, or 0 when there is none. The batch holding rel
// starts there or later.
func (x *sparseIndex) lookup(rel int64) int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	i := sort.Search(len(x.entries), func(i int) bool { return int64(x.entries[i].rel) > rel })
	if i == 0 {
		return 0
	}
	return int64(x.entries[i-1].pos)
}
