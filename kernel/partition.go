package kernel

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/runnel-dev/runnel/sdk"
	"github.com/runnel-dev/runnel/segments"
)

// partition is one partition this broker leads: its log and the
// idempotent-producer state of that log.
type partition struct {
	topic  *topic
	index  int32
	dir    string // the partition's directory
	logDir string // the log dir holding it, as configured
	log    *segments.Log

	// mu serializes appends together with the producer-state check that
	// precedes each, and guards producers.
	mu        sync.Mutex
	producers map[int64]*producerState

	// notify is closed and replaced after every append and every sync
	// round, to wake fetches parked on this partition.
	notify  atomic.Pointer[chan struct{}]
	deleted atomic.Bool
	// offline is set when the log could not be opened (log is then nil,
	// openErr says why) or an fsync failed: the partition answers
	// KAFKA_STORAGE_ERROR and takes no writes.
	offline atomic.Bool
	openErr error

	// Group commit (durability.go). syncMu guards syncing.
	syncMu   sync.Mutex
	syncing  bool                          // a sync round goroutine runs
	durable  atomic.Int64                  // offsets below are fsync'd
	synced   atomic.Pointer[chan struct{}] // closed at the end of each sync round
	lastSync atomic.Int64                  // unix nanos of the last completed round
	logger   *slog.Logger

	// Commit (durability.go): committed is the high watermark, what the
	// replicator last answered; it never moves backwards. repl nil is
	// replication.none, inlined. commitMu serializes the calls to repl
	// for this partition and guards told, the highest end given to it.
	committed atomic.Int64
	repl      sdk.Replicator
	tp        sdk.TopicPartition
	commitMu  sync.Mutex
	told      int64
}

// openPartition opens the partition's log in its log dir, rebuilding the
// idempotent-producer state. A log that cannot be opened leaves the
// partition offline (the error is returned with the partition). repl
// decides its committed offset (nil: everything durable is).
func openPartition(t *topic, index int32, d *segments.Dir, repl sdk.Replicator, logger *slog.Logger) (*partition, error) {
	name := partitionDirName(t.name, int(index))
	p := &partition{topic: t, index: index, dir: filepath.Join(d.Path(), name),
		producers: make(map[int64]*producerState), logger: logger,
		repl: repl, tp: sdk.TopicPartition{Topic: t.name, Partition: index}}
	ch := make(chan struct{})
	p.notify.Store(&ch)
	round := make(chan struct{})
	p.synced.Store(&round)
	cfg := t.config()
	var recovered []segments.BatchHeader
	l, err := d.OpenLog(name, segments.Options{
		SegmentBytes: cfg.SegmentBytes,
		SegmentMs:    cfg.SegmentMs,
		Logger:       logger.With("partition", p.String()),
		OnRecoveredBatch: func(h segments.BatchHeader) {
			if h.ProducerID >= 0 {
				recovered = append(recovered, h)
			}
		},
	})
	if err != nil {
		// Keep the partition, offline: clients get KAFKA_STORAGE_ERROR
		// for it rather than a broker that will not start, and nothing
		// is ever served from a log that could not be recovered.
		p.offline.Store(true)
		p.openErr = err
		return p, err
	}
	p.log = l
	if err := p.rebuildProducers(recovered); err != nil {
		_ = l.Close()
		p.log = nil
		p.offline.Store(true)
		p.openErr = err
		return p, err
	}
	// What recovery found is in the files: count it durable, and sync it
	// once in case a crash left some of it only in the page cache. The
	// replicator, told of it as the partition's leader starts, decides
	// how much of it is committed.
	p.durable.Store(l.EndOffset())
	p.commit(l.EndOffset())
	p.lastSync.Store(time.Now().UnixNano())
	if l.EndOffset() > l.RecoveryPoint() {
		go func() { _ = l.Sync() }()
	}
	return p, nil
}

// close closes the partition's log, if it has one.
func (p *partition) close() error {
	if p.log == nil {
		return nil
	}
	return p.log.Close()
}

// remove deletes the partition's data, opened or not.
func (p *partition) remove() error {
	if p.log == nil {
		return os.RemoveAll(p.dir)
	}
	return p.log.Remove()
}

func (p *partition) String() string { return fmt.Sprintf("%s-%d", p.topic.name, p.index) }

func (p *partition) logStartOffset() int64 {
	if p.log == nil {
		return -1
	}
	return p.log.StartOffset()
}

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
	if p.offline.Load() {
		return -1, kerr.KafkaStorageError
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
	p.afterAppend()
	p.wake() // after afterAppend, so a woken fetch sees a relaxed-mode commit
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
