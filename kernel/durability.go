package kernel

import (
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/runnel-dev/runnel/segments"
)

// Durability. By default (flush.messages=1) a produce is acknowledged only
// once its batch is fsync'd, and consumers see a record only once it is:
// the high watermark is the durable offset, so nothing a consumer has read
// can vanish in a crash.
//
// fsyncs are group-committed per partition: a sync round takes the log end
// offset, fdatasyncs, and then everything below that offset is durable.
// Appends that land while a round runs are covered by the next one, so
// concurrent producers share fsyncs instead of queueing for their own. A
// round runs on its own goroutine, started on demand and ended when the
// log is caught up, never on an event loop; produce handlers wait for it
// through netio's deferred replies, so the connection keeps reading.
//
// With flush.messages above 1 (the relaxed mode) produces are acknowledged
// from the page cache and the high watermark is the log end; a sync round
// starts once flush.messages records are unflushed, or when flush.ms has
// passed since the last one (see flushLoop).
//
// Commit. Which durable records count as committed (visible to consumers,
// acknowledged to acks=all producers) is the sdk.Replicator's decision:
// the kernel calls LeaderDurable with the offset the log is durable up to
// (by the topic's policy: fsync'd, or in the relaxed mode appended) and
// publishes the answer as the high watermark (commit). It calls it when
// the partition opens, after every sync round (once per flush, shared by
// all the produce requests the round covers), after every appended batch
// in the relaxed mode (once per partition per produce request), and once
// more for an acks=all request whose batch the last answer left out;
// never per record. Without a Replicator (replication.none) the committed
// offset is the durable one and no call is made.
//
// acks=1 is answered once the batch is durable on the leader. acks=all
// needs the batch committed too. When the replicator has not committed it
// by then, and it can report commits later (sdk.CommitNotifier, applied by
// applyCommits in commits.go), the produce waits for the commit up to the
// request's timeout and is answered REQUEST_TIMED_OUT if it does not
// come, as Kafka does. A replicator without that capability cannot tell
// the kernel of a later commit, so waiting could be forever: the produce
// is answered NOT_ENOUGH_REPLICAS_AFTER_APPEND at once. Either way the
// batch is in the log; an idempotent producer's retry is deduplicated and
// asks the replicator again.

// errPartitionOffline is returned to waiters once a partition's fsync has
// failed: its durable state is unknown, so it takes no more writes.
var errPartitionOffline = errors.New("partition offline after a failed fsync")

// requestSync starts a sync round unless one is running.
func (p *partition) requestSync() {
	p.syncMu.Lock()
	if p.syncing {
		p.syncMu.Unlock()
		return
	}
	p.syncing = true
	p.syncMu.Unlock()
	go p.syncRounds()
}

// syncRounds fsyncs until the durable offset has caught up with the log
// end, then stops.
func (p *partition) syncRounds() {
	for {
		end := p.log.EndOffset()
		if end <= p.durable.Load() {
			p.syncMu.Lock()
			// Re-check under the lock: an append that raced with the check
			// above saw syncing still set and relies on this loop.
			if p.log.EndOffset() <= p.durable.Load() {
				p.syncing = false
				p.syncMu.Unlock()
				return
			}
			p.syncMu.Unlock()
			continue
		}
		err := p.log.Sync()
		if err != nil && !errors.Is(err, segments.ErrClosed) {
			p.failSync(err)
			return
		}
		if err != nil { // closed: deleted topic or shutdown; Close synced
			p.syncMu.Lock()
			p.syncing = false
			p.syncMu.Unlock()
			p.endRound()
			return
		}
		// Commit before publishing durable: a waiter that sees durable
		// reach its end then sees this round's committed offset too.
		p.commit(end)
		p.durable.Store(end)
		p.lastSync.Store(time.Now().UnixNano())
		p.endRound()
		p.wake() // the high watermark may have moved
	}
}

// endRound wakes everyone waiting for the round that just ended.
func (p *partition) endRound() {
	ch := make(chan struct{})
	old := p.synced.Swap(&ch)
	close(*old)
}

func (p *partition) failSync(err error) {
	p.logger.Error("fsync failed; partition taken offline", "partition", p.String(), "error", err)
	p.offline.Store(true)
	p.syncMu.Lock()
	p.syncing = false
	p.syncMu.Unlock()
	p.endRound()
	p.wake()
}

