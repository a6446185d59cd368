package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/runnel-dev/runnel/bench/report"
)

// config is the suite's command line.
type config struct {
	runnelBin, kfakeBin, benchBin, iperfBin string

	reps           int
	records        int64
	latencyRecords int64
	latencyRate    float64
	diskBytes      int64
	iperfSeconds   int

	startTimeout    time.Duration
	stopGrace       time.Duration
	workloadTimeout time.Duration

	workDir    string // parent of the run's temp directory; "" is $TMPDIR
	keep       bool
	profileDir string
	out, png   string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench-suite", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bench-suite [flags]\n\nRuns Runnel and kfake side by side and against the machine's limits; see `make bench`.")
		fs.PrintDefaults()
	}
	fs.StringVar(&c.runnelBin, "runnel", "bin/runnel", "the runnel `binary` to serve")
	fs.StringVar(&c.kfakeBin, "kfake", "bin/kfake", "the kfake `binary` (bench/kfake)")
	fs.StringVar(&c.benchBin, "bench", "", "the `binary` whose `bench` subcommand generates load (default: --runnel)")
	fs.StringVar(&c.iperfBin, "iperf3", "iperf3", "iperf3 `binary`; if missing, loopback TCP is not measured")
	fs.IntVar(&c.reps, "reps", 3, "repetitions; the report shows medians")
	fs.Int64Var(&c.records, "records", 2_000_000, "1 KiB records per throughput workload")
	fs.Int64Var(&c.latencyRecords, "latency-records", 200_000, "records of the fixed-rate latency workload")
	fs.Float64Var(&c.latencyRate, "latency-rate", 20_000, "records/s of the latency workload")
	diskMiB := fs.Int64("disk-mib", 1024, "MiB written by the disk write+fdatasync test")
	fs.IntVar(&c.iperfSeconds, "iperf-seconds", 5, "duration of the iperf3 test")
	fs.DurationVar(&c.startTimeout, "start-timeout", 30*time.Second, "how long a broker may take to accept connections")
	fs.DurationVar(&c.stopGrace, "stop-grace", 30*time.Second, "how long a process may take to exit after SIGTERM or SIGINT before it is killed")
	fs.DurationVar(&c.workloadTimeout, "workload-timeout", 15*time.Minute, "limit for one workload run")
	fs.StringVar(&c.workDir, "workdir", "", "`dir` for brokers' data and the disk test (default $TMPDIR)")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory (data, logs) after the run")
	fs.StringVar(&c.profileDir, "profile-dir", "", "write a broker CPU profile of each Runnel run into `dir` (costs broker CPU)")
	fs.StringVar(&c.out, "out", "bench/RESULTS.md", "markdown report `file`")
	fs.StringVar(&c.png, "png", "bench/results.png", "chart `file`")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.diskBytes = *diskMiB << 20
	if c.benchBin == "" {
		c.benchBin = c.runnelBin
	}
	switch {
	case c.reps < 1:
		return c, errors.New("--reps must be at least 1")
	case c.records < 1 || c.latencyRecords < 1:
		return c, errors.New("--records and --latency-records must be at least 1")
	case c.latencyRate <= 0:
		return c, errors.New("--latency-rate must be positive")
	case c.diskBytes < 1<<20:
		return c, errors.New("--disk-mib must be at least 1")
	case c.iperfSeconds < 1:
		return c, errors.New("--iperf-seconds must be at least 1")
	}
	if c.profileDir != "" {
		if err := os.MkdirAll(c.profileDir, 0o755); err != nil {
			return c, err
		}
		// The load generator runs with its own working directory in mind.
		if abs, err := filepath.Abs(c.profileDir); err == nil {
			c.profileDir = abs
		}
	}
	return c, nil
}

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run is the whole suite; argv includes the program name, which the
// report quotes as the exact command.
func run(argv []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(argv[1:], stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench-suite:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, unregister, so that a second one kills the
	// suite at once instead of waiting for the orderly stop.
	go func() { <-ctx.Done(); stop() }()
	return runSuite(ctx, cfg, shellJoin(argv), stdout, stderr)
}

// runSuite measures, then writes the report. A Ctrl-C stops the brokers
// in order and prints what was measured without overwriting the report
// files; a second one kills the suite, and Pdeathsig its children.
func runSuite(ctx context.Context, cfg config, command string, stdout, stderr io.Writer) int {
	d, err := newDriver(cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bench-suite:", err)
		return 1
	}
	defer d.close()
	d.progressf("bench suite: %s of %d records; work dir %s", report.Plural(cfg.reps, "rep"), cfg.records, d.workDir)
	d.run(ctx)

	rep := d.report(time.Now(), command)
	if ctx.Err() != nil {
		d.progressf("interrupted: not writing %s or %s", cfg.out, cfg.png)
		fmt.Fprint(stdout, rep.Markdown())
		return 130
	}
	fmt.Fprint(stdout, rep.Text())
	if err := writeOutputs(cfg, rep); err != nil {
		fmt.Fprintln(stderr, "bench-suite:", err)
		return 1
	}
	d.progressf("wrote %s and %s", cfg.out, cfg.png)
	return 0
}

// report assembles what the run measured.
func (d *driver) report(now time.Time, command string) report.Report {
	s := report.Summarize(d.cfg.reps, d.runs, d.limits)
	notes := d.notes
	for _, row := range s.Rows {
		if row.Valid == 0 {
			notes = append(notes, fmt.Sprintf("%s on %s: no rep completed without errors", row.Workload.Title, row.Broker))
		}
	}
	return report.Report{
		Date:    now,
		Machine: machine(d.cfg.runnelBin),
		Command: command,
		Setup: fmt.Sprintf("%d × 1 KiB records per throughput workload, acks=all, 1 MiB batches, linger 5 ms, "+
			"no compression; the latency workload sends %d records at %s records/s with linger 0 "+
			"and the broker's default durability; %s",
			d.cfg.records, d.cfg.latencyRecords, fmt.Sprint(d.cfg.latencyRate), report.Plural(d.cfg.reps, "rep")),
		Summary:     s,
		Evaluations: report.Evaluate(s, report.Targets(d.cfg.latencyRate)),
		Runs:        d.runs,
		Limits:      d.limits,
		Notes:       notes,
	}
}

func writeOutputs(cfg config, r report.Report) error {
	if err := os.WriteFile(cfg.out, []byte(r.Markdown()), 0o644); err != nil {
		return err
	}
	var png bytes.Buffer
	title := fmt.Sprintf("Runnel vs kfake: medians of %s, %d x 1 KiB records per throughput workload, %s",
		report.Plural(cfg.reps, "rep"), cfg.records, r.Date.UTC().Format("2006-01-02"))
	labels := report.ChartLabels{Title: title, LatencyRate: cfg.latencyRate, LatencyGoalMS: report.LatencyGoalMS}
	if err := report.WritePNG(&png, r.Summary, labels); err != nil {
		return err
	}
	return os.WriteFile(cfg.png, png.Bytes(), 0o644)
}

// shellJoin quotes a command line so it can be pasted back into a shell.
func shellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,") == "" {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}
