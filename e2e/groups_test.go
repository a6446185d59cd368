package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel-dev/runnel/plugins"
	_ "github.com/runnel-dev/runnel/plugins/builtin"
	"github.com/runnel-dev/runnel/sdk"
)

// startGroupBroker is startBroker with the builtin server-side assignors
// (as runnel serve has them) and group settings fit for tests: no initial
// rebalance delay, few offsets partitions, quick KIP-848 heartbeats.
func startGroupBroker(t testing.TB, dir string, set ...string) *broker {
	t.Helper()
	var assignors []sdk.Assignor
	for _, name := range []string{"uniform", "range"} {
		a, err := plugins.NewAssignor(name)
		if err != nil {
			t.Fatal(err)
		}
		assignors = append(assignors, a)
	}
	set = append([]string{"group.initial.rebalance.delay.ms=0", "offsets.topic.num.partitions=4",
		"group.consumer.heartbeat.interval.ms=500", "group.consumer.session.timeout.ms=6000"}, set...)
	return startBrokerWith(t, dir, assignors, set...)
}

// killSwitch dials a client's connections and can cut them all at once
// and refuse new ones: to the broker the client has crashed (it never
// sends LeaveGroup).
type killSwitch struct {
	mu    sync.Mutex
	dead  bool
	conns []net.Conn
}

var errCrashed = errors.New("client crashed (test)")

func (k *killSwitch) dial(ctx context.Context, network, host string) (net.Conn, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.dead {
		return nil, errCrashed
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, host)
	if err == nil {
		k.conns = append(k.conns, c)
	}
	return c, err
}

func (k *killSwitch) kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.dead = true
	for _, c := range k.conns {
		_ = c.Close()
	}
}

// collector records which values the consumers of a test processed.
type collector struct {
	mu       sync.Mutex
	seen     map[string]int
	byMember map[string]int
	changed  chan struct{}
}

func newCollector() *collector {
	return &collector{seen: map[string]int{}, byMember: map[string]int{}, changed: make(chan struct{}, 1)}
}

func (c *collector) add(member, value string) {
	c.mu.Lock()
	c.seen[value]++
	c.byMember[member]++
	c.mu.Unlock()
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// waitFor waits until every value has been processed.
func (c *collector) waitFor(t *testing.T, values []string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		c.mu.Lock()
		missing := 0
		for _, v := range values {
			if c.seen[v] == 0 {
				missing++
			}
		}
		c.mu.Unlock()
		if missing == 0 {
			return
		}
		select {
		case <-c.changed:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%d of %d records not processed after %v", missing, len(values), within)
		}
	}
}

func (c *collector) count(member string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byMember[member]
}

// member is one consumer of a group, polling in its own goroutine.
type member struct {
	name   string
	cl     *kgo.Client
	ks     *killSwitch
	cancel context.CancelFunc
	done   chan struct{}
}

// groupOpts are the options every group consumer of these tests shares:
// fast heartbeats and a short session, so crashes are noticed quickly.
func groupOpts(group, topic string) []kgo.Opt {
	return []kgo.Opt{
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(6 * time.Second), kgo.HeartbeatInterval(300 * time.Millisecond),
		kgo.RebalanceTimeout(10 * time.Second), kgo.AutoCommitInterval(200 * time.Millisecond),
		kgo.FetchMaxWait(200 * time.Millisecond),
	}
}

