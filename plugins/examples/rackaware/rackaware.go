package main

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"

	"github.com/runnel-dev/runnel/sdk"
)

// RackAware is a KIP-848 server-side assignor that spreads each topic's
// partitions evenly over the members subscribing to it and prefers to
// give a partition to a member in the rack that owns the partition.
//
// Runnel keeps every replica in one rack today, so partitions have no
// rack of their own to read. RackAware defines one: for each topic, the
// distinct RackIDs of the topic's subscribers, sorted, own the partitions
// round-robin — partition p belongs to racks[p % len(racks)]. Members
// without a RackID form a rack named "". Taking the racks from the
// topic's subscribers rather than from the whole group means every rack
// that owns a partition has a member that may consume it. The price is
// that ownership shifts when a rack's last subscriber joins or leaves;
// a broker that places replicas across racks would take the owning rack
// from the partition leader instead, and nothing else here would change.
//
// Within a topic of n partitions and m subscribers each subscriber gets
// n/m or n/m+1 partitions, and exactly n%m of them get the larger share,
// so no subscriber has more than one partition above another. Within
// that quota the assignment is built in passes, each handing out only
// partitions still free:
//
//  1. every member keeps the partitions it owns (sdk.GroupMember.Owned)
//     that belong to its rack, up to n/m;
//  2. the rack's other partitions go to its members still under n/m,
//     least loaded first;
//  3. and 4. the same two passes again, now for the n%m larger shares;
//  5. every member keeps what else it owns, within its quota;
//  6. what is left goes to the least loaded subscriber with room.
//
// Filling every member up to n/m before handing out any larger share
// makes the result as rack-local as a balanced assignment can be: each
// rack first gets as many of its partitions as its members' base shares
// hold, and then every larger share that goes to a rack with partitions
// left over places one more of them. A partition that stays remote found
// every member of its rack full. Stickiness never costs locality, and
// locality wins over keeping a remote partition: feeding an assignment
// back as Owned with the same members returns it unchanged, and when a
// member leaves, the others keep every rack-local partition they had
// (unless the topic's rack set changed with it), while a remote one may
// move to a member of its rack that has room now.
//
// Ties between members go to the one with fewer partitions of any topic
// so far (topics are handled in name order), then to the lower member
// id, so the same input always gives the same assignment whatever the
// order of members, topics and partitions in it.
//
// The zero value is ready to use and safe for concurrent use.
type RackAware struct {
	// Logger receives one line per assignment; nil logs nothing.
	Logger *slog.Logger
}

var _ sdk.Assignor = (*RackAware)(nil)

// Name implements sdk.Assignor.
func (*RackAware) Name() string { return "rackaware" }

// Assign implements sdk.Assignor.
func (a *RackAware) Assign(in sdk.AssignmentInput) (sdk.Assignment, error) {
	out, st, err := assign(in)
	if a.Logger != nil {
		if err != nil {
			a.Logger.Warn("assignment refused", "group", in.GroupID, "members", len(in.Members), "err", err)
		} else {
			a.Logger.Info("assignment", "group", in.GroupID, "members", len(in.Members),
				"partitions", st.partitions, "rack_local", st.local, "kept", st.kept)
		}
	}
	return out, err
}

// stats describes an assignment for the log line.
type stats struct {
	partitions int // assigned
	local      int // assigned to a member of the partition's rack
	kept       int // assigned to the member that owned it before
}

// member is a group member as the assignment sees it.
type member struct {
	id    string
	rack  string
	subs  map[string]bool    // subscribed topic names
	owned map[string][]int32 // topic name → owned partitions, ascending
	total int                // partitions assigned so far, all topics
	out   []sdk.TopicPartitions
}

func assign(in sdk.AssignmentInput) (sdk.Assignment, stats, error) {
	var st stats
	members := make([]*member, 0, len(in.Members))
	for _, gm := range in.Members {
		m := &member{
			id:    gm.MemberID,
			rack:  gm.RackID,
			subs:  make(map[string]bool, len(gm.Subscribed)),
			owned: make(map[string][]int32, len(gm.Owned)),
			out:   []sdk.TopicPartitions{},
		}
		for _, t := range gm.Subscribed {
			m.subs[t] = true
		}
		for _, o := range gm.Owned {
			m.owned[o.Topic] = append(m.owned[o.Topic], o.Partitions...)
		}
		for _, ps := range m.owned {
			slices.Sort(ps)
		}
		members = append(members, m)
	}
	slices.SortFunc(members, func(a, b *member) int { return cmp.Compare(a.id, b.id) })
	for i := 1; i < len(members); i++ {
		if members[i].id == members[i-1].id {
			return sdk.Assignment{}, st, fmt.Errorf("member %q listed twice", members[i].id)
		}
	}

	topics := slices.Clone(in.Topics)
	slices.SortFunc(topics, func(a, b sdk.TopicPartitions) int { return cmp.Compare(a.Topic, b.Topic) })
	for i := 1; i < len(topics); i++ {
		if topics[i].Topic == topics[i-1].Topic {
			return sdk.Assignment{}, st, fmt.Errorf("topic %q listed twice", topics[i].Topic)
		}
	}

	for _, t := range topics {
		var subs []*member
		for _, m := range members {
			if m.subs[t.Topic] {
				subs = append(subs, m)
			}
		}
		if len(subs) == 0 {
			continue
		}
		parts := slices.Clone(t.Partitions)
		slices.Sort(parts)
		for i := 1; i < len(parts); i++ {
			if parts[i] == parts[i-1] {
				return sdk.Assignment{}, st, fmt.Errorf("topic %q lists partition %d twice", t.Topic, parts[i])
			}
		}
		plan := newTopicPlan(t.Topic, parts, subs)
		plan.run()
		plan.collect(t, &st)
	}

	out := sdk.Assignment{Members: make(map[string][]sdk.TopicPartitions, len(members))}
	for _, m := range members {
		out.Members[m.id] = m.out
	}
	return out, st, nil
}

