package main

import (
	"fmt"
	"strings"

	"github.com/runnel-dev/runnel/bench/report"
)

// step is one unit of the schedule: either a machine limit measured once,
// or a broker session, in which one freshly started broker serves one or
// more workloads in order and is then stopped.
type step struct {
	rep       int
	limit     string   // a report.Limit*; "" for a broker session
	broker    string   // report.Runnel or report.Kfake
	workloads []string // report workload IDs, in order
}

func (s step) String() string {
	if s.limit != "" {
		return fmt.Sprintf("rep %d: %s", s.rep, s.limit)
	}
	return fmt.Sprintf("rep %d: %s %s", s.rep, s.broker, strings.Join(s.workloads, ", "))
}

// sessions groups the workloads that share a broker. Consume reads what
// produce-1p wrote, so the two share one; everything else gets a broker
// of its own, which also keeps kfake (which holds every record in RAM)
// from carrying gigabytes from one workload into the next.
var sessions = [][]string{
	{report.Produce1P, report.Consume1P, report.ConsumeRaw1P},
	{report.Produce8P},
	{report.Latency1P},
}

// dependsOn names the workload that must have succeeded earlier in the
// same session, or "".
func dependsOn(workload string) string {
	if workload == report.Consume1P || workload == report.ConsumeRaw1P {
		return report.Produce1P
	}
	return ""
}

// plan lays out every rep. The brokers take turns session by session
// (Runnel, kfake, Runnel, kfake, ...) and the machine limits sit between
// them, so slow drift of the machine (thermal, page cache, a neighbour)
// lands on both brokers and the limits alike instead of on whichever ran
// last.
func plan(reps int) []step {
	var out []step
	for rep := 1; rep <= reps; rep++ {
		for i, ws := range sessions {
			switch i {
			case 0:
				out = append(out, step{rep: rep, limit: report.LimitDisk})
			case 1:
				out = append(out, step{rep: rep, limit: report.LimitLoopback})
			}
			for _, b := range report.Brokers {
				out = append(out, step{rep: rep, broker: b, workloads: ws})
			}
		}
	}
	return out
}
