package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runnel-dev/runnel/bench"
)

// runBenchJSON runs `runnel bench ARGS --json` against addr and returns the
// parsed result, failing the test unless it exits 0.
func runBenchJSON(t *testing.T, addr string, args ...string) bench.Result {
	t.Helper()
	args = append([]string{"bench"}, args...)
	args = append(args, "-b", addr, "--json")
	code, out, errOut := runCLI(args...)
	if code != 0 {
		t.Fatalf("%q: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return parseBenchJSON(t, out)
}

// parseBenchJSON parses the one JSON object bench prints on stdout.
func parseBenchJSON(t *testing.T, out string) bench.Result {
	t.Helper()
	if strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("stdout is not one line of JSON:\n%s", out)
	}
	var res bench.Result
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("stdout is not a bench result: %v\n%s", err, out)
	}
	return res
}

// checkLatency asserts that a latency summary has count samples in order.
func checkLatency(t *testing.T, what string, l bench.LatencySummary, count int64) {
	t.Helper()
	if l.Count != count || l.P50 <= 0 || l.P50 > l.P99 || l.P99 > l.P999 || l.P999 > l.Max {
		t.Errorf("%s latency: %+v; want %d samples, 0 < p50 <= p99 <= p99.9 <= max", what, l, count)
	}
}

// checkThroughput asserts the counts and that the rates agree with them.
func checkThroughput(t *testing.T, res bench.Result, records, bytes int64) {
	t.Helper()
	if res.Records != records || res.Bytes != bytes || res.Errors != 0 || res.Interrupted {
		t.Errorf("%s: %d records, %d bytes, %d errors, interrupted %t; want %d records, %d bytes, no errors",
			res.Workload, res.Records, res.Bytes, res.Errors, res.Interrupted, records, bytes)
	}
	if res.ElapsedSeconds <= 0 {
		t.Fatalf("%s: elapsed %v", res.Workload, res.ElapsedSeconds)
	}
	near := func(got, want float64) bool { return got > want*0.999 && got < want*1.001 }
	if !near(res.MBPerSec, float64(bytes)/1e6/res.ElapsedSeconds) ||
		!near(res.RecordsPerSec, float64(records)/res.ElapsedSeconds) {
		t.Errorf("%s: rates %v MB/s, %v records/s do not match the counts over %v s",
			res.Workload, res.MBPerSec, res.RecordsPerSec, res.ElapsedSeconds)
	}
}

