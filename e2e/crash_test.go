package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The crash tests run the real binary (`runnel serve` as a child process),
// kill it with SIGKILL, and check what a restart on the same data dir
// serves: every acknowledged record at its acknowledged offset, no
// duplicates from an idempotent producer, and never a batch with a bad CRC.

// crashBroker is a sequence of `runnel serve` processes sharing one data
// dir and one port: the broker across its restarts.
type crashBroker struct {
	t       *testing.T
	dir     string
	port    int
	cur     *serveProcess
	running bool
	all     []*serveProcess
}

// newCrashBroker starts the first process. At the end of the test every
// process still running is killed, and if the test failed the stderr of
// every process is logged; otherwise only its warnings and errors are.
func newCrashBroker(t *testing.T) *crashBroker {
	t.Helper()
	b := &crashBroker{t: t, dir: t.TempDir(), port: freePort(t)}
	// Registered before any process starts, so it runs after all of them
	// have been reaped.
	t.Cleanup(func() {
		for i, p := range b.all {
			if t.Failed() {
				t.Logf("broker process %d stderr:\n%s", i, p.stderr.String())
				continue
			}
			for _, l := range strings.Split(p.stderr.String(), "\n") {
				if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
					t.Logf("broker process %d: %s", i, l)
				}
			}
		}
	})
	b.start()
	return b
}

func (b *crashBroker) addr() string { return b.cur.addr }

func (b *crashBroker) start() {
	b.t.Helper()
	p := startServe(b.t, b.dir, b.port)
	b.cur, b.running = p, true
	b.all = append(b.all, p)
	// Runs before startServe's own cleanup (cleanups run last in, first
	// out), so that one finds the process reaped and does not race with
	// the goroutine waiting on it.
	b.t.Cleanup(func() {
		if b.cur != p || !b.running {
			return
		}
		_ = p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			b.t.Errorf("runnel serve did not exit after SIGKILL")
		}
		b.running = false
	})
}

// kill SIGKILLs the current process and waits for it to exit.
func (b *crashBroker) kill() {
	b.t.Helper()
	_ = b.cur.stop(b.t, syscall.SIGKILL)
	b.running = false
}

// terminate stops the current process with SIGTERM and fails the test
// unless it exits cleanly; it first fails the test if the process has
// already exited on its own.
func (b *crashBroker) terminate() {
	b.t.Helper()
	select {
	case err := <-b.cur.done:
		b.running = false
		b.t.Fatalf("runnel serve exited on its own: %v", err)
	default:
	}
	err := b.cur.stop(b.t, syscall.SIGTERM)
	b.running = false
	if err != nil {
		b.t.Fatalf("runnel serve exited with %v after SIGTERM", err)
	}
}

func (b *crashBroker) client(opts ...kgo.Opt) *kgo.Client {
	b.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.addr())}, opts...)...)
	if err != nil {
		b.t.Fatalf("kgo.NewClient: %v", err)
	}
	b.t.Cleanup(cl.Close)
	return cl
}

