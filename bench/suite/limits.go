package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/runnel-dev/runnel/bench/report"
)

// measureLimit measures one machine limit; a failure becomes a missing
// value with a note, never an error of the suite.
func (d *driver) measureLimit(ctx context.Context, s step) {
	lr := report.LimitRun{Rep: s.rep, Limit: s.limit}
	var mbps float64
	var err error
	switch s.limit {
	case report.LimitLoopback:
		mbps, err = d.loopback(ctx)
		lr.Note = fmt.Sprintf("iperf3 -t %d, one stream", d.cfg.iperfSeconds)
	case report.LimitDisk:
		mbps, err = diskThroughput(ctx, d.workDir, d.cfg.diskBytes)
		lr.Note = fmt.Sprintf("%d MiB in 1 MiB writes, fdatasync(2) after each (Go's syscall.Fdatasync), "+
			"beside the brokers' data", d.cfg.diskBytes>>20)
	default:
		err = fmt.Errorf("unknown limit %q", s.limit)
	}
	if err != nil {
		lr.Note = err.Error()
		switch {
		case errors.Is(err, errNoIperf):
			d.note(fmt.Sprintf("%s: %v", s.limit, err)) // once, not once per rep
		case ctx.Err() == nil:
			d.note(fmt.Sprintf("%s, rep %d: %v", s.limit, s.rep, err))
		}
		d.progressf("    %s: not measured: %v", s.limit, err)
	} else {
		lr.MBPerSec = report.Some(mbps)
		d.progressf("    %s: %.0f MB/s", s.limit, mbps)
	}
	d.limits = append(d.limits, lr)
}

// errNoIperf is the note for a machine without iperf3.
var errNoIperf = errors.New("iperf3 is not installed (apt-get install iperf3), so consume has no network yardstick")

// loopback measures loopback TCP with a one-shot iperf3 server and one
// client, in MB/s (10^6 bytes) of what the server received.
func (d *driver) loopback(ctx context.Context) (float64, error) {
	bin, err := exec.LookPath(d.cfg.iperfBin)
	if err != nil {
		return 0, errNoIperf
	}
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	ps := strconv.Itoa(port)
	srv, err := startProcess("iperf3 server", d.logPath("iperf3-server"), nil, bin, "-s", "-1", "-p", ps)
	if err != nil {
		return 0, err
	}
	// It exits by itself after its one test; stop covers the failures.
	defer func() { _ = srv.stop(d.cfg.stopGrace) }()
	// Probing the port with a plain connect would use up the one-shot
	// server's single test, so the client itself retries until the server
	// is up.
	for attempt := 0; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, time.Duration(d.cfg.iperfSeconds+30)*time.Second)
		cmd := exec.CommandContext(cctx, bin, "-c", "127.0.0.1", "-p", ps, "-t", strconv.Itoa(d.cfg.iperfSeconds), "-J")
		cmd.SysProcAttr = childAttrs()
		out, runErr := cmd.Output()
		cancel()
		mbps, err := parseIperf(out)
		if err == nil {
			return mbps, nil
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if strings.Contains(err.Error(), "unable to connect") && attempt < 50 && !srv.exited() {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if runErr != nil && len(out) == 0 {
			return 0, fmt.Errorf("iperf3 client: %w", runErr)
		}
		return 0, err
	}
}

// parseIperf reads `iperf3 -J` output: the receiver's bits per second,
// or the error iperf3 reports.
func parseIperf(out []byte) (float64, error) {
	var v struct {
		Error string `json:"error"`
		End   struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return 0, fmt.Errorf("iperf3 output is not JSON: %w", err)
	}
	if v.Error != "" {
		return 0, fmt.Errorf("iperf3: %s", v.Error)
	}
	if v.End.SumReceived.BitsPerSecond <= 0 {
		return 0, errors.New("iperf3 reported no received throughput")
	}
	return v.End.SumReceived.BitsPerSecond / 8 / 1e6, nil
}

// diskThroughput writes total bytes to a new file in dir in 1 MiB writes,
// each followed by fdatasync, and returns MB/s (10^6 bytes). It is the
// ceiling for a broker that syncs before it acknowledges. fdatasync comes
// from the standard syscall package: only netio and segments may import
// x/sys/unix, and os.File.Sync would be fsync, a different call than the
// broker's.
func diskThroughput(ctx context.Context, dir string, total int64) (float64, error) {
	f, err := os.CreateTemp(dir, "disk-limit-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 1<<20)
	for i := range buf { // not zeros, in case the filesystem elides them
		buf[i] = byte(i*7 + 1)
	}
	fd := int(f.Fd())
	start := time.Now()
	var written int64
	for written < total {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		n, err := f.Write(buf)
		written += int64(n)
		if err != nil {
			return 0, err
		}
		if err := syscall.Fdatasync(fd); err != nil {
			return 0, fmt.Errorf("fdatasync: %w", err)
		}
	}
	return float64(written) / time.Since(start).Seconds() / 1e6, nil
}
