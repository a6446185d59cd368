// Package compact is the pure, I/O-free core of log compaction, Kafka's
// cleanup.policy=compact.
//
// It owns:
//
//   - the compression codecs of Kafka record batches (Compress, Decompress):
//     gzip, snappy (raw blocks, and the xerial framing Java clients send),
//     the LZ4 frame format and zstd, with decompression bounded by
//     MaxDecompressedSize;
//   - decoding and encoding the records inside a v2 record batch
//     (ReadRecords, AppendRecord);
//   - OffsetMap, a memory-bounded map from a record key to the offset of
//     its latest record, filled from batches by AddBatch;
//   - Policy.FilterBatch, which rewrites one batch down to the records that
//     compaction keeps, and HasNullKey, which tells whether a batch could
//     be appended to a compacted topic at all.
//
// It does not know about segments, files, producers or transactions: the
// caller walks the log, decides which batches to feed (for example, it
// leaves aborted transactional batches out of the map), builds the map in
// as many passes as memory requires, and writes what FilterBatch returns.
// It imports nothing of Runnel's.
//
// Every function that takes a batch checks it first: a whole v2 header,
// batchLength matching the slice, magic 2, a known codec and a matching
// CRC-32C. A corrupt batch is an error, never rewritten under a fresh
// CRC. Records must have offset deltas that increase strictly and stay
// within lastOffsetDelta. Nothing in the package panics on bad input.
package compact
