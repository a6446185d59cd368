// Package bench will own Runnel's built-in benchmarks: load generation
// with a real Kafka client (franz-go kgo), latency histograms corrected
// for coordinated omission, broker CPU-seconds per GB, and side-by-side
// runs against reference brokers and the machine's own limits, behind
// `runnel bench` and `make bench`.
//
// It is empty today: the microbenchmarks of the hot paths live beside the
// code they measure (`make bench-micro`), and this package arrives with
// the benchmarking work.
package bench
