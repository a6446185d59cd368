package kernel

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/runnel-dev/runnel/sdk"
)

// KIP-848 consumer groups: the broker assigns. Members heartbeat with
// ConsumerGroupHeartbeat, carrying their subscription (topic names or a
// RE2 regex matched against whole names) and the partitions they own.
// Every change of membership, subscription or subscribed topic metadata
// bumps the group epoch; the next heartbeat then computes a new target
// assignment through an sdk.Assignor (the one most members ask for, else
// the broker's first) and the assignment epoch catches up. Each member
// then reconciles towards its target, one heartbeat at a time, following
// Kafka's CurrentAssignmentBuilder:
//
//   - a member that owns partitions its target no longer has keeps its
//     epoch and is asked to revoke them (state "unrevoked"); it gets
//     nothing new until its heartbeat no longer lists them, and is fenced
//     if that takes longer than its rebalance timeout;
//   - otherwise it moves to the assignment epoch and gets the partitions
//     of its target that no other member still holds; the rest follow at
//     later heartbeats, once released (state "unreleased").
//
// So a partition is never owned by two members at once, and members that
// keep their partitions never stop consuming them.

// memberState is a KIP-848 member's reconciliation state.
type memberState int8

func (s memberState) String() string {
	return [...]string{"stable", "unrevoked", "unreleased"}[s]
}

const (
	memberStable     memberState = iota // at the assignment epoch with all of its target
	memberUnrevoked                     // waiting for the client to revoke partitions
	memberUnreleased                    // at the assignment epoch, waiting for partitions others hold
)

// idPartition names a partition by topic id, as KIP-848 does.
type idPartition struct {
	topic     [16]byte
	partition int32
}

// partSet is a set of partitions by topic id; partition lists are sorted
// and never empty.
type partSet map[[16]byte][]int32

func (s partSet) has(p idPartition) bool {
	_, ok := slices.BinarySearch(s[p.topic], p.partition)
	return ok
}

func (s partSet) each(fn func(p idPartition)) {
	for t, ps := range s {
		for _, p := range ps {
			fn(idPartition{t, p})
		}
	}
}

func (s partSet) empty() bool { return len(s) == 0 }

func (s partSet) equal(o partSet) bool {
	if len(s) != len(o) {
		return false
	}
	for t, ps := range s {
		if !slices.Equal(ps, o[t]) {
			return false
		}
	}
	return true
}

// filter returns the partitions of s for which keep is true.
func (s partSet) filter(keep func(p idPartition) bool) partSet {
	out := partSet{}
	for t, ps := range s {
		var kept []int32
		for _, p := range ps {
			if keep(idPartition{t, p}) {
				kept = append(kept, p)
			}
		}
		if len(kept) > 0 {
			out[t] = kept
		}
	}
	return out
}

func (s partSet) union(o partSet) partSet {
	out := partSet{}
	for t, ps := range s {
		out[t] = slices.Clone(ps)
	}
	for t, ps := range o {
		merged := append(out[t], ps...)
		slices.Sort(merged)
		out[t] = slices.Compact(merged)
	}
	return out
}

func (s partSet) overlaps(o partSet) bool {
	for t, ps := range s {
		for _, p := range ps {
			if o.has(idPartition{t, p}) {
				return true
			}
		}
	}
	return false
}

func partSetOf(topics []kmsg.ConsumerGroupHeartbeatRequestTopic) partSet {
	out := partSet{}
	for _, t := range topics {
		if len(t.Partitions) == 0 {
			continue
		}
		ps := append(out[t.TopicID], t.Partitions...)
		slices.Sort(ps)
		out[t.TopicID] = slices.Compact(ps)
	}
	return out
}

