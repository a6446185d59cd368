package plugintest

import (
	"bytes"
	"os"
	"os/exec"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/runnel-dev/runnel/sdk"
)

// CallTimeout bounds every call of a client made by InMemory or
// Subprocess, so an implementation that hangs fails its own test with
// sdk.ErrUnavailable instead of the whole binary at `go test -timeout`.
const CallTimeout = 10 * time.Second

// InMemory serves impl as extension point point (one of
// sdk.ExternalPoints) over gRPC inside the test process, and returns the
// client the host would get: T is the point's sdk interface. The call
// crosses the real wire code, protobuf encoding and a local socket, but no
// process boundary, which makes it the quick way to catch a binding bug.
// Both ends are closed when t's test ends.
func InMemory[T any](t testing.TB, point string, impl T) T {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{
		point: &sdk.GRPCPlugin{Point: point, Impl: impl, CallTimeout: CallTimeout},
	})
	// Closing the client stops the server too, through go-plugin's
	// controller service; stopping it here as well would race with that.
	t.Cleanup(func() { _ = client.Close() })
	return dispense[T](t, client, point)
}

// Subprocess starts cmd, a plugin binary whose main calls sdk.Serve, the
// way the Runnel host does (sdk.Handshake, gRPC only) and returns the
// client of point it serves: T is the point's sdk interface. cmd must not
// have been started; once Subprocess returns, cmd.Process is the plugin
// process, for tests that kill it.
//
// The process is stopped when t's test ends. On Linux it is also killed if
// the test binary dies first (the parent-death signal), so a crashed or
// timed-out test leaves no plugin behind. The plugin's log is printed if
// the test failed.
func Subprocess[T any](t testing.TB, point string, cmd *exec.Cmd) T {
	t.Helper()
	killWithParent(cmd)
	// The plugin's socket goes in a directory removed at cleanup, so a
	// plugin that dies without cleaning up (tests kill some) leaves no
	// socket behind. The name is short: a socket path has ~100 bytes.
	sockets, err := os.MkdirTemp("", "rp")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(cmd.Env, plugin.EnvUnixSocketDir+"="+sockets)
	logs := new(syncBuffer)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.ClientPlugins(CallTimeout),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "plugin", Output: logs, Level: hclog.Debug}),
	})
	t.Cleanup(func() {
		client.Kill()
		_ = os.RemoveAll(sockets)
		if t.Failed() {
			t.Logf("log of plugin %s:\n%s", cmd.Path, logs)
		}
	})
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("start plugin %s: %v\n%s", cmd.Path, err, logs)
	}
	return dispense[T](t, rpc, point)
}

func dispense[T any](t testing.TB, c plugin.ClientProtocol, point string) T {
	t.Helper()
	raw, err := c.Dispense(point)
	if err != nil {
		t.Fatalf("dispense %s: %v", point, err)
	}
	impl, ok := raw.(T)
	if !ok {
		t.Fatalf("dispensed %s is a %T, which is not a %v", point, raw, reflect.TypeFor[T]())
	}
	return impl
}

// syncBuffer collects a plugin's log, which go-plugin writes from its own
// goroutines.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// build calls a suite's factory. A binding that cannot start calls
// FailNow on the test it was given, usually the suite's caller rather
// than the subtest running; doing that from a subtest's goroutine would
// make the testing package panic. On a goroutine of its own, the factory's
// FailNow ends only that goroutine, and the subtest fails cleanly.
func build[T any](t *testing.T, newImpl func() T) T {
	t.Helper()
	var (
		impl T
		ok   bool
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		impl = newImpl()
		ok = true
	}()
	<-done
	if !ok {
		t.Fatal("the factory of the implementation under test failed; see above")
	}
	if reflect.ValueOf(&impl).Elem().IsZero() {
		t.Fatal("the factory of the implementation under test returned nil")
	}
	return impl
}
