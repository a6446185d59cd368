package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/runnel-dev/runnel/bench"
	"github.com/runnel-dev/runnel/sdk/kgoadapter"
)

var benchDoc = commandDoc{
	name:  "bench",
	usage: "bench <produce|consume|e2e> [flags]",
	detail: `Measure a Kafka-compatible broker, Runnel or any other, with a real
Kafka client: throughput (MB/s of keys and values, records/s), latency
percentiles from an HDR histogram, and with --broker-pid or --admin the
broker's CPU-seconds per GB and peak memory over the measured window.

A progress line goes to stderr every second; the summary goes to stdout,
as one JSON object with --json. Ctrl-C stops the run, prints what was
measured so far and exits non-zero.`,
	examples: []string{
		"runnel bench produce --records 2000000 --json",
		"runnel bench consume --consumers 2",
		"runnel bench e2e --rate 50000 --broker-pid $(pgrep -x runnel)",
	},
}

// benchWorkloadDocs are the help texts of the workloads.
var benchWorkloadDocs = map[bench.Workload]commandDoc{
	bench.Produce: {
		name:    "bench produce",
		summary: "send records as fast as possible, or at a fixed rate, and time the acknowledgements",
		usage:   "bench produce [flags]",
		detail: `Send --records records of --record-size random bytes to --topic from
--producers producers, creating the topic with --partitions partitions if
it does not exist, and report throughput and produce latency (the time
from send to acknowledgement).

With --rate the producers send at that many records per second in total,
and latency is measured from the time each record was due to be sent, so
a broker that stalls the producers is charged for every record it delayed
(coordinated omission). Without --rate they send as fast as the broker
takes records, and latency is measured from the send, so it includes the
time records wait in the client's buffer behind the ones before them:
use --rate to see the broker's latency under a given load.`,
		examples: []string{
			"runnel bench produce",
			"runnel bench produce --records 200000 --record-size 100 --partitions 6 --producers 3",
			"runnel bench produce --rate 20000 --acks 1 --compression lz4 --json",
			"runnel bench produce --keys 1000 --partitioner murmur2 --broker-pid 4242",
		},
	},
	bench.Consume: {
		name:    "bench consume",
		summary: "read a topic from its beginning and time it",
		usage:   "bench consume [flags]",
		detail: `Read --topic from the beginning of every partition with --consumers
consumers, which split the partitions between them (no consumer group),
until --records records have been read, or, with --records 0 (the
default), up to the end the partitions had when the run started; then
report the throughput. Fill the topic first, e.g. with runnel bench
produce.`,
		examples: []string{
			"runnel bench consume",
			"runnel bench consume --records 1000000 --consumers 2 --json",
		},
	},
	bench.EndToEnd: {
		name:    "bench e2e",
		summary: "produce and consume at once and time each record from send to receipt",
		usage:   "bench e2e [flags]",
		detail: `Run producers and consumers on --topic at the same time and report the
end-to-end latency: the time from sending a record to reading it back.
Each producer writes the send time into the first 8 bytes of the value
(with --rate, the time the record was due), so --record-size must be at
least 8. The consumers start at the end of the topic and read until every
record produced has arrived.`,
		examples: []string{
			"runnel bench e2e --records 100000",
			"runnel bench e2e --rate 10000 --partitions 3 --consumers 3 --json",
		},
	},
}

// benchOptions are the parsed flags of one workload.
type benchOptions struct {
	cfg  bench.Config
	json bool
	part *kgoadapter.Partitioner // nil unless --partitioner
	// closePartitioner stops --partitioner's plugin process, if any.
	closePartitioner func()
}