// consumerMember is a member of a KIP-848 group.
type consumerMember struct {
	id, instanceID, rackID string
	clientID, clientHost   string
	epoch, prevEpoch       int32
	state                  memberState
	rebalanceTimeout       time.Duration
	subscribedNames        []string       // sorted
	regex                  string         // "" when none
	re                     *regexp.Regexp // regex, anchored
	serverAssignor         string         // "" when the member has no preference
	topics                 []string       // the existing topics it subscribes to, sorted
	assigned               partSet        // partitions it may consume
	revoking               partSet        // partitions it must give up first
	// left is set for a static member that left temporarily (epoch -2):
	// its assignment waits for the same instance to come back.
	left    bool
	session *gtimer
	revoke  *gtimer
}

// checkCommitEpoch validates the member epoch of an offset commit. Kafka
// answers STALE_MEMBER_EPOCH for an older epoch; a member's own
// partitions are never given to another member before it revoked them,
// so an older epoch from a live member is accepted here, which spares
// clients a rejoin (franz-go documents that error as one it cannot
// handle).
func (m *consumerMember) checkCommitEpoch(epoch int32) *kerr.Error {
	if m.left || epoch > m.epoch {
		return kerr.FencedMemberEpoch
	}
	return nil
}

// subscribedTopic is a topic some member subscribes to.
type subscribedTopic struct {
	id         [16]byte
	partitions int
}

// consumerGroup is the KIP-848 part of a group. Guarded by the group's mu.
type consumerGroup struct {
	groupEpoch, assignmentEpoch int32
	members                     map[string]*consumerMember
	static                      map[string]string // instance id → member id
	target                      map[string]partSet
	owners                      map[idPartition]string // holder (assigned or revoking) of each partition
	topics                      map[string]subscribedTopic
	assignorName                string
	refreshed                   time.Time
}

func newConsumerGroup() *consumerGroup {
	return &consumerGroup{
		members: make(map[string]*consumerMember),
		static:  make(map[string]string),
		target:  make(map[string]partSet),
		owners:  make(map[idPartition]string),
		topics:  make(map[string]subscribedTopic),
	}
}

func (cg *consumerGroup) stopTimers() {
	for _, m := range cg.members {
		m.session.cancel()
		m.revoke.cancel()
	}
}

// stateName is the KIP-848 group state.
func (cg *consumerGroup) stateName() string {
	switch {
	case len(cg.members) == 0:
		return "Empty"
	case cg.groupEpoch > cg.assignmentEpoch:
		return "Assigning"
	}
	for _, m := range cg.members {
		if m.epoch != cg.assignmentEpoch || m.state != memberStable {
			return "Reconciling"
		}
	}
	return "Stable"
}

func (cg *consumerGroup) subscribedTopics() map[string]bool {
	out := map[string]bool{}
	for _, m := range cg.members {
		for _, t := range m.topics {
			out[t] = true
		}
	}
	return out
}

// memberList returns the members sorted by id.
func (cg *consumerGroup) memberList() []*consumerMember {
	ms := make([]*consumerMember, 0, len(cg.members))
	for _, m := range cg.members {
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].id < ms[j].id })
	return ms
}

// setHolder records who holds the partitions of m (assigned or
// revoking), after m's sets changed from old.
func (cg *consumerGroup) setHolder(m *consumerMember, old partSet) {
	old.each(func(p idPartition) {
		if cg.owners[p] == m.id {
			delete(cg.owners, p)
		}
	})
	hold := func(p idPartition) { cg.owners[p] = m.id }
	m.assigned.each(hold)
	m.revoking.each(hold)
}

// held returns what m holds: assigned and revoking.
func (m *consumerMember) held() partSet { return m.assigned.union(m.revoking) }

func consumerError(err *kerr.Error, msg string) *kmsg.ConsumerGroupHeartbeatResponse {
	r := kmsg.NewPtrConsumerGroupHeartbeatResponse()
	r.ErrorCode = err.Code
	if msg != "" {
		r.ErrorMessage = &msg
	}
	return r
}

// newConsumerMemberID makes a member id as Kafka does for v0 clients: a
// random UUID in URL-safe base64.
func newConsumerMemberID() string {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(u[:])
}

