package report

// The brokers a run compares.
const (
	Runnel = "runnel"
	Kfake  = "kfake"
)

// Brokers lists the brokers in the order tables and charts show them.
var Brokers = []string{Runnel, Kfake}

// The machine limits a run measures alongside the brokers.
const (
	// LimitLoopback is loopback TCP throughput, from iperf3.
	LimitLoopback = "loopback TCP (iperf3)"
	// LimitDisk is sequential 1 MiB writes each followed by fdatasync,
	// on the filesystem that holds the brokers' data.
	LimitDisk = "disk write+fdatasync"
)

// Limits lists the limits in the order tables show them.
var Limits = []string{LimitLoopback, LimitDisk}

// The workload IDs, as the suite runs them.
const (
	Produce1P = "produce-1p"
	Consume1P = "consume-1p"
	// ConsumeRaw1P reads the same with `runnel bench consume --raw`:
	// Fetch requests whose batches are counted, not decoded, so that the
	// client's record decoding does not bound what is measured.
	ConsumeRaw1P = "consume-raw-1p"
	Produce8P    = "produce-8p"
	Latency1P    = "latency-1p"
)

// Workload describes one workload for the report: how it is named and
// which machine limit bounds its throughput.
type Workload struct {
	ID    string
	Title string
	Short string // for chart labels
	// Throughput is false for a rate-limited run, whose MB/s says nothing
	// and which gets no throughput ratios.
	Throughput bool
	// Limit is the machine limit its throughput is compared with, or "".
	// Produce is bounded by the disk under the default durability (fsync
	// before acks=all answers); consume from the page cache by the network.
	Limit string
}

// Workloads lists the workloads in the order the suite runs them.
var Workloads = []Workload{
	{ID: Produce1P, Title: "produce, 1 partition", Short: "produce 1p", Throughput: true, Limit: LimitDisk},
	{ID: Consume1P, Title: "consume from the start, 1 partition", Short: "consume 1p", Throughput: true, Limit: LimitLoopback},
	{ID: ConsumeRaw1P, Title: "consume from the start, 1 partition, raw fetch (no record decoding)", Short: "consume raw 1p",
		Throughput: true, Limit: LimitLoopback},
	{ID: Produce8P, Title: "produce, 8 partitions", Short: "produce 8p", Throughput: true, Limit: LimitDisk},
	{ID: Latency1P, Title: "produce at a fixed rate, linger 0, 1 partition", Short: "latency 1p"},
}

// WorkloadByID finds a workload of the catalogue.
func WorkloadByID(id string) (Workload, bool) {
	for _, w := range Workloads {
		if w.ID == id {
			return w, true
		}
	}
	return Workload{}, false
}

// Run is one execution of one workload against one broker.
type Run struct {
	Rep      int // 1-based
	Broker   string
	Workload string // a Workload ID
	// Result is nil when the load generator printed nothing usable.
	Result *Result
	// Err says why the run failed, "" when it did not. A run with a
	// Result can still have failed (a non-zero exit after printing).
	Err string
}

// Valid reports whether the run's numbers count toward the medians: it
// finished, was not interrupted and lost no records. Invalid runs still
// appear among the raw numbers.
func (r Run) Valid() bool {
	return r.Err == "" && r.Result != nil && !r.Result.Interrupted && r.Result.Errors == 0
}

// LimitRun is one measurement of a machine limit.
type LimitRun struct {
	Rep      int
	Limit    string
	MBPerSec Value
	// Note says how it was measured or why it could not be.
	Note string
}
