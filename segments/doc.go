// Package segments owns the per-partition log: an ordered set of segment
// files holding Kafka record batches (magic 2) byte for byte as clients
// sent them, with offsets assigned by the log.
//
// Layout. A Log is a directory of segment files, each named after the
// offset of its first batch (%020d.log). Only the newest segment, the
// active one, is written; when an append would take it past
// Options.SegmentBytes a new one is started. The log never parses records:
// it reads and rewrites only the 61-byte batch header, and of that it
// rewrites only baseOffset, which the batch CRC does not cover, so a batch
// stays valid after the log stamps its offsets on it.
//
// Each segment keeps an in-memory sparse index (one entry per 4 KiB of
// data: relative offset to file position) so a read starts close to its
// target instead of walking the whole file. The index is rebuilt on Open
// by scanning every segment; persistent .index/.timeindex files, group
// commit, retention and compaction are future work and will slot in as a
// file-backed index and extra segment operations.
//
// Recovery. Open checks every batch (length, magic, CRC, contiguous
// offsets). At the first bad or torn batch the segment is truncated after
// the last good one and any later segments are removed: a crash can only
// tear the tail, and a batch whose bytes do not check out cannot be served.
// One warning is logged per truncation.
//
// Concurrency. Appends are serialized by Log.mu. Reads do not take it:
// they use pread on files that are only ever extended, and never look past
// a segment's committed size, which is published (atomically) only after
// the write that filled it returns. So a reader never sees a partially
// written batch, and readers never wait for the appender (the only lock a
// read takes is a segment index's read lock, for a lookup).
//
// segments, with netio, is the only package that talks to x/sys/unix.
package segments
