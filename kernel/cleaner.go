package kernel

import (
	"errors"
	"strings"
	"time"

	"github.com/runnel-dev/runnel/segments"
)

// The log cleaner: for topics whose cleanup.policy includes compact, keep
// only the latest record of each key in the closed segments (and drop
// tombstones older than delete.retention.ms), every
// log.cleaner.backoff.ms, in the background. Appends are never blocked:
// the segments package compacts closed segments only and swaps each in.

// cleanerMapCapacity bounds the keys one pass remembers (about 32 bytes
// each, so 4 MiB): a partition with more dirty keys is cleaned over
// several passes, which keeps the cleaner's memory small and fixed.
const cleanerMapCapacity = 1 << 17

// cleanerLoop runs until the broker closes.
func (b *Broker) cleanerLoop() {
	t := time.NewTicker(time.Duration(b.cfg.LogCleanerBackoffMs) * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-b.closing:
			return
		case now := <-t.C:
			b.compactAll(now)
		}
	}
}

// compactAll runs one cleaning pass over every compacted partition.
func (b *Broker) compactAll(now time.Time) {
	for _, t := range b.allTopics() {
		cfg := t.config()
		if !strings.Contains(cfg.CleanupPolicy, "compact") {
			continue
		}
		for _, p := range t.partitions {
			if p.log == nil || p.offline.Load() {
				continue
			}
			select {
			case <-b.closing:
				return
			default:
			}
			st, err := p.log.Compact(segments.CompactOptions{
				Now:               now,
				DeleteRetentionMs: cfg.DeleteRetentionMs,
				MinCleanableRatio: b.cfg.LogCleanerMinCleanableRatio,
				MapCapacity:       cleanerMapCapacity,
			})
			switch {
			case errors.Is(err, segments.ErrClosed):
			case err != nil:
				b.log.Error("compaction failed", "partition", p.String(), "error", err)
			case st.SegmentsCleaned > 0:
				b.log.Info("compacted", "partition", p.String(), "segments", st.SegmentsCleaned,
					"bytes_before", st.BytesBefore, "bytes_after", st.BytesAfter, "records_removed", st.RecordsRemoved)
			}
		}
	}
}