func startMember(t *testing.T, b *broker, name string, col *collector, opts ...kgo.Opt) *member {
	t.Helper()
	m := &member{name: name, ks: &killSwitch{}, done: make(chan struct{})}
	opts = append([]kgo.Opt{kgo.SeedBrokers(b.addr), kgo.ClientID(name), kgo.Dialer(m.ks.dial),
		kgo.RetryTimeout(5 * time.Second)}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	m.cl = cl
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() {
		defer close(m.done)
		for {
			fs := cl.PollFetches(ctx)
			if fs.IsClientClosed() || ctx.Err() != nil {
				return
			}
			fs.EachRecord(func(r *kgo.Record) { col.add(name, string(r.Value)) })
		}
	}()
	t.Cleanup(func() { m.stop() })
	return m
}

// leave stops the member cleanly: it commits and sends LeaveGroup.
func (m *member) leave() {
	if m.cancel == nil {
		return
	}
	m.cancel()
	<-m.done
	m.cl.Close()
	m.cancel = nil
}

// crash cuts the member off without a LeaveGroup; the broker notices
// only when its session times out.
func (m *member) crash() {
	m.ks.kill()
	m.cancel()
	<-m.done
	m.cancel = nil
	go m.cl.Close() // fails to reach the broker; do not wait for its retries
}

func (m *member) stop() {
	if m.cancel != nil {
		m.leave()
	}
}

// producer writes numbered records round-robin over the partitions.
type producer struct {
	t    *testing.T
	cl   *kgo.Client
	next int
	all  []string
}

func newProducer(t *testing.T, b *broker, topic string) *producer {
	return &producer{t: t, cl: b.client(kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.ProducerBatchCompression(kgo.NoCompression()))}
}

// produce writes n more records and returns their values.
func (p *producer) produce(n int) []string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var recs []*kgo.Record
	var vals []string
	for i := 0; i < n; i++ {
		v := "record-" + strconv.Itoa(p.next)
		p.next++
		vals = append(vals, v)
		recs = append(recs, &kgo.Record{Value: []byte(v)})
	}
	if err := p.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		p.t.Fatalf("produce: %v", err)
	}
	p.all = append(p.all, vals...)
	return vals
}

func createGroupTopic(t *testing.T, b *broker, name string, partitions int32) {
	t.Helper()
	if _, err := b.admin().CreateTopic(testContext(t), partitions, 1, nil, name); err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
}

