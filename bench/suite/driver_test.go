package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runnel-dev/runnel/bench/report"
)

// syncBuffer is a progress log the test may read while the driver writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestPlanInterleaves(t *testing.T) {
	var got []string
	for _, s := range plan(2) {
		got = append(got, s.String())
	}
	var want []string
	for rep := 1; rep <= 2; rep++ {
		want = append(want,
			fmt.Sprintf("rep %d: %s", rep, report.LimitDisk),
			fmt.Sprintf("rep %d: runnel produce-1p, consume-1p, consume-raw-1p", rep),
			fmt.Sprintf("rep %d: kfake produce-1p, consume-1p, consume-raw-1p", rep),
			fmt.Sprintf("rep %d: %s", rep, report.LimitLoopback),
			fmt.Sprintf("rep %d: runnel produce-8p", rep),
			fmt.Sprintf("rep %d: kfake produce-8p", rep),
			fmt.Sprintf("rep %d: runnel latency-1p", rep),
			fmt.Sprintf("rep %d: kfake latency-1p", rep),
		)
	}
	if !slices.Equal(got, want) {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func runDriver(t *testing.T, ctx context.Context, cfg config) (*driver, *syncBuffer) {
	t.Helper()
	log := &syncBuffer{}
	d, err := newDriver(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	d.run(ctx)
	d.close()
	if _, err := os.Stat(d.workDir); !os.IsNotExist(err) {
		t.Errorf("work dir %s left behind (%v)", d.workDir, err)
	}
	return d, log
}

func TestDriverRunsEverything(t *testing.T) {
	f := newFakes(t, "bench-8p", "") // every produce-8p run fails
	cfg := f.config(2)
	cfg.profileDir = filepath.Join(f.dir, "profiles")
	d, log := runDriver(t, context.Background(), cfg)

	// Runs come in plan order, and each broker is a fresh process.
	var got []string
	for _, r := range d.runs {
		got = append(got, fmt.Sprintf("%d %s %s", r.Rep, r.Broker, r.Workload))
	}
	var want []string
	for rep := 1; rep <= 2; rep++ {
		for _, s := range []string{"runnel produce-1p", "runnel consume-1p", "runnel consume-raw-1p",
			"kfake produce-1p", "kfake consume-1p", "kfake consume-raw-1p", "runnel produce-8p", "kfake produce-8p", "runnel latency-1p", "kfake latency-1p"} {
			want = append(want, fmt.Sprintf("%d %s", rep, s))
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("runs:\n%s\nwant:\n%s\nprogress:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), log)
	}
	f.assertNoneLeft(t, 2*6)

	calls := f.benchCalls(t)
	if len(calls) != len(want) {
		t.Fatalf("%d bench invocations, want %d", len(calls), len(want))
	}
	pids := map[string]bool{}
	for i, c := range calls {
		pids[flagValue(c, "--broker-pid")] = true
		if c[0] != "bench" || (c[1] == "produce") != (flagValue(c, "--record-size") == "1024") || c[len(c)-1] != "--json" {
			t.Errorf("call %d: %v", i, c)
		}
		wl := want[i]
		switch {
		case strings.HasSuffix(wl, "latency-1p"):
			if flagValue(c, "--rate") != "20000" || flagValue(c, "--linger") != "0s" || flagValue(c, "--records") != "100" {
				t.Errorf("latency call: %v", c)
			}
		case strings.HasSuffix(wl, "consume-1p"), strings.HasSuffix(wl, "consume-raw-1p"):
			raw := strings.HasSuffix(wl, "raw-1p")
			if c[1] != "consume" || flagValue(c, "--topic") != "bench-1p" || flagValue(c, "--records") != "1000" ||
				slices.Contains(c, "--raw") != raw {
				t.Errorf("consume call: %v", c)
			}
		case strings.HasSuffix(wl, "produce-8p"):
			if flagValue(c, "--partitions") != "8" || flagValue(c, "--acks") != "all" ||
				flagValue(c, "--batch-bytes") != "1048576" || flagValue(c, "--linger") != "5ms" {
				t.Errorf("produce-8p call: %v", c)
			}
		}
		isRunnel := strings.Contains(wl, "runnel")
		if hasProfile := flagValue(c, "--profile") != ""; hasProfile != isRunnel || (flagValue(c, "--admin") != "") != isRunnel {
			t.Errorf("call %d (%s): --admin/--profile only for runnel, got %v", i, wl, c)
		}
	}
	// Sessions share a broker (produce-1p and consume-1p); others do not.
	if len(pids) != 12 {
		t.Errorf("%d distinct broker pids over 20 runs, want 12 (one per session)", len(pids))
	}

	for _, r := range d.runs {
		fails := r.Workload == report.Produce8P
		if fails != (r.Err != "") {
			t.Errorf("%s %s rep %d: err %q", r.Broker, r.Workload, r.Rep, r.Err)
		}
		if fails && !strings.Contains(r.Err, "fake failure on bench-8p") {
			t.Errorf("failure does not quote the load generator: %q", r.Err)
		}
		if !fails && (r.Result == nil || r.Result.MBPerSec != 500) {
			t.Errorf("%s %s: result %+v", r.Broker, r.Workload, r.Result)
		}
	}

	// Limits: the disk was measured, iperf3 is "not installed", noted once.
	if len(d.limits) != 4 {
		t.Fatalf("%d limit runs, want 4", len(d.limits))
	}
	for _, l := range d.limits {
		if ok := l.Limit == report.LimitDisk; l.MBPerSec.OK != ok || (ok && l.MBPerSec.V <= 0) {
			t.Errorf("limit %+v", l)
		}
	}
	if n := len(d.notes); n != 1 || !strings.Contains(d.notes[0], "iperf3 is not installed") {
		t.Errorf("notes = %q, want one about iperf3", d.notes)
	}
	if !strings.Contains(log.String(), "      progress: 1 s, fine") {
		t.Errorf("the load generator's progress was not passed on:\n%s", log)
	}
}

func TestDriverSkipsConsumeAfterFailedProduce(t *testing.T) {
	f := newFakes(t, "bench-1p", "")
	d, _ := runDriver(t, context.Background(), f.config(1))
	for _, c := range f.benchCalls(t) {
		if c[1] == "consume" {
			t.Errorf("consume ran after its produce failed: %v", c)
		}
	}
	for _, r := range d.runs {
		if (r.Workload == report.Consume1P || r.Workload == report.ConsumeRaw1P) && !strings.HasPrefix(r.Err, "skipped: produce-1p failed") {
			t.Errorf("consume run err = %q", r.Err)
		}
	}
	f.assertNoneLeft(t, 6)
}

func TestDriverBrokerDoesNotStart(t *testing.T) {
	f := newFakes(t, "", "")
	cfg := f.config(1)
	cfg.runnelBin = filepath.Join(f.dir, "broken-runnel")
	writeScript(t, cfg.runnelBin, "#!/bin/sh\necho 'config: log.dirs is not writable' >&2\nexit 1\n")
	d, _ := runDriver(t, context.Background(), cfg)
	for _, r := range d.runs {
		switch r.Broker {
		case report.Runnel:
			if !strings.Contains(r.Err, "broker did not start") || !strings.Contains(r.Err, "log.dirs is not writable") {
				t.Errorf("runnel %s: err %q", r.Workload, r.Err)
			}
		case report.Kfake:
			if r.Err != "" {
				t.Errorf("kfake %s failed too: %q", r.Workload, r.Err)
			}
		}
	}
	f.assertNoneLeft(t, 3) // kfake's three sessions
}

func TestDriverInterrupt(t *testing.T) {
	f := newFakes(t, "", "bench-8p") // produce-8p hangs until SIGINT
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // Ctrl-C once the hanging run has started
		for ctx.Err() == nil {
			for _, c := range f.benchCalls(t) {
				if flagValue(c, "--topic") == "bench-8p" {
					cancel()
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	d, _ := runDriver(t, ctx, f.config(2))

	last := d.runs[len(d.runs)-1]
	if last.Workload != report.Produce8P || last.Err != "interrupted" || last.Result == nil || !last.Result.Interrupted {
		t.Errorf("last run = %+v, want the interrupted produce-8p with its partial result", last)
	}
	if len(d.runs) != 7 {
		t.Errorf("%d runs, want 7: nothing is started after the interrupt", len(d.runs))
	}
	f.assertNoneLeft(t, 3)
}

func TestRunSuiteWritesReport(t *testing.T) {
	f := newFakes(t, "", "")
	cfg := f.config(1)
	var stdout, stderr bytes.Buffer
	if code := runSuite(context.Background(), cfg, "bench-suite --reps 1", &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	md, err := os.ReadFile(cfg.out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"- Machine: ", "`bench-suite --reps 1`", "## Targets", "## Every rep",
		"iperf3 is not installed"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("RESULTS.md lacks %q", want)
		}
	}
	for _, want := range []string{"## Medians of 1 rep", "## Targets", "MISSED"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	pf, err := os.Open(cfg.png)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if _, err := png.Decode(pf); err != nil {
		t.Errorf("results.png: %v", err)
	}
	f.assertNoneLeft(t, 6)
}
