package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/runnel-dev/runnel/kernel"
	"github.com/runnel-dev/runnel/kernel/config"
)

// shutdownGrace bounds how long serve waits for in-flight requests after
// SIGINT or SIGTERM before it closes connections anyway.
const shutdownGrace = 30 * time.Second

var serveDoc = commandDoc{
	name:    "serve",
	summary: "run a broker",
	usage:   "serve [--config FILE] [--set key=value]... [--<property> value]...",
	detail: `Run a Runnel broker in the foreground until SIGINT or SIGTERM.

With no flags it serves the embedded default: a single node listening on
127.0.0.1:9092, data under ./data, topics created on first use. Settings use
Apache Kafka's property names. They are read, lowest priority first, from the
--config file (Java .properties), from RUNNEL_* environment variables
(RUNNEL_LOG_DIRS sets log.dirs), then from flags: --set key=value, or any
property as a flag of its own name (--log.dirs ./data).

On SIGINT or SIGTERM the broker stops taking requests, answers the ones it
has, and closes its logs.`,
	examples: []string{
		"runnel serve",
		"runnel serve --config runnel.properties",
		"runnel serve --listeners PLAINTEXT://0.0.0.0:9092 --advertised.listeners PLAINTEXT://broker1:9092",
		"RUNNEL_LOG_DIRS=/var/lib/runnel runnel serve --set num.partitions=6",
	},
}

// overrideList collects --set and per-property flags in command-line
// order, so the last one given wins.
type overrideList []string

func (o *overrideList) String() string { return strings.Join(*o, ",") }
func (o *overrideList) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("%q is not key=value", v)
	}
	*o = append(*o, v)
	return nil
}

// propertyFlag sets one named property through the shared override list.
type propertyFlag struct {
	name string
	list *overrideList
}

func (p propertyFlag) String() string     { return "" }
func (p propertyFlag) Set(v string) error { *p.list = append(*p.list, p.name+"="+v); return nil }

// brokerEnviron drops the RUNNEL_* variables that belong to the client
// commands, so the broker does not warn about them as unknown properties.
func brokerEnviron(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, bootstrapEnv+"=") {
			out = append(out, kv)
		}
	}
	return out
}

func runServe(args []string) error {
	fs := newFlagSet(serveDoc)
	configPath := fs.String("config", "", "read settings from this Java .properties `file`")
	logLevel := fs.String("log-level", "info", "log verbosity: debug, info, warn or error")
	var overrides overrideList
	fs.Var(&overrides, "set", "set a property, as `key=value` (repeatable)")
	for _, p := range config.Properties() {
		usage := p.Doc
		if p.Default != "" {
			usage += " (default " + p.Default + ")"
		}
		fs.Var(propertyFlag{name: p.Name, list: &overrides}, p.Name, usage)
	}
	rest, err := fs.parse(args, os.Stdout)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fs.usageErr("unexpected argument %q", rest[0])
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fs.usageErr("--log-level: %q is not one of debug, info, warn, error", *logLevel)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	cfg, warnings, err := config.Load(*configPath, brokerEnviron(os.Environ()), overrides)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		logger.Warn(w)
	}
	ext, err := openBrokerExtensions(cfg.Plugins, logger)
	if err != nil {
		return err
	}
	// Deferred calls run on a panic too; a broker killed outright takes
	// its plugins with it through their parent-death signal.
	defer func() {
		if err := ext.close(); err != nil {
			logger.Warn(err.Error())
		}
	}()
	b, err := kernel.New(kernel.Options{
		Config: cfg, Logger: logger,
		Assignors: ext.assignors, Consensus: ext.consensus, Replicator: ext.replicator,
		AdminEndpoints: map[string]func() any{"/plugins": func() any { return ext.rows(cfg.Plugins) }},
	})
	if err != nil {
		return err
	}
	if err := b.Start(); err != nil {
		_ = b.Close(context.Background())
		return err
	}
	addrs := make([]string, 0, len(b.Addrs()))
	for _, a := range b.Addrs() {
		addrs = append(addrs, a.String())
	}
	logger.Info("runnel is serving", "addrs", strings.Join(addrs, ","), "cluster.id", b.ClusterID(),
		"node.id", cfg.NodeID, "log.dirs", strings.Join(cfg.LogDirs, ","))

	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	s := <-sig
	logger.Info("shutting down", "signal", s.String())
	go func() {
		<-sig
		logger.Warn("second signal: exiting without waiting")
		os.Exit(1)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := b.Close(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	logger.Info("stopped")
	return nil
}
