package kernel

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/runnel-dev/runnel/sdk"
)

// FuzzGroupCoordinator drives the coordinator with arbitrary sequences of
// group requests from a handful of members (joins, syncs, heartbeats,
// leaves, commits, KIP-848 heartbeats, deletes) and of clock jumps, and
// checks the groups' invariants after every step. Requests are well
// formed (the wire decoders have their own fuzzers); their contents are
// not: stale generations, unknown members, strange timeouts, members
// that never come back. Nothing may panic, block, or break an invariant.
func FuzzGroupCoordinator(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0})
	f.Add([]byte{0, 1, 1, 0, 0, 2, 1, 0, 1, 1, 2, 0, 9, 1, 0, 0, 3, 1, 0, 0, 8, 0, 0, 0})
	f.Add([]byte{10, 0, 0, 0, 10, 1, 0, 0, 10, 0, 1, 0, 10, 1, 1, 0, 9, 0, 0, 0, 11, 0, 0, 0})
	f.Add([]byte{0, 2, 3, 1, 0, 3, 3, 1, 9, 0, 0, 0, 1, 2, 0, 0, 4, 2, 0, 0, 12, 0, 0, 0, 13, 0, 0, 0})
	cfg := testConfig(f.TempDir())
	cfg.OffsetsTopicNumPartitions = 1
	cfg.GroupInitialRebalanceDelayMs = 0
	b := openTestBroker(f, cfg)
	f.Cleanup(func() { _ = b.Close(context.Background()) })
	if _, terr := b.createTopic("t", 3, -1, nil, false); terr != nil {
		f.Fatal(terr.msg)
	}
	if _, terr := b.createTopic("u", 2, -1, nil, false); terr != nil {
		f.Fatal(terr.msg)
	}
	clock := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	b.coord.stop()
	f.Fuzz(func(t *testing.T, ops []byte) {
		// Not started: loading what earlier inputs wrote would only slow
		// the fuzzer down. Groups start empty each time.
		c := newCoordinator(b, []sdk.Assignor{testAssignor{"uniform"}, testAssignor{"range"}}, clock)
		defer c.stop()
		ids := map[byte]string{}
		gens := map[byte]int32{}
		epochs := map[byte]int32{}
		var parked []<-chan *kmsg.JoinGroupResponse
		var parkedSync []<-chan *kmsg.SyncGroupResponse
		for len(ops) >= 4 {
			op, a, x, y := ops[0]%14, ops[1]%4, ops[2], ops[3]
			ops = ops[4:]
			group := "g"
			if x&0x80 != 0 {
				group = "h"
			}
			switch op {
			case 0, 10: // JoinGroup
				req := kmsg.NewPtrJoinGroupRequest()
				req.Version = int16(x % 10)
				req.Group, req.MemberID, req.ProtocolType = group, ids[a], "consumer"
				req.SessionTimeoutMillis = 6000 + int32(y%4)*4000
				req.RebalanceTimeoutMillis = 1000 + int32(y/4%4)*5000
				if x&0x40 != 0 {
					inst := fmt.Sprint("i", a)
					req.InstanceID = &inst
				}
				proto := []string{"range", "sticky", "rr"}[y%3]
				req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: proto, Metadata: []byte{a, y}}, {Name: "range"}}
				ch := c.joinGroup(req, clientInfo{clientID: fmt.Sprint("c", a)})
				select {
				case r := <-ch:
					if r.MemberID != "" {
						ids[a] = r.MemberID
					}
					gens[a] = r.Generation
				default:
					parked = append(parked, ch)
				}
			case 1: // SyncGroup
				req := kmsg.NewPtrSyncGroupRequest()
				req.Version = int16(x % 6)
				req.Group, req.MemberID, req.Generation = group, ids[a], gens[a]+int32(y%3)-1
				for m, id := range ids {
					if y&4 != 0 {
						req.GroupAssignment = append(req.GroupAssignment, kmsg.SyncGroupRequestGroupAssignment{MemberID: id, MemberAssignment: []byte{m}})
					}
				}
				req.GroupAssignment = append(req.GroupAssignment, kmsg.SyncGroupRequestGroupAssignment{MemberID: "stranger"})
				ch := c.syncGroup(req)
				select {
				case <-ch:
				default:
					parkedSync = append(parkedSync, ch)
				}
			case 2: // Heartbeat
				c.heartbeat(&kmsg.HeartbeatRequest{Version: 4, Group: group, MemberID: ids[a], Generation: gens[a] + int32(y%3) - 1})
			case 3: // LeaveGroup
				lm := leavingMember{memberID: ids[a]}
				if y&1 != 0 {
					lm = leavingMember{instanceID: fmt.Sprint("i", a)}
				}
				c.leaveGroup(group, []leavingMember{lm, {memberID: "nobody"}})
			case 4: // OffsetCommit
				req := kmsg.NewPtrOffsetCommitRequest()
				req.Version = 2 + int16(x%8)
				req.Group, req.MemberID, req.Generation = group, ids[a], gens[a]
				if y&1 != 0 {
					req.MemberID, req.Generation = "", -1
				}
				if e, ok := epochs[a]; ok && y&2 != 0 {
					req.MemberID, req.Generation = fmt.Sprint("m", a), e
				}
				req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{
					{Partition: int32(y % 4), Offset: int64(x)}}}}
				_, st := c.commitOffsets(req)
				_ = waitStored(st.p, st.end)
			case 5: // OffsetFetch
				c.fetchOffsets(group, nil, -1, nil)
			case 6: // OffsetDelete
				_, st := c.deleteOffsets(&kmsg.OffsetDeleteRequest{Group: group, Topics: []kmsg.OffsetDeleteRequestTopic{
					{Topic: "t", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: int32(y % 3)}}}}})
				_ = waitStored(st.p, st.end)
			case 7: // DeleteGroups
				_, st := c.deleteGroup(group)
				_ = waitStored(st.p, st.end)
			case 8: // Describe and list
				c.describeGroup(group)
				c.describeConsumerGroup(group)
			case 9: // the clock moves
				clock.Advance(time.Duration(y) * 250 * time.Millisecond)
			case 11: // offsets retention
				c.expireOffsets()
			case 12, 13: // ConsumerGroupHeartbeat
				req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
				req.Version = 1
				req.Group, req.MemberID = group, fmt.Sprint("m", a)
				req.MemberEpoch = epochs[a]
				switch y % 8 {
				case 0:
					req.MemberEpoch = 0
				case 1:
					req.MemberEpoch = -1
				case 2:
					req.MemberEpoch++
				}
				if x&0x40 != 0 {
					inst := fmt.Sprint("ci", a)
					req.InstanceID = &inst
					if y%8 == 1 {
						req.MemberEpoch = -2
					}
				}
				if req.MemberEpoch == 0 || y&8 != 0 {
					req.RebalanceTimeoutMillis = 2000
					req.SubscribedTopicNames = [][]string{{"t"}, {"t", "u"}, {"u"}}[x%3]
					req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
				}
				if req.MemberEpoch > 0 && y&16 != 0 {
					req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{{TopicID: b.topicByName("t").id, Partitions: []int32{int32(x % 3)}}}
				}
				r := c.consumerHeartbeat(req, clientInfo{clientID: "k"})
				if r.ErrorCode == 0 {
					epochs[a] = r.MemberEpoch
				} else {
					delete(epochs, a)
				}
			}
			checkGroupInvariants(t, c)
		}
		// Drain what is parked: every parked request has at most one
		// answer (a second would have blocked the coordinator above).
		clock.Advance(10 * time.Minute)
		checkGroupInvariants(t, c)
		_ = parked
		_ = parkedSync
		// Leave the broker clean for the next input.
		for _, g := range c.allGroups() {
			g.mu.Lock()
			g.stopTimers()
			g.transition(stateDead)
			c.removeGroup(g)
			g.mu.Unlock()
		}
	})
}

