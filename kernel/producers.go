package kernel

import (
	"math"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/runnel-dev/runnel/segments"
)

// producerState is what a partition remembers of one idempotent
// producer: its epoch and its most recent batches, enough to answer a
// retried batch with its original offset and to spot sequence gaps.
// Kafka keeps the last five batches because a producer has at most five
// requests in flight per partition.
type producerState struct {
	epoch   int16
	recent  [recentBatches]batchMeta
	n       int // how many entries of recent are used
	newest  int // index of the newest entry
	hasSeqs bool
}

const recentBatches = 5

type batchMeta struct {
	firstSeq, lastSeq int32
	baseOffset        int64
}

// duplicate reports whether h repeats one of the producer's recent
// batches, and that batch's base offset.
func (ps *producerState) duplicate(h segments.BatchHeader) (int64, bool) {
	if ps == nil || h.ProducerEpoch != ps.epoch {
		return 0, false
	}
	last := h.LastSequence()
	for i := 0; i < ps.n; i++ {
		m := ps.recent[i]
		if m.firstSeq == h.BaseSequence && m.lastSeq == last {
			return m.baseOffset, true
		}
	}
	return 0, false
}

// check applies Kafka's sequence rules to a batch that is not a
// duplicate. A producer the partition has never seen (or whose state was
// lost) may start at any sequence, as in Kafka.
func (ps *producerState) check(h segments.BatchHeader) *kerr.Error {
	if ps == nil {
		return nil
	}
	switch {
	case h.ProducerEpoch < ps.epoch:
		return kerr.InvalidProducerEpoch
	case h.ProducerEpoch > ps.epoch:
		if h.BaseSequence != 0 {
			return kerr.OutOfOrderSequenceNumber
		}
		return nil
	}
	if !ps.hasSeqs {
		return nil
	}
	if !inSequence(ps.recent[ps.newest].lastSeq, h.BaseSequence) {
		return kerr.OutOfOrderSequenceNumber
	}
	return nil
}

func inSequence(last, next int32) bool {
	return next == last+1 || (last == math.MaxInt32 && next == 0)
}

// push adds a batch to the recent ones, dropping the oldest when full.
func (ps *producerState) push(m batchMeta) {
	ps.hasSeqs = true
	if ps.n < recentBatches {
		ps.newest = ps.n
		ps.n++
	} else {
		ps.newest = (ps.newest + 1) % recentBatches
	}
	ps.recent[ps.newest] = m
}

// ordered returns the recent batches, oldest first.
func (ps *producerState) ordered() []batchMeta {
	out := make([]batchMeta, 0, ps.n)
	start := 0
	if ps.n == recentBatches {
		start = (ps.newest + 1) % recentBatches
	}
	for i := 0; i < ps.n; i++ {
		out = append(out, ps.recent[(start+i)%recentBatches])
	}
	return out
}

// record notes an appended batch.
func (ps *producerState) record(h segments.BatchHeader, base int64) {
	if h.ProducerEpoch != ps.epoch || !ps.hasSeqs {
		*ps = producerState{epoch: h.ProducerEpoch}
	}
	ps.push(batchMeta{firstSeq: h.BaseSequence, lastSeq: h.LastSequence(), baseOffset: base})
}