// topicPlan assigns the partitions of one topic to its subscribers.
type topicPlan struct {
	topic string
	parts []int32   // ascending
	subs  []*member // the topic's subscribers, by member id
	racks []string  // distinct racks of subs, ascending

	// Quota: every subscriber gets base partitions, extra of them one
	// more. extra counts the larger shares not yet handed out.
	base, extra int

	count []int         // subscriber index → partitions of this topic
	owner map[int32]int // partition → subscriber index
}

func newTopicPlan(topic string, parts []int32, subs []*member) *topicPlan {
	p := &topicPlan{
		topic: topic,
		parts: parts,
		subs:  subs,
		base:  len(parts) / len(subs),
		extra: len(parts) % len(subs),
		count: make([]int, len(subs)),
		owner: make(map[int32]int, len(parts)),
	}
	for _, m := range subs {
		p.racks = append(p.racks, m.rack)
	}
	slices.Sort(p.racks)
	p.racks = slices.Compact(p.racks)
	return p
}

// rackOf returns the rack that owns partition part.
func (p *topicPlan) rackOf(part int32) string {
	n := int64(len(p.racks))
	return p.racks[((int64(part)%n)+n)%n]
}

// room reports whether subscriber i may take one more partition; with
// withExtra false, only while it is under the base share.
func (p *topicPlan) room(i int, withExtra bool) bool {
	c := p.count[i]
	return c < p.base || withExtra && c == p.base && p.extra > 0
}

func (p *topicPlan) give(part int32, i int) {
	if p.count[i] == p.base {
		p.extra--
	}
	p.count[i]++
	p.subs[i].total++
	p.owner[part] = i
}

func (p *topicPlan) free(part int32) bool {
	_, taken := p.owner[part]
	return !taken
}

// less orders candidates: fewer partitions of this topic, then fewer of
// all topics, then lower member id.
func (p *topicPlan) less(i, j int) bool {
	if p.count[i] != p.count[j] {
		return p.count[i] < p.count[j]
	}
	if p.subs[i].total != p.subs[j].total {
		return p.subs[i].total < p.subs[j].total
	}
	return i < j
}

func (p *topicPlan) run() {
	exists := make(map[int32]bool, len(p.parts))
	for _, part := range p.parts {
		exists[part] = true
	}
	// keep hands members the free partitions they own, local ones only
	// or any, within their quota.
	keep := func(localOnly, withExtra bool) {
		for i, m := range p.subs {
			for _, part := range m.owned[p.topic] {
				if !exists[part] || !p.free(part) || localOnly && p.rackOf(part) != m.rack {
					continue
				}
				if !p.room(i, withExtra) {
					break
				}
				p.give(part, i)
			}
		}
	}
	// place hands each free partition to the least loaded candidate with
	// room, among the members of its rack or among all subscribers.
	place := func(localOnly, withExtra bool) {
		for _, part := range p.parts {
			if !p.free(part) {
				continue
			}
			rack, best := p.rackOf(part), -1
			for i, m := range p.subs {
				if localOnly && m.rack != rack || !p.room(i, withExtra) {
					continue
				}
				if best < 0 || p.less(i, best) {
					best = i
				}
			}
			if best >= 0 {
				p.give(part, best)
			}
		}
	}
	keep(true, false)
	place(true, false)
	keep(true, true)
	place(true, true)
	keep(false, true)
	place(false, true)
}

// collect appends the plan's result to its members' assignments.
func (p *topicPlan) collect(t sdk.TopicPartitions, st *stats) {
	per := make([][]int32, len(p.subs))
	for _, part := range p.parts { // ascending, so each list is too
		i := p.owner[part]
		per[i] = append(per[i], part)
		st.partitions++
		m := p.subs[i]
		if m.rack == p.rackOf(part) {
			st.local++
		}
		if _, owned := slices.BinarySearch(m.owned[p.topic], part); owned {
			st.kept++
		}
	}
	for i, m := range p.subs {
		if len(per[i]) > 0 {
			m.out = append(m.out, sdk.TopicPartitions{Topic: t.Topic, TopicID: t.TopicID, Partitions: per[i]})
		}
	}
}
