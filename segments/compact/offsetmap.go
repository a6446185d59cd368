package compact

import (
	"hash/maphash"
	"math"
	"math/bits"
)

// OffsetMap remembers, for each key, the offset of its latest record. Like
// Kafka's SkimpyOffsetMap it stores a 128-bit hash of the key rather than
// the key, in a fixed table allocated up front: about 32 bytes per entry
// of capacity, whatever the keys' sizes.
//
// The hash is two 64-bit maphash values under seeds drawn at random for
// each map (and again by Reset), so two keys share an entry with
// probability about n²/2¹²⁹ for n keys, and a producer cannot choose keys
// that collide with someone else's without knowing the seeds.
//
// An OffsetMap is not safe for concurrent writes. Concurrent reads (Get,
// FilterBatch) are safe while nothing writes.
type OffsetMap struct {
	seed0, seed1 maphash.Seed
	slots        []slot
	n, capacity  int
}

// slot is one table entry; h0 == h1 == 0 marks it empty.
type slot struct {
	h0, h1 uint64
	offset int64
}

// NewOffsetMap returns an empty map that holds up to capacity keys. A
// capacity below 1 is taken as 1, so that every cleaning pass makes
// progress.
func NewOffsetMap(capacity int) *OffsetMap {
	capacity = max(capacity, 1)
	// Linear probing at a load factor of at most 3/4: about 2.5 probes
	// for a hit and 8.5 for a miss.
	m := &OffsetMap{
		slots:    make([]slot, capacity+capacity/3+1),
		capacity: capacity,
	}
	m.seed0, m.seed1 = maphash.MakeSeed(), maphash.MakeSeed()
	return m
}

// Len is the number of keys in the map.
func (m *OffsetMap) Len() int { return m.n }

// Capacity is the number of keys the map can hold.
func (m *OffsetMap) Capacity() int { return m.capacity }

// Reset empties the map for another pass, keeping its memory, and draws
// new hash seeds.
func (m *OffsetMap) Reset() {
	clear(m.slots)
	m.n = 0
	m.seed0, m.seed1 = maphash.MakeSeed(), maphash.MakeSeed()
}

// Add records offset for key. If key is already present it keeps the
// larger of the two offsets, so the order of calls does not matter. It
// reports false, changing nothing, when key is new and the map is full.
func (m *OffsetMap) Add(key []byte, offset int64) bool {
	h0, h1 := m.hash(key)
	s := &m.slots[m.find(h0, h1)]
	if s.h0|s.h1 != 0 {
		s.offset = max(s.offset, offset)
		return true
	}
	if m.n >= m.capacity {
		return false
	}
	*s = slot{h0: h0, h1: h1, offset: offset}
	m.n++
	return true
}

// Get returns the offset recorded for key.
func (m *OffsetMap) Get(key []byte) (int64, bool) {
	h0, h1 := m.hash(key)
	s := &m.slots[m.find(h0, h1)]
	if s.h0|s.h1 == 0 {
		return 0, false
	}
	return s.offset, true
}

func (m *OffsetMap) hash(key []byte) (h0, h1 uint64) {
	h0, h1 = maphash.Bytes(m.seed0, key), maphash.Bytes(m.seed1, key)
	if h0|h1 == 0 {
		h0 = 1 // all-zero marks an empty slot
	}
	return h0, h1
}

// find returns the index of the slot holding (h0, h1), or of the empty
// slot where it would go. The table always has an empty slot, since it is
// larger than the capacity.
func (m *OffsetMap) find(h0, h1 uint64) int {
	n := len(m.slots)
	i, _ := bits.Mul64(h0, uint64(n)) // h0 scaled to [0, n)
	for j := int(i); ; {
		s := &m.slots[j]
		if (s.h0 == h0 && s.h1 == h1) || s.h0|s.h1 == 0 {
			return j
		}
		if j++; j == n {
			j = 0
		}
	}
}

// AddBatch adds every keyed record of one v2 batch to the map under its
// absolute offset (baseOffset+offsetDelta). Control batches are skipped;
// the caller leaves out batches it knows to be aborted.
//
// lastAdded is how far the map now covers the batch. When everything fit,
// full is false and lastAdded is the batch's last offset. When the map
// filled up, full is true and lastAdded is one below the first record
// that did not fit: every keyed record up to lastAdded is in the map, none
// after it, and the next pass starts at lastAdded+1 (see AddBatchFrom).
//
// The batch is checked in full before anything is added: on error the
// map is unchanged.
func (m *OffsetMap) AddBatch(batch []byte) (lastAdded int64, full bool, err error) {
	return m.AddBatchFrom(batch, math.MinInt64)
}

// AddBatchFrom is AddBatch ignoring records below offset from: a pass
// that starts where the previous one filled the map, in the middle of a
// batch, hands that batch in again with from = the previous lastAdded+1.
func (m *OffsetMap) AddBatchFrom(batch []byte, from int64) (lastAdded int64, full bool, err error) {
	h, err := parseBatch(batch)
	if err != nil {
		return 0, false, err
	}
	if h.control() || h.lastOffset() < from {
		return h.lastOffset(), false, nil
	}
	s := getScratch()
	defer putScratch(s)
	data, dec, err := recordsData(&h, batch, s.dec)
	s.dec = dec
	if err != nil {
		return 0, false, err
	}
	// Decode everything first, so a malformed batch adds nothing.
	s.keys = s.keys[:0]
	it := newRecordIter(data, &h)
	var rv recordView
	for it.more() {
		if err := it.next(&rv); err != nil {
			return 0, false, err
		}
		if off := h.baseOffset + int64(rv.offsetDelta); rv.key != nil && off >= from {
			s.keys = append(s.keys, keyOffset{rv.key, off})
		}
	}
	if err := it.finish(); err != nil {
		return 0, false, err
	}
	for _, k := range s.keys {
		if !m.Add(k.key, k.offset) {
			return k.offset - 1, true, nil
		}
	}
	return h.lastOffset(), false, nil
}

type keyOffset struct {
	key    []byte
	offset int64
}
