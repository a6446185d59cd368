package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/runnel-dev/runnel/kernel/config"
	"github.com/runnel-dev/runnel/plugins"
	"github.com/runnel-dev/runnel/plugins/host"
	"github.com/runnel-dev/runnel/sdk"
)

// brokerExtensions is what the broker's configuration binds its extension
// points to.
type brokerExtensions struct {
	host *host.Host
	// assignors are the KIP-848 server-side assignors, the default first:
	// plugin.assignor, then every other builtin, then every assignor in
	// plugin.dir. Clients pick one by name (group.remote.assignor).
	assignors []sdk.Assignor
	// consensus and replicator are builtins: they sit on the metadata
	// and produce paths, where a process crossing has no place.
	consensus  sdk.Consensus
	replicator sdk.Replicator
}

// newPluginHost returns the plugin host configured by cfg.
func newPluginHost(cfg config.Plugins, logger *slog.Logger) *host.Host {
	ms := func(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
	return host.New(host.Config{
		Dir:            cfg.Dir,
		CallTimeout:    ms(cfg.CallTimeoutMs),
		StartTimeout:   ms(cfg.StartTimeoutMs),
		HealthInterval: ms(cfg.HealthCheckIntervalMs),
		Logger:         logger,
	})
}

// openBrokerExtensions resolves the extension bindings of cfg, starting
// the plugin processes they name. On error nothing is left running.
func openBrokerExtensions(cfg config.Plugins, logger *slog.Logger) (_ *brokerExtensions, err error) {
	h := newPluginHost(cfg, logger)
	defer func() {
		if err != nil {
			_ = h.Close()
		}
	}()
	x := &brokerExtensions{host: h}
	if x.consensus, err = plugins.NewConsensus(builtinName(cfg.Consensus)); err != nil {
		return nil, fmt.Errorf("plugin.consensus: %w", err)
	}
	if x.replicator, err = plugins.NewReplicator(builtinName(cfg.Replicator)); err != nil {
		return nil, fmt.Errorf("plugin.replicator: %w", err)
	}
	def, err := h.Assignor(cfg.Assignor)
	if err != nil && cfg.AssignorFallback != "" {
		logger.Error("plugin.assignor cannot be used; falling back to plugin.assignor.fallback",
			"error", err, "fallback", cfg.AssignorFallback)
		def, err = h.Assignor(cfg.AssignorFallback)
	}
	if err != nil {
		return nil, err
	}
	x.assignors = append(x.assignors, def)
	names := map[string]bool{def.Name(): true}
	for _, m := range plugins.List(sdk.PointAssignor + ".") {
		if names[m.Name()] {
			continue
		}
		a, err := h.Assignor("builtin:" + m.Name())
		if err != nil {
			return nil, err
		}
		names[a.Name()] = true
		x.assignors = append(x.assignors, a)
	}
	found, err := h.Discover()
	if err != nil {
		return nil, err
	}
	for _, f := range found {
		if f.Point != sdk.PointAssignor || "exec:"+f.Path == cfg.Assignor {
			continue
		}
		_, name, _ := cutID(f.ID)
		if cfg.Assignor == name {
			continue // the default, bound above
		}
		if names[name] {
			logger.Warn("plugin.dir: an assignor of that name is already bound; skipping", "plugin", f.ID, "path", f.Path)
			continue
		}
		a, err := h.Assignor("exec:" + f.Path)
		if err != nil {
			return nil, err
		}
		if names[a.Name()] {
			// Its id promised another name: two assignors answering to
			// one name would make the group's choice ambiguous.
			return nil, fmt.Errorf("plugin.dir: plugin %s (%s) names its assignor %q, which is already bound", f.ID, f.Path, a.Name())
		}
		names[a.Name()] = true
		x.assignors = append(x.assignors, a)
	}
	return x, nil
}

// builtinName is the name in a builtin-only binding ("builtin:local" or
// "local"); config refuses exec: bindings for such points.
func builtinName(binding string) string {
	return strings.TrimPrefix(binding, "builtin:")
}

func cutID(id string) (point, name string, ok bool) { return strings.Cut(id, ".") }

func (x *brokerExtensions) close() error {
	if err := x.host.Close(); err != nil {
		return fmt.Errorf("stopping plugins: %w", err)
	}
	return nil
}

// openPartitioner resolves the --partitioner of the client tools: a
// builtin's name, builtin:NAME, or exec:/path/to/plugin. close stops the
// plugin process, if one was started.
func openPartitioner(binding string) (p sdk.Partitioner, close func(), err error) {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h := newPluginHost(config.Default().Plugins, logger)
	p, err = h.Partitioner(binding)
	if err != nil {
		_ = h.Close()
		return nil, nil, err
	}
	return p, func() { _ = h.Close() }, nil
}
