// Package metalog owns the single-node metadata log: an fsync'd,
// append-only file of opaque entries, replayed in order when it is
// opened. It is the store behind the consensus.local builtin and the
// kernel's default metadata store; it implements sdk.Consensus and
// sdk.Compactor without importing them (it imports nothing of Runnel's).
//
// Use. New returns a Store; Open recovers the log kept in a directory
// and replays every entry; Append commits one entry (written and
// fsync'd before it returns); Compact atomically replaces the log by a
// snapshot of live entries once NeedsCompaction says the log holds many
// more than that; Close releases the file. A Store is safe for
// concurrent use; appends are applied in the order they take its lock.
//
// Layout. The log is one file, FileName, in the directory given to Open
// (the kernel gives it <first log dir>/__runnel_metadata). Every record
// of the file is framed as
//
//	length uint32 | crc32c(payload) uint32 | payload (length bytes)
//
// big-endian, CRC-32C (Castagnoli). The first record of every file is
// the store's format header, whose payload is the JSON
//
//	{"type":"format","format_version":1}
//
// byte for byte what the kernel wrote as its first record before the
// store became a package of its own, so logs written then open unchanged.
// The header is the store's, not an entry: Open checks its version
// (refusing a file newer than FormatVersion) and does not replay it. A
// file whose first record is something else is read as all entries.
// Entries are whatever the caller appended; the kernel's are JSON, but
// the store never looks inside them.
//
// Recovery. A crash can leave a torn record at the end of the file. Open
// stops at the first record that is short, longer than MaxEntryBytes or
// fails its CRC, truncates the file there and logs what it dropped: an
// acknowledged Append was fsync'd whole, so only an unacknowledged one
// can be lost. Compact writes the snapshot to FileName+".tmp", fsyncs it,
// renames it over the log and fsyncs the directory, so a crash leaves
// either the old log or the new one; Open removes a temporary file a
// crash left behind.
//
// Failures. An Append that fails to write truncates its partial record
// away; one that fails to fsync, or a Compact that fails after its
// rename, leaves the file's durable state unknown, so the Store refuses
// every later Append and Compact until it is closed and opened again.
package metalog
