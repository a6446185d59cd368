// Package consensus owns Runnel's builtin metadata stores, the
// implementations of sdk.Consensus registered as consensus.<name>.
//
// consensus.local is the single-node store: the fsync'd metadata log
// file of segments/metalog, kept in <first log dir>/__runnel_metadata. It
// also implements sdk.Compactor, so the kernel replaces the log by a
// snapshot of the live metadata when it has grown mostly dead. It is what
// the kernel uses when no Consensus is configured; naming it explicitly
// changes nothing on disk. It logs through slog.Default().
package consensus
