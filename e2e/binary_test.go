package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// runnelBinary builds cmd/runnel once per test run.
func runnelBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "runnel-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "runnel")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/runnel").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// serveProcess is `runnel serve` running as a child process.
type serveProcess struct {
	cmd    *exec.Cmd
	addr   string
	stderr *bytes.Buffer // read it with log() while the process runs
	errw   *lockedWriter
	done   chan error
}

// log returns what the process wrote to stderr so far.
func (p *serveProcess) log() string {
	p.errw.mu.Lock()
	defer p.errw.mu.Unlock()
	return p.stderr.String()
}

func startServe(t *testing.T, dir string, port int, env ...string) *serveProcess {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(runnelBinary(t), "serve", "--log.dirs", dir)
	cmd.Env = append(os.Environ(), "RUNNEL_LISTENERS=PLAINTEXT://"+addr)
	cmd.Env = append(cmd.Env, env...)
	p := &serveProcess{cmd: cmd, addr: addr, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	p.errw = &lockedWriter{w: p.stderr}
	cmd.Stderr = p.errw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return p
		}
		select {
		case err := <-p.done:
			t.Fatalf("runnel serve exited early: %v\n%s", err, p.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("runnel serve did not listen on %s\n%s", addr, p.log())
	return nil
}

func (p *serveProcess) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	_ = p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("runnel serve did not exit after %v\n%s", sig, p.log())
		return nil
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// runnel runs a client subcommand and returns its stdout.
func runnel(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, runnelBinary(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("runnel %s: %v\nstderr: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// TestBinaryServeAndTools runs the real binary: serve configured through
// flags and the environment, the topic/produce/consume tools against it,
// a graceful stop, a restart, and a kill -9 followed by recovery.
func TestBinaryServeAndTools(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	srv := startServe(t, dir, port, "RUNNEL_NUM_PARTITIONS=2")
	b := srv.addr

	runnel(t, "", "topic", "create", "cli", "--partitions", "3", "-b", b)
	if out := runnel(t, "", "topic", "list", "-b", b); !strings.Contains(out, "cli") {
		t.Fatalf("topic list:\n%s", out)
	}
	var in strings.Builder
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&in, "key%d:value%d\n", i%7, i)
	}
	runnel(t, in.String(), "produce", "-t", "cli", "-K", ":", "-H", "origin=e2e", "-b", b)
	consumeAll := func(addr string) map[string]string {
		out := runnel(t, "", "consume", "-t", "cli", "-e", "--format", `%k %v %p %h\n`, "-b", addr)
		got := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(l)
			if len(f) != 4 || f[3] != "origin=e2e" {
				t.Fatalf("consume line %q", l)
			}
			got[f[1]] = f[0] + "@" + f[2]
		}
		return got
	}
	first := consumeAll(b)
	if len(first) != 50 {
		t.Fatalf("consumed %d distinct records, want 50", len(first))
	}
	keyPart := map[string]string{}
	for _, kp := range first {
		k, p, _ := strings.Cut(kp, "@")
		if old, ok := keyPart[k]; ok && old != p {
			t.Fatalf("key %s in partitions %s and %s", k, old, p)
		}
		keyPart[k] = p
	}
	// Auto-created topics take num.partitions from the environment.
	runnel(t, "x\n", "produce", "-t", "auto", "-b", b)
	if out := runnel(t, "", "topic", "describe", "auto", "-b", b); !strings.Contains(out, "Partitions: 2") {
		t.Fatalf("describe auto (want 2 partitions):\n%s", out)
	}

	// Graceful stop, then a restart on the same data.
	if err := srv.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("serve exited with %v after SIGTERM\n%s", err, srv.stderr.String())
	}
	srv = startServe(t, dir, port)
	if again := consumeAll(srv.addr); len(again) != 50 {
		t.Fatalf("after restart: %d records", len(again))
	}

	// kill -9 after acknowledged writes, then recover.
	runnel(t, "late1\nlate2\n", "produce", "-t", "cli", "-p", "0", "-b", srv.addr)
	_ = srv.stop(t, syscall.SIGKILL)
	srv = startServe(t, dir, port)
	out := runnel(t, "", "consume", "-t", "cli", "-p", "0", "-e", "-b", srv.addr)
	if !strings.Contains(out, "late1\nlate2\n") {
		t.Fatalf("acknowledged records lost across kill -9:\n%s", out)
	}
	runnel(t, "", "topic", "delete", "cli", "-b", srv.addr)
	if out := runnel(t, "", "topic", "list", "-b", srv.addr); strings.Contains(out, "cli") {
		t.Fatalf("deleted topic still listed:\n%s", out)
	}
	if err := srv.stop(t, syscall.SIGINT); err != nil {
		t.Fatalf("serve exited with %v after SIGINT", err)
	}
	if !strings.Contains(srv.stderr.String(), "stopped") {
		t.Fatalf("no orderly stop in the log:\n%s", srv.stderr.String())
	}
}
