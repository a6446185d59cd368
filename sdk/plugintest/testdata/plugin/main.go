// Command plugin is the plugin binary plugintest's tests start: it serves
// the extension whose id is its one argument, a builtin from the plugins
// registry or a fixture of internal/testplugins, with sdk.Serve as any
// third-party plugin would. It lives under testdata so `go build ./...`
// leaves it alone; the tests build it.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/runnel-dev/runnel/plugins"
	_ "github.com/runnel-dev/runnel/plugins/builtin"
	"github.com/runnel-dev/runnel/sdk"
	"github.com/runnel-dev/runnel/sdk/plugintest/internal/testplugins"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: plugin <point>.<name>")
		os.Exit(2)
	}
	id := os.Args[1]
	impl, err := lookup(id)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugin:", err)
		os.Exit(2)
	}
	sdk.Serve(sdk.Plugin{ID: id, Doc: "plugintest fixture " + id, Impl: impl})
}

func lookup(id string) (any, error) {
	_, name, _ := strings.Cut(id, ".")
	switch {
	case id == "authorizer.acl":
		return testplugins.NewACL(), nil
	case id == "authenticator.users":
		return testplugins.NewUsers(), nil
	case name == "faulty":
		return testplugins.Faulty{}, nil
	case name == "panicky":
		return testplugins.Faulty{Panic: true}, nil
	}
	m, ok := plugins.Lookup(id)
	if !ok {
		return nil, fmt.Errorf("no extension %q", id)
	}
	return m.New(), nil
}
