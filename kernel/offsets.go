package kernel

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Committed offsets. A commit is validated against the group (generation
// and member for classic groups, member epoch for KIP-848 groups),
// applied to the group's offsets map and appended to __consumer_offsets
// under the group's lock, so the log holds a group's changes in the order
// they were made; the OffsetCommit answer waits until the write is
// durable. A commit is therefore visible to OffsetFetch a moment before
// it is acknowledged: a crash in between can only make a consumer re-read
// records, never skip them.

// maxOffsetMetadata is Kafka's offset.metadata.max.bytes default.
const maxOffsetMetadata = 4096

// stored is where a write must be durable before its answer goes out.
type stored struct {
	p   *partition
	end int64
}

// commitOffsets applies an OffsetCommit. It returns the response, whose
// successful partitions must wait for st to be durable.
func (c *coordinator) commitOffsets(req *kmsg.OffsetCommitRequest) (*kmsg.OffsetCommitResponse, stored) {
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	instanceID := ""
	if req.InstanceID != nil {
		instanceID = *req.InstanceID
	}
	// Per-partition checks first, as Kafka does: they stand whatever the
	// group says.
	codes := make([][]int16, len(req.Topics))
	valid := 0
	for i, rt := range req.Topics {
		t := c.b.topicByName(rt.Topic)
		codes[i] = make([]int16, len(rt.Partitions))
		for j, rp := range rt.Partitions {
			switch {
			case t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.partitions):
				codes[i][j] = kerr.UnknownTopicOrPartition.Code
			case rp.Metadata != nil && len(*rp.Metadata) > maxOffsetMetadata:
				codes[i][j] = kerr.OffsetMetadataTooLarge.Code
			default:
				valid++
			}
		}
	}
	build := func(groupErr *kerr.Error) *kmsg.OffsetCommitResponse {
		for i, rt := range req.Topics {
			st := kmsg.NewOffsetCommitResponseTopic()
			st.Topic = rt.Topic
			for j, rp := range rt.Partitions {
				sp := kmsg.NewOffsetCommitResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, codes[i][j]
				if sp.ErrorCode == 0 && groupErr != nil {
					sp.ErrorCode = groupErr.Code
				}
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp
	}
	if valid == 0 {
		return build(nil), stored{}
	}
	if err := c.available(req.Group); err != nil {
		return build(err), stored{}
	}
	// A commit with no generation comes from a consumer that manages its
	// partitions itself (or an admin tool): it may create the group.
	simple := req.Generation < 0 && req.MemberID == "" && instanceID == ""
	g := c.lockGroup(req.Group, req.Generation < 0)
	if g == nil {
		return build(kerr.IllegalGeneration), stored{}
	}
	defer g.mu.Unlock()
	if err := g.validateCommit(req, instanceID, simple); err != nil {
		return build(err), stored{}
	}
	now := c.clock.Now().UnixMilli()
	var recs []logRecord
	applied := make(map[topicPartition]offsetEntry, valid)
	for i, rt := range req.Topics {
		for j, rp := range rt.Partitions {
			if codes[i][j] != 0 {
				continue
			}
			e := offsetEntry{offset: rp.Offset, leaderEpoch: rp.LeaderEpoch, commitMs: now, expireMs: -1}
			if req.Version < 6 {
				e.leaderEpoch = -1
			}
			if rp.Metadata != nil {
				e.metadata = *rp.Metadata
			}
			if req.Version >= 2 && req.Version <= 4 && req.RetentionTimeMillis > 0 {
				e.expireMs = now + req.RetentionTimeMillis
			}
			tp := topicPartition{rt.Topic, rp.Partition}
			applied[tp] = e
			recs = append(recs, logRecord{key: offsetCommitKey(g.id, tp.topic, tp.partition), value: offsetCommitValue(e)})
		}
	}
	p, end, err := c.appendRecords(g.id, recs)
	if err == kerr.MessageTooLarge {
		err = kerr.InvalidCommitOffsetSize
	}
	if err != nil {
		return build(err), stored{}
	}
	for tp, e := range applied {
		g.offsets[tp] = e
	}
	return build(nil), stored{p, end}
}

// validateCommit checks that the committer may commit to g.
// REQUIRES: g.mu held.
func (g *group) validateCommit(req *kmsg.OffsetCommitRequest, instanceID string, simple bool) *kerr.Error {
	if g.kind == kindConsumer {
		cg := g.consumer
		if req.Generation < 0 && len(cg.members) == 0 {
			return nil
		}
		m := cg.members[req.MemberID]
		if m == nil {
			return kerr.UnknownMemberID
		}
		if req.Version < 9 {
			return kerr.UnsupportedVersion // KIP-848 members commit with v9+
		}
		return m.checkCommitEpoch(req.Generation)
	}
	cl := &g.classic
	if !simple {
		if err := g.validateMember(req.MemberID, instanceID); err != nil {
			return err
		}
		if req.Generation != cl.generation {
			return kerr.IllegalGeneration
		}
	} else if len(cl.members) > 0 {
		return kerr.UnknownMemberID // only members commit to a group that has some
	}
	switch g.state {
	case stateCompletingRebalance:
		return kerr.RebalanceInProgress
	case stateStable, statePreparingRebalance:
		// A commit is as good as a heartbeat.
		if m := cl.members[req.MemberID]; m != nil {
			g.scheduleHeartbeat(m)
		}
	}
	return nil
}

// fetchOffsets answers one group of an OffsetFetch: the committed offset
// of each requested partition (-1 when none), or every committed offset
// when topics is nil. memberID and epoch, from v9, are checked against a
// KIP-848 group.
func (c *coordinator) fetchOffsets(groupID string, memberID *string, epoch int32, topics []kmsg.OffsetFetchRequestGroupTopic) ([]kmsg.OffsetFetchResponseGroupTopic, *kerr.Error) {
	if err := c.available(groupID); err != nil {
		return nil, err
	}
	g := c.lockGroup(groupID, false)
	var offsets map[topicPartition]offsetEntry
	if g != nil {
		if memberID != nil && g.kind == kindConsumer {
			m := g.consumer.members[*memberID]
			switch {
			case m == nil:
				g.mu.Unlock()
				return nil, kerr.UnknownMemberID
			case epoch > m.epoch:
				g.mu.Unlock()
				return nil, kerr.StaleMemberEpoch
			}
		}
		offsets = make(map[topicPartition]offsetEntry, len(g.offsets))
		for tp, e := range g.offsets {
			offsets[tp] = e
		}
		g.mu.Unlock()
	}
	part := func(p int32, e offsetEntry, ok bool) kmsg.OffsetFetchResponseGroupTopicPartition {
		sp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
		sp.Partition, sp.Offset, sp.LeaderEpoch = p, -1, -1
		empty := ""
		sp.Metadata = &empty
		if ok {
			md := e.metadata
			sp.Offset, sp.LeaderEpoch, sp.Metadata = e.offset, e.leaderEpoch, &md
		}
		return sp
	}
	var out []kmsg.OffsetFetchResponseGroupTopic
	if topics == nil {
		for _, tp := range sortedTopicPartitions(offsets) {
			if len(out) == 0 || out[len(out)-1].Topic != tp.topic {
				st := kmsg.NewOffsetFetchResponseGroupTopic()
				st.Topic = tp.topic
				out = append(out, st)
			}
			st := &out[len(out)-1]
			st.Partitions = append(st.Partitions, part(tp.partition, offsets[tp], true))
		}
		return out, nil
	}
	for _, rt := range topics {
		st := kmsg.NewOffsetFetchResponseGroupTopic()
		st.Topic = rt.Topic
		for _, p := range rt.Partitions {
			e, ok := offsets[topicPartition{rt.Topic, p}]
			st.Partitions = append(st.Partitions, part(p, e, ok))
		}
		out = append(out, st)
	}
	return out, nil
}

// deleteOffsets handles an OffsetDelete: the offsets of partitions no
// member consumes are removed (tombstoned).
func (c *coordinator) deleteOffsets(req *kmsg.OffsetDeleteRequest) (*kmsg.OffsetDeleteResponse, stored) {
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	if err := c.available(req.Group); err != nil {
		resp.ErrorCode = err.Code
		return resp, stored{}
	}
	g := c.lockGroup(req.Group, false)
	if g == nil {
		resp.ErrorCode = kerr.GroupIDNotFound.Code
		return resp, stored{}
	}
	defer g.mu.Unlock()
	var subscribed map[string]bool
	switch {
	case g.kind == kindConsumer:
		subscribed = g.consumer.subscribedTopics()
	case g.classic.protocolType == "consumer":
		subscribed = g.classic.subscribedTopics()
	case !g.empty():
		resp.ErrorCode = kerr.NonEmptyGroup.Code
		return resp, stored{}
	}
	var recs []logRecord
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetDeleteResponseTopic()
		st.Topic = rt.Topic
		t := c.b.topicByName(rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetDeleteResponseTopicPartition()
			sp.Partition = rp.Partition
			tp := topicPartition{rt.Topic, rp.Partition}
			switch {
			case t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.partitions):
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case subscribed[rt.Topic]:
				sp.ErrorCode = kerr.GroupSubscribedToTopic.Code
			default:
				if _, ok := g.offsets[tp]; ok {
					delete(g.offsets, tp)
					recs = append(recs, logRecord{key: offsetCommitKey(g.id, tp.topic, tp.partition)})
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	p, end, err := c.appendSplit(g.id, recs)
	if err != nil {
		resp.ErrorCode = err.Code
		resp.Topics = nil
		return resp, stored{}
	}
	return resp, stored{p, end}
}

// subscribedTopics is the union of the topics the members' consumer
// protocol metadata names, for the selected protocol.
// REQUIRES: the group's mu held.
func (cl *classicGroup) subscribedTopics() map[string]bool {
	topics := map[string]bool{}
	for _, m := range cl.members {
		md := m.metadata(cl.protocol)
		if md == nil && len(m.protocols) > 0 {
			md = m.protocols[0].Metadata
		}
		var cm kmsg.ConsumerMemberMetadata
		if cm.ReadFrom(md) != nil {
			continue
		}
		for _, t := range cm.Topics {
			topics[t] = true
		}
	}
	return topics
}

// deleteGroup deletes an empty group with its offsets.
func (c *coordinator) deleteGroup(id string) (*kerr.Error, stored) {
	if err := c.available(id); err != nil {
		return err, stored{}
	}
	g := c.lockGroup(id, false)
	if g == nil {
		return kerr.GroupIDNotFound, stored{}
	}
	defer g.mu.Unlock()
	if !g.empty() || (g.kind == kindClassic && g.state != stateEmpty) {
		return kerr.NonEmptyGroup, stored{}
	}
	recs := make([]logRecord, 0, len(g.offsets)+1)
	for _, tp := range sortedTopicPartitions(g.offsets) {
		recs = append(recs, logRecord{key: offsetCommitKey(g.id, tp.topic, tp.partition)})
	}
	recs = append(recs, logRecord{key: groupMetadataKey(g.id)})
	p, end, err := c.appendSplit(g.id, recs)
	if err != nil {
		return err, stored{}
	}
	clear(g.offsets)
	g.stopTimers()
	g.transition(stateDead)
	c.removeGroup(g)
	c.log.Info("deleted group", "group", id)
	return nil, stored{p, end}
}

// expireOffsets removes the offsets past retention (Kafka's rules,
// KIP-211): a group with members keeps the offsets of the topics they
// consume; an empty group loses all its offsets once it has been empty
// for offsets.retention.minutes; a group without a protocol (offsets
// stored by simple consumers) loses each offset that long after its
// commit. Offsets of deleted topics go too. An empty group left without
// offsets is deleted.
func (c *coordinator) expireOffsets() {
	retention := time.Duration(c.cfg.OffsetsRetentionMinutes) * time.Minute
	for _, g := range c.allGroups() {
		g.mu.Lock()
		if g.state != stateDead && c.available(g.id) == nil {
			g.expireOffsets(retention)
		}
		g.mu.Unlock()
	}
}

// REQUIRES: g.mu held.
func (g *group) expireOffsets(retention time.Duration) {
	now := g.c.clock.Now()
	nowMs := now.UnixMilli()
	var keep map[string]bool
	var base func(e offsetEntry) int64
	switch {
	case g.empty() && (g.kind == kindConsumer || g.classic.protocolType != ""):
		since := g.stateSince.UnixMilli()
		base = func(offsetEntry) int64 { return since }
	case g.kind == kindConsumer:
		keep = g.consumer.subscribedTopics()
		base = func(e offsetEntry) int64 { return e.commitMs }
	case g.classic.protocolType == "":
		base = func(e offsetEntry) int64 { return e.commitMs }
	case g.classic.protocolType == "consumer" && g.state == stateStable:
		keep = g.classic.subscribedTopics()
		base = func(e offsetEntry) int64 { return e.commitMs }
	default:
		return
	}
	var recs []logRecord
	for _, tp := range sortedTopicPartitions(g.offsets) {
		e := g.offsets[tp]
		if keep[tp.topic] && g.c.b.topicByName(tp.topic) != nil {
			continue
		}
		expired := nowMs-base(e) >= retention.Milliseconds()
		if e.expireMs > 0 {
			expired = nowMs >= e.expireMs
		}
		if g.c.b.topicByName(tp.topic) == nil {
			expired = true // the topic was deleted
		}
		if expired {
			delete(g.offsets, tp)
			recs = append(recs, logRecord{key: offsetCommitKey(g.id, tp.topic, tp.partition)})
		}
	}
	deleteGroup := g.empty() && len(g.offsets) == 0 && (g.kind == kindConsumer || g.state == stateEmpty)
	if deleteGroup {
		recs = append(recs, logRecord{key: groupMetadataKey(g.id)})
	}
	if len(recs) == 0 {
		return
	}
	if _, _, err := g.c.appendSplit(g.id, recs); err != nil {
		return
	}
	g.c.log.Info("expired committed offsets", "group", g.id, "records", len(recs))
	if deleteGroup {
		g.stopTimers()
		g.transition(stateDead)
		g.c.removeGroup(g)
	}
}
