package main

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestServeAndStop builds the program, talks to it with real clients and
// checks that SIGTERM ends it cleanly: the life cycle `make bench` relies on.
func TestServeAndStop(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "kfake")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	cmd := exec.Command(bin, "--listen", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// One goroutine owns stdout and Wait: it hands over the first line,
	// drains the rest so a chatty broker never blocks, and reaps it.
	first := make(chan string, 1)
	done := make(chan struct{})
	var waitErr error
	go func() {
		defer close(done)
		lines := bufio.NewScanner(stdout)
		if lines.Scan() {
			first <- lines.Text()
		}
		close(first)
		for lines.Scan() {
		}
		waitErr = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // fails harmlessly once it has exited
		<-done
	})

	var addr string
	select {
	case line, ok := <-first:
		if !ok {
			<-done
			t.Fatalf("exited before printing its address: %v; stderr:\n%s", waitErr, stderr.String())
		}
		var found bool
		if addr, found = strings.CutPrefix(line, "listening on "); !found {
			t.Fatalf("first line = %q, want \"listening on HOST:PORT\"", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no address printed within 10s")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("bench-test"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	resp, err := kadm.NewClient(cl).CreateTopic(ctx, 2, 1, nil, "bench-test")
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	const n = 5
	for i := range n {
		r := &kgo.Record{Topic: "bench-test", Partition: int32(i % 2), Value: []byte{byte('a' + i)}}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	got := map[string]bool{}
	for len(got) < n {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records before timeout", len(got), n)
		}
		fetches.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fetches.EachRecord(func(r *kgo.Record) { got[string(r.Value)] = true })
	}
	for i := range n {
		if v := string(rune('a' + i)); !got[v] {
			t.Errorf("record %q was not consumed", v)
		}
	}
	cl.Close()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		if waitErr != nil {
			t.Fatalf("exit after SIGTERM: %v; stderr:\n%s", waitErr, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10s after SIGTERM")
	}
}
