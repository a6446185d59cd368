package replication

import "github.com/runnel-dev/runnel/plugins"

func init() {
	plugins.Register(plugins.Module{
		ID:  "replication.none",
		Doc: "single node: no copies on other brokers; whatever the leader made durable is committed",
		New: func() any { return None{} },
	})
}
