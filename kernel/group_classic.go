package kernel

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The classic group protocol, following Kafka's GroupCoordinator: the
// coordinator only runs rebalances; the group leader (a client) computes
// the assignment from the members' subscriptions and hands it back in
// its SyncGroup, which the coordinator relays to every member. Eager and
// cooperative (KIP-429) rebalancing differ only inside the clients.

// newMemberJoinTimeout bounds how long a new member's JoinGroup may wait
// in a rebalance before the member is dropped (Kafka's
// NewMemberJoinTimeoutMs): a client that went away mid-join must not
// hold the group forever.
const newMemberJoinTimeout = 5 * time.Minute

// classicMember is a member of a classic group.
type classicMember struct {
	id         string
	instanceID string // group.instance.id of a static member; "" when dynamic
	clientID   string
	clientHost string
	seq        uint64 // order of joining, for stable listings

	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration
	protocolType     string
	protocols        []kmsg.JoinGroupRequestProtocol
	assignment       []byte

	// join is set while the member awaits its JoinGroup answer, sync
	// while it awaits its SyncGroup answer. Both are buffered (1).
	join chan *kmsg.JoinGroupResponse
	sync chan *kmsg.SyncGroupResponse
	// isNew marks a member that joined in this rebalance: it may be
	// expired while awaiting its join, by newMemberJoinTimeout.
	isNew bool
	hb    *gtimer // session expiry
}

// metadata is the member's metadata for protocol name.
func (m *classicMember) metadata(name string) []byte {
	for _, p := range m.protocols {
		if p.Name == name {
			return p.Metadata
		}
	}
	return nil
}

func (m *classicMember) supports(name string) bool {
	for _, p := range m.protocols {
		if p.Name == name {
			return true
		}
	}
	return false
}

// matches reports whether protocols are the member's, in order, with the
// same metadata.
func (m *classicMember) matches(protocols []kmsg.JoinGroupRequestProtocol) bool {
	if len(protocols) != len(m.protocols) {
		return false
	}
	for i, p := range protocols {
		if p.Name != m.protocols[i].Name || !bytes.Equal(p.Metadata, m.protocols[i].Metadata) {
			return false
		}
	}
	return true
}

// classicGroup is the classic-protocol part of a group. Guarded by the
// group's mu.
type classicGroup struct {
	protocolType string // of the members; "" for a group that only stores offsets
	protocol     string // selected at the last generation
	generation   int32
	leader       string
	members      map[string]*classicMember
	static       map[string]string // instance id → member id
	// pending are member ids handed out with MEMBER_ID_REQUIRED (KIP-394)
	// whose owners have not joined with them yet; each expires after the
	// session timeout.
	pending        map[string]*gtimer
	pendingSync    map[string]bool // members that have not synced this generation
	awaitingJoin   int
	newMemberAdded bool // a member joined during the initial delay
	initialDelay   bool // joinTimer is the initial rebalance delay
	joinTimer      *gtimer
	syncTimer      *gtimer
	seq            uint64
}

func (cl *classicGroup) init() {
	*cl = classicGroup{
		members:     make(map[string]*classicMember),
		static:      make(map[string]string),
		pending:     make(map[string]*gtimer),
		pendingSync: make(map[string]bool),
	}
}

func (cl *classicGroup) stopTimers() {
	cl.joinTimer.cancel()
	cl.syncTimer.cancel()
	for _, t := range cl.pending {
		t.cancel()
	}
	for _, m := range cl.members {
		m.hb.cancel()
	}
}

// memberList returns the members in the order they joined.
func (cl *classicGroup) memberList() []*classicMember {
	ms := make([]*classicMember, 0, len(cl.members))
	for _, m := range cl.members {
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].seq < ms[j].seq })
	return ms
}

func (cl *classicGroup) addMember(m *classicMember) {
	if len(cl.members) == 0 {
		cl.protocolType = m.protocolType
	}
	cl.seq++
	m.seq = cl.seq
	cl.members[m.id] = m
	if cl.leader == "" {
		cl.leader = m.id
	}
	if m.instanceID != "" {
		cl.static[m.instanceID] = m.id
	}
	if t, ok := cl.pending[m.id]; ok {
		t.cancel()
		delete(cl.pending, m.id)
	}
	if m.join != nil {
		cl.awaitingJoin++
	}
}

