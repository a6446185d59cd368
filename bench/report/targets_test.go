package report

import (
	"strings"
	"testing"
)

func TestEvaluate(t *testing.T) {
	runs, limits := cannedRuns()
	evals := Evaluate(Summarize(2, runs, limits), Targets(20000))
	if len(evals) != 10 {
		t.Fatalf("%d evaluations, want 10", len(evals))
	}
	want := map[string]struct {
		measured float64
		met      bool
		verdict  string
	}{
		"produce, 1 partition: broker CPU per GB":                                                {0.4, true, "met, 20% under"},
		"produce throughput, 1 partition, vs kfake":                                              {3, true, "met, 20% over"},
		"produce throughput, 8 partitions, vs kfake":                                             {2, false, "MISSED by 20% (0.5 × kfake)"},
		"consume from the beginning: broker CPU per GB":                                          {0.3, false, "MISSED by 20% (0.05 CPU-s/GB)"},
		"consume throughput vs loopback TCP":                                                     {0.6, true, "met, at the goal"}, // exactly on the goal
		"consume from the beginning, raw fetch (client not decoding records): broker CPU per GB": {0.28, false, "MISSED by 12% (0.03 CPU-s/GB)"},
		"produce latency p99 at 20000 records/s, linger 0":                                       {5.5, false, "MISSED by 10% (0.5 ms)"},
		// the larger of produce-1p (101.5) and produce-8p (300)
		"broker RSS during the produce runs (larger of 1 and 8 partitions)": {300, false, "MISSED by 17% (44 MiB)"},
	}
	seen := 0
	for _, e := range evals {
		w, ok := want[e.Name]
		if !ok {
			continue
		}
		seen++
		if !e.Judged() || !near(e.Measured.V, w.measured) {
			t.Errorf("%s: measured %v, want %v", e.Name, e.Measured, w.measured)
		}
		if e.Met() != w.met {
			t.Errorf("%s: met = %v, want %v", e.Name, e.Met(), w.met)
		}
		if got := e.Verdict(); got != w.verdict {
			t.Errorf("%s: verdict %q, want %q", e.Name, got, w.verdict)
		}
	}
	if seen != len(want) {
		t.Errorf("found %d of the %d expected targets", seen, len(want))
	}
}

func TestEvaluateUnmeasured(t *testing.T) {
	// No iperf3, no runs at all: every target is unjudged, none is "met".
	for _, e := range Evaluate(Summarize(1, nil, nil), Targets(20000)) {
		if e.Judged() || e.Met() || e.Verdict() != "not measured" {
			t.Errorf("%s: judged %v, met %v, verdict %q", e.Name, e.Judged(), e.Met(), e.Verdict())
		}
		if !strings.ContainsAny(e.GoalText(), "≤≥") {
			t.Errorf("%s: goal %q has no comparison", e.Name, e.GoalText())
		}
	}
}