// consumerHeartbeat handles a ConsumerGroupHeartbeat.
func (c *coordinator) consumerHeartbeat(req *kmsg.ConsumerGroupHeartbeatRequest, ci clientInfo) *kmsg.ConsumerGroupHeartbeatResponse {
	if len(c.assignors) == 0 {
		return consumerError(kerr.UnsupportedVersion, "this broker has no server-side assignors; use the classic protocol")
	}
	// Validation, as Kafka's.
	var re *regexp.Regexp
	switch {
	case req.Group == "":
		return consumerError(kerr.InvalidRequest, "GroupId can't be empty.")
	case req.Version >= 1 && req.MemberID == "":
		return consumerError(kerr.InvalidRequest, "MemberId can't be empty.")
	case req.MemberEpoch < -2:
		return consumerError(kerr.InvalidRequest, fmt.Sprintf("MemberEpoch %d is invalid.", req.MemberEpoch))
	case req.MemberEpoch == -2 && req.InstanceID == nil:
		return consumerError(kerr.InvalidRequest, "InstanceId can't be null when leaving as a static member.")
	case req.MemberEpoch != 0 && req.MemberEpoch != -1 && req.MemberEpoch != -2 && req.MemberID == "":
		return consumerError(kerr.InvalidRequest, "MemberId can't be empty.")
	case req.MemberEpoch == 0 && req.RebalanceTimeoutMillis == -1:
		return consumerError(kerr.InvalidRequest, "RebalanceTimeoutMs must be provided in first request.")
	case req.MemberEpoch == 0 && len(req.Topics) > 0:
		return consumerError(kerr.InvalidRequest, "TopicPartitions must be empty when (re-)joining.")
	case req.MemberEpoch == 0 && req.SubscribedTopicNames == nil && req.SubscribedTopicRegex == nil:
		return consumerError(kerr.InvalidRequest, "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.")
	case req.ServerAssignor != nil && *req.ServerAssignor != "" && c.assignor(*req.ServerAssignor) == nil:
		return consumerError(kerr.UnsupportedAssignor, fmt.Sprintf("ServerAssignor %s is not supported.", *req.ServerAssignor))
	}
	if req.SubscribedTopicRegex != nil && *req.SubscribedTopicRegex != "" {
		if _, err := regexp.Compile(*req.SubscribedTopicRegex); err != nil {
			return consumerError(kerr.InvalidRegularExpression, err.Error())
		}
		// Kafka matches the whole topic name.
		re = regexp.MustCompile("^(?:" + *req.SubscribedTopicRegex + ")$")
	}
	if err := c.available(req.Group); err != nil {
		return consumerError(err, "")
	}
	g := c.lockGroup(req.Group, req.MemberEpoch == 0)
	if g == nil {
		if req.MemberEpoch < 0 {
			return consumerError(kerr.UnknownMemberID, "")
		}
		return consumerError(kerr.UnknownMemberID, fmt.Sprintf("Group %s has no member %s.", req.Group, req.MemberID))
	}
	defer g.mu.Unlock()
	if g.kind == kindClassic {
		if !g.empty() || g.state != stateEmpty {
			return consumerError(kerr.GroupIDNotFound, fmt.Sprintf("Group %s is not a consumer group.", req.Group))
		}
		g.convertToConsumer()
	}
	return g.consumerHeartbeat(req, re, ci)
}

// convertToConsumer turns an empty classic group (or one that only
// stores offsets) into a KIP-848 group, keeping its offsets.
// REQUIRES: g.mu held, g empty.
func (g *group) convertToConsumer() {
	g.classic.stopTimers()
	g.classic.init()
	g.kind = kindConsumer
	g.consumer = newConsumerGroup()
	g.transition(stateEmpty)
}

