package kernel

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/runnel-dev/runnel/kernel/config"
	"github.com/runnel-dev/runnel/sdk"
)

// The coordinator's state machines run as scripts in testdata/groups,
// against a real broker (so __consumer_offsets is written and read back)
// with a manual clock. Run with -rewrite to update the expected output.
//
// Every command names members by alias; the script never sees member
// ids. After each command the output lists the answers it produced,
// including those of requests parked earlier ("pending").
//
//	broker [key=value...]       a fresh broker; group.initial.rebalance.delay.ms
//	                            defaults to 0 and offsets.topic.num.partitions to 2
//	topic name=t partitions=N
//	join m=a [fresh] [instance=i] [session=30s] [rebalance=60s]
//	     [protocols=(range,roundrobin)] [meta=x] [v=9] [type=consumer] [group=g]
//	sync m=a [gen=N] [assign=(a:x,b:y)] [v=5]
//	heartbeat m=a [gen=N] [instance=i]
//	leave m=a | leave m=(a,b) | leave instance=i
//	commit [m=a] [gen=N] offsets=(t/0=5,t/1=7) [v=8]
//	fetch [offsets=(t/0,t/1)] [m=a epoch=N]
//	delete-offsets offsets=(t/0)
//	delete-group
//	describe | list | state
//	advance 5s                  move the clock; due timers fire
//	expire                      run the offsets-retention check
//	restart                     close the broker and open it on the same data
//	records                     __consumer_offsets, decoded
//	cg m=a [epoch=N] [topics=(t)] [regex=x] [owned=(t/0)|keep] [assignor=uniform]
//	   [instance=i] [leave] [rebalance=30s]
//	cg-describe

func TestGroupScripts(t *testing.T) {
	datadriven.Walk(t, "testdata/groups", func(t *testing.T, path string) {
		h := &groupHarness{t: t, dir: t.TempDir()}
		defer h.close()
		datadriven.RunTest(t, path, h.run)
	})
}

// fakeClock is a manual clock: timers fire, in order, only in Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	when    time.Time
	seq     int
	f       func()
	stopped bool
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) stopper {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, when: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Advance moves the clock by d, firing due timers in time order, each at
// its own instant, outside the clock's lock.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	for {
		var next *fakeTimer
		live := c.timers[:0]
		for _, t := range c.timers {
			if t.stopped {
				continue
			}
			live = append(live, t)
			if !t.when.After(target) && (next == nil || t.when.Before(next.when) || t.when.Equal(next.when) && t.seq < next.seq) {
				next = t
			}
		}
		c.timers = live
		if next == nil {
			break
		}
		next.stopped = true
		c.now = next.when
		c.mu.Unlock()
		next.f()
		c.mu.Lock()
	}
	c.now = target
	c.mu.Unlock()
}

// testAssignor deals the partitions of each topic round-robin over its
// subscribers in member id order. The kernel's tests cannot import the
// builtin assignors.
type testAssignor struct{ name string }

func (a testAssignor) Name() string { return a.name }

func (a testAssignor) Assign(in sdk.AssignmentInput) (sdk.Assignment, error) {
	out := sdk.Assignment{Members: map[string][]sdk.TopicPartitions{}}
	ms := slices.Clone(in.Members)
	sort.Slice(ms, func(i, j int) bool { return ms[i].MemberID < ms[j].MemberID })
	for _, t := range in.Topics {
		var subs []string
		for _, m := range ms {
			if slices.Contains(m.Subscribed, t.Topic) {
				subs = append(subs, m.MemberID)
			}
		}
		if len(subs) == 0 {
			continue
		}
		parts := map[string][]int32{}
		for i, p := range t.Partitions {
			parts[subs[i%len(subs)]] = append(parts[subs[i%len(subs)]], p)
		}
		for _, id := range subs {
			if len(parts[id]) > 0 {
				out.Members[id] = append(out.Members[id], sdk.TopicPartitions{Topic: t.Topic, TopicID: t.TopicID, Partitions: parts[id]})
			}
		}
	}
	return out, nil
}

