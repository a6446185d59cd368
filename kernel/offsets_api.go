package kernel

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Handlers of OffsetCommit, OffsetFetch and OffsetDelete; the logic is in
// offsets.go.

func (b *Broker) handleOffsetCommit(rc *reqCtx, req *kmsg.OffsetCommitRequest) response {
	resp, st := b.coord.commitOffsets(req)
	if st.p == nil {
		return response{msg: resp}
	}
	return response{later: func() kmsg.Response {
		if err := waitStored(st.p, st.end); err != nil {
			for i := range resp.Topics {
				for j := range resp.Topics[i].Partitions {
					if sp := &resp.Topics[i].Partitions[j]; sp.ErrorCode == 0 {
						sp.ErrorCode = err.Code
					}
				}
			}
		}
		return resp
	}}
}

func failOffsetCommit(req *kmsg.OffsetCommitRequest, code int16) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetCommitResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetCommitResponseTopicPartition()
			sp.Partition, sp.ErrorCode = rp.Partition, code
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

func (b *Broker) handleOffsetFetch(rc *reqCtx, req *kmsg.OffsetFetchRequest) response {
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if req.Version >= 8 {
		for _, rg := range req.Groups {
			og := kmsg.NewOffsetFetchResponseGroup()
			og.Group = rg.Group
			var memberID *string
			if req.Version >= 9 {
				memberID = rg.MemberID
			}
			topics, err := b.coord.fetchOffsets(rg.Group, memberID, rg.MemberEpoch, rg.Topics)
			if err != nil {
				og.ErrorCode = err.Code
			} else {
				og.Topics = topics
			}
			resp.Groups = append(resp.Groups, og)
		}
		return response{msg: resp}
	}
	var topics []kmsg.OffsetFetchRequestGroupTopic
	if req.Topics != nil {
		topics = make([]kmsg.OffsetFetchRequestGroupTopic, 0, len(req.Topics))
		for _, rt := range req.Topics {
			topics = append(topics, kmsg.OffsetFetchRequestGroupTopic{Topic: rt.Topic, Partitions: rt.Partitions})
		}
	}
	got, err := b.coord.fetchOffsets(req.Group, nil, -1, topics)
	if err != nil {
		if req.Version >= 2 {
			resp.ErrorCode = err.Code
			return response{msg: resp}
		}
		// v1 has only per-partition errors.
		for _, rt := range req.Topics {
			st := kmsg.NewOffsetFetchResponseTopic()
			st.Topic = rt.Topic
			for _, p := range rt.Partitions {
				sp := kmsg.NewOffsetFetchResponseTopicPartition()
				sp.Partition, sp.Offset, sp.ErrorCode = p, -1, err.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return response{msg: resp}
	}
	for _, gt := range got {
		st := kmsg.NewOffsetFetchResponseTopic()
		st.Topic = gt.Topic
		for _, gp := range gt.Partitions {
			sp := kmsg.NewOffsetFetchResponseTopicPartition()
			sp.Partition, sp.Offset, sp.LeaderEpoch, sp.Metadata, sp.ErrorCode = gp.Partition, gp.Offset, gp.LeaderEpoch, gp.Metadata, gp.ErrorCode
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return response{msg: resp}
}

func failOffsetFetch(req *kmsg.OffsetFetchRequest, code int16) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	resp.ErrorCode = code
	for _, rg := range req.Groups {
		og := kmsg.NewOffsetFetchResponseGroup()
		og.Group, og.ErrorCode = rg.Group, code
		resp.Groups = append(resp.Groups, og)
	}
	if req.Version < 2 {
		for _, rt := range req.Topics {
			st := kmsg.NewOffsetFetchResponseTopic()
			st.Topic = rt.Topic
			for _, p := range rt.Partitions {
				sp := kmsg.NewOffsetFetchResponseTopicPartition()
				sp.Partition, sp.Offset, sp.ErrorCode = p, -1, code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
	}
	return resp
}

func (b *Broker) handleOffsetDelete(rc *reqCtx, req *kmsg.OffsetDeleteRequest) response {
	resp, st := b.coord.deleteOffsets(req)
	if st.p == nil {
		return response{msg: resp}
	}
	return response{later: func() kmsg.Response {
		if err := waitStored(st.p, st.end); err != nil {
			resp.ErrorCode, resp.Topics = err.Code, nil
		}
		return resp
	}}
}

func failOffsetDelete(req *kmsg.OffsetDeleteRequest, code int16) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	resp.ErrorCode = code
	return resp
}