func TestBenchAgainstBroker(t *testing.T) {
	addr := startTestBroker(t)

	// produce creates the topic and sends exactly what it was asked to.
	res := runBenchJSON(t, addr, "produce", "-t", "bt", "--records", "2000", "--record-size", "100",
		"--partitions", "2", "--linger", "1ms")
	checkThroughput(t, res, 2000, 2000*100)
	checkLatency(t, "produce", res.Latency, 2000)
	if res.Workload != bench.Produce || res.Topic != "bt" || res.Partitions != 2 || res.Bootstrap != addr ||
		res.RecordBytes != 100 || res.Producers != 1 || res.Consumers != 0 || res.Acks != "all" ||
		res.Compression != "none" || res.BrokerCPUSeconds != nil || res.BrokerRSSMaxBytes != nil {
		t.Errorf("produce settings: %+v", res)
	}

	// Keys, two producers, a named partitioner, acks=1 and compression:
	// 10 value bytes and 8 key bytes a record.
	res = runBenchJSON(t, addr, "produce", "-t", "bt", "--partitions", "2", "--records", "1000", "--record-size", "10",
		"--keys", "10", "--partitioner", "murmur2", "--producers", "2", "--acks", "1", "--compression", "lz4")
	checkThroughput(t, res, 1000, 1000*18)
	checkLatency(t, "keyed produce", res.Latency, 1000)
	if res.Keys != 10 || res.Partitioner != "murmur2" || res.Producers != 2 || res.Acks != "1" {
		t.Errorf("keyed produce settings: %+v", res)
	}

	// consume reads back exactly what the topic holds, split over two
	// consumers; then a given number of records.
	res = runBenchJSON(t, addr, "consume", "-t", "bt", "--consumers", "2")
	checkThroughput(t, res, 3000, 2000*100+1000*18)
	if res.Consumers != 2 || res.Producers != 0 || res.Partitions != 2 || res.Latency.Count != 0 {
		t.Errorf("consume settings: %+v", res)
	}
	res = runBenchJSON(t, addr, "consume", "-t", "bt", "--records", "1500")
	if res.Records != 1500 || res.Errors != 0 {
		t.Errorf("consume --records 1500: %+v", res)
	}

	// --raw counts the same records from batch headers; its bytes are
	// whole batches, so more than the keys and values.
	res = runBenchJSON(t, addr, "consume", "-t", "bt", "--consumers", "2", "--raw")
	if res.Records != 3000 || res.Errors != 0 || !res.Raw || res.Bytes <= 2000*100+1000*18 {
		t.Errorf("consume --raw: %+v", res)
	}
	res = runBenchJSON(t, addr, "consume", "-t", "bt", "--records", "1500", "--raw")
	if res.Records != 1500 || res.Errors != 0 {
		t.Errorf("consume --raw --records 1500: %+v", res)
	}

	// e2e reads back what it sends, not what the topic held before.
	res = runBenchJSON(t, addr, "e2e", "-t", "bt", "--partitions", "2", "--records", "1000", "--record-size", "64",
		"--consumers", "2", "--linger", "1ms")
	checkThroughput(t, res, 1000, 1000*64)
	checkLatency(t, "e2e", res.Latency, 1000)
	if res.ProduceLatency == nil {
		t.Fatal("e2e reports no produce latency")
	}
	checkLatency(t, "e2e produce", *res.ProduceLatency, 1000)

	// At a fixed rate the run cannot end before the last record is due.
	res = runBenchJSON(t, addr, "produce", "-t", "rated", "--records", "1000", "--rate", "2000", "--record-size", "20")
	checkThroughput(t, res, 1000, 1000*20)
	checkLatency(t, "fixed-rate produce", res.Latency, 1000)
	if res.Rate != 2000 || res.ElapsedSeconds < 999.0/2000 {
		t.Errorf("1000 records at 2000/s took %v s", res.ElapsedSeconds)
	}
}

// TestBenchBrokerPID: the test broker runs in this process, so its CPU
// time is this process's.
func TestBenchBrokerPID(t *testing.T) {
	addr := startTestBroker(t)
	res := runBenchJSON(t, addr, "produce", "--records", "20000", "--broker-pid", strconv.Itoa(os.Getpid()))
	checkThroughput(t, res, 20000, 20000*1024)
	if res.BrokerCPUSeconds == nil || *res.BrokerCPUSeconds <= 0 || res.BrokerCPUSecondsPerGB == nil ||
		*res.BrokerCPUSecondsPerGB <= 0 || res.BrokerRSSMaxBytes == nil || *res.BrokerRSSMaxBytes <= 0 {
		t.Fatalf("broker figures: cpu %v, per GB %v, rss %v", res.BrokerCPUSeconds, res.BrokerCPUSecondsPerGB,
			res.BrokerRSSMaxBytes)
	}

	code, _, errOut := runCLI("bench", "produce", "-b", addr, "--records", "10", "--broker-pid", "999999999")
	if code != 1 || !strings.Contains(errOut, "no process 999999999") {
		t.Fatalf("a missing broker process: exit %d, %s", code, errOut)
	}
}