// newSeededRand returns a generator seeded from the clock, logging the
// seed so a failing run can be reproduced.
func newSeededRand(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

func createTopic(ctx context.Context, t *testing.T, adm *kadm.Client, topic string, partitions int32, configs map[string]*string) {
	t.Helper()
	resp, err := adm.CreateTopic(ctx, partitions, 1, configs, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

func endOffsets(ctx context.Context, t *testing.T, adm *kadm.Client, topic string, partitions int32) []int64 {
	t.Helper()
	lo, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = lo.Error()
	}
	if err != nil {
		t.Fatalf("list end offsets: %v", err)
	}
	ends := make([]int64, partitions)
	for p := range partitions {
		o, ok := lo.Lookup(topic, p)
		if !ok {
			t.Fatalf("no end offset for %s-%d", topic, p)
		}
		ends[p] = o.Offset
	}
	return ends
}

// consumeRange reads every partition of topic from offset 0 up to (not
// including) ends[p] with a fresh consumer, failing on any fetch error
// (kgo checks batch CRCs and reports a bad one as an error) and on any
// offset that does not follow the one before. It returns the values by
// partition, indexed by offset.
func consumeRange(ctx context.Context, t *testing.T, addr, topic string, ends []int64) [][]string {
	t.Helper()
	parts := map[int32]kgo.Offset{}
	for p := range ends {
		parts[int32(p)] = kgo.NewOffset().At(0)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}),
		kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got := make([][]string, len(ends))
	done := func() bool {
		for p, end := range ends {
			if int64(len(got[p])) < end {
				return false
			}
		}
		return true
	}
	for !done() {
		fs := cl.PollFetches(ctx)
		for _, fe := range fs.Errors() {
			t.Fatalf("fetch %s-%d: %v (read so far: %v of %v)", fe.Topic, fe.Partition, fe.Err, lens(got), ends)
		}
		fs.EachRecord(func(r *kgo.Record) {
			p := r.Partition
			if want := int64(len(got[p])); r.Offset != want {
				t.Fatalf("%s-%d: read offset %d, want %d (offsets must be dense and increasing)", topic, p, r.Offset, want)
			}
			if r.Offset >= ends[p] {
				t.Fatalf("%s-%d: read offset %d at or past the end offset %d", topic, p, r.Offset, ends[p])
			}
			got[p] = append(got[p], string(r.Value))
		})
	}
	return got
}

func lens(s [][]string) []int {
	n := make([]int, len(s))
	for i := range s {
		n[i] = len(s[i])
	}
	return n
}

// TestCrashLoopKeepsAcknowledgedRecords SIGKILLs the broker at random
// moments under a continuous idempotent acks=all produce, restarting it on
// the same data dir each time, and then checks that every acknowledged
// record is at its acknowledged partition and offset, that offsets are
// dense, and that no record was written twice.
func TestCrashLoopKeepsAcknowledgedRecords(t *testing.T) {
	rng := newSeededRand(t)
	start := time.Now()
	ctx := testContext(t)
	b := newCrashBroker(t)
	const topic, partitions, rounds = "crash", 3, 8
	createTopic(ctx, t, kadm.NewClient(b.client()), topic, partitions, nil)

	prod := b.client(
		kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.RecordDeliveryTimeout(10*time.Second),
		kgo.RecordRetries(200),
		kgo.RetryBackoffFn(func(tries int) time.Duration {
			return min(time.Duration(tries)*20*time.Millisecond, 200*time.Millisecond)
		}),
		kgo.MetadataMinAge(100*time.Millisecond),
	)

	type ack struct {
		partition int32
		offset    int64
		value     string
	}
	var (
		mu       sync.Mutex
		acks     []ack
		failures = map[string]error{}
		nAcked   atomic.Int64
		produced atomic.Int64
	)
	stop := make(chan struct{})
	producerDone := make(chan struct{})
	inflight := make(chan struct{}, 2000) // bounds the records in flight
	go func() {
		defer close(producerDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case inflight <- struct{}{}:
			}
			if i%20 == 19 {
				// At most about 20k records a second, so the records the
				// test keeps in memory stay bounded however fast the
				// broker gets.
				time.Sleep(time.Millisecond)
			}
			produced.Add(1)
			prod.Produce(context.Background(), &kgo.Record{Value: fmt.Appendf(nil, "crash-%09d", i)},
				func(r *kgo.Record, err error) {
					mu.Lock()
					if err != nil {
						failures[string(r.Value)] = err
					} else {
						acks = append(acks, ack{r.Partition, r.Offset, string(r.Value)})
						nAcked.Add(1)
					}
					mu.Unlock()
					<-inflight
				})
		}
	}()
	stopProducing := sync.OnceFunc(func() { close(stop); <-producerDone })
	defer stopProducing()

	// waitProgress waits for the producer to get records acknowledged by
	// the current process, so every kill lands under load.
	waitProgress := func(round int) {
		t.Helper()
		from := nAcked.Load()
		deadline := time.Now().Add(20 * time.Second)
		for nAcked.Load() < from+10 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: no produce acknowledged within 20s of the broker starting (acked %d)", round, nAcked.Load())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for round := 1; round <= rounds; round++ {
		waitProgress(round)
		delay := time.Duration(50+rng.IntN(351)) * time.Millisecond
		time.Sleep(delay)
		before := nAcked.Load()
		b.kill()
		t.Logf("round %d: SIGKILL %v after progress; acked so far %d", round, delay, before)
		b.start()
	}
	waitProgress(rounds + 1)
	stopProducing()
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := prod.Flush(fctx); err != nil {
		t.Fatalf("flush: %v", err)
	}

	mu.Lock()
	acked, failed := slices.Clone(acks), len(failures)
	distinctErrs := map[string]int{}
	for _, err := range failures {
		distinctErrs[err.Error()]++
	}
	mu.Unlock()
	if n := produced.Load(); int64(len(acked)+failed) != n {
		t.Fatalf("%d records produced but %d acked + %d failed", n, len(acked), failed)
	}
	for e, n := range distinctErrs {
		t.Logf("failed records: %d × %s", n, e)
	}

	ends := endOffsets(ctx, t, kadm.NewClient(b.client()), topic, partitions)
	got := consumeRange(ctx, t, b.addr(), topic, ends)
	total := 0
	seen := map[string]string{}
	for p := range got {
		total += len(got[p])
		for o, v := range got[p] {
			where := fmt.Sprintf("%s-%d@%d", topic, p, o)
			if prev, dup := seen[v]; dup {
				t.Fatalf("value %q at %s and again at %s: the idempotent producer's record was written twice", v, prev, where)
			}
			seen[v] = where
		}
	}
	for _, a := range acked {
		if a.offset >= int64(len(got[a.partition])) {
			t.Fatalf("acknowledged %q at %s-%d@%d is missing: the partition ends at %d",
				a.value, topic, a.partition, a.offset, len(got[a.partition]))
		}
		if v := got[a.partition][a.offset]; v != a.value {
			t.Fatalf("acknowledged %q at %s-%d@%d, but that offset holds %q", a.value, topic, a.partition, a.offset, v)
		}
	}
	// Whatever else was read must be a failed record (which may or may
	// not have been written); anything else came from nowhere.
	mu.Lock()
	unacked := 0
	for v := range seen {
		if _, ok := failures[v]; ok {
			unacked++
		}
	}
	mu.Unlock()
	if total != len(acked)+unacked {
		t.Fatalf("read %d records: %d acknowledged + %d failed ones, the rest were never produced", total, len(acked), unacked)
	}
	b.terminate()
	t.Logf("%d rounds in %v: acked %d, failed %d (%d of them present), read %d (end offsets %v)",
		rounds, time.Since(start).Round(time.Millisecond), len(acked), failed, unacked, total, ends)
}

