package plugintest

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/runnel-dev/runnel/sdk"
)

// TestAssignor checks that the sdk.Assignor newImpl returns computes
// assignments the group coordinator can install: every partition of a
// subscribed topic owned by exactly one member that subscribes to it, and
// nothing else. Balance and stickiness are qualities, not the contract,
// and are not checked. Each subtest takes a fresh implementation from
// newImpl.
func TestAssignor(t *testing.T, newImpl func() sdk.Assignor) {
	t.Run("name", func(t *testing.T) {
		// Clients ask for an assignor by name, so it must not change
		// from call to call or instance to instance.
		a, b := build(t, newImpl), build(t, newImpl)
		name := a.Name()
		if name == "" {
			t.Fatal("Name() is empty")
		}
		if again := a.Name(); again != name {
			t.Errorf("Name() said %q, then %q", name, again)
		}
		if other := b.Name(); other != name {
			t.Errorf("two instances are named %q and %q", name, other)
		}
	})

	t.Run("no-members", func(t *testing.T) {
		a := build(t, newImpl)
		in := sdk.AssignmentInput{GroupID: "empty", Topics: []sdk.TopicPartitions{topic("t", 3)}}
		out, err := a.Assign(in)
		if err != nil {
			t.Fatalf("Assign with no members: %v", err)
		}
		if len(out.Members) != 0 {
			t.Errorf("Assign with no members assigned %v", out.Members)
		}
	})

	t.Run("known-members", func(t *testing.T) {
		forEachAssignment(t, newImpl, func(t *testing.T, in sdk.AssignmentInput, out sdk.Assignment) {
			for id := range out.Members {
				if member(in, id) == nil {
					t.Errorf("assigned to %q, which is not a member", id)
				}
			}
		})
	})

	t.Run("known-partitions", func(t *testing.T) {
		forEachAssignment(t, newImpl, func(t *testing.T, in sdk.AssignmentInput, out sdk.Assignment) {
			eachAssigned(out, func(id string, tp sdk.TopicPartition) {
				if !exists(in, tp) {
					t.Errorf("member %q got %s[%d], which is not a partition of the input", id, tp.Topic, tp.Partition)
				}
			})
		})
	})

	t.Run("subscribed-only", func(t *testing.T) {
		forEachAssignment(t, newImpl, func(t *testing.T, in sdk.AssignmentInput, out sdk.Assignment) {
			eachAssigned(out, func(id string, tp sdk.TopicPartition) {
				if m := member(in, id); m != nil && !slices.Contains(m.Subscribed, tp.Topic) {
					t.Errorf("member %q got %s[%d] but subscribes to %v", id, tp.Topic, tp.Partition, m.Subscribed)
				}
			})
		})
	})

	t.Run("exclusive", func(t *testing.T) {
		forEachAssignment(t, newImpl, func(t *testing.T, in sdk.AssignmentInput, out sdk.Assignment) {
			owner := map[sdk.TopicPartition]string{}
			eachAssigned(out, func(id string, tp sdk.TopicPartition) {
				if prev, taken := owner[tp]; taken {
					t.Errorf("%s[%d] is assigned to both %q and %q", tp.Topic, tp.Partition, prev, id)
				}
				owner[tp] = id
			})
		})
	})

	t.Run("complete", func(t *testing.T) {
		forEachAssignment(t, newImpl, func(t *testing.T, in sdk.AssignmentInput, out sdk.Assignment) {
			assigned := map[sdk.TopicPartition]bool{}
			eachAssigned(out, func(_ string, tp sdk.TopicPartition) { assigned[tp] = true })
			for _, topic := range in.Topics {
				if !subscribed(in, topic.Topic) {
					continue
				}
				for _, p := range topic.Partitions {
					if !assigned[sdk.TopicPartition{Topic: topic.Topic, Partition: p}] {
						t.Errorf("%s[%d] has subscribers but no owner", topic.Topic, p)
					}
				}
			}
		})
	})

	t.Run("input-untouched", func(t *testing.T) {
		// The coordinator keeps its members' state in the input it
		// passes, so Assign must only read it.
		a := build(t, newImpl)
		want := assignorCases() // equal values, not shared with the input
		for i, c := range assignorCases() {
			if _, err := a.Assign(c.in); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if !reflect.DeepEqual(c.in, want[i].in) {
				t.Errorf("%s: Assign changed its input", c.name)
			}
		}
	})
}

// forEachAssignment runs check on the assignment of every case, one
// subtest per case.
func forEachAssignment(t *testing.T, newImpl func() sdk.Assignor,
	check func(t *testing.T, in sdk.AssignmentInput, out sdk.Assignment)) {
	t.Helper()
	a := build(t, newImpl)
	for _, c := range assignorCases() {
		t.Run(c.name, func(t *testing.T) {
			out, err := a.Assign(c.in)
			if err != nil {
				t.Fatalf("Assign: %v", err)
			}
			check(t, c.in, out)
		})
	}
}