type groupHarness struct {
	t        *testing.T
	dir      string
	cfg      config.Broker
	b        *Broker
	clock    *fakeClock
	ids      map[string]string   // alias → member id
	prevIDs  map[string]string   // alias → the member id it had before
	timeouts map[string][2]int32 // alias → session and rebalance timeouts last used
	aliases  map[string]string   // member id → alias
	gens     map[string]int32    // alias → generation of its last join
	epochs   map[string]int32    // alias → KIP-848 member epoch
	owned    map[string]partSet
	waiting  []waiter
}

// waiter is a parked request whose answer the harness prints when it
// arrives.
type waiter struct {
	alias string
	poll  func() (string, bool)
}

func (h *groupHarness) close() {
	if h.b != nil {
		_ = h.b.Close(context.Background())
		h.b = nil
	}
}

func (h *groupHarness) open() {
	b := openTestBroker(h.t, h.cfg)
	b.coord.stop()
	b.coord = newCoordinator(b, []sdk.Assignor{testAssignor{"uniform"}, testAssignor{"range"}}, h.clock)
	if err := b.coord.start(); err != nil {
		h.t.Fatal(err)
	}
	h.b = b
}

func (h *groupHarness) coord() *coordinator { return h.b.coord }

func (h *groupHarness) run(t *testing.T, d *datadriven.TestData) string {
	var out []string
	say := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if d.Cmd != "broker" && h.b == nil {
		d.Fatalf(t, "start with a broker command")
	}
	group := "g"
	d.MaybeScanArgs(t, "group", &group)
	switch d.Cmd {
	case "broker":
		h.close()
		h.dir = t.TempDir()
		h.cfg = testConfig(h.dir)
		h.cfg.GroupInitialRebalanceDelayMs = 0
		h.cfg.OffsetsTopicNumPartitions = 2
		for _, a := range d.CmdArgs {
			if err := h.cfg.Set(a.Key, a.FirstVal(t)); err != nil {
				d.Fatalf(t, "%v", err)
			}
		}
		h.clock = &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
		h.ids, h.aliases, h.prevIDs = map[string]string{}, map[string]string{}, map[string]string{}
		h.timeouts = map[string][2]int32{}
		h.gens, h.epochs, h.owned = map[string]int32{}, map[string]int32{}, map[string]partSet{}
		h.waiting = nil
		h.open()
		return "ok"
	case "restart":
		h.close()
		h.waiting = nil
		h.open()
		say("restarted")
	case "topic":
		var name string
		var n int
		d.ScanArgs(t, "name", &name)
		d.ScanArgs(t, "partitions", &n)
		if r := createTopic(t, h.b, name, int32(n), nil); r.ErrorCode != 0 {
			d.Fatalf(t, "create topic: %d", r.ErrorCode)
		}
		say("ok")
	case "join":
		h.join(t, d, group, say)
	case "sync":
		h.sync(t, d, group, say)
	case "heartbeat":
		alias := h.member(t, d)
		req := kmsg.NewPtrHeartbeatRequest()
		req.Version = 4
		req.Group, req.MemberID, req.Generation = group, h.memberID(d, alias), h.gens[alias]
		d.MaybeScanArgs(t, "gen", &req.Generation)
		if d.HasArg("instance") {
			var inst string
			d.ScanArgs(t, "instance", &inst)
			req.InstanceID = &inst
		}
		say("%s: %s", alias, errName(h.coord().heartbeat(req)))
	case "leave":
		h.leave(t, d, group, say)
	case "commit":
		h.commit(t, d, group, say)
	case "fetch":
		h.fetch(t, d, group, say)
	case "delete-offsets":
		req := kmsg.NewPtrOffsetDeleteRequest()
		req.Group = group
		for _, tp := range h.partitions(t, d, "offsets") {
			req.Topics = append(req.Topics, kmsg.OffsetDeleteRequestTopic{Topic: tp.topic,
				Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: tp.partition}}})
		}
		resp, st := h.coord().deleteOffsets(req)
		if err := waitStored(st.p, st.end); err != nil {
			say("store: %s", err.Message)
		}
		if resp.ErrorCode != 0 {
			say("error %s", codeName(resp.ErrorCode))
		}
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				say("%s/%d: %s", rt.Topic, rp.Partition, codeName(rp.ErrorCode))
			}
		}
	case "delete-group":
		err, st := h.coord().deleteGroup(group)
		if serr := waitStored(st.p, st.end); serr != nil {
			say("store: %s", serr.Message)
		}
		say("%s", errName(err))
	case "describe":
		dg := h.coord().describeGroup(group)
		say("state=%s type=%s protocol=%s", dg.State, dg.ProtocolType, dg.Protocol)
		for _, m := range dg.Members {
			inst := ""
			if m.InstanceID != nil {
				inst = " instance=" + *m.InstanceID
			}
			say("  %s%s client=%s host=%s metadata=%s assignment=%q", h.alias(m.MemberID), inst, m.ClientID, m.ClientHost,
				metaString(m.ProtocolMetadata), m.MemberAssignment)
		}
	case "list":
		resp := serve(t, h.b, &kmsg.ListGroupsRequest{Version: 5}).(*kmsg.ListGroupsResponse)
		for _, g := range resp.Groups {
			say("%s type=%s state=%s protocol-type=%q", g.Group, g.GroupType, g.GroupState, g.ProtocolType)
		}
		if len(resp.Groups) == 0 {
			say("no groups")
		}
	case "state":
		say("%s", h.state(group))
	case "advance":
		dur, err := time.ParseDuration(d.CmdArgs[0].Key)
		if err != nil {
			d.Fatalf(t, "%v", err)
		}
		h.clock.Advance(dur)
		say("now +%s", h.clock.Now().Sub(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)))
	case "expire":
		h.coord().expireOffsets()
		say("ok")
	case "records":
		h.records(t, say)
	case "cg":
		h.consumerHeartbeat(t, d, group, say)
	case "cg-describe":
		h.describeConsumer(group, say)
	default:
		d.Fatalf(t, "unknown command %s", d.Cmd)
	}
	out = append(out, h.drain()...)
	return strings.Join(out, "\n") + "\n"
}