// REQUIRES: g.mu held, g.kind == kindConsumer.
func (g *group) consumerHeartbeat(req *kmsg.ConsumerGroupHeartbeatRequest, re *regexp.Regexp, ci clientInfo) *kmsg.ConsumerGroupHeartbeatResponse {
	cg := g.consumer
	instanceID := ""
	if req.InstanceID != nil {
		instanceID = *req.InstanceID
	}

	// Leaving.
	if req.MemberEpoch < 0 {
		m := cg.members[req.MemberID]
		if m == nil && instanceID != "" {
			m = cg.members[cg.static[instanceID]]
		}
		if m == nil {
			return consumerError(kerr.UnknownMemberID, "")
		}
		r := kmsg.NewPtrConsumerGroupHeartbeatResponse()
		id := m.id
		r.MemberID, r.MemberEpoch = &id, req.MemberEpoch
		if req.MemberEpoch == -2 && m.instanceID != "" {
			// A static member steps out; its partitions wait for it
			// until its session times out.
			m.left = true
			g.scheduleConsumerSession(m)
			g.c.log.Info("static member left temporarily", "group", g.id, "member", m.id, "instance", m.instanceID)
			return r
		}
		g.c.log.Info("member left the group", "group", g.id, "member", m.id)
		g.removeConsumerMember(m)
		return r
	}

	// Joining or heartbeating.
	var m *consumerMember
	bump := false
	if req.MemberEpoch == 0 {
		memberID := req.MemberID
		if memberID == "" {
			memberID = newConsumerMemberID() // v0: the coordinator names members
		}
		if instanceID != "" {
			if curID, ok := cg.static[instanceID]; ok && curID != memberID {
				cur := cg.members[curID]
				if !cur.left {
					return consumerError(kerr.UnreleasedInstanceID, fmt.Sprintf(
						"Static member %s with instance id %s is still in the group.", curID, instanceID))
				}
				m = g.replaceStaticConsumerMember(cur, memberID)
			}
		}
		if m == nil {
			m = cg.members[memberID]
		}
		if m == nil {
			m = &consumerMember{id: memberID, instanceID: instanceID, assigned: partSet{}, revoking: partSet{}}
			cg.members[memberID] = m
			if instanceID != "" {
				cg.static[instanceID] = memberID
			}
			bump = true
			if len(cg.members) == 1 {
				g.transition(stateStable)
			}
			g.c.log.Info("member joined the consumer group", "group", g.id, "member", memberID)
		}
		// A member at epoch 0 owns nothing: whatever it was revoking is
		// released.
		if !m.revoking.empty() {
			old := m.held()
			m.revoking = partSet{}
			m.revoke.cancel()
			m.state = memberStable
			cg.setHolder(m, old)
		}
		m.left = false
	} else {
		m = cg.members[req.MemberID]
		if m == nil {
			return consumerError(kerr.UnknownMemberID, fmt.Sprintf("Group %s has no member %s.", g.id, req.MemberID))
		}
		if instanceID != "" && cg.static[instanceID] != m.id {
			return consumerError(kerr.FencedInstanceID, "")
		}
		owned := partSetOf(req.Topics)
		switch {
		case m.left:
			return consumerError(kerr.FencedMemberEpoch, "The member left the group.")
		case req.MemberEpoch > m.epoch:
			return consumerError(kerr.FencedMemberEpoch, fmt.Sprintf(
				"The member epoch %d is greater than the coordinator's %d; the member must rejoin.", req.MemberEpoch, m.epoch))
		case req.MemberEpoch < m.epoch:
			// A member one epoch behind may have lost the answer that
			// moved it on; it is fine if it owns nothing it should not.
			if req.MemberEpoch != m.prevEpoch || (req.Topics != nil && !isSubset(owned, m.assigned)) {
				return consumerError(kerr.FencedMemberEpoch, fmt.Sprintf(
					"The member epoch %d is smaller than the coordinator's %d; the member must rejoin.", req.MemberEpoch, m.epoch))
			}
		}
	}

	// Update the member from the request; null fields are unchanged.
	m.clientID, m.clientHost = ci.clientID, ci.host
	if req.RackID != nil {
		m.rackID = *req.RackID
	}
	if req.RebalanceTimeoutMillis >= 0 {
		m.rebalanceTimeout = time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond
	}
	if req.ServerAssignor != nil {
		m.serverAssignor = *req.ServerAssignor
	}
	if req.SubscribedTopicNames != nil {
		names := slices.Clone(req.SubscribedTopicNames)
		slices.Sort(names)
		names = slices.Compact(names)
		if !slices.Equal(names, m.subscribedNames) {
			m.subscribedNames = names
			bump = true
		}
	}
	if req.SubscribedTopicRegex != nil && *req.SubscribedTopicRegex != m.regex {
		m.regex, m.re = *req.SubscribedTopicRegex, re
		bump = true
	}
	g.scheduleConsumerSession(m)

	// Topics: a changed subscription, or topics created, deleted or
	// grown, change the group epoch.
	now := g.c.clock.Now()
	if bump || now.Sub(cg.refreshed) >= time.Second {
		if g.refreshSubscriptions() {
			bump = true
		}
		cg.refreshed = now
	}
	if bump {
		cg.groupEpoch++
	}
	if cg.groupEpoch > cg.assignmentEpoch {
		if err := g.computeTarget(); err != nil {
			g.c.log.Error("server-side assignment failed", "group", g.id, "assignor", cg.assignorName, "error", err)
			if errors.Is(err, sdk.ErrUnavailable) {
				// The assignor's plugin process is down or restarting:
				// members keep what they own and retry, as they do
				// while a coordinator moves (Kafka answers storage
				// trouble of the coordinator the same way).
				return consumerError(kerr.CoordinatorNotAvailable, "assignor unavailable: "+err.Error())
			}
			return consumerError(kerr.UnknownServerError, "assignment failed: "+err.Error())
		}
	}

	// Reconcile and answer.
	before := m.assigned
	var owned partSet
	if req.Topics != nil {
		owned = partSetOf(req.Topics)
	}
	if req.MemberEpoch == 0 {
		owned = partSet{}
	}
	g.reconcile(m, owned)
	r := kmsg.NewPtrConsumerGroupHeartbeatResponse()
	id := m.id
	r.MemberID, r.MemberEpoch = &id, m.epoch
	r.HeartbeatIntervalMillis = g.c.cfg.ConsumerGroupHeartbeatMs
	full := req.MemberEpoch == 0 || (req.RebalanceTimeoutMillis != -1 &&
		(req.SubscribedTopicNames != nil || req.SubscribedTopicRegex != nil) && req.Topics != nil)
	if full || !before.equal(m.assigned) {
		a := kmsg.NewConsumerGroupHeartbeatResponseAssignment()
		for _, t := range sortedIDs(m.assigned) {
			at := kmsg.NewConsumerGroupHeartbeatResponseAssignmentTopic()
			at.TopicID, at.Partitions = t, m.assigned[t]
			a.Topics = append(a.Topics, at)
		}
		r.Assignment = &a
	}
	return r
}

