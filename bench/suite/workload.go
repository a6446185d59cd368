package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/runnel-dev/runnel/bench/report"
)

// The settings every run shares, from the issue: 1 KiB records, acks=all,
// 1 MiB batches, no compression.
const (
	recordSize  = 1024
	batchBytes  = 1 << 20
	acks        = "all"
	compression = "none"
	linger      = "5ms"
	// latencyLinger sends every record at once: the latency run measures
	// the broker, not the producer's batching delay.
	latencyLinger = "0s"
)

// workloadSpec is how one report workload maps onto `runnel bench`.
type workloadSpec struct {
	kind       string // produce or consume
	raw        bool   // consume --raw
	topic      string
	partitions int
	records    int64
	linger     string
	rate       float64 // records/s; 0 is as fast as possible
}

func (c config) spec(id string) workloadSpec {
	switch id {
	case report.Produce1P:
		return workloadSpec{kind: "produce", topic: "bench-1p", partitions: 1, records: c.records, linger: linger}
	case report.Consume1P:
		// Reads back what produce-1p wrote to the same broker.
		return workloadSpec{kind: "consume", topic: "bench-1p", partitions: 1, records: c.records}
	case report.ConsumeRaw1P:
		return workloadSpec{kind: "consume", topic: "bench-1p", partitions: 1, records: c.records, raw: true}
	case report.Produce8P:
		return workloadSpec{kind: "produce", topic: "bench-8p", partitions: 8, records: c.records, linger: linger}
	case report.Latency1P:
		return workloadSpec{kind: "produce", topic: "bench-latency", partitions: 1, records: c.latencyRecords,
			linger: latencyLinger, rate: c.latencyRate}
	}
	panic("unknown workload " + id)
}

// benchArgs is the `runnel bench` command line for one run.
func benchArgs(s workloadSpec, b *broker, profile string) []string {
	args := []string{"bench", s.kind,
		"--bootstrap", b.addr,
		"--topic", s.topic,
		"--partitions", strconv.Itoa(s.partitions),
		"--records", strconv.FormatInt(s.records, 10),
	}
	if s.kind == "produce" { // consume takes none of the producer's settings
		args = append(args, "--record-size", strconv.Itoa(recordSize), "--acks", acks, "--linger", s.linger,
			"--batch-bytes", strconv.Itoa(batchBytes), "--compression", compression)
	}
	if s.raw {
		args = append(args, "--raw")
	}
	if s.rate > 0 {
		args = append(args, "--rate", strconv.FormatFloat(s.rate, 'f', -1, 64))
	}
	args = append(args, "--broker-pid", strconv.Itoa(b.proc.pid()))
	if profile != "" && b.adminURL != "" {
		args = append(args, "--admin", b.adminURL, "--profile", profile)
	}
	return append(args, "--json")
}

// runWorkload runs one workload against a broker and never fails: what
// went wrong is recorded in the Run, so the suite carries on.
func (d *driver) runWorkload(ctx context.Context, b *broker, rep int, id string) report.Run {
	run := report.Run{Rep: rep, Broker: b.kind, Workload: id}
	profile := ""
	if d.cfg.profileDir != "" {
		profile = filepath.Join(d.cfg.profileDir, fmt.Sprintf("rep%d-%s-%s.pprof", rep, b.kind, id))
	}
	args := benchArgs(d.cfg.spec(id), b, profile)

	rctx, cancel := context.WithTimeout(ctx, d.cfg.workloadTimeout)
	defer cancel()
	cmd := exec.CommandContext(rctx, d.cfg.benchBin, args...)
	cmd.SysProcAttr = childAttrs()
	// SIGINT, not SIGKILL: the load generator then prints what it measured
	// so far, marked interrupted. WaitDelay kills it if it does not stop.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = d.cfg.stopGrace
	var stdout bytes.Buffer
	tail := &tailBuffer{max: 4096}
	cmd.Stdout = &stdout
	// Its progress lines are the suite's progress too.
	cmd.Stderr = io.MultiWriter(tail, &prefixWriter{w: d.log, prefix: "      "})

	err := cmd.Run()
	if res, perr := report.ParseResult(stdout.Bytes()); perr == nil {
		run.Result = &res
	} else if err == nil {
		err = perr
	}
	switch {
	case ctx.Err() != nil:
		run.Err = "interrupted"
	case errors.Is(rctx.Err(), context.DeadlineExceeded):
		run.Err = fmt.Sprintf("timed out after %v", d.cfg.workloadTimeout)
	case err != nil:
		run.Err = err.Error()
		if t := lastLines(tail.buf, 2); t != "" {
			run.Err += ": " + t
		}
	}
	if run.Err != "" && b.proc.exited() {
		run.Err += fmt.Sprintf("; the broker exited (%v): %s", b.proc.err, b.proc.logTail())
	}
	return run
}

// describe is the one progress line of a finished run.
func describe(r report.Run) string {
	if r.Err != "" {
		return "FAILED: " + r.Err
	}
	res := r.Result
	s := fmt.Sprintf("%.0f MB/s, %.0f records/s", res.MBPerSec, res.RecordsPerSec)
	if l := res.LatencyMicros; l != nil && l.Count > 0 {
		s += fmt.Sprintf(", p99 %.2f ms", l.P99/1000)
	}
	if c := res.BrokerCPUSecondsPerGB; c != nil {
		s += fmt.Sprintf(", broker %.2f CPU-s/GB", *c)
	}
	if m := res.BrokerRSSMaxBytes; m != nil {
		s += fmt.Sprintf(", RSS %.0f MiB", *m/(1<<20))
	}
	if res.Errors > 0 {
		s += fmt.Sprintf(", %d ERRORS", res.Errors)
	}
	if res.Interrupted {
		s += ", interrupted"
	}
	return s
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

// prefixWriter indents each line it passes on.
type prefixWriter struct {
	w       io.Writer
	prefix  string
	midLine bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	var out []byte
	for _, c := range b {
		if !p.midLine {
			out = append(out, p.prefix...)
		}
		out = append(out, c)
		p.midLine = c != '\n'
	}
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}