// drain prints the answers parked requests have received.
func (h *groupHarness) drain() []string {
	var out []string
	rest := h.waiting[:0]
	for _, w := range h.waiting {
		if s, ok := w.poll(); ok {
			out = append(out, w.alias+": "+s)
		} else {
			rest = append(rest, w)
		}
	}
	h.waiting = rest
	return out
}

func (h *groupHarness) member(t *testing.T, d *datadriven.TestData) string {
	var alias string
	d.ScanArgs(t, "m", &alias)
	return alias
}

// memberID is the id a request of alias carries: its current one, or
// with "old" the one it had before.
func (h *groupHarness) memberID(d *datadriven.TestData, alias string) string {
	if d.HasArg("old") {
		return h.prevIDs[alias]
	}
	return h.ids[alias]
}

func (h *groupHarness) learn(alias, id string) {
	if id == "" {
		return
	}
	if old, ok := h.ids[alias]; ok && old != id {
		h.prevIDs[alias] = old
	}
	h.ids[alias] = id
	h.aliases[id] = alias
}

func (h *groupHarness) alias(id string) string {
	if a, ok := h.aliases[id]; ok {
		return a
	}
	if id == "" {
		return `""`
	}
	// A member id is the client id (the alias) or the instance id, a
	// dash and a UUID.
	if len(id) > 37 && id[len(id)-37] == '-' {
		return id[:len(id)-37]
	}
	return "?"
}

// metaString shows protocol metadata: a consumer subscription decoded,
// anything else as text.
func metaString(md []byte) string {
	var cm kmsg.ConsumerMemberMetadata
	if len(md) > 2 && md[0] == 0 && cm.ReadFrom(md) == nil && len(cm.Topics) > 0 {
		return "subscribe(" + strings.Join(cm.Topics, ",") + ")"
	}
	return string(md)
}

func errName(err *kerr.Error) string {
	if err == nil {
		return "ok"
	}
	return err.Message
}

func codeName(code int16) string {
	if code == 0 {
		return "ok"
	}
	return kerr.ErrorForCode(code).(*kerr.Error).Message
}

func duration(t *testing.T, d *datadriven.TestData, key string, def time.Duration) int32 {
	if !d.HasArg(key) {
		return int32(def / time.Millisecond)
	}
	var s string
	d.ScanArgs(t, key, &s)
	v, err := time.ParseDuration(s)
	if err != nil {
		d.Fatalf(t, "%s: %v", key, err)
	}
	return int32(v / time.Millisecond)
}

