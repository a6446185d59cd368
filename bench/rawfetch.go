package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Raw consumption (consume --raw) sends plain Fetch requests on
// connections of its own and reads each response as a stream: it walks
// the response's fields, keeps only each record batch's 61-byte header,
// and reads past the rest of the batch through a small buffer, never
// decoding a record and never holding a whole response. kgo's consumer
// decodes every record into a kgo.Record, and even kgo's plain request
// path reads each (here 16 MiB) response into a fresh buffer before it
// can be parsed; on a small machine either costs the client more CPU and
// memory bandwidth than the broker spends serving the bytes, so such a
// client measures itself. The raw reader measures what the broker and the
// network deliver, as iperf3 does for TCP. Bytes counted are whole batches
// (record framing included), a few percent more than keys and values.
//
// The kgo client is used only to find each partition's leader.

// rawFetchVersion is the last Fetch version that names topics (v13 on
// uses topic ids, which this small reader does not look up).
const rawFetchVersion = 12

// rawReadBufferBytes is the raw reader's buffer: small enough to stay in
// the CPU's cache, as iperf3's 128 KiB buffer does.
const rawReadBufferBytes = 128 << 10

// runRaw is run for a raw consumer: starts are the partitions' first
// offsets to read. Partitions are read from their leaders, one connection
// and goroutine per leader.
func (c *consumer) runRaw(ctx context.Context, cl *kgo.Client, starts map[int32]int64) {
	byLeader, err := rawLeaders(ctx, cl, c.topic, starts)
	if err != nil {
		if ctx.Err() == nil {
			c.tally.fail(err)
		}
		return
	}
	var ends sync.Mutex // guards c.ends, shared by the leaders' goroutines
	var wg sync.WaitGroup
	for addr, parts := range byLeader {
		l := &rawLeader{c: c, addr: addr, next: map[int32]int64{}, ends: map[int32]int64{}}
		for _, p := range parts {
			l.next[p] = starts[p]
			ends.Lock()
			if e, ok := c.ends[p]; ok {
				l.ends[p] = e
			}
			ends.Unlock()
		}
		wg.Go(func() {
			l.run(ctx)
			ends.Lock()
			for _, p := range parts {
				if _, open := l.ends[p]; !open {
					delete(c.ends, p)
				}
			}
			ends.Unlock()
		})
	}
	wg.Wait()
}

// rawLeaders groups the partitions of starts by their leader's address.
func rawLeaders(ctx context.Context, cl *kgo.Client, topic string, starts map[int32]int64) (map[string][]int32, error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("metadata for raw fetch: %w", err)
	}
	addrs := map[int32]string{}
	for _, b := range resp.Brokers {
		addrs[b.NodeID] = net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
	}
	leaders := map[int32]int32{}
	for _, t := range resp.Topics {
		if t.Topic == nil || *t.Topic != topic {
			continue
		}
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return nil, fmt.Errorf("metadata for raw fetch: topic %s: %w", topic, err)
		}
		for _, p := range t.Partitions {
			leaders[p.Partition] = p.Leader
		}
	}
	out := map[string][]int32{}
	for p := range starts {
		leader, ok := leaders[p]
		addr, known := addrs[leader]
		if !ok || !known {
			return nil, fmt.Errorf("metadata for raw fetch: partition %d of %s has no known leader", p, topic)
		}
		out[addr] = append(out[addr], p)
	}
	for _, parts := range out {
		slices.Sort(parts)
	}
	return out, nil
}

// rawLeader reads some of a consumer's partitions from their leader.
type rawLeader struct {
	c    *consumer
	addr string
	next map[int32]int64 // partitions still read → next offset
	ends map[int32]int64 // partitions still to finish → end offset (no goal)
}

func (l *rawLeader) run(ctx context.Context) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", l.addr)
	if err != nil {
		if ctx.Err() == nil {
			l.c.tally.fail(fmt.Errorf("raw fetch: %w", err))
		}
		return
	}
	defer conn.Close()
	// Unblock reads and writes when the run ends.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	r := newStreamReader(bufio.NewReaderSize(conn, rawReadBufferBytes))
	var request []byte
	for corr := int32(1); len(l.next) > 0; corr++ {
		request = l.appendRequest(request[:0], corr)
		if _, err := conn.Write(request); err != nil {
			if ctx.Err() == nil {
				l.c.tally.fail(fmt.Errorf("raw fetch: sending to %s: %w", l.addr, err))
			}
			return
		}
		done, err := l.readResponse(r, corr)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			// The connection is out of step now; this reader is done.
			l.c.tally.fail(fmt.Errorf("raw fetch from %s: %w", l.addr, err))
			return
		}
		if done {
			return
		}
	}
}

