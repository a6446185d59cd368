package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/runnel-dev/runnel/plugins"
	"github.com/runnel-dev/runnel/plugins/host"
	"github.com/runnel-dev/runnel/sdk"
)

var (
	exampleOnce sync.Once
	examplePath string
	exampleErr  error
)

// examplePlugin builds the example external assignor, a module of its own
// under plugins/examples, once per test run.
func examplePlugin(t *testing.T) string {
	t.Helper()
	exampleOnce.Do(func() {
		dir, err := os.MkdirTemp("", "runnel-e2e-plugin")
		if err != nil {
			exampleErr = err
			return
		}
		examplePath = filepath.Join(dir, "rackaware")
		cmd := exec.Command("go", "build", "-o", examplePath, ".")
		cmd.Dir = filepath.Join("..", "plugins", "examples", "rackaware")
		if out, err := cmd.CombinedOutput(); err != nil {
			exampleErr = fmt.Errorf("building the example plugin: %v\n%s", err, out)
		}
	})
	if exampleErr != nil {
		t.Fatal(exampleErr)
	}
	return examplePath
}

// testLogger logs to stderr when RUNNEL_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("RUNNEL_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// rawHeartbeat sends one ConsumerGroupHeartbeat and returns the answer
// and how long it took.
func rawHeartbeat(t *testing.T, cl *kgo.Client, req *kmsg.ConsumerGroupHeartbeatRequest) (*kmsg.ConsumerGroupHeartbeatResponse, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("heartbeat: %v", err)
	}
	return resp, time.Since(start)
}