func sortedIDs(s partSet) [][16]byte {
	ids := make([][16]byte, 0, len(s))
	for t := range s {
		ids = append(ids, t)
	}
	sort.Slice(ids, func(i, j int) bool { return string(ids[i][:]) < string(ids[j][:]) })
	return ids
}

func isSubset(s, of partSet) bool {
	ok := true
	s.each(func(p idPartition) {
		if !of.has(p) {
			ok = false
		}
	})
	return ok
}

// replaceStaticConsumerMember hands the place of a static member that
// left to its instance rejoining under a new member id: same assignment,
// same epoch, no rebalance.
// REQUIRES: g.mu held.
func (g *group) replaceStaticConsumerMember(old *consumerMember, newID string) *consumerMember {
	cg := g.consumer
	old.session.cancel()
	old.revoke.cancel()
	heldBefore := old.held()
	delete(cg.members, old.id)
	m := &consumerMember{
		id: newID, instanceID: old.instanceID, rackID: old.rackID,
		epoch: old.epoch, prevEpoch: old.prevEpoch, state: old.state,
		rebalanceTimeout: old.rebalanceTimeout, subscribedNames: old.subscribedNames,
		regex: old.regex, re: old.re, serverAssignor: old.serverAssignor, topics: old.topics,
		assigned: old.assigned, revoking: old.revoking,
	}
	cg.members[newID] = m
	cg.static[m.instanceID] = newID
	if t, ok := cg.target[old.id]; ok {
		cg.target[newID] = t
		delete(cg.target, old.id)
	}
	heldBefore.each(func(p idPartition) {
		if cg.owners[p] == old.id {
			cg.owners[p] = newID
		}
	})
	g.c.log.Info("static member rejoined", "group", g.id, "instance", m.instanceID, "old", old.id, "new", newID)
	return m
}

