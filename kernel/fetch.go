package kernel

import (
	"encoding/binary"
	"errors"
	"reflect"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/runnel-dev/runnel/segments"
)

// fetchTarget is one requested partition, resolved once per request.
type fetchTarget struct {
	topicIdx, partIdx int // position in the request
	p                 *partition
	code              int16 // an error known before reading
}

// handleFetch serves consumers. Fetch sessions (KIP-227) are not kept:
// every answer has session id 0, which tells clients to send full
// requests, as the protocol allows. When less than MinBytes is available
// the request is parked off the request goroutine until data arrives,
// MaxWait passes, the connection closes or the broker shuts down.
func (b *Broker) handleFetch(rc *reqCtx, req *kmsg.FetchRequest) response {
	if req.Version >= 7 && (req.SessionID != 0 || req.SessionEpoch > 0) {
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		if req.SessionID != 0 {
			resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
		} else {
			resp.ErrorCode = kerr.InvalidFetchSessionEpoch.Code
		}
		return response{msg: resp}
	}
	targets := b.resolveFetch(req)
	resp, size, hasErr := b.readFetch(req, targets)
	if size >= int(req.MinBytes) || req.MaxWaitMillis <= 0 || hasErr || len(targets) == 0 || b.isClosing() {
		return response{msg: resp}
	}
	resp.release() // parked: read again when it is answered
	deadline := time.Now().Add(time.Duration(req.MaxWaitMillis) * time.Millisecond)
	return response{later: func() kmsg.Response {
		return b.parkFetch(rc, req, targets, deadline)
	}}
}

// parkFetch waits for data on the requested partitions until MinBytes are
// available or the deadline passes.
func (b *Broker) parkFetch(rc *reqCtx, req *kmsg.FetchRequest, targets []fetchTarget, deadline time.Time) kmsg.Response {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	var connDone <-chan struct{} // nil (never ready) without a connection, as in tests
	if rc.conn != nil {
		connDone = rc.conn.Done()
	}
	cases := make([]reflect.SelectCase, 0, len(targets)+3)
	for {
		// Take the wake-up channels before reading, so an append between
		// the read and the wait is not missed.
		cases = cases[:0]
		cases = append(cases,
			reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timer.C)},
			reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(b.closing)},
			reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(connDone)},
		)
		for _, t := range targets {
			if t.p != nil {
				cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(t.p.dataArrived())})
			}
		}
		resp, size, hasErr := b.readFetch(req, targets)
		if size >= int(req.MinBytes) || hasErr || !time.Now().Before(deadline) {
			return resp
		}
		resp.release()
		if chosen, _, _ := reflect.Select(cases); chosen < 3 {
			resp, _, _ = b.readFetch(req, targets)
			return resp
		}
	}
}

func (b *Broker) resolveFetch(req *kmsg.FetchRequest) []fetchTarget {
	var targets []fetchTarget
	for ti, rt := range req.Topics {
		var t *topic
		missing := kerr.UnknownTopicOrPartition.Code
		if req.Version >= 13 {
			t = b.topicByID(rt.TopicID)
			missing = kerr.UnknownTopicID.Code
		} else {
			t = b.topicByName(rt.Topic)
		}
		for pi, rp := range rt.Partitions {
			ft := fetchTarget{topicIdx: ti, partIdx: pi}
			switch {
			case t == nil:
				ft.code = missing
			case rp.Partition < 0 || int(rp.Partition) >= len(t.partitions):
				ft.code = kerr.UnknownTopicOrPartition.Code
			case rp.CurrentLeaderEpoch > 0:
				// We are leader at epoch 0 of every partition.
				ft.code = kerr.UnknownLeaderEpoch.Code
			default:
				ft.p = t.partitions[rp.Partition]
			}
			targets = append(targets, ft)
		}
	}
	return targets
}