// TestPluginAssignorRestart runs a KIP-848 group whose assignments come
// from the example assignor in its own process, and kills that process
// mid-test: while it is down heartbeats that need an assignment get a
// retriable error at once; the host restarts it; the group consumes every
// record, produced before, during and after the outage.
func TestPluginAssignorRestart(t *testing.T) {
	path := examplePlugin(t)
	h := host.New(host.Config{
		CallTimeout:    2 * time.Second,
		HealthInterval: 100 * time.Millisecond,
		MinBackoff:     2 * time.Second, // a down window the test can see
		Logger:         testLogger(),
	})
	t.Cleanup(func() { h.Close() })
	a, err := h.Assignor("exec:" + path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name() != "rackaware" {
		t.Fatalf("example plugin is named %q", a.Name())
	}
	uniform, err := plugins.NewAssignor("uniform")
	if err != nil {
		t.Fatal(err)
	}
	// franz-go asks for "uniform" or "range" by name; the broker pins the
	// group to the plugin instead (plugin.assignor.groups).
	const topic, group = "plugged", "plugged-group"
	b := startBrokerWith(t, "", []sdk.Assignor{a, uniform}, "group.initial.rebalance.delay.ms=0", "offsets.topic.num.partitions=4",
		"group.consumer.heartbeat.interval.ms=300", "group.consumer.session.timeout.ms=6000",
		"plugin.assignor.groups="+group+"=rackaware")
	ctx := testContext(t)
	if _, err := b.admin().CreateTopic(ctx, 6, 1, nil, topic); err != nil {
		t.Fatal(err)
	}

	prod := b.client(kgo.DefaultProduceTopic(topic))
	var values []string
	produce := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			v := fmt.Sprintf("v%05d", len(values))
			values = append(values, v)
			prod.Produce(ctx, &kgo.Record{Key: []byte(v), Value: []byte(v)}, nil)
		}
		if err := prod.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	produce(300)

	col := newCollector()
	opts := append(groupOpts(group, topic), kgo.ServerSideBalancer(), kgo.Balancers(kgo.CooperativeStickyBalancer()))
	startMember(t, b, "m1", col, opts...)
	startMember(t, b, "m2", col, opts...)
	waitPlugged := func() {
		t.Helper()
		waitDescribed(t, b, group, func(g kadm.DescribedConsumerGroup) bool {
			return g.AssignorName == "rackaware" && len(g.Members) == 2 && eachMemberOwns(g) && assignedPartitions(g) == 6
		})
	}
	waitPlugged()
	col.waitFor(t, values, 30*time.Second)

	// Kill the plugin process.
	st := h.Status()
	if len(st) != 1 || !st[0].Healthy || st[0].PID == 0 {
		t.Fatalf("plugin status %+v", st)
	}
	if err := syscall.Kill(st[0].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	produce(300) // records written while the assignor is down

	// A new member joins: the group needs a new assignment, which cannot
	// be computed now. The answer must be quick and retriable.
	raw := b.client()
	join := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	join.Group, join.MemberID, join.MemberEpoch = group, "raw-member-0000000000", 0
	join.RebalanceTimeoutMillis, join.SubscribedTopicNames = 10000, []string{topic}
	sawRetriable := false
	deadline := time.Now().Add(20 * time.Second)
	var resp *kmsg.ConsumerGroupHeartbeatResponse
	for {
		var took time.Duration
		resp, took = rawHeartbeat(t, raw, join)
		if took > 5*time.Second {
			t.Fatalf("a heartbeat took %v while the assignor was down", took)
		}
		if resp.ErrorCode == 0 {
			break
		}
		err := kerr.ErrorForCode(resp.ErrorCode)
		if !errors.Is(err, kerr.CoordinatorNotAvailable) || !kerr.IsRetriable(err) {
			t.Fatalf("heartbeat while the assignor is down: %v (%v), want a retriable COORDINATOR_NOT_AVAILABLE", err, resp.ErrorMessage)
		}
		if msg := resp.ErrorMessage; msg == nil || !strings.Contains(*msg, "assignor.rackaware") {
			t.Fatalf("error message %q does not name the plugin", derefString(msg))
		}
		sawRetriable = true
		if time.Now().After(deadline) {
			t.Fatal("the assignor plugin was not restarted")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !sawRetriable {
		t.Fatal("the heartbeat right after the kill succeeded: was the plugin killed?")
	}
	if st := h.Status(); !st[0].Healthy || st[0].Restarts != 1 {
		t.Fatalf("after the outage: %+v", st[0])
	}
	// The raw member leaves; the two real members consume everything.
	leave := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	leave.Group, leave.MemberID, leave.MemberEpoch = group, join.MemberID, -1
	if resp, _ := rawHeartbeat(t, raw, leave); resp.ErrorCode != 0 {
		t.Fatalf("leave: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	// Wait for both members to own partitions again before the last
	// records: otherwise, on a slow machine, m1 may still hold all six
	// and consume them alone.
	waitPlugged()
	before := col.count("m2")
	produce(300)
	col.waitFor(t, values, 60*time.Second)
	if col.count("m2") == before {
		t.Fatalf("m2 consumed nothing after the outage: m1 %d, m2 %d", col.count("m1"), col.count("m2"))
	}
}

// eachMemberOwns says whether every member of the group owns partitions
// now (not only in its target assignment).
func eachMemberOwns(g kadm.DescribedConsumerGroup) bool {
	for _, m := range g.Members {
		if len(m.Assignment) == 0 {
			return false
		}
	}
	return true
}

func assignedPartitions(g kadm.DescribedConsumerGroup) int {
	n := 0
	for _, ps := range g.AssignedPartitions() {
		n += len(ps)
	}
	return n
}

func derefString(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TestBinaryPlugins runs runnel serve with its assignor in a plugin
// process (a builtin served out of process by runnel itself) and the
// example plugin in plugin.dir: runnel plugin list shows both external
// and healthy, runnel produce partitions through a plugin exactly as the
// builtin does, and a stopped broker leaves no plugin running.
func TestBinaryPlugins(t *testing.T) {
	bin := runnelBinary(t)
	pluginDir := t.TempDir()
	if err := os.Symlink(examplePlugin(t), filepath.Join(pluginDir, "rackaware")); err != nil {
		t.Fatal(err)
	}
	adminAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srv := startServe(t, t.TempDir(), freePort(t),
		"RUNNEL_PLUGIN_ASSIGNOR=exec:"+bin+" plugin serve assignor.range",
		"RUNNEL_PLUGIN_DIR="+pluginDir,
		"RUNNEL_ADMIN_LISTENER="+adminAddr)

	var rows []struct {
		Point, Binding, ID string
		External, Healthy  bool
		PID                int
	}
	out := runnel(t, "", "plugin", "list", "--admin", adminAddr, "--json")
	if err := jsonUnmarshal(out, &rows); err != nil {
		t.Fatalf("plugin list --json: %v\n%s", err, out)
	}
	pids := map[string]int{}
	for _, r := range rows {
		if r.Point == "assignor" && r.External {
			if !r.Healthy || r.PID == 0 {
				t.Fatalf("external assignor not healthy: %+v", r)
			}
			pids[r.ID] = r.PID
		}
	}
	if pids["assignor.range"] == 0 || pids["assignor.rackaware"] == 0 {
		t.Fatalf("plugin list does not show both external assignors:\n%s", out)
	}
	if table := runnel(t, "", "plugin", "list", "--admin", adminAddr); !strings.Contains(table, "process "+fmt.Sprint(pids["assignor.range"])) {
		t.Fatalf("plugin list table:\n%s", table)
	}

	// The same keys through the builtin murmur2 and through murmur2 in a
	// plugin process land on the same partitions.
	var in strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&in, "key%d:v%d\n", i, i)
	}
	placement := func(topic, partitioner string) map[string]string {
		runnel(t, "", "topic", "create", topic, "--partitions", "5", "-b", srv.addr)
		runnel(t, in.String(), "produce", "-t", topic, "-K", ":", "--partitioner", partitioner, "-b", srv.addr)
		got := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(runnel(t, "", "consume", "-t", topic, "-e", "--format", `%k %p\n`, "-b", srv.addr)), "\n") {
			k, p, _ := strings.Cut(l, " ")
			got[k] = p
		}
		return got
	}
	builtin := placement("by-builtin", "murmur2")
	external := placement("by-plugin", "exec:"+bin+" plugin serve partitioner.murmur2")
	if len(builtin) != 200 || fmt.Sprint(builtin) != fmt.Sprint(external) {
		t.Fatalf("placement differs: builtin %v, plugin %v", builtin, external)
	}

	if err := srv.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("serve: %v\n%s", err, srv.stderr)
	}
	for id, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("plugin %s (pid %d) still runs after the broker stopped", id, pid)
		}
	}
}