func (h *groupHarness) join(t *testing.T, d *datadriven.TestData, group string, say func(string, ...any)) {
	alias := h.member(t, d)
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = 9
	d.MaybeScanArgs(t, "v", &req.Version)
	req.Group = group
	last, ok := h.timeouts[alias]
	if !ok {
		last = [2]int32{30000, 60000}
	}
	req.SessionTimeoutMillis = duration(t, d, "session", time.Duration(last[0])*time.Millisecond)
	req.RebalanceTimeoutMillis = duration(t, d, "rebalance", time.Duration(last[1])*time.Millisecond)
	h.timeouts[alias] = [2]int32{req.SessionTimeoutMillis, req.RebalanceTimeoutMillis}
	req.ProtocolType = "consumer"
	d.MaybeScanArgs(t, "type", &req.ProtocolType)
	if !d.HasArg("fresh") {
		req.MemberID = h.memberID(d, alias)
	}
	if d.HasArg("instance") {
		var inst string
		d.ScanArgs(t, "instance", &inst)
		req.InstanceID = &inst
	}
	meta := "m-" + alias
	d.MaybeScanArgs(t, "meta", &meta)
	if arg, ok := d.Arg("subscribe"); ok {
		// A real consumer subscription, as Kafka clients encode it.
		cm := kmsg.NewConsumerMemberMetadata()
		cm.Topics = arg.Vals
		meta = string(cm.AppendTo(nil))
	}
	protocols := []string{"range"}
	if arg, ok := d.Arg("protocols"); ok {
		protocols = arg.Vals
	}
	for _, p := range protocols {
		req.Protocols = append(req.Protocols, kmsg.JoinGroupRequestProtocol{Name: p, Metadata: []byte(meta)})
	}
	ch := h.coord().joinGroup(req, clientInfo{clientID: alias, host: "/127.0.0.1"})
	poll := func() (string, bool) {
		select {
		case r := <-ch:
			return h.joinAnswer(alias, r), true
		default:
			return "", false
		}
	}
	if s, ok := poll(); ok {
		say("%s: %s", alias, s)
		return
	}
	say("%s: join pending", alias)
	h.waiting = append(h.waiting, waiter{alias, poll})
}

func (h *groupHarness) joinAnswer(alias string, r *kmsg.JoinGroupResponse) string {
	if r.ErrorCode != 0 {
		if r.ErrorCode == kerr.MemberIDRequired.Code {
			h.learn(alias, r.MemberID)
		}
		return "join " + codeName(r.ErrorCode)
	}
	h.learn(alias, r.MemberID)
	h.gens[alias] = r.Generation
	proto := ""
	if r.Protocol != nil {
		proto = *r.Protocol
	}
	leader := h.alias(r.LeaderID)
	if r.LeaderID == r.MemberID {
		leader += "(self)"
	}
	s := fmt.Sprintf("joined gen=%d leader=%s protocol=%s", r.Generation, leader, proto)
	if r.SkipAssignment {
		s += " skip-assignment"
	}
	if len(r.Members) > 0 {
		var ms []string
		for _, m := range r.Members {
			ms = append(ms, h.alias(m.MemberID)+"="+metaString(m.ProtocolMetadata))
		}
		s += " members=(" + strings.Join(ms, ",") + ")"
	}
	return s
}

func (h *groupHarness) sync(t *testing.T, d *datadriven.TestData, group string, say func(string, ...any)) {
	alias := h.member(t, d)
	req := kmsg.NewPtrSyncGroupRequest()
	req.Version = 5
	d.MaybeScanArgs(t, "v", &req.Version)
	req.Group, req.MemberID, req.Generation = group, h.memberID(d, alias), h.gens[alias]
	d.MaybeScanArgs(t, "gen", &req.Generation)
	if d.HasArg("instance") {
		var inst string
		d.ScanArgs(t, "instance", &inst)
		req.InstanceID = &inst
	}
	if arg, ok := d.Arg("assign"); ok {
		for _, v := range arg.Vals {
			who, what, _ := strings.Cut(v, ":")
			req.GroupAssignment = append(req.GroupAssignment, kmsg.SyncGroupRequestGroupAssignment{
				MemberID: h.ids[who], MemberAssignment: []byte(what)})
		}
	}
	ch := h.coord().syncGroup(req)
	poll := func() (string, bool) {
		select {
		case r := <-ch:
			if r.ErrorCode != 0 {
				return "sync " + codeName(r.ErrorCode), true
			}
			return fmt.Sprintf("synced assignment=%q", r.MemberAssignment), true
		default:
			return "", false
		}
	}
	if s, ok := poll(); ok {
		say("%s: %s", alias, s)
		return
	}
	say("%s: sync pending", alias)
	h.waiting = append(h.waiting, waiter{alias, poll})
}