type assignorCase struct {
	name string
	in   sdk.AssignmentInput
}

// assignorCases are groups an assignor must handle, each a fresh value
// (the cases are built again on every call).
func assignorCases() []assignorCase {
	cases := []assignorCase{
		{"one-member", sdk.AssignmentInput{
			GroupID: "g",
			Members: []sdk.GroupMember{{MemberID: "m1", Subscribed: []string{"t"}}},
			Topics:  []sdk.TopicPartitions{topic("t", 3)},
		}},
		{"more-members-than-partitions", sdk.AssignmentInput{
			GroupID: "g",
			Members: members(5, "t"),
			Topics:  []sdk.TopicPartitions{topic("t", 2)},
		}},
		{"mixed-subscriptions", sdk.AssignmentInput{
			// A topic nobody subscribes to, a topic without partitions,
			// a topic named twice in one subscription and a member
			// subscribed to nothing.
			GroupID: "g",
			Members: []sdk.GroupMember{
				{MemberID: "a", InstanceID: "static-a", RackID: "r1", Subscribed: []string{"t1", "t2", "t5"}},
				{MemberID: "b", RackID: "r2", Subscribed: []string{"t2", "t2"}},
				{MemberID: "c", Subscribed: []string{"t3"}},
				{MemberID: "idle"},
			},
			Topics: []sdk.TopicPartitions{topic("t1", 4), topic("t2", 7), topic("t3", 1), topic("t4", 5), topic("t5", 0)},
		}},
		{"stale-owned", sdk.AssignmentInput{
			// What members report owning comes from earlier rebalances:
			// partitions of topics they left or that are gone, partitions
			// past the current count, and one claimed by two members.
			GroupID: "g",
			Members: []sdk.GroupMember{
				{MemberID: "a", Subscribed: []string{"t1"}, Owned: []sdk.TopicPartitions{
					{Topic: "t1", Partitions: []int32{0, 1, 9}}, {Topic: "t2", Partitions: []int32{0}}, {Topic: "gone", Partitions: []int32{0}},
				}},
				{MemberID: "b", Subscribed: []string{"t1", "t2"}, Owned: []sdk.TopicPartitions{
					{Topic: "t1", Partitions: []int32{1, 2}},
				}},
				{MemberID: "new", Subscribed: []string{"t2"}},
			},
			Topics: []sdk.TopicPartitions{topic("t1", 3), topic("t2", 2)},
		}},
	}
	// A bigger group with random subscriptions, the same on every call.
	rng := rand.New(rand.NewPCG(7, 11))
	big := sdk.AssignmentInput{GroupID: "big"}
	var names []string
	for i := range 12 {
		tp := topic(fmt.Sprintf("topic-%02d", i), rng.IntN(41))
		for j := range tp.TopicID {
			tp.TopicID[j] = byte(rng.Uint32())
		}
		big.Topics = append(big.Topics, tp)
		names = append(names, tp.Topic)
	}
	for i := range 30 {
		m := sdk.GroupMember{MemberID: fmt.Sprintf("member-%02d", i), RackID: fmt.Sprintf("rack-%d", i%3)}
		for _, name := range names {
			if rng.IntN(3) == 0 {
				m.Subscribed = append(m.Subscribed, name)
			}
		}
		big.Members = append(big.Members, m)
	}
	return append(cases, assignorCase{"random-30-members", big})
}

// topic returns a topic with partitions 0..n-1.
func topic(name string, n int) sdk.TopicPartitions {
	tp := sdk.TopicPartitions{Topic: name, Partitions: make([]int32, n)}
	for i := range tp.Partitions {
		tp.Partitions[i] = int32(i)
	}
	return tp
}

// members returns n members subscribing to topics.
func members(n int, topics ...string) []sdk.GroupMember {
	out := make([]sdk.GroupMember, n)
	for i := range out {
		out[i] = sdk.GroupMember{MemberID: fmt.Sprintf("m%d", i), Subscribed: topics}
	}
	return out
}

func member(in sdk.AssignmentInput, id string) *sdk.GroupMember {
	for i := range in.Members {
		if in.Members[i].MemberID == id {
			return &in.Members[i]
		}
	}
	return nil
}

func exists(in sdk.AssignmentInput, tp sdk.TopicPartition) bool {
	for _, t := range in.Topics {
		if t.Topic == tp.Topic && slices.Contains(t.Partitions, tp.Partition) {
			return true
		}
	}
	return false
}

func subscribed(in sdk.AssignmentInput, topic string) bool {
	for _, m := range in.Members {
		if slices.Contains(m.Subscribed, topic) {
			return true
		}
	}
	return false
}

// eachAssigned calls f for every partition of out, as often as out
// lists it.
func eachAssigned(out sdk.Assignment, f func(member string, tp sdk.TopicPartition)) {
	for id, tps := range out.Members {
		for _, t := range tps {
			for _, p := range t.Partitions {
				f(id, sdk.TopicPartition{Topic: t.Topic, Partition: p})
			}
		}
	}
}
