package sdk

import (
	"context"
	"fmt"
	"sync"

	"github.com/runnel-dev/runnel/sdk/internal/pb"
)

// assignorServer serves an Assignor. Assignors are asked once per
// rebalance and may keep no state between calls, but calls are still
// serialized so an implementation need not be safe for concurrent use.
type assignorServer struct {
	pb.UnimplementedAssignorServer
	mu   sync.Mutex // serializes calls into impl
	impl Assignor
}

func (s *assignorServer) Info(context.Context, *pb.InfoRequest) (_ *pb.InfoResponse, err error) {
	defer recovered(&err)
	return &pb.InfoResponse{Name: s.impl.Name()}, nil
}

func (s *assignorServer) Assign(_ context.Context, req *pb.AssignRequest) (resp *pb.AssignResponse, err error) {
	defer recovered(&err)
	in := AssignmentInput{GroupID: req.GroupId, Topics: topicPartitionsFromPB(req.Topics)}
	for _, m := range req.Members {
		in.Members = append(in.Members, GroupMember{
			MemberID:   m.MemberId,
			InstanceID: m.InstanceId,
			RackID:     m.RackId,
			Subscribed: m.Subscribed,
			Owned:      topicPartitionsFromPB(m.Owned),
		})
	}
	out, err := s.assign(in)
	if err != nil {
		return nil, serverError(err)
	}
	resp = &pb.AssignResponse{}
	for id, tps := range out.Members {
		resp.Members = append(resp.Members, &pb.MemberAssignment{MemberId: id, Partitions: topicPartitionsToPB(tps)})
	}
	return resp, nil
}

// assign calls impl. The deferred unlock matters: a panic in impl is
// recovered into an error, and must not leave every later call waiting.
func (s *assignorServer) assign(in AssignmentInput) (Assignment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.impl.Assign(in)
}

// assignorClient is an Assignor served by a plugin process.
type assignorClient struct {
	caller
	rpc  pb.AssignorClient
	name string // asked once, when the client is made
}

var _ Assignor = (*assignorClient)(nil)

func newAssignorClient(c caller, rpc pb.AssignorClient) (Assignor, error) {
	ctx, cancel := c.ctx()
	defer cancel()
	info, err := rpc.Info(ctx, &pb.InfoRequest{})
	if err != nil {
		return nil, clientError("Assignor.Info", err)
	}
	if info.Name == "" {
		return nil, fmt.Errorf("assignor plugin has no name")
	}
	return &assignorClient{caller: c, rpc: rpc, name: info.Name}, nil
}

func (a *assignorClient) Name() string { return a.name }

func (a *assignorClient) Assign(in AssignmentInput) (Assignment, error) {
	req := &pb.AssignRequest{GroupId: in.GroupID, Topics: topicPartitionsToPB(in.Topics)}
	for _, m := range in.Members {
		req.Members = append(req.Members, &pb.GroupMember{
			MemberId:   m.MemberID,
			InstanceId: m.InstanceID,
			RackId:     m.RackID,
			Subscribed: m.Subscribed,
			Owned:      topicPartitionsToPB(m.Owned),
		})
	}
	ctx, cancel := a.ctx()
	defer cancel()
	resp, err := a.rpc.Assign(ctx, req)
	if err != nil {
		return Assignment{}, clientError("Assignor.Assign", err)
	}
	out := Assignment{Members: make(map[string][]TopicPartitions, len(resp.Members))}
	for _, m := range resp.Members {
		if _, dup := out.Members[m.MemberId]; dup {
			return Assignment{}, fmt.Errorf("assignor plugin answered member %q twice", m.MemberId)
		}
		out.Members[m.MemberId] = topicPartitionsFromPB(m.Partitions)
	}
	return out, nil
}

func topicPartitionsToPB(tps []TopicPartitions) []*pb.TopicPartitions {
	out := make([]*pb.TopicPartitions, 0, len(tps))
	for _, tp := range tps {
		out = append(out, &pb.TopicPartitions{Topic: tp.Topic, TopicId: tp.TopicID[:], Partitions: tp.Partitions})
	}
	return out
}

func topicPartitionsFromPB(tps []*pb.TopicPartitions) []TopicPartitions {
	if len(tps) == 0 {
		return nil
	}
	out := make([]TopicPartitions, 0, len(tps))
	for _, tp := range tps {
		t := TopicPartitions{Topic: tp.Topic, Partitions: tp.Partitions}
		copy(t.TopicID[:], tp.TopicId)
		out = append(out, t)
	}
	return out
}