// segmentBatch is one record batch found in a segment file.
type segmentBatch struct {
	pos, size  int64
	base, next int64 // first offset, and the offset after the last
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// batchCRCOK checks a whole v2 batch's CRC-32C (over attributes..end).
func batchCRCOK(b []byte) bool {
	return len(b) >= 61 && b[16] == 2 &&
		crc32.Checksum(b[21:], castagnoli) == binary.BigEndian.Uint32(b[17:21])
}

// walkSegment lists the batches of a segment file from its start,
// stopping at a zero length (preallocated space) or the end of the data.
// Every batch it finds must be whole and carry a good CRC.
func walkSegment(t *testing.T, path string) []segmentBatch {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []segmentBatch
	for pos := int64(0); pos+12 <= int64(len(data)); {
		length := int64(int32(binary.BigEndian.Uint32(data[pos+8:])))
		if length == 0 {
			break
		}
		size := length + 12
		if length < 49 || pos+size > int64(len(data)) {
			t.Fatalf("%s: bad batch at %d (length %d, file %d bytes) before any damage", path, pos, length, len(data))
		}
		b := data[pos : pos+size]
		if !batchCRCOK(b) {
			t.Fatalf("%s: batch at %d has a bad CRC before any damage", path, pos)
		}
		base := int64(binary.BigEndian.Uint64(b))
		lastDelta := int64(int32(binary.BigEndian.Uint32(b[23:])))
		out = append(out, segmentBatch{pos: pos, size: size, base: base, next: base + lastDelta + 1})
		pos += size
	}
	return out
}

// newestSegment returns the path of the highest-numbered .log file in a
// partition dir, and how many segments the dir holds.
func newestSegment(t *testing.T, dir string) (string, int) {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil || len(logs) == 0 {
		t.Fatalf("no segment in %s: %v", dir, err)
	}
	slices.Sort(logs) // %020d names sort as their offsets
	return logs[len(logs)-1], len(logs)
}

// fetchRawBatches fetches partition p from offset 0 to end with raw Fetch
// requests, checks the CRC of every batch the broker sends, and checks that
// the batches cover [0, end) with no gap or overlap.
func fetchRawBatches(ctx context.Context, t *testing.T, cl *kgo.Client, topic string, id [16]byte, p int32, end int64) int {
	t.Helper()
	batches := 0
	for off := int64(0); off < end; {
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID = -1
		req.MaxWaitMillis = 100
		req.MinBytes = 1
		req.MaxBytes = 4 << 20
		req.SessionEpoch = -1
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = topic, id
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, off, 4<<20
		rp.LogStartOffset, rp.CurrentLeaderEpoch = -1, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("raw fetch %s-%d@%d: %v", topic, p, off, err)
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			t.Fatalf("raw fetch %s-%d@%d: %v", topic, p, off, err)
		}
		var data []byte
		for _, st := range resp.Topics {
			for _, sp := range st.Partitions {
				if sp.Partition != p {
					continue
				}
				if err := kerr.ErrorForCode(sp.ErrorCode); err != nil {
					t.Fatalf("raw fetch %s-%d@%d: %v", topic, p, off, err)
				}
				if sp.HighWatermark != end {
					t.Fatalf("raw fetch %s-%d: high watermark %d, want %d", topic, p, sp.HighWatermark, end)
				}
				data = sp.RecordBatches
			}
		}
		progressed := false
		for len(data) >= 12 {
			size := int64(int32(binary.BigEndian.Uint32(data[8:]))) + 12
			if size > int64(len(data)) {
				break // a partial batch at the end of a response is allowed
			}
			b := data[:size]
			if !batchCRCOK(b) {
				t.Fatalf("raw fetch %s-%d@%d: the broker served a batch with a bad CRC (or magic %d)", topic, p, off, b[16])
			}
			base := int64(binary.BigEndian.Uint64(b))
			if base != off {
				t.Fatalf("raw fetch %s-%d: batch starts at offset %d, want %d", topic, p, base, off)
			}
			off = base + int64(int32(binary.BigEndian.Uint32(b[23:]))) + 1
			batches++
			progressed = true
			data = data[size:]
		}
		if !progressed {
			t.Fatalf("raw fetch %s-%d@%d: no whole batch before the end offset %d", topic, p, off, end)
		}
	}
	return batches
}

