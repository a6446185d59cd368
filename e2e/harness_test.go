package e2e

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel-dev/runnel/kernel"
	"github.com/runnel-dev/runnel/kernel/config"
	"github.com/runnel-dev/runnel/sdk"
)

// broker is an in-process Runnel broker on a free loopback port.
type broker struct {
	t    testing.TB
	dir  string
	k    *kernel.Broker
	addr string
}

// startBroker starts a broker on dir (a new temporary dir when empty).
func startBroker(t testing.TB, dir string, set ...string) *broker {
	t.Helper()
	return startBrokerWith(t, dir, nil, set...)
}

// startBrokerWith is startBroker with server-side assignors for KIP-848
// groups.
func startBrokerWith(t testing.TB, dir string, assignors []sdk.Assignor, set ...string) *broker {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cfg := config.Default()
	cfg.LogDirs = []string{dir}
	cfg.Listeners = []config.Listener{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 0}}
	for _, kv := range set {
		k, v, _ := cut(kv)
		if err := cfg.Set(k, v); err != nil {
			t.Fatalf("config %s: %v", kv, err)
		}
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("RUNNEL_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	k, err := kernel.New(kernel.Options{Config: cfg, Logger: logger, Assignors: assignors})
	if err != nil {
		t.Fatalf("kernel.New: %v", err)
	}
	if err := k.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	b := &broker{t: t, dir: dir, k: k, addr: k.Addrs()[0].String()}
	t.Cleanup(b.stop)
	return b
}

func (b *broker) stop() {
	if b.k == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.k.Close(ctx); err != nil {
		b.t.Errorf("broker close: %v", err)
	}
	b.k = nil
}

func cut(kv string) (string, string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}

func (b *broker) client(opts ...kgo.Opt) *kgo.Client {
	b.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.addr)}, opts...)...)
	if err != nil {
		b.t.Fatalf("kgo.NewClient: %v", err)
	}
	b.t.Cleanup(cl.Close)
	return cl
}

func (b *broker) admin() *kadm.Client { return kadm.NewClient(b.client()) }

// needTool returns the path of an external client, skipping the test when
// it is missing outside CI and failing it under CI.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed; .ci/run should have installed it", name)
	}
	t.Skipf("%s is not installed", name)
	return ""
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// kadmOffset names kadm's listed-offset type for callbacks.
type kadmOffset = kadm.ListedOffset
