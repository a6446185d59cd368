package partitioner

import "github.com/runnel-dev/runnel/plugins"

func init() {
	plugins.Register(plugins.Module{
		ID:  "partitioner.murmur2",
		Doc: "Kafka's default: keys by murmur2 as Java clients do, unkeyed records sticky per batch",
		New: func() any { return new(Murmur2) },
	})
	plugins.Register(plugins.Module{
		ID:  "partitioner.sticky",
		Doc: "keys by murmur2, unkeyed records stick to one random partition until the batch closes",
		New: func() any { return new(Sticky) },
	})
	plugins.Register(plugins.Module{
		ID:  "partitioner.roundrobin",
		Doc: "every record, keyed or not, to the next partition in turn",
		New: func() any { return new(RoundRobin) },
	})
}