// scheduleConsumerSession (re)starts a member's session timer.
// REQUIRES: g.mu held.
func (g *group) scheduleConsumerSession(m *consumerMember) {
	m.session.cancel()
	m.session = g.after(time.Duration(g.c.cfg.ConsumerGroupSessionTimeoutMs)*time.Millisecond, func() {
		if g.kind != kindConsumer || g.consumer.members[m.id] != m {
			return
		}
		g.c.log.Info("member session expired; removing it", "group", g.id, "member", m.id)
		g.removeConsumerMember(m)
	})
}

// removeConsumerMember removes a member and releases its partitions;
// the group epoch moves on.
// REQUIRES: g.mu held.
func (g *group) removeConsumerMember(m *consumerMember) {
	cg := g.consumer
	m.session.cancel()
	m.revoke.cancel()
	held := m.held()
	m.assigned, m.revoking = partSet{}, partSet{}
	cg.setHolder(m, held)
	delete(cg.members, m.id)
	delete(cg.target, m.id)
	if m.instanceID != "" && cg.static[m.instanceID] == m.id {
		delete(cg.static, m.instanceID)
	}
	cg.groupEpoch++
	g.refreshSubscriptions()
	if len(cg.members) == 0 {
		g.transition(stateEmpty)
	}
}

// refreshSubscriptions resolves the members' subscriptions against the
// topics that exist, and reports whether the group's subscribed topics
// (names, ids or partition counts) changed.
// REQUIRES: g.mu held.
func (g *group) refreshSubscriptions() bool {
	cg := g.consumer
	var all []*topic
	topics := map[string]subscribedTopic{}
	for _, m := range cg.members {
		var names []string
		for _, n := range m.subscribedNames {
			if t := g.c.b.topicByName(n); t != nil {
				names = append(names, n)
				topics[n] = subscribedTopic{t.id, len(t.partitions)}
			}
		}
		if m.re != nil {
			if all == nil {
				all = g.c.b.allTopics()
			}
			for _, t := range all {
				if !t.internal && m.re.MatchString(t.name) {
					names = append(names, t.name)
					topics[t.name] = subscribedTopic{t.id, len(t.partitions)}
				}
			}
		}
		slices.Sort(names)
		m.topics = slices.Compact(names)
	}
	changed := len(topics) != len(cg.topics)
	for n, st := range topics {
		if cg.topics[n] != st {
			changed = true
		}
	}
	cg.topics = topics
	return changed
}

// computeTarget runs the assignor for the current group epoch.
// REQUIRES: g.mu held.
func (g *group) computeTarget() error {
	cg := g.consumer
	a := g.pickAssignor()
	cg.assignorName = a.Name()
	in := sdk.AssignmentInput{GroupID: g.id}
	names := make([]string, 0, len(cg.topics))
	for n := range cg.topics {
		names = append(names, n)
	}
	sort.Strings(names)
	byID := make(map[[16]byte]string, len(names))
	for _, n := range names {
		st := cg.topics[n]
		byID[st.id] = n
		ps := make([]int32, st.partitions)
		for i := range ps {
			ps[i] = int32(i)
		}
		in.Topics = append(in.Topics, sdk.TopicPartitions{Topic: n, TopicID: st.id, Partitions: ps})
	}
	for _, m := range cg.memberList() {
		gm := sdk.GroupMember{MemberID: m.id, InstanceID: m.instanceID, RackID: m.rackID, Subscribed: m.topics}
		for _, t := range sortedIDs(cg.target[m.id]) {
			if n, ok := byID[t]; ok {
				gm.Owned = append(gm.Owned, sdk.TopicPartitions{Topic: n, TopicID: t, Partitions: cg.target[m.id][t]})
			}
		}
		in.Members = append(in.Members, gm)
	}
	out, err := a.Assign(in)
	if err != nil {
		return err
	}
	target, err := g.checkAssignment(out)
	if err != nil {
		return fmt.Errorf("assignor %s: %w", a.Name(), err)
	}
	cg.target = target
	cg.assignmentEpoch = cg.groupEpoch
	g.c.log.Info("computed target assignment", "group", g.id, "epoch", cg.groupEpoch, "assignor", a.Name(), "members", len(cg.members))
	return nil
}