// waitLag waits until the group has committed the end of every partition.
func waitLag0(t *testing.T, b *broker, group string) {
	t.Helper()
	adm := b.admin()
	deadline := time.Now().Add(20 * time.Second)
	for {
		lags, err := adm.Lag(testContext(t), group)
		if err == nil {
			if gl, ok := lags[group]; ok && gl.Error() == nil && gl.Lag.Total() == 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s still lags: %v %+v", group, err, lags[group].Lag)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitMembers waits until the group is stable with n members, each
// owning partitions: the rebalance after a membership change is done.
func waitMembers(t *testing.T, b *broker, group string, n int, kip848 bool) {
	t.Helper()
	if kip848 {
		waitDescribed(t, b, group, func(g kadm.DescribedConsumerGroup) bool {
			if g.State != "Stable" || len(g.Members) != n {
				return false
			}
			for _, m := range g.Members {
				if len(m.Assignment) == 0 {
					return false
				}
			}
			return true
		})
		return
	}
	adm := b.admin()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := adm.DescribeGroups(testContext(t), group)
		g := d[group]
		ok := err == nil && g.State == "Stable" && len(g.Members) == n
		for _, m := range g.Members {
			if a, isConsumer := m.Assigned.AsConsumer(); !isConsumer || len(a.Topics) == 0 {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			for _, m := range g.Members {
				a, _ := m.Assigned.AsConsumer()
				j, _ := m.Join.AsConsumer()
				t.Logf("member %s: join %+v assigned %+v", m.ClientID, j, a)
			}
			t.Fatalf("group %s never stable with %d members: %v %+v", group, n, err, g)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runMembership drives a group through joins, a clean leave and a crash
// while records keep coming, and checks that every record is processed.
func runMembership(t *testing.T, b *broker, group string, kip848 bool, opts ...kgo.Opt) {
	const topic = "orders"
	createGroupTopic(t, b, topic, 6)
	col := newCollector()
	p := newProducer(t, b, topic)
	cons := func(name string) *member {
		return startMember(t, b, name, col, append(groupOpts(group, topic), opts...)...)
	}

	m1, m2 := cons("m1"), cons("m2")
	waitMembers(t, b, group, 2, kip848)
	col.waitFor(t, p.produce(300), 20*time.Second)

	m3 := cons("m3")
	waitMembers(t, b, group, 3, kip848)
	col.waitFor(t, p.produce(300), 20*time.Second)
	for _, m := range []string{"m1", "m2", "m3"} {
		if col.count(m) == 0 {
			t.Fatalf("%s processed nothing", m)
		}
	}

	m2.leave()
	waitMembers(t, b, group, 2, kip848)
	col.waitFor(t, p.produce(300), 20*time.Second)

	// A crash: the broker finds out when m3's session (6s) ends, and its
	// partitions go to m1 from m3's last committed offsets.
	m3.crash()
	col.waitFor(t, p.produce(300), 30*time.Second)

	col.waitFor(t, p.all, time.Second)
	if col.count("m1") == 0 {
		t.Fatalf("m1 processed nothing")
	}
	m1.leave()
	waitLag0(t, b, group)
	t.Logf("processed: m1=%d m2=%d m3=%d of %d", col.count("m1"), col.count("m2"), col.count("m3"), len(p.all))
}

// TestGroupClassicMembership runs eager (range) and cooperative-sticky
// classic groups through joins, a leave and a crash.
func TestGroupClassicMembership(t *testing.T) {
	for _, c := range []struct {
		name     string
		balancer kgo.GroupBalancer
	}{
		{"eager-range", kgo.RangeBalancer()},
		{"cooperative-sticky", kgo.CooperativeStickyBalancer()},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := startGroupBroker(t, "")
			runMembership(t, b, "classic-"+c.name, false, kgo.Balancers(c.balancer))
			d, err := b.admin().DescribeGroups(testContext(t), "classic-"+c.name)
			if err != nil {
				t.Fatal(err)
			}
			if g := d["classic-"+c.name]; g.State != "Empty" {
				t.Fatalf("group after every member left: %+v", g)
			}
		})
	}
}

// TestGroupKIP848Membership runs KIP-848 groups (franz-go's opt-in,
// ServerSideBalancer) with each builtin server-side assignor.
func TestGroupKIP848Membership(t *testing.T) {
	for _, c := range []struct {
		assignor string
		balancer kgo.GroupBalancer // franz-go maps cooperative-sticky to uniform, range to range
	}{
		{"uniform", kgo.CooperativeStickyBalancer()},
		{"range", kgo.RangeBalancer()},
	} {
		t.Run(c.assignor, func(t *testing.T) {
			t.Parallel()
			b := startGroupBroker(t, "")
			group := "kip848-" + c.assignor
			runMembership(t, b, group, true, kgo.ServerSideBalancer(), kgo.Balancers(c.balancer))
			d, err := b.admin().DescribeConsumerGroups(testContext(t), group)
			if err != nil {
				t.Fatal(err)
			}
			if g := d[group]; g.AssignorName != c.assignor || g.State != "Empty" {
				t.Fatalf("group after every member left: assignor %s state %s", g.AssignorName, g.State)
			}
		})
	}
}

// waitDescribed waits until ConsumerGroupDescribe shows what ok wants.
func waitDescribed(t *testing.T, b *broker, group string, ok func(kadm.DescribedConsumerGroup) bool) {
	t.Helper()
	adm := b.admin()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := adm.DescribeConsumerGroups(testContext(t), group)
		if err == nil && ok(d[group]) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s: %v %+v", group, err, d[group])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestGroupOffsetsSurviveRestart commits offsets, restarts the consumers
// and the broker, and checks that consumption resumes where it stopped.
func TestGroupOffsetsSurviveRestart(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []kgo.Opt
	}{
		{"classic", nil},
		{"kip848", []kgo.Opt{kgo.ServerSideBalancer(), kgo.Balancers(kgo.CooperativeStickyBalancer())}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			b := startGroupBroker(t, dir)
			const topic = "resume"
			group := "resume-" + c.name
			createGroupTopic(t, b, topic, 3)
			p := newProducer(t, b, topic)
			first := p.produce(200)
			col := newCollector()
			m := startMember(t, b, "first", col, append(groupOpts(group, topic), c.opts...)...)
			col.waitFor(t, first, 20*time.Second)
			m.leave()
			committed, err := b.admin().FetchOffsets(testContext(t), group)
			if err != nil {
				t.Fatal(err)
			}
			total := int64(0)
			committed.Each(func(o kadm.OffsetResponse) { total += o.At })
			if total != 200 {
				t.Fatalf("committed offsets add up to %d, want 200", total)
			}
			b.stop()

			b = startGroupBroker(t, dir)
			p = newProducer(t, b, topic)
			p.next = 200
			second := p.produce(100)
			col = newCollector()
			m = startMember(t, b, "second", col, append(groupOpts(group, topic), c.opts...)...)
			col.waitFor(t, second, 20*time.Second)
			m.leave()
			col.mu.Lock()
			defer col.mu.Unlock()
			for _, v := range first {
				if col.seen[v] > 0 {
					t.Fatalf("%s was consumed again after the restart: committed offsets were not used", v)
				}
			}
			if len(col.seen) != len(second) {
				t.Fatalf("after the restart %d records consumed, want %d", len(col.seen), len(second))
			}
		})
	}
}

// TestGroupKcatBalanced runs two kcat (librdkafka) balanced consumers in
// one group: both get partitions, together they read every record, and
// their commits hold when the group is used again.
func TestGroupKcatBalanced(t *testing.T) {
	path := needTool(t, "kcat")
	b := startGroupBroker(t, "")
	const topic, group = "kcat-group", "kcat-g"
	createGroupTopic(t, b, topic, 4)
	type proc struct {
		cmd *exec.Cmd
		out *syncBuffer
	}
	start := func() proc {
		out := &syncBuffer{}
		cmd := exec.Command(path, "-b", b.addr, "-G", group, "-u", "-o", "beginning", "-f", "%p:%s\n",
			"-X", "heartbeat.interval.ms=500", "-X", "session.timeout.ms=6000", topic)
		cmd.Stdout, cmd.Stderr = out, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return proc{cmd, out}
	}
	k1, k2 := start(), start()
	// Wait for one generation with both members before producing, so both
	// get partitions.
	adm := b.admin()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := adm.DescribeGroups(testContext(t), group)
		if err == nil && d[group].State == "Stable" && len(d[group].Members) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("two kcat members never formed a stable group: %v %+v", err, d[group])
		}
		time.Sleep(200 * time.Millisecond)
	}
	p := newProducer(t, b, topic)
	want := p.produce(80)
	parse := func(s string) map[string]string {
		got := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			if part, v, ok := strings.Cut(l, ":"); ok {
				got[v] = part
			}
		}
		return got
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		n := len(parse(k1.out.String())) + len(parse(k2.out.String()))
		if n >= len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kcat consumers read %d of %d records", n, len(want))
		}
		time.Sleep(100 * time.Millisecond)
	}
	g1, g2 := parse(k1.out.String()), parse(k2.out.String())
	if len(g1) == 0 || len(g2) == 0 {
		t.Fatalf("a kcat member got no partitions: %d and %d records", len(g1), len(g2))
	}
	for v, part := range g1 {
		if p2, ok := g2[v]; ok {
			t.Fatalf("%s read by both members (partitions %s and %s)", v, part, p2)
		}
	}
	for _, v := range want {
		if g1[v] == "" && g2[v] == "" {
			t.Fatalf("%s read by neither member", v)
		}
	}
	// SIGTERM: kcat commits and leaves the group.
	for _, k := range []proc{k1, k2} {
		_ = k.cmd.Process.Signal(syscall.SIGTERM)
		_ = k.cmd.Wait()
	}
	waitLag0(t, b, group)
}

