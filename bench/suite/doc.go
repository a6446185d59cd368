// Command bench-suite is `make bench`: it runs Runnel and franz-go's kfake
// side by side, measures the machine's own limits in the same run, and
// writes bench/RESULTS.md and bench/results.png.
//
// Each rep runs, brokers taking turns and each broker started fresh:
// produce 2M × 1 KiB records to 1 partition and consume them back from the
// beginning, produce to 8 partitions, and produce at a fixed 20k records/s
// with linger 0 for latency. Between them it measures loopback TCP with
// iperf3 and the disk with 1 MiB writes each followed by fdatasync. The
// load itself comes from `runnel bench`, run as a subprocess against the
// broker's pid, which reports the broker's CPU and memory.
//
// Nothing here is fatal but a bad command line: a broker that does not
// start, a workload that fails or a missing iperf3 become "n/a" in the
// report with a note saying why. Progress goes to stderr, the summary to
// stdout. Ctrl-C stops the brokers in order, prints what was measured and
// leaves the report files alone.
//
//	make bench BENCHFLAGS="--records 200000 --reps 1"
//	bin/bench-suite --reps 5 --keep --profile-dir /tmp/profiles
//
// The numbers themselves are computed and rendered by bench/report.
package main