// pickAssignor returns the assignor plugin.assignor.groups pins the group
// to, else the one most members ask for (ties to the broker's order), else
// the broker's first.
// REQUIRES: g.mu held.
func (g *group) pickAssignor() sdk.Assignor {
	for _, pin := range g.c.cfg.Plugins.AssignorGroups {
		if pin.Matches(g.id) {
			if a := g.c.assignor(pin.Assignor); a != nil {
				return a
			}
		}
	}
	votes := map[string]int{}
	for _, m := range g.consumer.members {
		if m.serverAssignor != "" {
			votes[m.serverAssignor]++
		}
	}
	best, bestVotes := g.c.assignors[0], 0
	for _, a := range g.c.assignors {
		if votes[a.Name()] > bestVotes {
			best, bestVotes = a, votes[a.Name()]
		}
	}
	return best
}

// checkAssignment validates an assignor's answer (an extension may be
// wrong; the group must not be) and converts it.
// REQUIRES: g.mu held.
func (g *group) checkAssignment(out sdk.Assignment) (map[string]partSet, error) {
	cg := g.consumer
	target := make(map[string]partSet, len(cg.members))
	seen := map[idPartition]string{}
	for memberID, tps := range out.Members {
		m := cg.members[memberID]
		if m == nil {
			return nil, fmt.Errorf("assigned partitions to unknown member %q", memberID)
		}
		s := partSet{}
		for _, tp := range tps {
			st, ok := cg.topics[tp.Topic]
			if !ok || !slices.Contains(m.topics, tp.Topic) {
				return nil, fmt.Errorf("assigned topic %q, which member %s does not subscribe to", tp.Topic, memberID)
			}
			for _, p := range tp.Partitions {
				if p < 0 || int(p) >= st.partitions {
					return nil, fmt.Errorf("assigned partition %d of topic %q, which has %d", p, tp.Topic, st.partitions)
				}
				ip := idPartition{st.id, p}
				if other, dup := seen[ip]; dup {
					return nil, fmt.Errorf("assigned %s-%d to both %s and %s", tp.Topic, p, other, memberID)
				}
				seen[ip] = memberID
				s[st.id] = append(s[st.id], p)
			}
		}
		for t := range s {
			slices.Sort(s[t])
		}
		target[memberID] = s
	}
	return target, nil
}

