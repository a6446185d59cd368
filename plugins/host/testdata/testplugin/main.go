// Command testplugin is the plugin process of the plugins/host tests. Its
// behaviour is chosen by RUNNEL_TEST_PLUGIN_MODE:
//
//	ok         a well-behaved assignor named "testassignor"
//	garbage    writes a line that is not a go-plugin handshake
//	v2         serves protocol version 2 only (describe says so too)
//	liar       describes itself as version 1 but serves version 2
//	hang       never answers describe nor the handshake
//	hang-start answers describe, never the handshake
//	hang-call  an assignor whose Assign never returns
//	exit       exits at once with an error
//
// Every start appends the process id to RUNNEL_TEST_PLUGIN_PIDFILE, so a
// test can check that nothing is left running.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/runnel-dev/runnel/sdk"
)

type assignor struct{ hang bool }

func (a *assignor) Name() string { return "testassignor" }

// Assign gives every partition to the first member by id.
func (a *assignor) Assign(in sdk.AssignmentInput) (sdk.Assignment, error) {
	if a.hang {
		select {}
	}
	out := sdk.Assignment{Members: map[string][]sdk.TopicPartitions{}}
	if len(in.Members) == 0 {
		return out, nil
	}
	ids := make([]string, 0, len(in.Members))
	for _, m := range in.Members {
		ids = append(ids, m.MemberID)
	}
	sort.Strings(ids)
	out.Members[ids[0]] = in.Topics
	return out, nil
}

func main() {
	if f := os.Getenv("RUNNEL_TEST_PLUGIN_PIDFILE"); f != "" {
		pf, err := os.OpenFile(f, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err == nil {
			fmt.Fprintln(pf, os.Getpid())
			pf.Close()
		}
	}
	p := sdk.Plugin{ID: "assignor.testassignor", Doc: "test", Impl: &assignor{}}
	describe := len(os.Args) == 2 && os.Args[1] == "describe"
	switch mode := os.Getenv("RUNNEL_TEST_PLUGIN_MODE"); mode {
	case "ok", "":
		sdk.Serve(p)
	case "hang-call":
		p.Impl = &assignor{hang: true}
		sdk.Serve(p)
	case "garbage":
		if describe {
			sdk.Serve(p)
		}
		fmt.Println("hello, I am not a plugin")
		time.Sleep(time.Minute)
	case "v2", "liar":
		if describe {
			d := p.Describe()
			if mode == "v2" {
				d.ProtocolVersions = []int{2}
			}
			out, _ := json.Marshal(d)
			fmt.Println(string(out))
			return
		}
		cfg := sdk.ServeConfig(p)
		hs := sdk.Handshake
		hs.ProtocolVersion = 2
		cfg.HandshakeConfig = hs
		cfg.VersionedPlugins = map[int]plugin.PluginSet{2: cfg.VersionedPlugins[sdk.ProtocolVersion]}
		plugin.Serve(cfg)
	case "hang":
		time.Sleep(time.Hour)
	case "hang-start":
		if describe {
			sdk.Serve(p)
		}
		time.Sleep(time.Hour)
	case "exit":
		fmt.Fprintln(os.Stderr, "testplugin: failing on purpose")
		os.Exit(3)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", mode)
		os.Exit(2)
	}
}
