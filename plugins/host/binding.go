package host

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Binding kinds.
const (
	KindBuiltin = "builtin" // in process, from the plugins registry
	KindExec    = "exec"    // a plugin process started from Target
	KindDir     = "dir"     // a plugin process found in the plugin directory
)

// Binding is a parsed binding string.
type Binding struct {
	Kind   string
	Target string   // the builtin's name, the binary's path, or the plugin's name
	Args   []string // arguments of an exec binary
}

func (b Binding) String() string {
	return strings.Join(append([]string{b.Kind + ":" + b.Target}, b.Args...), " ")
}

// External reports whether the binding runs in a plugin process.
func (b Binding) External() bool { return b.Kind != KindBuiltin }

// ParseBinding parses "builtin:NAME", "exec:PATH [ARG...]" or a bare NAME
// (kind left empty: the Host resolves it to a builtin or a plugin in its
// directory). An exec path must be absolute, so a binding means the same
// whatever directory the broker runs in; arguments follow it, separated by
// spaces ("exec:/usr/local/bin/runnel plugin serve assignor.range").
func ParseBinding(s string) (Binding, error) {
	s = strings.TrimSpace(s)
	kind, target, ok := strings.Cut(s, ":")
	if !ok {
		if s == "" {
			return Binding{}, fmt.Errorf("empty plugin binding")
		}
		return Binding{Target: s}, nil
	}
	switch kind {
	case KindBuiltin:
		if target == "" {
			return Binding{}, fmt.Errorf("binding %q names no builtin", s)
		}
	case KindExec:
		fields := strings.Fields(target)
		if len(fields) == 0 || !filepath.IsAbs(fields[0]) {
			return Binding{}, fmt.Errorf("binding %q: the plugin path must be absolute", s)
		}
		return Binding{Kind: kind, Target: fields[0], Args: fields[1:]}, nil
	default:
		return Binding{}, fmt.Errorf("binding %q: want builtin:NAME, exec:/path/to/plugin or a plugin name", s)
	}
	return Binding{Kind: kind, Target: target}, nil
}
