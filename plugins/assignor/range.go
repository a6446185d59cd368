package assignor

import "github.com/runnel-dev/runnel/sdk"

// Range gives each member a contiguous range of the partitions of every
// topic it subscribes to: with n partitions and m subscribers in member
// id order, the first n%m members get n/m+1 partitions, the others n/m.
// Topics with the same partition count and subscribers are therefore
// assigned alike (co-partitioned), which joins rely on. It is not
// sticky: a change of members shifts the ranges.
type Range struct{}

var _ sdk.Assignor = (*Range)(nil)

// Name implements sdk.Assignor.
func (*Range) Name() string { return "range" }

// Assign implements sdk.Assignor.
func (*Range) Assign(in sdk.AssignmentInput) (sdk.Assignment, error) {
	p, err := newProblem(in)
	if err != nil {
		return sdk.Assignment{}, err
	}
	r := newResult(p)
	for ti, t := range p.topics {
		subs := p.subscribers[ti]
		if len(subs) == 0 {
			continue
		}
		n, m := len(t.Partitions), len(subs)
		per, extra := n/m, n%m
		next := 0
		for i, mi := range subs {
			count := per
			if i < extra {
				count++
			}
			for _, part := range t.Partitions[next : next+count] {
				r.add(mi, ti, part)
			}
			next += count
		}
	}
	return r.assignment(), nil
}
