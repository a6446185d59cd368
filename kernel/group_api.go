package kernel

import (
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Handlers of the group APIs: coordinator discovery and the classic
// group protocol. The state machine is in group_classic.go.

// groupOperations is the authorized-operations bitfield of a group with
// no authorizer: READ (3), DELETE (6) and DESCRIBE (8).
const groupOperations = 1<<3 | 1<<6 | 1<<8

// awaitReply answers with what arrives on ch: at once when it is already
// there, otherwise later, off the request goroutine. When the broker
// shuts down or the connection closes first, onClose answers (to a
// client that may no longer be there).
func awaitReply[R kmsg.Response](b *Broker, rc *reqCtx, ch <-chan R, onClose func() R) response {
	select {
	case r := <-ch:
		return response{msg: r}
	default:
	}
	var connDone <-chan struct{} // nil (never ready) without a connection, as in tests
	if rc.conn != nil {
		connDone = rc.conn.Done()
	}
	return response{later: func() kmsg.Response {
		select {
		case r := <-ch:
			return r
		case <-b.closing:
			return onClose()
		case <-connDone:
			return onClose()
		}
	}}
}

// --- FindCoordinator ---

const (
	coordinatorGroup       = 0
	coordinatorTransaction = 1
)

func (b *Broker) handleFindCoordinator(rc *reqCtx, req *kmsg.FindCoordinatorRequest) response {
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	host, port := b.advertisedFor(rc)
	keys := req.CoordinatorKeys
	if req.Version < 4 {
		keys = []string{req.CoordinatorKey}
	}
	for _, key := range keys {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key, c.NodeID, c.Host, c.Port = key, -1, "", -1
		var err *kerr.Error
		var msg string
		switch req.CoordinatorType {
		case coordinatorGroup:
			err = b.coord.available(key)
		case coordinatorTransaction:
			err, msg = kerr.CoordinatorNotAvailable, "transactions are not supported yet"
		default:
			err, msg = kerr.InvalidRequest, "unknown coordinator type"
		}
		if err != nil {
			c.ErrorCode = err.Code
			if msg == "" {
				msg = err.Description
			}
			c.ErrorMessage = &msg
		} else {
			c.NodeID, c.Host, c.Port = b.cfg.NodeID, host, port
		}
		resp.Coordinators = append(resp.Coordinators, c)
	}
	if req.Version < 4 {
		c := resp.Coordinators[0]
		resp.Coordinators = nil
		resp.ErrorCode, resp.ErrorMessage, resp.NodeID, resp.Host, resp.Port = c.ErrorCode, c.ErrorMessage, c.NodeID, c.Host, c.Port
	}
	return response{msg: resp}
}

func failFindCoordinator(req *kmsg.FindCoordinatorRequest, code int16) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	resp.ErrorCode, resp.NodeID, resp.Port = code, -1, -1
	for _, k := range req.CoordinatorKeys {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key, c.ErrorCode, c.NodeID, c.Port = k, code, -1, -1
		resp.Coordinators = append(resp.Coordinators, c)
	}
	return resp
}

// --- JoinGroup, SyncGroup, Heartbeat, LeaveGroup ---

func (b *Broker) handleJoinGroup(rc *reqCtx, req *kmsg.JoinGroupRequest) response {
	ch := b.coord.joinGroup(req, rc.client())
	return awaitReply(b, rc, ch, func() *kmsg.JoinGroupResponse {
		return joinError(req.MemberID, kerr.CoordinatorNotAvailable)
	})
}

func failJoinGroup(req *kmsg.JoinGroupRequest, code int16) kmsg.Response {
	r := req.ResponseKind().(*kmsg.JoinGroupResponse)
	r.ErrorCode, r.MemberID = code, req.MemberID
	return r
}

func (b *Broker) handleSyncGroup(rc *reqCtx, req *kmsg.SyncGroupRequest) response {
	ch := b.coord.syncGroup(req)
	return awaitReply(b, rc, ch, func() *kmsg.SyncGroupResponse {
		return syncError(kerr.CoordinatorNotAvailable)
	})
}

