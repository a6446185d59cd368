package kernel

import (
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf16"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/runnel-dev/runnel/kernel/config"
	"github.com/runnel-dev/runnel/sdk"
)

// The group coordinator. This broker is the coordinator of every group:
// FindCoordinator always names it. Each group lives in memory as a group
// (group.go) whose committed offsets and classic-protocol metadata are
// also written, in Kafka's own record formats, to the internal compacted
// topic __consumer_offsets (offsets_log.go), which is read back at start.
// The partition of a group is abs(javaHashCode(group)) % partitions, as
// in Kafka, so tools that read the topic (Burrow) find what they expect.
//
// Two protocols share the groups map: the classic one (JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup; group_classic.go), where a leader
// member assigns partitions, and KIP-848's (ConsumerGroupHeartbeat;
// group_consumer.go), where the broker assigns through an sdk.Assignor.
// A group is of one kind at a time; an empty group converts on demand.
//
// Nothing here blocks a request goroutine: a JoinGroup or SyncGroup that
// must wait for other members registers a waiter under the group's lock
// and its handler answers through the router's deferred response. Timers
// (sessions, rebalance and sync timeouts, the initial rebalance delay)
// run their callbacks under the group's lock; a cancelled timer whose
// callback already started finds itself cancelled and does nothing.
//
// Locks. c.mu guards c.groups. g.mu guards everything in a group. A
// goroutine holding a g.mu may take c.mu (to remove a dead group), the
// broker's metaMu and mu (to create __consumer_offsets, to look topics
// up) and a partition's locks (to append to __consumer_offsets); never
// take a g.mu while holding any of those, and never hold two groups'
// locks at once. Offset commits wait for durability after the group's
// lock is released, in the deferred part of their response.

// offsetsTopicName is Kafka's internal topic for offsets and groups.
const offsetsTopicName = "__consumer_offsets"

// clock is time as the coordinator sees it: real in the broker, manual in
// the state-machine tests.
type clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) stopper
}

type stopper interface{ Stop() bool }

type realClock struct{}

func (realClock) Now() time.Time                              { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) }

// coordinator runs the groups of one broker.
type coordinator struct {
	b     *Broker
	cfg   config.Broker
	log   *slog.Logger
	clock clock
	// assignors are the server-side assignors of KIP-848 groups, the
	// first being the default; empty disables KIP-848.
	assignors []sdk.Assignor

	// topic is __consumer_offsets once it exists.
	topic    atomic.Pointer[topic]
	createMu sync.Mutex // serializes its creation

	// mu guards groups. REQUIRES: never taken before a group's mu.
	mu     sync.RWMutex
	groups map[string]*group

	closed atomic.Bool
	done   chan struct{} // closed by stop: ends the expiry loop
	wg     sync.WaitGroup
}

func newCoordinator(b *Broker, assignors []sdk.Assignor, clk clock) *coordinator {
	if clk == nil {
		clk = realClock{}
	}
	return &coordinator{
		b:         b,
		cfg:       b.cfg,
		log:       b.log.With("component", "group-coordinator"),
		clock:     clk,
		assignors: assignors,
		groups:    make(map[string]*group),
		done:      make(chan struct{}),
	}
}

// start loads every group and offset __consumer_offsets holds, when it
// exists, and starts the offsets-expiry loop. Like Kafka, the broker
// creates the topic on first use by a group, not before: a broker that
// never sees a group has no such topic.
func (c *coordinator) start() error {
	for _, pin := range c.cfg.Plugins.AssignorGroups {
		if c.assignor(pin.Assignor) == nil {
			names := make([]string, 0, len(c.assignors))
			for _, a := range c.assignors {
				names = append(names, a.Name())
			}
			return fmt.Errorf("plugin.assignor.groups: group %s is pinned to assignor %q, which the broker does not have (it has: %s)",
				pin.Group, pin.Assignor, strings.Join(names, ", "))
		}
	}
	if t := c.b.topicByName(offsetsTopicName); t != nil {
		c.topic.Store(t)
		if err := c.load(t); err != nil {
			return err
		}
	}
	c.wg.Add(1)
	go c.expiryLoop()
	return nil
}

// offsetsTopic returns __consumer_offsets, creating it on first use with
// offsets.topic.num.partitions partitions and cleanup.policy=compact.
func (c *coordinator) offsetsTopic() (*topic, *kerr.Error) {
	if t := c.topic.Load(); t != nil && c.b.topicByName(offsetsTopicName) == t {
		return t, nil
	}
	c.createMu.Lock()
	defer c.createMu.Unlock()
	t := c.b.topicByName(offsetsTopicName)
	if t == nil {
		var terr *topicError
		t, terr = c.b.createTopic(offsetsTopicName, c.cfg.OffsetsTopicNumPartitions, -1,
			map[string]string{"cleanup.policy": "compact"}, false)
		if terr != nil && terr.code == kerr.TopicAlreadyExists.Code {
			t, terr = c.b.topicByName(offsetsTopicName), nil
		}
		if terr != nil || t == nil {
			c.log.Error("could not create "+offsetsTopicName, "error", terr)
			return nil, kerr.CoordinatorNotAvailable
		}
	}
	c.topic.Store(t)
	return t, nil
}

