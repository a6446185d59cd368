package partitioner

// Murmur2Hash returns Kafka's murmur2 hash of data, as Java's
// org.apache.kafka.common.utils.Utils.murmur2 computes it: MurmurHash2
// with seed 0x9747b28c, reading four bytes at a time little-endian. The
// result is Java's signed int, so it compares directly with Kafka's test
// vectors.
func Murmur2Hash(data []byte) int32 {
	const (
		seed = 0x9747b28c
		m    = 0x5bd1e995
		r    = 24
	)
	// uint32 arithmetic wraps like Java's int and shifts without sign
	// extension like Java's >>>.
	h := uint32(seed) ^ uint32(len(data))
	for len(data) >= 4 {
		k := uint32(data[0]) | uint32(data[1])<<8 | uint32(data[2])<<16 | uint32(data[3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h = h*m ^ k
		data = data[4:]
	}
	// The tail cases fall through, as in the reference implementation.
	switch len(data) {
	case 3:
		h ^= uint32(data[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// keyPartition is Kafka's placement of a keyed record:
// Utils.toPositive(murmur2(key)) % numPartitions. toPositive masks the
// sign bit rather than taking the absolute value, so the result is never
// negative, and it must stay a mask to agree with Kafka.
func keyPartition(key []byte, numPartitions int32) int32 {
	return (Murmur2Hash(key) & 0x7fffffff) % numPartitions
}