// TestCorruptTailIsTruncated damages the tail of a partition's newest
// segment between a SIGKILL and a restart. The broker must come up, serve
// every batch before the damaged one and nothing with a bad CRC, keep
// running, and append new records right after the last valid batch.
func TestCorruptTailIsTruncated(t *testing.T) {
	variants := []struct {
		name string
		// damage changes the segment at path whose last batch is last;
		// keepLast reports whether that batch survives.
		damage   func(t *testing.T, rng *rand.Rand, path string, last segmentBatch)
		keepLast bool
	}{
		{"truncate-mid-batch", func(t *testing.T, rng *rand.Rand, path string, last segmentBatch) {
			cut := last.pos + 1 + rng.Int64N(last.size-1)
			t.Logf("truncating at byte %d (batch at %d, %d bytes)", cut, last.pos, last.size)
			if err := os.Truncate(path, cut); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"flip-record-byte", func(t *testing.T, rng *rand.Rand, path string, last segmentBatch) {
			at := last.pos + 61 + rng.Int64N(last.size-61)
			x := byte(1 + rng.IntN(255))
			t.Logf("xor byte %d with %#x (batch at %d, %d bytes)", at, x, last.pos, last.size)
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var c [1]byte
			if _, err := f.ReadAt(c[:], at); err != nil {
				t.Fatal(err)
			}
			c[0] ^= x
			if _, err := f.WriteAt(c[:], at); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"append-garbage", func(t *testing.T, rng *rand.Rand, path string, last segmentBatch) {
			// Right after the last batch: at the end of the file, or over
			// preallocated zeros.
			garbage := make([]byte, 100)
			for i := range garbage {
				garbage[i] = byte(rng.UintN(256))
			}
			t.Logf("writing 100 random bytes at %d, after the last batch", last.pos+last.size)
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(garbage, last.pos+last.size); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			rng := newSeededRand(t)
			start := time.Now()
			ctx := testContext(t)
			b := newCrashBroker(t)
			const topic, partitions, damaged = "torn", 2, int32(0)
			adm := kadm.NewClient(b.client())
			// Small segments, so the partition has several and the newest
			// one follows others.
			createTopic(ctx, t, adm, topic, partitions, map[string]*string{"segment.bytes": kadm.StringPtr("4096")})

			// Manual flushing: each flush sends exactly one batch per
			// partition, holding the records produced since the last one.
			prod := b.client(kgo.DefaultProduceTopic(topic), kgo.ManualFlushing(),
				kgo.RecordPartitioner(kgo.ManualPartitioner()),
				kgo.ProducerBatchCompression(kgo.NoCompression()))
			want := make([][]string, partitions) // values by partition, indexed by offset
			var mu sync.Mutex
			var produceErr error
			for batch := range 30 {
				for p := range int32(partitions) {
					for i := range 1 + (batch+int(p))%5 {
						val := fmt.Sprintf("p%d-b%02d-r%d-%016x%016x", p, batch, i, rng.Uint64(), rng.Uint64())
						prod.Produce(ctx, &kgo.Record{Partition: p, Value: []byte(val)}, func(r *kgo.Record, err error) {
							mu.Lock()
							defer mu.Unlock()
							if err != nil {
								produceErr = err
								return
							}
							vals := &want[r.Partition]
							if r.Offset != int64(len(*vals)) {
								produceErr = fmt.Errorf("%q acknowledged at %s-%d@%d, want offset %d", r.Value, topic, r.Partition, r.Offset, len(*vals))
								return
							}
							*vals = append(*vals, string(r.Value))
						})
					}
				}
				if err := prod.Flush(ctx); err != nil {
					t.Fatalf("flush: %v", err)
				}
			}
			mu.Lock()
			if produceErr != nil {
				t.Fatalf("produce: %v", produceErr)
			}
			mu.Unlock()
			b.kill()

			path, nsegs := newestSegment(t, filepath.Join(b.dir, fmt.Sprintf("%s-%d", topic, damaged)))
			batches := walkSegment(t, path)
			if len(batches) == 0 {
				t.Fatalf("%s holds no batch", path)
			}
			last := batches[len(batches)-1]
			if last.next != int64(len(want[damaged])) {
				t.Fatalf("%s ends at offset %d, but %d records were acknowledged", path, last.next, len(want[damaged]))
			}
			fi, _ := os.Stat(path)
			t.Logf("partition %d: %d segments; newest %s: %d bytes, %d batches, last batch offsets %d..%d at %d (%d bytes)",
				damaged, nsegs, filepath.Base(path), fi.Size(), len(batches), last.base, last.next-1, last.pos, last.size)
			v.damage(t, rng, path, last)
			valid := last.base
			if v.keepLast {
				valid = last.next
			}

			b.start()
			adm = kadm.NewClient(b.client())
			ends := endOffsets(ctx, t, adm, topic, partitions)
			wantEnds := []int64{valid, int64(len(want[1]))}
			if !slices.Equal(ends, wantEnds) {
				t.Fatalf("after restart: end offsets %v, want %v", ends, wantEnds)
			}
			got := consumeRange(ctx, t, b.addr(), topic, ends)
			for p := range got {
				if !slices.Equal(got[p], want[p][:ends[p]]) {
					t.Fatalf("partition %d: records read back differ from those acknowledged", p)
				}
			}
			td, err := adm.ListTopics(ctx, topic)
			if err != nil || td[topic].Err != nil {
				t.Fatalf("list topics: %v %v", err, td[topic].Err)
			}
			raw := b.client()
			nb := fetchRawBatches(ctx, t, raw, topic, td[topic].ID, damaged, valid)

			// New records land right after the last valid batch. A fresh
			// producer: the old one's sequence numbers include the lost
			// batch.
			prod2 := b.client(kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
			var fresh []*kgo.Record
			for i := range 5 {
				fresh = append(fresh, &kgo.Record{Partition: damaged, Value: fmt.Appendf(nil, "after-restart-%d", i)})
			}
			if err := prod2.ProduceSync(ctx, fresh...).FirstErr(); err != nil {
				t.Fatalf("produce after restart: %v", err)
			}
			for i, r := range fresh {
				if r.Offset != valid+int64(i) {
					t.Fatalf("new record %d landed at offset %d, want %d", i, r.Offset, valid+int64(i))
				}
				want[damaged] = append(want[damaged][:valid+int64(i)], string(r.Value))
			}
			valid += int64(len(fresh))
			ends = endOffsets(ctx, t, adm, topic, partitions)
			got = consumeRange(ctx, t, b.addr(), topic, ends)
			if ends[damaged] != valid || !slices.Equal(got[damaged], want[damaged][:valid]) {
				t.Fatalf("partition %d after new produce: end %d (want %d), or the records read back differ", damaged, ends[damaged], valid)
			}
			fetchRawBatches(ctx, t, raw, topic, td[topic].ID, damaged, valid)

			// Still running, stops cleanly, and a second recovery (after a
			// clean stop) serves the same data.
			b.terminate()
			b.start()
			ends = endOffsets(ctx, t, kadm.NewClient(b.client()), topic, partitions)
			if ends[damaged] != valid {
				t.Fatalf("after a clean restart: partition %d ends at %d, want %d", damaged, ends[damaged], valid)
			}
			fetchRawBatches(ctx, t, b.client(), topic, td[topic].ID, damaged, valid)
			b.terminate()
			t.Logf("in %v: partition %d kept offsets 0..%d (%d batches read back raw, CRCs good), new records at %d..%d",
				time.Since(start).Round(time.Millisecond), damaged, valid-int64(len(fresh))-1, nb,
				valid-int64(len(fresh)), valid-1)
		})
	}
}