// checkGroupInvariants checks every group's bookkeeping.
func checkGroupInvariants(t *testing.T, c *coordinator) {
	t.Helper()
	for _, g := range c.allGroups() {
		g.mu.Lock()
		if err := g.invariants(); err != nil {
			g.mu.Unlock()
			t.Fatalf("group %s: %v", g.id, err)
		}
		g.mu.Unlock()
	}
}

// invariants reports the first broken invariant of a group.
// REQUIRES: g.mu held.
func (g *group) invariants() error {
	if g.state == stateDead {
		return fmt.Errorf("a dead group is still in the map")
	}
	if g.kind == kindConsumer {
		cg := g.consumer
		if (len(cg.members) == 0) != (g.state == stateEmpty) {
			return fmt.Errorf("state %s with %d members", g.state, len(cg.members))
		}
		holder := map[idPartition]string{}
		for _, m := range cg.members {
			var err error
			m.held().each(func(p idPartition) {
				if h, dup := holder[p]; dup {
					err = fmt.Errorf("partition %v held by %s and %s", p, h, m.id)
				}
				holder[p] = m.id
				if cg.owners[p] != m.id {
					err = fmt.Errorf("owners says %q holds %v, member %s does", cg.owners[p], p, m.id)
				}
			})
			if err != nil {
				return err
			}
			if m.assigned.overlaps(m.revoking) {
				return fmt.Errorf("member %s both owns and revokes a partition", m.id)
			}
			if m.epoch > cg.assignmentEpoch || cg.assignmentEpoch > cg.groupEpoch {
				return fmt.Errorf("epochs: member %d assignment %d group %d", m.epoch, cg.assignmentEpoch, cg.groupEpoch)
			}
		}
		if len(holder) != len(cg.owners) {
			return fmt.Errorf("owners has %d entries, members hold %d", len(cg.owners), len(holder))
		}
		for id := range cg.target {
			if cg.members[id] == nil {
				return fmt.Errorf("target for departed member %s", id)
			}
		}
		for inst, id := range cg.static {
			if m := cg.members[id]; m == nil || m.instanceID != inst {
				return fmt.Errorf("static %s points at %s", inst, id)
			}
		}
		return nil
	}
	cl := &g.classic
	awaiting := 0
	for id, m := range cl.members {
		if m.id != id {
			return fmt.Errorf("member %s filed under %s", m.id, id)
		}
		if m.join != nil {
			awaiting++
		}
		if m.instanceID != "" && cl.static[m.instanceID] != id {
			return fmt.Errorf("static member %s not in the static map", id)
		}
	}
	if awaiting != cl.awaitingJoin {
		return fmt.Errorf("awaitingJoin %d, %d members await", cl.awaitingJoin, awaiting)
	}
	for inst, id := range cl.static {
		if m := cl.members[id]; m == nil || m.instanceID != inst {
			return fmt.Errorf("static %s points at %s", inst, id)
		}
	}
	for id := range cl.pendingSync {
		if cl.members[id] == nil {
			return fmt.Errorf("pending sync for departed member %s", id)
		}
	}
	if cl.leader != "" && cl.members[cl.leader] == nil {
		return fmt.Errorf("leader %s is not a member", cl.leader)
	}
	if len(cl.members) > 0 && cl.leader == "" {
		return fmt.Errorf("members but no leader")
	}
	switch g.state {
	case stateEmpty:
		if len(cl.members) > 0 {
			return fmt.Errorf("empty with %d members", len(cl.members))
		}
	case stateStable, stateCompletingRebalance:
		if len(cl.members) == 0 {
			return fmt.Errorf("%s without members", g.state)
		}
		if awaiting > 0 {
			return fmt.Errorf("%s with %d members awaiting a join", g.state, awaiting)
		}
	}
	return nil
}
