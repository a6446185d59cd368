package report

import (
	"fmt"
	"math"
)

// Target is one goal of the benchmark issue.
type Target struct {
	Name string
	// AtMost is true for a ceiling (≤ Goal), false for a floor (≥ Goal).
	AtMost bool
	Goal   float64
	Unit   string
	// measure picks the judged number out of a summary, in Unit.
	measure func(Summary) Value
}

// Evaluation is a target judged against a run.
type Evaluation struct {
	Target
	Measured Value
}

// Judged reports whether there was a number to judge.
func (e Evaluation) Judged() bool { return e.Measured.OK }

// Met reports whether the target was met; false when it was not judged.
func (e Evaluation) Met() bool {
	if !e.Measured.OK {
		return false
	}
	if e.AtMost {
		return e.Measured.V <= e.Goal
	}
	return e.Measured.V >= e.Goal
}

// Verdict says met or missed and by how much, relative to the goal:
// "met, 38% under", "missed by 24% (0.12 CPU-s/GB)", "not measured".
func (e Evaluation) Verdict() string {
	if !e.Measured.OK {
		return "not measured"
	}
	diff := e.Measured.V - e.Goal
	pct := 100 * math.Abs(diff) / e.Goal
	if e.Met() {
		if pct < 0.5 {
			return "met, at the goal"
		}
		dir := "over"
		if e.AtMost {
			dir = "under"
		}
		return fmt.Sprintf("met, %.0f%% %s", pct, dir)
	}
	return fmt.Sprintf("MISSED by %.0f%% (%s %s)", pct, formatNumber(math.Abs(diff)), e.Unit)
}

// GoalText renders the target as "≤ 0.5 CPU-s/GB".
func (t Target) GoalText() string {
	op := "≥"
	if t.AtMost {
		op = "≤"
	}
	return fmt.Sprintf("%s %s %s", op, formatNumber(t.Goal), t.Unit)
}

const mib = 1 << 20

// LatencyGoalMS is the p99 goal of the latency workload, in milliseconds;
// the chart draws it too.
const LatencyGoalMS = 5

// Targets returns the targets. latencyRate is the records/s of
// the latency run, which its target is stated for.
func Targets(latencyRate float64) []Target {
	runnel := func(workload string, field func(Row) Value) func(Summary) Value {
		return func(s Summary) Value {
			r, ok := s.Row(workload, Runnel)
			if !ok {
				return None
			}
			return field(r)
		}
	}
	cpu := func(r Row) Value { return r.CPUSecondsPerGB }
	vsKfake := func(r Row) Value { return r.VsKfake }
	vsLimit := func(r Row) Value { return r.VsLimit }
	return []Target{
		{Name: "produce, 1 partition: broker CPU per GB", AtMost: true, Goal: 0.5, Unit: "CPU-s/GB",
			measure: runnel(Produce1P, cpu)},
		{Name: "produce, 8 partitions: broker CPU per GB", AtMost: true, Goal: 0.5, Unit: "CPU-s/GB",
			measure: runnel(Produce8P, cpu)},
		{Name: "produce throughput, 1 partition, vs kfake", Goal: 2.5, Unit: "× kfake",
			measure: runnel(Produce1P, vsKfake)},
		{Name: "produce throughput, 8 partitions, vs kfake", Goal: 2.5, Unit: "× kfake",
			measure: runnel(Produce8P, vsKfake)},
		{Name: "consume from the beginning: broker CPU per GB", AtMost: true, Goal: 0.25, Unit: "CPU-s/GB",
			measure: runnel(Consume1P, cpu)},
		{Name: "consume from the beginning, raw fetch (client not decoding records): broker CPU per GB", AtMost: true, Goal: 0.25, Unit: "CPU-s/GB",
			measure: runnel(ConsumeRaw1P, cpu)},
		{Name: "consume throughput vs loopback TCP", Goal: 0.6, Unit: "× iperf3",
			measure: runnel(Consume1P, vsLimit)},
		{Name: "consume throughput vs loopback TCP, raw fetch (client not decoding records)", Goal: 0.6, Unit: "× iperf3",
			measure: runnel(ConsumeRaw1P, vsLimit)},
		{Name: fmt.Sprintf("produce latency p99 at %s records/s, linger 0", formatNumber(latencyRate)),
			AtMost: true, Goal: LatencyGoalMS, Unit: "ms",
			measure: runnel(Latency1P, func(r Row) Value {
				if !r.P99.OK {
					return None
				}
				return Some(r.P99.V / 1000)
			})},
		{Name: "broker RSS during the produce runs (larger of 1 and 8 partitions)", AtMost: true, Goal: 256, Unit: "MiB",
			measure: func(s Summary) Value {
				rss := func(r Row) Value { return r.RSSMaxBytes }
				v := maxValue(runnel(Produce1P, rss)(s), runnel(Produce8P, rss)(s))
				if !v.OK {
					return None
				}
				return Some(v.V / mib)
			}},
	}
}

// Evaluate judges every target against a summary.
func Evaluate(s Summary, targets []Target) []Evaluation {
	out := make([]Evaluation, len(targets))
	for i, t := range targets {
		out[i] = Evaluation{Target: t, Measured: t.measure(s)}
	}
	return out
}
