// Package kernel is Runnel's broker core: lifecycle, the metadata image
// and its on-disk log, the API router, partition state, and one handler
// file per Kafka API family.
//
// Request path. netio hands the kernel whole request frames on a
// connection's request goroutine. The router (router.go) decodes the
// request header itself (header.go, fuzzed), checks the API key and
// version against the one table that ApiVersions also reports (apis.go),
// decodes the body with franz-go's kmsg types, and calls the API's
// handler. A handler returns a kmsg response, or a function that produces
// it later (a long-polling fetch), which netio writes in request order.
// A panic in a handler is recovered, logged, and answered with
// UNKNOWN_SERVER_ERROR; a frame that cannot be decoded closes the
// connection with a logged reason, as Kafka does.
//
// Fetch is the one response not encoded by kmsg: its record bytes are
// file ranges of the segments up to the high watermark, held until sent,
// and a hand-written encoder (fetch_encode.go, differentially fuzzed
// against kmsg) lays the response out around them as netio file chunks,
// which netio sends with sendfile.
//
// State. The metadata image (topics, topic ids, partition counts, topic
// configs, the cluster id and producer id blocks) lives in memory and is
// persisted through an sdk.Consensus (metalog.go encodes the records;
// the single-node store is segments/metalog) and replayed at start. The
// committed offset of a partition comes from an sdk.Replicator
// (durability.go; none means durable is committed). Each partition owns
// a segments.Log and the idempotent-producer state for it (partition.go,
// producers.go).
//
// Durability (durability.go): by default a produce is acknowledged once
// fsync'd, group-committed per partition, and the high watermark is the
// durable offset; flush.messages/flush.ms select Kafka's relaxed mode.
// Upkeep off the request paths: retention and checkpoints with producer
// snapshots (maintenance.go, producer_snapshot.go) and the log cleaner for
// compacted topics (cleaner.go).
//
// Consumer groups (coordinator.go, group_*.go, offsets_*.go): the classic
// protocol and KIP-848, with committed offsets in the compacted internal
// topic __consumer_offsets in Kafka's own record formats.
//
// The kernel knows extensions only through the sdk interfaces (assignors
// arrive in Options); it never imports plugins.
package kernel