// TestBenchAdminListener serves the admin listener's stats and profile
// endpoints as the broker will, and checks the figures and profile arrive.
func TestBenchAdminListener(t *testing.T) {
	addr := startTestBroker(t)
	var mu sync.Mutex
	cpu, calls := 10.0, []string{}
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		switch r.URL.Path {
		case "/stats":
			cpu += 0.25 // every reading finds the broker a little busier
			json.NewEncoder(w).Encode(map[string]any{"cpu_user_seconds": cpu, "cpu_system_seconds": 1.0, "rss_bytes": 5 << 20})
		case "/debug/pprof/cpu/start":
		case "/debug/pprof/cpu/stop":
			w.Write([]byte("profile bytes"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer admin.Close()
	profile := filepath.Join(t.TempDir(), "cpu.pprof")
	res := runBenchJSON(t, addr, "produce", "--records", "100", "--admin", admin.URL, "--profile", profile)
	if res.BrokerCPUSeconds == nil || *res.BrokerCPUSeconds < 0.25 || res.BrokerRSSMaxBytes == nil ||
		*res.BrokerRSSMaxBytes != 5<<20 {
		t.Fatalf("broker figures: cpu %v, rss %v", res.BrokerCPUSeconds, res.BrokerRSSMaxBytes)
	}
	if got, err := os.ReadFile(profile); err != nil || string(got) != "profile bytes" {
		t.Fatalf("profile: %q, %v", got, err)
	}
	mu.Lock()
	joined := strings.Join(calls, ",")
	mu.Unlock()
	if !strings.HasPrefix(joined, "GET /stats,POST /debug/pprof/cpu/start,") ||
		!strings.HasSuffix(joined, ",POST /debug/pprof/cpu/stop") {
		t.Fatalf("admin calls in the wrong order: %s", joined)
	}

	// An admin listener that refuses is named in the error.
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	defer broken.Close()
	code, _, errOut := runCLI("bench", "produce", "-b", addr, "--records", "10", "--admin", broken.URL)
	if code != 1 || !strings.Contains(errOut, broken.URL+"/stats") || !strings.Contains(errOut, "503") {
		t.Fatalf("refusing admin listener: exit %d, %s", code, errOut)
	}
}

func TestBenchTopicMismatch(t *testing.T) {
	addr := startTestBroker(t)
	runBenchJSON(t, addr, "produce", "-t", "two", "--partitions", "2", "--records", "10")
	code, _, errOut := runCLI("bench", "produce", "-b", addr, "-t", "two", "--partitions", "3", "--records", "10")
	if code != 1 || !strings.Contains(errOut, `topic "two" already exists with 2 partitions, not the 3 asked for`) {
		t.Fatalf("partition mismatch: exit %d, %s", code, errOut)
	}
	code, _, errOut = runCLI("bench", "consume", "-b", addr, "-t", "nothing-here")
	if code != 1 || !strings.Contains(errOut, `topic "nothing-here" does not exist`) {
		t.Fatalf("consuming a missing topic: exit %d, %s", code, errOut)
	}
	// Asking for more records than the topic holds ends after --timeout
	// without progress, with what was read. The timeout leaves a loaded
	// machine time to read the 10 there are (1s did not, under -race).
	code, out, errOut := runCLI("bench", "consume", "-b", addr, "-t", "two", "--records", "20", "--timeout", "3s", "--json")
	if code != 1 || !strings.Contains(errOut, "no records for 3s after 10 of the 20 asked for") {
		t.Fatalf("consuming more than there is: exit %d, %s", code, errOut)
	}
	if res := parseBenchJSON(t, out); res.Records != 10 {
		t.Fatalf("consuming more than there is: %+v", res)
	}
}

// expectFastFailure runs bench against addr and checks it fails within
// about timeout with a message naming addr.
func expectFastFailure(t *testing.T, addr, timeout string, wants ...string) {
	t.Helper()
	limit, _ := time.ParseDuration(timeout)
	start := time.Now()
	code, out, errOut := runCLI("bench", "produce", "-b", addr, "--timeout", timeout, "--records", "10", "--json")
	took := time.Since(start)
	if code != 1 || out != "" || !strings.Contains(errOut, addr) {
		t.Fatalf("%s: exit %d, stdout %q, stderr %q; want exit 1 naming the address", addr, code, out, errOut)
	}
	for _, w := range wants {
		if !strings.Contains(errOut, w) {
			t.Errorf("%s: stderr %q lacks %q", addr, errOut, w)
		}
	}
	if took > limit+3*time.Second {
		t.Errorf("%s: failed after %v, with --timeout %s", addr, took, timeout)
	}
}

// serveTCP accepts connections on a new port and hands each to handle.
func serveTCP(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return ln.Addr().String()
}

func TestBenchBadAddress(t *testing.T) {
	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	expectFastFailure(t, closed, "3s", "cannot talk to a Kafka broker", "connection refused")

	// A server that answers garbage.
	garbage := serveTCP(t, func(c net.Conn) {
		defer c.Close()
		c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\nnot kafka at all"))
		time.Sleep(100 * time.Millisecond)
	})
	expectFastFailure(t, garbage, "3s", "cannot talk to a Kafka broker")

	// A server that hangs up at once.
	hangup := serveTCP(t, func(c net.Conn) { c.Close() })
	expectFastFailure(t, hangup, "3s", "cannot talk to a Kafka broker")

	// A server that accepts and never answers: the timeout ends it.
	var mu sync.Mutex
	var held []net.Conn
	silent := serveTCP(t, func(c net.Conn) {
		mu.Lock()
		held = append(held, c)
		mu.Unlock()
	})
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	expectFastFailure(t, silent, "1s", "within 1s")
}

// cancelOnWrite is a writer that cancels a context on its first write:
// the first progress line proves the run is measuring.
type cancelOnWrite struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	cancel context.CancelFunc
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if bytes.Contains(p, []byte("bench produce:")) {
		w.cancel()
	}
	return w.buf.Write(p)
}

func (w *cancelOnWrite) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestBenchInterrupted cancels the command's context, as Ctrl-C does, in
// the middle of a run that would take minutes.
func TestBenchInterrupted(t *testing.T) {
	addr := startTestBroker(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout bytes.Buffer
	stderr := &cancelOnWrite{cancel: cancel}
	err := runBench(ctx, []string{"produce", "-b", addr, "--records", "1000000", "--rate", "2000",
		"--record-size", "10", "--json"}, &stdout, stderr)
	var report bytes.Buffer
	code := reportExit(&report, err)
	if code == 0 || !strings.Contains(report.String(), "runnel bench produce: interrupted after") {
		t.Fatalf("exit %d, %q", code, report.String())
	}
	res := parseBenchJSON(t, stdout.String())
	if !res.Interrupted || res.Records <= 0 || res.Records >= 1000000 || res.Latency.Count != res.Records {
		t.Fatalf("interrupted result: %+v\nstderr: %s", res, stderr)
	}
}

// reportExit is how main turns a command's error into an exit status.
func reportExit(w *bytes.Buffer, err error) int { return report(w, "bench", err) }

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{{"bench"}, {"bench", "--help"}, {"help", "bench"}} {
		code, out, _ := runCLI(args...)
		if code != 0 || !strings.Contains(out, "Workloads:") || !strings.Contains(out, "  e2e ") {
			t.Errorf("%q: exit %d\n%s", args, code, out)
		}
	}
	for _, w := range []string{"produce", "consume", "e2e"} {
		code, out, errOut := runCLI("bench", w, "--help")
		if code != 0 || errOut != "" || !strings.Contains(out, "Usage:\n  runnel bench "+w) ||
			!strings.Contains(out, "Examples:") || !strings.Contains(out, "--json") {
			t.Errorf("bench %s --help: exit %d\n%s%s", w, code, out, errOut)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"nope"}, `runnel bench: unknown workload "nope"`},
		{[]string{"e2e", "--record-size", "4"}, "--record-size must be at least 8 for e2e"},
		{[]string{"produce", "--rate", "-1"}, "--rate must be 0"},
		{[]string{"produce", "--acks", "2"}, "--acks must be all, 1 or 0"},
		{[]string{"produce", "--compression", "brotli"}, "--compression must be one of"},
		{[]string{"produce", "--records", "0"}, "--records must be at least 1"},
		{[]string{"produce", "--partitioner", "nope"}, "--partitioner"},
		{[]string{"produce", "--profile", "cpu.pprof"}, "--profile needs --admin"},
		{[]string{"produce", "--batch-bytes", "99999999999"}, "--batch-bytes"},
		{[]string{"consume", "--rate", "5"}, "flag provided but not defined: -rate"},
		{[]string{"produce", "extra"}, `unexpected argument "extra"`},
	} {
		code, _, errOut := runCLI(append([]string{"bench"}, tc.args...)...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
}
