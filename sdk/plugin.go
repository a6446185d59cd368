package sdk

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// ProtocolVersion is the version of the plugin wire protocol this sdk
// speaks (sdk/internal/pb, package runnel.plugin.v1). The host and a
// plugin agree on it in go-plugin's handshake; a plugin built against a
// protocol the host does not speak is refused by name at start.
const ProtocolVersion = 1

// Handshake is what a plugin process and the Runnel host check before
// talking: go-plugin's magic cookie (so a plugin binary run by hand says
// it is a plugin rather than doing something surprising) and the
// protocol version.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "RUNNEL_PLUGIN",
	MagicCookieValue: "d2a7c0e4-runnel-extension",
}

// The extension points a plugin process can serve, which are also the
// names go-plugin dispenses them under.
const (
	PointPartitioner   = "partitioner"
	PointAssignor      = "assignor"
	PointAuthenticator = "authenticator"
	PointAuthorizer    = "authorizer"
)

// ExternalPoints lists the extension points that can run out of
// process. Consensus and Replicator sit on the metadata and produce paths
// and are bound in-process only.
var ExternalPoints = []string{PointAssignor, PointAuthenticator, PointAuthorizer, PointPartitioner}

// Plugin describes the one extension a plugin binary serves.
type Plugin struct {
	// ID is the namespaced id, "<point>.<name>", for example
	// "assignor.rackaware". The point must be one of ExternalPoints.
	ID string
	// Doc is a one-line description shown by `runnel plugin list`.
	Doc string
	// Impl implements the sdk interface of the point (sdk.Assignor for
	// "assignor.*", and so on).
	Impl any
}

// Description is what a plugin binary prints, as JSON, when run with the
// single argument "describe". The host reads it to discover plugins
// without starting them.
type Description struct {
	ID               string `json:"id"`
	Point            string `json:"point"`
	Doc              string `json:"doc,omitempty"`
	ProtocolVersions []int  `json:"protocol_versions"`
}

// Point returns the extension point named by the id's prefix.
func (p Plugin) Point() string {
	point, _, _ := strings.Cut(p.ID, ".")
	return point
}

// Check reports whether p is well formed: a known point, a name, and an
// Impl of the point's interface.
func (p Plugin) Check() error {
	point, name, ok := strings.Cut(p.ID, ".")
	if !ok || name == "" {
		return fmt.Errorf("plugin id %q is not of the form point.name", p.ID)
	}
	var impl bool
	switch point {
	case PointPartitioner:
		_, impl = p.Impl.(Partitioner)
	case PointAssignor:
		_, impl = p.Impl.(Assignor)
	case PointAuthenticator:
		_, impl = p.Impl.(Authenticator)
	case PointAuthorizer:
		_, impl = p.Impl.(Authorizer)
	default:
		return fmt.Errorf("plugin id %q: %q is not an extension point a plugin process can serve (%s)",
			p.ID, point, strings.Join(ExternalPoints, ", "))
	}
	if !impl {
		return fmt.Errorf("plugin %q: %T does not implement sdk.%s%s", p.ID, p.Impl,
			strings.ToUpper(point[:1]), point[1:])
	}
	return nil
}

// Describe returns the plugin's description.
func (p Plugin) Describe() Description {
	return Description{ID: p.ID, Point: p.Point(), Doc: p.Doc, ProtocolVersions: []int{ProtocolVersion}}
}

// Serve runs the plugin process: it answers `describe` with the plugin's
// Description as JSON, and otherwise serves p to the Runnel host that
// started it until the host goes away. A plugin's main is one call:
//
//	func main() {
//		sdk.Serve(sdk.Plugin{ID: "assignor.rackaware", Doc: "...", Impl: &RackAware{}})
//	}
//
// Stdout belongs to the handshake: log to stderr (log/slog's default
// does); the host forwards each line to its own log under the plugin's
// id. Run by hand, without the host, the binary says it is a plugin and
// exits with status 1.
func Serve(p Plugin) {
	if err := p.Check(); err != nil {
		fmt.Fprintln(os.Stderr, "runnel plugin:", err)
		os.Exit(1)
	}
	if len(os.Args) == 2 && os.Args[1] == "describe" {
		out, _ := json.Marshal(p.Describe())
		fmt.Println(string(out))
		os.Exit(0)
	}
	plugin.Serve(ServeConfig(p))
}

// MaxMessageBytes bounds one gRPC message between host and plugin, in
// both directions: an assignment of a large group or a big partition
// batch must fit (gRPC's own default is 4 MiB).
const MaxMessageBytes = 64 << 20

// DialOptions are the gRPC options a host needs to talk to a plugin
// (plugin.ClientConfig.GRPCDialOptions).
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithDefaultCallOptions(
		grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes))}
}

// ServeConfig returns the go-plugin configuration Serve uses, for hosts
// and tests that serve a plugin in-process (go-plugin's ServeTestConfig).
func ServeConfig(p Plugin) *plugin.ServeConfig {
	return &plugin.ServeConfig{
		HandshakeConfig: Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			ProtocolVersion: {p.Point(): &GRPCPlugin{Point: p.Point(), Impl: p.Impl}},
		},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return plugin.DefaultGRPCServer(append(opts,
				grpc.MaxRecvMsgSize(MaxMessageBytes), grpc.MaxSendMsgSize(MaxMessageBytes)))
		},
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:       p.ID,
			Output:     os.Stderr,
			JSONFormat: true, // the host parses it and keeps levels
			Level:      hclog.Info,
		}),
	}
}

// ClientPlugins returns the go-plugin plugin sets a host hands to
// plugin.ClientConfig.VersionedPlugins: every point of ExternalPoints at
// every protocol version this sdk speaks. Each call of a dispensed client
// gives up after callTimeout (no limit if zero) with ErrUnavailable.
func ClientPlugins(callTimeout time.Duration) map[int]plugin.PluginSet {
	set := plugin.PluginSet{}
	for _, point := range ExternalPoints {
		set[point] = &GRPCPlugin{Point: point, CallTimeout: callTimeout}
	}
	return map[int]plugin.PluginSet{ProtocolVersion: set}
}