// syncBuffer is a bytes.Buffer safe for a writing process and a reading
// test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

const kafkaPythonGroupScript = `
import sys
from kafka import KafkaConsumer, TopicPartition

addr, topic, group, want = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
consumer = KafkaConsumer(topic, bootstrap_servers=addr, group_id=group,
                         auto_offset_reset='earliest', enable_auto_commit=False,
                         consumer_timeout_ms=3000, session_timeout_ms=10000,
                         heartbeat_interval_ms=1000)
values = []
for msg in consumer:
    values.append(msg.value.decode())
    if len(values) == want:
        break
consumer.commit()
committed = sum(consumer.committed(TopicPartition(topic, p)) or 0 for p in consumer.partitions_for_topic(topic))
consumer.close()
print("%d %d %s" % (len(values), committed, ",".join(sorted(values))))
`

// TestGroupKafkaPython consumes with kafka-python's KafkaConsumer in a
// group, commits, and checks that a second run resumes after the commit.
func TestGroupKafkaPython(t *testing.T) {
	if _, err := os.Stat(debianPython); err != nil {
		needTool(t, "no-debian-python3")
	}
	if err := exec.Command(debianPython, "-c", "import kafka").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("python3-kafka is not installed; .ci/run should have installed it")
		}
		t.Skip("python3-kafka is not installed")
	}
	b := startGroupBroker(t, "")
	const topic, group = "py-group", "py-g"
	createGroupTopic(t, b, topic, 2)
	p := newProducer(t, b, topic)
	run := func(want int) (int, int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, debianPython, "-c", kafkaPythonGroupScript, b.addr, topic, group, strconv.Itoa(want))
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("kafka-python: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
		}
		var n, committed int
		var vals string
		if _, err := fmt.Sscanf(out.String(), "%d %d %s", &n, &committed, &vals); err != nil && n == 0 {
			t.Fatalf("kafka-python said %q (%v)", out.String(), err)
		}
		return n, committed, vals
	}
	p.produce(50)
	if n, committed, _ := run(50); n != 50 || committed != 50 {
		t.Fatalf("first run: %d records, committed %d; want 50 and 50", n, committed)
	}
	second := p.produce(20)
	n, committed, vals := run(20)
	if n != 20 || committed != 70 {
		t.Fatalf("second run: %d records, committed %d; want 20 and 70", n, committed)
	}
	for _, v := range second {
		if !strings.Contains(","+vals+",", ","+v+",") {
			t.Fatalf("second run missed %s: %s", v, vals)
		}
	}
}