func failSyncGroup(req *kmsg.SyncGroupRequest, code int16) kmsg.Response {
	r := req.ResponseKind().(*kmsg.SyncGroupResponse)
	r.ErrorCode = code
	return r
}

func (b *Broker) handleHeartbeat(rc *reqCtx, req *kmsg.HeartbeatRequest) response {
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	if err := b.coord.heartbeat(req); err != nil {
		resp.ErrorCode = err.Code
	}
	return response{msg: resp}
}

func failHeartbeat(req *kmsg.HeartbeatRequest, code int16) kmsg.Response {
	r := req.ResponseKind().(*kmsg.HeartbeatResponse)
	r.ErrorCode = code
	return r
}

func (b *Broker) handleLeaveGroup(rc *reqCtx, req *kmsg.LeaveGroupRequest) response {
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	var members []leavingMember
	if req.Version < 3 {
		members = []leavingMember{{memberID: req.MemberID}}
	} else {
		for _, m := range req.Members {
			lm := leavingMember{memberID: m.MemberID}
			if m.InstanceID != nil {
				lm.instanceID = *m.InstanceID
			}
			members = append(members, lm)
		}
	}
	groupErr, errs := b.coord.leaveGroup(req.Group, members)
	if groupErr != nil {
		resp.ErrorCode = groupErr.Code
		return response{msg: resp}
	}
	if req.Version < 3 {
		if errs[0] != nil {
			resp.ErrorCode = errs[0].Code
		}
		return response{msg: resp}
	}
	for i, m := range req.Members {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID = m.MemberID, m.InstanceID
		if errs[i] != nil {
			rm.ErrorCode = errs[i].Code
		}
		resp.Members = append(resp.Members, rm)
	}
	return response{msg: resp}
}

func failLeaveGroup(req *kmsg.LeaveGroupRequest, code int16) kmsg.Response {
	r := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	r.ErrorCode = code
	return r
}

// --- ListGroups, DescribeGroups, DeleteGroups ---

func (b *Broker) handleListGroups(rc *reqCtx, req *kmsg.ListGroupsRequest) response {
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	states := map[string]bool{}
	for _, s := range req.StatesFilter {
		states[strings.ToLower(s)] = true
	}
	types := map[string]bool{}
	for _, t := range req.TypesFilter {
		types[strings.ToLower(t)] = true
	}
	for _, g := range b.coord.allGroups() {
		g.mu.Lock()
		if g.state == stateDead {
			g.mu.Unlock()
			continue
		}
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group, lg.ProtocolType, lg.GroupState, lg.GroupType = g.id, g.protocolType(), g.stateName(), g.kind.String()
		g.mu.Unlock()
		if len(states) > 0 && !states[strings.ToLower(lg.GroupState)] {
			continue
		}
		if len(types) > 0 && !types[lg.GroupType] {
			continue
		}
		resp.Groups = append(resp.Groups, lg)
	}
	return response{msg: resp}
}

func failListGroups(req *kmsg.ListGroupsRequest, code int16) kmsg.Response {
	r := req.ResponseKind().(*kmsg.ListGroupsResponse)
	r.ErrorCode = code
	return r
}

func (b *Broker) handleDescribeGroups(rc *reqCtx, req *kmsg.DescribeGroupsRequest) response {
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, id := range req.Groups {
		dg := b.coord.describeGroup(id)
		if req.IncludeAuthorizedOperations {
			dg.AuthorizedOperations = groupOperations
		}
		resp.Groups = append(resp.Groups, dg)
	}
	return response{msg: resp}
}

