package kernel

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/runnel-dev/runnel/segments"
)

// Producer-state snapshots. The idempotent-producer state of a partition
// (each producer's epoch and last batches) is derived from the log, but
// rebuilding it by scanning a long log would make every start as slow as
// the log is long, and a clean start reads no batch at all. So a snapshot
// of the state is written beside the log when it closes and at every
// checkpoint; at start the snapshot is loaded and only the batches after
// it are replayed. A missing or unreadable snapshot just means a longer
// scan.
//
// The file is JSON with a format version, written to a temporary file,
// fsync'd and renamed into place.

const (
	producerSnapshotFile    = "producer-state.snapshot"
	producerSnapshotVersion = 1
)

type producerSnapshot struct {
	Version int `json:"version"`
	// Offset: the state covers every batch below this offset.
	Offset    int64                   `json:"offset"`
	Producers []producerSnapshotEntry `json:"producers"`
}

type producerSnapshotEntry struct {
	ID    int64 `json:"id"`
	Epoch int16 `json:"epoch"`
	// Batches are [first sequence, last sequence, base offset], oldest
	// first.
	Batches [][3]int64 `json:"batches"`
}

// snapshotProducers writes the producer state and the offset it covers.
// It holds p.mu while copying, so the state and offset agree.
func (p *partition) snapshotProducers() error {
	if p.log == nil || p.deleted.Load() {
		return nil
	}
	p.mu.Lock()
	snap := producerSnapshot{Version: producerSnapshotVersion, Offset: p.log.EndOffset()}
	for id, ps := range p.producers {
		e := producerSnapshotEntry{ID: id, Epoch: ps.epoch}
		for _, m := range ps.ordered() {
			e.Batches = append(e.Batches, [3]int64{int64(m.firstSeq), int64(m.lastSeq), m.baseOffset})
		}
		snap.Producers = append(snap.Producers, e)
	}
	p.mu.Unlock()
	sort.Slice(snap.Producers, func(i, j int) bool { return snap.Producers[i].ID < snap.Producers[j].ID })
	data, err := json.Marshal(snap)
	if err != nil {
		return err
	}
	path := filepath.Join(p.dir, producerSnapshotFile)
	if err := writeFileSync(path+".tmp", data); err != nil {
		return fmt.Errorf("producer snapshot: %w", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("producer snapshot: %w", err)
	}
	return nil
}

// loadProducerSnapshot reads a snapshot; ok is false when there is none
// or it cannot be trusted.
func loadProducerSnapshot(dir string) (map[int64]*producerState, int64, bool) {
	data, err := os.ReadFile(filepath.Join(dir, producerSnapshotFile))
	if err != nil {
		return nil, 0, false
	}
	var snap producerSnapshot
	if json.Unmarshal(data, &snap) != nil || snap.Version != producerSnapshotVersion || snap.Offset < 0 {
		return nil, 0, false
	}
	m := make(map[int64]*producerState, len(snap.Producers))
	for _, e := range snap.Producers {
		ps := &producerState{epoch: e.Epoch}
		for _, b := range e.Batches {
			if b[0] < math.MinInt32 || b[0] > math.MaxInt32 || b[1] < math.MinInt32 || b[1] > math.MaxInt32 {
				return nil, 0, false
			}
			ps.push(batchMeta{firstSeq: int32(b[0]), lastSeq: int32(b[1]), baseOffset: b[2]})
		}
		m[e.ID] = ps
	}
	return m, snap.Offset, true
}

// rebuildProducers restores the producer state at open: the snapshot,
// then the batches between it and those recovery replayed (read with
// Scan), then the replayed ones.
func (p *partition) rebuildProducers(recovered []segments.BatchHeader) error {
	l := p.log
	snap, snapEnd, ok := loadProducerSnapshot(p.dir)
	if !ok || snapEnd > l.EndOffset() {
		// No snapshot, or one from data recovery has since cut away.
		snap, snapEnd = make(map[int64]*producerState), 0
	}
	p.producers = snap
	until := int64(math.MaxInt64)
	if len(recovered) > 0 {
		until = recovered[0].BaseOffset
	}
	from := max(snapEnd, l.StartOffset())
	if from < until && from < l.EndOffset() {
		err := l.Scan(from, func(h segments.BatchHeader) bool {
			if h.BaseOffset >= until {
				return false
			}
			if h.BaseOffset >= from {
				p.recoverBatch(h)
			}
			return true
		})
		if err != nil && !errors.Is(err, segments.ErrOffsetOutOfRange) {
			return fmt.Errorf("rebuild producer state: %w", err)
		}
	}
	for _, h := range recovered {
		if h.BaseOffset >= snapEnd {
			p.recoverBatch(h)
		}
	}
	return nil
}

// closeAndSnapshot closes the log (which syncs it) and then writes the
// producer snapshot for the final offset.
func (p *partition) closeAndSnapshot() error {
	if p.log == nil {
		return nil
	}
	err := p.log.Close()
	if err != nil {
		if errors.Is(err, segments.ErrClosed) {
			return nil // deleted
		}
		return err
	}
	return p.snapshotProducers()
}

// writeFileSync writes data to path and fsyncs it.
func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
