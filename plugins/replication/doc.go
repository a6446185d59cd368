// Package replication owns Runnel's builtin replicators, the
// implementations of sdk.Replicator registered as replication.<name>.
//
// replication.none keeps no copies on other brokers: whatever the leader
// has made durable is committed, so the high watermark is the durable
// offset (or, for a topic in the relaxed flush mode, the log end) and an
// acks=all producer is acknowledged once its batch is durable. It is what
// the kernel does, without an interface call, when no Replicator is
// configured.
package replication
