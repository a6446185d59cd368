// Package segments owns the per-partition log: an ordered set of segment
// files holding Kafka record batches (magic 2) byte for byte as clients
// sent them, with offsets assigned by the log, plus the indexes,
// checkpoints, recovery, retention and zero-copy reads around them.
//
// Use. A broker opens each log directory with OpenDir (which locks it and
// reads its checkpoints) and each partition with Dir.OpenLog; it calls
// Dir.Checkpoint periodically and Dir.Close on shutdown. Open opens a
// single log without a Dir (everything checked, nothing checkpointed).
// All I/O goes through an FS (OSFS by default; segments/errorfs injects
// faults for tests).
//
// Layout. A log is a directory of segments, each named after the offset of
// its first batch: %020d.log holds the batches, %020d.index maps offsets
// to file positions and %020d.timeindex timestamps to offsets (formats in
// index.go). Only the newest segment, the active one, is written; it is
// rolled (sealed, and a new one started) when an append would take it
// past Options.SegmentBytes, when it spans more than Options.SegmentMs,
// or when its index is full. The log never parses records: it reads and
// rewrites only the 61-byte batch header, and of that it rewrites only
// baseOffset, which the batch CRC does not cover, so a batch stays valid
// after the log stamps its offsets on it.
//
// Space. The active segment's .log grows by fallocate a step
// (Options.PreallocateBytes, 1 MiB) ahead of the write position, and its
// index files are sized to their capacity and mapped; sealing (roll,
// Close) trims all three to their data. A crash leaves the preallocated
// zeros behind: recovery knows a zero batch length for the start of
// unwritten space, not a batch, and trims it without a warning.
//
// Durability. Sync fdatasyncs what was appended since the last Sync (and
// the index files of segments sealed since, and the directory), and then
// moves the log's recovery point to the end offset it started from. A
// failed fsync is sticky: the log refuses appends (ErrBroken) until it is
// reopened, since what reached the disk is no longer known.
//
// Recovery. Dir.Checkpoint writes each log's recovery point and start
// offset (format in dir.go), and cleaned offset once it has one; Close
// marks a log clean. On open, segments
// wholly below the recovery point are trusted (their sizes are their
// files', their largest timestamp their .timeindex's last entry), and a
// clean log is trusted whole, its end found by walking the few batches
// after its last index entry, so a directory of 10,000 idle partitions
// opens in a fraction of a second. Every other segment is checked batch by
// batch (length, magic, CRC, offsets that never go backwards: compaction
// leaves gaps, and empty batches) and its indexes rebuilt;
// at the first bad or torn batch it is truncated after the last good one
// and any later segments are removed, with one warning. A missing or
// malformed index is rebuilt from the .log, at open or when first used;
// an index entry that does not point at the batch it names is caught when
// used and the index rebuilt.
//
// Retention. Retain deletes whole segments, oldest first, by age and by
// total size; AdvanceStartOffset (DeleteRecords) moves the log start
// offset and deletes the segments wholly below it. Deleted segments'
// files are renamed *.deleted and removed when the last reader lets go.
//
// Compaction. Compact (cleanup.policy=compact) rewrites the closed
// segments to the latest record of each key, dropping old tombstones, in
// the background: the active segment is never touched and l.mu is held
// only to swap files and the segment list, so appends go on. Offsets never
// change, so compacted segments have gaps (a read at an offset in one gets
// the next batch) and may hold empty batches, kept for idempotent
// producers' sequence state. Each segment is rewritten to .cleaned files
// and swapped in through a .swap file that recovery completes, so a crash
// leaves each segment wholly old or wholly new (the sequence, and why
// tombstones can never resurrect a value, are in compact.go). The offset
// up to which a log is clean is kept in the Dir's third checkpoint file.
//
// Concurrency. Appends, rolls, syncs' bookkeeping, retention and Close
// are serialized by Log.mu. Reads do not take it: they pread committed
// bytes (a segment's size is published only after the write that filled
// it returns, and the end offset after that), so they never see a partial
// batch and never wait for the appender. Segments are reference-counted:
// a read holds its segments while it uses their files and mappings, so a
// segment deleted or closed under a reader stays readable until it is
// done. ReadRanges hands the references to the caller, with a release
// func, so netio can sendfile from the files.
//
// Lock order: Log.cleanMu (a compaction pass), then Log.mu, then a
// segment's idxMu, then Log.maxMu. Dir.ckMu, then Dir.mu; a Log calls
// into its Dir holding neither of its own.
//
// segments, with netio, is the only package that talks to x/sys/unix.
package segments
