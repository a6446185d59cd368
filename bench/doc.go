// Package bench owns the client side of Runnel's built-in benchmarks, the
// engine behind `runnel bench produce|consume|e2e`: load generation with a
// real Kafka client (franz-go kgo) against any Kafka-protocol broker,
// latency histograms, throughput, and the broker's CPU-seconds per GB and
// peak memory over the measured window.
//
// Use it through one call:
//
//	res, err := bench.Run(ctx, cfg, os.Stderr) // progress lines go to the writer
//	json.NewEncoder(os.Stdout).Encode(res)     // the schema `make bench` parses
//
// Run checks that a Kafka broker answers before it measures anything, so a
// wrong address fails within Config.Timeout. Once measuring has begun it
// always returns what it measured, also when it fails or ctx is cancelled
// (Result.Interrupted); a zero Result means nothing was measured.
//
// What is measured, and how:
//
//   - The window runs from the first send (consume: the first fetch) to the
//     last acknowledgement (the last record read). Throughput counts payload
//     bytes, key plus value, in MB of 1e6 bytes.
//   - Latencies go into an HDR histogram in microseconds, 1 µs to 60 s, 3
//     significant digits. Produce latency is ack time minus send time; e2e
//     latency is consume time minus the send time the producer wrote into
//     the first 8 bytes of the value. With a fixed rate, the send time is
//     the intended one (start + i/rate), which corrects for coordinated
//     omission: a producer that falls behind still charges the delay to the
//     records it was late with (see schedule.go).
//   - Broker CPU-seconds and peak RSS come from /proc (Config.BrokerPID, for
//     a broker on this machine) or from the broker's admin listener
//     (Config.AdminURL, GET /stats), which also serves a CPU profile of the
//     window (Config.ProfileFile).
//
// Files: config.go (what to run), run.go (the phases of a run), producer.go
// and consumer.go (the load), schedule.go and clock.go (pacing), payload.go
// (pre-generated values and keys), tally.go and latency.go (counting),
// broker.go (reaching the cluster, the topic), watchdog.go (ending a run
// that stalls), stats.go, procstat.go and profile.go (the broker's side),
// progress.go and result.go (reporting).
package bench
