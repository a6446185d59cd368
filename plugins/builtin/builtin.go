// Package builtin is imported for its side effects: importing it
// registers every builtin extension with the plugins registry. Its import
// list is the whole list; a builtin that is not imported here does not
// exist in the binary.
package builtin

import (
	_ "github.com/runnel-dev/runnel/plugins/assignor"    // assignor.uniform, .range
	_ "github.com/runnel-dev/runnel/plugins/consensus"   // consensus.local
	_ "github.com/runnel-dev/runnel/plugins/partitioner" // partitioner.murmur2, .sticky, .roundrobin
	_ "github.com/runnel-dev/runnel/plugins/replication" // replication.none
)