// BenchmarkGroupRebalance is the rebalance benchmark: 8 members
// consume 64 partitions while records keep arriving on every partition;
// one member leaves. It reports how long until every partition is owned
// again and has consumed a record produced after the leave
// (ms-to-reowned), and the longest pause in consumption, over that time,
// of a partition whose member kept it (ms-kept-pause): cooperative
// rebalancing must not stop the world. Heartbeats are every second, for
// both protocols.
func BenchmarkGroupRebalance(b *testing.B) {
	for _, c := range []struct {
		name string
		opts []kgo.Opt
	}{
		{"classic-cooperative", []kgo.Opt{kgo.Balancers(kgo.CooperativeStickyBalancer())}},
		{"classic-eager", []kgo.Opt{kgo.Balancers(kgo.RangeBalancer())}},
		{"kip848-uniform", []kgo.Opt{kgo.ServerSideBalancer(), kgo.Balancers(kgo.CooperativeStickyBalancer())}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var reowned, pause time.Duration
			for i := 0; i < b.N; i++ {
				r, p := rebalanceOnce(b, fmt.Sprintf("bench-%s-%d", c.name, i), c.opts)
				reowned += r
				pause = max(pause, p)
			}
			b.ReportMetric(float64(reowned.Milliseconds())/float64(b.N), "ms-to-reowned")
			b.ReportMetric(float64(pause.Milliseconds()), "ms-kept-pause")
		})
	}
}

// ownership tracks which member owns each partition and when each
// partition last consumed a record.
type ownership struct {
	mu       sync.Mutex
	owner    map[int32]string
	consumed map[int32][]time.Time
	after    map[int32]bool // consumed a record produced after the mark
	mark     time.Time
}

func (o *ownership) set(member string, ps map[string][]int32, own bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, parts := range ps {
		for _, p := range parts {
			if own {
				o.owner[p] = member
			} else if o.owner[p] == member {
				delete(o.owner, p)
			}
		}
	}
}

