package report

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }

func TestSummarize(t *testing.T) {
	runs, limits := cannedRuns()
	s := Summarize(2, runs, limits)

	if got, want := len(s.Rows), len(Workloads)*len(Brokers); got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
	r, ok := s.Row(Produce1P, Runnel)
	if !ok {
		t.Fatal("no runnel produce-1p row")
	}
	if r.Valid != 2 || r.Runs != 3 {
		t.Errorf("valid/runs = %d/%d, want 2/3 (the failed rep counts as a run, not a number)", r.Valid, r.Runs)
	}
	if !near(r.MBPerSec.V, 915) {
		t.Errorf("median MB/s = %v, want 915", r.MBPerSec)
	}
	if !near(r.RSSMaxBytes.V, 101.5*mib) {
		t.Errorf("median RSS = %v, want 101.5 MiB", r.RSSMaxBytes)
	}
	if !near(r.VsKfake.V, 3) {
		t.Errorf("÷ kfake = %v, want 3", r.VsKfake)
	}
	// Disk's second rep failed: its median is its one good rep.
	if !near(s.Limits[LimitDisk].V, 1200) || !near(s.Limits[LimitLoopback].V, 2500) {
		t.Errorf("limits = %v", s.Limits)
	}
	if !near(r.VsLimit.V, 915.0/1200) {
		t.Errorf("÷ limit = %v, want %v", r.VsLimit, 915.0/1200)
	}
	if k, _ := s.Row(Produce1P, Kfake); k.VsKfake.OK {
		t.Error("kfake row has a ratio to itself")
	}
	if l, _ := s.Row(Latency1P, Runnel); l.VsKfake.OK || l.VsLimit.OK {
		t.Error("rate-limited latency run has throughput ratios")
	}
}

func TestSummarizeMissing(t *testing.T) {
	// Only kfake ran, and one of its reps lost records or was interrupted:
	// those must not count, and Runnel's row is all n/a, not zeros.
	bad := result("produce", 1, 1, 1, 1)
	bad.Errors = 3
	cut := result("produce", 1, 1, 1, 1)
	cut.Interrupted = true
	noBroker := result("produce", 400, 1000, 0, 0)
	noBroker.BrokerCPUSecondsPerGB, noBroker.BrokerRSSMaxBytes = nil, nil
	runs := []Run{
		{Rep: 1, Broker: Kfake, Workload: Produce1P, Result: noBroker},
		{Rep: 2, Broker: Kfake, Workload: Produce1P, Result: bad},
		{Rep: 3, Broker: Kfake, Workload: Produce1P, Result: cut},
	}
	s := Summarize(3, runs, nil)
	k, _ := s.Row(Produce1P, Kfake)
	if k.Valid != 1 || k.MBPerSec != Some(400) {
		t.Errorf("kfake: valid %d, MB/s %v; want 1 and 400", k.Valid, k.MBPerSec)
	}
	if k.CPUSecondsPerGB.OK || k.RSSMaxBytes.OK {
		t.Error("absent broker numbers became present")
	}
	r, _ := s.Row(Produce1P, Runnel)
	if r.MBPerSec.OK || r.VsKfake.OK || r.VsLimit.OK || r.Runs != 0 {
		t.Errorf("runnel row without runs = %+v", r)
	}
	if s.Limits[LimitLoopback].OK {
		t.Error("unmeasured limit is present")
	}
}
