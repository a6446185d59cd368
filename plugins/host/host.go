package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/runnel-dev/runnel/plugins"
	"github.com/runnel-dev/runnel/sdk"
)

// Config is how a Host runs plugin processes. Zero fields take defaults.
type Config struct {
	// Dir is the plugin directory (plugin.dir): every executable in it is
	// asked to describe itself, and can then be bound by name.
	Dir string
	// CallTimeout bounds each call into a plugin process (default 5s).
	CallTimeout time.Duration
	// StartTimeout bounds a plugin's start and handshake, and its answer
	// to `describe` (default 10s).
	StartTimeout time.Duration
	// HealthInterval is how often a plugin process is checked (default 1s).
	HealthInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait between restart attempts
	// (defaults 100ms and 10s).
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.CallTimeout, 5*time.Second)
	def(&c.StartTimeout, 10*time.Second)
	def(&c.HealthInterval, time.Second)
	def(&c.MinBackoff, 100*time.Millisecond)
	def(&c.MaxBackoff, 10*time.Second)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Found is a plugin found in the plugin directory.
type Found struct {
	Path string
	sdk.Description
}

// Status is one bound extension, as `runnel plugin list` shows it.
type Status struct {
	Point    string `json:"point"`
	Binding  string `json:"binding"`
	ID       string `json:"id"`
	External bool   `json:"external"`
	Healthy  bool   `json:"healthy"`
	PID      int    `json:"pid,omitempty"`
	Restarts int    `json:"restarts,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Host resolves bindings to extensions and owns the plugin processes it
// starts for them.
type Host struct {
	cfg Config

	// mu guards the fields below.
	mu      sync.Mutex
	found   []Found // the plugin directory, read on first need
	scanned bool
	bound   []boundExt
	closed  bool
}

// boundExt is one resolved binding.
type boundExt struct {
	point   string
	binding Binding
	id      string
	proc    *process // nil for a builtin
}

// New returns a Host. It starts nothing until a binding is resolved.
func New(cfg Config) *Host {
	cfg.setDefaults()
	return &Host{cfg: cfg}
}

// Discover returns the plugins of the plugin directory, asking each
// executable to describe itself (once; later calls return the same list).
// A file that is not a Runnel plugin is logged and skipped.
func (h *Host) Discover() ([]Found, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.scanned || h.cfg.Dir == "" {
		return h.found, nil
	}
	entries, err := os.ReadDir(h.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("plugin.dir: %w", err)
	}
	seen := map[string]string{}
	for _, e := range entries {
		path, err := filepath.Abs(filepath.Join(h.cfg.Dir, e.Name()))
		if err != nil {
			return nil, err
		}
		info, err := os.Stat(path) // follows links: plugins are often linked in
		if err != nil || !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), h.cfg.StartTimeout)
		d, err := describe(ctx, path, nil)
		cancel()
		if err != nil {
			h.cfg.Logger.Warn("skipping a file of plugin.dir that is not a Runnel plugin", "error", err)
			continue
		}
		if other, dup := seen[d.ID]; dup {
			return nil, fmt.Errorf("plugin.dir: %s and %s both serve %s", other, path, d.ID)
		}
		seen[d.ID] = path
		h.found = append(h.found, Found{Path: path, Description: d})
	}
	sort.Slice(h.found, func(i, j int) bool { return h.found[i].ID < h.found[j].ID })
	h.scanned = true
	return h.found, nil
}

// Assignor resolves binding to an sdk.Assignor.
func (h *Host) Assignor(binding string) (sdk.Assignor, error) {
	impl, proc, err := h.open(sdk.PointAssignor, binding)
	if err != nil || proc == nil {
		a, _ := impl.(sdk.Assignor)
		return a, err
	}
	return newAssignorProxy(proc, impl.(sdk.Assignor)), nil
}

// Partitioner resolves binding to an sdk.Partitioner. A stateful plugin
// comes back as an sdk.StatefulPartitioner.
func (h *Host) Partitioner(binding string) (sdk.Partitioner, error) {
	impl, proc, err := h.open(sdk.PointPartitioner, binding)
	if err != nil || proc == nil {
		p, _ := impl.(sdk.Partitioner)
		return p, err
	}
	return newPartitionerProxy(proc, impl.(sdk.Partitioner)), nil
}

// Authorizer resolves binding to an sdk.Authorizer.
func (h *Host) Authorizer(binding string) (sdk.Authorizer, error) {
	impl, proc, err := h.open(sdk.PointAuthorizer, binding)
	if err != nil || proc == nil {
		a, _ := impl.(sdk.Authorizer)
		return a, err
	}
	return &authorizerProxy{proc: proc}, nil
}

// Authenticator resolves binding to an sdk.Authenticator.
func (h *Host) Authenticator(binding string) (sdk.Authenticator, error) {
	impl, proc, err := h.open(sdk.PointAuthenticator, binding)
	if err != nil || proc == nil {
		a, _ := impl.(sdk.Authenticator)
		return a, err
	}
	return &authenticatorProxy{proc: proc, mechanisms: impl.(sdk.Authenticator).Mechanisms()}, nil
}

// open resolves a binding for point. For a plugin process it returns the
// first dispensed extension and the supervising process.
func (h *Host) open(point, s string) (any, *process, error) {
	b, err := ParseBinding(s)
	if err != nil {
		return nil, nil, err
	}
	var path string
	switch b.Kind {
	case KindBuiltin:
		impl, err := h.builtin(point, b.Target)
		return impl, nil, err
	case KindExec:
		path = b.Target
	default:
		if _, ok := plugins.Lookup(point + "." + b.Target); ok {
			b.Kind = KindBuiltin
			impl, err := h.builtin(point, b.Target)
			return impl, nil, err
		}
		found, err := h.Discover()
		if err != nil {
			return nil, nil, err
		}
		for _, f := range found {
			if f.ID == point+"."+b.Target {
				path = f.Path
			}
		}
		if path == "" {
			return nil, nil, fmt.Errorf("no builtin %s named %q and no plugin %s.%s in plugin.dir (%s)",
				point, b.Target, point, b.Target, h.dirOrNone())
		}
		b.Kind = KindDir
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.StartTimeout)
	d, err := describe(ctx, path, b.Args)
	cancel()
	if err != nil {
		return nil, nil, err
	}
	if d.Point != point {
		return nil, nil, fmt.Errorf("plugin %s serves %s, not the %s extension point", path, d.ID, point)
	}
	if !slices.Contains(d.ProtocolVersions, sdk.ProtocolVersion) {
		return nil, nil, fmt.Errorf("plugin %s (%s) speaks plugin protocol %v; this Runnel speaks %d: rebuild it against this sdk",
			d.ID, path, d.ProtocolVersions, sdk.ProtocolVersion)
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, nil, errors.New("plugin host is closed")
	}
	h.mu.Unlock()
	proc := newProcess(&h.cfg, d, path, b.Args)
	if err := proc.start(); err != nil {
		return nil, nil, err
	}
	impl, err := proc.current()
	if err != nil {
		proc.close()
		return nil, nil, err
	}
	h.mu.Lock()
	h.bound = append(h.bound, boundExt{point: point, binding: b, id: d.ID, proc: proc})
	h.mu.Unlock()
	return impl, proc, nil
}

func (h *Host) dirOrNone() string {
	if h.cfg.Dir == "" {
		return "plugin.dir is not set"
	}
	return "plugin.dir=" + h.cfg.Dir
}

func (h *Host) builtin(point, name string) (any, error) {
	id := point + "." + name
	m, ok := plugins.Lookup(id)
	if !ok {
		var known []string
		for _, m := range plugins.List(point + ".") {
			known = append(known, m.Name())
		}
		return nil, fmt.Errorf("no builtin %s named %q (builtins: %s)", point, name, strings.Join(known, ", "))
	}
	impl := m.New()
	h.mu.Lock()
	h.bound = append(h.bound, boundExt{point: point, binding: Binding{Kind: KindBuiltin, Target: name}, id: id})
	h.mu.Unlock()
	return impl, nil
}

// Status lists every binding resolved so far, in order.
func (h *Host) Status() []Status {
	h.mu.Lock()
	bound := slices.Clone(h.bound)
	h.mu.Unlock()
	out := make([]Status, 0, len(bound))
	for _, b := range bound {
		s := Status{Point: b.point, Binding: b.binding.String(), ID: b.id, External: b.proc != nil, Healthy: true}
		if b.proc != nil {
			s.Healthy, s.PID, s.Restarts, s.Error = b.proc.status()
		}
		out = append(out, s)
	}
	return out
}

// Close stops every plugin process. Extensions resolved from this Host
// answer sdk.ErrUnavailable afterwards.
func (h *Host) Close() error {
	h.mu.Lock()
	h.closed = true
	bound := h.bound
	h.mu.Unlock()
	for _, b := range bound {
		if b.proc != nil {
			b.proc.close()
		}
	}
	return nil
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
