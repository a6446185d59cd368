package host

import (
	"bytes"
	"errors"
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

	"github.com/runnel-dev/runnel/sdk"

	_ "github.com/runnel-dev/runnel/plugins/builtin"
)

var (
	buildOnce  sync.Once
	pluginPath string
	buildErr   error
	buildDir   string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// testPlugin builds testdata/testplugin once per test binary and returns
// its absolute path.
func testPlugin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "runnel-host-test")
		if buildErr != nil {
			return
		}
		pluginPath = filepath.Join(buildDir, "testplugin")
		out, err := exec.Command("go", "build", "-o", pluginPath, "./testdata/testplugin").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building the test plugin: %v", buildErr)
	}
	return pluginPath
}

// pluginMode chooses the test plugin's behaviour and returns the file its
// processes write their pids to.
func pluginMode(t *testing.T, mode string) string {
	pidFile := filepath.Join(t.TempDir(), "pids")
	t.Setenv("RUNNEL_TEST_PLUGIN_MODE", mode)
	t.Setenv("RUNNEL_TEST_PLUGIN_PIDFILE", pidFile)
	return pidFile
}

func pids(t *testing.T, pidFile string) []int {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		p, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// requireAllGone waits a little for every process of pidFile to be gone.
func requireAllGone(t *testing.T, pidFile string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids(t, pidFile) {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("plugin process %d is still running", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func testHost(t *testing.T, cfg Config) *Host {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = 50 * time.Millisecond
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = 20 * time.Millisecond
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 5 * time.Second
	}
	h := New(cfg)
	t.Cleanup(func() { h.Close() })
	return h
}

var input = sdk.AssignmentInput{
	GroupID: "g",
	Members: []sdk.GroupMember{{MemberID: "b", Subscribed: []string{"t"}}, {MemberID: "a", Subscribed: []string{"t"}}},
	Topics:  []sdk.TopicPartitions{{Topic: "t", Partitions: []int32{0, 1, 2}}},
}

func TestParseBinding(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		err  string
	}{
		{in: "builtin:uniform", want: "builtin:uniform"},
		{in: "exec:/opt/p", want: "exec:/opt/p"},
		{in: "exec:/opt/runnel plugin serve assignor.range", want: "exec:/opt/runnel plugin serve assignor.range"},
		{in: "rackaware", want: ":rackaware"},
		{in: "exec:relative/p", err: "must be absolute"},
		{in: "builtin:", err: "names no builtin"},
		{in: "http://x", err: "want builtin:NAME"},
		{in: " ", err: "empty"},
	} {
		b, err := ParseBinding(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || b.String() != tc.want {
			t.Errorf("%q: got %q, %v; want %q", tc.in, b.String(), err, tc.want)
		}
	}
}

func TestBuiltinBinding(t *testing.T) {
	h := testHost(t, Config{})
	a, err := h.Assignor("builtin:range")
	if err != nil || a.Name() != "range" {
		t.Fatalf("builtin:range: %v, %v", a, err)
	}
	if _, err := h.Assignor("uniform"); err != nil {
		t.Fatalf("bare builtin name: %v", err)
	}
	if _, err := h.Assignor("builtin:nope"); err == nil || !strings.Contains(err.Error(), "builtins: ") {
		t.Fatalf("unknown builtin: %v", err)
	}
	if _, err := h.Partitioner("nope"); err == nil || !strings.Contains(err.Error(), "plugin.dir is not set") {
		t.Fatalf("unknown name: %v", err)
	}
	st := h.Status()
	if len(st) != 2 || st[0].External || !st[0].Healthy || st[0].ID != "assignor.range" {
		t.Fatalf("status %+v", st)
	}
}

// TestExternalRestart kills a plugin process: calls fail at once as
// unavailable (never hang), the host restarts it, and calls work again.
func TestExternalRestart(t *testing.T) {
	path := testPlugin(t)
	pidFile := pluginMode(t, "ok")
	h := testHost(t, Config{CallTimeout: 2 * time.Second})
	a, err := h.Assignor("exec:" + path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name() != "testassignor" {
		t.Fatalf("name %q", a.Name())
	}
	out, err := a.Assign(input)
	if err != nil || len(out.Members["a"]) != 1 || len(out.Members["a"][0].Partitions) != 3 {
		t.Fatalf("assign: %+v, %v", out, err)
	}
	st := h.Status()
	if len(st) != 1 || !st[0].External || !st[0].Healthy || st[0].PID == 0 || st[0].ID != "assignor.testassignor" {
		t.Fatalf("status %+v", st)
	}
	first := st[0].PID

	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	sawUnavailable := false
	deadline := time.Now().Add(10 * time.Second)
	for {
		start := time.Now()
		_, err := a.Assign(input)
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("a call to a dead plugin took %v", took)
		}
		if err == nil {
			break
		}
		if !errors.Is(err, sdk.ErrUnavailable) {
			t.Fatalf("call to a dead plugin: %v, want ErrUnavailable", err)
		}
		sawUnavailable = true
		if time.Now().After(deadline) {
			t.Fatalf("plugin not restarted: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !sawUnavailable {
		t.Fatal("the call right after the kill succeeded: was the process killed?")
	}
	st = h.Status()
	if !st[0].Healthy || st[0].Restarts != 1 || st[0].PID == first {
		t.Fatalf("after restart: %+v", st[0])
	}
	h.Close()
	requireAllGone(t, pidFile)
	if _, err := a.Assign(input); !errors.Is(err, sdk.ErrUnavailable) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestBadPlugins starts plugins that cannot be used: each fails with an
// error naming the plugin, within the start timeout, and leaves nothing
// running.
func TestBadPlugins(t *testing.T) {
	path := testPlugin(t)
	for _, tc := range []struct {
		mode string
		want string
	}{
		{"garbage", "did not start"},
		{"v2", "speaks plugin protocol [2]"},
		{"liar", "did not start"},
		{"hang", "did not answer in time"},
		{"hang-start", "did not start"},
		{"exit", "failing on purpose"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			pidFile := pluginMode(t, tc.mode)
			h := testHost(t, Config{StartTimeout: 1500 * time.Millisecond})
			start := time.Now()
			_, err := h.Assignor("exec:" + path)
			if err == nil {
				t.Fatal("a bad plugin was accepted")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the plugin and say %q", err, tc.want)
			}
			if took := time.Since(start); took > 6*time.Second {
				t.Fatalf("failing took %v", took)
			}
			if len(h.Status()) != 0 {
				t.Fatalf("a failed binding is listed: %+v", h.Status())
			}
			requireAllGone(t, pidFile)
		})
	}
}

// TestHungCall: a plugin that never answers a call costs the caller the
// call timeout, an ErrUnavailable, and after a few such calls a restart.
func TestHungCall(t *testing.T) {
	path := testPlugin(t)
	pluginMode(t, "hang-call")
	h := testHost(t, Config{CallTimeout: 200 * time.Millisecond})
	a, err := h.Assignor("exec:" + path)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.Status()[0].Restarts == 0 {
		start := time.Now()
		_, err := a.Assign(input)
		if !errors.Is(err, sdk.ErrUnavailable) {
			t.Fatalf("hung call: %v", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("hung call took %v with a 200ms call timeout", took)
		}
		if time.Now().After(deadline) {
			t.Fatal("a plugin whose calls all time out was not restarted")
		}
	}
}

func TestDiscover(t *testing.T) {
	path := testPlugin(t)
	pluginMode(t, "ok")
	dir := t.TempDir()
	if err := os.Symlink(path, filepath.Join(dir, "testassignor")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "not-a-plugin"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("docs"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := testHost(t, Config{Dir: dir})
	found, err := h.Discover()
	if err != nil || len(found) != 1 || found[0].ID != "assignor.testassignor" {
		t.Fatalf("discover: %+v, %v", found, err)
	}
	a, err := h.Assignor("testassignor")
	if err != nil || a.Name() != "testassignor" {
		t.Fatalf("bind by name: %v, %v", a, err)
	}
	if st := h.Status(); st[0].Binding != "dir:testassignor" || !st[0].External {
		t.Fatalf("status %+v", st)
	}
	if _, err := h.Partitioner("testassignor"); err == nil {
		t.Fatal("an assignor plugin was bound as a partitioner")
	}
}

// TestNoOrphanWhenHostDies runs a host in a child process that panics
// after starting a plugin: the plugin must die with it.
func TestNoOrphanWhenHostDies(t *testing.T) {
	if os.Getenv("RUNNEL_TEST_HOST_CHILD") == "1" {
		h := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if _, err := h.Assignor("exec:" + os.Getenv("RUNNEL_TEST_PLUGIN_PATH")); err != nil {
			os.Exit(7)
		}
		panic("the broker crashed")
	}
	path := testPlugin(t)
	pidFile := pluginMode(t, "ok")
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoOrphanWhenHostDies$")
	// The child dies without cleaning up: its temporary files go where
	// the test removes them.
	cmd.Env = append(os.Environ(), "RUNNEL_TEST_HOST_CHILD=1", "RUNNEL_TEST_PLUGIN_PATH="+path, "TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "the broker crashed") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if len(pids(t, pidFile)) < 2 { // describe, then the plugin itself
		t.Fatalf("the child started no plugin: pids %v", pids(t, pidFile))
	}
	requireAllGone(t, pidFile)
}
