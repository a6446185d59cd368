package consensus

import (
	"github.com/runnel-dev/runnel/sdk"
	"github.com/runnel-dev/runnel/segments/metalog"
)

// Local is consensus.local, the metadata log file of one broker. Make
// one with NewLocal; it is safe for concurrent use.
type Local = metalog.Store

var (
	_ sdk.Consensus = (*Local)(nil)
	_ sdk.Compactor = (*Local)(nil)
)

// NewLocal returns a consensus.local store, not yet opened.
func NewLocal() *Local { return metalog.New(nil) }
