package consensus

import "github.com/runnel-dev/runnel/plugins"

func init() {
	plugins.Register(plugins.Module{
		ID:  "consensus.local",
		Doc: "single node: an fsync'd metadata log file in the first log dir, compacted from snapshots",
		New: func() any { return NewLocal() },
	})
}
