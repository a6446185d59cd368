package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/runnel-dev/runnel/segments"
)

// __consumer_offsets holds Kafka's own records, so tools that read the
// topic directly (Burrow, kafka-consumer-groups' --describe of old
// brokers, kcat with a decoder) understand it:
//
//	offset commit:   key version 1 (group, topic, partition)
//	                 value version 3 (offset, leader epoch, metadata, commit timestamp)
//	group metadata:  key version 2 (group)
//	                 value version 3 (protocol type, generation, protocol, leader,
//	                 state timestamp, members with instance ids)
//
// A null value is a tombstone: the offset or group is deleted, and
// compaction (cleanup.policy=compact) eventually drops both. Records are
// written uncompressed, one batch per write, through the partition's
// normal append path. At start every partition is read from its start
// and replayed into the groups map; keys of other versions (KIP-848 and
// transaction records written by other brokers) are skipped.
const (
	offsetCommitKeyVersion    = 1
	offsetCommitValueVersion  = 3
	groupMetadataKeyVersion   = 2
	groupMetadataValueVersion = 3
)

// logRecord is one record to write: a nil value is a tombstone.
type logRecord struct {
	key, value []byte
}

func offsetCommitKey(group, topic string, partition int32) []byte {
	k := kmsg.OffsetCommitKey{Version: offsetCommitKeyVersion, Group: group, Topic: topic, Partition: partition}
	return k.AppendTo(nil)
}

func offsetCommitValue(o offsetEntry) []byte {
	v := kmsg.NewOffsetCommitValue()
	v.Version = offsetCommitValueVersion
	v.Offset, v.LeaderEpoch, v.Metadata, v.CommitTimestamp = o.offset, o.leaderEpoch, o.metadata, o.commitMs
	return v.AppendTo(nil)
}

func groupMetadataKey(group string) []byte {
	k := kmsg.GroupMetadataKey{Version: groupMetadataKeyVersion, Group: group}
	return k.AppendTo(nil)
}

// appendRecordBatch appends to dst an uncompressed v2 record batch of
// recs with base offset 0 (the log assigns the real one), no producer,
// and create time now (unix milliseconds).
func appendRecordBatch(dst []byte, recs []logRecord, now int64) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, segments.BatchHeaderSize)...)
	var rec []byte
	for i, r := range recs {
		rec = rec[:0]
		rec = append(rec, 0) // attributes
		rec = binary.AppendVarint(rec, 0)
		rec = binary.AppendVarint(rec, int64(i))
		rec = appendVarBytes(rec, r.key)
		rec = appendVarBytes(rec, r.value)
		rec = binary.AppendVarint(rec, 0) // headers
		dst = binary.AppendVarint(dst, int64(len(rec)))
		dst = append(dst, rec...)
	}
	b := dst[start:]
	binary.BigEndian.PutUint64(b[0:], 0)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[12:], 0) // partition leader epoch
	b[16] = 2                             // magic
	binary.BigEndian.PutUint16(b[21:], 0) // attributes: no compression, create time
	binary.BigEndian.PutUint32(b[23:], uint32(len(recs)-1))
	binary.BigEndian.PutUint64(b[27:], uint64(now))
	binary.BigEndian.PutUint64(b[35:], uint64(now))
	binary.BigEndian.PutUint64(b[43:], ^uint64(0)) // producer id -1
	binary.BigEndian.PutUint16(b[51:], ^uint16(0)) // producer epoch -1
	binary.BigEndian.PutUint32(b[53:], ^uint32(0)) // base sequence -1
	binary.BigEndian.PutUint32(b[57:], uint32(len(recs)))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
	return dst
}

