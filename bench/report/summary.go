package report

// Row holds the medians of one workload against one broker.
type Row struct {
	Workload Workload
	Broker   string
	// Valid of Runs reps produced numbers that count.
	Valid, Runs int

	MBPerSec, RecordsPerSec Value
	// Latency percentiles in microseconds.
	P50, P99, P999, Max Value
	CPUSecondsPerGB     Value
	RSSMaxBytes         Value

	// VsKfake is this row's MB/s ÷ kfake's for the same workload; only a
	// Runnel row of a throughput workload has one.
	VsKfake Value
	// VsLimit is this row's MB/s ÷ the median of the workload's limit.
	VsLimit Value
}

// Summary is the medians of a whole run.
type Summary struct {
	Reps int
	// Rows holds one row per workload and broker, in catalogue order.
	Rows []Row
	// Limits holds the median of each machine limit.
	Limits map[string]Value
}

// Summarize reduces every rep's numbers to medians and ratios.
func Summarize(reps int, runs []Run, limits []LimitRun) Summary {
	s := Summary{Reps: reps, Limits: map[string]Value{}}
	for _, l := range Limits {
		var vs []Value
		for _, lr := range limits {
			if lr.Limit == l {
				vs = append(vs, lr.MBPerSec)
			}
		}
		s.Limits[l] = medianOf(vs)
	}
	for _, w := range Workloads {
		for _, b := range Brokers {
			s.Rows = append(s.Rows, summarizeRow(w, b, runs))
		}
	}
	for i := range s.Rows {
		r := &s.Rows[i]
		if !r.Workload.Throughput {
			continue
		}
		if r.Broker == Runnel {
			if k, ok := s.Row(r.Workload.ID, Kfake); ok {
				r.VsKfake = Ratio(r.MBPerSec, k.MBPerSec)
			}
		}
		if r.Workload.Limit != "" {
			r.VsLimit = Ratio(r.MBPerSec, s.Limits[r.Workload.Limit])
		}
	}
	return s
}

func summarizeRow(w Workload, broker string, runs []Run) Row {
	row := Row{Workload: w, Broker: broker}
	var mb, rps, p50, p99, p999, pmax, cpu, rss []Value
	for _, r := range runs {
		if r.Workload != w.ID || r.Broker != broker {
			continue
		}
		row.Runs++
		if !r.Valid() {
			continue
		}
		row.Valid++
		res := r.Result
		mb = append(mb, Some(res.MBPerSec))
		rps = append(rps, Some(res.RecordsPerSec))
		if l := res.LatencyMicros; l != nil && l.Count > 0 {
			p50 = append(p50, Some(l.P50))
			p99 = append(p99, Some(l.P99))
			p999 = append(p999, Some(l.P999))
			pmax = append(pmax, Some(l.Max))
		}
		cpu = append(cpu, ptrValue(res.BrokerCPUSecondsPerGB))
		rss = append(rss, ptrValue(res.BrokerRSSMaxBytes))
	}
	row.MBPerSec, row.RecordsPerSec = medianOf(mb), medianOf(rps)
	row.P50, row.P99, row.P999, row.Max = medianOf(p50), medianOf(p99), medianOf(p999), medianOf(pmax)
	row.CPUSecondsPerGB, row.RSSMaxBytes = medianOf(cpu), medianOf(rss)
	return row
}

// Row returns the row of one workload and broker.
func (s Summary) Row(workload, broker string) (Row, bool) {
	for _, r := range s.Rows {
		if r.Workload.ID == workload && r.Broker == broker {
			return r, true
		}
	}
	return Row{}, false
}
