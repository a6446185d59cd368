package assignor

import (
	"fmt"
	"sort"

	"github.com/runnel-dev/runnel/sdk"
)

// problem is an assignment input indexed for the assignors.
type problem struct {
	members []sdk.GroupMember // sorted by member id
	topics  []sdk.TopicPartitions
	byName  map[string]int // topic name → index in topics
	// subscribers lists, per topic index, the indexes of the members
	// subscribing to it, ascending.
	subscribers [][]int
}

func newProblem(in sdk.AssignmentInput) (*problem, error) {
	p := &problem{
		members: append([]sdk.GroupMember(nil), in.Members...),
		topics:  append([]sdk.TopicPartitions(nil), in.Topics...),
		byName:  make(map[string]int, len(in.Topics)),
	}
	sort.Slice(p.members, func(i, j int) bool { return p.members[i].MemberID < p.members[j].MemberID })
	sort.Slice(p.topics, func(i, j int) bool { return p.topics[i].Topic < p.topics[j].Topic })
	for i, t := range p.topics {
		if _, dup := p.byName[t.Topic]; dup {
			return nil, fmt.Errorf("topic %q listed twice", t.Topic)
		}
		p.byName[t.Topic] = i
	}
	p.subscribers = make([][]int, len(p.topics))
	for mi, m := range p.members {
		if mi > 0 && p.members[mi-1].MemberID == m.MemberID {
			return nil, fmt.Errorf("member %q listed twice", m.MemberID)
		}
		seen := map[int]bool{}
		for _, name := range m.Subscribed {
			if ti, ok := p.byName[name]; ok && !seen[ti] {
				seen[ti] = true
				p.subscribers[ti] = append(p.subscribers[ti], mi)
			}
		}
	}
	for ti := range p.subscribers {
		sort.Ints(p.subscribers[ti])
	}
	return p, nil
}

// result collects partitions per member and builds the sdk.Assignment,
// with topics and partitions in order.
type result struct {
	p     *problem
	parts [][][]int32 // member index → topic index → partitions
}

func newResult(p *problem) *result {
	r := &result{p: p, parts: make([][][]int32, len(p.members))}
	for i := range r.parts {
		r.parts[i] = make([][]int32, len(p.topics))
	}
	return r
}

func (r *result) add(member, topic int, partition int32) {
	r.parts[member][topic] = append(r.parts[member][topic], partition)
}

func (r *result) assignment() sdk.Assignment {
	out := sdk.Assignment{Members: make(map[string][]sdk.TopicPartitions, len(r.p.members))}
	for mi, m := range r.p.members {
		tps := []sdk.TopicPartitions{}
		for ti, ps := range r.parts[mi] {
			if len(ps) == 0 {
				continue
			}
			sorted := append([]int32(nil), ps...)
			sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
			t := r.p.topics[ti]
			tps = append(tps, sdk.TopicPartitions{Topic: t.Topic, TopicID: t.TopicID, Partitions: sorted})
		}
		out.Members[m.MemberID] = tps
	}
	return out
}
