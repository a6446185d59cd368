package plugins

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/runnel-dev/runnel/sdk"
)

// Module describes one builtin extension.
type Module struct {
	// ID is the namespaced id, "<point>.<name>", for example
	// "partitioner.murmur2".
	ID string
	// Doc is a one-line description shown by `runnel plugin list`.
	Doc string
	// New returns a fresh instance. Its dynamic type implements the sdk
	// interface of the extension point named by the id's prefix.
	New func() any
}

// Point returns the extension point of the module: the part of the id
// before the first dot.
func (m Module) Point() string {
	point, _, _ := strings.Cut(m.ID, ".")
	return point
}

// Name returns the module's name within its extension point.
func (m Module) Name() string {
	_, name, _ := strings.Cut(m.ID, ".")
	return name
}

var (
	// mu guards modules.
	mu      sync.RWMutex
	modules = map[string]Module{}
)

// Register adds a builtin module. It is meant for init() functions and
// panics on a malformed or duplicate id.
func Register(m Module) {
	point, name, ok := strings.Cut(m.ID, ".")
	if !ok || point == "" || name == "" {
		panic(fmt.Sprintf("plugins: module id %q is not of the form point.name", m.ID))
	}
	if m.New == nil {
		panic(fmt.Sprintf("plugins: module %q has no constructor", m.ID))
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := modules[m.ID]; dup {
		panic(fmt.Sprintf("plugins: module %q registered twice", m.ID))
	}
	modules[m.ID] = m
}

// Lookup returns the module registered under id.
func Lookup(id string) (Module, bool) {
	mu.RLock()
	defer mu.RUnlock()
	m, ok := modules[id]
	return m, ok
}

// List returns the registered modules whose id starts with prefix (all of
// them for ""), sorted by id.
func List(prefix string) []Module {
	mu.RLock()
	defer mu.RUnlock()
	var out []Module
	for id, m := range modules {
		if strings.HasPrefix(id, prefix) {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// NewPartitioner returns a new instance of the partitioner registered as
// "partitioner.<name>". name may also be given with its prefix.
func NewPartitioner(name string) (sdk.Partitioner, error) {
	return newAs[sdk.Partitioner]("partitioner", name)
}

// NewAssignor returns a new instance of the assignor registered as
// "assignor.<name>". name may also be given with its prefix.
func NewAssignor(name string) (sdk.Assignor, error) {
	return newAs[sdk.Assignor]("assignor", name)
}

// NewConsensus returns a new instance of the metadata store registered as
// "consensus.<name>". name may also be given with its prefix.
func NewConsensus(name string) (sdk.Consensus, error) {
	return newAs[sdk.Consensus]("consensus", name)
}

// NewReplicator returns a new instance of the replicator registered as
// "replication.<name>". name may also be given with its prefix.
func NewReplicator(name string) (sdk.Replicator, error) {
	return newAs[sdk.Replicator]("replication", name)
}

func newAs[T any](point, name string) (T, error) {
	var zero T
	id := name
	if !strings.HasPrefix(name, point+".") {
		id = point + "." + name
	}
	m, ok := Lookup(id)
	if !ok {
		var known []string
		for _, m := range List(point + ".") {
			known = append(known, m.Name())
		}
		return zero, fmt.Errorf("no %s named %q (known: %s)", point, name, strings.Join(known, ", "))
	}
	impl, ok := m.New().(T)
	if !ok {
		return zero, fmt.Errorf("module %q does not implement the %s interface", id, point)
	}
	return impl, nil
}
