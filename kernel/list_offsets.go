package kernel

import (
	"encoding/binary"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/runnel-dev/runnel/segments"
)

// Special timestamps of ListOffsets.
const (
	listLatest       = -1
	listEarliest     = -2
	listMaxTimestamp = -3 // v7+
)

func (b *Broker) handleListOffsets(rc *reqCtx, req *kmsg.ListOffsetsRequest) response {
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, rt := range req.Topics {
		t := b.topicByName(rt.Topic)
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition, sp.Timestamp, sp.Offset, sp.LeaderEpoch = rp.Partition, -1, -1, -1
			switch {
			case t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.partitions):
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case rp.CurrentLeaderEpoch > 0:
				sp.ErrorCode = kerr.UnknownLeaderEpoch.Code
			case rp.Timestamp == listMaxTimestamp && req.Version < 7,
				rp.Timestamp < listMaxTimestamp:
				sp.ErrorCode = kerr.InvalidRequest.Code
			default:
				b.listOffset(t.partitions[rp.Partition], rp.Timestamp, &sp)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return response{msg: resp}
}

func (b *Broker) listOffset(p *partition, ts int64, sp *kmsg.ListOffsetsResponseTopicPartition) {
	if p.offline.Load() {
		sp.ErrorCode = kerr.KafkaStorageError.Code
		return
	}
	sp.LeaderEpoch = 0
	switch ts {
	case listEarliest:
		sp.Offset = p.logStartOffset()
		return
	case listLatest:
		sp.Offset = p.highWatermark()
		return
	}
	off, at, err := b.offsetForTime(p, ts)
	if err != nil {
		b.log.Error("list offsets: scan failed", "partition", p.String(), "error", err)
		sp.ErrorCode, sp.LeaderEpoch = kerr.KafkaStorageError.Code, -1
		return
	}
	sp.Offset, sp.Timestamp = off, at
	if off < 0 {
		sp.LeaderEpoch = -1
	}
}

// offsetForTime finds the first record with a timestamp at or after ts,
// or (for listMaxTimestamp) the record with the largest timestamp. It
// returns offset and timestamp -1 when there is none. The log's time
// index finds the batch; within an uncompressed batch the exact record is
// found, within a compressed one the answer is the batch's first offset
// (at or before the wanted record; for the max timestamp, its last).
func (b *Broker) offsetForTime(p *partition, ts int64) (int64, int64, error) {
	var found segments.BatchHeader
	ok := false
	if ts == listMaxTimestamp {
		found, ok = p.log.MaxTimestamp()
	} else {
		var err error
		if found, ok, err = p.log.FindTimestamp(ts); err != nil {
			return -1, -1, err
		}
	}
	if !ok || found.BaseOffset < p.logStartOffset() {
		return -1, -1, nil
	}
	target := ts
	if ts == listMaxTimestamp {
		target = found.MaxTimestamp
	}
	if found.Compression() != 0 || found.Attributes&timestampTypeBit != 0 {
		if ts == listMaxTimestamp {
			return found.LastOffset(), found.MaxTimestamp, nil
		}
		return found.BaseOffset, found.MaxTimestamp, nil
	}
	batch, err := p.log.AppendRead(nil, found.BaseOffset, found.Size())
	if err != nil {
		return -1, -1, err
	}
	if len(batch) > found.Size() {
		batch = batch[:found.Size()]
	}
	exact := ts == listMaxTimestamp
	if delta, rts, ok := recordAtTime(batch, found.BaseTimestamp, target, exact); ok {
		return found.BaseOffset + int64(delta), rts, nil
	}
	return found.BaseOffset, found.MaxTimestamp, nil
}

// recordAtTime walks an uncompressed batch for the first record whose
// timestamp is >= target (or == target when exact) and returns its
// offset delta and timestamp.
func recordAtTime(batch []byte, baseTS, target int64, exact bool) (int32, int64, bool) {
	if len(batch) < segments.BatchHeaderSize {
		return 0, 0, false
	}
	recs := batch[segments.BatchHeaderSize:]
	count := int32(binary.BigEndian.Uint32(batch[57:]))
	for i := int32(0); i < count; i++ {
		length, n := binary.Varint(recs)
		if n <= 0 || length < 1 || length > int64(len(recs)-n) {
			return 0, 0, false
		}
		body := recs[n+1 : n+int(length)] // skip attributes
		recs = recs[n+int(length):]
		tsDelta, m := binary.Varint(body)
		if m <= 0 {
			return 0, 0, false
		}
		offDelta, k := binary.Varint(body[m:])
		if k <= 0 {
			return 0, 0, false
		}
		rts := baseTS + tsDelta
		if rts == target || (!exact && rts > target) {
			return int32(offDelta), rts, true
		}
	}
	return 0, 0, false
}

func failListOffsets(req *kmsg.ListOffsetsRequest, code int16) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition, sp.ErrorCode, sp.Timestamp, sp.Offset, sp.LeaderEpoch = rp.Partition, code, -1, -1, -1
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