func (h *groupHarness) leave(t *testing.T, d *datadriven.TestData, group string, say func(string, ...any)) {
	var members []leavingMember
	var names []string
	if arg, ok := d.Arg("m"); ok {
		for _, a := range arg.Vals {
			members = append(members, leavingMember{memberID: h.ids[a]})
			names = append(names, a)
		}
	}
	if d.HasArg("instance") {
		var inst string
		d.ScanArgs(t, "instance", &inst)
		members = append(members, leavingMember{instanceID: inst})
		names = append(names, "instance "+inst)
	}
	groupErr, errs := h.coord().leaveGroup(group, members)
	if groupErr != nil {
		say("leave: %s", groupErr.Message)
		return
	}
	for i, n := range names {
		say("%s: left %s", n, errName(errs[i]))
	}
}

// partitions parses (t/0,t/1) or (t/0=5,...) lists.
func (h *groupHarness) partitions(t *testing.T, d *datadriven.TestData, key string) []topicPartition {
	arg, ok := d.Arg(key)
	if !ok {
		return nil
	}
	var out []topicPartition
	for _, v := range arg.Vals {
		v, _, _ = strings.Cut(v, "=")
		name, p, _ := strings.Cut(v, "/")
		n, err := strconv.Atoi(p)
		if err != nil {
			d.Fatalf(t, "bad partition %q", v)
		}
		out = append(out, topicPartition{name, int32(n)})
	}
	return out
}

func (h *groupHarness) commit(t *testing.T, d *datadriven.TestData, group string, say func(string, ...any)) {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 9
	d.MaybeScanArgs(t, "v", &req.Version)
	req.Group = group
	if d.HasArg("m") {
		alias := h.member(t, d)
		req.MemberID, req.Generation = h.ids[alias], h.gens[alias]
		if _, ok := h.epochs[alias]; ok {
			req.Generation = h.epochs[alias]
		}
	}
	d.MaybeScanArgs(t, "gen", &req.Generation)
	arg, _ := d.Arg("offsets")
	for _, v := range arg.Vals {
		tpPart, off, _ := strings.Cut(v, "=")
		name, p, _ := strings.Cut(tpPart, "/")
		pn, _ := strconv.Atoi(p)
		o, _ := strconv.ParseInt(off, 10, 64)
		md := "md"
		req.Topics = append(req.Topics, kmsg.OffsetCommitRequestTopic{Topic: name, Partitions: []kmsg.OffsetCommitRequestTopicPartition{
			{Partition: int32(pn), Offset: o, LeaderEpoch: 0, Metadata: &md}}})
	}
	resp, st := h.coord().commitOffsets(req)
	serr := waitStored(st.p, st.end)
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			code := rp.ErrorCode
			if code == 0 && serr != nil {
				code = serr.Code
			}
			say("%s/%d: %s", rt.Topic, rp.Partition, codeName(code))
		}
	}
}

func (h *groupHarness) fetch(t *testing.T, d *datadriven.TestData, group string, say func(string, ...any)) {
	var topics []kmsg.OffsetFetchRequestGroupTopic
	for _, tp := range h.partitions(t, d, "offsets") {
		topics = append(topics, kmsg.OffsetFetchRequestGroupTopic{Topic: tp.topic, Partitions: []int32{tp.partition}})
	}
	var memberID *string
	epoch := int32(-1)
	if d.HasArg("m") {
		id := h.ids[h.member(t, d)]
		memberID = &id
		d.MaybeScanArgs(t, "epoch", &epoch)
	}
	got, err := h.coord().fetchOffsets(group, memberID, epoch, topics)
	if err != nil {
		say("error %s", err.Message)
		return
	}
	if len(got) == 0 {
		say("no offsets")
	}
	for _, gt := range got {
		for _, gp := range gt.Partitions {
			say("%s/%d: offset=%d epoch=%d metadata=%q", gt.Topic, gp.Partition, gp.Offset, gp.LeaderEpoch, *gp.Metadata)
		}
	}
}

