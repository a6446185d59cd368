package kernel

import (
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupState is a group's place in its protocol's state machine.
//
// Classic groups: Empty (no members) → PreparingRebalance (members
// (re)join; ends when all have joined, the rebalance timeout passes, or
// after the initial delay for a group that was empty) →
// CompletingRebalance (the leader computes the assignment; ends when it
// sends SyncGroup) → Stable, and back to PreparingRebalance on any change
// of membership or metadata. Dead is a deleted group, about to leave the
// map.
//
// KIP-848 consumer groups derive their reported state (Empty, Assigning,
// Reconciling, Stable) from their epochs; internally they are Empty or
// Stable, and Dead once deleted.
type groupState int8

const (
	stateEmpty groupState = iota
	statePreparingRebalance
	stateCompletingRebalance
	stateStable
	stateDead
)

var classicStateNames = [...]string{"Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"}

func (s groupState) String() string { return classicStateNames[s] }

// groupKind says which protocol a group speaks.
type groupKind int8

const (
	kindClassic  groupKind = iota // JoinGroup/SyncGroup; also groups that only store offsets
	kindConsumer                  // KIP-848 ConsumerGroupHeartbeat
)

func (k groupKind) String() string {
	if k == kindConsumer {
		return "consumer"
	}
	return "classic"
}

// topicPartition names a partition by topic name, as offsets do.
type topicPartition struct {
	topic     string
	partition int32
}

// offsetEntry is one committed offset.
type offsetEntry struct {
	offset      int64
	leaderEpoch int32
	metadata    string
	commitMs    int64 // unix milliseconds
	expireMs    int64 // from an OffsetCommit v2-v4 retention time; -1 when none
}

// group is one consumer group. Every field below mu is guarded by it.
type group struct {
	c  *coordinator
	id string

	mu    sync.Mutex
	kind  groupKind
	state groupState
	// stateSince is when the group entered its state: Kafka's
	// currentStateTimestamp, which offsets retention counts from once
	// the group is empty.
	stateSince time.Time
	offsets    map[topicPartition]offsetEntry

	classic  classicGroup
	consumer *consumerGroup // kindConsumer only
}

func newGroup(c *coordinator, id string) *group {
	g := &group{c: c, id: id, offsets: make(map[topicPartition]offsetEntry), stateSince: c.clock.Now()}
	g.classic.init()
	return g
}

// transition moves a group to state s.
// REQUIRES: g.mu held.
func (g *group) transition(s groupState) {
	if g.state != s {
		g.c.log.Debug("group state", "group", g.id, "from", g.state, "to", s)
	}
	g.state = s
	g.stateSince = g.c.clock.Now()
}

// empty reports whether the group has no members.
// REQUIRES: g.mu held.
func (g *group) empty() bool {
	if g.kind == kindConsumer {
		return len(g.consumer.members) == 0
	}
	return len(g.classic.members) == 0
}

// stopTimers cancels every pending timer of the group.
// REQUIRES: g.mu held.
func (g *group) stopTimers() {
	g.classic.stopTimers()
	if g.consumer != nil {
		g.consumer.stopTimers()
	}
}

// stateName is the state reported by ListGroups and the Describe APIs.
// REQUIRES: g.mu held.
func (g *group) stateName() string {
	if g.kind == kindConsumer && g.state != stateDead {
		return g.consumer.stateName()
	}
	return g.state.String()
}

// protocolType is the group's protocol type as ListGroups reports it:
// the classic group's, or "consumer" for a KIP-848 group.
// REQUIRES: g.mu held.
func (g *group) protocolType() string {
	if g.kind == kindConsumer {
		return "consumer"
	}
	return g.classic.protocolType
}

// gtimer is a timer whose callback runs under its group's lock. cancel,
// also under the lock, guarantees the callback will not run its body
// even if it already fired and waits for the lock.
type gtimer struct {
	t    stopper
	done bool // fired or cancelled; guarded by the group's mu
}

// after runs fn under g.mu once d has passed, unless the timer is
// cancelled first or the coordinator stops.
// REQUIRES: g.mu held.
func (g *group) after(d time.Duration, fn func()) *gtimer {
	t := &gtimer{}
	t.t = g.c.clock.AfterFunc(d, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if t.done || g.c.closed.Load() {
			return
		}
		t.done = true
		fn()
	})
	return t
}

// cancel stops t; nil is allowed.
// REQUIRES: the group's mu held.
func (t *gtimer) cancel() {
	if t == nil || t.done {
		return
	}
	t.done = true
	t.t.Stop()
}

// afterLoad starts what a loaded group needs: session timers for the
// members of a classic group read from __consumer_offsets.
// REQUIRES: g.mu held.
func (g *group) afterLoad(now time.Time) {
	if len(g.classic.members) == 0 {
		return
	}
	for _, m := range g.classic.memberList() {
		g.scheduleHeartbeat(m)
	}
}

// replayMetadata restores a classic group from its stored metadata: the
// members of the last completed generation, in state Stable, or Empty.
// REQUIRES: g.mu held; only while loading.
func (g *group) replayMetadata(v *kmsg.GroupMetadataValue) {
	cl := &g.classic
	cl.init()
	g.kind = kindClassic
	cl.protocolType = v.ProtocolType
	cl.generation = v.Generation
	cl.protocol = ""
	if v.Protocol != nil {
		cl.protocol = *v.Protocol
	}
	cl.leader = ""
	if v.Leader != nil {
		cl.leader = *v.Leader
	}
	since := g.c.clock.Now()
	if v.CurrentStateTimestamp > 0 {
		since = time.UnixMilli(v.CurrentStateTimestamp)
	}
	for _, vm := range v.Members {
		m := &classicMember{
			id:               vm.MemberID,
			clientID:         vm.ClientID,
			clientHost:       vm.ClientHost,
			sessionTimeout:   time.Duration(vm.SessionTimeoutMillis) * time.Millisecond,
			rebalanceTimeout: time.Duration(vm.RebalanceTimeoutMillis) * time.Millisecond,
			protocolType:     v.ProtocolType,
			assignment:       vm.Assignment,
		}
		if m.rebalanceTimeout <= 0 {
			m.rebalanceTimeout = m.sessionTimeout
		}
		if vm.InstanceID != nil {
			m.instanceID = *vm.InstanceID
		}
		m.protocols = []kmsg.JoinGroupRequestProtocol{{Name: cl.protocol, Metadata: vm.Subscription}}
		cl.addMember(m)
	}
	if cl.leader != "" && cl.members[cl.leader] == nil {
		cl.leader = ""
	}
	if len(cl.members) > 0 {
		g.state = stateStable
		if cl.leader == "" {
			cl.leader = cl.memberList()[0].id
		}
	} else {
		g.state = stateEmpty
	}
	g.stateSince = since
}

// sortedTopicPartitions returns the keys of an offsets map in order.
func sortedTopicPartitions(m map[topicPartition]offsetEntry) []topicPartition {
	tps := make([]topicPartition, 0, len(m))
	for tp := range m {
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].topic != tps[j].topic {
			return tps[i].topic < tps[j].topic
		}
		return tps[i].partition < tps[j].partition
	})
	return tps
}