// stop ends the timers and the expiry loop. Parked requests answer on
// their own when the broker closes.
func (c *coordinator) stop() {
	if c.closed.Swap(true) {
		return
	}
	close(c.done)
	c.wg.Wait()
	c.mu.RLock()
	groups := make([]*group, 0, len(c.groups))
	for _, g := range c.groups {
		groups = append(groups, g)
	}
	c.mu.RUnlock()
	for _, g := range groups {
		g.mu.Lock()
		g.stopTimers()
		g.mu.Unlock()
	}
}

// partitionFor is Kafka's placement of a group on __consumer_offsets:
// Utils.abs(groupId.hashCode()) % partitions, where abs maps MinInt32 to 0.
func partitionFor(groupID string, partitions int) int32 {
	h := javaStringHash(groupID)
	if h == -1<<31 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return h % int32(partitions)
}

// javaStringHash is java.lang.String.hashCode: s[0]*31^(n-1) + ... over
// UTF-16 code units, in wrapping int arithmetic.
func javaStringHash(s string) int32 {
	var h int32
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		for i := 0; i < len(s); i++ {
			h = 31*h + int32(s[i])
		}
		return h
	}
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}

// offsetsPartition returns the __consumer_offsets partition of a group,
// nil when the topic cannot be had.
func (c *coordinator) offsetsPartition(groupID string) *partition {
	t, err := c.offsetsTopic()
	if err != nil {
		return nil
	}
	return t.partitions[partitionFor(groupID, len(t.partitions))]
}

// available reports the error for a group whose offsets partition
// cannot take writes: COORDINATOR_NOT_AVAILABLE, as Kafka answers while
// it has no leader for the partition. nil when all is well.
func (c *coordinator) available(groupID string) *kerr.Error {
	if c.closed.Load() || c.b.isClosing() {
		return kerr.CoordinatorNotAvailable
	}
	p := c.offsetsPartition(groupID)
	if p == nil || p.offline.Load() || p.deleted.Load() {
		return kerr.CoordinatorNotAvailable
	}
	return nil
}

// lookup returns the group named id, or nil.
func (c *coordinator) lookup(id string) *group {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.groups[id]
}

// lockGroup returns the live group named id with its lock held, creating
// it (as an empty classic group) when create is set. It returns nil when
// the group does not exist and create is not set. A group deleted while
// we waited for its lock is looked up again.
func (c *coordinator) lockGroup(id string, create bool) *group {
	for {
		g := c.lookup(id)
		if g == nil {
			if !create {
				return nil
			}
			c.mu.Lock()
			if g = c.groups[id]; g == nil {
				g = newGroup(c, id)
				c.groups[id] = g
			}
			c.mu.Unlock()
		}
		g.mu.Lock()
		if g.state != stateDead {
			return g
		}
		g.mu.Unlock()
	}
}

// removeGroup drops a dead group from the map.
// REQUIRES: g.mu held, g.state == stateDead.
func (c *coordinator) removeGroup(g *group) {
	c.mu.Lock()
	if c.groups[g.id] == g {
		delete(c.groups, g.id)
	}
	c.mu.Unlock()
}

// allGroups returns the groups sorted by id.
func (c *coordinator) allGroups() []*group {
	c.mu.RLock()
	gs := make([]*group, 0, len(c.groups))
	for _, g := range c.groups {
		gs = append(gs, g)
	}
	c.mu.RUnlock()
	sort.Slice(gs, func(i, j int) bool { return gs[i].id < gs[j].id })
	return gs
}

// offsetsCheckInterval is how often expired offsets are looked for
// (Kafka's offsets.retention.check.interval.ms default is ten minutes).
const offsetsCheckInterval = 10 * time.Minute

func (c *coordinator) expiryLoop() {
	defer c.wg.Done()
	t := time.NewTicker(offsetsCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			c.expireOffsets()
		}
	}
}

// assignor returns the server-side assignor named name, or the default
// for "". nil when there is no such assignor.
func (c *coordinator) assignor(name string) sdk.Assignor {
	if len(c.assignors) == 0 {
		return nil
	}
	if name == "" {
		return c.assignors[0]
	}
	for _, a := range c.assignors {
		if a.Name() == name {
			return a
		}
	}
	return nil
}

// clientInfo identifies the connection a group request came from.
type clientInfo struct {
	clientID, host string
}

func (rc *reqCtx) client() clientInfo {
	ci := clientInfo{clientID: rc.header.clientID}
	if rc.conn != nil && rc.conn.RemoteAddr() != nil {
		// Kafka shows hosts as InetAddress.toString does: "/127.0.0.1".
		addr := rc.conn.RemoteAddr().String()
		if host, _, err := net.SplitHostPort(addr); err == nil {
			addr = host
		}
		ci.host = "/" + addr
	}
	return ci
}
