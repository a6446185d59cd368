// Package sdk is the public Go API for Runnel extension authors.
//
// It owns one small interface per extension point (Partitioner, Assignor,
// and, as later work lands, Authenticator, Authorizer, Replicator and
// Consensus), the value types those interfaces exchange, and nothing else.
// Optional behaviour is expressed as separate capability interfaces that
// the host discovers with a type assertion, so the base interfaces stay
// small and stable.
//
// sdk imports nothing of Runnel's own (not kernel, not plugins) and none of
// the heavy runtime dependencies (gnet, cilium/ebpf), so a plugin module
// that depends on it stays light.
package sdk
