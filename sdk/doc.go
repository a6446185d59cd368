// Package sdk is the public Go API for Runnel extension authors.
//
// It owns one small interface per extension point and the value types
// they exchange:
//
//   - Partitioner: a batch of keys in, partitions out (StatefulPartitioner
//     as an optional capability);
//   - Assignor: a consumer group's members and subscriptions in, a target
//     assignment out (server-side assignment, KIP-848);
//   - Authenticator: a SASL mechanism exchange; Authorizer: principal,
//     operations and resources in, decisions out;
//   - Consensus: the ordered, durable log of cluster metadata; Replicator:
//     when a partition's records count as committed.
//
// Optional behaviour is expressed as separate capability interfaces that
// the host discovers with a type assertion, so the base interfaces stay
// small and stable.
//
// # Plugin processes
//
// Partitioner, Assignor, Authenticator and Authorizer can also run in a
// process of their own, started by the broker (or by `runnel produce`)
// through hashicorp/go-plugin over gRPC. Serve makes such a binary in a
// few lines; GRPCPlugin is the binding both sides use, and what the host
// gets back implements the same sdk interface as a builtin. The wire
// protocol is versioned (ProtocolVersion) and its .proto lives in
// sdk/internal/pb (regenerate with `make generate`). One call crosses the
// process boundary per batch of keys, per rebalance or per authorization
// batch, never per record. sdk/plugintest holds the conformance suites a
// plugin author runs against an implementation in process, over gRPC and
// as a real plugin process.
//
// sdk imports nothing of Runnel's own outside sdk/ (not kernel, not
// plugins) and none of the heavy runtime dependencies (gnet,
// cilium/ebpf), so a plugin module that depends on it stays light.
package sdk
