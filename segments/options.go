package segments

import (
	"fmt"
	"log/slog"
	"math"
)

// DefaultSegmentBytes is the segment size used when Options.SegmentBytes
// is zero (Kafka's log.segment.bytes default).
const DefaultSegmentBytes = 1 << 30

// MaxSegmentBytes is the largest SegmentBytes accepted. Batch positions in
// the sparse index are 32-bit, as in Kafka's index files (segment.bytes is
// an int there too).
const MaxSegmentBytes = math.MaxInt32

// Options configures a Log.
type Options struct {
	// SegmentBytes: roll the active segment when appending would take it
	// past this size. A batch is always accepted into an empty segment,
	// even a larger one. 0 means DefaultSegmentBytes.
	SegmentBytes int64
	// Logger receives recovery truncations. nil means slog.Default().
	Logger *slog.Logger
	// OnRecoveredBatch, if set, is called during Open with the header of
	// every valid batch found, in offset order (the kernel rebuilds
	// idempotent-producer state from it). It is called with no lock held.
	OnRecoveredBatch func(BatchHeader)
}

// withDefaults fills in defaults and rejects values the log cannot honour.
func (o Options) withDefaults() (Options, error) {
	switch {
	case o.SegmentBytes == 0:
		o.SegmentBytes = DefaultSegmentBytes
	case o.SegmentBytes < 0 || o.SegmentBytes > MaxSegmentBytes:
		return o, fmt.Errorf("segments: SegmentBytes %d out of range [1, %d]", o.SegmentBytes, int64(MaxSegmentBytes))
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}
