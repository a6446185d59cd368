package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/runnel-dev/runnel/segments"
	"github.com/runnel-dev/runnel/segments/compact"
)

const (
	compressionZstd  = 4
	timestampTypeBit = 1 << 3
)

func (b *Broker) handleProduce(rc *reqCtx, req *kmsg.ProduceRequest) response {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	topLevel := int16(0)
	switch {
	case req.Acks != -1 && req.Acks != 0 && req.Acks != 1:
		topLevel = kerr.InvalidRequiredAcks.Code
	case req.TransactionID != nil:
		topLevel = kerr.TransactionalIDAuthorizationFailed.Code
	}
	// pending lists the appends whose acknowledgement waits for an fsync
	// (and, for acks=all, then needs the replicator's commit: see
	// durability.go).
	type pendingAck struct {
		p       *partition
		end     int64
		ti, pi  int
		relaxed bool // durable enough already: only the commit is awaited
	}
	var pending []pendingAck
	for ti, rt := range req.Topics {
		t := b.topicByName(rt.Topic)
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.ProduceResponseTopicPartition, 0, len(rt.Partitions))
		for pi, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition, sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = rp.Partition, -1, -1, -1
			var perr *kerr.Error
			var msg string
			switch {
			case topLevel != 0:
				sp.ErrorCode = topLevel
			case t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.partitions):
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			default:
				p := t.partitions[rp.Partition]
				var end int64
				end, perr, msg = b.produceTo(p, req.Version, rp.Records, &sp)
				if perr == nil {
					switch {
					case p.topic.config().Durable():
						pending = append(pending, pendingAck{p: p, end: end, ti: ti, pi: pi})
					case req.Acks == -1 && !p.committedTo(end):
						// Relaxed mode: appending made it durable
						// enough; the replicator did not commit it
						// (yet, if it reports commits later).
						if b.commitsLater {
							pending = append(pending, pendingAck{p: p, end: end, ti: ti, pi: pi, relaxed: true})
						} else {
							perr, sp.BaseOffset = kerr.NotEnoughReplicasAfterAppend, -1
						}
					}
				}
				if perr != nil {
					sp.ErrorCode = perr.Code
					if msg != "" {
						sp.ErrorMessage = &msg
						b.log.Debug("produce rejected", "partition", p.String(), "client", rc.header.clientID,
							"error", perr.Message, "reason", msg)
					}
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if req.Acks == 0 {
		return response{none: true} // the appends above already asked for their syncs
	}
	if len(pending) == 0 {
		return response{msg: resp}
	}
	var deadline time.Time // for acks=all waiting on a later commit
	if b.commitsLater && req.Acks == -1 {
		deadline = time.Now().Add(time.Duration(req.TimeoutMillis) * time.Millisecond)
	}
	return response{later: func() kmsg.Response {
		for _, w := range pending {
			sp := &resp.Topics[w.ti].Partitions[w.pi]
			if !w.relaxed {
				if err := w.p.waitDurable(w.end); err != nil {
					sp.ErrorCode, sp.BaseOffset = kerr.KafkaStorageError.Code, -1
					if errors.Is(err, segments.ErrClosed) {
						sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
					}
					continue
				}
			}
			if req.Acks == -1 && !w.p.committedTo(w.end) {
				code := kerr.NotEnoughReplicasAfterAppend.Code
				if b.commitsLater {
					if code = b.waitCommitted(w.p, w.end, deadline); code == 0 {
						continue
					}
				}
				sp.ErrorCode, sp.BaseOffset = code, -1
			}
		}
		return resp
	}}
}

// produceTo validates the records of one partition and appends them. It
// returns the offset after the batch, which is what must be durable
// before the produce is acknowledged.
func (b *Broker) produceTo(p *partition, version int16, records []byte, sp *kmsg.ProduceResponseTopicPartition) (int64, *kerr.Error, string) {
	batch, perr, msg := singleBatch(records)
	if perr != nil {
		return 0, perr, msg
	}
	cfg := p.topic.config()
	h, perr, msg := validateProduceBatch(batch, version, cfg.MaxMessageBytes)
	if perr != nil {
		return 0, perr, msg
	}
	if strings.Contains(cfg.CleanupPolicy, "compact") {
		// Compaction keeps the latest record per key, so a record without
		// one could never be compacted; Kafka refuses it, as here. For a
		// compressed batch this is the one place produce decompresses.
		nullKey, err := compact.HasNullKey(batch)
		if err != nil {
			return 0, kerr.CorruptMessage, err.Error()
		}
		if nullKey {
			return 0, kerr.InvalidRecord, "compacted topic cannot accept a record without a key"
		}
	}
	if cfg.MessageTimestampType == "LogAppendTime" {
		now := time.Now().UnixMilli()
		stampLogAppendTime(batch, now)
		sp.LogAppendTime = now
	}
	base, perr := p.appendBatch(batch, h)
	if perr != nil {
		return 0, perr, ""
	}
	sp.BaseOffset = base
	sp.LogStartOffset = p.logStartOffset()
	return base + int64(h.LastOffsetDelta) + 1, nil, ""
}

// singleBatch returns the one record batch of a produce partition. Kafka
// accepts exactly one v2 batch per partition per request.
func singleBatch(records []byte) ([]byte, *kerr.Error, string) {
	if len(records) == 0 {
		return nil, kerr.InvalidRecord, "no record batch"
	}
	var batch []byte
	n := 0
	err := segments.SplitBatches(records, func(bt []byte) bool {
		n++
		batch = bt
		return n < 2
	})
	switch {
	case err != nil:
		return nil, kerr.CorruptMessage, err.Error()
	case n != 1:
		return nil, kerr.InvalidRecord, "a produce request must hold exactly one record batch per partition"
	case len(batch) != len(records):
		return nil, kerr.CorruptMessage, "bytes follow the record batch"
	}
	return batch, nil, ""
}

// validateProduceBatch checks one batch the way Kafka's log validator
// does before anything is written. It never allocates on success.
func validateProduceBatch(batch []byte, version int16, maxMessageBytes int32) (segments.BatchHeader, *kerr.Error, string) {
	if len(batch) > int(maxMessageBytes) {
		return segments.BatchHeader{}, kerr.MessageTooLarge,
			fmt.Sprintf("record batch of %d bytes is larger than max.message.bytes %d", len(batch), maxMessageBytes)
	}
	h, err := segments.ValidateBatch(batch)
	if err != nil {
		if errors.Is(err, segments.ErrUnsupportedMagic) && h.Magic >= 0 && h.Magic < 2 {
			return h, kerr.InvalidRecord, fmt.Sprintf("produce v%d requires record batch magic 2, got %d", version, h.Magic)
		}
		return h, kerr.CorruptMessage, err.Error()
	}
	switch {
	case h.Control():
		return h, kerr.InvalidRecord, "clients may not produce control batches"
	case h.Transactional():
		return h, kerr.InvalidTxnState, "transactional produce is not supported yet"
	case h.Compression() > compressionZstd:
		return h, kerr.CorruptMessage, fmt.Sprintf("unknown compression codec %d", h.Compression())
	case h.Compression() == compressionZstd && version < 7:
		return h, kerr.UnsupportedCompressionType, "zstd needs produce v7 or later"
	case h.ProducerID >= 0 && (h.ProducerEpoch < 0 || h.BaseSequence < 0):
		return h, kerr.InvalidRecord, "idempotent batch without a valid epoch and sequence"
	}
	if h.Compression() == 0 {
		if err := validateRecords(batch[segments.BatchHeaderSize:], h.RecordCount); err != nil {
			return h, kerr.CorruptMessage, err.Error()
		}
		if h.RecordCount != h.LastOffsetDelta+1 {
			return h, kerr.InvalidRecord, "last offset delta does not match the record count"
		}
	}
	return h, nil, ""
}

// stampLogAppendTime marks the batch as carrying log-append time and sets
// its max timestamp to now; both are under the CRC, so it is recomputed.
func stampLogAppendTime(batch []byte, now int64) {
	attrs := binary.BigEndian.Uint16(batch[21:])
	binary.BigEndian.PutUint16(batch[21:], attrs|timestampTypeBit)
	binary.BigEndian.PutUint64(batch[35:], uint64(now))
	binary.BigEndian.PutUint32(batch[17:], crc32.Checksum(batch[21:], castagnoli))
}

func failProduce(req *kmsg.ProduceRequest, code int16) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition, sp.ErrorCode, sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = rp.Partition, code, -1, -1, -1
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
