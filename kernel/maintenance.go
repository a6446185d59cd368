package kernel

import (
	"errors"
	"strings"
	"time"

	"github.com/runnel-dev/runnel/segments"
)

// Background upkeep of the logs, off every request path: retention
// (deleting whole segments past retention.ms / retention.bytes), and
// checkpoints (recovery points, log start offsets, producer snapshots), so
// a restart after a crash rescans little and a clean restart nothing.
//
// The intervals are Kafka's log.retention.check.interval.ms and
// log.flush.offset.checkpoint.interval.ms.

// maintenanceLoop runs until the broker closes.
func (b *Broker) maintenanceLoop() {
	retention := time.NewTicker(b.retentionCheckInterval())
	defer retention.Stop()
	checkpoint := time.NewTicker(b.checkpointInterval())
	defer checkpoint.Stop()
	for {
		select {
		case <-b.closing:
			return
		case now := <-retention.C:
			b.applyRetention(now)
		case <-checkpoint.C:
			b.checkpoint()
		}
	}
}

func (b *Broker) retentionCheckInterval() time.Duration {
	return time.Duration(b.cfg.LogRetentionCheckIntervalMs) * time.Millisecond
}

func (b *Broker) checkpointInterval() time.Duration {
	return time.Duration(b.cfg.LogFlushOffsetCheckpointIntervalMs) * time.Millisecond
}

// applyRetention deletes expired segments of every topic whose cleanup
// policy includes delete.
func (b *Broker) applyRetention(now time.Time) {
	for _, t := range b.allTopics() {
		cfg := t.config()
		if !strings.Contains(cfg.CleanupPolicy, "delete") {
			continue
		}
		for _, p := range t.partitions {
			if p.log == nil || p.offline.Load() {
				continue
			}
			n, err := p.log.Retain(now, cfg.RetentionMs, cfg.RetentionBytes)
			switch {
			case errors.Is(err, segments.ErrClosed):
			case err != nil:
				b.log.Error("retention failed", "partition", p.String(), "error", err)
			case n > 0:
				b.log.Info("retention deleted segments", "partition", p.String(), "segments", n,
					"log_start_offset", p.log.StartOffset())
			}
		}
	}
}

// checkpoint writes producer snapshots and every log dir's checkpoints.
func (b *Broker) checkpoint() {
	for _, t := range b.allTopics() {
		for _, p := range t.partitions {
			if err := p.snapshotProducers(); err != nil && !errors.Is(err, segments.ErrClosed) {
				b.log.Warn("producer snapshot failed", "partition", p.String(), "error", err)
			}
		}
	}
	for path, d := range b.dirs {
		if err := d.Checkpoint(); err != nil && !errors.Is(err, segments.ErrClosed) {
			b.log.Error("checkpoint failed", "log_dir", path, "error", err)
		}
	}
}
