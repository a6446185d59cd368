package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The driver is tested against fakes: the test binary itself plays both
// brokers (see fakeBroker), and a shell script plays `runnel bench`,
// printing canned JSON.

const fakeBrokerEnv = "BENCH_SUITE_FAKE_BROKER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(fakeBrokerEnv); dir != "" {
		os.Exit(fakeBroker(dir, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeBroker imitates `runnel serve --set listeners=PLAINTEXT://ADDR --set
// admin.listener=ADDR` and `kfake --listen ADDR`: it listens where asked,
// announces itself as kfake does, records its pid in pidDir so the test
// can check it is gone afterwards, and exits on SIGTERM.
func fakeBroker(pidDir string, args []string) int {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	if err := os.WriteFile(filepath.Join(pidDir, strconv.Itoa(os.Getpid())), nil, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var addrs []string
	kfake := false
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "listeners=PLAINTEXT://"); ok {
			addrs = append(addrs, v)
		}
		if v, ok := strings.CutPrefix(a, "admin.listener="); ok {
			addrs = append(addrs, v)
		}
		if a == "--listen" && i+1 < len(args) {
			addrs, kfake = append(addrs, args[i+1]), true
		}
	}
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fake broker:", err)
			return 1
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		if kfake {
			fmt.Printf("listening on %s\n", ln.Addr())
		}
	}
	fmt.Fprintln(os.Stderr, "fake broker serving", addrs)
	<-sig
	return 0
}

// fakes holds the paths of one test's fake programs.
type fakes struct {
	dir      string
	broker   string // plays runnel serve and kfake
	bench    string // plays runnel bench
	benchLog string // one line per bench invocation: its arguments
	pidDir   string // one file per fake broker started, named by its pid
}

// fakeBench is the load generator: it logs its arguments, checks that the
// broker it was pointed at is alive, fails on request, hangs until SIGINT
// on request, and otherwise prints a canned result.
const fakeBench = `#!/bin/sh
echo "$*" >> "{{LOG}}"
pid= topic= prev=
for a in "$@"; do
	case "$prev" in
	--broker-pid) pid=$a ;;
	--topic) topic=$a ;;
	esac
	prev=$a
done
if ! kill -0 "$pid" 2>/dev/null; then echo "broker $pid is not running" >&2; exit 1; fi
if [ "$topic" = "{{FAIL}}" ]; then echo "fake failure on $topic" >&2; exit 3; fi
if [ "$topic" = "{{HANG}}" ]; then
	trap 'kill $sp; echo "{\"workload\":\"$2\",\"mb_per_sec\":1,\"interrupted\":true}"; exit 130' INT
	sleep 60 &
	sp=$!
	wait $sp
fi
echo "progress: 1 s, fine" >&2
cat <<EOF
{"workload":"$2","bootstrap":"x","topic":"$topic","partitions":1,"record_bytes":1024,"records":1000,
 "elapsed_seconds":0.5,"bytes":1024000,"mb_per_sec":500,"records_per_sec":488281,
 "latency_us":{"count":1000,"p50":1000,"p99":4000,"p999":6000,"max":9000},
 "broker_cpu_seconds":0.1,"broker_cpu_seconds_per_gb":0.4,"broker_rss_max_bytes":104857600,
 "errors":0,"interrupted":false}
EOF
`

// newFakes writes the fake programs. failTopic and hangTopic pick the
// topic whose runs fail or hang ("" for none).
func newFakes(t *testing.T, failTopic, hangTopic string) fakes {
	t.Helper()
	dir := t.TempDir()
	f := fakes{dir: dir, broker: filepath.Join(dir, "broker"), bench: filepath.Join(dir, "bench"),
		benchLog: filepath.Join(dir, "bench.log"), pidDir: filepath.Join(dir, "pids")}
	if err := os.Mkdir(f.pidDir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// GORACE: a -race binary otherwise sleeps a second on exit, per broker.
	writeScript(t, f.broker, fmt.Sprintf("#!/bin/sh\nGORACE=atexit_sleep_ms=0 %s=%q exec %q \"$@\"\n",
		fakeBrokerEnv, f.pidDir, self))
	writeScript(t, f.bench, strings.NewReplacer("{{LOG}}", f.benchLog, "{{FAIL}}", failTopic,
		"{{HANG}}", hangTopic).Replace(fakeBench))
	return f
}

func writeScript(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
}

// config returns a quick suite configuration that uses the fakes.
func (f fakes) config(reps int) config {
	return config{
		runnelBin: f.broker, kfakeBin: f.broker, benchBin: f.bench,
		iperfBin: filepath.Join(f.dir, "no-such-iperf3"),
		reps:     reps, records: 1000, latencyRecords: 100, latencyRate: 20000,
		diskBytes: 2 << 20, iperfSeconds: 1,
		startTimeout: 10 * time.Second, stopGrace: 5 * time.Second, workloadTimeout: 20 * time.Second,
		workDir: f.dir,
		out:     filepath.Join(f.dir, "RESULTS.md"), png: filepath.Join(f.dir, "results.png"),
	}
}

// benchCalls returns the logged argument lists of the fake load generator.
func (f fakes) benchCalls(t *testing.T) [][]string {
	t.Helper()
	data, err := os.ReadFile(f.benchLog)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		out = append(out, strings.Fields(l))
	}
	return out
}

// assertNoneLeft fails if any fake broker the test started is still alive.
// The driver reaps what it starts, so a gone process is really gone, not
// a zombie.
func (f fakes) assertNoneLeft(t *testing.T, wantStarted int) {
	t.Helper()
	entries, err := os.ReadDir(f.pidDir)
	if err != nil {
		t.Fatal(err)
	}
	if wantStarted >= 0 && len(entries) != wantStarted {
		t.Errorf("%d brokers started, want %d", len(entries), wantStarted)
	}
	for _, e := range entries {
		pid, _ := strconv.Atoi(e.Name())
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("broker pid %d is still running", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// flagValue returns the value after flag in args, or "".
func flagValue(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}
