package kernel

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
)

// The metadata log is the single-node store of cluster metadata: an
// append-only file of records, each framed as
//
//	length uint32 | crc32c(payload) uint32 | payload (JSON, length bytes)
//
// replayed in order at start. A torn or corrupt tail (a crash mid-write)
// is truncated at the last whole record and logged. When the file holds
// many more records than the live image needs, it is rewritten from a
// snapshot of the image (write a temporary file, fsync, rename).
//
// metaFormatVersion is written as the first record of every file; a
// later format bumps it and reads the old one.
const metaFormatVersion = 1

const (
	metaDirName  = "__runnel_metadata"
	metaFileName = "metadata.log"
	maxMetaRec   = 64 << 20
)

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

type metaLog struct {
	path    string
	f       *os.File
	records int // records in the file, for deciding when to rewrite
	log     *slog.Logger
}

// openMetaLog opens (creating) the metadata log in dir and replays every
// record through apply.
func openMetaLog(dir string, logger *slog.Logger, apply func(metaRecord) error) (*metaLog, error) {
	mdir := filepath.Join(dir, metaDirName)
	if err := os.MkdirAll(mdir, 0o755); err != nil {
		return nil, fmt.Errorf("metadata log: %w", err)
	}
	path := filepath.Join(mdir, metaFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("metadata log: %w", err)
	}
	m := &metaLog{path: path, f: f, log: logger}
	valid, err := m.replay(apply)
	if err != nil {
		f.Close()
		return nil, err
	}
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("metadata log: %w", err)
	}
	if end > valid {
		logger.Warn("metadata log: truncating torn tail", "file", path, "bytes_dropped", end-valid)
		if err := f.Truncate(valid); err != nil {
			f.Close()
			return nil, fmt.Errorf("metadata log: truncate: %w", err)
		}
		if _, err := f.Seek(valid, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("metadata log: %w", err)
		}
	}
	if m.records == 0 {
		if err := m.append(metaRecord{Type: recFormat, FormatVersion: metaFormatVersion}); err != nil {
			f.Close()
			return nil, err
		}
	}
	return m, nil
}

// replay applies every whole record and returns the byte length of the
// valid prefix.
func (m *metaLog) replay(apply func(metaRecord) error) (int64, error) {
	r := bufio.NewReader(m.f)
	var pos int64
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return pos, nil // clean end or torn header
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		sum := binary.BigEndian.Uint32(hdr[4:])
		if n > maxMetaRec {
			return pos, nil
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			return pos, nil
		}
		if crc32.Checksum(payload, castagnoli) != sum {
			return pos, nil
		}
		var rec metaRecord
		if err := json.Unmarshal(payload, &rec); err != nil {
			return pos, nil
		}
		if rec.Type == recFormat && rec.FormatVersion > metaFormatVersion {
			return 0, fmt.Errorf("metadata log %s has format version %d; this runnel reads up to %d",
				m.path, rec.FormatVersion, metaFormatVersion)
		}
		if err := apply(rec); err != nil {
			return 0, fmt.Errorf("metadata log %s at byte %d: %w", m.path, pos, err)
		}
		m.records++
		pos += 8 + int64(n)
	}
}

func encodeMetaRecord(dst []byte, rec metaRecord) ([]byte, error) {
	payload, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.BigEndian.AppendUint32(dst, crc32.Checksum(payload, castagnoli))
	return append(dst, payload...), nil
}

// append writes one record and syncs it; metadata changes are rare and
// must survive a crash once acknowledged.
func (m *metaLog) append(rec metaRecord) error {
	buf, err := encodeMetaRecord(nil, rec)
	if err != nil {
		return fmt.Errorf("metadata log: encode: %w", err)
	}
	if _, err := m.f.Write(buf); err != nil {
		return fmt.Errorf("metadata log: write: %w", err)
	}
	if err := m.f.Sync(); err != nil {
		return fmt.Errorf("metadata log: sync: %w", err)
	}
	m.records++
	return nil
}

// needsRewrite reports whether the file holds enough dead records that
// rewriting it from the live image is worth it.
func (m *metaLog) needsRewrite(live int) bool {
	return m.records > 2*live+64
}

// rewrite replaces the file with one holding exactly recs (after the
// format record), atomically.
func (m *metaLog) rewrite(recs []metaRecord) error {
	tmp := m.path + ".tmp"
	buf, err := encodeMetaRecord(nil, metaRecord{Type: recFormat, FormatVersion: metaFormatVersion})
	if err != nil {
		return err
	}
	for _, r := range recs {
		if buf, err = encodeMetaRecord(buf, r); err != nil {
			return err
		}
	}
	if err := writeFileSync(tmp, buf); err != nil {
		return fmt.Errorf("metadata log: rewrite: %w", err)
	}
	if err := os.Rename(tmp, m.path); err != nil {
		return fmt.Errorf("metadata log: rewrite: %w", err)
	}
	if err := syncDir(filepath.Dir(m.path)); err != nil {
		return fmt.Errorf("metadata log: rewrite: %w", err)
	}
	f, err := os.OpenFile(m.path, os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("metadata log: reopen: %w", err)
	}
	m.f.Close()
	m.f = f
	m.records = len(recs) + 1
	return nil
}

func (m *metaLog) close() error {
	if m.f == nil {
		return errors.New("metadata log already closed")
	}
	err := m.f.Close()
	m.f = nil
	return err
}

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

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
