package bench

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// schemaKeys are the keys `make bench` reads; renaming one breaks it.
var schemaKeys = []string{
	"workload", "bootstrap", "topic", "partitions", "record_bytes", "records", "keys", "acks", "linger_ms",
	"batch_bytes", "compression", "producers", "consumers", "rate", "elapsed_seconds", "bytes", "mb_per_sec",
	"records_per_sec", "latency_us", "errors", "interrupted",
}

var brokerKeys = []string{"broker_cpu_seconds", "broker_cpu_seconds_per_gb", "broker_rss_max_bytes"}

func sampleResult() Result {
	cfg := DefaultConfig(Produce)
	cfg.Records = 2_000_000
	r := newResult(&cfg, 1)
	r.setThroughput(2_000_000, 2_048_000_000, 4100*time.Millisecond)
	r.Latency = LatencySummary{Count: 2_000_000, P50: 1234, P99: 5678, P999: 9000, Max: 12000}
	return r
}

func TestResultJSONSchema(t *testing.T) {
	r := sampleResult()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range schemaKeys {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	for _, k := range brokerKeys {
		if _, ok := m[k]; ok {
			t.Errorf("JSON has %q without broker figures: %s", k, b)
		}
	}
	lat := m["latency_us"].(map[string]any)
	for _, k := range []string{"count", "p50", "p99", "p999", "max"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency_us lacks %q", k)
		}
	}
	want := map[string]any{"workload": "produce", "bootstrap": "127.0.0.1:9092", "topic": "runnel-bench",
		"partitions": 1.0, "record_bytes": 1024.0, "records": 2e6, "acks": "all", "linger_ms": 5.0,
		"batch_bytes": 1048576.0, "compression": "none", "producers": 1.0, "consumers": 0.0, "rate": 0.0,
		"elapsed_seconds": 4.1, "bytes": 2.048e9, "interrupted": false}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v (%T), want %v", k, m[k], m[k], v)
		}
	}
	if mbps := m["mb_per_sec"].(float64); mbps < 499.5 || mbps > 499.6 {
		t.Errorf("mb_per_sec = %v, want 2048 MB / 4.1 s", mbps)
	}

	// With broker figures, and back.
	r.setBroker(brokerUsage{cpuSeconds: 1.2, maxRSS: 123456789})
	b, err = json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, r)
	}
	if perGB := *back.BrokerCPUSecondsPerGB; perGB < 0.585 || perGB > 0.586 {
		t.Fatalf("CPU-seconds per GB = %v, want 1.2 / 2.048", perGB)
	}
	for _, k := range brokerKeys {
		if !bytes.Contains(b, []byte(`"`+k+`":`)) {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
}

func TestResultText(t *testing.T) {
	r := sampleResult()
	r.setBroker(brokerUsage{cpuSeconds: 1.2, maxRSS: 64 << 20})
	r.Errors, r.FirstError, r.Interrupted = 3, "boom", true
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"produced 2000000 records (2048.0 MB) to runnel-bench in 4.10 s: 499.5 MB/s, 487805 records/s",
		"p50 1.23 ms, p99 5.68 ms, p99.9 9.00 ms, max 12.00 ms over 2000000 records",
		"broker: 1.20 CPU-seconds (0.59 per GB), peak RSS 64.0 MiB",
		"errors: 3; the first: boom",
		"interrupted",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
}

func TestSummarize(t *testing.T) {
	if s := summarize(newHistogram()); s != (LatencySummary{}) {
		t.Fatalf("empty: %+v", s)
	}
	h := newHistogram()
	for i := 1; i <= 1000; i++ {
		recordLatency(h, time.Duration(i)*time.Millisecond)
	}
	recordLatency(h, -time.Second)  // clamped to 0
	recordLatency(h, 2*time.Minute) // clamped to 60 s
	s := summarize(h)
	if s.Count != 1002 || s.P50 < 499_000 || s.P50 > 501_000 || !(s.P50 <= s.P99 && s.P99 <= s.P999 && s.P999 <= s.Max) ||
		s.Max < 59_900_000 || s.Max > 60_100_000 {
		t.Fatalf("summary %+v", s)
	}
}
