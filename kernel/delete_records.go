package kernel

import (
	"errors"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/runnel-dev/runnel/segments"
)

// handleDeleteRecords advances log start offsets (Kafka's DeleteRecords):
// records below the requested offset stop being readable and whole
// segments below it are deleted. Offset -1 means the high watermark. The
// new start offsets are checkpointed before the answer, so a restart
// never brings deleted records back.
func (b *Broker) handleDeleteRecords(rc *reqCtx, req *kmsg.DeleteRecordsRequest) response {
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	touched := map[*segments.Dir]bool{}
	for _, rt := range req.Topics {
		t := b.topicByName(rt.Topic)
		st := kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition, sp.LowWatermark = rp.Partition, -1
			switch {
			case t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.partitions):
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case !strings.Contains(t.config().CleanupPolicy, "delete"):
				// As Kafka: records of a compact-only topic are removed
				// by compaction, not by offset.
				sp.ErrorCode = kerr.PolicyViolation.Code
			default:
				p := t.partitions[rp.Partition]
				sp.LowWatermark, sp.ErrorCode = b.deleteRecords(p, rp.Offset)
				if sp.ErrorCode == 0 {
					touched[b.dirs[p.logDir]] = true
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	for d := range touched {
		if err := d.Checkpoint(); err != nil {
			b.log.Error("checkpoint after DeleteRecords failed", "log_dir", d.Path(), "error", err)
			for i := range resp.Topics {
				for j := range resp.Topics[i].Partitions {
					if resp.Topics[i].Partitions[j].ErrorCode == 0 {
						resp.Topics[i].Partitions[j].ErrorCode = kerr.KafkaStorageError.Code
					}
				}
			}
		}
	}
	return response{msg: resp}
}

func (b *Broker) deleteRecords(p *partition, offset int64) (int64, int16) {
	if p.offline.Load() {
		return -1, kerr.KafkaStorageError.Code
	}
	hwm := p.highWatermark()
	if offset == -1 {
		offset = hwm
	}
	if offset < 0 || offset > hwm {
		return -1, kerr.OffsetOutOfRange.Code
	}
	if err := p.log.AdvanceStartOffset(offset); err != nil {
		if errors.Is(err, segments.ErrClosed) {
			return -1, kerr.UnknownTopicOrPartition.Code
		}
		b.log.Error("DeleteRecords failed", "partition", p.String(), "offset", offset, "error", err)
		return -1, kerr.KafkaStorageError.Code
	}
	return p.log.StartOffset(), 0
}

func failDeleteRecords(req *kmsg.DeleteRecordsRequest, code int16) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition, sp.LowWatermark, sp.ErrorCode = rp.Partition, -1, code
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
