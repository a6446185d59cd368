package kernel

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/runnel-dev/runnel/segments"
)

// partition is one partition this broker leads: its log and the
// idempotent-producer state of that log.
type partition struct {
	topic *topic
	index int32
	dir   string // the partition's directory
	log   *segments.Log

	// mu serializes appends together with the producer-state check that
	// precedes each, and guards producers.
	mu        sync.Mutex
	producers map[int64]*producerState

	// notify is closed and replaced after every append, to wake fetches
	// parked on this partition.
	notify  atomic.Pointer[chan struct{}]
	deleted atomic.Bool
}

func openPartition(t *topic, index int32, dir string, logger *slog.Logger) (*partition, error) {
	p := &partition{topic: t, index: index, dir: dir, producers: make(map[int64]*producerState)}
	ch := make(chan struct{})
	p.notify.Store(&ch)
	l, err := segments.Open(dir, segments.Options{
		SegmentBytes:     t.cfg.SegmentBytes,
		Logger:           logger.With("partition", p.String()),
		OnRecoveredBatch: p.recoverBatch,
	})
	if err != nil {
		return nil, err
	}
	p.log = l
	return p, nil
}

func (p *partition) String() string { return fmt.Sprintf("%s-%d", p.topic.name, p.index) }

// highWatermark is the offset below which records are visible to
// consumers. With one replica it is the log end.
func (p *partition) highWatermark() int64 { return p.log.EndOffset() }

func (p *partition) logStartOffset() int64 { return p.log.StartOffset() }

// dataArrived returns a channel closed at the next append.
func (p *partition) dataArrived() <-chan struct{} { return *p.notify.Load() }

func (p *partition) wake() {
	ch := make(chan struct{})
	old := p.notify.Swap(&ch)
	close(*old)
}

func (p *partition) markDeleted() {
	p.deleted.Store(true)
	p.wake()
}

// appendBatch appends one validated record batch, assigning its offsets
// in place. For an idempotent producer it first checks the batch's
// sequence; a retried duplicate of a recent batch is not appended again
// and its original base offset is returned.
func (p *partition) appendBatch(batch []byte, h segments.BatchHeader) (int64, *kerr.Error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.deleted.Load() {
		return -1, kerr.UnknownTopicOrPartition
	}
	var ps *producerState
	if h.ProducerID >= 0 {
		ps = p.producers[h.ProducerID]
		if dup, ok := ps.duplicate(h); ok {
			return dup, nil
		}
		if err := ps.check(h); err != nil {
			return -1, err
		}
	}
	base, err := p.log.Append(batch)
	if err != nil {
		if errors.Is(err, segments.ErrClosed) {
			return -1, kerr.UnknownTopicOrPartition
		}
		return -1, kerr.KafkaStorageError
	}
	if h.ProducerID >= 0 {
		if ps == nil {
			ps = &producerState{}
			p.producers[h.ProducerID] = ps
		}
		ps.record(h, base)
	}
	p.wake()
	return base, nil
}

// recoverBatch rebuilds producer state from a batch found while opening
// the log. It runs before the partition is published, so needs no lock.
func (p *partition) recoverBatch(h segments.BatchHeader) {
	if h.ProducerID < 0 {
		return
	}
	ps := p.producers[h.ProducerID]
	if ps == nil {
		ps = &producerState{}
		p.producers[h.ProducerID] = ps
	}
	ps.record(h, h.BaseOffset)
}
