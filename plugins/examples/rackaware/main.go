// Command rackaware is an example Runnel plugin: a KIP-848 server-side
// consumer group assignor, served out of process, that keeps each topic
// balanced over its subscribers and prefers to give a partition to a
// member in the rack that owns it (see RackAware for how partitions get a
// rack and how the assignment is built).
//
// The broker starts the binary itself; by hand it only answers
//
//	rackaware describe
//
// with its description as JSON. It lives in a Go module of its own, as a
// third-party plugin would, and depends on nothing of Runnel's but sdk.
package main

import (
	"log/slog"
	"os"

	"github.com/runnel-dev/runnel/sdk"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{ReplaceAttr: hclogKeys}))
	sdk.Serve(plugin(logger))
}

// plugin is what the binary serves.
func plugin(logger *slog.Logger) sdk.Plugin {
	return sdk.Plugin{
		ID:   "assignor.rackaware",
		Doc:  "partitions spread evenly over subscribers, rack-local where balance allows, sticky",
		Impl: &RackAware{Logger: logger},
	}
}

// hclogTime is the timestamp layout go-plugin expects in a JSON log line;
// a line whose timestamp does not parse is forwarded at debug level.
const hclogTime = "2006-01-02T15:04:05.000000Z07:00"

// hclogKeys renames slog's JSON keys to hclog's. The host's go-plugin
// client parses each stderr line that carries them and logs it under the
// plugin's id at the line's own level; other lines it logs at debug.
func hclogKeys(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		return slog.String("@timestamp", a.Value.Time().UTC().Format(hclogTime))
	case slog.LevelKey:
		level, _ := a.Value.Any().(slog.Level)
		return slog.String("@level", hclogLevel(level))
	case slog.MessageKey:
		return slog.String("@message", a.Value.String())
	}
	return a
}

func hclogLevel(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	default:
		return "error"
	}
}
