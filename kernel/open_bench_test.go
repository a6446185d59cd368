package kernel

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkOpen10kPartitions measures what an operator waits for and pays
// after a restart: a broker whose data dir holds 10,000 partitions, shut
// down cleanly, is opened again. It reports the open time and the growth
// of the process's resident set per partition (target: under 5 s, under
// 50 KiB per idle partition).
func BenchmarkOpen10kPartitions(b *testing.B) {
	const partitions = 10000
	dir := b.TempDir()
	cfg := testConfig(dir)
	br := openTestBroker(b, cfg)
	if _, err := br.createTopic("wide", partitions, 1, nil, false); err != nil {
		b.Fatal(err)
	}
	if err := br.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		debug.FreeOSMemory() // give back what the first broker used
		before, heapBefore := rssKiB(b), heapBytes()
		start := time.Now()
		br := openTestBroker(b, cfg)
		elapsed := time.Since(start)
		debug.FreeOSMemory()
		after, heapAfter := rssKiB(b), heapBytes()
		b.ReportMetric(elapsed.Seconds(), "open-s")
		b.ReportMetric(float64(after-before)/partitions, "KiB-RSS/partition")
		b.ReportMetric(float64(heapAfter-heapBefore)/1024/partitions, "KiB-heap/partition")
		b.StopTimer()
		if err := br.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

func heapBytes() int64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// rssKiB reads the process's resident set size from /proc.
func rssKiB(tb testing.TB) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Skip("no /proc/self/status")
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return n
		}
	}
	tb.Skip("no VmRSS line")
	return 0
}
