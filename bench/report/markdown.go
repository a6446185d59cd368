package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Machine describes where a run happened.
type Machine struct {
	CPUs      int
	CPUModel  string
	Kernel    string // uname -r
	GoVersion string
	Commit    string // Runnel's git commit; "" when unknown
}

// String is the one machine line of RESULTS.md.
func (m Machine) String() string {
	model := m.CPUModel
	if model == "" {
		model = "unknown CPU"
	}
	commit := m.Commit
	if commit == "" {
		commit = "unknown"
	}
	return fmt.Sprintf("%d CPUs (%s), Linux %s, %s, Runnel commit %s", m.CPUs, model, m.Kernel, m.GoVersion, commit)
}

// Report is everything RESULTS.md says about one run.
type Report struct {
	Date        time.Time
	Machine     Machine
	Command     string // the exact command line
	Setup       string // one line: record size, acks, batching, records per rep
	Summary     Summary
	Evaluations []Evaluation
	Runs        []Run
	Limits      []LimitRun
	// Notes lists what could not be measured and why.
	Notes []string
}

// Markdown renders RESULTS.md.
func (r Report) Markdown() string {
	var b strings.Builder
	b.WriteString("# Runnel benchmark results\n\n")
	b.WriteString("Written by `make bench` (bench/suite); rerun it rather than editing this file.\n\n")
	fmt.Fprintf(&b, "- Date: %s\n", r.Date.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- Machine: %s\n", r.Machine)
	fmt.Fprintf(&b, "- Command: `%s`\n", r.Command)
	if r.Setup != "" {
		fmt.Fprintf(&b, "- Setup: %s\n", r.Setup)
	}
	b.WriteString("\nMB is 10^6 bytes; latencies are in milliseconds; every number is the median of the reps " +
		"that completed without errors. Each broker starts fresh for each group of workloads, " +
		"and the brokers and machine limits take turns within each rep. " +
		"The disk limit syncs after every 1 MiB write; a broker that syncs several batches at once " +
		"(group commit) can beat it.\n\n")
	b.WriteString(r.body())
	b.WriteString("\n## Every rep\n\n")
	b.WriteString(r.rawRuns().String())
	b.WriteString("\n")
	b.WriteString(r.rawLimits().String())
	return b.String()
}

// Text is what the suite prints to stdout at the end: medians, limits,
// targets and notes, without the raw reps.
func (r Report) Text() string {
	return fmt.Sprintf("Machine: %s\n\n%s", r.Machine, r.body())
}

func (r Report) body() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Medians of %s\n\n", Plural(r.Summary.Reps, "rep"))
	b.WriteString(r.mediansTable().String())
	b.WriteString("\n## Machine limits\n\n")
	b.WriteString(r.limitsTable().String())
	b.WriteString("\n## Targets\n\n")
	b.WriteString(r.targetsTable().String())
	if len(r.Notes) > 0 {
		b.WriteString("\n## Not measured\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}

func (r Report) mediansTable() *table {
	t := &table{
		header: []string{"workload", "broker", "reps", "MB/s", "records/s", "p50", "p99", "p99.9", "max",
			"CPU-s/GB", "RSS MiB", "÷ kfake", "÷ limit"},
		right: []bool{false, false, true, true, true, true, true, true, true, true, true, true, true},
	}
	for _, row := range r.Summary.Rows {
		t.add(row.Workload.Title, row.Broker, fmt.Sprintf("%d/%d", row.Valid, row.Runs),
			num(row.MBPerSec), num(row.RecordsPerSec),
			micros(row.P50), micros(row.P99), micros(row.P999), micros(row.Max),
			num(row.CPUSecondsPerGB), mibs(row.RSSMaxBytes), ratio(row.VsKfake), ratio(row.VsLimit))
	}
	return t
}

func (r Report) limitsTable() *table {
	t := &table{header: []string{"limit", "median MB/s", "compared with"}, right: []bool{false, true}}
	for _, l := range Limits {
		var users []string
		for _, w := range Workloads {
			if w.Limit == l {
				users = append(users, w.Title)
			}
		}
		t.add(l, num(r.Summary.Limits[l]), strings.Join(users, "; "))
	}
	return t
}

func (r Report) targetsTable() *table {
	t := &table{header: []string{"target", "goal", "measured", "verdict"}, right: []bool{false, true, true}}
	for _, e := range r.Evaluations {
		t.add(e.Name, e.GoalText(), num(e.Measured), e.Verdict())
	}
	return t
}

func (r Report) rawRuns() *table {
	t := &table{
		header: []string{"rep", "broker", "workload", "MB/s", "records/s", "p50", "p99", "p99.9", "max",
			"CPU-s", "CPU-s/GB", "RSS MiB", "elapsed s", "errors", "note"},
		right: []bool{true, false, false, true, true, true, true, true, true, true, true, true, true, true},
	}
	for _, run := range r.Runs {
		cells := []string{strconv.Itoa(run.Rep), run.Broker, run.Workload}
		if res := run.Result; res != nil {
			lat := res.LatencyMicros
			if lat == nil || lat.Count == 0 {
				lat = &Latency{}
			}
			latV := func(v float64) Value {
				if lat.Count == 0 {
					return None
				}
				return Some(v)
			}
			cells = append(cells, formatNumber(res.MBPerSec), formatNumber(res.RecordsPerSec),
				micros(latV(lat.P50)), micros(latV(lat.P99)), micros(latV(lat.P999)), micros(latV(lat.Max)),
				num(ptrValue(res.BrokerCPUSeconds)), num(ptrValue(res.BrokerCPUSecondsPerGB)),
				mibs(ptrValue(res.BrokerRSSMaxBytes)), formatNumber(res.ElapsedSeconds),
				strconv.FormatInt(res.Errors, 10))
		} else {
			for range 11 {
				cells = append(cells, na)
			}
		}
		note := run.Err
		if res := run.Result; res != nil && res.FirstError != "" && !strings.Contains(note, res.FirstError) {
			note = strings.TrimPrefix(note+"; first error: "+res.FirstError, "; ")
		}
		if run.Result != nil && run.Result.Interrupted {
			note = strings.TrimPrefix(note+"; interrupted", "; ")
		}
		t.add(append(cells, escapeCell(note))...)
	}
	return t
}

func (r Report) rawLimits() *table {
	t := &table{header: []string{"rep", "limit", "MB/s", "note"}, right: []bool{true, false, true}}
	for _, l := range r.Limits {
		t.add(strconv.Itoa(l.Rep), l.Limit, num(l.MBPerSec), escapeCell(l.Note))
	}
	return t
}

// escapeCell keeps free text (error messages) from breaking a table row.
func escapeCell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}