// waitDurable blocks until every offset below end is fsync'd.
func (p *partition) waitDurable(end int64) error {
	for {
		ch := p.synced.Load()
		if p.durable.Load() >= end {
			return nil
		}
		if p.offline.Load() {
			return errPartitionOffline
		}
		if p.deleted.Load() {
			return segments.ErrClosed
		}
		p.requestSync()
		<-*ch
	}
}

// afterAppend applies the flush policy once a batch is in the log: in the
// default mode it asks for a sync round; in the relaxed mode the appended
// batch is as durable as the topic asks, so it is offered for commit at
// once.
// REQUIRES: p.mu held.
func (p *partition) afterAppend() {
	cfg := p.topic.config()
	if cfg.Durable() {
		p.requestSync()
		return
	}
	end := p.log.EndOffset()
	p.commit(end)
	if end-p.durable.Load() >= cfg.FlushMessages {
		p.requestSync()
	}
}

// commit tells the replicator that the log is durable up to end and
// publishes the committed offset it answers as the high watermark, which
// never moves backwards (not even when a config change switches modes or
// a replicator answers less than before).
func (p *partition) commit(end int64) {
	c := end
	if p.repl != nil {
		p.commitMu.Lock()
		p.told = max(p.told, end)
		c = min(p.repl.LeaderDurable(p.tp, p.told), p.told)
		p.commitMu.Unlock()
	}
	p.advanceCommitted(c)
}

// commitReported applies a commit the replicator reported on its own time
// (sdk.CommitNotifier): never past what it was told is durable.
func (p *partition) commitReported(c int64) {
	p.commitMu.Lock()
	c = min(c, p.told)
	p.commitMu.Unlock()
	if p.advanceCommitted(c) {
		p.wake() // parked fetches and acks=all produces
	}
}

// advanceCommitted moves the committed offset up to c, never back, and
// reports whether it moved.
func (p *partition) advanceCommitted(c int64) bool {
	for {
		seen := p.committed.Load()
		if c <= seen {
			return false
		}
		if p.committed.CompareAndSwap(seen, c) {
			return true
		}
	}
}

// waitCommitted waits until every offset below end is committed, the
// deadline passes, the partition goes away, or the broker closes, and
// returns the produce's error code for the partition: 0 once committed,
// REQUEST_TIMED_OUT when the deadline passed or the broker closed first.
// Only a replicator that reports commits later (sdk.CommitNotifier) can
// end the wait early.
func (b *Broker) waitCommitted(p *partition, end int64, deadline time.Time) int16 {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		ch := p.dataArrived() // before the check, so a commit in between is not missed
		switch {
		case p.committed.Load() >= end:
			return 0
		case p.deleted.Load():
			return kerr.UnknownTopicOrPartition.Code
		case p.offline.Load():
			return kerr.KafkaStorageError.Code
		}
		select {
		case <-ch:
		case <-timer.C:
			if p.committed.Load() >= end {
				return 0
			}
			return kerr.RequestTimedOut.Code
		case <-b.closing:
			return kerr.RequestTimedOut.Code
		}
	}
}

// committedTo reports whether every offset below end is committed. When
// the last answer fell short it asks the replicator once more, with what
// is durable now: records may have been replicated since (a retried
// produce relies on this).
func (p *partition) committedTo(end int64) bool {
	if p.committed.Load() >= end {
		return true
	}
	if p.repl == nil {
		return false
	}
	p.commit(p.durable.Load())
	return p.committed.Load() >= end
}

// highWatermark is the offset below which records are visible to
// consumers: the committed offset.
func (p *partition) highWatermark() int64 { return p.committed.Load() }

// flushInterval is how often flushLoop looks for partitions whose
// flush.ms has passed.
const flushInterval = 100 * time.Millisecond

// flushLoop starts sync rounds for relaxed-mode partitions whose unflushed
// data is older than their flush.ms. It runs until the broker closes.
func (b *Broker) flushLoop() {
	t := time.NewTicker(flushInterval)
	defer t.Stop()
	for {
		select {
		case <-b.closing:
			return
		case now := <-t.C:
			for _, tp := range b.allTopics() {
				cfg := tp.config()
				if cfg.Durable() || cfg.FlushMs == maxFlushMs {
					continue
				}
				for _, p := range tp.partitions {
					if p.offline.Load() {
						continue
					}
					if p.log.EndOffset() > p.durable.Load() &&
						now.UnixNano()-p.lastSync.Load() >= cfg.FlushMs*int64(time.Millisecond) {
						p.requestSync()
					}
				}
			}
		}
	}
}

// maxFlushMs is Kafka's "never by time" for flush.ms.
const maxFlushMs = 1<<63 - 1
