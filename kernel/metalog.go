package kernel

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"log/slog"
	"path/filepath"

	"github.com/runnel-dev/runnel/sdk"
	"github.com/runnel-dev/runnel/segments/metalog"
)

// The metadata log holds every change to the cluster metadata (the
// cluster id, topics, their configs, producer id blocks) as one entry of
// an sdk.Consensus, replayed in order at start to rebuild the image.
// This file is the kernel's side of it: an entry is one metaRecord,
// encoded as JSON. Storing, ordering and compacting entries is the
// Consensus's; without one configured (Options.Consensus) the kernel uses
// segments/metalog, the store behind the consensus.local builtin, in
// <first log dir>/__runnel_metadata. Its file format (framing, format
// header, torn-tail recovery) is described in that package; the bytes on
// disk are the ones the kernel wrote itself before the store was split
// out, so existing data dirs open unchanged.
//
// A record of a type this kernel does not know is skipped with a
// warning, so a record type can be added without a format bump.

const metaDirName = "__runnel_metadata"

// metaFormatVersion is the highest format_version a "format" record may
// carry. The local store consumes its own format header; one that reaches
// the kernel (from a store that keeps it as an entry) is checked here.
const metaFormatVersion = 1

// castagnoli is the CRC-32C table of the Kafka batch checksum.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// metaRecord is one entry of the metadata log.
type metaRecord struct {
	Type string `json:"type"`
	// format
	FormatVersion int `json:"format_version,omitempty"`
	// cluster
	ClusterID string `json:"cluster_id,omitempty"`
	// topic (create) and delete_topic / topic_configs (by id)
	Topic *topicRecord `json:"topic,omitempty"`
	// producer_ids: ids below this value have been handed out or reserved
	ProducerIDsUpTo int64 `json:"producer_ids_up_to,omitempty"`
}

type topicRecord struct {
	Name       string            `json:"name,omitempty"`
	ID         string            `json:"id"`
	Partitions int32             `json:"partitions,omitempty"`
	Configs    map[string]string `json:"configs,omitempty"`
}

const (
	recFormat       = "format"
	recCluster      = "cluster"
	recTopic        = "topic"
	recDeleteTopic  = "delete_topic"
	recTopicConfigs = "topic_configs"
	recProducerIDs  = "producer_ids"
)

func encodeMetaRecord(rec metaRecord) ([]byte, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("metadata log: encode %s record: %w", rec.Type, err)
	}
	return b, nil
}

// decodeMetaRecord parses one entry. An entry that is not a record is an
// error, not a skip: its CRC was good, so it is a bug or a foreign
// writer, and guessing past it could drop a topic.
func decodeMetaRecord(entry []byte) (metaRecord, error) {
	var rec metaRecord
	if err := json.Unmarshal(entry, &rec); err != nil {
		return rec, fmt.Errorf("undecodable metadata record: %w", err)
	}
	if rec.Type == recFormat && rec.FormatVersion > metaFormatVersion {
		return rec, fmt.Errorf("metadata log has format version %d; this runnel reads up to %d",
			rec.FormatVersion, metaFormatVersion)
	}
	return rec, nil
}

// metaLog writes metadata records through the Consensus. Its methods are
// called under Broker.metaMu (or before the broker is published).
type metaLog struct {
	c   sdk.Consensus
	log *slog.Logger
	// ctx is canceled when Close has answered what requests it could,
	// so an append still waiting on other brokers (a replicated
	// Consensus) does not hold up the rest of Close.
	ctx    context.Context
	cancel context.CancelFunc
	// records counts the entries replayed or appended since the log was
	// opened or last compacted: the log's length as the kernel knows it.
	records int
}

// openMetaLog opens c (metalog's local store when nil) on the metadata
// directory of dataDir and replays every record through apply.
func openMetaLog(c sdk.Consensus, dataDir string, logger *slog.Logger, apply func(metaRecord) error) (*metaLog, error) {
	if c == nil {
		c = metalog.New(logger)
	}
	m := &metaLog{c: c, log: logger}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	err := c.Open(filepath.Join(dataDir, metaDirName), func(entry []byte) error {
		rec, err := decodeMetaRecord(entry)
		if err != nil {
			return err
		}
		m.records++
		return apply(rec)
	})
	if err != nil {
		m.cancel()
		return nil, fmt.Errorf("open metadata store: %w", err)
	}
	return m, nil
}

// append commits one record: once it returns nil the record survives a
// crash.
func (m *metaLog) append(rec metaRecord) error {
	entry, err := encodeMetaRecord(rec)
	if err != nil {
		return err
	}
	if err := m.c.Append(m.ctx, entry); err != nil {
		return fmt.Errorf("metadata log: %w", err)
	}
	m.records++
	return nil
}

// maybeCompact replaces the log by snapshot() when the Consensus can
// compact (sdk.Compactor) and says it holds enough dead records for that
// to be worth it. live is the number of records snapshot would return,
// estimated without taking the snapshot.
func (m *metaLog) maybeCompact(live int, snapshot func() []metaRecord) error {
	cp, ok := m.c.(sdk.Compactor)
	if !ok || !cp.NeedsCompaction(live) {
		return nil
	}
	recs := snapshot()
	entries := make([][]byte, len(recs))
	for i, r := range recs {
		e, err := encodeMetaRecord(r)
		if err != nil {
			return err
		}
		entries[i] = e
	}
	if err := cp.Compact(entries); err != nil {
		return fmt.Errorf("metadata log: compact: %w", err)
	}
	m.log.Debug("metadata log compacted", "records_before", m.records, "records_after", len(entries))
	m.records = len(entries)
	return nil
}

// abort cancels appends in flight; the broker is closing.
func (m *metaLog) abort() { m.cancel() }

func (m *metaLog) close() error {
	m.cancel()
	if err := m.c.Close(); err != nil {
		return fmt.Errorf("metadata log: %w", err)
	}
	return nil
}