// appendRequest appends a whole Fetch request frame (size, header v2,
// body) for the partitions still read.
func (l *rawLeader) appendRequest(b []byte, corr int32) []byte {
	req := kmsg.NewPtrFetchRequest()
	req.Version = rawFetchVersion
	req.ReplicaID = -1
	req.MaxWaitMillis = 500
	req.MinBytes = 1
	req.MaxBytes = fetchMaxBytes
	req.SessionEpoch = -1 // no fetch session
	t := kmsg.NewFetchRequestTopic()
	t.Topic = l.c.topic
	for _, p := range slices.Sorted(maps.Keys(l.next)) {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, l.next[p], fetchMaxPartitionBytes
		rp.LogStartOffset, rp.CurrentLeaderEpoch = -1, -1
		t.Partitions = append(t.Partitions, rp)
	}
	req.Topics = append(req.Topics, t)

	start := len(b)
	b = append(b, 0, 0, 0, 0) // size, set below
	b = binary.BigEndian.AppendUint16(b, uint16(req.Key()))
	b = binary.BigEndian.AppendUint16(b, uint16(req.Version))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = binary.BigEndian.AppendUint16(b, uint16(len(clientID)))
	b = append(b, clientID...)
	b = append(b, 0) // no tagged fields in the header
	b = req.AppendTo(b)
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}

// readResponse reads one Fetch response (v12) from r, tallying its
// batches. It reports whether the run's goal is reached or every
// partition got to its end.
func (l *rawLeader) readResponse(r *streamReader, corr int32) (done bool, err error) {
	if err := r.startFrame(); err != nil {
		return false, err
	}
	if got := r.int32(); r.err == nil && got != corr {
		return false, fmt.Errorf("response to request %d answers %d", corr, got)
	}
	r.skipTags()
	r.skip(4) // throttle
	if code := r.int16(); r.err == nil && code != 0 {
		return false, fmt.Errorf("fetch: %w", kerr.ErrorForCode(code))
	}
	r.skip(4) // session id
	for range r.compactLen() {
		if r.err != nil {
			break
		}
		topic := r.compactString()
		for range r.compactLen() {
			if r.err != nil {
				break
			}
			l.readPartition(r, topic)
		}
		r.skipTags()
	}
	r.skipTags()
	if err := r.endFrame(); err != nil {
		return false, err
	}
	if l.c.goal != nil {
		return l.c.goal.isReached(), nil
	}
	return len(l.next) == 0, nil
}

// readPartition reads one partition of a Fetch response and tallies its
// whole batches.
func (l *rawLeader) readPartition(r *streamReader, topic string) {
	p := r.int32()
	code := r.int16()
	r.skip(8 + 8 + 8)          // high watermark, last stable offset, log start offset
	for range r.compactLen() { // aborted transactions
		if r.err != nil {
			return
		}
		r.skip(8 + 8)
		r.skipTags()
	}
	r.skip(4) // preferred read replica
	records := r.compactLen()
	if r.err != nil {
		return
	}
	next, ours := l.next[p]
	if topic != l.c.topic || !ours {
		r.skip(records)
		r.skipTags()
		return
	}
	if code != 0 {
		l.c.tally.fail(fmt.Errorf("fetch partition %d: %w", p, kerr.ErrorForCode(code)))
		r.skip(records)
		r.skipTags()
		return
	}
	end, bounded := l.ends[p]
	var hdr [batchHeaderBytes]byte
	for records >= batchHeaderBytes && r.err == nil {
		r.read(hdr[:])
		records -= batchHeaderBytes
		size := 12 + int(int32(binary.BigEndian.Uint32(hdr[8:])))
		if size < batchHeaderBytes || size-batchHeaderBytes > records {
			break // a partial batch at the end of the response
		}
		r.skip(size - batchHeaderBytes)
		records -= size - batchHeaderBytes
		base := int64(binary.BigEndian.Uint64(hdr[:]))
		last := base + int64(int32(binary.BigEndian.Uint32(hdr[23:])))
		if last < next {
			continue // before the offset asked for
		}
		next = last + 1
		n := int64(int32(binary.BigEndian.Uint32(hdr[57:])))
		if bounded {
			n = min(n, max(end-base, 0))
		}
		if l.c.countBatch(n, int64(size)) {
			break // the goal is reached: the rest is not counted
		}
	}
	r.skip(records)
	r.skipTags()
	l.next[p] = next
	if bounded && next >= end {
		delete(l.next, p)
		delete(l.ends, p)
	}
}

// countBatch tallies n records of one batch of size bytes, within the
// run's goal. It reports whether the goal is reached.
func (c *consumer) countBatch(n, size int64) bool {
	if c.goal != nil {
		n = c.goal.claim(n)
	}
	if n > 0 {
		now := c.clock.Now()
		t := c.tally
		t.mu.Lock()
		t.records += n
		t.bytes += size
		t.last = now
		t.mu.Unlock()
	}
	return c.goal != nil && c.goal.isReached()
}

// batchHeaderBytes is the size of a record batch header (magic 2), up to
// and including the record count.
const batchHeaderBytes = 61
