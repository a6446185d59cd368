package report

// Canned results, shaped like `runnel bench --json` output.

func f(v float64) *float64 { return &v }

// result builds a plausible result with the given throughput, p99 (µs),
// broker CPU-s/GB and RSS (MiB).
func result(workload string, mbps, p99, cpuPerGB, rssMiB float64) *Result {
	return &Result{
		Workload: workload, RecordBytes: 1024, Records: 2_000_000, Acks: "all",
		ElapsedSeconds: 2048 / mbps, Bytes: 2_048_000_000, MBPerSec: mbps, RecordsPerSec: mbps * 1e6 / 1024,
		LatencyMicros:         &Latency{Count: 2_000_000, P50: p99 / 4, P99: p99, P999: p99 * 2, Max: p99 * 5},
		BrokerCPUSeconds:      f(cpuPerGB * 2.048),
		BrokerCPUSecondsPerGB: f(cpuPerGB),
		BrokerRSSMaxBytes:     f(rssMiB * mib),
	}
}

// cannedRuns is two reps of every workload against both brokers, with
// Runnel three times kfake's produce throughput, plus one failed rep.
func cannedRuns() ([]Run, []LimitRun) {
	var runs []Run
	for rep := 1; rep <= 2; rep++ {
		d := float64(rep) // reps differ a little, so medians are means of two
		runs = append(runs,
			Run{Rep: rep, Broker: Runnel, Workload: Produce1P, Result: result("produce", 900+d*10, 3000, 0.4, 100+d)},
			Run{Rep: rep, Broker: Kfake, Workload: Produce1P, Result: result("produce", 300+d*10/3, 9000, 1.5, 2500)},
			Run{Rep: rep, Broker: Runnel, Workload: Consume1P, Result: result("consume", 1500, 0, 0.3, 90)},
			Run{Rep: rep, Broker: Kfake, Workload: Consume1P, Result: result("consume", 800, 0, 0.9, 2500)},
			Run{Rep: rep, Broker: Runnel, Workload: ConsumeRaw1P, Result: result("consume", 2500, 0, 0.28, 90)},
			Run{Rep: rep, Broker: Kfake, Workload: ConsumeRaw1P, Result: result("consume", 1200, 0, 0.8, 2500)},
			Run{Rep: rep, Broker: Runnel, Workload: Produce8P, Result: result("produce", 1000, 3000, 0.45, 300)},
			Run{Rep: rep, Broker: Kfake, Workload: Produce8P, Result: result("produce", 500, 8000, 1.2, 2600)},
			Run{Rep: rep, Broker: Runnel, Workload: Latency1P, Result: result("produce", 20, 4000+d*1000, 0.5, 80)},
			Run{Rep: rep, Broker: Kfake, Workload: Latency1P, Result: result("produce", 20, 2000, 1, 200)},
		)
	}
	runs = append(runs, Run{Rep: 3, Broker: Runnel, Workload: Produce1P, Err: "exit status 1: broker went away"})
	limits := []LimitRun{
		{Rep: 1, Limit: LimitLoopback, MBPerSec: Some(3000)},
		{Rep: 2, Limit: LimitLoopback, MBPerSec: Some(2000)},
		{Rep: 1, Limit: LimitDisk, MBPerSec: Some(1200)},
		{Rep: 2, Limit: LimitDisk, MBPerSec: None, Note: "fdatasync: input/output error"},
	}
	return runs, limits
}