// TestBinaryBadPlugin starts runnel serve bound to plugins that cannot
// work: it refuses to start, naming the plugin, and leaves nothing
// running; with plugin.assignor.fallback it starts on the fallback.
func TestBinaryBadPlugin(t *testing.T) {
	bin := runnelBinary(t)
	dir := t.TempDir()
	childPID := filepath.Join(dir, "child.pid")
	hang := filepath.Join(dir, "hanging-plugin")
	script := "#!/bin/sh\nsleep 300 &\necho $! > " + childPID + "\nwait\n"
	if err := os.WriteFile(hang, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, binding, want string
	}{
		{"hangs", "exec:" + hang, "did not answer in time"},
		{"not a plugin", "exec:/bin/true", "did not answer a Runnel plugin description"},
		{"wrong point", "exec:" + bin + " plugin serve partitioner.murmur2", "not the assignor extension point"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "serve", "--log.dirs", t.TempDir(),
				"--listeners", fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", freePort(t)),
				"--plugin.start.timeout.ms", "1000", "--plugin.assignor", tc.binding)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ctx.Err() != nil {
				t.Fatalf("serve with a bad plugin: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), strings.Fields(strings.TrimPrefix(tc.binding, "exec:"))[0]) {
				t.Fatalf("serve's error does not name the plugin and say %q:\n%s", tc.want, out)
			}
		})
	}
	if b, err := os.ReadFile(childPID); err != nil {
		t.Fatalf("the hanging plugin never ran: %v", err)
	} else {
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		deadline := time.Now().Add(5 * time.Second)
		for syscall.Kill(pid, 0) == nil {
			if time.Now().After(deadline) {
				t.Fatalf("the hanging plugin's child %d still runs", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// With a fallback the broker starts, on the fallback.
	srv := startServe(t, t.TempDir(), freePort(t),
		"RUNNEL_PLUGIN_ASSIGNOR=exec:/bin/true", "RUNNEL_PLUGIN_ASSIGNOR_FALLBACK=builtin:range")
	if !strings.Contains(srv.log(), "falling back") {
		t.Fatalf("no fallback logged:\n%s", srv.log())
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
