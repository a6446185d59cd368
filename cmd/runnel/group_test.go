package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel-dev/runnel/kernel"
	"github.com/runnel-dev/runnel/kernel/config"
)

// startTestBroker runs an in-process broker on a free port.
func startTestBroker(t *testing.T) string {
	t.Helper()
	cfg := config.Default()
	cfg.LogDirs = []string{t.TempDir()}
	cfg.Listeners = []config.Listener{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 0}}
	cfg.GroupInitialRebalanceDelayMs = 0
	cfg.OffsetsTopicNumPartitions = 2
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ext, err := openBrokerExtensions(cfg.Plugins, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ext.close() })
	b, err := kernel.New(kernel.Options{Config: cfg, Logger: logger, Assignors: ext.assignors})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b.Addrs()[0].String()
}

func TestGroupCommands(t *testing.T) {
	addr := startTestBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("orders"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		r := &kgo.Record{Value: []byte("v"), Partition: int32(i % 2)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	offsets := kadm.Offsets{}
	offsets.Add(kadm.Offset{Topic: "orders", Partition: 0, At: 3, LeaderEpoch: -1})
	if _, err := adm.CommitOffsets(ctx, "app", offsets); err != nil {
		t.Fatal(err)
	}

	expect := func(wantCode int, args []string, wants ...string) {
		t.Helper()
		code, out, errOut := runCLI(append(args, "-b", addr)...)
		if code != wantCode {
			t.Fatalf("%q: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, wantCode, out, errOut)
		}
		for _, w := range wants {
			if !strings.Contains(out+errOut, w) {
				t.Fatalf("%q: output lacks %q:\n%s%s", args, w, out, errOut)
			}
		}
	}
	expect(0, []string{"group", "list"}, "GROUP", "app", "classic", "Empty")
	expect(0, []string{"group", "describe", "app"}, "State: Empty", "Total lag: 2",
		"orders  0          3               5               2")
	expect(1, []string{"group", "describe", "nope"}, `group "nope" does not exist`)

	// Dry run changes nothing; --execute does.
	expect(0, []string{"group", "reset-offsets", "app", "--topic", "orders", "--to-latest"},
		"orders  0          3               5", "orders  1          -               5", "Dry run")
	expect(0, []string{"group", "describe", "app"}, "Total lag: 2")
	expect(0, []string{"group", "reset-offsets", "app", "--topic", "orders:1", "--to-offset", "99", "--execute"},
		"orders  1          -               5", "Committed 1 offsets")
	expect(0, []string{"group", "reset-offsets", "app", "--all-topics", "--to-earliest", "--execute"}, "Committed 2 offsets")
	expect(0, []string{"group", "describe", "app"}, "Total lag: 10")
	expect(0, []string{"group", "reset-offsets", "app", "--topic", "orders", "--to-datetime", "2000-01-01T00:00:00Z"},
		"orders  0          0               0")

	// An active group cannot be reset or deleted.
	cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup("app"), kgo.ConsumeTopics("orders"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		d, err := adm.DescribeGroups(ctx, "app")
		if err == nil && d["app"].State == "Stable" {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("consumer never joined")
		}
		cons.PollRecords(ctx, 1)
	}
	expect(0, []string{"group", "describe", "app"}, "State: Stable", "kgo")
	expect(1, []string{"group", "reset-offsets", "app", "--all-topics", "--to-latest"}, "active members")
	expect(1, []string{"group", "delete", "app"}, "active members")
	cons.Close()
	expect(0, []string{"group", "delete", "app"}, `deleted group "app"`)
	expect(0, []string{"group", "list"}, "GROUP")

	// A KIP-848 group is described through ConsumerGroupDescribe.
	cons848, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup("app848"), kgo.ConsumeTopics("orders"),
		kgo.ServerSideBalancer(), kgo.Balancers(kgo.CooperativeStickyBalancer()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons848.Close()
	for {
		d, err := adm.DescribeConsumerGroups(ctx, "app848")
		if err == nil && d["app848"].State == "Stable" && len(d["app848"].Members) == 1 && len(d["app848"].Members[0].Assignment) > 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("KIP-848 consumer never got its assignment")
		}
		cons848.PollRecords(ctx, 1)
	}
	expect(0, []string{"group", "describe", "app848"}, "Type: consumer", "Assignor: uniform", "orders  0")
	expect(0, []string{"group", "list"}, "app848  consumer")

	// Usage errors.
	expect(2, []string{"group", "reset-offsets", "app", "--to-earliest"}, "--topic")
	expect(2, []string{"group", "reset-offsets", "app", "--topic", "orders"}, "exactly one of")
	expect(2, []string{"group", "reset-offsets", "app", "--topic", "orders:x", "--to-earliest"}, "not a partition")
	expect(2, []string{"group", "describe"}, "no group given")
	expect(2, []string{"group", "frob"}, "unknown subcommand")
}

func TestGroupHelp(t *testing.T) {
	for _, args := range [][]string{{"group", "--help"}, {"group", "list", "-h"}, {"group", "describe", "-h"},
		{"group", "delete", "-h"}, {"group", "reset-offsets", "-h"}} {
		code, out, errOut := runCLI(args...)
		if code != 0 || errOut != "" || !strings.Contains(out, "Usage:") || !strings.Contains(out, "Examples:") {
			t.Errorf("%q: exit %d, stderr %q:\n%s", args, code, errOut, out)
		}
	}
}