// parseBenchFlags parses the flags of workload w into a checked config.
func parseBenchFlags(w bench.Workload, args []string, stdout io.Writer) (*benchOptions, error) {
	f := newFlagSet(benchWorkloadDocs[w])
	client := addClientFlags(f)
	o := &benchOptions{cfg: bench.DefaultConfig(w)}
	c := &o.cfg
	f.StringVar(&c.Topic, "topic", c.Topic, "`TOPIC` to use")
	f.alias("topic", "t")
	partitionsHelp := "create the topic with `N` partitions if it does not exist; fail if it exists with another count"
	if w == bench.Consume {
		partitionsHelp = "expect the topic to have `N` partitions; 0 takes it as it is"
	}
	partitions := f.Int("partitions", int(c.Partitions), partitionsHelp)
	recordsHelp := "send `N` records in total"
	if w == bench.Consume {
		recordsHelp = "read `N` records in total; 0 reads up to the end the topic had at the start"
	}
	f.Int64Var(&c.Records, "records", c.Records, recordsHelp)
	var batchBytes int
	var partitioner string
	if w != bench.Consume {
		f.IntVar(&c.Producers, "producers", c.Producers, "run `N` producers, each with its own connections")
		f.IntVar(&c.RecordSize, "record-size", c.RecordSize, "`BYTES` of random data in each record's value")
		f.IntVar(&c.Keys, "keys", c.Keys, "give records keys drawn from `N` distinct values; 0 sends no keys")
		f.StringVar(&partitioner, "partitioner", "", "partitioner that places records: a builtin `NAME` ("+partitionerNames()+
			"), or exec:/path/to/plugin;\nunset, the client's default (murmur2 for keys, sticky without)")
		f.StringVar(&c.Acks, "acks", c.Acks, "`LEVEL` of acknowledgement to wait for: all, 1 (the leader only) or 0 (none)")
		f.DurationVar(&c.Linger, "linger", c.Linger, "wait up to `DURATION` for more records before sending a batch")
		f.IntVar(&batchBytes, "batch-bytes", int(c.BatchBytes), "send batches of up to `BYTES`")
		f.StringVar(&c.Compression, "compression", c.Compression, "`CODEC` of the batches: "+strings.Join(bench.Compressions, ", "))
		f.Float64Var(&c.Rate, "rate", c.Rate, "send `R` records/s over all producers; 0 sends as fast as possible")
	}
	if w != bench.Produce {
		f.IntVar(&c.Consumers, "consumers", c.Consumers, "run `N` consumers, which split the partitions between them")
	}
	if w == bench.Consume {
		f.BoolVar(&c.Raw, "raw", false, "read with plain Fetch requests, streaming each response through a small buffer\n"+
			"and counting records from batch headers without decoding them: what the broker\n"+
			"and network deliver, not what the client's decoding allows")
	}
	f.IntVar(&c.BrokerPID, "broker-pid", 0, "read the broker's CPU time and memory from /proc/`PID` (a broker on this machine)")
	f.StringVar(&c.AdminURL, "admin", "", "read the broker's CPU time and memory from its admin listener at `URL`,\ne.g. http://127.0.0.1:9644")
	f.StringVar(&c.ProfileFile, "profile", "", "write the broker's CPU profile of the run to `FILE` (needs --admin)")
	f.BoolVar(&o.json, "json", false, "print the result as one JSON object")
	rest, err := f.parse(args, stdout)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, f.usageErr("unexpected argument %q", rest[0])
	}
	if err := client.validate(f); err != nil {
		return nil, err
	}
	c.Brokers, _ = client.brokers()
	c.Timeout = client.timeout
	if *partitions < 0 || *partitions > math.MaxInt32 {
		return nil, f.usageErr("--partitions must be a partition count, not %d", *partitions)
	}
	c.Partitions = int32(*partitions)
	if w != bench.Consume {
		if batchBytes < 0 || batchBytes > math.MaxInt32 {
			return nil, f.usageErr("--batch-bytes is out of range: %d", batchBytes)
		}
		c.BatchBytes = int32(batchBytes)
	}
	if err := c.Validate(); err != nil {
		return nil, f.usageErr("%v", err)
	}
	if partitioner != "" {
		p, closePartitioner, err := openPartitioner(partitioner)
		if err != nil {
			return nil, f.usageErr("--partitioner: %v", err)
		}
		o.closePartitioner = closePartitioner
		o.part = kgoadapter.New(partitioner, p)
		c.Partitioner, c.PartitionerName = o.part, partitioner
	}
	return o, nil
}

// runBench runs `runnel bench WORKLOAD ARGS`.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelpArg(args[0]) || args[0] == "help" {
		printBenchHelp(stdout)
		return nil
	}
	w := bench.Workload(args[0])
	doc, ok := benchWorkloadDocs[w]
	if !ok {
		return &usageError{cmd: "bench", usage: benchDoc.usage,
			msg: fmt.Sprintf("unknown workload %q (expected produce, consume or e2e)", args[0])}
	}
	o, err := parseBenchFlags(w, args[1:], stdout)
	if err != nil {
		return err
	}
	if o.closePartitioner != nil {
		defer o.closePartitioner()
	}
	res, err := bench.Run(ctx, o.cfg, stderr)
	if res.Workload != "" { // something was measured: show it, even on failure
		if perr := printBenchResult(stdout, &res, o.json); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil && o.part != nil && o.part.Err() != nil {
		// kgo reports a failing partitioner as an invalid partition; the
		// adapter knows the real cause.
		err = fmt.Errorf("%w (the partitioner: %v)", err, o.part.Err())
	}
	if err != nil {
		return &cmdError{cmd: doc.name, err: err}
	}
	return nil
}

// printBenchResult writes res as one JSON object or as a summary.
func printBenchResult(w io.Writer, res *bench.Result, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(res)
	}
	return res.WriteText(w)
}

func printBenchHelp(w io.Writer) {
	var b strings.Builder
	b.WriteString(benchDoc.detail)
	fmt.Fprintf(&b, "\n\nUsage:\n  runnel %s\n\nWorkloads:\n", benchDoc.usage)
	for _, wl := range bench.Workloads {
		fmt.Fprintf(&b, "  %-9s %s\n", wl, benchWorkloadDocs[wl].summary)
	}
	b.WriteString("\nExamples:\n")
	for _, e := range benchDoc.examples {
		fmt.Fprintf(&b, "  %s\n", e)
	}
	b.WriteString("\nRun 'runnel bench <workload> --help' for its flags.\n")
	io.WriteString(w, b.String())
}
