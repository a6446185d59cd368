package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/runnel-dev/runnel/bench/report"
)

// driver executes the plan and collects what it measured. It is used
// from one goroutine.
type driver struct {
	cfg     config
	log     io.Writer // progress, normally stderr
	workDir string    // brokers' data, logs and the disk test; removed by close
	start   time.Time

	runs   []report.Run
	limits []report.LimitRun
	notes  []string
	// noAdmin is set once a broker showed it does not know admin.listener.
	noAdmin bool
}

func newDriver(cfg config, log io.Writer) (*driver, error) {
	dir, err := os.MkdirTemp(cfg.workDir, "runnel-bench-")
	if err != nil {
		return nil, err
	}
	if err := mkdirLogs(dir); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &driver{cfg: cfg, log: log, workDir: dir, start: time.Now()}, nil
}

// close removes the work directory unless the user asked to keep it.
func (d *driver) close() {
	if d.cfg.keep {
		d.progressf("kept %s", d.workDir)
		return
	}
	if err := os.RemoveAll(d.workDir); err != nil {
		d.progressf("removing %s: %v", d.workDir, err)
	}
}

// mkdirLogs makes the directory of the children's logs in a work dir.
func mkdirLogs(workDir string) error { return os.Mkdir(filepath.Join(workDir, "logs"), 0o755) }

func (d *driver) logPath(name string) string {
	return filepath.Join(d.workDir, "logs", name+".log")
}

// progressf writes one line of progress, stamped with the time since the
// start.
func (d *driver) progressf(format string, args ...any) {
	el := time.Since(d.start).Round(time.Second)
	fmt.Fprintf(d.log, "[%8s] %s\n", el, fmt.Sprintf(format, args...))
}

// note records something the report must say could not be measured;
// repeats (the same failure every rep) are kept once.
func (d *driver) note(s string) {
	if !slices.Contains(d.notes, s) {
		d.notes = append(d.notes, s)
	}
}

// run executes every step of the plan until done or ctx is cancelled.
func (d *driver) run(ctx context.Context) {
	steps := plan(d.cfg.reps)
	for i, s := range steps {
		if ctx.Err() != nil {
			d.note(fmt.Sprintf("interrupted before step %d of %d (%s): the results are partial", i+1, len(steps), s))
			return
		}
		d.progressf("step %d/%d, %s", i+1, len(steps), s)
		if s.limit != "" {
			d.measureLimit(ctx, s)
		} else {
			d.session(ctx, s)
		}
	}
}

// session starts a fresh broker, runs the step's workloads against it in
// order and stops it. A broker that does not start fails the session's
// workloads; a workload that fails skips those that need its data.
func (d *driver) session(ctx context.Context, s step) {
	name := fmt.Sprintf("rep%d-%s", s.rep, s.workloads[0])
	b, err := d.startBroker(ctx, s.broker, name)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		d.progressf("    %s did not start: %v", s.broker, err)
		for _, w := range s.workloads {
			d.record(report.Run{Rep: s.rep, Broker: s.broker, Workload: w, Err: "broker did not start: " + err.Error()})
		}
		return
	}
	defer func() {
		if err := b.stop(d.cfg.stopGrace); err != nil {
			d.note(fmt.Sprintf("%s, rep %d, %s: %v", s.broker, s.rep, s.workloads[0], withTail(err, b.proc)))
		}
	}()
	valid := map[string]bool{}
	for _, w := range s.workloads {
		if ctx.Err() != nil {
			return
		}
		if dep := dependsOn(w); dep != "" && !valid[dep] {
			d.record(report.Run{Rep: s.rep, Broker: s.broker, Workload: w, Err: "skipped: " + dep + " failed before it"})
			continue
		}
		if b.proc.exited() {
			d.record(report.Run{Rep: s.rep, Broker: s.broker, Workload: w,
				Err: fmt.Sprintf("the broker had exited (%v): %s", b.proc.err, b.proc.logTail())})
			continue
		}
		d.progressf("    %s %s", s.broker, w)
		run := d.runWorkload(ctx, b, s.rep, w)
		valid[w] = run.Valid()
		d.record(run)
	}
}

func (d *driver) record(r report.Run) {
	d.runs = append(d.runs, r)
	d.progressf("    %s %s: %s", r.Broker, r.Workload, describe(r))
}