func (h *groupHarness) state(group string) string {
	g := h.coord().lookup(group)
	if g == nil {
		return "no group"
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.kind == kindConsumer {
		cg := g.consumer
		s := fmt.Sprintf("consumer state=%s epoch=%d assignment-epoch=%d", cg.stateName(), cg.groupEpoch, cg.assignmentEpoch)
		for _, m := range cg.memberList() {
			s += fmt.Sprintf("\n  %s epoch=%d state=%s assigned=%s revoking=%s target=%s", h.alias(m.id), m.epoch, m.state,
				h.partSetString(m.assigned), h.partSetString(m.revoking), h.partSetString(cg.target[m.id]))
			if m.left {
				s += " left"
			}
		}
		return s
	}
	cl := &g.classic
	var ms []string
	for _, m := range cl.memberList() {
		s := h.alias(m.id)
		if m.instanceID != "" {
			s += "(" + m.instanceID + ")"
		}
		ms = append(ms, s)
	}
	return fmt.Sprintf("%s gen=%d protocol=%s leader=%s members=(%s) offsets=%d", g.state, cl.generation, cl.protocol,
		h.alias(cl.leader), strings.Join(ms, ","), len(g.offsets))
}

// records prints __consumer_offsets as Kafka tools would decode it.
func (h *groupHarness) records(t *testing.T, say func(string, ...any)) {
	ot := h.b.topicByName(offsetsTopicName)
	if ot == nil {
		say("no %s", offsetsTopicName)
		return
	}
	for _, p := range ot.partitions {
		data, err := p.log.AppendRead(nil, p.log.StartOffset(), 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		for len(data) > 0 {
			n := int(binary.BigEndian.Uint32(data[8:])) + 12
			batch := data[:n]
			data = data[n:]
			base := int64(binary.BigEndian.Uint64(batch))
			i := int64(0)
			err := eachRecord(batch, func(k, v []byte) {
				prefix := fmt.Sprintf("p%d@%d ", p.index, base+i)
				i++
				switch binary.BigEndian.Uint16(k) {
				case 0, 1:
					var key kmsg.OffsetCommitKey
					_ = key.ReadFrom(k)
					if v == nil {
						say("%soffset v%d %s %s/%d: tombstone", prefix, key.Version, key.Group, key.Topic, key.Partition)
						return
					}
					var val kmsg.OffsetCommitValue
					if err := val.ReadFrom(v); err != nil {
						t.Fatal(err)
					}
					say("%soffset v%d %s %s/%d: v%d offset=%d epoch=%d metadata=%q", prefix, key.Version, key.Group, key.Topic,
						key.Partition, val.Version, val.Offset, val.LeaderEpoch, val.Metadata)
				case 2:
					var key kmsg.GroupMetadataKey
					_ = key.ReadFrom(k)
					if v == nil {
						say("%sgroup v%d %s: tombstone", prefix, key.Version, key.Group)
						return
					}
					var val kmsg.GroupMetadataValue
					if err := val.ReadFrom(v); err != nil {
						t.Fatal(err)
					}
					proto, leader := "", ""
					if val.Protocol != nil {
						proto = *val.Protocol
					}
					if val.Leader != nil {
						leader = h.alias(*val.Leader)
					}
					var ms []string
					for _, m := range val.Members {
						s := h.alias(m.MemberID)
						if m.InstanceID != nil {
							s += "(" + *m.InstanceID + ")"
						}
						ms = append(ms, fmt.Sprintf("%s:%q", s, m.Assignment))
					}
					say("%sgroup v%d %s: v%d type=%s gen=%d protocol=%s leader=%s members=(%s)", prefix, key.Version, key.Group,
						val.Version, val.ProtocolType, val.Generation, proto, leader, strings.Join(ms, ","))
				}
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

func (h *groupHarness) topicName(id [16]byte) string {
	if t := h.b.topicByID(id); t != nil {
		return t.name
	}
	return "?"
}

func (h *groupHarness) partSetString(s partSet) string {
	var parts []string
	for t, ps := range s {
		for _, p := range ps {
			parts = append(parts, fmt.Sprintf("%s/%d", h.topicName(t), p))
		}
	}
	sort.Strings(parts)
	return "(" + strings.Join(parts, ",") + ")"
}

func (h *groupHarness) consumerHeartbeat(t *testing.T, d *datadriven.TestData, group string, say func(string, ...any)) {
	alias := h.member(t, d)
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Version = 1
	req.Group, req.MemberID = group, alias
	h.learn(alias, alias)
	req.MemberEpoch = h.epochs[alias]
	d.MaybeScanArgs(t, "epoch", &req.MemberEpoch)
	if d.HasArg("leave") {
		req.MemberEpoch = -1
		if d.HasArg("instance") {
			req.MemberEpoch = -2
		}
	}
	if d.HasArg("instance") {
		var inst string
		d.ScanArgs(t, "instance", &inst)
		req.InstanceID = &inst
	}
	if arg, ok := d.Arg("topics"); ok {
		req.SubscribedTopicNames = arg.Vals
	}
	if d.HasArg("regex") {
		var re string
		d.ScanArgs(t, "regex", &re)
		req.SubscribedTopicRegex = &re
	}
	if d.HasArg("assignor") {
		var a string
		d.ScanArgs(t, "assignor", &a)
		req.ServerAssignor = &a
	}
	if req.MemberEpoch == 0 {
		req.RebalanceTimeoutMillis = duration(t, d, "rebalance", 30*time.Second)
		req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		if req.SubscribedTopicNames == nil && req.SubscribedTopicRegex == nil {
			req.SubscribedTopicNames = []string{}
		}
	}
	// owned: by default what the client was last given (it revokes at
	// once); keep reports what it had before; an explicit list says so.
	if arg, ok := d.Arg("owned"); ok && req.MemberEpoch > 0 {
		if len(arg.Vals) == 1 && arg.Vals[0] == "keep" {
			req.Topics = nil
		} else {
			req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
			for _, tp := range h.partitions(t, d, "owned") {
				req.Topics = append(req.Topics, kmsg.ConsumerGroupHeartbeatRequestTopic{
					TopicID: h.b.topicByName(tp.topic).id, Partitions: []int32{tp.partition}})
			}
		}
	} else if req.MemberEpoch > 0 {
		req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		for _, id := range sortedIDs(h.owned[alias]) {
			req.Topics = append(req.Topics, kmsg.ConsumerGroupHeartbeatRequestTopic{TopicID: id, Partitions: h.owned[alias][id]})
		}
	}
	r := h.coord().consumerHeartbeat(req, clientInfo{clientID: alias, host: "/127.0.0.1"})
	if r.ErrorCode != 0 {
		msg := ""
		if r.ErrorMessage != nil {
			msg = " (" + *r.ErrorMessage + ")"
		}
		say("%s: %s%s", alias, codeName(r.ErrorCode), msg)
		return
	}
	h.epochs[alias] = r.MemberEpoch
	if r.MemberEpoch < 0 {
		delete(h.epochs, alias)
		delete(h.owned, alias)
	}
	s := fmt.Sprintf("%s: epoch=%d", alias, r.MemberEpoch)
	if r.Assignment != nil {
		ps := partSet{}
		for _, at := range r.Assignment.Topics {
			ps[at.TopicID] = at.Partitions
		}
		h.owned[alias] = ps
		s += " assignment=" + h.partSetString(ps)
	}
	say("%s", s)
}

func (h *groupHarness) describeConsumer(group string, say func(string, ...any)) {
	dg := h.coord().describeConsumerGroup(group)
	if dg.ErrorCode != 0 {
		say("error %s", codeName(dg.ErrorCode))
		return
	}
	say("state=%s epoch=%d assignment-epoch=%d assignor=%s", dg.State, dg.Epoch, dg.AssignmentEpoch, dg.AssignorName)
	for _, m := range dg.Members {
		var a, ta []string
		for _, tp := range m.Assignment.TopicPartitions {
			for _, p := range tp.Partitions {
				a = append(a, fmt.Sprintf("%s/%d", tp.Topic, p))
			}
		}
		for _, tp := range m.TargetAssignment.TopicPartitions {
			for _, p := range tp.Partitions {
				ta = append(ta, fmt.Sprintf("%s/%d", tp.Topic, p))
			}
		}
		say("  %s epoch=%d topics=%v assigned=(%s) target=(%s)", h.alias(m.MemberID), m.MemberEpoch, m.SubscribedTopics,
			strings.Join(a, ","), strings.Join(ta, ","))
	}
}
