package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/runnel-dev/runnel/kernel/config"
	"github.com/runnel-dev/runnel/plugins"
	"github.com/runnel-dev/runnel/plugins/host"
	"github.com/runnel-dev/runnel/sdk"
)

var pluginDoc = commandDoc{
	name:  "plugin",
	usage: "plugin <subcommand> [flags]",
	detail: `Inspect and serve Runnel's extensions. Every extension point (assignor,
partitioner, authenticator, authorizer, consensus, replicator) is bound by
configuration to a builtin (builtin:NAME) or a plugin process
(exec:/path/to/binary, or a plugin's name in plugin.dir).`,
	examples: []string{
		"runnel plugin list",
		"runnel plugin list --admin http://127.0.0.1:9644",
		"runnel plugin list --set plugin.assignor=exec:/opt/runnel/plugins/rackaware",
		"runnel plugin serve assignor.range",
	},
}

var pluginSubcommands = []subcommand{
	{pluginListDoc, runPluginList},
	{pluginServeDoc, runPluginServe},
}

func runPlugin(ctx context.Context, args []string, stdout, _ io.Writer) error {
	return runSubcommand(ctx, pluginDoc, pluginSubcommands, args, stdout)
}

// --- list ---

var pluginListDoc = commandDoc{
	name:    "plugin list",
	summary: "show every extension point, its binding, and whether it is external and healthy",
	usage:   "plugin list [--admin URL | --config FILE --set key=value...] [--json]",
	detail: `Show each extension point of a broker: what it is bound to, whether it runs
in the broker or in a plugin process, and whether that process is healthy.

With --admin, asks a running broker (its admin.listener). Otherwise reads the
broker configuration (--config, RUNNEL_* variables, --set) as runnel serve
would, starts the plugin processes it binds to check them, and stops them.
Plugins found in plugin.dir are listed too.`,
}

// pluginRow is one line of runnel plugin list.
type pluginRow struct {
	host.Status
	Note string `json:"note,omitempty"`
}

func runPluginList(ctx context.Context, args []string, stdout io.Writer) error {
	f := newFlagSet(pluginListDoc)
	adminURL := f.String("admin", "", "ask the running broker whose admin listener is at `URL`")
	configPath := f.String("config", "", "read broker settings from this Java .properties `file`")
	asJSON := f.Bool("json", false, "print JSON instead of a table")
	var overrides overrideList
	f.Var(&overrides, "set", "set a broker property, as `key=value` (repeatable)")
	rest, err := f.parse(args, stdout)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return f.usageErr("unexpected argument %q", rest[0])
	}
	var rows []pluginRow
	if *adminURL != "" {
		rows, err = pluginRowsFromBroker(ctx, *adminURL)
	} else {
		rows, err = pluginRowsFromConfig(*configPath, overrides)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "POINT\tBINDING\tID\tRUNS\tHEALTH\tNOTE")
	for _, r := range rows {
		runs, health := "in broker", "ok"
		if r.External {
			runs = fmt.Sprintf("process %d", r.PID)
			if r.PID == 0 {
				runs = "process"
			}
			if !r.Healthy {
				health = "down"
			} else if r.Restarts > 0 {
				health = fmt.Sprintf("ok (%d restarts)", r.Restarts)
			}
		}
		if r.Binding == "" {
			runs, health = "-", "-"
		}
		note := r.Note
		if r.Error != "" {
			note = strings.TrimSpace(note + " " + r.Error)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Point, orDash(r.Binding), orDash(r.ID), runs, health, note)
	}
	return tw.Flush()
}

// pluginRowsFromBroker asks a running broker's admin listener.
func pluginRowsFromBroker(ctx context.Context, adminURL string) ([]pluginRow, error) {
	if !strings.Contains(adminURL, "://") {
		adminURL = "http://" + adminURL
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(adminURL, "/")+"/plugins", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking the broker's admin listener: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s: is it a Runnel admin listener?", req.URL, resp.Status)
	}
	var rows []pluginRow
	if err := json.NewDecoder(resp.Body).Decode(&rows); err != nil {
		return nil, fmt.Errorf("%s: %w", req.URL, err)
	}
	return rows, nil
}