// reconcile moves m one step towards its target assignment. owned is
// what the member says it owns, nil when it did not say.
// REQUIRES: g.mu held.
func (g *group) reconcile(m *consumerMember, owned partSet) {
	cg := g.consumer
	switch m.state {
	case memberUnrevoked:
		if owned == nil || owned.overlaps(m.revoking) {
			return // still revoking
		}
		old := m.held()
		m.revoking = partSet{}
		m.revoke.cancel()
		m.state = memberStable
		cg.setHolder(m, old)
	case memberStable:
		if m.epoch == cg.assignmentEpoch {
			return
		}
	}
	target := cg.target[m.id]
	if target == nil {
		target = partSet{}
	}
	keep := m.assigned.filter(target.has)
	revoke := m.assigned.filter(func(p idPartition) bool { return !target.has(p) })
	unreleased := false
	assign := target.filter(func(p idPartition) bool {
		if m.assigned.has(p) {
			return false
		}
		if h, ok := cg.owners[p]; ok && h != m.id {
			unreleased = true
			return false
		}
		return true
	})
	old := m.held()
	if !revoke.empty() && (owned == nil || owned.overlaps(revoke)) {
		// Revoke first; nothing new until the client confirms.
		m.assigned, m.revoking = keep, revoke
		m.state = memberUnrevoked
		cg.setHolder(m, old)
		m.revoke.cancel()
		m.revoke = g.after(m.rebalanceTimeout, func() {
			if g.kind != kindConsumer || cg.members[m.id] != m || m.state != memberUnrevoked {
				return
			}
			g.c.log.Info("member did not revoke its partitions in time; removing it", "group", g.id, "member", m.id)
			g.removeConsumerMember(m)
		})
		return
	}
	m.assigned, m.revoking = keep.union(assign), partSet{}
	if m.epoch != cg.assignmentEpoch {
		m.prevEpoch, m.epoch = m.epoch, cg.assignmentEpoch
	}
	m.state = memberStable
	if unreleased {
		m.state = memberUnreleased
	}
	cg.setHolder(m, old)
}

// --- ConsumerGroupDescribe ---

func (c *coordinator) describeConsumerGroup(id string) kmsg.ConsumerGroupDescribeResponseGroup {
	dg := kmsg.NewConsumerGroupDescribeResponseGroup()
	dg.Group = id
	if err := c.available(id); err != nil {
		dg.ErrorCode = err.Code
		return dg
	}
	g := c.lockGroup(id, false)
	if g == nil {
		dg.ErrorCode = kerr.GroupIDNotFound.Code
		msg := fmt.Sprintf("Group %s not found.", id)
		dg.ErrorMessage = &msg
		return dg
	}
	defer g.mu.Unlock()
	if g.kind != kindConsumer {
		dg.ErrorCode = kerr.GroupIDNotFound.Code
		msg := fmt.Sprintf("Group %s is not a consumer group.", id)
		dg.ErrorMessage = &msg
		return dg
	}
	cg := g.consumer
	dg.State, dg.Epoch, dg.AssignmentEpoch, dg.AssignorName = cg.stateName(), cg.groupEpoch, cg.assignmentEpoch, cg.assignorName
	if dg.AssignorName == "" && len(c.assignors) > 0 {
		dg.AssignorName = c.assignors[0].Name()
	}
	names := map[[16]byte]string{}
	for n, st := range cg.topics {
		names[st.id] = n
	}
	assignment := func(s partSet) kmsg.Assignment {
		a := kmsg.NewAssignment()
		for _, t := range sortedIDs(s) {
			atp := kmsg.NewAssignmentTopicPartition()
			atp.TopicID, atp.Partitions = t, s[t]
			atp.Topic = names[t]
			if atp.Topic == "" {
				if tp := c.b.topicByID(t); tp != nil {
					atp.Topic = tp.name
				}
			}
			a.TopicPartitions = append(a.TopicPartitions, atp)
		}
		return a
	}
	for _, m := range cg.memberList() {
		dm := kmsg.NewConsumerGroupDescribeResponseGroupMember()
		dm.MemberID, dm.MemberEpoch, dm.ClientID, dm.ClientHost = m.id, m.epoch, m.clientID, m.clientHost
		if m.instanceID != "" {
			s := m.instanceID
			dm.InstanceID = &s
		}
		if m.rackID != "" {
			s := m.rackID
			dm.RackID = &s
		}
		dm.SubscribedTopics = slices.Clone(m.subscribedNames)
		if dm.SubscribedTopics == nil {
			dm.SubscribedTopics = []string{}
		}
		if m.regex != "" {
			s := m.regex
			dm.SubscribedTopicRegex = &s
		}
		dm.Assignment = assignment(m.assigned)
		dm.TargetAssignment = assignment(cg.target[m.id])
		dm.MemberType = 1
		dg.Members = append(dg.Members, dm)
	}
	return dg
}
