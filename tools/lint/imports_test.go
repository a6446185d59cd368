package lint

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/runnel-dev/runnel"

// rule says which imports a folder's Go files (tests excluded) may not
// have. A forbidden entry ending in "/" forbids the whole tree under it.
type rule struct {
	dir       string
	forbidden []string
	why       string
}

var rules = []rule{
	{"sdk", []string{module + "/", "github.com/panjf2000/gnet", "github.com/cilium/ebpf"},
		"sdk is the public API for plugin authors: it imports nothing of ours and no heavy runtime"},
	{"segments", []string{module + "/"}, "segments imports nothing of ours"},
	{"netio", []string{module + "/"}, "netio imports nothing of ours"},
	{"kernel", []string{module + "/plugins", module + "/cmd", module + "/bench"},
		"the kernel knows extensions only through sdk interfaces"},
	{"plugins", []string{module + "/kernel", module + "/netio", module + "/segments"},
		"plugins build on sdk, not on the kernel"},
}

// exceptions are imports a rule's folder may have although the rule
// forbids them.
var exceptions = map[string][]string{
	// The single-node metadata store: a leaf that imports nothing of
	// ours, which the builtin consensus.local serves.
	"plugins": {module + "/segments/metalog"},
}

// unixAllowed are the only folders that may call x/sys/unix directly.
var unixAllowed = []string{"netio", "segments"}

func repoRoot(t *testing.T) string {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found from %s", root)
	}
	return root
}

// imports returns, per non-test Go file under dir, its import paths.
func imports(t *testing.T, dir string) map[string][]string {
	out := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			out[path] = append(out[path], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func forbids(pattern, imp string) bool {
	if strings.HasSuffix(pattern, "/") {
		return strings.HasPrefix(imp, pattern)
	}
	return imp == pattern || strings.HasPrefix(imp, pattern+"/")
}

func TestDependencyDirection(t *testing.T) {
	root := repoRoot(t)
	for _, r := range rules {
		for file, imps := range imports(t, filepath.Join(root, r.dir)) {
			for _, imp := range imps {
				if slices.Contains(exceptions[r.dir], imp) {
					continue
				}
				for _, f := range r.forbidden {
					// A package may import its own subpackages.
					if strings.HasPrefix(imp, module+"/"+r.dir+"/") || imp == module+"/"+r.dir {
						continue
					}
					if forbids(f, imp) {
						rel, _ := filepath.Rel(root, file)
						t.Errorf("%s imports %s: %s", rel, imp, r.why)
					}
				}
			}
		}
	}
}

func TestOnlyNetioAndSegmentsUseUnix(t *testing.T) {
	root := repoRoot(t)
	for file, imps := range imports(t, root) {
		rel, _ := filepath.Rel(root, file)
		top := strings.SplitN(filepath.ToSlash(rel), "/", 2)[0]
		allowed := false
		for _, a := range unixAllowed {
			allowed = allowed || top == a
		}
		for _, imp := range imps {
			if imp == "golang.org/x/sys/unix" && !allowed {
				t.Errorf("%s imports x/sys/unix; only %v may talk to the OS directly", rel, unixAllowed)
			}
		}
	}
}