func rebalanceOnce(b *testing.B, group string, opts []kgo.Opt) (reowned, keptPause time.Duration) {
	b.StopTimer()
	br := startGroupBroker(b, "", "group.consumer.heartbeat.interval.ms=1000")
	const topic, partitions, members = "bench", 64, 8
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := br.admin().CreateTopic(ctx, partitions, 1, nil, topic); err != nil {
		b.Fatal(err)
	}
	own := &ownership{owner: map[int32]string{}, consumed: map[int32][]time.Time{}, after: map[int32]bool{}}
	var clients []*kgo.Client
	var wg sync.WaitGroup
	for m := 0; m < members; m++ {
		name := fmt.Sprint("m", m)
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(br.addr), kgo.ClientID(name),
			kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()),
			kgo.SessionTimeout(10 * time.Second), kgo.HeartbeatInterval(time.Second),
			kgo.FetchMaxWait(100 * time.Millisecond),
			kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { own.set(name, ps, true) }),
			kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { own.set(name, ps, false) }),
			kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { own.set(name, ps, false) }),
		}, opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		clients = append(clients, cl)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				fs := cl.PollFetches(ctx)
				if fs.IsClientClosed() || ctx.Err() != nil {
					return
				}
				now := time.Now()
				own.mu.Lock()
				fs.EachRecord(func(r *kgo.Record) {
					own.consumed[r.Partition] = append(own.consumed[r.Partition], now)
					if !own.mark.IsZero() && r.Timestamp.After(own.mark) {
						own.after[r.Partition] = true
					}
				})
				own.mu.Unlock()
			}
		}()
	}
	defer func() {
		cancel()
		for _, cl := range clients {
			cl.Close()
		}
		wg.Wait()
		br.stop()
	}()
	allOwned := func(exclude string) bool {
		own.mu.Lock()
		defer own.mu.Unlock()
		if len(own.owner) != partitions {
			return false
		}
		for _, m := range own.owner {
			if m == exclude {
				return false
			}
		}
		return true
	}
	for !allOwned("") {
		if ctx.Err() != nil {
			b.Fatal("the group never owned every partition")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Records on every partition, every 20ms.
	prod, err := kgo.NewClient(kgo.SeedBrokers(br.addr), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close()
	stopProd := make(chan struct{})
	prodDone := make(chan struct{})
	go func() {
		defer close(prodDone)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopProd:
				return
			case <-t.C:
				for p := int32(0); p < partitions; p++ {
					prod.Produce(ctx, &kgo.Record{Partition: p, Value: []byte("x")}, nil)
				}
			}
		}
	}()
	time.Sleep(time.Second) // steady state

	own.mu.Lock()
	before := make(map[int32]string, partitions)
	for p, m := range own.owner {
		before[p] = m
	}
	own.mark = time.Now()
	start := own.mark
	own.mu.Unlock()
	b.StartTimer()
	leaver := clients[0]
	clients = clients[1:]
	leaver.Close() // commits and leaves
	for {
		done := allOwned("m0")
		own.mu.Lock()
		for p := int32(0); p < partitions && done; p++ {
			done = own.after[p]
		}
		own.mu.Unlock()
		if done {
			break
		}
		if ctx.Err() != nil {
			b.Fatal("partitions never all owned and consumed again")
		}
		time.Sleep(5 * time.Millisecond)
	}
	reowned = time.Since(start)
	b.StopTimer()
	close(stopProd)
	<-prodDone

	own.mu.Lock()
	defer own.mu.Unlock()
	end := start.Add(reowned)
	for p, m := range before {
		if m == "m0" || own.owner[p] != m {
			continue
		}
		last := start
		for _, ts := range own.consumed[p] {
			if ts.Before(start) {
				continue
			}
			if ts.After(end) {
				break
			}
			keptPause = max(keptPause, ts.Sub(last))
			last = ts
		}
		keptPause = max(keptPause, end.Sub(last))
	}
	return reowned, keptPause
}

// TestGroupKIP848Regex subscribes by regular expression (franz-go sends
// it as a KIP-848 SubscribedTopicRegex): matching topics are consumed,
// others not, and a matching topic created later is picked up.
func TestGroupKIP848Regex(t *testing.T) {
	b := startGroupBroker(t, "")
	for _, topic := range []string{"rx-a", "rx-b", "other"} {
		createGroupTopic(t, b, topic, 2)
	}
	col := newCollector()
	m := startMember(t, b, "rx", col, kgo.ConsumerGroup("rx-group"), kgo.ConsumeRegex(), kgo.ConsumeTopics("rx-.*"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.ServerSideBalancer(),
		kgo.Balancers(kgo.CooperativeStickyBalancer()), kgo.MetadataMinAge(500*time.Millisecond), kgo.MetadataMaxAge(time.Second),
		kgo.FetchMaxWait(200*time.Millisecond))
	var want []string
	for i, topic := range []string{"rx-a", "rx-b", "other"} {
		p := newProducer(t, b, topic)
		p.next = 1000 * i // distinct values across topics
		vals := p.produce(10)
		if topic != "other" {
			want = append(want, vals...)
		} else {
			defer func() {
				col.mu.Lock()
				defer col.mu.Unlock()
				for _, v := range vals {
					if col.seen[v] > 0 {
						t.Errorf("%s from a topic the regex does not match was consumed", v)
					}
				}
			}()
		}
	}
	col.waitFor(t, want, 20*time.Second)
	createGroupTopic(t, b, "rx-late", 1)
	late := newProducer(t, b, "rx-late")
	late.next = 99000
	col.waitFor(t, late.produce(5), 20*time.Second)
	m.leave()
}
