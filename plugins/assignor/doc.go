// Package assignor owns Runnel's builtin server-side assignors for
// KIP-848 consumer groups, the implementations of sdk.Assignor registered
// as assignor.uniform and assignor.range. Clients name them in
// ConsumerGroupHeartbeat's ServerAssignor ("uniform", "range"), as with
// Kafka's own broker.
//
// uniform spreads partitions evenly over the members that subscribe to
// their topics and keeps every member's partitions where balance allows
// (sticky), so a rebalance moves as few partitions as it can. range gives
// each member a contiguous range of every subscribed topic, the same
// partition numbers across topics of equal size (co-partitioning, for
// joins), in member id order.
//
// Both are deterministic: the same input gives the same assignment. Their
// zero values are ready to use and safe for concurrent use.
package assignor