// removeMember drops a member; its waiters, if any, are answered by the
// caller first.
func (cl *classicGroup) removeMember(id string) {
	m := cl.members[id]
	if m == nil {
		return
	}
	delete(cl.members, id)
	if m.join != nil {
		cl.awaitingJoin--
	}
	if m.instanceID != "" && cl.static[m.instanceID] == id {
		delete(cl.static, m.instanceID)
	}
	m.hb.cancel()
	if cl.leader == id {
		cl.leader = ""
		if ms := cl.memberList(); len(ms) > 0 {
			cl.leader = ms[0].id
		}
	}
	delete(cl.pendingSync, id)
}

// rebalanceTimeout is the longest rebalance timeout of the members.
func (cl *classicGroup) rebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range cl.members {
		d = max(d, m.rebalanceTimeout)
	}
	return d
}

// supportsProtocols reports whether a member with this protocol type and
// protocols may join: any for an empty group, otherwise the same type
// and at least one protocol every member supports.
func (cl *classicGroup) supportsProtocols(protocolType string, protocols []kmsg.JoinGroupRequestProtocol) bool {
	if len(cl.members) == 0 {
		return protocolType != "" && len(protocols) > 0
	}
	if protocolType != cl.protocolType {
		return false
	}
	for _, p := range protocols {
		all := true
		for _, m := range cl.members {
			if !m.supports(p.Name) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// selectProtocol picks the protocol of the next generation: among the
// protocols every member supports, each member votes for the first of
// its own list; the most votes wins, ties going to the leader's order.
func (cl *classicGroup) selectProtocol() string {
	ms := cl.memberList()
	if len(ms) == 0 {
		return ""
	}
	first := ms[0]
	if l := cl.members[cl.leader]; l != nil {
		first = l
	}
	var candidates []string
	for _, p := range first.protocols {
		all := true
		for _, m := range ms {
			if !m.supports(p.Name) {
				all = false
				break
			}
		}
		if all {
			candidates = append(candidates, p.Name)
		}
	}
	votes := map[string]int{}
	for _, m := range ms {
		for _, p := range m.protocols {
			if contains(candidates, p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	best, bestVotes := "", -1
	for _, c := range candidates {
		if votes[c] > bestVotes {
			best, bestVotes = c, votes[c]
		}
	}
	return best
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// allJoined reports whether the rebalance can complete early: every
// member has rejoined and no member id handed out is still unused.
func (cl *classicGroup) allJoined() bool {
	return cl.awaitingJoin == len(cl.members) && len(cl.pending) == 0
}

// newMemberID makes a member id as Kafka does: the client id (or the
// instance id of a static member), a dash and a random UUID.
func newMemberID(prefix string) string {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		panic(err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return prefix + "-" + string(s[:])
}

// --- responses ---

func joinError(memberID string, err *kerr.Error) *kmsg.JoinGroupResponse {
	r := kmsg.NewPtrJoinGroupResponse()
	r.ErrorCode, r.MemberID = err.Code, memberID
	return r
}

// joinResult is the successful JoinGroup answer for m; the leader also
// gets every member's metadata when withMembers.
// REQUIRES: g.mu held.
func (g *group) joinResult(m *classicMember, withMembers bool) *kmsg.JoinGroupResponse {
	cl := &g.classic
	r := kmsg.NewPtrJoinGroupResponse()
	r.Generation = cl.generation
	pt, proto := cl.protocolType, cl.protocol
	r.ProtocolType, r.Protocol = &pt, &proto
	r.LeaderID, r.MemberID = cl.leader, m.id
	if withMembers {
		for _, o := range cl.memberList() {
			jm := kmsg.NewJoinGroupResponseMember()
			jm.MemberID = o.id
			if o.instanceID != "" {
				id := o.instanceID
				jm.InstanceID = &id
			}
			jm.ProtocolMetadata = o.metadata(cl.protocol)
			r.Members = append(r.Members, jm)
		}
	}
	return r
}

func syncError(err *kerr.Error) *kmsg.SyncGroupResponse {
	r := kmsg.NewPtrSyncGroupResponse()
	r.ErrorCode = err.Code
	return r
}

// answerJoin delivers a JoinGroup answer to a member awaiting one.
// REQUIRES: g.mu held.
func (g *group) answerJoin(m *classicMember, r *kmsg.JoinGroupResponse) {
	if m.join == nil {
		return
	}
	m.join <- r
	m.join = nil
	if g.classic.members[m.id] == m {
		g.classic.awaitingJoin--
	}
}

// answerSync delivers a SyncGroup answer to a member awaiting one.
func (m *classicMember) answerSync(r *kmsg.SyncGroupResponse) {
	if m.sync == nil {
		return
	}
	m.sync <- r
	m.sync = nil
}

// --- JoinGroup ---

// joinRequest is a JoinGroup with what the coordinator needs beside it.
type joinRequest struct {
	*kmsg.JoinGroupRequest
	client           clientInfo
	instanceID       string
	session, rebal   time.Duration
	requireMemberID  bool // v4+: KIP-394
	canSkipAssigning bool // v9+: KIP-814
}

// joinGroup handles a JoinGroup. The answer arrives on the returned
// channel, at once or when the rebalance completes.
func (c *coordinator) joinGroup(req *kmsg.JoinGroupRequest, ci clientInfo) <-chan *kmsg.JoinGroupResponse {
	ch := make(chan *kmsg.JoinGroupResponse, 1)
	fail := func(err *kerr.Error) <-chan *kmsg.JoinGroupResponse {
		ch <- joinError(req.MemberID, err)
		return ch
	}
	// The request's byte slices alias the connection's read buffer, which
	// is reused: keep copies.
	protocols := make([]kmsg.JoinGroupRequestProtocol, len(req.Protocols))
	for i, p := range req.Protocols {
		protocols[i] = kmsg.JoinGroupRequestProtocol{Name: p.Name, Metadata: bytes.Clone(p.Metadata)}
	}
	req.Protocols = protocols
	jr := &joinRequest{
		JoinGroupRequest: req,
		client:           ci,
		session:          time.Duration(req.SessionTimeoutMillis) * time.Millisecond,
		rebal:            time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond,
		requireMemberID:  req.Version >= 4,
		canSkipAssigning: req.Version >= 9,
	}
	if req.InstanceID != nil {
		jr.instanceID = *req.InstanceID
	}
	if req.Version == 0 || jr.rebal <= 0 {
		jr.rebal = jr.session // v0 has no rebalance timeout
	}
	switch {
	case req.Group == "":
		return fail(kerr.InvalidGroupID)
	case req.InstanceID != nil && validInstanceID(jr.instanceID) != nil:
		return fail(kerr.InvalidRequest)
	case req.SessionTimeoutMillis < c.cfg.GroupMinSessionTimeoutMs || req.SessionTimeoutMillis > c.cfg.GroupMaxSessionTimeoutMs:
		return fail(kerr.InvalidSessionTimeout)
	}
	if err := c.available(req.Group); err != nil {
		return fail(err)
	}
	unknown := req.MemberID == ""
	g := c.lockGroup(req.Group, unknown)
	if g == nil {
		return fail(kerr.UnknownMemberID)
	}
	defer g.mu.Unlock()
	if g.kind == kindConsumer {
		if !g.empty() {
			return fail(kerr.InconsistentGroupProtocol)
		}
		g.convertToClassic()
	}
	if unknown {
		g.newMemberJoin(jr, ch)
	} else {
		g.currentMemberJoin(jr, ch)
	}
	if g.state == statePreparingRebalance {
		g.tryCompleteJoin()
	}
	return ch
}

// validInstanceID applies Kafka's rule for group.instance.id: the
// characters of a topic name, at most 249 of them.
func validInstanceID(id string) error {
	if id == "." || id == ".." {
		return validTopicName("") // any error will do
	}
	return validTopicName(id)
}

// REQUIRES: g.mu held.
func (g *group) newMemberJoin(jr *joinRequest, ch chan *kmsg.JoinGroupResponse) {
	cl := &g.classic
	if !cl.supportsProtocols(jr.ProtocolType, jr.Protocols) {
		ch <- joinError("", kerr.InconsistentGroupProtocol)
		return
	}
	prefix := jr.client.clientID
	if jr.instanceID != "" {
		prefix = jr.instanceID
	}
	id := newMemberID(prefix)
	if jr.instanceID != "" {
		if old, ok := cl.static[jr.instanceID]; ok {
			g.updateStaticMember(jr, old, id, ch)
			return
		}
		g.addMemberAndRebalance(jr, id, ch)
		return
	}
	if jr.requireMemberID {
		// KIP-394: hand out the id and have the client come back with it,
		// so a client that never does cannot bloat the group.
		cl.pending[id] = g.after(jr.session, func() { g.expirePending(id) })
		ch <- joinError(id, kerr.MemberIDRequired)
		return
	}
	g.addMemberAndRebalance(jr, id, ch)
}

// REQUIRES: g.mu held.
func (g *group) currentMemberJoin(jr *joinRequest, ch chan *kmsg.JoinGroupResponse) {
	cl := &g.classic
	if !cl.supportsProtocols(jr.ProtocolType, jr.Protocols) {
		ch <- joinError(jr.MemberID, kerr.InconsistentGroupProtocol)
		return
	}
	if _, ok := cl.pending[jr.MemberID]; ok {
		if jr.instanceID != "" {
			ch <- joinError(jr.MemberID, kerr.InvalidRequest) // pending ids are never static
			return
		}
		g.addMemberAndRebalance(jr, jr.MemberID, ch)
		return
	}
	if err := g.validateMember(jr.MemberID, jr.instanceID); err != nil {
		ch <- joinError(jr.MemberID, err)
		return
	}
	m := cl.members[jr.MemberID]
	switch g.state {
	case statePreparingRebalance:
		g.updateMemberAndRebalance(m, jr, ch)
	case stateCompletingRebalance:
		if m.matches(jr.Protocols) {
			// It missed its JoinGroup answer: give it again.
			ch <- g.joinResult(m, cl.leader == m.id)
			return
		}
		g.updateMemberAndRebalance(m, jr, ch)
	case stateStable:
		if cl.leader == m.id || !m.matches(jr.Protocols) {
			// A leader rejoining asks for a rebalance (its view of the
			// topics changed); so does a member with new metadata.
			g.updateMemberAndRebalance(m, jr, ch)
			return
		}
		ch <- g.joinResult(m, false)
	default: // Empty, Dead: the member is stale
		ch <- joinError(jr.MemberID, kerr.UnknownMemberID)
	}
}

// validateMember checks that memberID is a member and, for a static
// member, the current holder of its instance id.
// REQUIRES: g.mu held.
func (g *group) validateMember(memberID, instanceID string) *kerr.Error {
	cl := &g.classic
	if instanceID != "" {
		cur, ok := cl.static[instanceID]
		switch {
		case !ok:
			return kerr.UnknownMemberID
		case cur != memberID:
			g.c.log.Info("static member fenced", "group", g.id, "instance", instanceID, "member", memberID, "current", cur)
			return kerr.FencedInstanceID
		}
		return nil
	}
	if cl.members[memberID] == nil {
		return kerr.UnknownMemberID
	}
	return nil
}

// staticFenced reports a request from a static member whose instance id
// now belongs to another member id.
func (cl *classicGroup) staticFenced(memberID, instanceID string) bool {
	if instanceID == "" {
		return false
	}
	cur, ok := cl.static[instanceID]
	return ok && cur != memberID
}

// REQUIRES: g.mu held.
func (g *group) addMemberAndRebalance(jr *joinRequest, id string, ch chan *kmsg.JoinGroupResponse) {
	cl := &g.classic
	m := &classicMember{
		id:               id,
		instanceID:       jr.instanceID,
		clientID:         jr.client.clientID,
		clientHost:       jr.client.host,
		sessionTimeout:   jr.session,
		rebalanceTimeout: jr.rebal,
		protocolType:     jr.ProtocolType,
		protocols:        jr.Protocols,
		join:             ch,
		isNew:            true,
	}
	if g.state == statePreparingRebalance && cl.generation == 0 {
		cl.newMemberAdded = true
	}
	cl.addMember(m)
	g.scheduleHeartbeat(m)
	g.maybePrepareRebalance("new member " + id + " joined")
}

// REQUIRES: g.mu held.
func (g *group) updateMember(m *classicMember, jr *joinRequest, ch chan *kmsg.JoinGroupResponse) {
	cl := &g.classic
	m.protocols = jr.Protocols
	m.rebalanceTimeout, m.sessionTimeout = jr.rebal, jr.session
	m.clientID, m.clientHost = jr.client.clientID, jr.client.host
	if m.join != nil {
		// A second JoinGroup replaces the first, whose client gave up.
		m.join <- joinError(m.id, kerr.RebalanceInProgress)
		m.join = nil
		cl.awaitingJoin--
	}
	if ch != nil {
		m.join = ch
		cl.awaitingJoin++
	}
}

// REQUIRES: g.mu held.
func (g *group) updateMemberAndRebalance(m *classicMember, jr *joinRequest, ch chan *kmsg.JoinGroupResponse) {
	g.updateMember(m, jr, ch)
	g.maybePrepareRebalance("member " + m.id + " rejoined")
}

// updateStaticMember handles a known static member joining with no
// member id (it restarted): it takes over the old member id's place, and
// the group rebalances only when it must.
// REQUIRES: g.mu held.
func (g *group) updateStaticMember(jr *joinRequest, oldID, newID string, ch chan *kmsg.JoinGroupResponse) {
	cl := &g.classic
	oldLeader := cl.leader
	oldProtocols := cl.members[oldID].protocols
	m := g.replaceStaticMember(jr.instanceID, oldID, newID)
	g.scheduleHeartbeat(m)
	g.updateMember(m, jr, ch)
	switch g.state {
	case stateStable:
		if cl.selectProtocol() != cl.protocol {
			g.maybePrepareRebalance("static member " + jr.instanceID + " rejoined with other protocols")
			return
		}
		// Persist the new member id; no rebalance.
		if _, _, err := g.c.appendRecords(g.id, []logRecord{g.metadataRecord()}); err != nil {
			err = storeError(err)
			// Undo: the old member id stays, the new one is refused.
			m.join = nil
			cl.awaitingJoin--
			m.protocols = oldProtocols
			old := g.replaceStaticMember(jr.instanceID, newID, oldID)
			g.scheduleHeartbeat(old)
			r := kmsg.NewPtrJoinGroupResponse()
			r.ErrorCode, r.Generation, r.LeaderID = err.Code, cl.generation, oldLeader
			ch <- r
			return
		}
		var r *kmsg.JoinGroupResponse
		if jr.canSkipAssigning {
			// v9+: a returning leader learns it leads, but must not run
			// the assignor: the group is stable (KIP-814).
			isLeader := cl.leader == m.id
			r = g.joinResult(m, isLeader)
			r.SkipAssignment = isLeader
		} else {
			// Before v9 the old leader id is returned, so a returning
			// leader does not think it must assign.
			r = g.joinResult(m, false)
			r.LeaderID = oldLeader
		}
		g.answerJoin(m, r)
	case stateCompletingRebalance:
		g.maybePrepareRebalance("static member " + jr.instanceID + " rejoined during the sync")
	case statePreparingRebalance:
		// It is awaiting the join like everyone else.
	}
}

// replaceStaticMember moves a static member to a new member id, fencing
// whoever still waits under the old one.
// REQUIRES: g.mu held.
func (g *group) replaceStaticMember(instanceID, oldID, newID string) *classicMember {
	cl := &g.classic
	m := cl.members[oldID]
	delete(cl.members, oldID)
	if m.join != nil {
		m.join <- joinError(oldID, kerr.FencedInstanceID)
		m.join = nil
		cl.awaitingJoin--
	}
	m.answerSync(syncError(kerr.FencedInstanceID))
	m.hb.cancel()
	m.id = newID
	cl.members[newID] = m
	if cl.leader == oldID {
		cl.leader = newID
	}
	if cl.pendingSync[oldID] {
		delete(cl.pendingSync, oldID)
		cl.pendingSync[newID] = true
	}
	cl.static[instanceID] = newID
	return m
}

// --- rebalancing ---

// maybePrepareRebalance starts a rebalance unless one is under way.
// REQUIRES: g.mu held.
func (g *group) maybePrepareRebalance(reason string) {
	switch g.state {
	case stateStable, stateCompletingRebalance, stateEmpty:
		g.prepareRebalance(reason)
	}
}

// REQUIRES: g.mu held.
func (g *group) prepareRebalance(reason string) {
	cl := &g.classic
	if g.state == stateCompletingRebalance {
		g.resetAssignment(kerr.RebalanceInProgress)
	}
	cl.syncTimer.cancel()
	cl.joinTimer.cancel()
	wasEmpty := g.state == stateEmpty
	g.transition(statePreparingRebalance)
	g.c.log.Info("preparing to rebalance group", "group", g.id, "generation", cl.generation, "reason", reason)
	delay := time.Duration(g.c.cfg.GroupInitialRebalanceDelayMs) * time.Millisecond
	if wasEmpty && delay > 0 {
		// The first members of a group arrive together; wait for the
		// rest before the first generation, extending the wait while
		// more keep coming, up to the rebalance timeout.
		cl.initialDelay = true
		cl.newMemberAdded = false
		remaining := max(cl.rebalanceTimeout()-delay, 0)
		cl.joinTimer = g.after(delay, func() { g.initialDelayExpired(delay, remaining) })
		return
	}
	cl.initialDelay = false
	cl.joinTimer = g.after(cl.rebalanceTimeout(), g.completeJoin)
	g.tryCompleteJoin()
}

// REQUIRES: g.mu held.
func (g *group) initialDelayExpired(delay, remaining time.Duration) {
	cl := &g.classic
	if cl.newMemberAdded && remaining > 0 {
		cl.newMemberAdded = false
		d := min(delay, remaining)
		cl.joinTimer = g.after(d, func() { g.initialDelayExpired(delay, remaining-d) })
		return
	}
	cl.initialDelay = false
	g.completeJoin()
}

// tryCompleteJoin ends the join phase early once everyone has joined.
// REQUIRES: g.mu held.
func (g *group) tryCompleteJoin() {
	cl := &g.classic
	if g.state != statePreparingRebalance || cl.initialDelay || !cl.allJoined() {
		return
	}
	cl.joinTimer.cancel()
	g.completeJoin()
}

// completeJoin ends the join phase: members that did not rejoin are
// dropped (static ones are kept until their session expires), the next
// generation begins, and every joined member gets its answer.
// REQUIRES: g.mu held.
func (g *group) completeJoin() {
	cl := &g.classic
	if g.state != statePreparingRebalance {
		return
	}
	for _, m := range cl.memberList() {
		if m.join == nil && m.instanceID == "" {
			g.c.log.Info("removing member that did not rejoin", "group", g.id, "member", m.id)
			m.answerSync(syncError(kerr.UnknownMemberID))
			cl.removeMember(m.id)
		}
	}
	if len(cl.members) > 0 && !g.electJoinedLeader() {
		// Only static members that have not rejoined are left: wait for
		// them, or for their sessions to end.
		g.c.log.Warn("could not complete rebalance because no members rejoined", "group", g.id)
		cl.joinTimer = g.after(cl.rebalanceTimeout(), g.completeJoin)
		return
	}
	cl.generation++
	clear(cl.pendingSync)
	if len(cl.members) == 0 {
		cl.protocol = ""
		g.transition(stateEmpty)
		g.c.log.Info("group is empty", "group", g.id, "generation", cl.generation)
		_, _, _ = g.c.appendRecords(g.id, []logRecord{g.metadataRecord()})
		return
	}
	cl.protocol = cl.selectProtocol()
	g.transition(stateCompletingRebalance)
	g.c.log.Info("group rebalanced; awaiting the leader's assignment", "group", g.id,
		"generation", cl.generation, "members", len(cl.members), "leader", cl.leader, "protocol", cl.protocol)
	for _, m := range cl.memberList() {
		g.answerJoin(m, g.joinResult(m, m.id == cl.leader))
		m.isNew = false
		g.scheduleHeartbeat(m)
		cl.pendingSync[m.id] = true
	}
	cl.syncTimer = g.after(cl.rebalanceTimeout(), g.expirePendingSync)
}

// electJoinedLeader keeps the leader if it rejoined, or picks a member
// that did. It reports false when no member rejoined.
// REQUIRES: g.mu held.
func (g *group) electJoinedLeader() bool {
	cl := &g.classic
	if l := cl.members[cl.leader]; l != nil && l.join != nil {
		return true
	}
	for _, m := range cl.memberList() {
		if m.join != nil {
			cl.leader = m.id
			return true
		}
	}
	return false
}

// expirePendingSync drops the members that did not send SyncGroup within
// the rebalance timeout, and rebalances.
// REQUIRES: g.mu held.
func (g *group) expirePendingSync() {
	cl := &g.classic
	if g.state != stateCompletingRebalance && g.state != stateStable {
		return
	}
	if len(cl.pendingSync) == 0 {
		return
	}
	for id := range cl.pendingSync {
		g.c.log.Info("removing member that did not sync", "group", g.id, "member", id)
		if m := cl.members[id]; m != nil {
			m.answerSync(syncError(kerr.UnknownMemberID))
		}
		cl.removeMember(id)
	}
	g.maybePrepareRebalance("members did not sync in time")
}

// resetAssignment clears every assignment and answers the members
// awaiting their SyncGroup with err.
// REQUIRES: g.mu held.
func (g *group) resetAssignment(err *kerr.Error) {
	for _, m := range g.classic.members {
		m.assignment = nil
		m.answerSync(syncError(err))
	}
}

// scheduleHeartbeat (re)starts a member's session timer.
// REQUIRES: g.mu held.
func (g *group) scheduleHeartbeat(m *classicMember) {
	m.hb.cancel()
	d := m.sessionTimeout
	if m.isNew {
		d = newMemberJoinTimeout
	}
	m.hb = g.after(d, func() { g.expireMember(m) })
}

// expireMember removes a member whose session ended. A member waiting in
// a rebalance counts as alive (unless it is new and waited too long).
// REQUIRES: g.mu held.
func (g *group) expireMember(m *classicMember) {
	cl := &g.classic
	if cl.members[m.id] != m {
		return
	}
	if !m.isNew && (m.join != nil || m.sync != nil) {
		return
	}
	g.c.log.Info("member session expired; removing it", "group", g.id, "member", m.id)
	g.removeMemberAndUpdateGroup(m, "session of member "+m.id+" expired")
}

// removeMemberAndUpdateGroup removes m and rebalances what remains.
// REQUIRES: g.mu held.
func (g *group) removeMemberAndUpdateGroup(m *classicMember, reason string) {
	cl := &g.classic
	if m.join != nil {
		g.answerJoin(m, joinError("", kerr.UnknownMemberID))
	}
	m.answerSync(syncError(kerr.UnknownMemberID))
	cl.removeMember(m.id)
	switch g.state {
	case stateStable, stateCompletingRebalance:
		g.maybePrepareRebalance(reason)
	case statePreparingRebalance:
		g.tryCompleteJoin()
	}
}

// expirePending drops a KIP-394 member id never joined with.
// REQUIRES: g.mu held.
func (g *group) expirePending(id string) {
	cl := &g.classic
	if _, ok := cl.pending[id]; !ok {
		return
	}
	delete(cl.pending, id)
	if g.state == statePreparingRebalance {
		g.tryCompleteJoin()
	}
}

// convertToClassic turns an empty KIP-848 group into a classic one,
// keeping its offsets.
// REQUIRES: g.mu held, g empty.
func (g *group) convertToClassic() {
	if g.consumer != nil {
		g.consumer.stopTimers()
	}
	g.consumer = nil
	g.kind = kindClassic
	g.classic.init()
	g.transition(stateEmpty)
}

// metadataRecord is the group's metadata as Kafka stores it.
// REQUIRES: g.mu held.
func (g *group) metadataRecord() logRecord {
	cl := &g.classic
	v := kmsg.NewGroupMetadataValue()
	v.Version = groupMetadataValueVersion
	v.ProtocolType = cl.protocolType
	v.Generation = cl.generation
	if cl.protocol != "" {
		p := cl.protocol
		v.Protocol = &p
	}
	if cl.leader != "" && len(cl.members) > 0 {
		l := cl.leader
		v.Leader = &l
	}
	v.CurrentStateTimestamp = g.stateSince.UnixMilli()
	for _, m := range cl.memberList() {
		vm := kmsg.NewGroupMetadataValueMember()
		vm.MemberID, vm.ClientID, vm.ClientHost = m.id, m.clientID, m.clientHost
		if m.instanceID != "" {
			id := m.instanceID
			vm.InstanceID = &id
		}
		vm.RebalanceTimeoutMillis = int32(m.rebalanceTimeout / time.Millisecond)
		vm.SessionTimeoutMillis = int32(m.sessionTimeout / time.Millisecond)
		vm.Subscription = m.metadata(cl.protocol)
		vm.Assignment = m.assignment
		if vm.Subscription == nil {
			vm.Subscription = []byte{}
		}
		if vm.Assignment == nil {
			vm.Assignment = []byte{}
		}
		v.Members = append(v.Members, vm)
	}
	return logRecord{key: groupMetadataKey(g.id), value: v.AppendTo(nil)}
}

// --- SyncGroup ---

// syncGroup handles a SyncGroup. The answer arrives on the returned
// channel, at once or when the leader's assignment does.
func (c *coordinator) syncGroup(req *kmsg.SyncGroupRequest) <-chan *kmsg.SyncGroupResponse {
	ch := make(chan *kmsg.SyncGroupResponse, 1)
	fail := func(err *kerr.Error) <-chan *kmsg.SyncGroupResponse {
		ch <- syncError(err)
		return ch
	}
	instanceID := ""
	if req.InstanceID != nil {
		instanceID = *req.InstanceID
	}
	if req.Group == "" {
		return fail(kerr.InvalidGroupID)
	}
	if err := c.available(req.Group); err != nil {
		return fail(err)
	}
	g := c.lockGroup(req.Group, false)
	if g == nil {
		return fail(kerr.UnknownMemberID)
	}
	defer g.mu.Unlock()
	cl := &g.classic
	switch {
	case g.kind != kindClassic:
		return fail(kerr.UnknownMemberID)
	case cl.staticFenced(req.MemberID, instanceID):
		return fail(kerr.FencedInstanceID)
	case cl.members[req.MemberID] == nil:
		return fail(kerr.UnknownMemberID)
	case req.Generation != cl.generation:
		return fail(kerr.IllegalGeneration)
	case req.ProtocolType != nil && *req.ProtocolType != cl.protocolType:
		return fail(kerr.InconsistentGroupProtocol)
	case req.Protocol != nil && *req.Protocol != cl.protocol:
		return fail(kerr.InconsistentGroupProtocol)
	}
	m := cl.members[req.MemberID]
	switch g.state {
	case stateEmpty:
		return fail(kerr.UnknownMemberID)
	case statePreparingRebalance:
		return fail(kerr.RebalanceInProgress)
	case stateStable:
		delete(cl.pendingSync, m.id)
		g.scheduleHeartbeat(m)
		ch <- g.syncResult(m)
		return ch
	}
	// CompletingRebalance.
	if m.sync != nil {
		m.answerSync(syncError(kerr.RebalanceInProgress)) // replaced by this one
	}
	m.sync = ch
	delete(cl.pendingSync, m.id)
	if cl.leader != m.id {
		return ch
	}
	assignment := make(map[string][]byte, len(req.GroupAssignment))
	for _, a := range req.GroupAssignment {
		if cl.members[a.MemberID] != nil {
			// A copy: the request aliases the connection's read buffer.
			assignment[a.MemberID] = bytes.Clone(a.MemberAssignment)
		}
	}
	for id, mm := range cl.members {
		mm.assignment = assignment[id]
		if mm.assignment == nil {
			mm.assignment = []byte{}
		}
	}
	if _, _, err := c.appendRecords(g.id, []logRecord{g.metadataRecord()}); err != nil {
		g.resetAssignment(storeError(err))
		g.maybePrepareRebalance("could not store the group's assignment")
		return ch
	}
	g.transition(stateStable)
	g.c.log.Info("group is stable", "group", g.id, "generation", cl.generation, "members", len(cl.members))
	for _, mm := range cl.members {
		if mm.sync != nil {
			mm.answerSync(g.syncResult(mm))
			g.scheduleHeartbeat(mm)
		}
	}
	return ch
}

// REQUIRES: g.mu held.
func (g *group) syncResult(m *classicMember) *kmsg.SyncGroupResponse {
	r := kmsg.NewPtrSyncGroupResponse()
	pt, p := g.classic.protocolType, g.classic.protocol
	r.ProtocolType, r.Protocol = &pt, &p
	r.MemberAssignment = m.assignment
	if r.MemberAssignment == nil {
		r.MemberAssignment = []byte{}
	}
	return r
}

// --- Heartbeat ---

func (c *coordinator) heartbeat(req *kmsg.HeartbeatRequest) *kerr.Error {
	instanceID := ""
	if req.InstanceID != nil {
		instanceID = *req.InstanceID
	}
	if req.Group == "" {
		return kerr.InvalidGroupID
	}
	if err := c.available(req.Group); err != nil {
		return err
	}
	g := c.lockGroup(req.Group, false)
	if g == nil {
		return kerr.UnknownMemberID
	}
	defer g.mu.Unlock()
	cl := &g.classic
	switch {
	case g.kind != kindClassic:
		return kerr.UnknownMemberID
	case cl.staticFenced(req.MemberID, instanceID):
		return kerr.FencedInstanceID
	case cl.members[req.MemberID] == nil:
		return kerr.UnknownMemberID
	case req.Generation != cl.generation:
		return kerr.IllegalGeneration
	}
	m := cl.members[req.MemberID]
	switch g.state {
	case stateEmpty:
		return kerr.UnknownMemberID
	case statePreparingRebalance:
		g.scheduleHeartbeat(m)
		return kerr.RebalanceInProgress
	default:
		g.scheduleHeartbeat(m)
		return nil
	}
}

// --- LeaveGroup ---

// leavingMember is one member of a LeaveGroup.
type leavingMember struct {
	memberID, instanceID string
}

// leaveGroup removes members. It returns the group-level error and one
// error per member.
func (c *coordinator) leaveGroup(groupID string, members []leavingMember) (*kerr.Error, []*kerr.Error) {
	errs := make([]*kerr.Error, len(members))
	if groupID == "" {
		return kerr.InvalidGroupID, errs
	}
	if err := c.available(groupID); err != nil {
		return err, errs
	}
	g := c.lockGroup(groupID, false)
	if g == nil {
		for i := range errs {
			errs[i] = kerr.UnknownMemberID
		}
		return nil, errs
	}
	defer g.mu.Unlock()
	cl := &g.classic
	for i, lm := range members {
		if g.kind != kindClassic {
			errs[i] = kerr.UnknownMemberID
			continue
		}
		if lm.memberID == "" {
			// Removal by instance id alone (an administrator's request).
			id, ok := cl.static[lm.instanceID]
			if lm.instanceID == "" || !ok {
				errs[i] = kerr.UnknownMemberID
				continue
			}
			g.removeMemberAndUpdateGroup(cl.members[id], "static member "+lm.instanceID+" left")
			continue
		}
		if t, ok := cl.pending[lm.memberID]; ok {
			t.cancel()
			g.expirePending(lm.memberID)
			continue
		}
		if err := g.validateMember(lm.memberID, lm.instanceID); err != nil {
			errs[i] = err
			continue
		}
		g.c.log.Info("member left the group", "group", g.id, "member", lm.memberID)
		g.removeMemberAndUpdateGroup(cl.members[lm.memberID], "member "+lm.memberID+" left")
	}
	return nil, errs
}