// pluginRowsFromConfig resolves a broker configuration here.
func pluginRowsFromConfig(configPath string, overrides []string) ([]pluginRow, error) {
	cfg, _, err := config.Load(configPath, brokerEnviron(os.Environ()), overrides)
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ext, err := openBrokerExtensions(cfg.Plugins, logger)
	if err != nil {
		return nil, err
	}
	defer ext.close()
	return ext.rows(cfg.Plugins), nil
}

// rows describes every extension point for runnel plugin list and the
// admin listener's /plugins.
func (x *brokerExtensions) rows(cfg config.Plugins) []pluginRow {
	var rows []pluginRow
	seenAssignor := false
	for _, s := range x.host.Status() {
		r := pluginRow{Status: s}
		if s.Point == sdk.PointAssignor && !seenAssignor {
			r.Note = "default" // the first bound: plugin.assignor, or its fallback
			seenAssignor = true
		}
		rows = append(rows, r)
	}
	inProcess := func(point, namespace, binding string) pluginRow {
		return pluginRow{Status: host.Status{Point: point, Binding: binding, ID: namespace + "." + builtinName(binding), Healthy: true}}
	}
	rows = append(rows, inProcess("consensus", "consensus", cfg.Consensus), inProcess("replicator", "replication", cfg.Replicator))
	var partitioners []string
	for _, m := range plugins.List(sdk.PointPartitioner + ".") {
		partitioners = append(partitioners, m.Name())
	}
	rows = append(rows,
		pluginRow{Status: host.Status{Point: sdk.PointPartitioner},
			Note: "used by producers (runnel produce/bench --partitioner, sdk/kgoadapter); builtins: " + strings.Join(partitioners, ", ")},
		pluginRow{Status: host.Status{Point: sdk.PointAuthenticator}, Note: "not used yet: the broker has no SASL listener"},
		pluginRow{Status: host.Status{Point: sdk.PointAuthorizer}, Note: "not used yet: the broker has no ACLs"},
	)
	found, _ := x.host.Discover()
	for _, f := range found {
		if f.Point == sdk.PointAssignor {
			continue // offered to groups: already listed
		}
		rows = append(rows, pluginRow{Status: host.Status{Point: f.Point, ID: f.ID, External: true},
			Note: "in plugin.dir (" + f.Path + "); bind it by name"})
	}
	return rows
}

// --- serve ---

var pluginServeDoc = commandDoc{
	name:    "plugin serve",
	summary: "serve a builtin extension as a plugin process",
	usage:   "plugin serve ID",
	detail: `Serve the builtin extension ID (for example assignor.range) as a plugin
process, the way an external plugin runs. The broker starts it; bind it with
  plugin.assignor=exec:/path/to/runnel plugin serve assignor.range
Run by hand it says it is a plugin and exits. "runnel plugin serve ID
describe" prints the plugin's description as JSON.`,
}

func runPluginServe(_ context.Context, args []string, stdout io.Writer) error {
	f := newFlagSet(pluginServeDoc)
	rest, err := f.parse(args, stdout)
	if err != nil {
		return err
	}
	if len(rest) == 0 || len(rest) > 2 || (len(rest) == 2 && rest[1] != "describe") {
		return f.usageErr("want one builtin id, as in: runnel plugin serve assignor.range")
	}
	m, ok := plugins.Lookup(rest[0])
	if !ok {
		var ids []string
		for _, m := range plugins.List("") {
			if strings.HasPrefix(m.ID, "consensus.") || strings.HasPrefix(m.ID, "replication.") {
				continue
			}
			ids = append(ids, m.ID)
		}
		return fmt.Errorf("no builtin %q (builtins: %s)", rest[0], strings.Join(ids, ", "))
	}
	p := sdk.Plugin{ID: m.ID, Doc: m.Doc, Impl: m.New()}
	if err := p.Check(); err != nil {
		return err
	}
	if len(rest) == 2 {
		return json.NewEncoder(stdout).Encode(p.Describe())
	}
	sdk.Serve(p) // returns when the host is gone
	return nil
}
