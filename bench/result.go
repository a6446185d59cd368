package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Result is what a run measured. Its JSON form is the schema `make bench`
// and other tools parse: fields may be added, never renamed.
type Result struct {
	// The run's settings. Records is the number of records actually done
	// (acknowledged for produce, read for consume and e2e); RecordBytes is
	// the configured value size, or for consume the mean value size read.
	Workload    Workload `json:"workload"`
	Bootstrap   string   `json:"bootstrap"`
	Topic       string   `json:"topic"`
	Partitions  int32    `json:"partitions"`
	RecordBytes int      `json:"record_bytes"`
	Records     int64    `json:"records"`
	Keys        int      `json:"keys"`
	Partitioner string   `json:"partitioner,omitempty"`
	Acks        string   `json:"acks"`
	LingerMs    float64  `json:"linger_ms"`
	BatchBytes  int32    `json:"batch_bytes"`
	Compression string   `json:"compression"`
	Producers   int      `json:"producers"`
	Consumers   int      `json:"consumers"`
	Raw         bool     `json:"raw,omitempty"` // consume --raw: batch bytes counted, records not decoded
	Rate        float64  `json:"rate"`

	// Throughput over the window from the first send (consume: the first
	// fetch) to the last acknowledgement (the last record read). Bytes are
	// payload bytes, key plus value; MB are 1e6 bytes.
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	Bytes          int64   `json:"bytes"`
	MBPerSec       float64 `json:"mb_per_sec"`
	RecordsPerSec  float64 `json:"records_per_sec"`

	// Latency is produce latency (ack − send) for produce, end-to-end
	// latency (receive − send) for e2e, and empty for consume. With a
	// fixed rate, send times are the intended ones (coordinated-omission
	// corrected). ProduceLatency is the ack latency of an e2e run's
	// producers.
	Latency        LatencySummary  `json:"latency_us"`
	ProduceLatency *LatencySummary `json:"produce_latency_us,omitempty"`

	// The broker's resource use over the same window; absent without a
	// broker PID or admin URL. Per GB is per 1e9 payload bytes.
	BrokerCPUSeconds      *float64 `json:"broker_cpu_seconds,omitempty"`
	BrokerCPUSecondsPerGB *float64 `json:"broker_cpu_seconds_per_gb,omitempty"`
	BrokerRSSMaxBytes     *int64   `json:"broker_rss_max_bytes,omitempty"`

	// Errors counts failed records (produce) and failed fetches (consume);
	// FirstError is the first of them.
	Errors      int64  `json:"errors"`
	FirstError  string `json:"first_error,omitempty"`
	Interrupted bool   `json:"interrupted"`
}

// newResult fills in the settings of cfg, which Validate has checked.
func newResult(cfg *Config, partitions int32) Result {
	r := Result{
		Workload:    cfg.Workload,
		Bootstrap:   strings.Join(cfg.Brokers, ","),
		Topic:       cfg.Topic,
		Partitions:  partitions,
		RecordBytes: cfg.RecordSize,
		Acks:        cfg.Acks,
		LingerMs:    float64(cfg.Linger) / float64(time.Millisecond),
		BatchBytes:  cfg.BatchBytes,
		Compression: cfg.Compression,
		Rate:        cfg.Rate,
	}
	if cfg.produces() {
		r.Keys, r.Partitioner, r.Producers = cfg.Keys, cfg.PartitionerName, cfg.Producers
	}
	if cfg.consumes() {
		r.Consumers = cfg.Consumers
		r.Raw = cfg.Raw
	}
	return r
}

// setThroughput fills in the counts and rates of records and bytes done
// over elapsed.
func (r *Result) setThroughput(records, bytes int64, elapsed time.Duration) {
	r.Records, r.Bytes = records, bytes
	r.ElapsedSeconds = elapsed.Seconds()
	if elapsed > 0 {
		r.MBPerSec = float64(bytes) / 1e6 / elapsed.Seconds()
		r.RecordsPerSec = float64(records) / elapsed.Seconds()
	}
}

// setBroker fills in the broker's resource use.
func (r *Result) setBroker(u brokerUsage) {
	cpu, rss := u.cpuSeconds, u.maxRSS
	r.BrokerCPUSeconds, r.BrokerRSSMaxBytes = &cpu, &rss
	if r.Bytes > 0 {
		perGB := cpu / (float64(r.Bytes) / 1e9)
		r.BrokerCPUSecondsPerGB = &perGB
	}
}

// WriteText writes a short summary for people.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	what := "produced %d records (%.1f MB) to %s"
	switch r.Workload {
	case Consume:
		what = "consumed %d records (%.1f MB) from %s"
	case EndToEnd:
		what = "produced and consumed %d records (%.1f MB) through %s"
	}
	fmt.Fprintf(&b, what, r.Records, float64(r.Bytes)/1e6, r.Topic)
	fmt.Fprintf(&b, " in %.2f s: %.1f MB/s, %.0f records/s\n", r.ElapsedSeconds, r.MBPerSec, r.RecordsPerSec)
	switch r.Workload {
	case Produce:
		writeLatency(&b, "latency (ack − send)", r.Latency, r.Rate)
	case EndToEnd:
		writeLatency(&b, "latency (receive − send)", r.Latency, r.Rate)
		if r.ProduceLatency != nil {
			writeLatency(&b, "produce latency (ack − send)", *r.ProduceLatency, r.Rate)
		}
	}
	if r.BrokerCPUSeconds != nil {
		fmt.Fprintf(&b, "broker: %.2f CPU-seconds", *r.BrokerCPUSeconds)
		if r.BrokerCPUSecondsPerGB != nil {
			fmt.Fprintf(&b, " (%.2f per GB)", *r.BrokerCPUSecondsPerGB)
		}
		fmt.Fprintf(&b, ", peak RSS %.1f MiB\n", float64(*r.BrokerRSSMaxBytes)/(1<<20))
	}
	if r.Errors > 0 {
		fmt.Fprintf(&b, "errors: %d; the first: %s\n", r.Errors, r.FirstError)
	}
	if r.Interrupted {
		b.WriteString("interrupted: these are the figures up to the interruption\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeLatency(b *strings.Builder, what string, l LatencySummary, rate float64) {
	fmt.Fprintf(b, "%s: p50 %s, p99 %s, p99.9 %s, max %s over %d records",
		what, micros(l.P50), micros(l.P99), micros(l.P999), micros(l.Max), l.Count)
	if rate > 0 {
		b.WriteString(", from intended send times")
	}
	b.WriteString("\n")
}

// micros formats a number of microseconds for people.
func micros(us int64) string {
	switch {
	case us < 1000:
		return fmt.Sprintf("%d µs", us)
	case us < 1_000_000:
		return fmt.Sprintf("%.2f ms", float64(us)/1e3)
	}
	return fmt.Sprintf("%.2f s", float64(us)/1e6)
}