// describeGroup describes a classic group; an unknown group (or a
// KIP-848 one, which ConsumerGroupDescribe describes) is reported Dead
// with no error, as Kafka does before DescribeGroups v6.
func (c *coordinator) describeGroup(id string) kmsg.DescribeGroupsResponseGroup {
	dg := kmsg.NewDescribeGroupsResponseGroup()
	dg.Group, dg.State = id, stateDead.String()
	if err := c.available(id); err != nil {
		dg.ErrorCode = err.Code
		return dg
	}
	g := c.lockGroup(id, false)
	if g == nil {
		return dg
	}
	defer g.mu.Unlock()
	if g.kind != kindClassic {
		return dg
	}
	cl := &g.classic
	dg.State, dg.ProtocolType = g.state.String(), cl.protocolType
	stable := g.state == stateStable
	if stable {
		dg.Protocol = cl.protocol
	}
	for _, m := range cl.memberList() {
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID, dm.ClientID, dm.ClientHost = m.id, m.clientID, m.clientHost
		if m.instanceID != "" {
			id := m.instanceID
			dm.InstanceID = &id
		}
		dm.ProtocolMetadata, dm.MemberAssignment = []byte{}, []byte{}
		if stable {
			if md := m.metadata(cl.protocol); md != nil {
				dm.ProtocolMetadata = md
			}
			if m.assignment != nil {
				dm.MemberAssignment = m.assignment
			}
		}
		dg.Members = append(dg.Members, dm)
	}
	return dg
}

func failDescribeGroups(req *kmsg.DescribeGroupsRequest, code int16) kmsg.Response {
	r := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, id := range req.Groups {
		dg := kmsg.NewDescribeGroupsResponseGroup()
		dg.Group, dg.ErrorCode = id, code
		r.Groups = append(r.Groups, dg)
	}
	return r
}

func (b *Broker) handleDeleteGroups(rc *reqCtx, req *kmsg.DeleteGroupsRequest) response {
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	waits := make([]stored, len(req.Groups))
	wait := false
	for i, id := range req.Groups {
		dg := kmsg.NewDeleteGroupsResponseGroup()
		dg.Group = id
		err, st := b.coord.deleteGroup(id)
		if err != nil {
			dg.ErrorCode = err.Code
		}
		waits[i], wait = st, wait || st.p != nil
		resp.Groups = append(resp.Groups, dg)
	}
	if !wait {
		return response{msg: resp}
	}
	return response{later: func() kmsg.Response {
		for i, w := range waits {
			if err := waitStored(w.p, w.end); err != nil {
				resp.Groups[i].ErrorCode = err.Code
			}
		}
		return resp
	}}
}

func failDeleteGroups(req *kmsg.DeleteGroupsRequest, code int16) kmsg.Response {
	r := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	for _, id := range req.Groups {
		dg := kmsg.NewDeleteGroupsResponseGroup()
		dg.Group, dg.ErrorCode = id, code
		r.Groups = append(r.Groups, dg)
	}
	return r
}

// --- KIP-848: ConsumerGroupHeartbeat, ConsumerGroupDescribe ---

func (b *Broker) handleConsumerGroupHeartbeat(rc *reqCtx, req *kmsg.ConsumerGroupHeartbeatRequest) response {
	resp := b.coord.consumerHeartbeat(req, rc.client())
	resp.Version = req.Version
	return response{msg: resp}
}

func failConsumerGroupHeartbeat(req *kmsg.ConsumerGroupHeartbeatRequest, code int16) kmsg.Response {
	r := req.ResponseKind().(*kmsg.ConsumerGroupHeartbeatResponse)
	r.ErrorCode = code
	return r
}

func (b *Broker) handleConsumerGroupDescribe(rc *reqCtx, req *kmsg.ConsumerGroupDescribeRequest) response {
	resp := req.ResponseKind().(*kmsg.ConsumerGroupDescribeResponse)
	for _, id := range req.Groups {
		dg := b.coord.describeConsumerGroup(id)
		if req.IncludeAuthorizedOperations {
			dg.AuthorizedOperations = groupOperations
		}
		resp.Groups = append(resp.Groups, dg)
	}
	return response{msg: resp}
}

func failConsumerGroupDescribe(req *kmsg.ConsumerGroupDescribeRequest, code int16) kmsg.Response {
	r := req.ResponseKind().(*kmsg.ConsumerGroupDescribeResponse)
	for _, id := range req.Groups {
		dg := kmsg.NewConsumerGroupDescribeResponseGroup()
		dg.Group, dg.ErrorCode = id, code
		r.Groups = append(r.Groups, dg)
	}
	return r
}