// readFetch builds a response from what the logs hold now. It returns the
// response, the record bytes in it, and whether any partition has an
// error (which answers the request at once, as Kafka does). The record
// bytes are file ranges, held until the response is released (encodeFetch
// does it once they are sent).
func (b *Broker) readFetch(req *kmsg.FetchRequest, targets []fetchTarget) (*fileFetch, int, bool) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	ff := &fileFetch{FetchResponse: resp, ranges: make([][]segments.FileRange, len(targets))}
	budget := int(req.MaxBytes)
	if req.Version < 3 || budget <= 0 {
		budget = 50 << 20
	}
	total := 0
	hasErr := false
	resp.Topics = make([]kmsg.FetchResponseTopic, 0, len(req.Topics))
	for i, ft := range targets {
		rt := &req.Topics[ft.topicIdx]
		rp := &rt.Partitions[ft.partIdx]
		if len(resp.Topics) == 0 || ft.partIdx == 0 {
			st := kmsg.NewFetchResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			resp.Topics = append(resp.Topics, st)
		}
		st := &resp.Topics[len(resp.Topics)-1]
		sp := kmsg.NewFetchResponseTopicPartition()
		sp.Partition = rp.Partition
		sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
		sp.PreferredReadReplica = -1
		code := ft.code
		if code == 0 {
			code = b.readPartition(ft.p, rp, &sp, ff, i, &total, budget)
		}
		if code != 0 {
			sp.ErrorCode = code
			hasErr = true
		}
		if sp.RecordBatches == nil {
			// Kafka sends an empty record set, never a null one; librdkafka
			// rejects null ("invalid MessageSetSize -1").
			sp.RecordBatches = noRecords
		}
		st.Partitions = append(st.Partitions, sp)
	}
	return ff, total, hasErr
}

// readPartition fills one partition's answer, partition i of ff. The
// first partition with data always gets at least one whole batch, even
// past the byte limits, so consumers make progress (KIP-74); later ones
// only get what fits. Records are file ranges where the log's files allow
// it (always, but for a test filesystem), bytes otherwise.
func (b *Broker) readPartition(p *partition, rp *kmsg.FetchRequestTopicPartition, sp *kmsg.FetchResponseTopicPartition, ff *fileFetch, i int, total *int, budget int) int16 {
	if p.deleted.Load() {
		return kerr.UnknownTopicOrPartition.Code
	}
	if p.offline.Load() {
		return kerr.KafkaStorageError.Code
	}
	hwm := p.highWatermark()
	start := p.logStartOffset()
	sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = hwm, hwm, start
	if rp.FetchOffset < start || rp.FetchOffset > hwm {
		return kerr.OffsetOutOfRange.Code
	}
	if rp.FetchOffset == hwm {
		return 0
	}
	limit := int(rp.PartitionMaxBytes)
	if rest := budget - *total; rest < limit {
		limit = rest
	}
	first := *total == 0
	if limit <= 0 && !first {
		return 0
	}
	ranges, release, err := p.log.ReadRangesBefore(nil, rp.FetchOffset, hwm, max(limit, 1))
	if err == nil {
		var n int64
		for _, r := range ranges {
			n += r.Len
		}
		if n == 0 || (n > int64(limit) && !first) {
			release() // nothing durable yet, or the next batch does not fit
			return 0
		}
		ff.ranges[i] = ranges
		ff.releases = append(ff.releases, release)
		*total += int(n)
		return 0
	}
	if !errors.Is(err, errors.ErrUnsupported) {
		return b.readError(p, rp.FetchOffset, err)
	}
	data, err := p.log.AppendRead(nil, rp.FetchOffset, max(limit, 1))
	if err != nil {
		return b.readError(p, rp.FetchOffset, err)
	}
	data = trimToOffset(data, hwm)
	if len(data) > limit && !first {
		return 0 // the next batch does not fit; a later fetch gets it
	}
	sp.RecordBatches = data
	*total += len(data)
	return 0
}

// readError maps a failed log read to the partition's error code.
func (b *Broker) readError(p *partition, offset int64, err error) int16 {
	switch {
	case errors.Is(err, segments.ErrOffsetOutOfRange):
		return kerr.OffsetOutOfRange.Code
	case errors.Is(err, segments.ErrClosed):
		return kerr.UnknownTopicOrPartition.Code
	default:
		b.log.Error("fetch read failed", "partition", p.String(), "offset", offset, "error", err)
		return kerr.KafkaStorageError.Code
	}
}

var noRecords = []byte{}

// trimToOffset cuts whole batches read from the log at the first batch at
// or past end (the high watermark): records not yet durable are not
// shown to consumers.
func trimToOffset(data []byte, end int64) []byte {
	n := 0
	_ = segments.SplitBatches(data, func(batch []byte) bool {
		if int64(binary.BigEndian.Uint64(batch)) >= end {
			return false
		}
		n += len(batch)
		return true
	})
	return data[:n]
}

func failFetch(req *kmsg.FetchRequest, code int16) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	resp.ErrorCode = code
	for _, rt := range req.Topics {
		st := kmsg.NewFetchResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition, sp.ErrorCode = rp.Partition, code
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset, sp.PreferredReadReplica = -1, -1, -1, -1
			sp.RecordBatches = noRecords
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
