package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// Raw consumption (consume --raw) sends Fetch requests through a kgo
// client and counts records from the record batch headers, never decoding
// a record. kgo's consumer decodes every record into a kgo.Record, which
// on a small machine costs the client more CPU than the broker spends
// serving the bytes, so a decoding consumer measures the client; the raw
// one measures what the broker and the network deliver, as iperf3 does
// for TCP. Bytes counted are whole batches (record framing included), a
// few percent more than keys and values.

// rawFetchVersion is the last Fetch version that names topics (v13 on
// uses topic ids, which this small reader does not look up).
const rawFetchVersion = 12

// rawOpts caps the client's Fetch version at rawFetchVersion.
func rawOpts() []kgo.Opt {
	v := kversion.Stable()
	v.SetMaxKeyVersion(1, rawFetchVersion)
	return []kgo.Opt{kgo.MaxVersions(v)}
}

// runRaw is run for a raw consumer: starts are the partitions' first
// offsets to read.
func (c *consumer) runRaw(ctx context.Context, cl *kgo.Client, starts map[int32]int64) {
	next := make(map[int32]int64, len(starts))
	for p, o := range starts {
		next[p] = o
	}
	parts := slices.Sorted(func(yield func(int32) bool) {
		for p := range next {
			if !yield(p) {
				return
			}
		}
	})
	for len(parts) > 0 {
		req := kmsg.NewPtrFetchRequest()
		req.Version = rawFetchVersion
		req.ReplicaID = -1
		req.MaxWaitMillis = 500
		req.MinBytes = 1
		req.MaxBytes = fetchMaxBytes
		req.SessionEpoch = -1 // no fetch session
		t := kmsg.NewFetchRequestTopic()
		t.Topic = c.topic
		for _, p := range parts {
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, next[p], fetchMaxPartitionBytes
			rp.LogStartOffset, rp.CurrentLeaderEpoch = -1, -1
			t.Partitions = append(t.Partitions, rp)
		}
		req.Topics = append(req.Topics, t)
		resp, err := req.RequestWith(ctx, cl)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		if err != nil {
			c.tally.fail(fmt.Errorf("fetch: %w", err))
			continue
		}
		if c.countRaw(resp, next) {
			return // the goal is reached
		}
		parts = slices.DeleteFunc(parts, func(p int32) bool {
			_, open := next[p]
			return !open
		})
	}
}

// countRaw tallies one response's batches and moves each partition's next
// offset past them; a partition that reached its end offset leaves next.
// It reports whether the run's goal is reached.
func (c *consumer) countRaw(resp *kmsg.FetchResponse, next map[int32]int64) bool {
	now := c.clock.Now()
	t := c.tally
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if rp.ErrorCode != 0 {
				t.errors++
				if t.firstErr == nil {
					t.firstErr = fmt.Errorf("fetch partition %d: %w", rp.Partition, kerr.ErrorForCode(rp.ErrorCode))
				}
				continue
			}
			end, bounded := c.ends[rp.Partition]
			for b := rp.RecordBatches; len(b) >= batchHeaderBytes; {
				size := 12 + int(int32(binary.BigEndian.Uint32(b[8:])))
				if size < batchHeaderBytes || size > len(b) {
					break // a partial batch at the end of the response
				}
				base := int64(binary.BigEndian.Uint64(b))
				last := base + int64(int32(binary.BigEndian.Uint32(b[23:])))
				n := int64(int32(binary.BigEndian.Uint32(b[57:])))
				b = b[size:]
				if last < next[rp.Partition] {
					continue // before the offset asked for
				}
				next[rp.Partition] = last + 1
				if bounded {
					n = min(n, max(end-base, 0))
				}
				if c.goal != nil {
					n = c.goal.claim(n)
				}
				if n > 0 {
					t.records += n
					t.bytes += int64(size)
					t.last = now
				}
				if c.goal != nil && c.goal.isReached() {
					return true
				}
			}
			if bounded && next[rp.Partition] >= end {
				delete(next, rp.Partition)
				delete(c.ends, rp.Partition)
			}
		}
	}
	return c.goal != nil && c.goal.isReached()
}

// batchHeaderBytes is the size of a record batch header (magic 2), up to
// and including the record count.
const batchHeaderBytes = 61
