package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Result is the JSON object `runnel bench WORKLOAD ... --json` prints: one
// workload's outcome against one broker. Fields the load generator may
// leave out (no latency for a consumer, no broker numbers without
// --broker-pid) are pointers, so absent stays distinguishable from zero.
type Result struct {
	Workload    string  `json:"workload"`
	Bootstrap   string  `json:"bootstrap"`
	Topic       string  `json:"topic"`
	Partitions  int     `json:"partitions"`
	RecordBytes int     `json:"record_bytes"`
	Records     int64   `json:"records"`
	Keys        int64   `json:"keys"`
	Acks        string  `json:"acks"`
	LingerMS    float64 `json:"linger_ms"`
	BatchBytes  int64   `json:"batch_bytes"`
	Compression string  `json:"compression"`
	Producers   int     `json:"producers"`
	Consumers   int     `json:"consumers"`
	Rate        float64 `json:"rate"`

	ElapsedSeconds float64  `json:"elapsed_seconds"`
	Bytes          int64    `json:"bytes"`
	MBPerSec       float64  `json:"mb_per_sec"` // MB = 10^6 bytes, as iperf3's bits/s ÷ 8e6
	RecordsPerSec  float64  `json:"records_per_sec"`
	LatencyMicros  *Latency `json:"latency_us"`

	BrokerCPUSeconds      *float64 `json:"broker_cpu_seconds"`
	BrokerCPUSecondsPerGB *float64 `json:"broker_cpu_seconds_per_gb"`
	BrokerRSSMaxBytes     *float64 `json:"broker_rss_max_bytes"`

	Errors      int64  `json:"errors"`
	FirstError  string `json:"first_error"`
	Interrupted bool   `json:"interrupted"`
}

// Latency holds end-to-end latency percentiles in microseconds.
type Latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

// ParseResult reads the load generator's stdout. The contract is exactly
// one JSON object, but a stray line before it (a warning printed to the
// wrong stream) should not throw a finished multi-minute run away, so the
// last line that holds an object wins when the whole text is not one.
func ParseResult(stdout []byte) (Result, error) {
	var r Result
	trimmed := bytes.TrimSpace(stdout)
	if len(trimmed) == 0 {
		return r, errors.New("no JSON result on stdout")
	}
	err := json.Unmarshal(trimmed, &r)
	if err == nil {
		return r, nil
	}
	lines := bytes.Split(trimmed, []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		line := bytes.TrimSpace(lines[i])
		if len(line) > 0 && line[0] == '{' {
			var r2 Result
			if json.Unmarshal(line, &r2) == nil {
				return r2, nil
			}
		}
	}
	return r, fmt.Errorf("bad JSON result: %w", err)
}
