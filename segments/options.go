package segments

import (
	"fmt"
	"log/slog"
	"math"
	"time"
)

// DefaultSegmentBytes is the segment size used when Options.SegmentBytes
// is zero (Kafka's log.segment.bytes default).
const DefaultSegmentBytes = 1 << 30

// MaxSegmentBytes is the largest SegmentBytes accepted. Batch positions in
// the sparse index are 32-bit, as in Kafka's index files (segment.bytes is
// an int there too).
const MaxSegmentBytes = math.MaxInt32

// DefaultIndexIntervalBytes is the index interval used when
// Options.IndexIntervalBytes is zero (Kafka's index.interval.bytes).
const DefaultIndexIntervalBytes = 4096

// DefaultPreallocateBytes is the preallocation step used when
// Options.PreallocateBytes is zero.
const DefaultPreallocateBytes = 1 << 20

// Options configures a Log.
type Options struct {
	// SegmentBytes: roll the active segment when appending would take it
	// past this size. A batch is always accepted into an empty segment,
	// even a larger one. 0 means DefaultSegmentBytes.
	SegmentBytes int64
	// SegmentMs (Kafka's segment.ms): roll the active segment, at the next
	// append, once it spans more than this many milliseconds: the new
	// batch's max timestamp minus that of the segment's first batch, or,
	// when either has no timestamp, the time since the segment was created
	// or opened. 0 disables rolling by time.
	SegmentMs int64
	// IndexIntervalBytes is the log bytes between entries of the .index
	// and .timeindex files (Kafka's index.interval.bytes). 0 means
	// DefaultIndexIntervalBytes.
	IndexIntervalBytes int
	// PreallocateBytes is how far ahead of the write position the active
	// segment's file is grown with fallocate, in whole pages (rounded up),
	// never past SegmentBytes. Files are trimmed to their data on roll and
	// on Close. 0 means DefaultPreallocateBytes; negative disables it.
	PreallocateBytes int64
	// FS is the filesystem the log uses. nil means OSFS, or the Dir's FS
	// for Dir.OpenLog.
	FS FS
	// Now is the clock for rolling by time. nil means time.Now.
	Now func() time.Time
	// Logger receives recovery truncations. nil means slog.Default().
	Logger *slog.Logger
	// OnRecoveredBatch, if set, is called during Open with the header of
	// every batch recovery checks, in offset order (the kernel rebuilds
	// idempotent-producer state from it). Open checks every batch;
	// Dir.OpenLog only those past the log's recovery point, and none
	// after a clean shutdown: use Scan to replay earlier headers. It is
	// called with no lock held.
	OnRecoveredBatch func(BatchHeader)
}

// maxIndexBytes caps the size of one index file (Kafka's
// segment.index.bytes default); a segment whose index fills up is rolled.
const maxIndexBytes = 10 << 20

// withDefaults fills in defaults and rejects values the log cannot honour.
func (o Options) withDefaults() (Options, error) {
	var err error
	if o.SegmentBytes, err = checkRoll(o.SegmentBytes, o.SegmentMs); err != nil {
		return o, err
	}
	switch {
	case o.IndexIntervalBytes == 0:
		o.IndexIntervalBytes = DefaultIndexIntervalBytes
	case o.IndexIntervalBytes < 0:
		return o, fmt.Errorf("segments: IndexIntervalBytes %d is negative", o.IndexIntervalBytes)
	}
	switch {
	case o.PreallocateBytes == 0:
		o.PreallocateBytes = DefaultPreallocateBytes
	case o.PreallocateBytes < 0:
		o.PreallocateBytes = 0
	default:
		o.PreallocateBytes = alignUp(o.PreallocateBytes, pageSize)
	}
	if o.FS == nil {
		o.FS = OSFS{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// checkRoll checks the roll policy, returning the segment size to use
// (DefaultSegmentBytes for 0).
func checkRoll(segmentBytes, segmentMs int64) (int64, error) {
	switch {
	case segmentBytes == 0:
		segmentBytes = DefaultSegmentBytes
	case segmentBytes < 0 || segmentBytes > MaxSegmentBytes:
		return 0, fmt.Errorf("segments: SegmentBytes %d out of range [1, %d]", segmentBytes, int64(MaxSegmentBytes))
	}
	if segmentMs < 0 {
		return 0, fmt.Errorf("segments: SegmentMs %d is negative", segmentMs)
	}
	return segmentBytes, nil
}

// SetRoll changes the roll policy of the open log, as Options.SegmentBytes
// and Options.SegmentMs (0 means DefaultSegmentBytes; the same checks).
// It applies from the next Append: an active segment already past the new
// size, or older than the new age, is rolled then. Index files are sized
// for the new segment size from the next segment on.
func (l *Log) SetRoll(segmentBytes, segmentMs int64) error {
	segmentBytes, err := checkRoll(segmentBytes, segmentMs)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return ErrClosed
	}
	l.opts.SegmentBytes, l.opts.SegmentMs = segmentBytes, segmentMs
	l.setIndexCaps()
	return nil
}

// setIndexCaps sizes new active indexes for the segment size. REQUIRES: mu
// held (or the log not yet published).
func (l *Log) setIndexCaps() {
	l.offCap.Store(int32(offsetIndexKind.capSlots(l.opts.SegmentBytes, l.opts.IndexIntervalBytes)))
	l.timeCap.Store(int32(timeIndexKind.capSlots(l.opts.SegmentBytes, l.opts.IndexIntervalBytes)))
}

// pageSize is the page the on-disk layouts align to. It is a constant of
// the formats, not the machine's page size: 4 KiB boundaries are also
// boundaries of any larger page.
const pageSize = 4096

// alignUp rounds n up to a multiple of a (a power of two).
func alignUp(n, a int64) int64 { return (n + a - 1) &^ (a - 1) }
