package assignor

import "github.com/runnel-dev/runnel/plugins"

func init() {
	plugins.Register(plugins.Module{
		ID:  "assignor.uniform",
		Doc: "KIP-848 default: partitions spread evenly over subscribers, sticky across rebalances",
		New: func() any { return new(Uniform) },
	})
	plugins.Register(plugins.Module{
		ID:  "assignor.range",
		Doc: "contiguous partition ranges per topic, co-partitioned across topics, in member id order",
		New: func() any { return new(Range) },
	})
}
