package sdk

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/runnel-dev/runnel/sdk/internal/pb"
)

const capStateful = "stateful"

// partitionerServer serves a Partitioner. Partitioners need not be safe
// for concurrent use, so calls are serialized.
type partitionerServer struct {
	pb.UnimplementedPartitionerServer
	mu   sync.Mutex // serializes calls into impl
	impl Partitioner
}

func (s *partitionerServer) Info(context.Context, *pb.InfoRequest) (*pb.InfoResponse, error) {
	resp := &pb.InfoResponse{}
	if _, ok := s.impl.(StatefulPartitioner); ok {
		resp.Capabilities = append(resp.Capabilities, capStateful)
	}
	return resp, nil
}

func (s *partitionerServer) Partition(_ context.Context, req *pb.PartitionRequest) (resp *pb.PartitionResponse, err error) {
	defer recovered(&err)
	if req.NumPartitions <= 0 {
		return nil, serverError(fmt.Errorf("topic %q: %d partitions", req.Topic, req.NumPartitions))
	}
	keys, err := splitKeys(req.KeyData, req.KeyLengths)
	if err != nil {
		return nil, serverError(err)
	}
	dst := make([]int32, len(keys))
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.impl.Partition(req.Topic, req.NumPartitions, keys, dst); err != nil {
		return nil, serverError(err)
	}
	return &pb.PartitionResponse{Partitions: dst}, nil
}

func (s *partitionerServer) OnNewBatch(_ context.Context, req *pb.OnNewBatchRequest) (_ *pb.Empty, err error) {
	defer recovered(&err)
	if sp, ok := s.impl.(StatefulPartitioner); ok {
		// Unlocked by defer: a panic in impl is recovered, and must not
		// leave every later call waiting.
		s.mu.Lock()
		defer s.mu.Unlock()
		sp.OnNewBatch(req.Topic)
	}
	return &pb.Empty{}, nil
}

// partitionerClient is a Partitioner served by a plugin process: one
// round trip per batch of keys.
type partitionerClient struct {
	caller
	rpc pb.PartitionerClient
}

// statefulPartitionerClient is a partitionerClient whose plugin is an
// sdk.StatefulPartitioner.
type statefulPartitionerClient struct {
	*partitionerClient
}

var (
	_ Partitioner         = (*partitionerClient)(nil)
	_ StatefulPartitioner = statefulPartitionerClient{}
)

func newPartitionerClient(c caller, rpc pb.PartitionerClient) (Partitioner, error) {
	ctx, cancel := c.ctx()
	defer cancel()
	info, err := rpc.Info(ctx, &pb.InfoRequest{})
	if err != nil {
		return nil, clientError("Partitioner.Info", err)
	}
	pc := &partitionerClient{caller: c, rpc: rpc}
	if slices.Contains(info.Capabilities, capStateful) {
		return statefulPartitionerClient{pc}, nil
	}
	return pc, nil
}

// maxPartitionRequest bounds the key bytes of one Partition request.
// go-plugin's gRPC server keeps grpc-go's default 4 MiB limit on what it
// receives, and a larger request fails the same way every time, so a big
// batch crosses in several requests instead. Splitting a batch is safe
// for stateful partitioners too: they only move on at OnNewBatch.
const maxPartitionRequest = 2 << 20

func (p *partitionerClient) Partition(topic string, numPartitions int32, keys [][]byte, dst []int32) error {
	if len(dst) != len(keys) {
		return fmt.Errorf("partition: %d keys but room for %d partitions", len(keys), len(dst))
	}
	for start := 0; ; {
		end, size := start, 0
		for end < len(keys) && (end == start || size+len(keys[end]) <= maxPartitionRequest) {
			size += len(keys[end]) + 5 // the bytes and their length
			end++
		}
		if err := p.partition(topic, numPartitions, keys[start:end], dst[start:end]); err != nil {
			return err
		}
		if start = end; start >= len(keys) {
			return nil
		}
	}
}

// partition asks the plugin about one request's worth of keys.
func (p *partitionerClient) partition(topic string, numPartitions int32, keys [][]byte, dst []int32) error {
	req := &pb.PartitionRequest{Topic: topic, NumPartitions: numPartitions}
	req.KeyData, req.KeyLengths = joinKeys(keys)
	ctx, cancel := p.ctx()
	defer cancel()
	resp, err := p.rpc.Partition(ctx, req)
	if err != nil {
		return clientError("Partitioner.Partition", err)
	}
	if len(resp.Partitions) != len(keys) {
		return fmt.Errorf("partitioner plugin answered %d partitions for %d keys", len(resp.Partitions), len(keys))
	}
	// The host indexes its partitions with the answer: a plugin's bug
	// must become an error here, not an index out of range there.
	for _, part := range resp.Partitions {
		if part < 0 || part >= numPartitions {
			return fmt.Errorf("partitioner plugin answered partition %d of a topic with %d", part, numPartitions)
		}
	}
	copy(dst, resp.Partitions)
	return nil
}

// OnNewBatch implements StatefulPartitioner. The interface has no error
// to report a failed call with; the next Partition call reports it.
func (s statefulPartitionerClient) OnNewBatch(topic string) {
	ctx, cancel := s.ctx()
	defer cancel()
	_, _ = s.rpc.OnNewBatch(ctx, &pb.OnNewBatchRequest{Topic: topic})
}

// joinKeys lays keys end to end, with their lengths (-1 for nil).
func joinKeys(keys [][]byte) (data []byte, lengths []int32) {
	n := 0
	for _, k := range keys {
		n += len(k)
	}
	data = make([]byte, 0, n)
	lengths = make([]int32, len(keys))
	for i, k := range keys {
		if k == nil {
			lengths[i] = -1
			continue
		}
		data = append(data, k...)
		lengths[i] = int32(len(k))
	}
	return data, lengths
}

// splitKeys undoes joinKeys; the keys alias data.
func splitKeys(data []byte, lengths []int32) ([][]byte, error) {
	if data == nil {
		data = []byte{} // so an empty key comes out empty, not nil
	}
	keys := make([][]byte, len(lengths))
	off := 0
	for i, l := range lengths {
		switch {
		case l == -1:
			continue // nil: no key
		case l < 0 || int(l) > len(data)-off:
			return nil, fmt.Errorf("key %d: length %d does not fit the %d bytes left", i, l, len(data)-off)
		}
		keys[i] = data[off : off+int(l) : off+int(l)]
		off += int(l)
	}
	if off != len(data) {
		return nil, fmt.Errorf("%d bytes of key data beyond the last key", len(data)-off)
	}
	return keys, nil
}
