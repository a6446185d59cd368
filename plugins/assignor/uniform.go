package assignor

import (
	"sort"

	"github.com/runnel-dev/runnel/sdk"
)

// Uniform spreads the partitions of the subscribed topics evenly over the
// members subscribing to each, and is sticky: a member keeps the
// partitions it owns (sdk.GroupMember.Owned) unless balance requires
// moving them. With identical subscriptions every member ends with the
// same number of partitions, give or take one; with differing ones no
// single partition can move to a less loaded subscriber of its topic.
//
// It works in three passes: members keep what they own and may still
// consume; the remaining partitions go, those with fewest candidates
// first, to their least loaded subscriber; then partitions move from
// loaded members to subscribers with at least two fewer until none can.
type Uniform struct{}

var _ sdk.Assignor = (*Uniform)(nil)

// Name implements sdk.Assignor.
func (*Uniform) Name() string { return "uniform" }

type tp struct {
	topic     int // index in problem.topics
	partition int32
}

// Assign implements sdk.Assignor.
func (*Uniform) Assign(in sdk.AssignmentInput) (sdk.Assignment, error) {
	p, err := newProblem(in)
	if err != nil {
		return sdk.Assignment{}, err
	}
	subscribed := make([]map[int]bool, len(p.members))
	for i := range subscribed {
		subscribed[i] = map[int]bool{}
	}
	for ti, subs := range p.subscribers {
		for _, mi := range subs {
			subscribed[mi][ti] = true
		}
	}
	exists := make([]map[int32]bool, len(p.topics))
	var all []tp
	for ti, t := range p.topics {
		exists[ti] = make(map[int32]bool, len(t.Partitions))
		for _, part := range t.Partitions {
			exists[ti][part] = true
			if len(p.subscribers[ti]) > 0 {
				all = append(all, tp{ti, part})
			}
		}
	}
	owner := make(map[tp]int, len(all))
	count := make([]int, len(p.members))

	// 1. Keep what is owned and still valid.
	for mi, m := range p.members {
		for _, o := range m.Owned {
			ti, ok := p.byName[o.Topic]
			if !ok || !subscribed[mi][ti] {
				continue
			}
			for _, part := range o.Partitions {
				k := tp{ti, part}
				if _, taken := owner[k]; taken || !exists[ti][part] {
					continue
				}
				owner[k] = mi
				count[mi]++
			}
		}
	}

	// 2. Place the rest, the most constrained first, on the least loaded
	// candidate.
	var free []tp
	for _, k := range all {
		if _, ok := owner[k]; !ok {
			free = append(free, k)
		}
	}
	sort.SliceStable(free, func(i, j int) bool {
		return len(p.subscribers[free[i].topic]) < len(p.subscribers[free[j].topic])
	})
	for _, k := range free {
		best := -1
		for _, mi := range p.subscribers[k.topic] {
			if best < 0 || count[mi] < count[best] {
				best = mi
			}
		}
		owner[k] = best
		count[best]++
	}

	// 3. Balance: move a partition from its owner to the least loaded
	// subscriber of its topic while that evens counts out. Each move
	// lowers the sum of squared counts, so this ends.
	for moved := true; moved; {
		moved = false
		for _, k := range all {
			from := owner[k]
			to := from
			for _, mi := range p.subscribers[k.topic] {
				if count[mi] < count[to] {
					to = mi
				}
			}
			if count[to] < count[from]-1 {
				owner[k] = to
				count[from]--
				count[to]++
				moved = true
			}
		}
	}

	r := newResult(p)
	for _, k := range all {
		r.add(owner[k], k.topic, k.partition)
	}
	return r.assignment(), nil
}