func appendVarBytes(dst, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

var errBadRecord = errors.New("malformed record")

// eachRecord calls fn with the key and value (nil for a null value) of
// every record of an uncompressed batch. The slices alias batch.
func eachRecord(batch []byte, fn func(key, value []byte)) error {
	h, err := segments.ParseBatchHeader(batch)
	if err != nil {
		return err
	}
	recs := batch[segments.BatchHeaderSize:h.Size()]
	for i := int32(0); i < h.RecordCount; i++ {
		length, n := binary.Varint(recs)
		if n <= 0 || length < 0 || length > int64(len(recs)-n) {
			return errBadRecord
		}
		body := recs[n : n+int(length)]
		recs = recs[n+int(length):]
		if len(body) < 1 {
			return errBadRecord
		}
		body = body[1:]
		var ok bool
		if _, body, ok = readVarint(body); !ok {
			return errBadRecord
		}
		if _, body, ok = readVarint(body); !ok {
			return errBadRecord
		}
		var key, value []byte
		if key, body, ok = readVarBytes(body); !ok {
			return errBadRecord
		}
		if value, _, ok = readVarBytes(body); !ok {
			return errBadRecord
		}
		fn(key, value)
	}
	return nil
}

func readVarBytes(b []byte) (v, rest []byte, ok bool) {
	l, rest, ok := readVarint(b)
	if !ok || l < -1 || l > int64(len(rest)) {
		return nil, nil, false
	}
	if l == -1 {
		return nil, rest, true
	}
	return rest[:l:l], rest[l:], true
}

// appendRecords writes recs as one batch to the group's offsets
// partition, atomically. It returns the partition and the offset that
// must be durable before the write may be acknowledged. A batch larger
// than the topic's max.message.bytes is refused with MESSAGE_TOO_LARGE,
// which callers turn into Kafka's answer for their API.
// REQUIRES: the group's mu held, so that a group's writes reach the log
// in the order its state changed.
func (c *coordinator) appendRecords(groupID string, recs []logRecord) (*partition, int64, *kerr.Error) {
	if len(recs) == 0 {
		return nil, 0, nil
	}
	p := c.offsetsPartition(groupID)
	if p == nil {
		return nil, 0, kerr.CoordinatorNotAvailable
	}
	batch := appendRecordBatch(nil, recs, c.clock.Now().UnixMilli())
	if len(batch) > int(p.topic.config().MaxMessageBytes) {
		return nil, 0, kerr.MessageTooLarge
	}
	h, err := segments.ValidateBatch(batch)
	if err != nil {
		panic(fmt.Sprintf("offsets batch does not validate: %v", err)) // a bug in appendRecordBatch
	}
	base, perr := p.appendBatch(batch, h)
	if perr != nil {
		c.log.Error("could not write to "+offsetsTopicName, "partition", p.String(), "group", groupID, "error", perr.Message)
		return nil, 0, kerr.CoordinatorNotAvailable
	}
	return p, base + int64(h.LastOffsetDelta) + 1, nil
}

// appendSplit writes recs like appendRecords, in as many batches as the
// topic's max.message.bytes needs: for tombstones, which need not be
// atomic.
// REQUIRES: the group's mu held.
func (c *coordinator) appendSplit(groupID string, recs []logRecord) (*partition, int64, *kerr.Error) {
	p, end, err := c.appendRecords(groupID, recs)
	if err != kerr.MessageTooLarge || len(recs) < 2 {
		return p, end, err
	}
	half := len(recs) / 2
	if _, _, err := c.appendSplit(groupID, recs[:half]); err != nil {
		return nil, 0, err
	}
	return c.appendSplit(groupID, recs[half:])
}

// storeError is Kafka's answer when storing group metadata failed.
func storeError(err *kerr.Error) *kerr.Error {
	if err == kerr.MessageTooLarge {
		return kerr.UnknownServerError
	}
	return err
}

// waitStored blocks until a write of appendRecords is durable, when the
// offsets topic acknowledges only durable writes (its flush.messages is
// 1, the default). It returns the error to answer with.
func waitStored(p *partition, end int64) *kerr.Error {
	if p == nil || !p.topic.config().Durable() {
		return nil
	}
	if err := p.waitDurable(end); err != nil {
		return kerr.CoordinatorNotAvailable
	}
	return nil
}

// loadChunk is how much of a partition load reads at a time.
const loadChunk = 1 << 20

// load replays every partition of __consumer_offsets into the groups map.
func (c *coordinator) load(t *topic) error {
	for _, p := range t.partitions {
		if p.log == nil {
			c.log.Error("offsets partition offline; its groups are unavailable", "partition", p.String())
			continue
		}
		if err := c.loadPartition(p); err != nil {
			return fmt.Errorf("load %s: %w", p, err)
		}
	}
	now := c.clock.Now()
	for _, g := range c.allGroups() {
		g.mu.Lock()
		g.afterLoad(now)
		g.mu.Unlock()
	}
	return nil
}

func (c *coordinator) loadPartition(p *partition) error {
	offset, end := p.log.StartOffset(), p.log.EndOffset()
	var buf []byte
	for offset < end {
		var err error
		buf, err = p.log.AppendRead(buf[:0], offset, loadChunk)
		if err != nil {
			return err
		}
		if len(buf) == 0 {
			return nil
		}
		next := offset
		err = segments.SplitBatches(buf, func(batch []byte) bool {
			h, herr := segments.ParseBatchHeader(batch)
			if herr != nil {
				return false
			}
			next = h.NextOffset()
			if h.Control() {
				return true
			}
			if h.Compression() != 0 {
				c.log.Warn("skipping a compressed batch in "+offsetsTopicName, "partition", p.String(), "offset", h.BaseOffset)
				return true
			}
			if rerr := eachRecord(batch, func(k, v []byte) { c.replay(k, v) }); rerr != nil {
				c.log.Warn("skipping a malformed batch in "+offsetsTopicName, "partition", p.String(),
					"offset", h.BaseOffset, "error", rerr)
			}
			return true
		})
		if err != nil {
			return err
		}
		if next <= offset {
			return fmt.Errorf("no progress reading at offset %d", offset)
		}
		offset = next
	}
	return nil
}

// replay applies one record of __consumer_offsets. Loading runs before
// the broker serves requests, so it takes the group locks only for form.
func (c *coordinator) replay(key, value []byte) {
	if len(key) < 2 {
		return
	}
	switch version := int16(binary.BigEndian.Uint16(key)); version {
	case 0, 1:
		var k kmsg.OffsetCommitKey
		if err := k.ReadFrom(key); err != nil {
			c.log.Warn("skipping a malformed offset commit key", "error", err)
			return
		}
		tp := topicPartition{k.Topic, k.Partition}
		if value == nil {
			if g := c.lookup(k.Group); g != nil {
				g.mu.Lock()
				delete(g.offsets, tp)
				g.mu.Unlock()
			}
			return
		}
		var v kmsg.OffsetCommitValue
		if err := v.ReadFrom(value); err != nil {
			c.log.Warn("skipping a malformed offset commit value", "group", k.Group, "error", err)
			return
		}
		g := c.lockGroup(k.Group, true)
		e := offsetEntry{offset: v.Offset, leaderEpoch: -1, metadata: v.Metadata, commitMs: v.CommitTimestamp, expireMs: -1}
		if v.Version >= 3 {
			e.leaderEpoch = v.LeaderEpoch
		}
		if v.Version == 1 && v.ExpireTimestamp > 0 {
			e.expireMs = v.ExpireTimestamp
		}
		g.offsets[tp] = e
		g.mu.Unlock()
	case 2:
		var k kmsg.GroupMetadataKey
		if err := k.ReadFrom(key); err != nil {
			c.log.Warn("skipping a malformed group metadata key", "error", err)
			return
		}
		if value == nil {
			if g := c.lookup(k.Group); g != nil {
				g.mu.Lock()
				g.state = stateDead
				g.stopTimers()
				c.removeGroup(g)
				g.mu.Unlock()
			}
			return
		}
		var v kmsg.GroupMetadataValue
		if err := v.ReadFrom(value); err != nil {
			c.log.Warn("skipping a malformed group metadata value", "group", k.Group, "error", err)
			return
		}
		g := c.lockGroup(k.Group, true)
		g.replayMetadata(&v)
		g.mu.Unlock()
	}
}
