package report

import (
	"strings"
	"testing"
	"time"
)

func cannedReport() Report {
	runs, limits := cannedRuns()
	s := Summarize(2, runs, limits)
	return Report{
		Date: time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC),
		Machine: Machine{CPUs: 2, CPUModel: "AMD EPYC", Kernel: "6.18.44", GoVersion: "go1.26.8",
			Commit: "03ec4e1"},
		Command:     "bin/bench-suite --records 2000000 --reps 2",
		Summary:     s,
		Evaluations: Evaluate(s, Targets(20000)),
		Runs:        runs,
		Limits:      limits,
		Notes:       []string{"loopback TCP (iperf3): iperf3 is not installed"},
	}
}

func TestMarkdown(t *testing.T) {
	r := cannedReport()
	md := r.Markdown()
	for _, want := range []string{
		"- Machine: 2 CPUs (AMD EPYC), Linux 6.18.44, go1.26.8, Runnel commit 03ec4e1",
		"- Date: 2026-10-01 12:00 UTC",
		"`bin/bench-suite --records 2000000 --reps 2`",
		"## Medians of 2 reps",
		"## Targets",
		"## Every rep",
		"MISSED by 10% (0.5 ms)",
		"3.00×",                           // runnel ÷ kfake, produce 1p
		"exit status 1: broker went away", // the failed rep is listed
		"fdatasync: input/output error",   // and the failed limit
		"iperf3 is not installed",         // and what could not be measured
	} {
		if !strings.Contains(md, want) {
			t.Errorf("RESULTS.md lacks %q", want)
		}
	}
	_, medians, _ := strings.Cut(md, "## Medians")
	medians, _, _ = strings.Cut(medians, "## Machine limits")
	for _, w := range Workloads {
		if n := strings.Count(medians, "| "+w.Title+" "); n != len(Brokers) {
			t.Errorf("workload %q appears in %d median rows, want %d", w.Title, n, len(Brokers))
		}
		if n := strings.Count(md, "| "+w.ID+" "); n < 2*len(Brokers) {
			t.Errorf("workload %q appears in %d raw rows, want at least %d", w.ID, n, 2*len(Brokers))
		}
	}
	for _, e := range r.Evaluations {
		if !strings.Contains(md, e.Name) {
			t.Errorf("target %q missing", e.Name)
		}
	}
	// Every table line has as many cells as its header.
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "|") && !strings.HasSuffix(line, "|") {
			t.Errorf("broken table line %q", line)
		}
	}

	txt := r.Text()
	if !strings.Contains(txt, "Machine: 2 CPUs") || !strings.Contains(txt, "## Targets") {
		t.Errorf("stdout text lacks machine or targets:\n%s", txt)
	}
	if strings.Contains(txt, "## Every rep") {
		t.Error("stdout text repeats the raw reps")
	}
}

func TestTableAligns(t *testing.T) {
	tb := &table{header: []string{"name", "÷ x"}, right: []bool{false, true}}
	tb.add("a", "1.00×")
	tb.add("longer", "–")
	lines := strings.Split(strings.TrimSpace(tb.String()), "\n")
	want := []string{
		"| name   |   ÷ x |",
		"| ------ | ----: |",
		"| a      | 1.00× |",
		"| longer |     – |",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("table:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseResult(t *testing.T) {
	canned := `{"workload":"produce","bootstrap":"127.0.0.1:9092","topic":"runnel-bench","partitions":1,
 "record_bytes":1024,"records":2000000,"keys":0,"acks":"all","linger_ms":5,"batch_bytes":1048576,
 "compression":"none","producers":1,"consumers":0,"rate":0,
 "elapsed_seconds":4.1,"bytes":2048000000,"mb_per_sec":499.5,"records_per_sec":487804,
 "latency_us":{"count":2000000,"p50":1234,"p99":5678,"p999":9000,"max":12000},
 "broker_cpu_seconds":1.2,"broker_cpu_seconds_per_gb":0.59,"broker_rss_max_bytes":123456789,
 "errors":0,"interrupted":false}`
	r, err := ParseResult([]byte(canned + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r.MBPerSec != 499.5 || r.LatencyMicros == nil || r.LatencyMicros.P99 != 5678 ||
		r.BrokerCPUSecondsPerGB == nil || *r.BrokerCPUSecondsPerGB != 0.59 || r.Partitions != 1 {
		t.Errorf("parsed %+v", r)
	}

	// A stray line before the object is tolerated; absent fields stay nil.
	r, err = ParseResult([]byte("warning: something\n{\"workload\":\"consume\",\"mb_per_sec\":10}\n"))
	if err != nil || r.Workload != "consume" || r.LatencyMicros != nil || r.BrokerRSSMaxBytes != nil {
		t.Errorf("with a stray line: %+v, %v", r, err)
	}
	for _, bad := range []string{"", "  \n", "not json", `{"workload":`} {
		if _, err := ParseResult([]byte(bad)); err == nil {
			t.Errorf("ParseResult(%q) succeeded", bad)
		}
	}
}
